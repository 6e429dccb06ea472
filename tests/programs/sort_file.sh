#!/usr/bin/env bash
# sort(1) on a multi-megabyte file, under hakmem and under glibc: same bytes.
. "$(dirname "$0")/lib.sh"
require sort
require awk

# 200,000 random lines, fixed seed: about 5 MB.
awk 'BEGIN {
  srand(20240601)
  for (i = 0; i < 200000; i++) {
    len = 5 + int(rand() * 40)
    line = ""
    for (j = 0; j < len; j++) line = line sprintf("%c", 97 + int(rand() * 26))
    print line, int(rand() * 1000000)
  }
}' >"$WORK/input"

export LC_ALL=C
# Plain, numeric on the second field, and unique with two threads and a small
# buffer, which makes sort merge temporary runs.
for mode in plain numeric unique; do
  case $mode in
    plain) args=() ;;
    numeric) args=(-k2,2n -k1,1) ;;
    unique) args=(-u --parallel=2 -S 1M -T "$WORK") ;;
  esac
  run_hakmem "$WORK/err" sort "${args[@]}" "$WORK/input" >"$WORK/hakmem.$mode"
  sort "${args[@]}" "$WORK/input" >"$WORK/glibc.$mode"
  same_output "sort $mode" "$WORK/hakmem.$mode" "$WORK/glibc.$mode"
done
