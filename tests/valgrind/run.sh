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

# memcheck CASE: runs the case, leaving memcheck's report in $log and the
# exit status (99 when memcheck found errors) in $status.
memcheck() {
  status=0
  LD_LIBRARY_PATH=$debug_dir HAKMEM_VERBOSE=1 \
    valgrind --leak-check=full --error-exitcode=99 "$program" "$1" >"$log" 2>&1 || status=$?
  grep -q '^hakmem .*(debug) active' "$log" || fail "$1: the debug build was not in use"
}

memcheck clean
[ "$status" -eq 0 ] || fail "clean: exit status $status"
grep -q 'ERROR SUMMARY: 0 errors' "$log" || fail "clean: memcheck reported errors"
grep -qE 'All heap blocks were freed|definitely lost: 0 bytes' "$log" || fail "clean: a leak"
echo "ok: clean run, no error"

memcheck leak
[ "$status" -eq 99 ] || fail "leak: exit status $status, want 99"
grep -qE 'definitely lost: [0-9,]+ bytes in 1 blocks' "$log" || fail "leak: no definite loss of one block"
grep -qE 'by 0x[0-9A-F]+: leak_one' "$log" || fail "leak: the record does not name leak_one"
grep -q 'ERROR SUMMARY: 1 errors' "$log" || fail "leak: other errors"
echo "ok: leak reported"

memcheck use_after_free
[ "$status" -eq 99 ] || fail "use_after_free: exit status $status, want 99"
grep -q 'Invalid read of size 1' "$log" || fail "use_after_free: no invalid read"
grep -qE "is 10 bytes inside a block of size [0-9,]+ free'd" "$log" ||
  fail "use_after_free: the read is not placed in the freed block"
grep -q 'ERROR SUMMARY: 1 errors' "$log" || fail "use_after_free: other errors"
echo "ok: use after free reported"
