#!/usr/bin/env python3
"""Concurrent clients for bench/serving.sh (standard library only).

  serving.py load URL --clients C --duration S --text FILE --label NAME [--key K ...] >> results.jsonl
  serving.py report results.jsonl [--machine "date, CPU, load"]
  serving.py conversation URL --users U --text FILE --label NAME [--key K] [--user-prefix P] >> conversation.jsonl
  serving.py conversation-report conversation.jsonl [--machine "date, CPU, load"]

`load`: C threads, each with one keep-alive connection (a new one when the server closed it),
send streamed chat completions one after another. Request k of client i is the same on every server and run (seeded by --seed, i, k):
an instruction and an excerpt of English prose of 50-500 tokens, max_tokens 64-128, temperature
0. Requests started within the first S seconds are measured; the clients keep the load on until
the last of them has finished, and the ones started later are not measured. Output tokens/s
counts the tokens that arrived within those S seconds: each request's `usage.completion_tokens`
(both servers send it with `stream_options.include_usage`) spread over its content chunks.
TTFT is from sending the request to the first chunk with text; inter-token latency is the gap
between consecutive chunks with text (one token each, barring a held-back partial character).
`report`: the table per server and C, and the popi / llama-server ratios.
`conversation`: one client, U users one after another; after a first request, each user's second
request is timed twice: a new question, and turn 2 of the first chat (the first exchange, then a
follow-up). TTFT "warm" is when the server may reuse the first request's KV (popi's per-user
prefix cache, llama-server's slot prompt cache), "cold" the same request when it may not (popi:
another user with the same summary who sent nothing before; llama-server: `cache_prompt: false`).
popi's users get a summary of about 50 tokens first (the key needs the write scope), so prompts
carry a summary section as in production. `conversation-report`: median TTFTs and cold / warm.
"""
import argparse
import http.client
import json
import random
import re
import sys
import threading
import time
import urllib.parse

SYSTEM = "You are a helpful assistant."
INSTRUCTIONS = [
    "Summarize the following text in a few sentences.",
    "Explain the main point of this passage to someone new to the subject.",
    "List the key facts stated in this text.",
    "Rewrite the following passage in plain language.",
    "What questions does this text leave open?",
]
# English prose in this model's tokenizer: about 4.8 characters per token (measured on the source
# text with llama-server's /tokenize); the template, system message and instruction add ~30.
CHARS_PER_TOKEN = 4.8
OVERHEAD_TOKENS = 30


class Unanswered(Exception):
    """The connection closed before any answer to the request."""


def prose_paragraphs(path):
    """The paragraphs of the text that read as prose: no code, grammar rules or headings."""
    text = open(path, encoding="utf-8").read()
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        if not lines or any(line.startswith((" ", "\t", "*", "=", "-", ">")) for line in lines):
            continue
        para = " ".join(line.strip() for line in lines)
        letters = sum(c.isalpha() or c.isspace() for c in para)
        if len(para.split()) >= 20 and letters / len(para) > 0.93 and para.endswith("."):
            out.append(para)
    return out


