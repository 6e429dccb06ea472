#!/usr/bin/env bash
# docs/options.md and the options table in src/options.c must agree: every
# option the library reports (HAKMEM_VERBOSE=1 prints them all, with their
# values in effect) has a row in the docs with that value as its default,
# and the docs list no option the library does not know.
set -euo pipefail
lib=$1
doc=$2

banner=$(env -u HAKMEM_MODE HAKMEM_VERBOSE=1 LD_PRELOAD="$lib" /bin/true 2>&1 >/dev/null | grep '^hakmem .* active:')
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
echo "options_doc: $reported options documented with their defaults"
