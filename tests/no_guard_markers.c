/* A kernel older than Linux 6.13, which has no guard markers, seen by a
 * process on a newer one: loaded with LD_PRELOAD ahead of libhakmem.so
 * (tests/CMakeLists.txt), it makes madvise refuse MADV_GUARD_INSTALL and
 * MADV_GUARD_REMOVE as such a kernel does (EINVAL), so that the secure
 * build makes its guard pages with mprotect (src/os.c, hak_os_guard). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

enum { GUARD_INSTALL = 102, GUARD_REMOVE = 103 }; /* Linux's values */

int madvise(void* addr, size_t len, int advice) {
  static int (*real)(void*, size_t, int);
  if (advice == GUARD_INSTALL || advice == GUARD_REMOVE) {
    errno = EINVAL;
    return -1;
  }
  if (real == NULL) real = (int (*)(void*, size_t, int))dlsym(RTLD_NEXT, "madvise");
  return real(addr, len, advice);
}
