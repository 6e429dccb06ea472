#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, checks the layout, then builds
# and runs a small consumer the ways a user would: with pkg-config, and with
# find_package against both the shared and the static library.  Last, the
# installed launcher must find the installed library by itself.
#
# usage: run.sh BUILD_DIR VERSION LIBDIR   (LIBDIR relative to the prefix)
# CC and CMAKE name the compiler and cmake to use.  Exit status 77 tells CTest
# the test was skipped.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 BUILD_DIR VERSION LIBDIR" >&2
  exit 2
fi
build=$1 version=$2 libdir=$3
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
cmake=${CMAKE:-cmake}

if ! command -v pkg-config >/dev/null 2>&1; then
  echo "SKIP: pkg-config not found in PATH"
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
unset LD_PRELOAD HAKMEM_LIB HAKMEM_VERBOSE

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

. "$here/../quietly.sh"

# run_consumer NAME CMD...: the consumer must run and say hakmem owns its block.
run_consumer() {
  local name=$1 out
  shift
  out=$("$@") || fail "$name consumer exited with status $?"
  case $out in
    "consumer: hakmem $version owns malloc(10): ok") echo "ok: $name: $out" ;;
    *) fail "$name consumer printed '$out'" ;;
  esac
}

quietly "$work/install.log" "$cmake" --install "$build" --prefix "$prefix"

lib=$prefix/$libdir
for f in "$lib/libhakmem.so" "$lib/libhakmem.so.0" "$lib/libhakmem.so.$version" \
         "$lib/libhakmem.a" "$prefix/include/hakmem.h" "$lib/pkgconfig/hakmem.pc" \
         "$lib/cmake/hakmem/hakmemConfig.cmake" \
         "$lib/cmake/hakmem/hakmemConfigVersion.cmake" \
         "$lib/cmake/hakmem/hakmemTargets.cmake" "$prefix/bin/hakmem"; do
  [ -f "$f" ] || fail "$f not installed"
done
for f in "$lib/libhakmem.so" "$lib/libhakmem.so.0"; do
  [ -L "$f" ] || fail "$f should be a symlink"
done
echo "ok: install layout under $prefix"

# pkg-config: the .pc file names the real prefix.
export PKG_CONFIG_PATH=$lib/pkgconfig
[ "$(pkg-config --modversion hakmem)" = "$version" ] ||
  fail "pkg-config --modversion hakmem: '$(pkg-config --modversion hakmem)', expected $version"
[ "$(pkg-config --variable=prefix hakmem)" = "$prefix" ] ||
  fail "hakmem.pc prefix is '$(pkg-config --variable=prefix hakmem)', expected $prefix"
case " $(pkg-config --static --libs hakmem) " in
  *" -lpthread "*) ;;
  *) fail "pkg-config --static --libs hakmem lacks -lpthread" ;;
esac
read -ra cflags <<<"$(pkg-config --cflags hakmem)"
read -ra libs <<<"$(pkg-config --libs hakmem)"
quietly "$work/cc.log" "$cc" "${cflags[@]}" "$here/consumer.c" -o "$work/consumer_pc" "${libs[@]}"
run_consumer pkg-config env LD_LIBRARY_PATH="$lib" "$work/consumer_pc"

# find_package: CMake's build-tree rpath finds the shared library.
quietly "$work/configure.log" "$cmake" -S "$here" -B "$work/cmake" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" -DHAKMEM_EXPECTED_VERSION="$version"
grep -qx "hakmem_DIR:PATH=$lib/cmake/hakmem" "$work/cmake/CMakeCache.txt" ||
  fail "find_package(hakmem) did not pick the package installed in $prefix"
quietly "$work/build.log" "$cmake" --build "$work/cmake"
run_consumer find_package-shared "$work/cmake/consumer_shared"
run_consumer find_package-static "$work/cmake/consumer_static"

"$prefix/bin/hakmem" --verbose -- true 2>"$work/launcher.err" ||
  fail "installed launcher failed: $(cat "$work/launcher.err")"
grep -qE '^hakmem .* active' "$work/launcher.err" ||
  fail "installed launcher: no 'hakmem ... active' banner: $(cat "$work/launcher.err")"
echo "ok: installed launcher preloads the installed library"
