"""A hand-written SVG bar chart of throughput relative to hakmem.

One group of bars per workload, one bar per peer, drawn on a log2 axis from
the hakmem = 1.0 line: a bar going up is a peer faster than hakmem, down is
slower, and 2x faster looks as big as 2x slower."""
import math
from xml.sax.saxutils import escape

COLOURS = {"glibc": "#8c8c8c", "mimalloc": "#1f77b4", "jemalloc": "#2ca02c",
           "tcmalloc": "#d62728"}
FALLBACK_COLOUR = "#9467bd"
BAR, GAP = 18, 26                          # bar width, space between groups
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 78, 96  # margins around the plot
PLOT_HEIGHT = 320


def _bounds(ratios):
    """Powers of two enclosing every ratio, and at least 0.5 .. 2."""
    finite = [r for r in ratios if math.isfinite(r) and r > 0]
    lo = math.floor(math.log2(min(finite + [0.5])))
    hi = math.ceil(math.log2(max(finite + [2.0])))
    return lo, hi


def svg(rows, title):
    """rows: report.Row list; returns the SVG document as a string."""
    workloads = list(dict.fromkeys(r.workload for r in rows))
    peers = [a for a in dict.fromkeys(r.allocator for r in rows) if a != "hakmem"]
    ratio = {(r.workload, r.allocator): r.ratio for r in rows}
    lo, hi = _bounds(list(ratio.values()))
    group = len(peers) * BAR + GAP
    width = LEFT + len(workloads) * group + RIGHT
    height = TOP + PLOT_HEIGHT + BOTTOM

    def y(value):
        return TOP + PLOT_HEIGHT * (hi - math.log2(value)) / (hi - lo)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14" '
           f'font-weight="bold">{escape(title)}</text>',
           f'<text x="{width / 2}" y="38" text-anchor="middle" fill="#444">peer throughput '
           f'÷ hakmem throughput (median of runs), log scale: above the line = peer faster'
           f'</text>']

    # Legend, one entry per peer, then the hakmem line.
    x = LEFT
    for peer in peers:
        out.append(f'<rect x="{x}" y="50" width="12" height="12" '
                   f'fill="{COLOURS.get(peer, FALLBACK_COLOUR)}"/>'
                   f'<text x="{x + 16}" y="60">{escape(peer)}</text>')
        x += 24 + 7 * len(peer)
    out.append(f'<line x1="{x}" y1="56" x2="{x + 18}" y2="56" stroke="black" stroke-width="2"/>'
               f'<text x="{x + 22}" y="60">hakmem = 1.0</text>')

    # Grid at every power of two.
    for e in range(lo, hi + 1):
        gy = y(2.0 ** e)
        label = f"{2.0 ** e:g}"
        out.append(f'<line x1="{LEFT}" y1="{gy:.1f}" x2="{width - RIGHT}" y2="{gy:.1f}" '
                   f'stroke="#ddd"/><text x="{LEFT - 6}" y="{gy + 4:.1f}" '
                   f'text-anchor="end">{label}×</text>')

    for i, workload in enumerate(workloads):
        gx = LEFT + i * group + GAP / 2
        for j, peer in enumerate(peers):
            r = ratio.get((workload, peer), math.nan)
            bx = gx + j * BAR
            if not (math.isfinite(r) and r > 0):
                out.append(f'<text x="{bx + BAR / 2}" y="{y(1.0) - 4:.1f}" '
                           f'text-anchor="middle" font-size="8" fill="#888">n/a</text>')
                continue
            top, bottom = sorted((y(r), y(1.0)))
            label_y = top - 3 if r >= 1 else bottom + 10
            out.append(f'<rect x="{bx + 1}" y="{top:.1f}" width="{BAR - 2}" '
                       f'height="{max(bottom - top, 0.5):.1f}" '
                       f'fill="{COLOURS.get(peer, FALLBACK_COLOUR)}">'
                       f'<title>{escape(f"{workload}: {peer} = {r:.2f}× hakmem")}</title></rect>'
                       f'<text x="{bx + BAR / 2}" y="{label_y:.1f}" text-anchor="middle" '
                       f'font-size="8">{r:.2f}</text>')
        lx, ly = gx + len(peers) * BAR / 2, TOP + PLOT_HEIGHT + 14
        out.append(f'<text x="{lx:.1f}" y="{ly}" text-anchor="end" '
                   f'transform="rotate(-30 {lx:.1f} {ly})">{escape(workload)}</text>')

    out.append(f'<line x1="{LEFT}" y1="{y(1.0):.1f}" x2="{width - RIGHT}" y2="{y(1.0):.1f}" '
               f'stroke="black" stroke-width="2"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
