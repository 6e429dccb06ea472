#!/usr/bin/env bash
# valgrind's memcheck on a program linked with hakmem, run against the debug
# build (whose client requests tell memcheck about hakmem's blocks): a clean
# run must show no error, a leak and a use after free must each be reported
# as memcheck reports them under glibc.
#
#   run.sh PROGRAM DEBUG_LIBRARY_DIR HAVE_VALGRIND_HEADERS
set -euo pipefail
program=$1 debug_dir=$2 have_headers=$3

if ! command -v valgrind >/dev/null || [ "$have_headers" != 1 ]; then
  echo "SKIP: valgrind or its headers are missing" >&2
  exit 77
fi

log=$(mktemp "${TMPDIR:-/tmp}/hakmem-memcheck.XXXXXX")
trap 'rm -f "$log"' EXIT

fail() {
  echo "FAIL: $*" >&2
  cat "$log" >&2
  exit 1
}

# memcheck CASE STATUS ERRORS: runs the case, leaving memcheck's report in
# $log; the exit status (99 when memcheck found errors) and memcheck's error
# count must be as given.
memcheck() {
  case_name=$1
  local status=0
  LD_LIBRARY_PATH=$debug_dir HAKMEM_VERBOSE=1 \
    valgrind --leak-check=full --error-exitcode=99 "$program" "$1" >"$log" 2>&1 || status=$?
  grep -Eq '^hakmem .*\((secure, )?debug\) active' "$log" || fail "$1: the debug build was not in use"
  [ "$status" -eq "$2" ] || fail "$1: exit status $status, want $2"
  grep -q "ERROR SUMMARY: $3 errors" "$log" || fail "$1: want $3 errors"
}

# want PATTERN WHAT: memcheck's report must match the extended regex.
want() {
  grep -qE "$1" "$log" || fail "$case_name: $2"
}

memcheck clean 0 0
want 'All heap blocks were freed|definitely lost: 0 bytes' "a leak"
echo "ok: clean run, no error"

memcheck leak 99 1
want 'definitely lost: [0-9,]+ bytes in 1 blocks' "no definite loss of one block"
want 'by 0x[0-9A-F]+: leak_one' "the record does not name leak_one"
echo "ok: leak reported"

memcheck use_after_free 99 1
want 'Invalid read of size 1' "no invalid read"
want "is 10 bytes inside a block of size [0-9,]+ free'd" "the read is not placed in the freed block"
echo "ok: use after free reported"
