/* Thread heaps: set-up, blocks handed back through the delayed list, the
 * end of a thread (abandoning what is still in use), and reclaiming what
 * exited threads left behind. */
#include "internal/internal.h"

#include <pthread.h>
#include <sched.h>
#include <stddef.h>

hak_page_t hak_page_empty;

hak_heap_t hak_heap_empty = {
    .pages_direct = {[0 ... HAK_DIRECT_COUNT - 1] = &hak_page_empty},
};

/* Heaps are never unmapped: a remote free may still read a heap pointer
 * from a page while the heap's thread is exiting.  Exited threads' heaps
 * are kept for reuse. */
#define HEAP_CHUNK_SIZE ((size_t)64 * 1024)
static pthread_mutex_t heap_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static hak_heap_t* heap_pool;
static uint8_t* heap_chunk;
static size_t heap_chunk_left;
static _Atomic(hak_heap_t*) all_heaps;

void hak_heap_register(hak_heap_t* heap) {
  hak_stat_add(metadata_bytes, sizeof(hak_heap_t));
  heap->next_all = hak_load_relaxed(&all_heaps);
  while (!atomic_compare_exchange_weak_explicit(&all_heaps, &heap->next_all, heap,
                                                memory_order_release, memory_order_relaxed)) {
  }
}

/* Every entry of the fast path's table at the empty page: each small malloc
 * then takes the slow path, which points its entry at its bin's page. */
static void direct_clear(hak_heap_t* heap) {
  for (size_t i = 0; i < HAK_DIRECT_COUNT; i++)
    hak_store_relaxed(&heap->pages_direct[i], &hak_page_empty);
}

void hak_heap_init(hak_heap_t* heap) {
  /* A reused heap: the purger may still be looking at it (at an empty
   * segment list or full queue), so the locks and the registry link are
   * kept. */
  hak_heap_pages_enter(heap);
  hak_heap_purge_lock(heap);
  memset(heap, 0, offsetof(hak_heap_t, purge_due_ms));
  hak_store_relaxed(&heap->purge_due_ms, 0);
  hak_store_relaxed(&heap->page_searches, 0);
  hak_store_relaxed(&heap->page_searches_seen, 0);
  hak_store_relaxed(&heap->purger_asks, HAK_ASK_NOTHING);
  hak_store_relaxed(&heap->emptied_due_ms, 0);
  hak_heap_purge_unlock(heap);
  hak_heap_pages_leave(heap);
  direct_clear(heap);
  heap->thread_id = hak_thread_id();
#if HAKMEM_SECURE
  heap->random = hak_os_random();
#endif
}

hak_heap_t* hak_heap_new(void) {
  pthread_mutex_lock(&heap_pool_lock);
  hak_heap_t* heap = heap_pool;
  if (heap != NULL) {
    heap_pool = heap->next_unused;
  } else {
    size_t size = hak_align_up(sizeof(hak_heap_t), 64);
    if (heap_chunk_left < size) {
      heap_chunk = hak_os_alloc_aligned(HEAP_CHUNK_SIZE, HAK_OS_PAGE_MIN, 0);
      heap_chunk_left = heap_chunk != NULL ? HEAP_CHUNK_SIZE : 0;
    }
    if (heap_chunk_left >= size) {
      heap = (hak_heap_t*)heap_chunk;
      heap_chunk += size;
      heap_chunk_left -= size;
      hak_heap_register(heap);
    }
  }
  pthread_mutex_unlock(&heap_pool_lock);
  return heap;
}

static void heap_release(hak_heap_t* heap) {
  pthread_mutex_lock(&heap_pool_lock);
  heap->next_unused = heap_pool;
  heap_pool = heap;
  pthread_mutex_unlock(&heap_pool_lock);
}

static hak_page_t* block_page(const hak_block_t* block) {
  return hak_segment_page_of(hak_ptr_segment(block), block);
}

static void delayed_push_back(hak_heap_t* heap, hak_block_t* first, hak_block_t* last) {
  hak_block_t* head = hak_load_relaxed(&heap->thread_delayed_free);
  do {
    hak_block_set_next(block_page(last), last, head);
  } while (!atomic_compare_exchange_weak_explicit(&heap->thread_delayed_free, &head, first,
                                                  memory_order_release, memory_order_relaxed));
}

