/* qemu-user's mmap as hakmem met it: loaded with LD_PRELOAD ahead of
 * libhakmem.so (tests/CMakeLists.txt), it fails with EPERM every mmap that
 * has an address but neither MAP_FIXED nor MAP_FIXED_NOREPLACE, where a
 * kernel would place the mapping elsewhere.  qemu-user did so now and then
 * for hakmem's aligned mappings with 64 KiB guest pages on a 4 KiB host
 * (tests/aarch64/run.sh).  A hint may go unheeded; it must never make an
 * allocation fail. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  static void* (*real)(void*, size_t, int, int, int, off_t);
  if (addr != NULL && !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))) {
    errno = EPERM;
    return MAP_FAILED;
  }
  if (real == NULL) real = (void* (*)(void*, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
  return real(addr, len, prot, flags, fd, offset);
}

/* What programs built with 64-bit file offsets call. */
void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t offset)
    __attribute__((alias("mmap")));
