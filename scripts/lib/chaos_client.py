"""The client side of scripts/chaos.sh, standard library only: a light load that logs every
request it makes, a streaming reader that logs every event it gets, and the counts the chaos
checks are made of, all read back from those logs.

    chaos_client.py load --url U --key K --rate R --stop-file F --log L --op OP [--op OP ...]
        OP: feedback:USER:PREFIX[:BYTES] (one statement per POST, idempotency id PREFIX-N,
            BYTES of incompressible text instead of a short sentence),
            read:USER (GET its summary), feedback-list:USER, models (GET /v1/models)
        Starts one request every 1/R s, round-robin over the OPs, each on a thread of its own
        (so that a hung request never slows the others), until F exists; then waits for the
        requests in flight. One JSON line per request: op, id, t0, t1, status (0: no answer),
        code (the error code, or the item's status for feedback).
    chaos_client.py stream --url U --key K --path P --body JSON --log L
        One streamed POST; one JSON line per event (t, event, data), then how it ended:
        done (a done event or [DONE]), error (an error event), cut (the stream stopped without
        either), http (a non-200 answer).
    chaos_client.py stats --log L [--op OP] [--from T] [--to T] [--at T]
        Shell assignments (n, ok, failed, codes, max_s, max_failed_s, first_ok_t0, first_fail_t0,
        last_fail_t1; with --at T: inflight_at, failed_not_inflight) over the requests of OP
        (all without --op) started between T and T' (epoch seconds).
        failed: no answer or a 5xx; codes: "status:code=count" for every answer that was not 2xx.
    chaos_client.py acked --log L
        The idempotency ids of the feedback the service acknowledged (2xx, item inserted or
        duplicate), one a line.
    chaos_client.py stream-end --log L
        Shell assignments from a stream log: end, status, t_first (first event), t_end,
        events, error_code.
    chaos_client.py nginx-log --log L --port P --from T [--to T]
        Shell assignments over the requests of nginx's access log (scripts/cluster.sh's format)
        that started between T and T': n, failed (5xx), tried (sent to 127.0.0.1:P at least
        once), answered (answered by 127.0.0.1:P).
"""
import argparse
import base64
import http.client
import json
import os
import re
import shlex
import sys
import threading
import time
import urllib.parse


