#!/usr/bin/env bash
# Part of CPython's own regression suite under hakmem: containers, strings,
# pickling, decimal, ctypes, mmap, compression, subprocesses, fork from a
# threaded process, multiprocessing by fork, and threads that end with
# pthread_exit (test_threading: a child whose last thread did so never
# ended while hakmem's purger thread lived on).  The suite checks its own
# results; hakmem runs in every worker and child it starts, and any bad free
# it sees aborts the process.  Python's test package is separate on Debian
# (libpython3.11-testsuite); without it the test is skipped.
. "$(dirname "$0")/lib.sh"

tests=(test_multiprocessing_fork test_fork1 test_subprocess test_thread test_threading
       test_queue test_dict test_list test_set test_deque test_collections test_itertools
       test_unicode test_bytes test_memoryview test_array test_struct test_re
       test_json test_pickle test_decimal test_long test_descr test_builtin
       test_gc test_weakref test_ctypes test_mmap test_io test_hashlib
       test_zlib test_bz2 test_lzma test_xml_etree test_datetime test_bigmem
       test_tracemalloc)

# The first interpreter in PATH may have none of the suite or only part of
# it (a pyenv build); the one chosen has every module listed.
has_suite='import importlib.util, sys
sys.exit(any(importlib.util.find_spec("test." + m) is None for m in sys.argv[1:]))'
python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c "$has_suite" libregrtest "${tests[@]}" >/dev/null 2>&1; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "SKIP: no python3 with its regression suite (Debian: libpython3.11-testsuite)"
  exit "$SKIP"
fi

# Verbose only here: the suite compares what some children print on stderr.
run_hakmem "$WORK/err" "$python" -c pass
if ! HAKMEM_ABORT_ON_ERROR=1 LD_PRELOAD="$HAKMEM_PRELOAD" \
     "$python" -m test -j2 --timeout 300 "${tests[@]}" >"$WORK/out" 2>&1 ||
   ! grep -q "Tests result: SUCCESS" "$WORK/out"; then
  echo "FAIL: CPython's regression tests failed under hakmem:" >&2
  tail -60 "$WORK/out" >&2
  exit 1
fi
echo "ok: ${#tests[@]} modules of CPython's regression suite passed under hakmem"
grep -E "^Total duration" "$WORK/out"
