/* The only file that makes memory system calls.  Everything above it asks
 * for aligned, zeroed, page-granular memory and gives it back. */
#define _GNU_SOURCE
#include "internal/internal.h"

#include <errno.h>
#include <sys/mman.h>

size_t hak_os_page_round(size_t size) {
  return hak_align_up(size, HAK_OS_PAGE_SIZE);
}

static void* os_mmap(size_t size, int prot) {
  atomic_fetch_add_explicit(&hak_os_stats.mmap_calls, 1, memory_order_relaxed);
  void* p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  hak_stats_mapped(size);
  return p;
}

static void os_munmap(void* p, size_t size) {
  if (size == 0) return;
  atomic_fetch_add_explicit(&hak_os_stats.munmap_calls, 1, memory_order_relaxed);
  int saved = errno;
  if (munmap(p, size) == 0) hak_stats_unmapped(size);
  errno = saved;
}

/* Maps size bytes (plus slack when the placement needs it) and trims the
 * slack so that (result + offset) is a multiple of alignment. */
static void* os_map_aligned(size_t size, size_t alignment, size_t offset, int prot) {
  size = hak_os_page_round(size);
  if (alignment <= HAK_OS_PAGE_SIZE && offset % HAK_OS_PAGE_SIZE == 0) return os_mmap(size, prot);
  if (size + alignment < size) return NULL;
  /* The kernel places a new mapping just below the previous one, so when
   * sizes are multiples of the alignment the plain call is usually aligned
   * already: try it before paying for slack and trimming. */
  uint8_t* plain = os_mmap(size, prot);
  if (plain == NULL) return NULL;
  if (((uintptr_t)plain + offset) % alignment == 0) return plain;
  os_munmap(plain, size);
  uint8_t* base = os_mmap(size + alignment, prot);
  if (base == NULL) return NULL;
  uintptr_t target = hak_align_up((uintptr_t)base + offset, alignment) - offset;
  uint8_t* p = (uint8_t*)target;
  os_munmap(base, (size_t)(p - base));
  os_munmap(p + size, (size_t)(base + size + alignment - (p + size)));
  return p;
}

void* hak_os_alloc_aligned(size_t size, size_t alignment, size_t offset) {
  return os_map_aligned(size, alignment, offset, PROT_READ | PROT_WRITE);
}

void hak_os_free(void* p, size_t size) {
  os_munmap(p, hak_os_page_round(size));
}

void* hak_os_remap(void* p, size_t old_size, size_t new_size, size_t alignment) {
  old_size = hak_os_page_round(old_size);
  new_size = hak_os_page_round(new_size);
  int saved = errno;
  atomic_fetch_add_explicit(&hak_os_stats.mremap_calls, 1, memory_order_relaxed);
  if (mremap(p, old_size, new_size, 0) != MAP_FAILED) {
    hak_stats_unmapped(old_size);
    hak_stats_mapped(new_size);
    errno = saved;
    return p;
  }
  /* Cannot grow in place: reserve an aligned range and move the pages
   * there without copying them. */
  void* target = os_map_aligned(new_size, alignment, 0, PROT_NONE);
  if (target == NULL) {
    errno = saved;
    return NULL;
  }
  atomic_fetch_add_explicit(&hak_os_stats.mremap_calls, 1, memory_order_relaxed);
  void* moved = mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  errno = saved;
  if (moved == MAP_FAILED) {
    os_munmap(target, new_size);
    return NULL;
  }
  hak_stats_unmapped(old_size);
  return moved;
}
