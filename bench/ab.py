#!/usr/bin/env python3
"""A/B comparison of two hakmem builds on the benchmark workloads.

    bench/ab.py A B [--runs N] [--band PCT] [--quick] [--workloads w1,w2]

A and B are each a path to a libhakmem.so or a git revision; a revision is
exported (git archive) into /tmp/hakmem-ab/<commit>/ and built there, once.
Both run the same workload binaries, alternating A B, B A, ... so that drift
on a shared machine cancels.  Per workload it prints the median of the
per-pair throughput ratios B/A (> 1 = B faster), their min..max, the median
peak-RSS ratio and a verdict: neutral when the median ratio is within the
noise band (default +/-3 %), faster/slower when it is beyond it and every pair
agrees on the direction, unclear when beyond it but the pairs disagree; then
the geometric mean of the per-workload ratios, judged the same way.  Each
run loads its library from a new copy of the file (Allocator.timed_env):
two files alone can differ only in where their pages lie, and that moved
tiny_hot by a third.
"""
import argparse
import io
import os
import subprocess
import tarfile
from collections import defaultdict
from pathlib import Path

from harness import allocators, build, measure, report, stats, table, workloads

CACHE_DIR = Path("/tmp/hakmem-ab")


def resolve(spec):
    """The libhakmem.so that `spec` names, building a git revision if needed."""
    if Path(spec).is_file():
        return Path(spec).resolve()
    done = subprocess.run(["git", "-C", str(build.REPO_DIR), "rev-parse", "--verify", "--quiet",
                           f"{spec}^{{commit}}"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{spec!r} is neither a file nor a git revision")
    commit = done.stdout.strip()
    root = CACHE_DIR / commit
    lib = root / "build" / "libhakmem.so"
    if lib.exists():  # a commit never changes, so its build can be reused
        return lib
    print(f"building {spec} ({commit[:12]}) in {root} ...", flush=True)
    archive = subprocess.run(["git", "-C", str(build.REPO_DIR), "archive", commit],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root / "src", filter="data")
    # A private build: skipping the tests saves time and old revisions' test breakage.
    return build.build_hakmem(root / "src", root / "build", ["-DBUILD_TESTING=OFF"])


def verdict(ratio, band, low, high):
    """Beyond the band counts only when every pair agrees on the direction;
    otherwise the difference is drowned in run-to-run noise."""
    if 1 - band <= ratio <= 1 + band:
        return "neutral"
    if low > 1 or high < 1:
        return "faster" if ratio > 1 else "slower"
    return "unclear"


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="baseline: libhakmem.so path or git revision")
    p.add_argument("b", help="candidate: libhakmem.so path or git revision")
    p.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "5")),
                   help="A/B pairs per workload (env BENCH_RUNS, default 5)")
    p.add_argument("--band", type=float, default=3.0,
                   help="noise band in percent: a median ratio within 1 +/- band is "
                        "'neutral' (default 3)")
    p.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                   help="the quick arguments (env BENCH_QUICK=1)")
    p.add_argument("--workloads", type=lambda s: s.split(","),
                   default=[x for x in os.environ.get("BENCH_WORKLOADS", "").split(",") if x],
                   help="comma list (env BENCH_WORKLOADS)")
    args = p.parse_args()
    band = args.band / 100

    suite = workloads.select(args.workloads)
    libs = {"A": resolve(args.a), "B": resolve(args.b)}
    exes = build.build_programs([w.program for w in suite])
    for lib in libs.values():
        allocators.check_hakmem_active(lib, [exes[suite[0].program], *suite[0].smoke])
    print(f"A = {args.a} ({libs['A']})\nB = {args.b} ({libs['B']})", flush=True)

    runs = defaultdict(list)  # (workload, "A"/"B") -> [Run], in pair order
    timeout = 60 if args.quick else 180
    for n in range(args.runs):
        for w in suite:
            for side in ("AB" if n % 2 == 0 else "BA"):
                env = allocators.Allocator(f"hakmem-{side}", libs[side]).timed_env()
                runs[(w.name, side)].append(measure.run(
                    [exes[w.program], *w.args(args.quick)], env, timeout, launcher=exes["peak_rss"]))
            a, b = runs[(w.name, "A")][-1], runs[(w.name, "B")][-1]
            shown = (f"{report.si(r.throughput)}" if r.ok else f"FAIL ({r.error})" for r in (a, b))
            print(f"[{n + 1}/{args.runs}] {w.name}: A {next(shown)}, B {next(shown)}", flush=True)

    lines, medians = [], []
    for w in suite:
        pairs = [(a, b) for a, b in zip(runs[(w.name, "A")], runs[(w.name, "B")]) if a.ok and b.ok]
        if not pairs:
            lines.append((w.name, "–", "–", "–", "–", "–", "failed"))
            continue
        ratios = [b.throughput / a.throughput for a, b in pairs]
        rss = [b.maxrss_kb / a.maxrss_kb for a, b in pairs if a.maxrss_kb > 0]
        ratio = stats.median(ratios)
        medians.append(ratio)
        lines.append((w.name, report.si(stats.median([a.throughput for a, _ in pairs])),
                      report.si(stats.median([b.throughput for _, b in pairs])),
                      f"{ratio:.3f}", f"{min(ratios):.3f}..{max(ratios):.3f}",
                      f"{stats.median(rss):.3f}" if rss else "–",
                      verdict(ratio, band, min(ratios), max(ratios)) +
                      ("" if len(pairs) == args.runs else
                                              f" ({args.runs - len(pairs)} pairs failed)")))
    # One workload's line already says it all (its pairs may disagree,
    # which a single median cannot show).
    if len(medians) > 1:
        geo = stats.geomean(medians)
        lines.append(("geometric mean", "", "", f"{geo:.3f}", "", "",
                      verdict(geo, band, min(medians), max(medians))))
    print()
    print(table.markdown(("workload", "A ops/s", "B ops/s", "B/A", "B/A min..max",
                          "RSS B/A", f"verdict (±{args.band:g} %)"), lines, right={1, 2, 3, 4, 5}))


if __name__ == "__main__":
    main()
