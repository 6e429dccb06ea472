"""Where and with what the benchmark ran, for the head of the report."""
import datetime
import os
import platform
import subprocess


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def git_revision(repo):
    done = subprocess.run(["git", "-C", str(repo), "describe", "--always", "--dirty"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "no commit yet"


def describe(repo, compiler):
    """(label, value) pairs describing this machine and moment."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{cpu_model()}, {os.cpu_count()} cores, {memory_gib()}"),
        ("kernel", f"Linux {platform.release()}"),
        ("C library", os.confstr("CS_GNU_LIBC_VERSION")),
        ("compiler", compiler),
        ("hakmem", git_revision(repo)),
        ("load average at start", load),
    ]
