"""The benchmark suite: which program runs with which arguments.

Every workload is a C program in bench/workloads/ that prints a final line
`RESULT ops_per_sec=... ops=... seconds=... [extra keys]`.  Full arguments
aim at 1-3 s per run under glibc on a 2-core machine, quick ones at ~0.2 s.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    name: str
    program: str            # executable built from bench/workloads/<program>.c
    full: tuple             # arguments of the default run
    quick: tuple            # arguments under BENCH_QUICK=1
    smoke: tuple            # tiny arguments for the pre-flight check
    extras: tuple = ()      # RESULT keys reported besides throughput

    def args(self, quick):
        return self.quick if quick else self.full


WORKLOADS = (
    # SECONDS MIN MAX CHUNKS_PER_THREAD ROUNDS SEED THREADS
    Workload("larson", "larson",
             ("2", "8", "1000", "5000", "100", "42", "2"),
             ("0.3", "8", "1000", "5000", "100", "42", "2"),
             ("0.05", "8", "1000", "500", "2", "42", "2")),
    # ITERS WS SEED
    Workload("random_mixed", "random_mixed",
             ("20000000", "400", "42"), ("3000000", "400", "42"), ("10000", "400", "42")),
    # SIZE ITERS
    Workload("tiny_hot", "tiny_hot",
             ("32", "200000000"), ("32", "30000000"), ("32", "10000")),
    # ITERS WS SEED THREADS
    Workload("mid_large", "mid_large",
             ("4000000", "64", "42", "1"), ("600000", "64", "42", "1"), ("2000", "64", "42", "1")),
    Workload("mid_large_mt", "mid_large",
             ("2000000", "64", "42", "2"), ("300000", "64", "42", "2"), ("1000", "64", "42", "2")),
    # ITEMS PRODUCERS CONSUMERS SEED
    Workload("cross_thread", "cross_thread",
             ("8000000", "1", "1", "42"), ("1200000", "1", "1", "42"), ("10000", "1", "1", "42")),
    # ROUNDS SLOTS SEED
    Workload("fragment_stress", "fragment_stress",
             ("250", "20000", "42"), ("40", "20000", "42"), ("2", "1000", "42"),
             extras=("frag_ratio", "peak_live_bytes")),
    # BUFFERS MAX_MIB SEED
    Workload("realloc_grow", "realloc_grow",
             ("300", "64", "42"), ("60", "64", "42"), ("4", "1", "42")),
    # ITERS SLOTS MAX_SIZE SEED
    Workload("realloc_small", "realloc_small",
             ("20000000", "1000", "4096", "42"), ("3000000", "1000", "4096", "42"),
             ("10000", "1000", "4096", "42")),
)


def select(names):
    """The workloads named in `names` (all when empty), in suite order."""
    known = {w.name: w for w in WORKLOADS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown workload(s): {', '.join(unknown)}; "
                         f"known: {', '.join(known)}")
    return [w for w in WORKLOADS if not names or w.name in names]
