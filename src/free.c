/* Freeing: the local and remote paths behind the inline fast path, huge
 * blocks, and the answer to pointers that are not ours. */
#include "internal/internal.h"
#include "hakmem.h"

hak_page_t* hak_page_of_block(const void* p) {
  hak_segment_t* segment = hak_ptr_segment(p);
  if (!hak_segment_map_contains(segment)) return NULL;
  hak_page_t* page = hak_segment_page_of(segment, p);
  return hak_is_block_start(page, p) ? page : NULL;
}

/* An aligned allocation returns the first address of its block aligned to
 * what it was asked for, so p must be the first address of its block
 * aligned to p's own lowest set bit, and the word before it must hold the
 * block's mark (hak_aligned_mark): any other interior pointer is invalid.
 * So is any pointer into a block the page has not built (whose memory may
 * hold an old mark), or into a page with no block size: a free page, or a
 * huge one (whose block is never handed out from inside). */
hak_block_t* hak_aligned_block_of(hak_segment_t* segment, const hak_page_t* page, const void* p) {
  if (!hak_load_relaxed(&segment->has_aligned) || page->block_size == 0 ||
      (const uint8_t*)p < page->start)
    return NULL;
  size_t index = (size_t)((const uint8_t*)p - page->start) / page->block_size;
  if (!hak_page_block_built(page, index)) return NULL;
  uintptr_t block = (uintptr_t)page->start + index * page->block_size;
  uintptr_t lowest = (uintptr_t)p & -(uintptr_t)p;
  if (hak_align_up(block, lowest) != (uintptr_t)p) return NULL;
  /* p is at least 128-byte aligned here, and past the block's start. */
  if (((const uintptr_t*)p)[-1] != hak_aligned_mark(block)) return NULL;
  return (hak_block_t*)block;
}

void hak_free_interior(void* p) {
  hak_page_t* page;
  hak_block_t* block = hak_block_of(p, &page);
  if (block == NULL) {
    hak_error("free(): invalid pointer", p);
    return;
  }
  hak_free_block(hak_ptr_segment(block), page, block);
}

#if HAKMEM_SECURE
hak_block_t* hak_free_list_corrupt(const void* block) {
  hak_error("heap corruption: a free block was overwritten", block);
  return NULL;
}

void* hak_page_pop_unsealed(hak_page_t* page) {
  hak_free_list_corrupt(page->free);
  return hak_page_take(page, page->free, NULL);
}
#endif

void hak_free_local_block(hak_page_t* page, hak_block_t* block) {
  hak_page_push(page, block);
  if (page->in_full) hak_page_unfull(page);
  if (page->used == 0) hak_page_retire(page);
}

/* The owner's free past the quick one: onto the page's list, and the page
 * out of the full queue or retired as need be.  The purger's request is
 * taken here too: a nearly idle thread may never search for a page, but its
 * frees come this way when a page empties.  That, and a full page leaving
 * the full queue, which the purger may be reading, happen between
 * hak_heap_pages_enter and _leave. */
static inline void free_local(hak_segment_t* segment, hak_page_t* page, hak_block_t* block) {
  hak_heap_t* heap = hak_load_relaxed(&segment->heap); /* the segment may go */
  bool asked = hak_heap_purger_asks(heap) == HAK_ASK_COLLECT;
  bool at_pages = page->in_full || asked;
  if (at_pages) hak_heap_pages_enter(heap);
  hak_free_local_block(page, block);
  if (hak_unlikely(asked)) hak_heap_collect_asked(heap);
  if (at_pages) hak_heap_pages_leave(heap);
}

void hak_free_last(hak_block_t* block) {
  hak_segment_t* segment = hak_ptr_segment(block);
  hak_page_t* page = hak_segment_page_of(segment, block);
  hak_hot_stat(free_calls, 1);
  hak_hot_stat(bin_frees[page->bin], 1);
  if (page->used == 0 || hak_block_looks_free(page, block)) {
    hak_free_generic(segment, page, block);
    return;
  }
  hak_track_free(block);
  free_local(segment, page, block);
  hak_purger_poll();
}

