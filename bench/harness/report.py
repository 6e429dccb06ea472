"""Turning runs into the results table (Markdown, also printed) and CSV."""
import csv
import io
import math
from dataclasses import dataclass, field

from . import table
from .stats import median


@dataclass
class Row:
    workload: str
    allocator: str
    runs_ok: int
    runs: int
    median: float = math.nan    # ops/s
    low: float = math.nan
    high: float = math.nan
    ratio: float = math.nan     # this allocator's median / hakmem's median
    rss_kb: float = math.nan    # median peak RSS of the process
    extras: dict = field(default_factory=dict)
    error: str = ""


def summarise(workloads, allocators, results):
    """One Row per (workload, allocator); results maps those names to Runs."""
    rows = []
    for w in workloads:
        group = []
        for a in allocators:
            runs = results.get((w.name, a.name), [])
            good = [r for r in runs if r.ok]
            row = Row(w.name, a.name, len(good), len(runs))
            if len(good) < len(runs):
                row.error = next(r.error for r in runs if not r.ok)
            if good:
                ops = [r.throughput for r in good]
                row.median, row.low, row.high = median(ops), min(ops), max(ops)
                row.rss_kb = median([r.maxrss_kb for r in good])
                row.extras = {k: median([r.metrics[k] for r in good if k in r.metrics])
                              for k in w.extras}
            group.append(row)
        base = next((r.median for r in group if r.allocator == "hakmem"), math.nan)
        for row in group:
            row.ratio = row.median / base if base > 0 else math.nan
        rows.extend(group)
    return rows


def si(value):
    """43812345 -> '43.8M': throughputs span six orders of magnitude."""
    if not math.isfinite(value):
        return "–"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _spread(row):
    if not math.isfinite(row.median) or row.median <= 0:
        return "–"
    return f"{100 * (row.low / row.median - 1):+.1f}/{100 * (row.high / row.median - 1):+.1f} %"


def _notes(row):
    notes = [f"{k[:-len('_bytes')]}={v / 2**20:.1f} MiB" if k.endswith("_bytes") else f"{k}={v:.3g}"
             for k, v in row.extras.items() if math.isfinite(v)]
    if row.runs_ok < row.runs:
        notes.append(f"{row.runs - row.runs_ok}/{row.runs} runs failed: {row.error}")
    return ", ".join(notes)


HEADER = ("workload", "allocator", "ops/s (median)", "peer/hakmem",
          "spread (min/max vs median)", "peak RSS (median)", "notes")


def markdown_table(rows):
    lines = [(row.workload, row.allocator, si(row.median),
              f"{row.ratio:.2f}" if math.isfinite(row.ratio) else "–",
              _spread(row),
              f"{row.rss_kb / 1024:.1f} MiB" if math.isfinite(row.rss_kb) else "–",
              _notes(row)) for row in rows]
    return table.markdown(HEADER, lines, right={2, 3, 4, 5})


def csv_text(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["workload", "allocator", "runs_ok", "runs", "median_ops_per_sec",
                     "min_ops_per_sec", "max_ops_per_sec", "ratio_peer_over_hakmem",
                     "median_peak_rss_kb", "extras", "error"])
    for row in rows:
        writer.writerow([row.workload, row.allocator, row.runs_ok, row.runs,
                         f"{row.median:.1f}", f"{row.low:.1f}", f"{row.high:.1f}",
                         f"{row.ratio:.4f}", f"{row.rss_kb:.0f}",
                         " ".join(f"{k}={v:g}" for k, v in row.extras.items()), row.error])
    return out.getvalue()
