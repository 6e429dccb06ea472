#!/usr/bin/env python3
"""The side-by-side benchmark: every workload under every allocator.

Runs are interleaved (each pass runs each workload once under every
allocator, the order rotating from pass to pass) so that slow drifts of a
shared machine hit every allocator alike.  Results go to stdout and to
bench/results/latest.{md,csv,svg}.  See bench/README.md.
"""
import argparse
import os
import time
from collections import defaultdict

from harness import allocators, build, chart, machine, measure, report, workloads

RESULTS_DIR = build.BENCH_DIR / "results"


def env_list(name):
    return [x.strip() for x in os.environ.get(name, "").split(",") if x.strip()]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                   help="small arguments, ~1 minute in all (env BENCH_QUICK=1)")
    p.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "7")),
                   help="runs per workload and allocator (env BENCH_RUNS, default 7)")
    p.add_argument("--workloads", default=env_list("BENCH_WORKLOADS"),
                   type=lambda s: s.split(","), help="comma list (env BENCH_WORKLOADS)")
    p.add_argument("--allocators", default=env_list("BENCH_ALLOCATORS"),
                   type=lambda s: s.split(","), help="comma list (env BENCH_ALLOCATORS)")
    args = p.parse_args()
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


def main():
    args = parse_args()
    started = time.monotonic()
    suite = workloads.select(args.workloads)
    print("building hakmem and the workloads ...", flush=True)
    hakmem_lib = build.build_hakmem()
    exes = build.build_programs([w.program for w in suite])
    compiler = build.compiler_version()
    chosen, missing = allocators.choose(args.allocators, hakmem_lib,
                                        [[exes[w.program], *w.smoke] for w in suite])
    info = machine.describe(build.REPO_DIR, compiler)

    timeout = 60 if args.quick else 180
    results = defaultdict(list)
    for n in range(args.runs):
        for w in suite:
            order = chosen[n % len(chosen):] + chosen[:n % len(chosen)]
            line = []
            for a in order:
                run = measure.run([exes[w.program], *w.args(args.quick)], a.timed_env(), timeout,
                                  launcher=exes["peak_rss"])
                results[(w.name, a.name)].append(run)
                line.append(f"{a.name} {report.si(run.throughput) if run.ok else f'FAIL ({run.error})'}")
            print(f"[{n + 1}/{args.runs}] {w.name}: {', '.join(line)}", flush=True)

    rows = report.summarise(suite, chosen, results)
    table = report.markdown_table(rows)
    elapsed = time.monotonic() - started
    mode = "quick" if args.quick else "full"
    print()
    print(table)
    print("\npeer/hakmem = median ops/s / hakmem's median ops/s (> 1: faster than hakmem)")
    write_results(rows, table, info, chosen, missing, mode, args.runs, elapsed)
    print(f"\nwrote {RESULTS_DIR}/latest.{{md,csv,svg}}; {mode} run took {elapsed:.0f} s")


def write_results(rows, table, info, chosen, missing, mode, runs, elapsed):
    RESULTS_DIR.mkdir(exist_ok=True)
    versions = []
    for a in chosen:
        if a.name == "hakmem":
            continue
        version = allocators.package_version(a.package) or "version unknown"
        where = f", {a.library}" if a.library else ""
        versions.append(f"{a.name} {version} ({a.package}{where})")
    lines = ["# hakmem benchmark results", ""]
    lines += [f"- {label}: {value}" for label, value in info]
    lines += [f"- peers: {'; '.join(versions) or 'none'}"]
    if missing:
        lines += [f"- not installed, skipped: {', '.join(missing)}"]
    lines += [f"- mode: {mode}, {runs} runs per cell, interleaved; took {elapsed:.0f} s", "",
              "ops/s is each workload's own throughput (see bench/README.md for what one op "
              "is); peer/hakmem is the allocator's median ops/s divided by hakmem's "
              "(> 1 = faster than hakmem); spread is the slowest and fastest run relative to "
              "the median; peak RSS is the median over runs of the process's maximum "
              "resident set.", "", table, "", "![throughput relative to hakmem](latest.svg)", ""]
    (RESULTS_DIR / "latest.md").write_text("\n".join(lines))
    (RESULTS_DIR / "latest.csv").write_text(report.csv_text(rows))
    date = dict(info)["date"]
    (RESULTS_DIR / "latest.svg").write_text(chart.svg(rows, f"hakmem vs peers, {mode} run, {date}"))


if __name__ == "__main__":
    main()
