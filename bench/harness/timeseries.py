"""A soak run's per-second samples and the figures drawn from them."""
import csv
import math
import statistics
from dataclasses import dataclass

from .stats import median

WARMUP = 0.10   # share of the samples left out of the throughput figures


@dataclass(frozen=True)
class Sample:
    t: int          # seconds since the start
    ops: int        # ops done during that second
    rss_kb: int     # resident set at its end


def read(path):
    """The samples of the soak workload's CSV file (header t,ops,rss_kb)."""
    with open(path, newline="") as f:
        return [Sample(int(r["t"]), int(r["ops"]), int(r["rss_kb"])) for r in csv.DictReader(f)]


def rss_drift(samples):
    """Growth of the resident set once warm, in %: the median of the last
    quarter against the median of the second (the first is the warm-up)."""
    n = len(samples)
    if n < 4:
        return math.nan
    second = median([s.rss_kb for s in samples[n // 4:n // 2]])
    last = median([s.rss_kb for s in samples[3 * n // 4:]])
    return 100 * (last - second) / second if second > 0 else math.nan


def steady_ops(samples):
    """The per-second ops after the warm-up."""
    return [s.ops for s in samples[math.ceil(len(samples) * WARMUP):]]


def mean_ops(samples):
    ops = steady_ops(samples)
    return statistics.fmean(ops) if ops else math.nan


def throughput_cv(samples):
    """How much the per-second throughput wanders: stdev / mean, in %."""
    ops = steady_ops(samples)
    if len(ops) < 2 or statistics.fmean(ops) <= 0:
        return math.nan
    return 100 * statistics.stdev(ops) / statistics.fmean(ops)
