# Helpers for the real-program tests, sourced by each script.
#
# Every script takes the path of libhakmem.so as its first argument (any
# arguments of its own follow, left in "$@"), runs a program once under hakmem
# (LD_PRELOAD, with HAKMEM_VERBOSE=1 to prove hakmem really was in use) and
# once on glibc, and compares what the two printed.
# PRELOAD_BEFORE_HAKMEM, when set, is preloaded ahead of hakmem in the hakmem
# runs (tests/os_page_size.c, which emulates a kernel with bigger pages).
# Exit status 77 tells CTest the test was skipped.

set -euo pipefail

SKIP=77

if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: $0 /path/to/libhakmem.so [ARGS...]" >&2
  exit 2
fi
HAKMEM_LIB=$(readlink -f "$1")
shift
# What LD_PRELOAD holds in the hakmem runs.
HAKMEM_PRELOAD="${PRELOAD_BEFORE_HAKMEM:+$PRELOAD_BEFORE_HAKMEM }$HAKMEM_LIB"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-program.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The comparison runs must not see settings from the caller's environment.
unset HAKMEM_VERBOSE HAKMEM_ABORT_ON_ERROR LD_PRELOAD

require() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "SKIP: $1 not found in PATH"
    exit "$SKIP"
  fi
}

# hakmem_stderr_ok ERRFILE WHAT: fails unless ERRFILE, the stderr of WHAT
# under hakmem, has the start-up banner (hakmem was really in use) and no
# "hakmem: error:" line (a false alarm: these programs free nothing twice
# and write no freed block, which the secure build would report).
hakmem_stderr_ok() {
  local errfile=$1 what=$2
  # One grep each: under pipefail, `grep | grep -q` fails when -q stops early.
  if ! grep -qE '^hakmem .* active' "$errfile"; then
    echo "FAIL: no 'hakmem ... active' banner on the stderr of $what: hakmem was not in use" >&2
    cat "$errfile" >&2
    exit 1
  fi
  if grep -q '^hakmem: error:' "$errfile"; then
    echo "FAIL: hakmem reported an error in $what:" >&2
    grep '^hakmem: error:' "$errfile" | head -5 >&2
    exit 1
  fi
}

# run_hakmem ERRFILE CMD...: runs CMD with hakmem preloaded and verbose, its
# stderr saved in ERRFILE, then checks that stderr (hakmem_stderr_ok).
run_hakmem() {
  local errfile=$1
  shift
  if ! HAKMEM_VERBOSE=1 LD_PRELOAD="$HAKMEM_PRELOAD" "$@" 2>"$errfile"; then
    echo "FAIL: '$*' failed under hakmem; its stderr:" >&2
    cat "$errfile" >&2
    exit 1
  fi
  hakmem_stderr_ok "$errfile" "$1"
}

# same_output NAME HAKMEM_FILE GLIBC_FILE: fails with a diff when they differ.
same_output() {
  if ! cmp -s "$2" "$3"; then
    echo "FAIL: $1: output under hakmem differs from glibc" >&2
    diff "$2" "$3" | head -20 >&2
    exit 1
  fi
  echo "ok: $1: identical output under hakmem and glibc"
}
