/* Allocation entry points: the slow path behind the inline fast path,
 * calloc, realloc, the aligned family, usable size. */
#include "internal/internal.h"
#include "hakmem.h"

#include <errno.h>

static void* out_of_memory(void) {
  errno = ENOMEM;
  return NULL;
}

static void* huge_alloc(size_t size, size_t alignment, bool zero) {
  hak_page_t* page = hak_segment_huge_alloc(size, alignment, zero);
  if (page == NULL) return out_of_memory();
  hak_hot_stat(bin_allocs[HAK_BIN_HUGE], 1);
  return page->start;
}

void* hak_malloc_generic(size_t size, hak_heap_t* heap) {
  hak_hot_stat(malloc_slow, 1);
  if (hak_unlikely(heap == &hak_heap_empty)) {
    heap = hak_thread_heap();
    if (heap == NULL) return out_of_memory();
  }
  hak_purger_poll();
  if (size > HAK_LARGE_OBJ_MAX) {
    if (size > HAK_MAX_REQUEST) return out_of_memory();
    return huge_alloc(size, 0, false);
  }
  hak_heap_pages_enter(heap);
  if (hak_load_relaxed(&heap->thread_delayed_free) != NULL) hak_heap_delayed_free_all(heap);
  hak_page_t* page = hak_page_find(heap, size);
  hak_heap_pages_leave(heap);
  if (page == NULL) return out_of_memory();
  /* The purger may have pointed the size's entry at the empty page
   * (heap.c, heap_ask_if_idle): it points at the page found again. */
  if (size <= HAK_SMALL_SIZE_MAX) hak_store_relaxed(&heap->pages_direct[(size + 7) >> 3], page);
  /* The page found heads its bin's queue: the purger leaves it alone. */
  return hak_page_pop(page);
}

void* hak_malloc(size_t size) {
  return hak_malloc_inline(size);
}

void* hak_calloc(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) return out_of_memory();
  if (total > HAK_LARGE_OBJ_MAX) {
    if (total > HAK_MAX_REQUEST) return out_of_memory();
    return huge_alloc(total, 0, true);
  }
  void* p = hak_malloc_inline(total);
  if (p != NULL) memset(p, 0, total);
  return p;
}

/* A block big enough to hold size bytes from its first address aligned to
 * alignment, which is returned.  When that is not the block's start, the
 * word before it is marked and the segment learns to take such pointers
 * back. */
static void* malloc_inside_block(size_t size, size_t alignment) {
  uint8_t* block = hak_malloc_inline(size + alignment - HAK_COLOR_SLACK);
  if (block == NULL) return NULL;
  uint8_t* p = (uint8_t*)hak_align_up((uintptr_t)block, alignment);
  if (p != block) {
    ((uintptr_t*)p)[-1] = hak_aligned_mark((uintptr_t)block);
    hak_segment_t* segment = hak_ptr_segment(block);
    if (!hak_load_relaxed(&segment->has_aligned)) hak_store_relaxed(&segment->has_aligned, true);
  }
  return p;
}

/* Uncolored size classes give the alignment by themselves: their block
 * sizes are multiples of the alignment, and page starts are OS-page aligned.
 * Colored blocks are only HAK_COLOR_SLACK aligned. */
static void* malloc_aligned(size_t size, size_t alignment) {
  if (alignment <= 8 || (alignment <= 16 && size > 8)) return hak_malloc_inline(size);
  if (size > HAK_MAX_REQUEST) return out_of_memory();
  if (alignment <= HAK_OS_PAGE_MIN) {
    size_t rounded = hak_align_up(size > alignment ? size : alignment, alignment);
    if (rounded <= HAK_COLOR_MIN || (alignment <= HAK_COLOR_SLACK && rounded <= HAK_LARGE_OBJ_MAX))
      return hak_malloc_inline(rounded);
    if (size + alignment - HAK_COLOR_SLACK <= HAK_LARGE_OBJ_MAX)
      return malloc_inside_block(size, alignment);
  }
  return huge_alloc(size, alignment, false);
}

