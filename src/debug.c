/* The debug build's invariant checks (CMake option HAKMEM_DEBUG): after
 * each slow-path step, the pages, segments and heaps it touched must add
 * up.  Each check walks what it checks, so they are far too slow for a
 * release build, where this file is empty. */
#include "internal/internal.h"

#if HAKMEM_DEBUG
#include <stdlib.h>
#include <unistd.h>

void hak_assert_fail(const char* what, const char* file, int line) {
  char number[16];
  size_t n = sizeof(number);
  do {
    number[--n] = (char)('0' + line % 10);
    line /= 10;
  } while (line > 0 && n > 0);
  const char* parts[] = {"hakmem: internal error: ", what, " (", file, ":"};
  for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
    ssize_t ignored = write(STDERR_FILENO, parts[i], strlen(parts[i]));
    (void)ignored;
  }
  ssize_t ignored = write(STDERR_FILENO, number + n, sizeof(number) - n);
  ignored = write(STDERR_FILENO, ")\n", 2);
  (void)ignored;
  abort();
}

void hak_check_page(const hak_page_t* page) {
  hak_assert(page->in_use);
  size_t built = page->capacity + hak_page_window_built(page);
  hak_assert(page->used <= built && built <= page->reserved);
  if (page->bin == HAK_BIN_HUGE) {
    hak_assert(page->capacity == 1 && page->used == 1 && page->free == NULL);
    return;
  }
  hak_assert(page->bin >= HAK_BIN_MIN && page->bin <= HAK_BIN_LARGE_MAX);
  hak_assert(page->block_size == hak_bin_block_size(page->bin));
  /* Every free block is a block the page has built, each once: the count
   * stops a cycle, and with `used` and the parked blocks it must cover the
   * blocks built (blocks other threads freed count as used until
   * collected). */
  size_t free_count = 0;
  for (const hak_block_t* b = page->free; b != NULL; b = hak_block_link(page, b)) {
    hak_assert(hak_is_block_start(page, b));
    hak_assert(++free_count <= built);
  }
  hak_assert(free_count + page->used + hak_page_parked_blocks(page) == built);
  hak_assert(!page->in_full || page->free == NULL);
}

void hak_check_segment(const hak_segment_t* segment) {
  hak_assert(hak_segment_map_contains(segment));
  hak_assert(segment->header_size < segment->segment_size);
  if (segment->kind == HAK_PAGE_HUGE) {
    hak_assert(segment->page_count == 1);
    return;
  }
  hak_assert(segment->segment_size >= HAK_SEGMENT_SIZE); /* cached ones can be bigger */
  hak_assert(segment->page_count == HAK_SEGMENT_SIZE >> segment->page_shift);
  uint32_t in_use = 0;
  for (uint32_t i = 0; i < segment->page_count; i++) {
    const hak_page_t* page = &segment->pages[i];
    bool purged = (segment->purged_pages >> i) & 1;
    hak_assert(!(page->in_use == HAK_PAGE_IN_USE && purged)); /* kept: its tail */
    if (i < hak_segment_first_page(segment)) hak_assert(page->in_use == HAK_PAGE_FREE && !purged);
    in_use += page->in_use != HAK_PAGE_FREE;
  }
  hak_assert(in_use == segment->used_pages);
  if (segment->kind != HAK_PAGE_LARGE && hak_load_relaxed(&segment->heap) != NULL)
    hak_assert(segment->in_free_list == hak_segment_has_free_page(segment));
}

static void check_queue(const hak_heap_t* heap, size_t bin) {
  const hak_page_queue_t* pq = &heap->pages[bin];
  const hak_page_t* prev = NULL;
  for (const hak_page_t* page = pq->first; page != NULL; page = page->next) {
    hak_assert(page->prev == prev);
    hak_assert(hak_page_heap(page) == heap);
    hak_assert((bin == HAK_BIN_FULL) == (page->in_full != 0));
    hak_assert(bin == HAK_BIN_FULL || page->bin == bin);
    hak_check_page(page);
    prev = page;
  }
  hak_assert(pq->last == prev);
}

void hak_check_heap(const hak_heap_t* heap) {
  hak_assert(heap->thread_id == hak_thread_id());
  for (size_t bin = 0; bin < HAK_BIN_COUNT; bin++) check_queue(heap, bin);
  /* The fast path's table points at the first page of each small bin, or
   * at the empty page (none yet, or the purger asks for a collect). */
  for (size_t i = 0; i < HAK_DIRECT_COUNT; i++) {
    const hak_page_t* direct = hak_load_relaxed(&heap->pages_direct[i]);
    hak_assert(direct == &hak_page_empty ||
               (direct != NULL && direct == heap->pages[hak_bin_of(i * 8)].first));
  }
  for (const hak_segment_t* s = heap->segments.first; s != NULL; s = s->next) {
    hak_assert(hak_load_relaxed(&s->heap) == heap);
    hak_assert(hak_load_relaxed(&s->thread_id) == heap->thread_id);
    hak_check_segment(s);
  }
}
#endif
