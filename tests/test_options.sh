#!/usr/bin/env bash
# HAKMEM_* parsing: modes and their defaults, sizes with suffixes, switch
# spellings, and one warning for an unknown name or a bad value.
set -euo pipefail
lib=$1

# Only the settings each check makes: none from the caller's environment.
for name in $(compgen -e | grep '^HAKMEM_' || true); do unset "$name"; done

# banner ENV...: the start-up banner of /bin/true run with ENV, and warnings.
banner() {
  env HAKMEM_VERBOSE=1 "$@" LD_PRELOAD="$lib" /bin/true 2>&1 >/dev/null
}

# expect TEXT ENV...: the banner (and warnings) of a run with ENV contain TEXT.
checks=0
expect() {
  local text=$1
  shift
  local out
  out=$(banner "$@")
  if ! grep -qF -- "$text" <<<"$out"; then
    echo "FAIL: with $* expected '$text' in:" >&2
    echo "$out" >&2
    exit 1
  fi
  checks=$((checks + 1))
}

expect "HAKMEM_MODE=balanced HAKMEM_PURGE_DELAY_MS=50 HAKMEM_CACHE_MAX=256M"
expect "HAKMEM_MODE=lean HAKMEM_PURGE_DELAY_MS=0 HAKMEM_CACHE_MAX=64M" HAKMEM_MODE=lean
expect "HAKMEM_MODE=speed HAKMEM_PURGE_DELAY_MS=1000 HAKMEM_CACHE_MAX=1G" HAKMEM_MODE=SPEED
expect "HAKMEM_PURGE_DELAY_MS=25 HAKMEM_CACHE_MAX=64M" HAKMEM_MODE=lean HAKMEM_PURGE_DELAY_MS=25
expect "HAKMEM_EXIT_PURGE=0" HAKMEM_MODE=speed
expect "HAKMEM_EXIT_PURGE=1" HAKMEM_MODE=speed HAKMEM_EXIT_PURGE=on
expect "HAKMEM_EXIT_PURGE=0" HAKMEM_MODE=lean HAKMEM_EXIT_PURGE=0
expect "HAKMEM_CACHE_MAX=3G" HAKMEM_CACHE_MAX=3g
expect "HAKMEM_CACHE_MAX=512K" HAKMEM_CACHE_MAX=512KB
expect "HAKMEM_CACHE_MAX=1234 " HAKMEM_CACHE_MAX=1234
expect "HAKMEM_SHOW_STATS=1" HAKMEM_SHOW_STATS=yes
expect "HAKMEM_ABORT_ON_ERROR=1" HAKMEM_ABORT_ON_ERROR=On
expect "HAKMEM_ABORT_ON_ERROR=0" HAKMEM_ABORT_ON_ERROR=false
expect "hakmem: warning: unknown option HAKMEM_BOGUS=1 (ignored)" HAKMEM_BOGUS=1
expect "hakmem: warning: bad value in HAKMEM_CACHE_MAX=12Q" HAKMEM_CACHE_MAX=12Q
expect "HAKMEM_CACHE_MAX=256M" HAKMEM_CACHE_MAX=12Q
expect "hakmem: warning: bad value in HAKMEM_MODE=fast" HAKMEM_MODE=fast
expect "hakmem: warning: bad value in HAKMEM_PURGE_DELAY_MS=-1" HAKMEM_PURGE_DELAY_MS=-1
expect "hakmem: warning: bad value in HAKMEM_CACHE_MAX=99999999999G" HAKMEM_CACHE_MAX=99999999999G

# Without HAKMEM_VERBOSE nothing is printed at all.
quiet=$(LD_PRELOAD="$lib" /bin/true 2>&1)
if [ -n "$quiet" ]; then
  echo "FAIL: output without HAKMEM_VERBOSE: $quiet" >&2
  exit 1
fi
echo "test_options: $((checks + 1)) checks passed"