void* hak_aligned_alloc(size_t alignment, size_t size) {
  if (!hak_is_power_of_two(alignment)) {
    errno = EINVAL;
    return NULL;
  }
  return malloc_aligned(size, alignment);
}

int hak_posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment < sizeof(void*) || !hak_is_power_of_two(alignment)) return EINVAL;
  int saved = errno;
  void* p = malloc_aligned(size, alignment);
  errno = saved;
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}

void* hak_memalign(size_t alignment, size_t size) {
  /* glibc's rule: a non-power-of-two alignment is rounded up to one. */
  if (!hak_is_power_of_two(alignment)) {
    if (alignment > ((size_t)1 << 62)) return out_of_memory();
    size_t p2 = 1;
    while (p2 < alignment) p2 <<= 1;
    alignment = p2;
  }
  return malloc_aligned(size, alignment);
}

void* hak_valloc(size_t size) {
  return malloc_aligned(size, hak_os_page_size());
}

void* hak_pvalloc(size_t size) {
  if (size > HAK_MAX_REQUEST) return out_of_memory();
  size_t rounded = hak_os_page_round(size == 0 ? 1 : size);
  return malloc_aligned(rounded, hak_os_page_size());
}

/* A huge page's one block runs to the end of its segment. */
static size_t page_usable_size(const hak_page_t* page) {
  if (page->bin != HAK_BIN_HUGE) return page->block_size;
  hak_segment_t* segment = hak_ptr_segment(page);
  return segment->segment_size - (size_t)(page->start - (uint8_t*)segment);
}

/* From p to the end of its block. */
static size_t usable_from(const hak_page_t* page, const hak_block_t* block, const void* p) {
  return page_usable_size(page) - (size_t)((const uint8_t*)p - (const uint8_t*)block);
}

size_t hak_usable_size(const void* p) {
  hak_page_t* page;
  hak_block_t* block = hak_block_of(p, &page);
  return block != NULL ? usable_from(page, block, p) : 0;
}

size_t hak_collect(bool force) {
  hak_heap_t* heap = hak_thread_heap();
  if (heap == NULL) return hak_cache_collect(force);
  hak_heap_pages_enter(heap);
  size_t released = hak_heap_collect(heap, force);
  hak_heap_pages_leave(heap);
  return released;
}

bool hak_owns(const void* p) {
  uintptr_t chunk = (uintptr_t)p & ~(uintptr_t)HAK_SEGMENT_MASK;
  if (hak_segment_map_contains((void*)chunk) || hak_page_of_block(p) != NULL) return true;
  /* A huge block starts past its segment's header, so its first 4 MiB
   * reach into the next chunk of address space. */
  hak_segment_t* before = (hak_segment_t*)(chunk - HAK_SEGMENT_SIZE);
  if (chunk < HAK_SEGMENT_SIZE || !hak_segment_map_contains(before) || before->kind != HAK_PAGE_HUGE)
    return false;
  const uint8_t* start = before->pages[0].start;
  const uint8_t* end = (const uint8_t*)before + before->segment_size;
  return (const uint8_t*)p < start + HAK_SEGMENT_SIZE && (const uint8_t*)p < end;
}

/* p's bytes (usable of them) moved to a new block of size bytes. */
static hak_noinline void* realloc_by_copy(hak_segment_t* segment, hak_page_t* page,
                                          hak_block_t* block, void* p, size_t usable, size_t size) {
  void* q = hak_malloc_inline(size);
  if (q == NULL) return NULL;
  memcpy(q, p, usable < size ? usable : size);
  hak_free_block(segment, page, block);
  return q;
}

