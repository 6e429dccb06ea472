"""The few statistics the reports need."""
import math
import statistics


def median(values):
    return statistics.median(values) if values else float("nan")


def geomean(values):
    values = [v for v in values if v > 0 and math.isfinite(v)]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else float("nan")