def request(url, method, path, key, body=None, timeout=60.0, headers=None):
    """(status, parsed JSON body or None, raw bytes); status 0 when no answer came."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    sent = {"Authorization": f"Bearer {key}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return response.status, parsed, raw
    except (OSError, http.client.HTTPException) as error:
        return 0, {"client_error": type(error).__name__}, b""
    finally:
        connection.close()


def error_code(status, parsed):
    if isinstance(parsed, dict):
        if isinstance(parsed.get("error"), dict):
            return parsed["error"].get("code")
        if "client_error" in parsed:
            return parsed["client_error"]
    return None


def cmd_load(args):
    ops = [op.split(":") for op in args.op]
    lock = threading.Lock()
    log = open(args.log, "a", buffering=1)
    counter = {"n": 0}
    threads = []

    def one(op, n):
        kind = op[0]
        t0 = time.time()
        record = {"op": kind, "n": n, "t0": t0}
        if kind == "feedback":
            user, prefix = op[1], op[2]
            ident = f"{prefix}-{n}"
            record["id"] = ident
            text = f"chaos statement {n}"
            if len(op) > 3:
                text = base64.b64encode(os.urandom(int(op[3]) * 3 // 4)).decode()
            status, parsed, _ = request(args.url, "POST", f"/v1/users/{user}/feedback", args.key,
                                        {"events": [{"id": ident, "kind": "statement", "text": text}]},
                                        timeout=args.timeout)
            code = error_code(status, parsed)
            if status // 100 == 2 and isinstance(parsed, dict) and parsed.get("items"):
                code = parsed["items"][0].get("status")
        elif kind == "read":
            status, parsed, _ = request(args.url, "GET", f"/v1/users/{op[1]}/summary", args.key, timeout=args.timeout)
            code = error_code(status, parsed)
        elif kind == "feedback-list":
            status, parsed, _ = request(args.url, "GET", f"/v1/users/{op[1]}/feedback?limit=5", args.key,
                                        timeout=args.timeout)
            code = error_code(status, parsed)
        elif kind == "models":
            status, parsed, _ = request(args.url, "GET", "/v1/models", args.key, timeout=args.timeout)
            code = error_code(status, parsed)
        else:
            raise SystemExit(f"unknown op {kind}")
        record.update(t1=time.time(), status=status, code=code)
        with lock:
            log.write(json.dumps(record) + "\n")

    interval = 1.0 / args.rate
    next_start = time.time()
    while not os.path.exists(args.stop_file):
        n = counter["n"]
        counter["n"] += 1
        thread = threading.Thread(target=one, args=(ops[n % len(ops)], n), daemon=True)
        thread.start()
        threads.append(thread)
        threads = [t for t in threads if t.is_alive()]
        next_start += interval
        time.sleep(max(0.0, next_start - time.time()))
    for thread in threads:
        thread.join(args.timeout + 5)
    log.close()


def cmd_stream(args):
    parts = urllib.parse.urlsplit(args.url)
    log = open(args.log, "a", buffering=1)

    def write(**fields):
        fields["t"] = time.time()
        log.write(json.dumps(fields) + "\n")

    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=args.timeout)
    end = "cut"
    status = 0
    try:
        connection.request("POST", args.path, body=args.body.encode(),
                           headers={"Authorization": f"Bearer {args.key}", "Content-Type": "application/json"})
        response = connection.getresponse()
        status = response.status
        write(status=status)
        if status != 200:
            body = response.read()
            try:
                code = error_code(status, json.loads(body))
            except ValueError:
                code = None
            write(end="http", status=status, code=code)
            return
        event = None
        while True:
            line = response.readline()
            if not line:
                break
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
                name = event or "data"
                if data == "[DONE]":
                    name = "done"
                elif name == "data" and '"error"' in data:
                    name = "error"
                write(event=name, data=data)
                if name in ("done", "error"):
                    end = name
                event = None
    except (OSError, http.client.HTTPException) as error:
        write(event="client_error", data=type(error).__name__)
    finally:
        connection.close()
    if end != "http":
        write(end=end, status=status)


def read_log(path):
    records = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        pass  # a line cut by a kill
    return records


def emit(values):
    for name, value in values.items():
        print(f"{name}={shlex.quote(str(value))}")


def failed(record):
    return record["status"] == 0 or record["status"] >= 500


def cmd_stats(args):
    records = [r for r in read_log(args.log)
               if (args.op is None or r["op"] == args.op)
               and (args.t_from is None or r["t0"] >= args.t_from)
               and (args.t_to is None or r["t0"] <= args.t_to)]
    codes = {}
    for r in records:
        if r["status"] // 100 != 2:
            name = f'{r["status"]}:{r.get("code")}'
            codes[name] = codes.get(name, 0) + 1
    bad = [r for r in records if failed(r)]
    values = {
        "n": len(records),
        "ok": sum(1 for r in records if r["status"] // 100 == 2),
        "failed": len(bad),
        "codes": ",".join(f"{k}={v}" for k, v in sorted(codes.items())) or "none",
        "max_s": f'{max((r["t1"] - r["t0"] for r in records), default=0):.2f}',
        "max_failed_s": f'{max((r["t1"] - r["t0"] for r in bad), default=0):.2f}',
        "first_ok_t0": f'{min((r["t0"] for r in records if r["status"] // 100 == 2), default=0):.3f}',
        "first_fail_t0": f'{min((r["t0"] for r in bad), default=0):.3f}',
        "last_fail_t1": f'{max((r["t1"] for r in bad), default=0):.3f}',
    }
    if args.at is not None:
        inflight = [r for r in records if r["t0"] <= args.at <= r["t1"]]
        values["inflight_at"] = len(inflight)
        values["failed_not_inflight"] = sum(1 for r in bad if not (r["t0"] <= args.at <= r["t1"]))
    emit(values)


def cmd_acked(args):
    for r in read_log(args.log):
        if r["op"] == "feedback" and r["status"] // 100 == 2 and r.get("code") in ("inserted", "duplicate"):
            print(r["id"])


def cmd_stream_end(args):
    records = read_log(args.log)
    events = [r for r in records if "event" in r]
    ends = [r for r in records if "end" in r]
    error = next((r for r in events if r["event"] == "error"), None)
    code = ""
    if error is not None:
        try:
            code = json.loads(error["data"])["error"].get("code", "")
        except (ValueError, KeyError, TypeError, AttributeError):
            code = "?"
    elif ends and ends[-1].get("code"):
        code = ends[-1]["code"]
    emit({
        "end": ends[-1]["end"] if ends else "running",
        "status": ends[-1].get("status", 0) if ends else 0,
        "t_first": f'{events[0]["t"]:.3f}' if events else 0,
        "t_end": f'{ends[-1]["t"]:.3f}' if ends else 0,
        "events": len(events),
        "error_code": code,
    })


NGINX_LINE = re.compile(r'msec=(\S+) "[^"]*" (\d+) \d+ (\S+) upstream=(.*?) upstream_status=(.*?) request_id=')


def cmd_nginx_log(args):
    address = f"127.0.0.1:{args.port}"
    values = {"n": 0, "failed": 0, "tried": 0, "answered": 0}
    with open(args.log) as f:
        for line in f:
            match = NGINX_LINE.search(line)
            if not match:
                continue
            end, status, duration, upstreams = float(match[1]), int(match[2]), float(match[3]), match[4]
            start = end - duration
            if start < args.t_from or (args.t_to is not None and start > args.t_to):
                continue
            tried = [u.strip() for u in re.split(r"[,:] (?=\d)", upstreams)]
            values["n"] += 1
            values["failed"] += status >= 500
            values["tried"] += address in tried
            values["answered"] += bool(tried) and tried[-1] == address
    emit(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load")
    load.add_argument("--url", required=True)
    load.add_argument("--key", required=True)
    load.add_argument("--rate", type=float, default=2.0)
    load.add_argument("--stop-file", required=True)
    load.add_argument("--log", required=True)
    load.add_argument("--op", action="append", required=True)
    load.add_argument("--timeout", type=float, default=60.0)
    stream = sub.add_parser("stream")
    stream.add_argument("--url", required=True)
    stream.add_argument("--key", required=True)
    stream.add_argument("--path", required=True)
    stream.add_argument("--body", required=True)
    stream.add_argument("--log", required=True)
    stream.add_argument("--timeout", type=float, default=60.0)
    stats = sub.add_parser("stats")
    stats.add_argument("--log", required=True)
    stats.add_argument("--op")
    stats.add_argument("--from", dest="t_from", type=float)
    stats.add_argument("--to", dest="t_to", type=float)
    stats.add_argument("--at", type=float)
    acked = sub.add_parser("acked")
    acked.add_argument("--log", required=True)
    stream_end = sub.add_parser("stream-end")
    stream_end.add_argument("--log", required=True)
    nginx_log = sub.add_parser("nginx-log")
    nginx_log.add_argument("--log", required=True)
    nginx_log.add_argument("--port", type=int, required=True)
    nginx_log.add_argument("--from", dest="t_from", type=float, required=True)
    nginx_log.add_argument("--to", dest="t_to", type=float)
    args = parser.parse_args()
    {"nginx-log": cmd_nginx_log, "load": cmd_load, "stream": cmd_stream, "stats": cmd_stats, "acked": cmd_acked,
     "stream-end": cmd_stream_end}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
