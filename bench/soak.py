#!/usr/bin/env python3
"""Soak test: the server-like `soak` workload for a long time under hakmem,
mimalloc and glibc in turn, watching memory and throughput over time.

    SOAK_SECONDS=600 SOAK_THREADS=2 SOAK_MODE=balanced python3 bench/soak.py

For each allocator: RSS drift (median RSS of the last quarter against the
second quarter), throughput CV (stdev / mean of the per-second ops after the
first 10 %), memory system calls per op (hakmem's own counters, and for every
allocator strace on one short extra run), peak and final RSS.  First, the
machine's own throughput CV: that of the `spin` workload, sampled in the
same way, with arithmetic alone and over an array the size of the cache.
Writes bench/results/soak.{md,csv,svg}.  See bench/README.md.
"""
import argparse
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field

from harness import (allocators, build, line_chart, machine, measure, strace_count, table,
                     timeseries)

RESULTS_DIR = build.BENCH_DIR / "results"
DEFAULT_ALLOCATORS = ("hakmem", "mimalloc", "glibc")
SEED = 42
SLACK = 120   # seconds a run may take beyond its duration (cache fill, tear-down)
BASELINE_SECONDS = 60


@dataclass
class Outcome:
    allocator: str
    run: measure.Run = None
    samples: list = field(default_factory=list)
    traced: measure.Run = None          # the short run under strace
    traced_ops: float = math.nan        # its ops less the 0-second run's
    strace_calls: dict = field(default_factory=dict)   # its calls less the 0-second run's
    strace_error: str = ""

    @property
    def counter_per_op(self):
        """hakmem's own count of its memory calls per op (NaN elsewhere)."""
        if not (self.run and self.run.ok and "mem_syscalls" in self.run.metrics):
            return math.nan
        return self.run.metrics["mem_syscalls"] / self.run.metrics["ops"]

    @property
    def strace_per_op(self):
        if not self.strace_calls or not self.traced_ops > 0:
            return math.nan
        return sum(self.strace_calls.values()) / self.traced_ops


def env_int(name, default):
    return int(os.environ.get(name, default))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=int, default=env_int("SOAK_SECONDS", 600),
                   help="duration of each run (env SOAK_SECONDS, default 600; 3600 for a release)")
    p.add_argument("--threads", type=int, default=env_int("SOAK_THREADS", 2),
                   help="worker threads (env SOAK_THREADS, default 2)")
    p.add_argument("--cache-mib", type=int, default=env_int("SOAK_CACHE_MIB", 128),
                   help="long-lived cache of all workers, MiB (env SOAK_CACHE_MIB, default 128)")
    p.add_argument("--mode", default=os.environ.get("SOAK_MODE") or None,
                   choices=("speed", "balanced", "lean"),
                   help="HAKMEM_MODE of the hakmem run (env SOAK_MODE; default hakmem's own)")
    default_allocators = os.environ.get("SOAK_ALLOCATORS", ",".join(DEFAULT_ALLOCATORS))
    p.add_argument("--allocators", type=lambda s: s.split(","),
                   default=default_allocators.split(","),
                   help="comma list (env SOAK_ALLOCATORS, default hakmem,mimalloc,glibc)")
    p.add_argument("--strace-seconds", type=int, default=env_int("SOAK_STRACE_SECONDS", 10),
                   help="duration of the run under strace (env SOAK_STRACE_SECONDS, "
                        "default 10; 0 skips strace)")
    p.add_argument("--baseline-seconds", type=int,
                   default=env_int("SOAK_BASELINE_SECONDS", BASELINE_SECONDS),
                   help="duration of the spin run that measures the machine's own noise "
                        f"(env SOAK_BASELINE_SECONDS, default {BASELINE_SECONDS}; 0 skips it)")
    args = p.parse_args()
    if args.seconds < 1 or args.threads < 1 or args.cache_mib < 1:
        p.error("seconds, threads and cache must be positive")
    if args.strace_seconds < 0 or args.baseline_seconds < 0:
        p.error("strace and baseline seconds must not be negative")
    return args


def soak_cmd(exe, samples_path, seconds, args):
    return [exe, samples_path, seconds, args.threads, args.cache_mib, SEED]


def allocator_env(allocator, mode):
    if allocator.name == "hakmem" and mode:
        return allocator.env(HAKMEM_MODE=mode)
    return allocator.env()


def sampled_run(command, env, timeout, launcher=None):
    """Runs a workload that writes per-second samples to the CSV path given
    to command(path); returns its Run and its samples ([] if none)."""
    with tempfile.TemporaryDirectory() as scratch:
        samples_path = f"{scratch}/samples.csv"
        run = measure.run(command(samples_path), env, timeout, launcher=launcher)
        samples = timeseries.read(samples_path) if os.path.exists(samples_path) else []
    return run, samples


