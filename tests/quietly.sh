# Sourced by the scripts that build hakmem in a scratch directory
# (tests/install/run.sh, tests/aarch64/run.sh).

# quietly LOG CMD...: runs CMD with its output in LOG, shown (its last 40
# lines) only on failure, which ends the script.
quietly() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "FAIL: $*" >&2
    exit 1
  fi
}
