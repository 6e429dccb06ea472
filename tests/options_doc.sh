#!/usr/bin/env bash
# docs/options.md and the options table in src/options.c must agree: every
# option the library reports (HAKMEM_VERBOSE=1 prints them all, with their
# values in effect) has a row in the docs with that value as its default,
# the docs list no option the library does not know, and each option a mode
# sets has that mode's value in its row as "(speed V, balanced V, lean V)".
set -euo pipefail
lib=$1
doc=$2

# Only the settings each check makes: none from the caller's environment.
for name in $(compgen -e | grep '^HAKMEM_' || true); do unset "$name"; done

# The banner with the settings $@.
banner_of() {
  env "$@" HAKMEM_VERBOSE=1 LD_PRELOAD="$lib" /bin/true 2>&1 >/dev/null | grep '^hakmem .* active:'
}

banner=$(banner_of)
reported=0
for pair in $(echo "${banner#*active:}"); do
  name=${pair%%=*}
  value=${pair#*=}
  [ "$name" = HAKMEM_VERBOSE ] && value=0   # set to 1 to get the banner
  if ! grep -qF "| \`$name\` | $value |" "$doc"; then
    echo "FAIL: $doc has no row '| \`$name\` | $value |'" >&2
    exit 1
  fi
  reported=$((reported + 1))
done
documented=$(grep -c '^| `HAKMEM_' "$doc")
if [ "$documented" -ne "$reported" ]; then
  echo "FAIL: $doc lists $documented options, the library reports $reported" >&2
  exit 1
fi
for mode in speed balanced lean; do
  for pair in $(banner_of HAKMEM_MODE=$mode |
                grep -o 'HAKMEM_[A-Z_]*DELAY_MS=[^ ]*\|HAKMEM_CACHE_MAX=[^ ]*\|HAKMEM_EXIT_PURGE=[^ ]*'); do
    name=${pair%%=*}
    value=${pair#*=}
    if ! grep "^| \`$name\` |" "$doc" | grep -qE "[(,] *$mode $value[,)]"; then
      echo "FAIL: $doc's row of $name does not give $mode's value $value" >&2
      exit 1
    fi
  done
done
echo "options_doc: $reported options documented with their defaults and each mode's values"
