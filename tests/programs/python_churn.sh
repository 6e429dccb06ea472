#!/usr/bin/env bash
# A Python workload (dicts, strings, lists, JSON, threads with queues) under
# hakmem and under glibc must print the same checksum.
. "$(dirname "$0")/lib.sh"
require python3

script="$(dirname "$0")/python_churn.py"
run_hakmem "$WORK/err" python3 "$script" >"$WORK/hakmem.out"
python3 "$script" >"$WORK/glibc.out"
same_output "python" "$WORK/hakmem.out" "$WORK/glibc.out"
cat "$WORK/hakmem.out"