def soak(exe, launcher, allocator, args):
    """The long run: its RESULT and peak RSS, and its per-second samples."""
    outcome = Outcome(allocator.name)
    outcome.run, outcome.samples = sampled_run(
        lambda path: soak_cmd(exe, path, args.seconds, args),
        allocator_env(allocator, args.mode), args.seconds + SLACK, launcher)
    return outcome


def spin_cv(exe, args, memory_mib):
    """The throughput CV of the spin workload (no allocator involved) over
    the baseline seconds, or the reason it has none."""
    run, samples = sampled_run(
        lambda path: [exe, path, args.baseline_seconds, args.threads, memory_mib],
        dict(os.environ), args.baseline_seconds + SLACK)
    cv = timeseries.throughput_cv(samples) if run.ok else math.nan
    if not math.isfinite(cv):
        return f"did not run ({run.error or 'no samples'})"
    return f"{cv:.1f} %"


def machine_baseline(exe, args):
    """The report's line on the machine's own noise: spin's throughput CV
    with arithmetic alone, then reading and writing an array the size of
    the soak's cache, each for the baseline seconds."""
    arithmetic = spin_cv(exe, args, 0)
    memory = spin_cv(exe, args, args.cache_mib)
    return (f"Machine baseline: `spin` ({args.threads} threads, no allocator, "
            f"{args.baseline_seconds} s each before the runs) had a throughput CV of "
            f"{arithmetic} with arithmetic alone and {memory} reading and writing random words "
            f"of a {args.cache_mib} MiB array, as the soak reads its cache: floors for the CVs "
            f"below, the second for a program bound by memory.")


def trace(exe, allocator, args, outcome):
    """Counts memory calls with strace: a short run less a run of 0 seconds,
    which cancels start-up, cache fill, thread stacks and exit."""
    env = allocator_env(allocator, args.mode)
    timeout = args.strace_seconds + SLACK
    runs = []
    for seconds in (args.strace_seconds, 0):
        run, calls = strace_count.run(soak_cmd(exe, os.devnull, seconds, args), env, timeout)
        if not run.ok or not calls:
            outcome.strace_error = run.error or "no strace summary"
            return
        runs.append((run, calls))
    (traced, calls), (base_run, base) = runs
    outcome.traced = traced
    outcome.traced_ops = traced.metrics["ops"] - base_run.metrics["ops"]
    outcome.strace_calls = {name: calls.get(name, 0) - base.get(name, 0)
                            for name in sorted(set(calls) | set(base))}


def mib(kb):
    return f"{kb / 1024:.1f} MiB" if math.isfinite(kb) else "–"


def pct(value):
    return f"{value:+.1f} %" if math.isfinite(value) else "–"


def per_op(value):
    return f"{value:.3g}" if math.isfinite(value) else "–"


def notes(outcome):
    found = [outcome.run.error] if outcome.run and outcome.run.error else []
    if outcome.strace_error:
        found.append(f"strace: {outcome.strace_error}")
    return "; ".join(found)


HEADER = ("allocator", "ops/s (mean)", "throughput CV", "RSS drift", "peak RSS", "final RSS",
          "mem syscalls/op (hakmem counters)", "mem syscalls/op (strace, short run)", "notes")


def summary_table(outcomes):
    lines = []
    for o in outcomes:
        ok = o.run is not None and o.run.ok
        cv = timeseries.throughput_cv(o.samples)
        lines.append((
            o.allocator,
            f"{timeseries.mean_ops(o.samples) / 1e6:.2f}M" if o.samples else "–",
            f"{cv:.1f} %" if math.isfinite(cv) else "–",
            pct(timeseries.rss_drift(o.samples)),
            mib(o.run.maxrss_kb if ok else math.nan),
            mib(o.samples[-1].rss_kb if o.samples else math.nan),
            per_op(o.counter_per_op),
            per_op(o.strace_per_op),
            notes(o),
        ))
    return table.markdown(HEADER, lines, right={1, 2, 3, 4, 5, 6, 7})


