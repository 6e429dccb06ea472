#!/usr/bin/env python3
"""Instructions per operation, counted by valgrind's callgrind.

    bench/insns.py [--workloads tiny_hot,random_mixed] [--allocators hakmem,glibc]
                   [--lib PATH]   # another build of hakmem, e.g. one with -DHAKMEM_STATS=ON

Each workload runs twice per allocator under callgrind: with N operations and
with none.  The difference of the instruction totals divided by N cancels
start-up (loader, allocator initialisation, the workload's own set-up) and
leaves the cost of one operation.  That cost includes the workload loop's own
few instructions (PRNG, the byte written), identical for every allocator.
Single-threaded workloads only: valgrind serialises threads anyway.
"""
import argparse
import os
import re
import tempfile
import time

from harness import allocators, build, measure, table

# workload -> (program, arguments with N ops, the same with 0 ops)
CASES = {
    "tiny_hot": ("tiny_hot", ("32", "2000000"), ("32", "0")),
    "random_mixed": ("random_mixed", ("1000000", "400", "42"), ("0", "400", "42")),
    "mid_large": ("mid_large", ("100000", "64", "42", "1"), ("0", "64", "42", "1")),
    "realloc_grow": ("realloc_grow", ("40", "4", "42"), ("0", "4", "42")),
    "realloc_small": ("realloc_small", ("1000000", "1000", "4096", "42"), ("0", "1000", "4096", "42")),
}
DEFAULT = ("tiny_hot", "random_mixed")
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def instructions(exe, args, allocator, scratch):
    """(total instructions, ops reported) of one run under callgrind."""
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/callgrind.out",
           exe, *args]
    run = measure.run(cmd, allocator.env(), timeout=600)
    found = COLLECTED.search(run.stderr)
    if not run.ok or not found:
        raise RuntimeError(run.error or "no 'Collected :' line from callgrind")
    return int(found.group(1)), run.metrics["ops"]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", type=lambda s: s.split(","), default=list(DEFAULT),
                   help=f"comma list from {', '.join(CASES)} (default {','.join(DEFAULT)})")
    p.add_argument("--allocators", type=lambda s: s.split(","),
                   default=[x for x in os.environ.get("BENCH_ALLOCATORS", "").split(",") if x],
                   help="comma list (env BENCH_ALLOCATORS)")
    p.add_argument("--lib", help="count this libhakmem.so instead of building build/'s")
    args = p.parse_args()
    unknown = [w for w in args.workloads if w not in CASES]
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")

    started = time.monotonic()
    hakmem_lib = os.path.abspath(args.lib) if args.lib else build.build_hakmem()
    exes = build.build_programs([CASES[w][0] for w in args.workloads])
    program, busy, _ = CASES[args.workloads[0]]
    chosen, _ = allocators.choose(args.allocators, hakmem_lib, [[exes[program], *busy]])

    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        for w in args.workloads:
            program, busy, idle = CASES[w]
            per_op = {}
            for a in chosen:
                try:
                    total, ops = instructions(exes[program], busy, a, scratch)
                    base, base_ops = instructions(exes[program], idle, a, scratch)
                    per_op[a.name] = (total - base) / (ops - base_ops)
                    print(f"{w} {a.name}: {per_op[a.name]:.1f} instructions/op", flush=True)
                except RuntimeError as e:
                    print(f"{w} {a.name}: failed: {e}", flush=True)
            ref = per_op.get("hakmem")
            for a in chosen:
                v = per_op.get(a.name)
                lines.append((w, a.name, f"{v:.1f}" if v is not None else "failed",
                              f"{v / ref:.2f}" if v is not None and ref else "–"))
    print()
    print(table.markdown(("workload", "allocator", "instructions/op", "peer/hakmem"),
                         lines, right={2, 3}))
    print(f"\n(peer/hakmem > 1 = the peer executes more instructions per op; "
          f"took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
