#!/usr/bin/env bash
# hakmem on aarch64: a cross build of the library (default and secure) and
# of two tests, warnings as errors, which then run under qemu-user on 4 KiB
# and on 64 KiB pages (qemu's -p sets the page size the program is told),
# with every free page purged at once and every freed segment within a
# millisecond: at once, test_api's huge blocks, freed and made again in
# turn, faulted in afresh each time, and on a machine where faults are
# slow it took a minute a run under qemu, 7 s this way.
#
# usage: run.sh SOURCE_DIR
# Exit status 77 tells CTest the test was skipped: no aarch64 cross
# compilers (gcc-aarch64-linux-gnu, g++-aarch64-linux-gnu) or no
# qemu-aarch64 (qemu-user).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 SOURCE_DIR" >&2
  exit 2
fi
source=$1
for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ qemu-aarch64; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found in PATH"
    exit 77
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-aarch64.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset LD_PRELOAD HAKMEM_LIB HAKMEM_VERBOSE

. "$source/tests/quietly.sh"

quietly "$work/configure.log" cmake -S "$source" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
  -DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc -DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++ \
  -DCMAKE_C_FLAGS=-Werror -DCMAKE_CXX_FLAGS=-Werror
quietly "$work/build.log" cmake --build "$work/build" -j 2 \
  --target hakmem hakmem_secure test_api test_stress

# The target's libraries: where the cross compiler finds its libc.
sysroot=$(dirname "$(aarch64-linux-gnu-gcc -print-file-name=libc.so.6)")/..
tests=$work/build/tests
for page in 4096 65536; do
  for build in default secure; do
    lib=$work/build
    [ "$build" = secure ] && lib=$tests/secure
    for test in "test_api" "test_stress 8 50000 1"; do
      echo "== ${test%% *}, $build build, $((page / 1024)) KiB pages"
      # shellcheck disable=SC2086  # the test's arguments split on purpose
      qemu-aarch64 -L "$sysroot" -p "$page" -E "LD_LIBRARY_PATH=$lib" \
        -E HAKMEM_PURGE_DELAY_MS=1 -E HAKMEM_PAGE_PURGE_DELAY_MS=0 "$tests"/$test
    done
  done
done