/* A huge block keeps its mapping and moves with mremap: no copy. */
static hak_noinline void* realloc_huge(hak_segment_t* segment, hak_page_t* page,
                                       hak_block_t* block, void* p, size_t usable, size_t size) {
  size_t whole = page_usable_size(page);
  if (size <= whole && whole - size < HAK_SEGMENT_SIZE) return p;
  hak_page_t* resized = hak_segment_huge_resize(page, size);
  if (resized != NULL) return resized->start;
  if (size <= whole) return p;
  return realloc_by_copy(segment, page, block, p, usable, size);
}

static hak_cold void* realloc_invalid(const void* p, bool freed) {
  hak_error(freed ? "realloc(): pointer already freed" : "realloc(): invalid pointer", p);
  errno = EINVAL;
  return NULL;
}

/* The size a block of usable bytes that no longer holds size moves to.  A
 * small growth asks for a quarter more than the block had, so that a
 * string grown a few bytes at a time is copied about half as often
 * (realloc_small: 1.23x faster, docs/performance.md).  The classes are at
 * most 25 % apart, so the new block is at most one class above the one
 * size alone would take. */
static size_t realloc_target(size_t usable, size_t size) {
  size_t roomy = usable + usable / 4;
  return size > usable && size < roomy ? roomy : size;
}

/* realloc of p, which lies in block of page (p is the block itself unless
 * an aligned allocation returned it). */
static hak_noinline void* realloc_block(hak_segment_t* segment, hak_page_t* page,
                                        hak_block_t* block, void* p, size_t size) {
  if (hak_unlikely(hak_block_known_free(segment, page, block))) return realloc_invalid(p, true);
  if (size == 0) {
    hak_free_block(segment, page, block);
    return NULL;
  }
  if (size > HAK_MAX_REQUEST) return out_of_memory();
  size_t usable = usable_from(page, block, p);
  if (page->bin == HAK_BIN_HUGE && size > HAK_LARGE_OBJ_MAX)
    return realloc_huge(segment, page, block, p, usable, size);
  if (size <= usable && size >= usable / 2) return p;
  return realloc_by_copy(segment, page, block, p, usable, realloc_target(usable, size));
}

/* realloc of a p that is not a block start: an aligned allocation's, or
 * an invalid pointer. */
static hak_noinline void* realloc_interior(void* p, size_t size) {
  hak_page_t* page;
  hak_block_t* block = hak_block_of(p, &page);
  if (block == NULL) return realloc_invalid(p, false);
  return realloc_block(hak_ptr_segment(block), page, block, p, size);
}

/* realloc of a p of hakmem's segments, when hak_realloc's quick answer
 * does not do. */
static hak_noinline void* realloc_checked(void* p, size_t size) {
  hak_segment_t* segment = hak_ptr_segment(p);
  hak_page_t* page = hak_segment_page_of(segment, p);
  if (hak_unlikely(!hak_is_block_start(page, p))) return realloc_interior(p, size);
  return realloc_block(segment, page, (hak_block_t*)p, p, size);
}

/* The usual call, the owner's realloc of a block start that still fits,
 * returns at once, with no call and no register saved; everything else is
 * realloc_checked's.  The tests are realloc_block's for a block start
 * (usable size = block size, 0 in a huge page), hak_is_block_start's as
 * the owner makes it (the capacity read plainly; the secure build's open
 * window aside) and hak_block_known_free's for the owner, written out:
 * through shared helpers gcc adds moves here. */
void* hak_realloc(void* p, size_t size) {
  if (p == NULL) return hak_malloc_inline(size);
  hak_segment_t* segment = hak_ptr_segment(p);
  if (hak_unlikely(!hak_segment_map_contains(segment))) return realloc_invalid(p, false);
  hak_page_t* page = hak_segment_page_of(segment, p);
  size_t block_size = page->block_size;
  if (hak_likely(size - 1 < block_size && size >= block_size / 2 && hak_is_owner(segment) &&
                 hak_block_index(page, p) < page->capacity && page->used != 0 &&
                 !hak_block_looks_free(page, (hak_block_t*)p)))
    return p;
  return realloc_checked(p, size);
}

void* hak_reallocarray(void* p, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) return out_of_memory();
  return hak_realloc(p, total);
}
