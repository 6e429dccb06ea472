"""A hand-written SVG line chart, one line per allocator over time (the
soak's resident set), in the colours of chart.py, hakmem in black."""
import math
from xml.sax.saxutils import escape

from .chart import COLOURS, FALLBACK_COLOUR

LINE_COLOURS = {"hakmem": "#000000", **COLOURS}
WIDTH, PLOT_HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 66, 48   # margins around the plot


def nice_step(span, lines=6):
    """A 1, 2 or 5 x 10^k step giving at most about `lines` grid lines."""
    raw = span / lines
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _axis(top_value):
    """The grid values from 0 up to a round value at or above top_value."""
    step = nice_step(top_value)
    count = math.ceil(top_value / step - 1e-9)
    return [k * step for k in range(count + 1)]


def svg(series, title, x_label, y_label):
    """series: {name: [(x, y), ...]}, both axes from 0; returns the SVG text."""
    points = [p for line in series.values() for p in line]
    xs = _axis(max([x for x, _ in points] + [1]))
    ys = _axis(max([y for _, y in points] + [1]))
    plot_width = WIDTH - LEFT - RIGHT
    height = TOP + PLOT_HEIGHT + BOTTOM

    def px(x):
        return LEFT + plot_width * x / xs[-1]

    def py(y):
        return TOP + PLOT_HEIGHT * (1 - y / ys[-1])

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14" '
           f'font-weight="bold">{escape(title)}</text>']

    x = LEFT
    for name in series:
        colour = LINE_COLOURS.get(name, FALLBACK_COLOUR)
        out.append(f'<line x1="{x}" y1="42" x2="{x + 18}" y2="42" stroke="{colour}" '
                   f'stroke-width="2"/><text x="{x + 22}" y="46">{escape(name)}</text>')
        x += 34 + 7 * len(name)

    for value in ys:
        gy = py(value)
        out.append(f'<line x1="{LEFT}" y1="{gy:.1f}" x2="{WIDTH - RIGHT}" y2="{gy:.1f}" '
                   f'stroke="#ddd"/><text x="{LEFT - 6}" y="{gy + 4:.1f}" '
                   f'text-anchor="end">{value:g}</text>')
    for value in xs:
        gx = px(value)
        out.append(f'<line x1="{gx:.1f}" y1="{TOP + PLOT_HEIGHT}" x2="{gx:.1f}" '
                   f'y2="{TOP + PLOT_HEIGHT + 4}" stroke="black"/><text x="{gx:.1f}" '
                   f'y="{TOP + PLOT_HEIGHT + 16}" text-anchor="middle">{value:g}</text>')
    out.append(f'<line x1="{LEFT}" y1="{TOP + PLOT_HEIGHT}" x2="{WIDTH - RIGHT}" '
               f'y2="{TOP + PLOT_HEIGHT}" stroke="black"/>')
    out.append(f'<text x="{LEFT + plot_width / 2}" y="{height - 8}" '
               f'text-anchor="middle">{escape(x_label)}</text>')
    mid = TOP + PLOT_HEIGHT / 2
    out.append(f'<text x="16" y="{mid}" text-anchor="middle" '
               f'transform="rotate(-90 16 {mid})">{escape(y_label)}</text>')

    for name, line in series.items():
        if not line:
            continue
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line)
        out.append(f'<polyline fill="none" stroke="{LINE_COLOURS.get(name, FALLBACK_COLOUR)}" '
                   f'stroke-width="1.5" points="{coords}"><title>{escape(name)}</title>'
                   f'</polyline>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