def strace_lines(outcomes, strace_seconds):
    """The cross-check in detail: calls by name, and for hakmem its own
    counters over the same traced run."""
    lines = []
    for o in outcomes:
        if o.traced is None:
            continue
        ops = o.traced_ops
        calls = ", ".join(f"{name} {n}" for name, n in o.strace_calls.items() if n)
        line = (f"- {o.allocator}: {ops / 1e6:.1f}M ops in {strace_seconds} s traced "
                f"({ops / strace_seconds / 1e6:.2f}M ops/s); strace: {calls or 'no calls'}")
        if "mem_syscalls" in o.traced.metrics:
            line += f"; hakmem's counters in the same run: {o.traced.metrics['mem_syscalls']:.0f}"
        lines.append(line)
    return lines


def samples_csv(outcomes):
    rows = ["allocator,t,ops,rss_kb"]
    rows += [f"{o.allocator},{s.t},{s.ops},{s.rss_kb}" for o in outcomes for s in o.samples]
    return "\n".join(rows) + "\n"


def main():
    args = parse_args()
    started = time.monotonic()
    print("building hakmem and the soak workload ...", flush=True)
    hakmem_lib = build.build_hakmem()
    exes = build.build_programs(["soak", "spin"])
    chosen, missing = allocators.choose(args.allocators, hakmem_lib,
                                        [soak_cmd(exes["soak"], os.devnull, 0, args)])
    info = machine.describe(build.REPO_DIR, build.compiler_version())
    use_strace = args.strace_seconds > 0 and strace_count.available()
    if args.strace_seconds > 0 and not use_strace:
        print("note: strace is not installed, no cross-check", file=sys.stderr)

    noise = ""
    if args.baseline_seconds > 0:
        print(f"machine baseline: spin, twice {args.baseline_seconds} s, {args.threads} "
              "threads ...", flush=True)
        noise = machine_baseline(exes["spin"], args)

    outcomes = []
    for a in chosen:
        print(f"{a.name}: {args.seconds} s, {args.threads} threads, {args.cache_mib} MiB cache ...",
              flush=True)
        outcome = soak(exes["soak"], exes["peak_rss"], a, args)
        if use_strace:
            print(f"{a.name}: {args.strace_seconds} s under strace ...", flush=True)
            trace(exes["soak"], a, args, outcome)
        outcomes.append(outcome)

    summary = summary_table(outcomes)
    details = strace_lines(outcomes, args.strace_seconds)
    print()
    if noise:
        print(noise + "\n")
    print(summary)
    if details:
        print("\nstrace cross-check (short run less a 0-second run):")
        print("\n".join(details))
    elapsed = time.monotonic() - started
    write_results(outcomes, summary, details, noise, info, missing, args, elapsed)
    print(f"\nwrote {RESULTS_DIR}/soak.{{md,csv,svg}}; took {elapsed:.0f} s")


def write_results(outcomes, summary, details, noise, info, missing, args, elapsed):
    RESULTS_DIR.mkdir(exist_ok=True)
    mode = args.mode or os.environ.get("HAKMEM_MODE") or "balanced (its default)"
    lines = ["# hakmem soak test", ""]
    lines += [f"- {label}: {value}" for label, value in info]
    if missing:
        lines += [f"- not installed, skipped: {', '.join(missing)}"]
    lines += [f"- {args.seconds} s per allocator, {args.threads} worker threads, "
              f"{args.cache_mib} MiB cache, seed {SEED}, hakmem mode {mode}; took {elapsed:.0f} s",
              "",
              "One op is one malloc or one free.  Throughput CV is the stdev / mean of the "
              "per-second ops after the first 10 %; RSS drift is the median RSS of the last "
              "quarter against that of the second quarter; peak RSS is the process's maximum "
              "resident set (wait4), final RSS the last per-second sample.  Memory syscalls per "
              "op: hakmem counts its own mmap, munmap, mremap and madvise calls while the "
              "workers run.", ""]
    if noise:
        lines += [noise, ""]
    lines += [summary, ""]
    if details:
        lines += ["## strace cross-check", "",
                  "strace counts every memory call (brk and mprotect too) in a "
                  f"{args.strace_seconds} s run less a 0-second run.  It stops the process at "
                  "each of them, so the traced run is slower, and an allocator that purges on a "
                  "timer may make a different number of calls per op.", "", *details, ""]
    lines += ["![RSS over time](soak.svg)", ""]
    (RESULTS_DIR / "soak.md").write_text("\n".join(lines))
    (RESULTS_DIR / "soak.csv").write_text(samples_csv(outcomes))
    series = {o.allocator: [(s.t, s.rss_kb / 1024) for s in o.samples] for o in outcomes}
    title = f"soak: resident set over time, {args.threads} threads, {dict(info)['date']}"
    (RESULTS_DIR / "soak.svg").write_text(line_chart.svg(series, title, "seconds", "RSS (MiB)"))


if __name__ == "__main__":
    main()
