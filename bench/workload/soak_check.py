#!/usr/bin/env python3
"""The pass/fail check of bench/workload/soak.sh (standard library only).

    soak_check.py SAMPLES.csv WORKLOAD.json [--warmup 0.1] [--max-error-rate 0.001]

For every replica and every series below, over the samples after the warm-up (the first 10% of
the run): a least-squares line y = a + b t; its growth over the window, b x (t_last - t_first),
fails the series when it exceeds

    limit = max(3 x the residuals' standard deviation, 5% of the series' mean, the series' floor)

i.e. a series may move, but not climb by more than its own noise, a twentieth of its level or a
small absolute amount (the floors below). Falling is never a failure. Also fails: a replica
restarted (its pid changed) or missing from a sample, fewer than 5 samples after the warm-up,
and errors (answers other than 2xx/304, and requests without an answer) at or above 0.1% of the
workload's requests. Prints one line per check; exits 1 if any fails.
"""
import argparse
import csv
import json
import math
import sys

# (column, what, unit, floor): the floor is the growth always allowed.
SERIES = [
    ("rss_kib", "RSS", "KiB", 8192),
    ("fds", "open fds", "", 8),
    ("threads", "threads", "", 4),
    ("db_pool_open", "DB pool connections open", "", 2),
    ("db_pool_in_use", "DB pool connections in use", "", 2),
    ("db_pool_waiting", "DB pool waiters", "", 2),
    ("refresh_queue_depth", "refresh queue depth", "", 5),
    ("refresh_queue_oldest_due_s", "oldest due refresh", "s", 30),
    ("http_requests_in_flight", "HTTP requests in flight", "", 4),
    # Bounded by --prefix-cache-mib (256 MiB): it grows while users' first prompts are kept, a
    # part of the RSS's growth that stops once every user of the workload has one.
    ("prefix_cache_bytes", "prefix cache", "bytes", 8 << 20),
]
MIN_SAMPLES = 5


def load_samples(path):
    """{replica: [row dict with floats or None]} in time order."""
    replicas = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            parsed = {}
            for key, value in row.items():
                try:
                    parsed[key] = float(value) if value not in ("", None) else None
                except ValueError:
                    parsed[key] = None
            replicas.setdefault(int(parsed["replica"]), []).append(parsed)
    for rows in replicas.values():
        rows.sort(key=lambda r: r["t_s"])
    return replicas


def fit(points):
    """(intercept, slope, residual standard deviation) of the least-squares line through points."""
    n = len(points)
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    stt = sum((t - mt) ** 2 for t, _ in points)
    slope = sum((t - mt) * (y - my) for t, y in points) / stt if stt > 0 else 0.0
    intercept = my - slope * mt
    residuals = [y - (intercept + slope * t) for t, y in points]
    std = math.sqrt(sum(r * r for r in residuals) / (n - 2)) if n > 2 else 0.0
    return intercept, slope, std


def warmup_start(replicas, fraction):
    end = max(r["t_s"] for rows in replicas.values() for r in rows)
    return fraction * end


def judge(points, floor):
    """(growth, limit, mean, passed) of one series' points after the warm-up."""
    _, slope, std = fit(points)
    growth = slope * (points[-1][0] - points[0][0])
    mean = sum(y for _, y in points) / len(points)
    limit = max(3 * std, 0.05 * abs(mean), floor)
    return growth, limit, mean, growth <= limit


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples")
    parser.add_argument("workload")
    parser.add_argument("--warmup", type=float, default=0.1, help="part of the run left out of the trends (0.1)")
    parser.add_argument("--max-error-rate", type=float, default=0.001, help="errors / requests must stay below (0.001)")
    args = parser.parse_args()

    replicas = load_samples(args.samples)
    start = warmup_start(replicas, args.warmup)
    failures = 0
    lines = []

    def report(what, measured, limit, passed):
        nonlocal failures
        failures += 0 if passed else 1
        lines.append((what, measured, limit, "PASS" if passed else "FAIL"))

    for replica, rows in sorted(replicas.items()):
        pids = {r["pid"] for r in rows if r["pid"] is not None}
        missing = sum(1 for r in rows if r["pid"] is None)
        report(f"popi-{replica}: pid (samples without it)", f"{' '.join(str(int(p)) for p in sorted(pids)) or 'none'} ({missing})",
               "one pid, 0", len(pids) == 1 and missing == 0)
        window = [r for r in rows if r["t_s"] >= start]
        for column, what, unit, floor in SERIES:
            points = [(r["t_s"], r[column]) for r in window if r[column] is not None]
            if len(points) < MIN_SAMPLES:
                report(f"popi-{replica}: {what}", f"{len(points)} samples after the warm-up", f">= {MIN_SAMPLES} samples", False)
                continue
            growth, limit, mean, passed = judge(points, floor)
            suffix = f" {unit}" if unit else ""
            report(f"popi-{replica}: {what} growth (mean {mean:.4g}{suffix}, {len(points)} samples)",
                   f"{growth:+.4g}{suffix}", f"<= {limit:.4g}{suffix}", passed)

    result = json.load(open(args.workload))
    total = result["total"]
    requests, errors = total["requests"], total["errors"]
    rate = errors / requests if requests else 1.0
    statuses = []
    for name, route in result.get("routes", {}).items():
        bad = {code: n for code, n in route["status"].items() if not (code.startswith("2") or code == "304")}
        if bad:
            statuses.append(f"{name} " + " ".join(f"{'none' if c == '0' else c}={n}" for c, n in sorted(bad.items())))
    report(f"errors of {requests} requests ({'; '.join(statuses) or 'none'})", f"{errors} ({100 * rate:.3f}%)",
           f"< {100 * args.max_error_rate:g}%", requests > 0 and rate < args.max_error_rate)

    target = result.get("target_rate") or 0
    achieved = total.get("requests_per_s") or 0
    width = max(len(line[0]) for line in lines)
    print(f"soak check: trends after the first {args.warmup:.0%} of the run (t >= {start:.0f} s); "
          f"growth = slope x window, limit = max(3 x residual std, 5% of mean, floor)")
    for what, measured, limit, verdict in lines:
        print(f"{what:<{width}}  {measured:>22}  {limit:>16}  {verdict}")
    print(f"throughput: {achieved:.2f} requests/s (target {target:g}, {total.get('missed_slots', 0)} slots missed)")
    print(f"soak check: {len(lines)} checks, {failures} failed: {'FAIL' if failures else 'PASS'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
