#!/usr/bin/env bash
# Runs one bad-input case and asserts its outcome.
#
#   expect.sh ERRORS PROGRAM [ARGS...]
#
# ERRORS is the number of "hakmem: error:" lines the case must print.  The
# case runs twice:
#  - by default it must exit 0 with exactly ERRORS such lines and nothing
#    else on stderr: each misuse is reported and ignored, and the program's
#    own checks (among them: the heap still works) pass;
#  - with HAKMEM_ABORT_ON_ERROR=1, a case with errors must die of SIGABRT
#    after exactly one line; a case without must behave as by default, since
#    failed allocations (ENOMEM, EINVAL) are not misuse.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 ERRORS PROGRAM [ARGS...]" >&2
  exit 2
fi
errors=$1
shift
case_cmd=("$@")

err=$(mktemp "${TMPDIR:-/tmp}/hakmem-negative.XXXXXX")
trap 'rm -f "$err"' EXIT
unset HAKMEM_VERBOSE HAKMEM_ABORT_ON_ERROR LD_PRELOAD
ulimit -c 0 # the expected aborts must not leave core files

SIGABRT_STATUS=$((128 + 6))

# check ABORT_ON_ERROR WANT_STATUS WANT_ERRORS
check() {
  local abort=$1 want_status=$2 want_errors=$3 status=0
  # The outer redirection drops bash's own "Aborted" notice.
  { HAKMEM_ABORT_ON_ERROR=$abort "${case_cmd[@]}" 2>"$err"; } 2>/dev/null || status=$?
  local got_errors others
  got_errors=$(grep -c '^hakmem: error: ' "$err" || true)
  others=$(grep -vc '^hakmem: error: ' "$err" || true)
  local mode="HAKMEM_ABORT_ON_ERROR=$abort"
  if [ "$status" -ne "$want_status" ] || [ "$got_errors" -ne "$want_errors" ] || [ "$others" -ne 0 ]; then
    echo "FAIL [$mode] ${case_cmd[*]}" >&2
    echo "  want: status $want_status, $want_errors error lines, nothing else on stderr" >&2
    echo "  got:  status $status, $got_errors error lines, $others other lines:" >&2
    cat "$err" >&2
    exit 1
  fi
  echo "ok [$mode]: status $status, $got_errors error lines"
}

check 0 0 "$errors"
if [ "$errors" -gt 0 ]; then
  check 1 "$SIGABRT_STATUS" 1
else
  check 1 0 0
fi
