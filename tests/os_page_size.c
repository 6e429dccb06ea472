/* A kernel with bigger pages (EMULATED_PAGE_SIZE bytes: 16 or 64 KiB, as
 * aarch64 distributions run) seen by a process on a kernel with 4 KiB ones:
 * loaded with LD_PRELOAD ahead of libhakmem.so (tests/CMakeLists.txt), it
 * makes getauxval(AT_PAGESZ), sysconf(_SC_PAGESIZE) and getpagesize() say
 * that size and mmap hand out mappings of whole pages on page boundaries.
 * A memory call from libhakmem that such a kernel would refuse (an address
 * inside a page: EINVAL) or stretch (a length that ends inside a page,
 * which it rounds up over memory the caller did not name) aborts the
 * process with one line naming the call.  The program's own calls get what
 * the kernel would do. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void fail(const char* line, int n) {
  if (write(STDERR_FILENO, line, (size_t)n) < 0) abort();
  abort();
}

static uintptr_t page_size(void) {
  static uintptr_t size;
  if (size == 0) {
    const char* value = getenv("EMULATED_PAGE_SIZE");
    size = value != NULL ? strtoul(value, NULL, 0) : 0;
    if (size < 4096 || (size & (size - 1)) != 0) {
      static const char line[] = "os_page_size: EMULATED_PAGE_SIZE must be a power of two >= 4096\n";
      fail(line, (int)sizeof line - 1);
    }
  }
  return size;
}

static uintptr_t round_up(uintptr_t x) {
  return (x + page_size() - 1) & ~(page_size() - 1);
}

static bool from_hakmem(const void* caller) {
  Dl_info info;
  return dladdr(caller, &info) != 0 && info.dli_fname != NULL &&
         strstr(info.dli_fname, "libhakmem") != NULL;
}

/* Whether the kernel takes a call on [addr, addr+len) (rounding len up);
 * from hakmem, only whole pages are taken, anything else aborts. */
static bool takes(const char* call, void* addr, size_t len, const void* caller) {
  if ((uintptr_t)addr % page_size() == 0 && len % page_size() == 0) return true;
  if (from_hakmem(caller)) {
    char line[128];
    int n = snprintf(line, sizeof line, "os_page_size: %s(%p, %zu) is not in whole %zu KiB pages\n",
                     call, addr, len, (size_t)(page_size() >> 10));
    fail(line, n);
  }
  if ((uintptr_t)addr % page_size() == 0) return true;
  errno = EINVAL;
  return false;
}
#define TAKES(call, addr, len) takes(call, addr, len, __builtin_return_address(0))

static void* raw_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  return (void*)syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
}

static int raw_munmap(void* addr, size_t len) {
  return (int)syscall(SYS_munmap, addr, len);
}

unsigned long getauxval(unsigned long type) {
  static unsigned long (*real)(unsigned long);
  if (type == AT_PAGESZ) return page_size();
  if (real == NULL) real = (unsigned long (*)(unsigned long))dlsym(RTLD_NEXT, "getauxval");
  return real(type);
}

long sysconf(int name) {
  static long (*real)(int);
  if (name == _SC_PAGESIZE) return (long)page_size();
  if (real == NULL) real = (long (*)(int))dlsym(RTLD_NEXT, "sysconf");
  return real(name);
}

int getpagesize(void) {
  return (int)page_size();
}

/* A page-aligned place for len bytes: reserved with room to spare, the
 * spare given back. */
static void* aligned_place(size_t len) {
  uint8_t* reserved = raw_mmap(NULL, len + page_size(), PROT_NONE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return MAP_FAILED;
  uint8_t* place = (uint8_t*)round_up((uintptr_t)reserved);
  raw_munmap(reserved, (size_t)(place - reserved));
  raw_munmap(place + len, (size_t)(reserved + page_size() - place));
  return place;
}

void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  len = round_up(len);
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    if (!TAKES("mmap", addr, len)) return MAP_FAILED;
    return raw_mmap(addr, len, prot, flags, fd, offset);
  }
  if (addr != NULL) {
    void* placed = raw_mmap(addr, len, prot, flags, fd, offset);
    if (placed == MAP_FAILED || (uintptr_t)placed % page_size() == 0) return placed;
    raw_munmap(placed, len);
  }
  void* place = aligned_place(len);
  if (place == MAP_FAILED) return MAP_FAILED;
  return raw_mmap(place, len, prot, flags | MAP_FIXED, fd, offset);
}

/* What programs built with 64-bit file offsets call (Python, redis). */
void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t offset)
    __attribute__((alias("mmap")));

int munmap(void* addr, size_t len) {
  if (!TAKES("munmap", addr, len)) return -1;
  return raw_munmap(addr, round_up(len));
}

int madvise(void* addr, size_t len, int advice) {
  if (!TAKES("madvise", addr, len)) return -1;
  return (int)syscall(SYS_madvise, addr, round_up(len), advice);
}

int mprotect(void* addr, size_t len, int prot) {
  if (!TAKES("mprotect", addr, len)) return -1;
  return (int)syscall(SYS_mprotect, addr, round_up(len), prot);
}

void* mremap(void* old, size_t old_len, size_t new_len, int flags, ...) {
  if (!TAKES("mremap", old, old_len) || !TAKES("mremap", old, new_len)) return MAP_FAILED;
  old_len = round_up(old_len);
  new_len = round_up(new_len);
  void* to = NULL;
  if (flags & MREMAP_FIXED) {
    va_list args;
    va_start(args, flags);
    to = va_arg(args, void*);
    va_end(args);
    if (!TAKES("mremap", to, new_len)) return MAP_FAILED;
  } else if (flags & MREMAP_MAYMOVE) {
    void* grown = (void*)syscall(SYS_mremap, old, old_len, new_len, 0, NULL);
    if (grown != MAP_FAILED) return grown;
    to = aligned_place(new_len);
    if (to == MAP_FAILED) return MAP_FAILED;
    flags |= MREMAP_FIXED;
  }
  return (void*)syscall(SYS_mremap, old, old_len, new_len, flags, to);
}
