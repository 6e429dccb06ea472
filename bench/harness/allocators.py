"""The allocators under comparison and how a workload is run under each:
hakmem and the peers by LD_PRELOAD, glibc as the plain C library."""
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import measure

LIB_DIR = Path("/usr/lib/x86_64-linux-gnu")
# Where timed runs load their copies of the libraries from (timed_env).
COPY_DIR = Path("/tmp/hakmem-bench-libs")
# name, shared object, Debian package that ships it
PEERS = (
    ("mimalloc", "libmimalloc.so.2", "libmimalloc2.0"),
    ("jemalloc", "libjemalloc.so.2", "libjemalloc2"),
    ("tcmalloc", "libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"),
)
NAMES = ("hakmem", "glibc") + tuple(p[0] for p in PEERS)


@dataclass(frozen=True)
class Allocator:
    name: str
    library: Path = None    # preloaded; None runs the C library's own malloc
    package: str = None     # Debian package, for the version in the report

    def env(self, **extra):
        """The environment of a run: the caller's, minus any preload it had."""
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        if self.library is not None:
            env["LD_PRELOAD"] = str(self.library)
        env.update(extra)
        return env

    def timed_env(self, **extra):
        """env(), with the library preloaded from a new copy of its file.
        Where a file's pages lie in memory moves tight loops a lot: three
        byte-identical copies of one hakmem build ran tiny_hot at medians of
        254, 340 and 334 M ops/s (7 runs each, interleaved), each copy the
        same way run after run.  A new copy per run makes that luck differ
        from run to run, where the median absorbs it, instead of favouring
        one allocator in every run."""
        if self.library is None:
            return self.env(**extra)
        COPY_DIR.mkdir(parents=True, exist_ok=True)
        copy = COPY_DIR / f"{self.name}-{self.library.name}"
        copy.unlink(missing_ok=True)
        shutil.copyfile(self.library, copy)
        return Allocator(self.name, copy, self.package).env(**extra)


def find_library(soname):
    """The path of a shared object: the Debian multiarch path, else ldconfig's cache."""
    if (LIB_DIR / soname).exists():
        return LIB_DIR / soname
    try:
        cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    except OSError:
        return None
    for line in cache.splitlines():
        name, _, path = line.strip().partition(" => ")
        if name.split(" ")[0] == soname and "x86-64" in name and Path(path).exists():
            return Path(path)
    return None


def select(names, hakmem_library):
    """The requested allocators (all when `names` is empty) that exist, and
    the names of the peers that were asked for but are not installed."""
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise SystemExit(f"unknown allocator(s): {', '.join(unknown)}; known: {', '.join(NAMES)}")
    wanted = [n for n in NAMES if not names or n in names]
    found, missing = [], []
    for name in wanted:
        if name == "hakmem":
            found.append(Allocator("hakmem", Path(hakmem_library)))
        elif name == "glibc":
            found.append(Allocator("glibc", None, "libc6"))
        else:
            _, soname, package = next(p for p in PEERS if p[0] == name)
            library = find_library(soname)
            if library is None:
                missing.append(name)
            else:
                found.append(Allocator(name, library, package))
    return found, missing


def choose(names, hakmem_library, hakmem_checks):
    """select(), with the missing peers reported, a run with none left
    refused, and hakmem proved active on each command of `hakmem_checks`."""
    chosen, missing = select(names, hakmem_library)
    for name in missing:
        print(f"note: {name} is not installed, skipped", file=sys.stderr)
    if not chosen:
        raise SystemExit("no allocator left to run")
    if any(a.name == "hakmem" for a in chosen):
        for cmd in hakmem_checks:
            check_hakmem_active(hakmem_library, cmd)
    return chosen, missing


def package_version(package):
    if package is None:
        return None
    try:
        done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                              capture_output=True, text=True)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def check_hakmem_active(library, cmd):
    """Aborts unless a run of `cmd` under `library` shows hakmem's start-up
    banner, proving the preload took effect (a silent fallback to glibc
    would otherwise be benchmarked as hakmem)."""
    run = measure.run(cmd, Allocator("hakmem", Path(library)).env(HAKMEM_VERBOSE="1"), timeout=60)
    banner = [line for line in run.stderr.splitlines()
              if line.startswith("hakmem ") and " active" in line]
    if not run.ok or not banner:
        detail = run.error or "no 'hakmem ... active' line on stderr"
        raise SystemExit(f"hakmem is not in use under LD_PRELOAD={library} "
                         f"({' '.join(map(str, cmd))}): {detail}\n{run.stderr.strip()}")