/* Takes the heap's delayed list and offers each block to `take`; the
 * blocks it leaves go back on the list. */
static void delayed_drain(hak_heap_t* heap,
                          bool (*take)(hak_heap_t*, hak_page_t*, hak_block_t*)) {
  hak_block_t* block = atomic_exchange_explicit(&heap->thread_delayed_free, NULL,
                                                memory_order_acquire);
  hak_block_t* left_first = NULL;
  hak_block_t* left_last = NULL;
  while (block != NULL) {
    /* The list links blocks of any of the heap's pages, each link under
     * the keys of its own block's page. */
    hak_page_t* page = block_page(block);
    hak_block_t* next = hak_block_next(page, block);
    if (!take(heap, page, block)) {
      hak_block_set_next(page, block, left_first);
      left_first = block;
      if (left_last == NULL) left_last = block;
    }
    block = next;
  }
  if (left_first != NULL) delayed_push_back(heap, left_first, left_last);
}

/* Blocks whose remote free found their page full come here; freeing them
 * locally moves their page out of the full queue.  A block whose remote
 * free has not yet finished with its page (state still FREEING) waits for
 * a later pass: freeing it now could free the page under that thread. */
static bool free_delayed_block(hak_heap_t* heap, hak_page_t* page, hak_block_t* block) {
  (void)heap;
  if (hak_thread_free_state(hak_load_acquire(&page->xthread_free)) == HAK_DELAYED_FREEING)
    return false;
  hak_free_local_block(page, block);
  return true;
}

void hak_heap_delayed_free_all(hak_heap_t* heap) {
  delayed_drain(heap, free_delayed_block);
}

static void heap_for_each_page(hak_heap_t* heap, void (*visit)(hak_heap_t*, hak_page_t*)) {
  for (size_t bin = 0; bin < HAK_BIN_COUNT; bin++) {
    hak_page_t* page = heap->pages[bin].first;
    while (page != NULL) {
      hak_page_t* next = page->next;
      visit(heap, page);
      page = next;
    }
  }
}

static void page_stop_delayed(hak_heap_t* heap, hak_page_t* page) {
  hak_page_set_delayed(page, HAK_DELAYED_NEVER);
}

static void page_release_or_abandon(hak_heap_t* heap, hak_page_t* page) {
  hak_page_collect(page);
  if (page->used == 0) {
    hak_page_free(heap, page);
    return;
  }
  hak_page_queue_remove(heap, page);
  page->in_full = 0;
}

void hak_heap_done(hak_heap_t* heap) {
  hak_heap_pages_enter(heap);
  hak_check_heap(heap);
  /* First stop remote frees from reaching the heap, waiting for any that
   * are under way, then take in what they delivered. */
  heap_for_each_page(heap, page_stop_delayed);
  hak_heap_delayed_free_all(heap);
  heap_for_each_page(heap, page_release_or_abandon);
  while (heap->segments.first != NULL) hak_segment_abandon(heap->segments.first);
  hak_heap_default = &hak_heap_empty;
  hak_heap_pages_leave(heap);
  heap_release(heap);
}

static void page_free_if_empty(hak_heap_t* heap, hak_page_t* page) {
  hak_page_collect(page);
  if (page->used == 0) hak_page_free(heap, page);
}

size_t hak_heap_collect(hak_heap_t* heap, bool force) {
  hak_heap_delayed_free_all(heap);
  heap_for_each_page(heap, page_free_if_empty);
  size_t released = 0;
  /* A page kept in use by a few long-lived blocks can otherwise hold on to
   * all the memory of a burst of its size (up to 512 KiB on a medium page).
   * A block un-built is past the capacity: freeing it again is caught; so
   * is another thread's free of a parked one. */
  for (size_t bin = 0; bin < HAK_BIN_COUNT; bin++) {
    for (hak_page_t* page = heap->pages[bin].first; page != NULL; page = page->next)
      released += hak_page_trim(page, force);
  }
  hak_check_heap(heap);
  for (hak_segment_t* s = heap->segments.first; s != NULL; s = s->next)
    released += hak_segment_purge_free_pages(s);
  return released + hak_cache_collect(force);
}