def make_request(paragraphs, seed, client, index, model, user):
    rng = random.Random(f"{seed}/{client}/{index}")
    prompt_tokens = rng.randint(50, 500)
    max_tokens = rng.randint(64, 128)
    chars = int((prompt_tokens - OVERHEAD_TOKENS) * CHARS_PER_TOKEN)
    start = rng.randrange(len(paragraphs))
    excerpt = ""
    while len(excerpt) < chars:
        excerpt += ("\n\n" if excerpt else "") + paragraphs[start % len(paragraphs)]
        start += 1
    excerpt = excerpt[:chars].rsplit(" ", 1)[0]
    body = {
        "model": model,
        "messages": [{"role": "system", "content": SYSTEM},
                     {"role": "user", "content": f"{rng.choice(INSTRUCTIONS)}\n\n{excerpt}"}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "seed": seed,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if user:
        body["user"] = user
    return body


def stream_one(conn, path, headers, body, sent, collected=None):
    """Sends one request; returns (ttft, chunk arrival times, usage, error), and appends the
    answer's text to `collected` if given."""
    try:
        conn.request("POST", path, json.dumps(body), headers)
        response = conn.getresponse()
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as failure:
        raise Unanswered(f"{type(failure).__name__}: {failure}") from failure
    if response.status != 200:
        detail = response.read()[:200].decode(errors="replace")
        return None, [], None, f"HTTP {response.status}: {detail}"
    chunks, usage, done, text = [], None, False, []
    while True:
        line = response.readline()
        if not line:
            break
        line = line.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            done = True
            continue
        event = json.loads(data)
        if "error" in event:
            return None, chunks, None, f"stream error: {json.dumps(event['error'])[:200]}"
        if event.get("usage"):
            usage = event["usage"]
        for choice in event.get("choices", []):
            if (choice.get("delta") or {}).get("content"):
                chunks.append(time.monotonic())
                text.append(choice["delta"]["content"])
    if collected is not None:
        collected.append("".join(text))
    if not done:
        return None, chunks, usage, "stream ended without [DONE]"
    return (chunks[0] - sent if chunks else None), chunks, usage, None


def load(args):
    paragraphs = prose_paragraphs(args.text)
    url = urllib.parse.urlsplit(args.url)
    path = url.path.rstrip("/") + "/v1/chat/completions"
    lock = threading.Lock()
    measured_open = [0]
    stop = threading.Event()
    records = []
    t0 = time.monotonic() + 0.5
    end = t0 + args.duration

    def client(i):
        headers = {"Content-Type": "application/json"}
        if args.key:
            headers["Authorization"] = f"Bearer {args.key[i % len(args.key)]}"
        user = f"{args.user_prefix}{i}" if args.user_prefix else None
        conn = None
        index = 0
        time.sleep(max(0.0, t0 - time.monotonic()))
        while not stop.is_set():
            body = make_request(paragraphs, args.seed, i, index, args.model, user)
            index += 1
            with lock:  # so the main thread never sees a measured request not yet counted
                started = time.monotonic()
                measured = started < end
                measured_open[0] += measured
            retried = False
            while True:
                reused = conn is not None
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=args.timeout)
                    ttft, chunks, usage, error = stream_one(conn, path, headers, body, started)
                except Unanswered as failure:
                    # A kept-alive connection the server closed before answering: like HTTP
                    # clients, try once more on a new one (counted as a retry, not a failure).
                    conn.close()
                    conn = None
                    if reused and not retried:
                        retried = True
                        continue
                    ttft, chunks, usage, error = None, [], None, str(failure)
                except Exception as failure:  # anything else fails this request, shown by type in the report
                    ttft, chunks, usage, error = None, [], None, f"{type(failure).__name__}: {failure}"
                break
            if error:
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.1)  # a refusing server is not hammered in a loop
            record = {"measured": measured, "retried": retried, "ttft": ttft,
                      "chunks": [c - t0 for c in chunks], "usage": usage, "error": error}
            with lock:
                records.append(record)
                measured_open[0] -= measured
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, end - time.monotonic()))
    while True:
        with lock:
            if measured_open[0] == 0:
                break
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    print(json.dumps(summarize(records, args)))


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    rank = (len(values) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (rank - low)


def summarize(records, args):
    window_tokens, done, retries, ttfts, gaps, prompt_tokens, output_tokens, errors = 0.0, 0, 0, [], [], [], [], {}
    counted_by_usage = True
    for r in records:
        chunks = r["chunks"]
        if r["usage"] is None and chunks and not r["error"]:
            counted_by_usage = False
        tokens = r["usage"]["completion_tokens"] if r["usage"] else len(chunks)
        if chunks:
            per_chunk = tokens / len(chunks)
            window_tokens += per_chunk * sum(1 for c in chunks if c <= args.duration)
        if not r["measured"]:
            continue
        retries += r["retried"]
        if r["error"]:
            kind = r["error"][:60]
            errors[kind] = errors.get(kind, 0) + 1
            continue
        done += 1
        if r["ttft"] is not None:  # else the answer was empty (an end token first)
            ttfts.append(r["ttft"])
        gaps.extend(b - a for a, b in zip(chunks, chunks[1:]))
        if r["usage"]:
            prompt_tokens.append(r["usage"]["prompt_tokens"])
        output_tokens.append(tokens)

    def ms(value):
        return None if value is None else round(value * 1000, 1)

    return {
        "label": args.label, "clients": args.clients, "duration": args.duration,
        "tokens_per_second": round(window_tokens / args.duration, 1),
        "ttft_p50_ms": ms(percentile(ttfts, 50)), "ttft_p99_ms": ms(percentile(ttfts, 99)),
        "itl_p50_ms": ms(percentile(gaps, 50)), "itl_p99_ms": ms(percentile(gaps, 99)),
        "done": done, "failed": sum(errors.values()), "errors": errors, "retries": retries,
        "prompt_tokens": [min(prompt_tokens, default=0), round(sum(prompt_tokens) / max(1, len(prompt_tokens))),
                          max(prompt_tokens, default=0)],
        "output_tokens_mean": round(sum(output_tokens) / max(1, len(output_tokens)), 1),
        "counted_by": "usage" if counted_by_usage else "chunks",
    }


def report(args):
    rows = [json.loads(line) for line in open(args.results) if line.strip()]
    by = {(r["label"], r["clients"]): r for r in rows}
    labels = list(dict.fromkeys(r["label"] for r in rows))
    clients = sorted({r["clients"] for r in rows})

    def fmt(value, digits=1):
        return "—" if value is None else f"{value:.{digits}f}"

    print(f"{args.machine}\n")
    print("| C | server | output tok/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms | done | failed "
          "| prompt tok min/mean/max | output tok/req |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for c in clients:
        for label in labels:
            r = by.get((label, c))
            if r is None:
                continue
            print(f"| {c} | {label} | {fmt(r['tokens_per_second'])} | {fmt(r['ttft_p50_ms'])} | {fmt(r['ttft_p99_ms'])} "
                  f"| {fmt(r['itl_p50_ms'])} | {fmt(r['itl_p99_ms'])} | {r['done']} | {r['failed']} "
                  f"| {'/'.join(map(str, r['prompt_tokens']))} | {fmt(r['output_tokens_mean'])} |")
    failures = {(r["label"], r["clients"]): r["errors"] for r in rows if r["errors"]}
    for (label, c), errors in failures.items():
        print(f"\nfailures, {label} at C = {c}: " + "; ".join(f"{n} x {kind}" for kind, n in errors.items()))
    retried = {(r["label"], r["clients"]): r["retries"] for r in rows if r["retries"]}
    if retried:
        # llama-server closes the connection after each streamed answer, though it announces keep-alive.
        print("\nsent again on a new connection after the server had closed the kept-alive one (not failures): "
              + ", ".join(f"{label} C = {c}: {n}" for (label, c), n in retried.items()))
    methods = {r["counted_by"] for r in rows}
    print("\noutput tokens: " + " and ".join(
        "each stream's usage.completion_tokens" if m == "usage" else "content chunks (a stream had no usage)" for m in sorted(methods)))
    if "popi" not in labels or "llama-server" not in labels:
        return

    def ratio(a, b):
        return "—" if a is None or b in (None, 0) else f"{a / b:.2f}x"

    print(f"\npopi / llama-server (goals: tok/s >= 1.5x and TTFT p99 <= 0.5x at C = 8 and 16, no failures); {args.machine}\n")
    print("| C | output tok/s | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 | failed (popi / llama-server) |")
    print("|---|---|---|---|---|---|---|")
    for c in clients:
        p, q = by.get(("popi", c)), by.get(("llama-server", c))
        if p is None or q is None:
            continue
        print(f"| {c} | {ratio(p['tokens_per_second'], q['tokens_per_second'])} | {ratio(p['ttft_p50_ms'], q['ttft_p50_ms'])} "
              f"| {ratio(p['ttft_p99_ms'], q['ttft_p99_ms'])} | {ratio(p['itl_p50_ms'], q['itl_p50_ms'])} "
              f"| {ratio(p['itl_p99_ms'], q['itl_p99_ms'])} | {p['failed']} / {q['failed']} |")
    one, eight = by.get(("popi", 1)), by.get(("popi", 8))
    if one and eight:
        print(f"\npopi C = 8 over its own C = 1, output tok/s: {eight['tokens_per_second']} / {one['tokens_per_second']}"
              f" = {ratio(eight['tokens_per_second'], one['tokens_per_second'])} (goal >= 3x)")


SUMMARY = ("Reads history and economics for work. Likes answers that open with the main claim, give one worked "
           "example from everyday life, and close with a pointer to further reading. Dislikes filler, repeated "
           "caveats and lists longer than five items.")


def conversation(args):
    paragraphs = prose_paragraphs(args.text)
    url = urllib.parse.urlsplit(args.url)
    path = url.path.rstrip("/") + "/v1/chat/completions"
    headers = {"Content-Type": "application/json"}
    if args.key:
        headers["Authorization"] = f"Bearer {args.key[0]}"
    popi = args.user_prefix is not None
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=args.timeout)

    def call(method, route, body):
        nonlocal conn
        for _ in range(2):  # llama-server closes the connection after each stream
            try:
                if method == "STREAM":
                    answer = []
                    ttft, _, usage, error = stream_one(conn, path, headers, body, time.monotonic(), answer)
                    if error:
                        raise RuntimeError(error)
                    return ttft, usage, answer[0]
                conn.request(method, route, json.dumps(body), headers)
                response = conn.getresponse()
                response.read()
                if response.status not in (200, 201, 202):
                    raise RuntimeError(f"{method} {route}: HTTP {response.status}")
                return None
            except (Unanswered, http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=args.timeout)
        raise RuntimeError("the server closed the connection twice")

    def user(u, suffix=""):
        return f"{args.user_prefix}{u}{suffix}" if popi else None

    def cold(body, u):
        out = dict(body)
        if popi:
            out["user"] = user(u, "-cold")
        else:
            out["cache_prompt"] = False
        return out

    def measure(warm_body, u):
        warm_ttft, usage, _ = call("STREAM", None, warm_body)
        cold_ttft, _, _ = call("STREAM", None, cold(warm_body, u))
        cached = ((usage or {}).get("prompt_tokens_details") or {}).get("cached_tokens")
        return {"warm": warm_ttft, "cold": cold_ttft, "prompt_tokens": (usage or {}).get("prompt_tokens"), "cached_tokens": cached}

    if popi:
        for u in range(args.users):
            for name in (user(u), user(u, "-cold")):
                call("POST", f"/v1/users/{name}/feedback", {"kind": "statement", "text": "I read a lot of history."})
                call("PUT", f"/v1/users/{name}/summary", {"text": SUMMARY})
    rows = []
    for u in range(args.users):
        first = make_request(paragraphs, args.seed, 1000 + u, 0, args.model, user(u))
        first["max_tokens"] = 64
        _, _, answer = call("STREAM", None, first)
        # A new question of the same user: what it shares with the first is the template, the
        # system message and popi's summary section.
        question = make_request(paragraphs, args.seed, 1000 + u, 1, args.model, user(u))
        question["max_tokens"] = 16
        question_row = measure(question, u)
        # Turn 2 of the first chat: the first exchange again, then a follow-up.
        _, _, answer = call("STREAM", None, first)
        chat = dict(first)
        chat["max_tokens"] = 16
        chat["messages"] = first["messages"] + [{"role": "assistant", "content": answer},
                                                {"role": "user", "content": "Now say that in one sentence."}]
        rows.append({"question": question_row, "chat": measure(chat, u)})
    conn.close()
    print(json.dumps({"label": args.label, "users": rows}))


def conversation_report(args):
    print(f"{args.machine}\n")
    print("| server | second request | users | prompt tokens (mean) | reused (mean) | TTFT warm p50 ms | TTFT cold p50 ms | cold / warm |")
    print("|---|---|---|---|---|---|---|---|")
    for line in open(args.results):
        if not line.strip():
            continue
        r = json.loads(line)
        for kind, title in (("question", "new question"), ("chat", "turn 2 of a chat")):
            rows = [u[kind] for u in r["users"]]
            warm = percentile([x["warm"] for x in rows if x["warm"] is not None], 50)
            cold = percentile([x["cold"] for x in rows if x["cold"] is not None], 50)
            prompts = [x["prompt_tokens"] for x in rows if x["prompt_tokens"]]
            cached = [x["cached_tokens"] for x in rows if x["cached_tokens"] is not None]
            mean = lambda xs: "—" if not xs else f"{sum(xs) / len(xs):.0f}"
            print(f"| {r['label']} | {title} | {len(rows)} | {mean(prompts)} | {mean(cached)} | {warm * 1000:.1f} "
                  f"| {cold * 1000:.1f} | {cold / warm:.2f}x |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("load")
    run.add_argument("url")
    run.add_argument("--clients", type=int, required=True)
    run.add_argument("--duration", type=float, default=30)
    run.add_argument("--text", required=True, help="English text the prompts are cut from")
    run.add_argument("--label", required=True)
    run.add_argument("--model", default="popi-local")
    run.add_argument("--key", action="append", help="bearer key; client i uses key i mod their number")
    run.add_argument("--user-prefix", help="send `user` = prefix + client number")
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--timeout", type=float, default=600)
    summary = commands.add_parser("report")
    summary.add_argument("results")
    summary.add_argument("--machine", default="", help="date, CPU and load, printed with every table")
    chat = commands.add_parser("conversation")
    chat.add_argument("url")
    chat.add_argument("--users", type=int, default=8)
    chat.add_argument("--text", required=True)
    chat.add_argument("--label", required=True)
    chat.add_argument("--model", default="popi-local")
    chat.add_argument("--key", action="append")
    chat.add_argument("--user-prefix", help="popi: the users (known to popi, with a summary) are prefix + number")
    chat.add_argument("--seed", type=int, default=1)
    chat.add_argument("--timeout", type=float, default=600)
    chat_summary = commands.add_parser("conversation-report")
    chat_summary.add_argument("results")
    chat_summary.add_argument("--machine", default="")
    args = parser.parse_args()
    {"load": load, "report": report, "conversation": conversation, "conversation-report": conversation_report}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