/* Another thread's page: push onto its thread_free list with one CAS.  If
 * the page is full, hand the block to the owner heap's delayed list
 * instead, so the owner learns the page has room again. */
static void free_remote(hak_segment_t* segment, hak_page_t* page, hak_block_t* block) {
  hak_hot_stat(free_remote, 1);
  /* Read while the block is still in use: once it is pushed, the owner may
   * free the page, and the segment with it. */
  uint32_t reserved = page->reserved;
  hak_heap_t* owner = hak_load_acquire(&segment->heap);
  uintptr_t tf = hak_load_relaxed(&page->xthread_free);
  bool to_heap;
  uintptr_t desired;
  do {
    hak_delayed_t state = hak_thread_free_state(tf);
    to_heap = state == HAK_DELAYED_USE;
    if (to_heap) {
      desired = hak_thread_free_with_state(tf, HAK_DELAYED_FREEING);
    } else {
      hak_block_set_next(page, block, hak_thread_free_list(tf));
      desired = hak_thread_free_push(tf, block);
    }
  } while (!atomic_compare_exchange_weak_explicit(&page->xthread_free, &tf, desired,
                                                  memory_order_release, memory_order_relaxed));
  if (!to_heap) {
    /* All blocks but the one the heap was given: if the page was full, it
     * is empty now.  (A heap is never unmapped, and telling one that has
     * since gone to another thread costs the purger a look.) */
    if (hak_thread_free_state(desired) == HAK_DELAYED_NONE &&
        hak_thread_free_count(desired) + 1 == reserved && owner != NULL)
      hak_heap_full_page_emptied(owner);
    return;
  }

  /* While the state says FREEING the owner cannot abandon its heap. */
  hak_heap_t* heap = hak_load_acquire(&segment->heap);
  hak_block_t* head = hak_load_relaxed(&heap->thread_delayed_free);
  do {
    hak_block_set_next(page, block, head);
  } while (!atomic_compare_exchange_weak_explicit(&heap->thread_delayed_free, &head, block,
                                                  memory_order_release, memory_order_relaxed));
  tf = hak_load_relaxed(&page->xthread_free);
  while (!atomic_compare_exchange_weak_explicit(&page->xthread_free, &tf,
                                                hak_thread_free_with_state(tf, HAK_DELAYED_NONE),
                                                memory_order_release, memory_order_relaxed)) {
  }
}

void hak_free_generic(hak_segment_t* segment, hak_page_t* page, hak_block_t* block) {
  if (segment->kind == HAK_PAGE_HUGE) {
    if (!hak_segment_huge_claim(segment)) {
      hak_error("free(): double free", block);
      return;
    }
    hak_track_free(block);
    hak_segment_huge_free(segment);
    hak_purger_poll();
    return;
  }
  if (hak_block_known_free(segment, page, block)) {
    hak_error("free(): double free", block);
    return;
  }
  hak_track_free(block);
  if (hak_is_owner(segment)) free_local(segment, page, block);
  else free_remote(segment, page, block);
  hak_purger_poll();
}

#if HAKMEM_SECURE
/* The owner's free of a block of its page's open window.  Not inlined, so
 * that hak_free_slow saves no registers for the call. */
static hak_noinline void free_window_block(hak_segment_t* segment, hak_page_t* page,
                                           hak_block_t* block) {
  hak_page_window_return(page);
  hak_free_block(segment, page, block);
}
#endif

void hak_free_slow(void* p) {
  hak_segment_t* segment = hak_ptr_segment(p);
  hak_page_t* page = hak_segment_page_of(segment, p);
  uint64_t index = hak_block_index(page, p);
  if (hak_unlikely(!hak_page_block_built(page, index))) {
    hak_free_interior(p);
    return;
  }
#if HAKMEM_SECURE
  if (index >= hak_page_capacity(page) && hak_is_owner(segment)) {
    free_window_block(segment, page, (hak_block_t*)p);
    return;
  }
#endif
  hak_free_block(segment, page, (hak_block_t*)p);
}

void hak_free(void* p) {
  hak_free_inline(p);
}
