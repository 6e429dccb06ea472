#!/usr/bin/env bash
# The C compiler under hakmem (the driver preloaded; cc1, as and ld inherit
# LD_PRELOAD) builds hakmem itself from its sources into a shared library,
# and a small program linked with that library.  The same
# build on glibc must give byte-identical objects, library and program, and
# the program must print the same under both.
#
#   compiler.sh LIBHAKMEM SOURCE_DIR
. "$(dirname "$0")/lib.sh"
require cc

if [ $# -ne 1 ] || [ ! -d "$1/src" ]; then
  echo "usage: $0 /path/to/libhakmem.so /path/to/hakmem/source" >&2
  exit 2
fi
# A snapshot, so both builds see the same sources even while they are edited.
source_dir="$WORK/source"
mkdir "$source_dir"
cp -R "$1/src" "$1/include" "$source_dir/"
program="$(dirname "$(readlink -f "$0")")/compiler_prog.c"

# build: in the current directory, with relative output paths and the same
# absolute source paths for both builds, so nothing differs between them.
build() {
  local src=$1 program=$2
  local flags=(-O2 -fPIC -fvisibility=hidden -ftls-model=initial-exec
    -fno-builtin-malloc -fno-builtin-free -I "$src/include" -I "$src/src")
  mkdir obj
  local f
  for f in "$src"/src/*.c; do
    cc -std=gnu11 "${flags[@]}" -c "$f" -o "obj/$(basename "$f" .c).o"
  done
  cc -shared -o libhakmem-built.so obj/*.o -lpthread
  cc -std=gnu11 -O2 -I "$src/include" "$program" -o prog -L. -lhakmem-built -Wl,-rpath,'$ORIGIN'
}

mkdir "$WORK/hakmem" "$WORK/glibc"
(cd "$WORK/hakmem" && run_hakmem "$WORK/err" bash -c "set -euo pipefail; $(declare -f build); build '$source_dir' '$program'")
(cd "$WORK/glibc" && build "$source_dir" "$program")

# Each compile runs the driver and the compiler proper, each with its banner.
sources=("$source_dir"/src/*.c)
banners=$(grep -cE '^hakmem .* active' "$WORK/err" || true)
if [ "$banners" -lt $((2 * ${#sources[@]})) ]; then
  echo "FAIL: $banners hakmem banners for ${#sources[@]} compiles: the compilers did not all run under hakmem" >&2
  exit 1
fi

for f in "$WORK"/hakmem/obj/*.o "$WORK/hakmem/libhakmem-built.so" "$WORK/hakmem/prog"; do
  same_output "$(basename "$f")" "$f" "$WORK/glibc/${f#"$WORK"/hakmem/}"
done

"$WORK/hakmem/prog" >"$WORK/hakmem.out"
"$WORK/glibc/prog" >"$WORK/glibc.out"
# Its blocks come from the hakmem it was linked with.
if ! grep -q 'owned: 1$' "$WORK/hakmem.out"; then
  echo "FAIL: the program built does not allocate from the hakmem built:" >&2
  cat "$WORK/hakmem.out" >&2
  exit 1
fi
same_output "the program built" "$WORK/hakmem.out" "$WORK/glibc.out"
cat "$WORK/hakmem.out"
