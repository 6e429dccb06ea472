"""Running one workload process and collecting what it reports.

Each run is its own process.  Its peak RSS comes from wait4 (ru_maxrss), taken
by the small peak_rss launcher rather than here: Linux keeps a process's
high-water mark across exec, so any child of this Python process would report
at least Python's own peak RSS."""
import os
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field

LAUNCHER_TAG = "peak_rss maxrss_kb="


@dataclass
class Run:
    ok: bool
    metrics: dict = field(default_factory=dict)   # the RESULT line's key=value pairs
    maxrss_kb: int = 0
    error: str = ""
    stderr: str = ""

    @property
    def throughput(self):
        return self.metrics["ops_per_sec"]


def parse_result(stdout):
    """The key=value pairs of the last RESULT line, or None."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            pairs = (item.split("=", 1) for item in line.split()[1:] if "=" in item)
            return {k: float(v) for k, v in pairs}
    return None


def run(cmd, env, timeout, launcher=None):
    """Runs cmd to completion, killing it after `timeout` seconds; with the
    peak_rss `launcher`, also measures its peak RSS."""
    argv = [str(c) for c in ([launcher] if launcher else []) + list(cmd)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        # A session of its own, so that a timeout kills the launcher's child too.
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err, start_new_session=True)
        timed_out = threading.Event()

        def expire():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # finished just in time
                pass

        watchdog = threading.Timer(timeout, expire)
        watchdog.start()
        try:
            code = proc.wait()
        finally:
            watchdog.cancel()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")

    lines = stderr.splitlines()
    maxrss = 0
    if launcher and lines and lines[-1].startswith(LAUNCHER_TAG):
        maxrss = int(lines.pop()[len(LAUNCHER_TAG):])
    result = Run(ok=False, maxrss_kb=maxrss, stderr="\n".join(lines))
    if timed_out.is_set():
        result.error = f"timed out after {timeout:.0f} s"
    elif code != 0:
        result.error = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
    else:
        metrics = parse_result(stdout)
        if metrics is None or "ops_per_sec" not in metrics:
            result.error = "no RESULT line"
        else:
            result.ok, result.metrics = True, metrics
    return result