/* The fork handlers take every lock, so that the child finds no heap
 * half-changed by a thread that did not come along. */
void hak_heap_pool_lock(void) {
  pthread_mutex_lock(&heap_pool_lock);
  for (hak_heap_t* heap = hak_load_acquire(&all_heaps); heap != NULL; heap = heap->next_all)
    hak_heap_purge_lock(heap);
}

void hak_heap_pool_unlock(void) {
  for (hak_heap_t* heap = hak_load_acquire(&all_heaps); heap != NULL; heap = heap->next_all)
    hak_heap_purge_unlock(heap);
  pthread_mutex_unlock(&heap_pool_lock);
}

/* ---- full pages that other threads emptied ------------------------------ */

/* A thread that allocates and then only waits (a main thread that hands
 * its blocks to workers and joins them) never takes back what other
 * threads free: its full pages, emptied, would stay in use as long as it
 * lives.  The purger frees them for it.  It looks only at pages in the full
 * queue, which the owner's fast paths never touch (malloc finds its pages
 * in the bin queues, and a free into a full page takes the slow path), and
 * only while the owner is not at its full queue or delayed list (the
 * handshake below).  A full page had every block in use when it became
 * full; the first block another thread frees after that goes to the heap's
 * delayed list, the others to the page's own list, which counts them.  So
 * the page is empty when its list holds all blocks in use but the one found
 * in the delayed list (a page whose blocks reached that list twice is left
 * to its owner). */
static bool full_page_empty(const hak_page_t* page) {
  uintptr_t tf = hak_load_acquire(&page->xthread_free);
  return page->in_full && hak_thread_free_state(tf) == HAK_DELAYED_NONE &&
         hak_thread_free_count(tf) + 1 == page->used;
}

/* The block goes with its page when that page is empty. */
static bool free_page_if_emptied(hak_heap_t* heap, hak_page_t* page, hak_block_t* block) {
  (void)block;
  if (!full_page_empty(page)) return false;
  hak_store_relaxed(&page->xthread_free, 0);
  page->used = 0;
  hak_page_free(heap, page);
  return true;
}

/* The purger looks this long after it is told, and only if the owner made
 * no page search meanwhile: a busy owner takes its delayed list itself, and
 * would soon use the pages again (one producer and one consumer ran 0.92x
 * as fast when the purger freed them at once). */
#define EMPTIED_WAIT_MS 20

/* Without the barrier (a kernel before 4.14, or a sandbox that forbids the
 * call) full pages are left to their owners. */
static _Atomic(bool) no_barrier;

/* Asks the purger to look at the heap EMPTIED_WAIT_MS after `now`; returns
 * when, or 0 if it is asked already (or cannot do it). */
static uint64_t emptied_ask(hak_heap_t* heap, uint64_t now) {
  if (hak_load_relaxed(&heap->emptied_due_ms) != 0 || hak_load_relaxed(&no_barrier)) return 0;
  hak_store_relaxed(&heap->emptied_searches, hak_load_relaxed(&heap->page_searches));
  hak_store_relaxed(&heap->emptied_due_ms, now + EMPTIED_WAIT_MS);
  return now + EMPTIED_WAIT_MS;
}

void hak_heap_full_page_emptied(hak_heap_t* heap) {
  uint64_t due = emptied_ask(heap, hak_os_clock_ms());
  if (due != 0) hak_purger_notify(due);
}

/* The owner's side of the handshake: a plain store, and a load that the
 * purger's barrier orders after it (the purger stores, makes every thread
 * pass a barrier, then loads): of two that arrive together, at least one
 * sees the other and steps back.  The owner waits; the purger tries later. */
void hak_heap_pages_enter(hak_heap_t* heap) {
  for (;;) {
    hak_store_relaxed(&heap->owner_at_pages, true);
    atomic_signal_fence(memory_order_seq_cst);
    if (hak_likely(!hak_load_acquire(&heap->purger_at_pages))) return;
    hak_store_relaxed(&heap->owner_at_pages, false);
    while (hak_load_acquire(&heap->purger_at_pages)) sched_yield();
  }
}

