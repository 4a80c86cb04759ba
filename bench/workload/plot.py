#!/usr/bin/env python3
"""The series of a soak run (bench/workload/soak.sh's samples.csv) as one SVG, written by hand
(standard library only): one panel per metric, one line per replica, the warm-up shaded and each
replica's trend after it (the line soak_check.py judges) dashed.

    plot.py SAMPLES.csv --out soak.svg [--title TEXT] [--warmup 0.1]
"""
import argparse
import math
import os
import sys
from xml.sax.saxutils import escape

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soak_check import fit, load_samples, warmup_start  # noqa: E402

# (column, title, scale): plotted value = column value x scale.
PANELS = [
    ("rss_kib", "RSS (MiB)", 1 / 1024),
    ("fds", "open file descriptors", 1),
    ("threads", "threads", 1),
    ("db_pool_open", "DB pool connections open", 1),
    ("db_pool_in_use", "DB pool connections in use", 1),
    ("refresh_queue_depth", "refresh queue depth (jobs)", 1),
    ("refresh_queue_oldest_due_s", "oldest due refresh (s)", 1),
    ("http_requests_in_flight", "HTTP requests in flight", 1),
    ("prefix_cache_bytes", "prefix cache (MiB; part of the RSS)", 1 / 1048576),
]
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
PANEL_W, PANEL_H, COLUMNS = 470, 210, 2
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 58, 14, 26, 34


def nice_step(span, ticks=4):
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def ticks(lo, hi):
    step = nice_step(hi - lo)
    first = math.ceil(lo / step) * step
    out = []
    v = first
    while v <= hi + step * 1e-9:
        out.append(v)
        v += step
    return out


def fmt(v):
    if v == 0:
        return "0"
    if abs(v) >= 1000 or v == int(v):
        return f"{v:.0f}"
    return f"{v:.3g}"


def panel(svg, x0, y0, title, series, t_end, warm, minutes):
    w, h = PANEL_W - MARGIN_L - MARGIN_R, PANEL_H - MARGIN_T - MARGIN_B
    px, py = x0 + MARGIN_L, y0 + MARGIN_T
    values = [y for points in series.values() for _, y in points]
    svg.append(f'<text x="{px}" y="{y0 + 16}" font-size="13" font-weight="bold">{escape(title)}</text>')
    svg.append(f'<rect x="{px}" y="{py}" width="{w}" height="{h}" fill="white" stroke="#999"/>')
    if not values:
        svg.append(f'<text x="{px + w / 2}" y="{py + h / 2}" text-anchor="middle" fill="#999">no samples</text>')
        return
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    if min(values) >= 0 and lo < 0:
        lo = 0.0

    def X(t):
        return px + w * t / t_end if t_end > 0 else px

    def Y(v):
        return py + h - h * (v - lo) / (hi - lo)

    clip = f"clip{x0}-{y0}"
    svg.append(f'<clipPath id="{clip}"><rect x="{px}" y="{py}" width="{w}" height="{h}"/></clipPath>')
    svg.append(f'<rect x="{px}" y="{py}" width="{X(warm) - px:.1f}" height="{h}" fill="#eee"/>')
    for v in ticks(lo, hi):
        svg.append(f'<line x1="{px}" x2="{px + w}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#ddd"/>')
        svg.append(f'<text x="{px - 5}" y="{Y(v) + 4:.1f}" font-size="11" text-anchor="end">{fmt(v)}</text>')
    scale = 60 if minutes else 1
    for v in ticks(0, t_end / scale):
        svg.append(f'<line x1="{X(v * scale):.1f}" x2="{X(v * scale):.1f}" y1="{py + h}" y2="{py + h + 4}" stroke="#666"/>')
        svg.append(f'<text x="{X(v * scale):.1f}" y="{py + h + 16}" font-size="11" text-anchor="middle">{fmt(v)}</text>')
    svg.append(f'<text x="{px + w}" y="{py + h + 30}" font-size="11" text-anchor="end">'
               f'{"minutes" if minutes else "seconds"} since the load started</text>')
    for i, (replica, points) in enumerate(sorted(series.items())):
        color = COLORS[i % len(COLORS)]
        if not points:
            continue
        path = " ".join(f"{'M' if k == 0 else 'L'}{X(t):.1f},{Y(v):.1f}" for k, (t, v) in enumerate(points))
        svg.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="1.6" clip-path="url(#{clip})"/>')
        after = [(t, v) for t, v in points if t >= warm]
        if len(after) >= 2:
            a, b, _ = fit(after)
            t1, t2 = after[0][0], after[-1][0]
            svg.append(f'<line x1="{X(t1):.1f}" y1="{Y(a + b * t1):.1f}" x2="{X(t2):.1f}" y2="{Y(a + b * t2):.1f}" '
                       f'stroke="{color}" stroke-width="1" stroke-dasharray="5,3" clip-path="url(#{clip})"/>')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("samples")
    parser.add_argument("--out", required=True)
    parser.add_argument("--title", default="popi soak")
    parser.add_argument("--warmup", type=float, default=0.1)
    args = parser.parse_args()

    replicas = load_samples(args.samples)
    if not replicas:
        sys.exit(f"plot: no samples in {args.samples}")
    t_end = max(r["t_s"] for rows in replicas.values() for r in rows)
    warm = warmup_start(replicas, args.warmup)
    minutes = t_end > 900
    rows_n = math.ceil(len(PANELS) / COLUMNS)
    legend_h = 44
    width, height = PANEL_W * COLUMNS, legend_h + PANEL_H * rows_n
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
           f'<rect width="{width}" height="{height}" fill="#fafafa"/>',
           f'<text x="{MARGIN_L}" y="20" font-size="15" font-weight="bold">{escape(args.title)}</text>']
    x = MARGIN_L
    for i, replica in enumerate(sorted(replicas)):
        color = COLORS[i % len(COLORS)]
        svg.append(f'<line x1="{x}" x2="{x + 22}" y1="35" y2="35" stroke="{color}" stroke-width="2"/>')
        svg.append(f'<text x="{x + 27}" y="39" font-size="12">popi-{replica}</text>')
        x += 90
    svg.append(f'<text x="{x + 10}" y="39" font-size="12" fill="#555">grey: warm-up (first {args.warmup:.0%}); '
               f'dashed: trend after it; equal lines overlap</text>')
    for k, (column, title, scale) in enumerate(PANELS):
        series = {replica: [(r["t_s"], r[column] * scale) for r in rows if r[column] is not None]
                  for replica, rows in replicas.items()}
        panel(svg, PANEL_W * (k % COLUMNS), legend_h + PANEL_H * (k // COLUMNS), title, series, t_end, warm, minutes)
    svg.append("</svg>")
    with open(args.out, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
