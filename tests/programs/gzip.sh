#!/usr/bin/env bash
# gzip(1) and gunzip(1) on a multi-megabyte file: compressed at two levels
# under hakmem, the same bytes as under glibc; and a gzip | gunzip pipe under
# hakmem gives back the original.
. "$(dirname "$0")/lib.sh"
require gzip
require gunzip
require awk

# About 5 MB of text with a fixed seed: repetitive enough to compress, varied
# enough to keep gzip's matcher busy.
awk 'BEGIN {
  srand(20240615)
  split("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu", words)
  for (i = 0; i < 150000; i++) {
    n = 1 + int(rand() * 6)
    line = i
    for (j = 0; j < n; j++) line = line " " words[1 + int(rand() * 12)] int(rand() * 100)
    print line
  }
}' >"$WORK/input"

# -n: no name or time stamp in the header, so the bytes can be compared.
for level in 1 6; do
  run_hakmem "$WORK/err" gzip -n -"$level" -c "$WORK/input" >"$WORK/hakmem.$level.gz"
  gzip -n -"$level" -c "$WORK/input" >"$WORK/glibc.$level.gz"
  same_output "gzip -$level" "$WORK/hakmem.$level.gz" "$WORK/glibc.$level.gz"
  run_hakmem "$WORK/err" gunzip -c "$WORK/hakmem.$level.gz" >"$WORK/hakmem.$level.out"
  same_output "gunzip of gzip -$level" "$WORK/hakmem.$level.out" "$WORK/input"
done

# A pipe with both ends under hakmem: a banner from the shell, gzip and
# gunzip at least (gunzip may be a script that runs gzip -d).
run_hakmem "$WORK/err" bash -c 'gzip -n -c "$1" | gunzip -c' _ "$WORK/input" >"$WORK/roundtrip"
banners=$(grep -cE '^hakmem .* active' "$WORK/err" || true)
if [ "$banners" -lt 3 ]; then
  echo "FAIL: $banners hakmem banners from the pipe, want one per process:" >&2
  cat "$WORK/err" >&2
  exit 1
fi
same_output "gzip | gunzip" "$WORK/roundtrip" "$WORK/input"
