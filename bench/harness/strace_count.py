"""Counting a program's memory system calls (mmap, munmap, madvise, brk,
mprotect, ...) with `strace -f -c -e trace=memory`.

strace stops the traced process at every traced call (with --seccomp-bpf at
those calls only), so a traced run is slower than a plain one; an allocator
that gives memory back on a timer may then make a different number of calls
per operation than it does untraced."""
import shutil
import tempfile
from pathlib import Path

from . import measure


def available():
    return shutil.which("strace") is not None


def parse_summary(text):
    """{syscall: calls} from strace -c's table.  Its rows read
    '% time, seconds, usecs/call, calls, [errors], syscall': the calls are
    always the fourth field, the name the last."""
    counts = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
            counts[fields[-1]] = int(fields[3])
    return counts


def run(cmd, env, timeout):
    """Runs cmd under strace; returns its measure.Run and {syscall: calls}
    ({} if the run failed)."""
    env = dict(env)
    # The preload is for the traced program, not for strace itself.
    preload = env.pop("LD_PRELOAD", None)
    with tempfile.TemporaryDirectory() as scratch:
        summary = Path(scratch) / "strace.txt"
        argv = ["strace", "-f", "-c", "--seccomp-bpf", "-e", "trace=memory", "-o", summary]
        if preload:
            argv += ["-E", f"LD_PRELOAD={preload}"]
        result = measure.run([*argv, *cmd], env, timeout)
        counts = parse_summary(summary.read_text()) if result.ok and summary.exists() else {}
    return result, counts