static bool purger_enter(hak_heap_t* heap) {
  atomic_store_explicit(&heap->purger_at_pages, true, memory_order_seq_cst);
  bool barrier = hak_os_barrier_all();
  if (barrier && !hak_load_acquire(&heap->owner_at_pages)) return true;
  if (!barrier) hak_store_relaxed(&no_barrier, true);
  hak_store_release(&heap->purger_at_pages, false);
  return false;
}

static pthread_mutex_t emptied_lock = PTHREAD_MUTEX_INITIALIZER;

/* An owner that searched for a page since, or is at its pages now, is
 * busy: it takes its delayed list itself on its slow paths.  Its heap is
 * looked at again later while that list holds blocks, in case it has
 * gone idle since. */
uint64_t hak_heap_free_emptied_full_pages(void) {
  uint64_t now = hak_os_clock_ms();
  uint64_t next = UINT64_MAX;
  pthread_mutex_lock(&emptied_lock);
  for (hak_heap_t* heap = hak_load_acquire(&all_heaps); heap != NULL; heap = heap->next_all) {
    uint64_t due = hak_load_relaxed(&heap->emptied_due_ms);
    if (due == 0) continue;
    if (due > now) {
      if (due < next) next = due;
      continue;
    }
    hak_store_relaxed(&heap->emptied_due_ms, 0);
    bool idle = hak_load_relaxed(&heap->page_searches) == hak_load_relaxed(&heap->emptied_searches);
    if (idle && purger_enter(heap)) {
      delayed_drain(heap, free_page_if_emptied);
      hak_store_release(&heap->purger_at_pages, false);
    } else if (hak_load_relaxed(&heap->thread_delayed_free) != NULL) {
      uint64_t again = emptied_ask(heap, now);
      if (again != 0 && again < next) next = again;
    }
  }
  pthread_mutex_unlock(&emptied_lock);
  return next;
}

void hak_heap_emptied_lock(void) {
  pthread_mutex_lock(&emptied_lock);
}

void hak_heap_emptied_unlock(void) {
  pthread_mutex_unlock(&emptied_lock);
}

/* ---- purging idle pages ---------------------------------------------------- */

void hak_heap_purge_lock(hak_heap_t* heap) {
  while (atomic_exchange_explicit(&heap->purge_lock, true, memory_order_acquire)) sched_yield();
}

void hak_heap_purge_unlock(hak_heap_t* heap) {
  atomic_store_explicit(&heap->purge_lock, false, memory_order_release);
}

static void purge_due_at(hak_heap_t* heap, uint64_t when) {
  uint64_t due = hak_load_relaxed(&heap->purge_due_ms);
  while ((due == 0 || due > when) &&
         !atomic_compare_exchange_weak_explicit(&heap->purge_due_ms, &due, when,
                                                memory_order_relaxed, memory_order_relaxed)) {
  }
}

void hak_heap_purge_later(hak_heap_t* heap, uint64_t now) {
  /* Only the first page to wait wakes the purger: no system call per page. */
  uint64_t none = 0;
  if (hak_load_relaxed(&heap->purge_due_ms) == 0 &&
      atomic_compare_exchange_strong_explicit(&heap->purge_due_ms, &none,
                                              now + hak_options.page_purge_delay_ms,
                                              memory_order_relaxed, memory_order_relaxed)) {
    hak_store_relaxed(&heap->page_searches_seen, hak_load_relaxed(&heap->page_searches));
    hak_purger_notify(now + hak_options.page_purge_delay_ms);
  }
}

/* With the heap's purge lock held, when the heap's purge falls due.  Fewer
 * page searches than one per IDLE_SEARCH_MS since the last look: the owner
 * is nearly idle, and its empty pages are worth more to the system than to
 * it, so it is asked to give them back on its next slow path (the purger
 * cannot free them itself: the page each small or medium bin keeps is
 * walked by the owner's lock-free fast paths).  A busy heap is asked to
 * sweep (page.c's retired_sweep gives back the pages of bins it no longer
 * uses) and looked at again after another delay; returns when (UINT64_MAX: no
 * need).  At one search per millisecond the soak's workers, which find
 * most blocks on the fast paths, passed for idle and gave back pages they
 * soon faulted in again (about 15 % of its memory system calls). */
