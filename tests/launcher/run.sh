#!/usr/bin/env bash
# The hakmem launcher: its options become HAKMEM_* environment variables, the
# command runs with libhakmem.so first in LD_PRELOAD, and the command's exit
# status comes back; command-line mistakes exit 2, a missing library 1.
#
# usage: run.sh LAUNCHER LIBHAKMEM
set -euo pipefail

if [ $# -ne 2 ] || [ ! -f "$2" ]; then
  echo "usage: $0 /path/to/hakmem /path/to/libhakmem.so" >&2
  exit 2
fi
launcher=$1 lib=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-launcher.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset LD_PRELOAD HAKMEM_LIB HAKMEM_VERBOSE HAKMEM_MODE HAKMEM_SHOW_STATS

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect STATUS NAME CMD...: runs CMD, stdout in $work/out and stderr in
# $work/err, and checks its exit status.
expect() {
  local want=$1 name=$2 status=0
  shift 2
  "$@" >"$work/out" 2>"$work/err" || status=$?
  [ "$status" -eq "$want" ] ||
    fail "$name: exit status $status, expected $want; stderr: $(cat "$work/err")"
}

# has FILE LINE NAME: FILE must hold LINE as a whole line.
has() {
  grep -qxF -- "$2" "$1" || fail "$3: no line '$2' in: $(cat "$1")"
  echo "ok: $3"
}

expect 0 "--verbose" "$launcher" --lib "$lib" --verbose -- true
grep -qE '^hakmem .* active' "$work/err" ||
  fail "--verbose: no 'hakmem ... active' banner on stderr: $(cat "$work/err")"
echo "ok: --verbose: the command ran under hakmem"

expect 7 "exit status" "$launcher" --lib "$lib" -- sh -c 'exit 7'
echo "ok: the command's exit status comes back"

expect 2 "--bogus" "$launcher" --bogus -- true
grep -q '^usage: hakmem' "$work/err" || fail "--bogus: no usage on stderr: $(cat "$work/err")"
echo "ok: an unknown option is a usage error"
expect 2 "--mode fast" "$launcher" --lib "$lib" --mode fast -- true
expect 2 "no command" "$launcher" --lib "$lib" --
echo "ok: a bad mode or a missing command is a usage error"

expect 0 "--help" "$launcher" --help
grep -q '^usage: hakmem' "$work/out" || fail "--help: no usage on stdout"
echo "ok: --help"

expect 1 "missing library" "$launcher" --lib "$work/none/libhakmem.so" -- true
grep -q 'library not found' "$work/err" || fail "missing library: unclear error: $(cat "$work/err")"
echo "ok: a missing library is reported"

expect 0 "--mode lean" "$launcher" --lib "$lib" --mode lean -- env
has "$work/out" HAKMEM_MODE=lean "--mode lean sets HAKMEM_MODE"
expect 0 "--mode=speed" "$launcher" --lib="$lib" --mode=speed -- env
has "$work/out" HAKMEM_MODE=speed "--mode=speed sets HAKMEM_MODE"
expect 0 "--stats" "$launcher" --lib "$lib" --stats -- env
has "$work/out" HAKMEM_SHOW_STATS=1 "--stats sets HAKMEM_SHOW_STATS"

# A relative --lib becomes absolute, so the command may change directory, and
# goes before what the caller already preloads.  HAKMEM_LIB stands for --lib.
absolute=$(cd "$(dirname "$lib")" && pwd -P)/$(basename "$lib")
launcher=$(cd "$(dirname "$launcher")" && pwd -P)/$(basename "$launcher")
(cd "$(dirname "$lib")" &&
  expect 0 "LD_PRELOAD" env LD_PRELOAD=libother.so "$launcher" --lib "./$(basename "$lib")" -- env)
has "$work/out" "LD_PRELOAD=$absolute:libother.so" "--lib: LD_PRELOAD"
expect 0 "HAKMEM_LIB" env HAKMEM_LIB="$lib" "$launcher" -- env
has "$work/out" "LD_PRELOAD=$absolute" "HAKMEM_LIB: LD_PRELOAD"
