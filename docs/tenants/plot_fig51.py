#!/usr/bin/env python3
"""Draw docs/tenants/fig51.svg: the Figure 5.1 trace's demand and the capacity
`ringmaster autoscale-sim` gives it, as a plain SVG (no plotting library).

    python3 docs/tenants/plot_fig51.py [BIN_DIR]     # BIN_DIR: where ringmaster is [bin]
"""
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TRACE = HERE / "fig51.trace"
OUT = HERE / "fig51.svg"

W, H = 760, 380
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 30, 50


def main():
    bindir = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "bin"
    r = subprocess.run([str(bindir / "ringmaster"), "autoscale-sim", "--trace", str(TRACE),
                        "--json"], capture_output=True, text=True, check=True)
    rows = json.loads(r.stdout)["decisions"]
    trace = []
    for line in TRACE.read_text().splitlines():
        words = line.split("#")[0].split()
        if len(words) == 2:
            t, unit = words[0], 1
            for suffix, mult in (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)):
                if t.endswith(suffix) and t[:-len(suffix)].isdigit():
                    t, unit = t[:-len(suffix)], mult
                    break
            trace.append((int(t) * unit, float(words[1])))
    t_end = trace[-1][0]
    y_max = 450000

    def x(t):
        return LEFT + (W - LEFT - RIGHT) * t / t_end

    def y(v):
        return H - BOTTOM - (H - TOP - BOTTOM) * v / y_max

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>']
    for v in range(0, y_max + 1, 50000):
        out.append(f'<line x1="{LEFT}" y1="{y(v):.1f}" x2="{W - RIGHT}" y2="{y(v):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:,}</text>')
    for t in range(0, int(t_end) + 1, 1800):
        out.append(f'<text x="{x(t):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">'
                   f'{t // 3600}h{t % 3600 // 60:02d}</text>')
    out.append(f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" '
               f'stroke="black"/>')
    out.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="black"/>')
    # Capacity: a step at each decision, held to the end.
    pts = []
    for i, row in enumerate(rows):
        if i > 0:
            pts.append((row["t_s"], rows[i - 1]["capacity"]))
        pts.append((row["t_s"], row["capacity"]))
    pts.append((t_end, rows[-1]["capacity"]))
    out.append('<polyline fill="none" stroke="#c0392b" stroke-width="2" points="'
               + " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts) + '"/>')
    out.append('<polyline fill="none" stroke="#2471a3" stroke-width="2" points="'
               + " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in trace) + '"/>')
    for row in rows:
        if row["action"] == "add":
            out.append(f'<text x="{x(row["t_s"]) + 4:.1f}" y="{y(row["capacity"]) - 6:.1f}">'
                       f'4th service</text>')
    out.append(f'<text x="{LEFT + 10}" y="{TOP - 10}" fill="#2471a3">demand (ops/s)</text>')
    out.append(f'<text x="{LEFT + 130}" y="{TOP - 10}" fill="#c0392b">capacity = services '
               f'× per-service limit</text>')
    out.append(f'<text x="{(W + LEFT) / 2:.0f}" y="{H - 12}" text-anchor="middle">'
               f'trace time (ringmaster autoscale-sim --trace docs/tenants/fig51.trace)</text>')
    out.append("</svg>")
    OUT.write_text("\n".join(out) + "\n")
    print(OUT)


if __name__ == "__main__":
    main()