#define IDLE_SEARCH_MS 50

static uint64_t heap_ask_if_idle(hak_heap_t* heap, uint64_t now) {
  uint64_t searches = hak_load_relaxed(&heap->page_searches);
  bool idle = (searches - hak_load_relaxed(&heap->page_searches_seen)) * IDLE_SEARCH_MS <
              hak_options.page_purge_delay_ms;
  hak_store_relaxed(&heap->page_searches_seen, searches);
  if (heap->segments.first == NULL) return UINT64_MAX;
  if (!idle) {
    hak_store_relaxed(&heap->purger_asks, HAK_ASK_SWEEP);
    return now + hak_options.page_purge_delay_ms;
  }
  hak_store_relaxed(&heap->purger_asks, HAK_ASK_COLLECT);
  /* Its small mallocs then go to the slow path, so that an owner whose few
   * calls all find a block on the fast path answers too: else the pages its
   * last blocks keep would hold the memory of every block freed around
   * them (a burst with a few survivors). */
  direct_clear(heap);
  return UINT64_MAX;
}

void hak_heap_collect_asked(hak_heap_t* heap) {
  hak_store_relaxed(&heap->purger_asks, HAK_ASK_NOTHING);
  hak_heap_collect(heap, false);
}

uint64_t hak_heap_purge_idle(void) {
  uint64_t now = hak_os_clock_ms();
  uint64_t next = UINT64_MAX;
  for (hak_heap_t* heap = hak_load_acquire(&all_heaps); heap != NULL; heap = heap->next_all) {
    uint64_t due = hak_load_relaxed(&heap->purge_due_ms);
    if (due == 0) continue;
    if (due > now) {
      if (due < next) next = due;
      continue;
    }
    uint64_t heap_next = UINT64_MAX;
    hak_heap_purge_lock(heap);
    hak_store_relaxed(&heap->purge_due_ms, 0);
    for (hak_segment_t* s = heap->segments.first; s != NULL; s = s->next) {
      uint64_t when = hak_segment_purge_idle(s, now);
      if (when < heap_next) heap_next = when;
    }
    /* Pages that fall due within an eighth of the delay of each other go
     * back in one pass (and, when neighbours, in one call). */
    uint64_t batch = now + hak_options.page_purge_delay_ms / 8;
    if (heap_next < batch) heap_next = batch;
    uint64_t again = heap_ask_if_idle(heap, now);
    if (again < heap_next) heap_next = again;
    hak_heap_purge_unlock(heap);
    if (heap_next != UINT64_MAX) {
      purge_due_at(heap, heap_next);
      if (heap_next < next) next = heap_next;
    }
  }
  return next;
}

bool hak_heap_reclaim_abandoned(hak_heap_t* heap) {
  hak_segment_t* segment = hak_segment_reclaim(heap);
  if (segment == NULL) return false;
  for (uint32_t i = 0; i < segment->page_count; i++) {
    hak_page_t* page = &segment->pages[i];
    if (page->in_use && hak_page_adopt(heap, page)) break; /* segment freed */
  }
  return true;
}

static void page_fix_after_fork(hak_heap_t* heap, hak_page_t* page) {
  /* A thread that no longer exists was half-way through a remote free: its
   * block is lost, but the page must not wait for it forever. */
  uintptr_t tf = hak_load_relaxed(&page->xthread_free);
  if (hak_thread_free_state(tf) != HAK_DELAYED_FREEING) return;
  hak_delayed_t state = page->in_full ? HAK_DELAYED_USE : HAK_DELAYED_NONE;
  hak_store_relaxed(&page->xthread_free, hak_thread_free_with_state(tf, state));
}

void hak_heap_after_fork_child(hak_heap_t* heap) {
  heap_for_each_page(heap, page_fix_after_fork);
}
