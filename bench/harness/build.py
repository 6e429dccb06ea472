"""Building what the benchmarks run: hakmem (CMake, Release) and the C
programs (plain cc, rebuilt only when a source or header changed)."""
import os
import subprocess
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent
# Workloads live in bench/workloads/, the peak_rss launcher beside this file.
SOURCE_DIRS = (BENCH_DIR / "workloads", BENCH_DIR / "harness")
PROGRAM_DIR = REPO_DIR / "build" / "bench"
# The machine is shared: never compile with more than two jobs.
JOBS = os.environ.get("BENCH_JOBS", "2")
CFLAGS = ["-O2", "-pthread", "-Wall", "-Wextra"]
LIBS = ["-lm"]


def _run(cmd, what):
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n$ {' '.join(map(str, cmd))}\n{done.stdout}")


def build_hakmem(source_dir=REPO_DIR, build_dir=REPO_DIR / "build", cmake_args=()):
    """Configure and build libhakmem.so (only that target: the tests are not
    needed here); returns its path."""
    _run(["cmake", "-S", source_dir, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", *cmake_args],
         f"configuring hakmem in {build_dir}")
    _run(["cmake", "--build", build_dir, "--target", "hakmem", "-j", JOBS],
         f"building hakmem in {build_dir}")
    lib = Path(build_dir) / "libhakmem.so"
    if not lib.exists():
        raise SystemExit(f"build finished but {lib} does not exist")
    return lib


def build_programs(programs):
    """Compile each named C program plus the peak_rss launcher; returns
    {program: executable path}."""
    PROGRAM_DIR.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    built = {}
    for program in sorted({*programs, "peak_rss"}):
        source = next((d / f"{program}.c" for d in SOURCE_DIRS if (d / f"{program}.c").exists()),
                      None)
        if source is None:
            raise SystemExit(f"no source for program {program}")
        exe = PROGRAM_DIR / program
        inputs = [source, *source.parent.glob("*.h")]
        if not exe.exists() or exe.stat().st_mtime < max(p.stat().st_mtime for p in inputs):
            _run([cc, *CFLAGS, "-o", exe, source, *LIBS], f"compiling {source.name}")
        built[program] = exe
    return built


def compiler_version():
    cc = os.environ.get("CC", "cc")
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    except OSError:
        return "unknown"
    return out.splitlines()[0] if out else "unknown"
