#!/usr/bin/env python3
"""Burst then idle: how much memory each allocator gives back once a burst
of allocation is freed and the program falls idle, and how soon.

    python3 bench/burst.py [--mib 1024] [--idle 2] [--keep N] [--allocators hakmem,glibc]

Runs the burst_idle workload once per allocator (hakmem in each of its
modes, balanced, lean and speed; glibc, mimalloc, jemalloc, tcmalloc) and
prints, and writes to bench/results/burst.md, the resident set before, at
the peak, right after the frees, 1 s into the idle time, at its end and
after the allocator's own call to give memory back.  With --keep N every
N-th block of the burst stays live (bench/results/burst_keep<N>.md).  See
bench/README.md.
"""
import argparse
import os
import time

from harness import allocators, build, machine, measure, table

RESULTS_DIR = build.BENCH_DIR / "results"
HAKMEM_MODES = ("balanced", "lean", "speed")
SEED = 42
COLUMNS = (("before", "rss_before_kb"), ("peak", "rss_peak_kb"),
           ("after free", "rss_after_free_kb"), ("after 1 s", "rss_after_1s_kb"),
           ("after idle", "rss_after_idle_kb"), ("after release", "rss_after_release_kb"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mib", type=int, default=int(os.environ.get("BURST_MIB", "1024")),
                   help="size of the burst in MiB (env BURST_MIB, default 1024)")
    p.add_argument("--idle", type=float, default=float(os.environ.get("BURST_IDLE", "2")),
                   help="idle seconds after the burst, at least 1 (env BURST_IDLE, default 2)")
    p.add_argument("--keep", type=int, default=int(os.environ.get("BURST_KEEP", "0")),
                   help="keep every N-th block live (env BURST_KEEP, default 0: free all)")
    p.add_argument("--allocators", type=lambda s: s.split(","),
                   default=[x for x in os.environ.get("BENCH_ALLOCATORS", "").split(",") if x],
                   help="comma list (env BENCH_ALLOCATORS, default all)")
    args = p.parse_args()
    if args.mib < 1 or args.idle < 1 or args.keep < 0:
        p.error("--mib must be positive, --idle at least 1 and --keep not negative")
    return args


def cases(chosen):
    """(label, environment) of each run: hakmem once per mode."""
    for a in chosen:
        if a.name == "hakmem":
            for mode in HAKMEM_MODES:
                yield f"hakmem {mode}", a.env(HAKMEM_MODE=mode)
        else:
            yield a.name, a.env()


def row(label, run):
    if not run.ok:
        return (label, *("–" for _ in COLUMNS), "–", run.error)
    sizes = [f"{run.metrics[key] / 1024:.1f}" for _, key in COLUMNS]
    return (label, *sizes, f"{round(100 * run.metrics['returned_1s'])} %", "")


def main():
    args = parse_args()
    started = time.monotonic()
    print("building hakmem and the burst_idle workload ...", flush=True)
    hakmem_lib = build.build_hakmem()
    exe = build.build_programs(["burst_idle"])["burst_idle"]
    chosen, missing = allocators.choose(args.allocators, hakmem_lib, [[exe, "1", "1", str(SEED)]])
    info = machine.describe(build.REPO_DIR, build.compiler_version())

    lines = []
    for label, env in cases(chosen):
        run = measure.run([exe, str(args.mib), str(args.idle), str(SEED), str(args.keep)], env,
                          timeout=args.idle + 300)
        lines.append(row(label, run))
        print(f"{label}: " + (f"returned {round(100 * run.metrics['returned_1s'])} % at 1 s"
                              if run.ok else f"FAIL ({run.error})"), flush=True)

    header = ("allocator", *(f"{name} (MiB)" for name, _ in COLUMNS), "returned at 1 s", "notes")
    result = table.markdown(header, lines, right=set(range(1, len(COLUMNS) + 2)))
    print()
    print(result)
    elapsed = time.monotonic() - started
    text = ["# hakmem burst then idle", ""]
    text += [f"- {label}: {value}" for label, value in info]
    if missing:
        text += [f"- not installed, skipped: {', '.join(missing)}"]
    kept = f", every {args.keep}th block kept live" if args.keep else ""
    freed = "all but the kept ones" if args.keep else "them all"
    text += [f"- burst of {args.mib} MiB{kept}, then {args.idle:g} s idle, seed {SEED}; "
             f"took {elapsed:.0f} s", "",
             "Resident set of the process: before the burst (after a small warm-up), at its "
             f"peak (all blocks live), right after freeing {freed}, 1 s into the idle time "
             "(one 64 B malloc/free every 10 ms), at its end, and after the allocator's own "
             "call to give memory back: malloc_trim(0) (hakmem, glibc), mi_collect(true) "
             "(mimalloc), the purge of all arenas (jemalloc), "
             "MallocExtension_ReleaseFreeMemory() (tcmalloc).  "
             "Returned at 1 s = (peak - after 1 s) / (peak - before).", "", result, ""]
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / (f"burst_keep{args.keep}.md" if args.keep else "burst.md")
    out.write_text("\n".join(text))
    print(f"\nwrote {out}; took {elapsed:.0f} s")


if __name__ == "__main__":
    main()
