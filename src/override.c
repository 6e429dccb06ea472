/* The standard C allocation symbols, each a thin entry into hakmem.  No
 * dlsym, no RTLD_NEXT: every byte handed out is hakmem's own. */
#include "internal/internal.h"
#include "hakmem.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>

#define HAK_PUBLIC __attribute__((visibility("default")))

/* malloc and free each start a cache line, so that code changed elsewhere
 * in the library does not shift their fast paths across line and fetch
 * boundaries: tiny_hot moved by 8 % with nothing but such a shift
 * (docs/performance.md). */
#define HAK_HOT_ENTRY HAK_PUBLIC __attribute__((aligned(64)))

HAK_HOT_ENTRY void* malloc(size_t size) {
  return hak_malloc_inline(size);
}

HAK_HOT_ENTRY void free(void* p) {
  hak_free_inline(p);
}

/* C23's sized frees: the size is the caller's promise, not checked (a
 * wrong one is undefined behaviour there).  A program built against a libc
 * that has them must not reach that libc's free with hakmem's blocks. */
HAK_PUBLIC void free_sized(void* p, size_t size) {
  (void)size;
  hak_free(p);
}

HAK_PUBLIC void free_aligned_sized(void* p, size_t alignment, size_t size) {
  (void)alignment;
  (void)size;
  hak_free(p);
}

HAK_PUBLIC void* calloc(size_t count, size_t size) {
  return hak_calloc(count, size);
}

HAK_PUBLIC void* realloc(void* p, size_t size) {
  return hak_realloc(p, size);
}

HAK_PUBLIC void* reallocarray(void* p, size_t count, size_t size) {
  return hak_reallocarray(p, count, size);
}

HAK_PUBLIC int posix_memalign(void** out, size_t alignment, size_t size) {
  return hak_posix_memalign(out, alignment, size);
}

HAK_PUBLIC void* aligned_alloc(size_t alignment, size_t size) {
  return hak_aligned_alloc(alignment, size);
}

HAK_PUBLIC void* memalign(size_t alignment, size_t size) {
  return hak_memalign(alignment, size);
}

HAK_PUBLIC void* valloc(size_t size) {
  return hak_valloc(size);
}

HAK_PUBLIC void* pvalloc(size_t size) {
  return hak_pvalloc(size);
}

HAK_PUBLIC size_t malloc_usable_size(void* p) {
  return hak_usable_size(p);
}

/* glibc's introspection calls report hakmem's own figures. */
HAK_PUBLIC void malloc_stats(void) {
  hak_stats_write_stderr();
}

HAK_PUBLIC struct mallinfo2 mallinfo2(void) {
  hak_mallinfo_t m = hak_stats_mallinfo();
  return (struct mallinfo2){m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd,
                            m.usmblks, m.fsmblks, m.uordblks, m.fordblks, m.keepcost};
}

/* The old interface: int fields, saturated rather than wrapped. */
HAK_PUBLIC struct mallinfo mallinfo(void) {
  hak_mallinfo_t m = hak_stats_mallinfo();
  size_t f[] = {m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd,
                m.usmblks, m.fsmblks, m.uordblks, m.fordblks, m.keepcost};
  int v[10];
  for (int i = 0; i < 10; i++) v[i] = f[i] > INT_MAX ? INT_MAX : (int)f[i];
  return (struct mallinfo){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]};
}

/* pad is ignored: hakmem keeps no top-of-heap to leave padding in. */
HAK_PUBLIC int malloc_trim(size_t pad) {
  return hak_collect(true) > 0;
}

HAK_PUBLIC int malloc_info(int options, FILE* out) {
  if (options != 0) {
    errno = EINVAL;
    return -1;
  }
  return hak_stats_xml(out);
}

/* Other names for the same functions: the legacy cfree, and glibc's
 * internal names, used by some programs and by glibc itself. */
#define HAK_ALIAS(name) HAK_PUBLIC __attribute__((alias(#name)))
#if defined(__GNUC__) && !defined(__clang__)
/* The aliases need not repeat the attributes glibc's headers give calloc. */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
#endif
void cfree(void* p) HAK_ALIAS(free);
void* __libc_malloc(size_t size) HAK_ALIAS(malloc);
void __libc_free(void* p) HAK_ALIAS(free);
void* __libc_calloc(size_t count, size_t size) HAK_ALIAS(calloc);
void* __libc_realloc(void* p, size_t size) HAK_ALIAS(realloc);
void* __libc_memalign(size_t alignment, size_t size) HAK_ALIAS(memalign);
void* __libc_valloc(size_t size) HAK_ALIAS(valloc);
void* __libc_pvalloc(size_t size) HAK_ALIAS(pvalloc);
