/* Segments: aligned regions that hold pages and their metadata, the map of
 * which segments are ours, and the list of segments abandoned by threads
 * that exited. */
#include "internal/internal.h"

#include <pthread.h>

hak_segment_map_t hak_segment_map;

static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static hak_segment_list_t abandoned;
static _Atomic(size_t) abandoned_count;

/* ---- the segment map ------------------------------------------------------ */

/* The map is made writable a unit at a time: 64 KiB, whole pages of any
 * page size up to 64 KiB, covering 256 GiB of address space. */
#define MAP_UNIT ((size_t)64 << 10)
#define MAP_UNITS (HAK_SEGMENT_MAP_SIZE / MAP_UNIT)
static _Atomic(uint64_t) map_units_writable[MAP_UNITS / 64];

/* Reserves the map.  Two threads may race to: the loser gives its
 * reservation back. */
static bool segment_map_reserve(void) {
  _Atomic(uint8_t)* bytes = hak_os_reserve_zeros(HAK_SEGMENT_MAP_SIZE);
  if (bytes == NULL) return false;
  _Atomic(uint8_t)* none = NULL;
  if (!atomic_compare_exchange_strong(&hak_segment_map.bytes, &none, bytes))
    hak_os_unreserve(bytes, HAK_SEGMENT_MAP_SIZE);
  atomic_store_explicit(&hak_segment_map.limit, HAK_SEGMENT_MAP_SIZE, memory_order_release);
  return true;
}

/* Whether the map is reserved (or now is): before the first segment is
 * mapped, or it would take the place under that segment where the next
 * one goes (hak_os_alloc_aligned). */
static bool segment_map_reserved(void) {
  return hak_load_acquire(&hak_segment_map.limit) != 0 || segment_map_reserve();
}

/* Whether segment can be registered: the unit of the map holding its byte
 * is writable.  False, and the segment must not be used, when the system
 * refuses or the segment lies beyond the map. */
static bool segment_map_ready(const hak_segment_t* segment) {
  uintptr_t index = (uintptr_t)segment >> HAK_SEGMENT_SHIFT;
  if (index >= HAK_SEGMENT_MAP_SIZE) return false;
  size_t unit = index / MAP_UNIT;
  uint64_t bit = (uint64_t)1 << (unit % 64);
  if (hak_load_acquire(&map_units_writable[unit / 64]) & bit) return true;
  /* Another thread may be making it writable too: both calls succeed. */
  uint8_t* from = (uint8_t*)hak_load_relaxed(&hak_segment_map.bytes) + unit * MAP_UNIT;
  if (!hak_os_make_writable(from, MAP_UNIT)) return false;
  atomic_fetch_or_explicit(&map_units_writable[unit / 64], bit, memory_order_release);
  return true;
}

/* Marks a segment ours or not; one marked ours passed segment_map_ready. */
static void segment_map_set(hak_segment_t* segment, bool present) {
  uintptr_t index = (uintptr_t)segment >> HAK_SEGMENT_SHIFT;
  atomic_store_explicit(&hak_load_relaxed(&hak_segment_map.bytes)[index], present,
                        memory_order_release);
}

/* ---- intrusive lists ------------------------------------------------------ */

static void list_push(hak_segment_list_t* list, hak_segment_t* s) {
  s->prev = NULL;
  s->next = list->first;
  if (list->first != NULL) list->first->prev = s;
  else list->last = s;
  list->first = s;
}

static void list_append(hak_segment_list_t* list, hak_segment_t* s) {
  s->next = NULL;
  s->prev = list->last;
  if (list->last != NULL) list->last->next = s;
  else list->first = s;
  list->last = s;
}

static void list_remove(hak_segment_list_t* list, hak_segment_t* s) {
  if (s->prev != NULL) s->prev->next = s->next;
  else list->first = s->next;
  if (s->next != NULL) s->next->prev = s->prev;
  else list->last = s->prev;
  s->next = s->prev = NULL;
}

static hak_segment_list_t* free_list_of(hak_heap_t* heap, hak_page_kind_t kind) {
  if (kind == HAK_PAGE_SMALL) return &heap->small_free;
  if (kind == HAK_PAGE_MEDIUM) return &heap->medium_free;
  return NULL;
}

static void free_list_insert(hak_segment_t* s) {
  hak_segment_list_t* list = free_list_of(hak_load_relaxed(&s->heap), s->kind);
  if (list == NULL || s->in_free_list) return;
  s->free_prev = NULL;
  s->free_next = list->first;
  if (list->first != NULL) list->first->free_prev = s;
  else list->last = s;
  list->first = s;
  s->in_free_list = true;
}

static void free_list_remove(hak_segment_t* s) {
  if (!s->in_free_list) return;
  hak_segment_list_t* list = free_list_of(hak_load_relaxed(&s->heap), s->kind);
  if (s->free_prev != NULL) s->free_prev->free_next = s->free_next;
  else list->first = s->free_next;
  if (s->free_next != NULL) s->free_next->free_prev = s->free_prev;
  else list->last = s->free_prev;
  s->free_next = s->free_prev = NULL;
  s->in_free_list = false;
}

/* ---- segments ------------------------------------------------------------- */

/* The header of a segment of page_count pages of 2^page_shift bytes, and
 * where its guard page is (0: none).  The secure build ends the header with
 * an inaccessible OS page, so that a write running backwards out of the
 * first blocks cannot reach the metadata.  Where that would leave page 0
 * less than half its bytes (small segments under 64 KiB OS pages: 64 KiB
 * of metadata and 64 KiB of guard), the header takes whole pages instead,
 * which hold no blocks (hak_segment_first_page). */
static size_t header_size_for(uint32_t page_count, size_t page_shift, size_t* guard) {
  size_t metadata = sizeof(hak_segment_t) + page_count * sizeof(hak_page_t);
  *guard = 0;
#if HAKMEM_SECURE
  size_t os_page = hak_os_page_size();
  size_t page_size = (size_t)1 << page_shift;
  size_t header = hak_align_up(metadata, os_page) + os_page;
  if (header > page_size / 2) header = hak_align_up(header, page_size);
  *guard = header - os_page;
  return header;
#else
  (void)page_shift;
  return hak_align_up(metadata, HAK_OS_PAGE_MIN);
#endif
}

/* Where a segment's guard page is (0: none). */
static size_t guard_offset(const hak_segment_t* s) {
  size_t guard;
  header_size_for(s->page_count, s->page_shift, &guard);
  return guard;
}

/* Puts the guard page of a mapping that had one at offset `had` (0: none)
 * at offset `want`: nothing to do when a segment of the same kind used the
 * mapping before. */
static void segment_guard_move(void* base, size_t had, size_t want) {
#if HAKMEM_SECURE
  if (had == want) return;
  if (had != 0) hak_os_guard((uint8_t*)base + had, hak_os_page_size(), false);
  if (want != 0) hak_os_guard((uint8_t*)base + want, hak_os_page_size(), true);
#else
  (void)base;
  (void)had;
  (void)want;
#endif
}

static size_t page_shift_of(hak_page_kind_t kind) {
  switch (kind) {
    case HAK_PAGE_SMALL: return HAK_SMALL_PAGE_SHIFT;
    case HAK_PAGE_MEDIUM: return HAK_MEDIUM_PAGE_SHIFT;
    case HAK_PAGE_LARGE: return HAK_LARGE_PAGE_SHIFT;
    default: return HAK_HUGE_PAGE_SHIFT;
  }
}

/* The blocks area of page i. */
static uint8_t* page_area(hak_segment_t* s, size_t i, size_t* area) {
  size_t page_size = (size_t)1 << s->page_shift;
  uint8_t* start = (uint8_t*)s + i * page_size;
  uint8_t* end = start + page_size;
  if (i == 0) start = (uint8_t*)s + s->header_size;
  *area = (size_t)(end - start);
  return start;
}

/* What a purge of page i gives back: the whole OS pages of its area (all
 * of it but page 0's start, under OS pages above 4 KiB). */
static size_t page_purge_bytes(hak_segment_t* s, size_t i) {
  size_t area;
  uint8_t* start = page_area(s, i, &area);
  return hak_os_purgeable(start, area);
}

/* Free or kept page i is taken back: forgets that its memory was purged
 * (with the heap's purge lock held); returns whether it was.  A kept page
 * has no block built (its free list waits in the segment), so what the
 * purger gives back is its whole area, as for a free page. */
static bool page_unpurge(hak_segment_t* s, size_t i) {
  if (!((s->purged_pages >> i) & 1)) return false;
  s->purged_pages &= ~((uint64_t)1 << i);
  hak_stats_unpurged(page_purge_bytes(s, i));
  return true;
}

/* Page i of s was freed or kept: it is idle from now.  Releases the heap's
 * purge lock, then has the purger look at s once the delay is over. */
static void page_idle_unlock(hak_heap_t* heap, hak_segment_t* s, size_t i) {
  uint64_t now = hak_os_clock_ms();
  s->page_idle_since_ms[i] = now;
  hak_heap_purge_unlock(heap);
  hak_heap_purge_later(heap, now);
}

/* A new mapping.  When the system refuses it, the cache's mappings go back
 * and it is asked once more: under RLIMIT_AS, RLIMIT_DATA or strict
 * overcommit they hold the address space or commit charge it needs
 * (negative_rlimit's second round got a fifth less under RLIMIT_DATA
 * without this). */
static void* segment_map_new(size_t size, size_t alignment, size_t offset) {
  void* p = hak_os_alloc_aligned(size, alignment, offset);
  if (p == NULL && hak_load_relaxed(&hak_stats.cached_bytes) != 0) {
    hak_cache_collect(true);
    p = hak_os_alloc_aligned(size, alignment, offset);
  }
  return p;
}

/* Maps (or takes from the cache) and registers a segment; the caller sets
 * the owner.  *stale tells whether memory past the header may be dirty. */
static hak_segment_t* segment_create(hak_page_kind_t kind, size_t size, size_t alignment,
                                     size_t offset, uint32_t page_count, bool* stale) {
  size = hak_os_page_round(size);
  size_t guard;
  size_t header_size = header_size_for(page_count, page_shift_of(kind), &guard);
  size_t had_guard = 0;
  if (!segment_map_reserved()) return NULL;
  hak_segment_t* s = hak_cache_take(size, alignment, offset, &size, stale, &had_guard);
  if (s == NULL) {
    s = segment_map_new(size, alignment, offset);
    *stale = false;
  }
  if (s == NULL) return NULL;
  if (!segment_map_ready(s)) {
    hak_os_free(s, size);
    return NULL;
  }
  /* First, as the old guard page may lie in the new header. */
  segment_guard_move(s, had_guard, guard);
  size_t metadata_end = guard != 0 ? guard : header_size;
  if (*stale) memset(s, 0, metadata_end);
  /* The header may lie where blocks were before (a split cached mapping). */
  hak_track_defined(s, metadata_end);
  s->segment_size = size;
  s->header_size = header_size;
  s->page_shift = page_shift_of(kind);
  s->kind = kind;
  s->page_count = page_count;
  /* Blocks become accessible to valgrind as they are handed out. */
  hak_track_close((uint8_t*)s + header_size, size - header_size);
  segment_map_set(s, true);
  hak_stat_add(segments, 1);
  hak_stat_add(metadata_bytes, header_size);
  return s;
}

static void segment_destroy(hak_segment_t* s) {
  segment_map_set(s, false);
  hak_stat_sub(segments, 1);
  hak_stat_sub(metadata_bytes, s->header_size);
  for (size_t i = 0; i < s->page_count; i++)
    if (s->purged_pages & ((uint64_t)1 << i)) hak_stats_unpurged(page_purge_bytes(s, i));
  /* A huge mapping goes back whole: the cache mostly hands its pages out
   * piecewise to grow other huge blocks, and there a kept guard page cost
   * realloc_grow 16 %. */
  size_t guard = guard_offset(s);
  if (s->kind == HAK_PAGE_HUGE) {
    segment_guard_move(s, guard, 0);
    guard = 0;
  }
  hak_cache_put(s, s->segment_size, guard);
}

static void other_kind_purge(hak_heap_t* heap, hak_page_kind_t kind);

static hak_segment_t* segment_alloc(hak_heap_t* heap, hak_page_kind_t kind) {
  uint32_t count = (uint32_t)(HAK_SEGMENT_SIZE >> page_shift_of(kind));
  bool stale;
  hak_segment_t* s = segment_create(kind, HAK_SEGMENT_SIZE, HAK_SEGMENT_SIZE, 0, count, &stale);
  if (s == NULL) return NULL;
  /* The heap needs pages of this kind and has none free: the free pages
   * of its other kind, which cannot serve it, go back now rather than
   * after their purge delay, so that the resident set grows by less
   * (realloc_small: the pages of strings grown out of the small classes
   * stayed idle while medium pages took new memory, docs/memory.md). */
  if (kind != HAK_PAGE_LARGE) other_kind_purge(heap, kind);
  /* A cached mapping less than a segment longer than this one comes whole
   * (hak_cache_take splits at segment boundaries only), and no page of the
   * segment will ever use its end: kept warm, that would stay resident as
   * long as the segment lives (the soak's RSS: about 40 MiB at 100 M ops/s).
   * Unmapped rather than purged: purged, it went back to the cache with the
   * segment as warm, and was purged again each time the mapping made a
   * segment (the soak: 1,800 calls in 10 s once large pages churn). */
  if (s->segment_size > HAK_SEGMENT_SIZE) {
    hak_os_free((uint8_t*)s + HAK_SEGMENT_SIZE, s->segment_size - HAK_SEGMENT_SIZE);
    s->segment_size = HAK_SEGMENT_SIZE;
  }
  hak_store_relaxed(&s->heap, heap);
  hak_store_relaxed(&s->thread_id, heap->thread_id);
  list_push(&heap->segments, s);
  free_list_insert(s);
  return s;
}

hak_page_t* hak_segment_page_alloc(hak_heap_t* heap, hak_page_kind_t kind, size_t bin) {
  hak_heap_purge_lock(heap);
  hak_segment_list_t* list = free_list_of(heap, kind);
  hak_segment_t* s = list != NULL ? list->first : NULL;
  if (s == NULL) s = segment_alloc(heap, kind);
  if (s == NULL) {
    hak_heap_purge_unlock(heap);
    return NULL;
  }
  size_t i = hak_segment_first_page(s);
  while (s->pages[i].in_use) i++;
  hak_page_t* page = &s->pages[i];
  s->used_pages++;
  size_t area;
  uint8_t* start = page_area(s, i, &area);
  page_unpurge(s, i);
  if (!hak_segment_has_free_page(s)) free_list_remove(s);
  page->in_use = HAK_PAGE_IN_USE;
  hak_heap_purge_unlock(heap);
  hak_page_init(page, start, area, hak_bin_block_size(bin), bin);
  hak_stat_add(page_bytes, area);
  hak_hot_stat(pages_made, 1);
  hak_check_segment(s);
  return page;
}

void hak_segment_page_rebin(hak_page_t* page, size_t bin) {
  hak_segment_t* s = hak_ptr_segment(page);
  size_t area;
  uint8_t* start = page_area(s, (size_t)(page - s->pages), &area);
  hak_page_init(page, start, area, hak_bin_block_size(bin), bin);
  hak_hot_stat(pages_retired, 1);
  hak_hot_stat(pages_made, 1);
}

bool hak_segment_page_free(hak_page_t* page) {
  hak_segment_t* s = hak_ptr_segment(page);
  hak_heap_t* heap = hak_load_relaxed(&s->heap);
  size_t index = (size_t)(page - s->pages);
  size_t area;
  page_area(s, index, &area);
  hak_stat_sub(page_bytes, area);
  hak_hot_stat(pages_retired, 1);
  hak_heap_purge_lock(heap);
  /* A free page is purged as a whole, a kept page's purged area with it. */
  if (page->in_use == HAK_PAGE_KEPT) page_unpurge(s, index);
  memset(page, 0, sizeof(*page));
  s->used_pages--;
  if (s->used_pages > 0) {
    free_list_insert(s);
    hak_check_segment(s);
    page_idle_unlock(heap, s, index);
    return false;
  }
  free_list_remove(s);
  list_remove(&heap->segments, s);
  hak_heap_purge_unlock(heap);
  segment_destroy(s);
  return true;
}

void hak_segment_page_keep(hak_page_t* page) {
  hak_segment_t* s = hak_ptr_segment(page);
  hak_heap_t* heap = hak_load_relaxed(&s->heap);
  hak_heap_purge_lock(heap);
  page->in_use = HAK_PAGE_KEPT;
  s->kept_free = page->free;
  s->kept_capacity = page->capacity;
  page->free = NULL;
  hak_page_set_capacity(page, 0);
#if HAKMEM_SECURE
  s->kept_window = page->window;
  hak_page_window_store(page, (hak_window_t){0});
#endif
  page_idle_unlock(heap, s, (size_t)(page - s->pages));
}

bool hak_segment_page_unkeep(hak_page_t* page) {
  hak_segment_t* s = hak_ptr_segment(page);
  hak_heap_t* heap = hak_load_relaxed(&s->heap);
  hak_heap_purge_lock(heap);
  bool warm = !page_unpurge(s, (size_t)(page - s->pages));
  if (warm) {
    page->free = s->kept_free;
    hak_page_set_capacity(page, s->kept_capacity);
#if HAKMEM_SECURE
    hak_page_window_store(page, s->kept_window);
#endif
  }
  page->in_use = HAK_PAGE_IN_USE;
  hak_heap_purge_unlock(heap);
  return warm;
}

/* With the heap's purge lock held.  A purged bit marks a free or kept page
 * whose memory was given back.  Only pages idle since `before` count. */
static bool page_purgeable(hak_segment_t* s, size_t i, uint64_t before) {
  if (i < hak_segment_first_page(s)) return false;
  if (s->purged_pages & ((uint64_t)1 << i)) return false;
  if (s->pages[i].in_use != HAK_PAGE_FREE && s->pages[i].in_use != HAK_PAGE_KEPT) return false;
  return s->page_idle_since_ms[i] <= before;
}

/* Gives back the memory of pages first .. end - 1, all free or kept, in
 * one call (their areas are contiguous); returns the bytes. */
static size_t pages_purge(hak_segment_t* s, size_t first, size_t end) {
  size_t area;
  uint8_t* start = page_area(s, first, &area);
  uint8_t* last = page_area(s, end - 1, &area);
  size_t size = (size_t)(last + area - start);
  hak_os_purge(start, size);
  hak_track_close(start, size);
  size_t purged = 0;
  for (size_t i = first; i < end; i++) {
    s->purged_pages |= (uint64_t)1 << i;
    purged += page_purge_bytes(s, i);
  }
  hak_stats_purged(purged);
  return purged;
}

/* With the heap's purge lock held: gives back the free and kept pages idle
 * since `before`; returns the bytes.  Neighbouring pages go back together:
 * a segment's free pages are often a run, and the soak made a call per
 * 64 KiB page. */
static size_t segment_purge(hak_segment_t* s, uint64_t before) {
  size_t purged = 0;
  for (size_t i = 0; i < s->page_count;) {
    if (!page_purgeable(s, i, before)) {
      i++;
      continue;
    }
    size_t end = i + 1;
    while (end < s->page_count && page_purgeable(s, end, before)) end++;
    purged += pages_purge(s, i, end);
    i = end;
  }
  return purged;
}

/* With the heap's purge lock held: every free page of the heap's medium
 * segments when kind is small, of its small ones when kind is medium. */
static void other_kind_purge(hak_heap_t* heap, hak_page_kind_t kind) {
  hak_page_kind_t other = kind == HAK_PAGE_SMALL ? HAK_PAGE_MEDIUM : HAK_PAGE_SMALL;
  for (hak_segment_t* s = heap->segments.first; s != NULL; s = s->next)
    if (s->kind == other) segment_purge(s, UINT64_MAX);
}

size_t hak_segment_purge_free_pages(hak_segment_t* s) {
  hak_heap_t* heap = hak_load_relaxed(&s->heap);
  hak_heap_purge_lock(heap);
  size_t purged = segment_purge(s, UINT64_MAX);
  hak_heap_purge_unlock(heap);
  return purged;
}

/* Each page by its own idle time, not the segment's: a segment that frees
 * a page now and then was never quiet for long enough, and its other free
 * pages stayed resident for as long as it lived (larson on 8 threads). */
uint64_t hak_segment_purge_idle(hak_segment_t* s, uint64_t now) {
  uint64_t delay = hak_options.page_purge_delay_ms;
  if (now >= delay) segment_purge(s, now - delay);
  uint64_t next = UINT64_MAX;
  for (size_t i = 0; i < s->page_count; i++) {
    if (page_purgeable(s, i, UINT64_MAX) && s->page_idle_since_ms[i] + delay < next)
      next = s->page_idle_since_ms[i] + delay;
  }
  return next;
}

/* ---- huge and over-aligned blocks ----------------------------------------
 * One block in its own segment.  Such a segment has no owner (thread_id 0):
 * whichever thread frees the block claims the segment and unmaps it. */

/* The page of a huge segment holds its one block, already handed out. */
static void huge_page_setup(hak_page_t* page, uint8_t* start, size_t usable) {
  page->in_use = HAK_PAGE_IN_USE;
  hak_page_init(page, start, usable, usable, HAK_BIN_HUGE);
  hak_page_set_capacity(page, 1);
  page->used = 1;
  hak_page_set_delayed(page, HAK_DELAYED_NEVER);
}

hak_page_t* hak_segment_huge_alloc(size_t size, size_t alignment, bool zero) {
  size_t guard;
  size_t header = header_size_for(1, HAK_HUGE_PAGE_SHIFT, &guard);
  size_t offset = header;
  size_t map_alignment = HAK_SEGMENT_SIZE;
  size_t map_offset = 0;
  if (alignment > HAK_SEGMENT_SIZE) {
    /* The block starts exactly one segment size in; see hak_ptr_segment. */
    offset = HAK_SEGMENT_SIZE;
    map_alignment = alignment;
    map_offset = offset;
  } else if (alignment > header) {
    offset = alignment;
  }
  if (size > HAK_MAX_REQUEST - offset) return NULL;
  size_t total = hak_os_page_round(offset + (size == 0 ? 1 : size));
  bool stale;
  hak_segment_t* s = segment_create(HAK_PAGE_HUGE, total, map_alignment, map_offset, 1, &stale);
  if (s == NULL) return NULL;
  hak_page_t* page = &s->pages[0];
  huge_page_setup(page, (uint8_t*)s + offset, s->segment_size - offset);
  hak_track_malloc(page->start, s->segment_size - offset, !stale);
  if (zero && stale) memset(page->start, 0, size);
  hak_stat_add(huge_blocks, 1);
  hak_stat_add(huge_bytes, s->segment_size);
  return page;
}

bool hak_segment_huge_claim(hak_segment_t* s) {
  uintptr_t expected = 0;
  return atomic_compare_exchange_strong_explicit(&s->thread_id, &expected, hak_thread_id(),
                                                 memory_order_acq_rel, memory_order_relaxed);
}

void hak_segment_huge_free(hak_segment_t* s) {
  hak_stat_sub(huge_blocks, 1);
  hak_stat_sub(huge_bytes, s->segment_size);
  segment_destroy(s);
}

/* Fills [from, to) of a grown huge segment, fresh pages not yet touched,
 * with warm ones from the cache (moved, no copy), so that the block's new
 * bytes do not fault in afresh while memory just freed waits to be purged.
 * The block then spans several mappings, which only newer kernels move. */
static void huge_fill_warm(hak_segment_t* s, size_t from, size_t to) {
  if (!hak_os_moves_split_ranges()) return;
  while (from < to) {
    void* warm;
    size_t n = hak_cache_take_warm(to - from, &warm);
    if (n == 0) return;
    if (!hak_os_move(warm, n, (uint8_t*)s + from)) {
      hak_os_free(warm, n);
      return;
    }
    from += n;
  }
}

/* Grows in place when the address space after the segment is free; else
 * moves the pages (no copy) into a fresh mapping.  Either way the new size
 * is rounded up to whole segments, so that a block grown a little at a time
 * pays a system call once per segment, not once per page.  The new bytes
 * are made of warm pages where the cache has some. */
static hak_segment_t* huge_relocate(hak_segment_t* s, size_t total) {
  size_t old_size = s->segment_size;
  hak_segment_t* moved = s;
  size_t size = total > old_size ? hak_align_up(total, HAK_SEGMENT_SIZE) : total;
  if (!hak_os_resize_in_place(s, old_size, size)) {
    /* Where warm pages cannot be moved in, they can be copied into: realloc
     * does that (malloc takes warm cached mappings first) when this fails. */
    if (!hak_os_moves_split_ranges() && hak_cache_has_warm(total)) return NULL;
    moved = segment_map_new(size, HAK_SEGMENT_SIZE, 0);
    if (moved == NULL) {
      size = total;
      moved = hak_os_alloc_aligned(size, HAK_SEGMENT_SIZE, 0);
    }
    if (moved == NULL) return NULL;
    if (!segment_map_ready(moved) || !hak_os_move(s, old_size, moved)) {
      hak_os_free(moved, size);
      return NULL;
    }
  }
  moved->segment_size = size;
  if (total > old_size) huge_fill_warm(moved, old_size, size);
  return moved;
}

hak_page_t* hak_segment_huge_resize(hak_page_t* page, size_t new_size) {
  hak_segment_t* s = hak_ptr_segment(page);
  size_t offset = (size_t)(page->start - (uint8_t*)s);
  if (new_size > HAK_MAX_REQUEST - offset) return NULL;
  size_t total = hak_os_page_round(offset + new_size);
  size_t old_size = s->segment_size;
  segment_map_set(s, false);
  hak_segment_t* moved = huge_relocate(s, total);
  if (moved == NULL) {
    segment_map_set(s, true);
    return NULL;
  }
  segment_map_set(moved, true);
  hak_stat_sub(huge_bytes, old_size);
  hak_stat_add(huge_bytes, moved->segment_size);
  page = &moved->pages[0];
  huge_page_setup(page, (uint8_t*)moved + offset, moved->segment_size - offset);
  /* For valgrind: the old block is gone, a new one holds what it kept. */
  hak_track_free((uint8_t*)s + offset);
  hak_track_malloc(page->start, moved->segment_size - offset, false);
  hak_track_defined(page->start, (old_size < moved->segment_size ? old_size : moved->segment_size) - offset);
  return page;
}

/* ---- abandoned segments --------------------------------------------------- */

/* With HAKMEM_EXIT_PURGE, the free pages of a segment its thread leaves
 * behind go back at once: nobody owns them until another thread reclaims
 * the segment, and in a program whose threads come and go they were about
 * a third of its resident set (larson on 8 threads, docs/memory.md).  Not
 * the pages freed within the last EXIT_PURGE_IDLE_MS, as the thread's own
 * exit frees its empty pages: a thread that makes a few allocations and
 * exits leaves little else, and the next one takes those pages at once
 * (25 k threads per second without purging them, 16 k with). */
#define EXIT_PURGE_IDLE_MS 1

void hak_segment_abandon(hak_segment_t* s) {
  hak_heap_t* heap = hak_load_relaxed(&s->heap);
  hak_heap_purge_lock(heap);
  free_list_remove(s);
  list_remove(&heap->segments, s);
  if (hak_options.exit_purge) segment_purge(s, hak_os_clock_ms() - EXIT_PURGE_IDLE_MS);
  hak_heap_purge_unlock(heap);
  hak_store_release(&s->heap, NULL);
  hak_store_release(&s->thread_id, 0);
  pthread_mutex_lock(&abandoned_lock);
  list_push(&abandoned, s);
  atomic_fetch_add_explicit(&abandoned_count, 1, memory_order_relaxed);
  pthread_mutex_unlock(&abandoned_lock);
  hak_purger_notify(0); /* its blocks may all be freed by others later */
}

static hak_segment_t* abandoned_pop(void) {
  pthread_mutex_lock(&abandoned_lock);
  hak_segment_t* s = abandoned.first;
  if (s != NULL) {
    list_remove(&abandoned, s);
    atomic_fetch_sub_explicit(&abandoned_count, 1, memory_order_relaxed);
  }
  pthread_mutex_unlock(&abandoned_lock);
  return s;
}

size_t hak_segment_abandoned_count(void) {
  return hak_load_relaxed(&abandoned_count);
}

/* Collects the remote frees of an ownerless segment; when no block is left
 * in use, releases it.  While we hold it no other thread can reclaim it, and
 * other threads' frees only push onto its pages' thread_free lists. */
static bool abandoned_release_if_empty(hak_segment_t* s) {
  for (size_t i = 0; i < s->page_count; i++) {
    hak_page_t* page = &s->pages[i];
    if (!page->in_use) continue;
    hak_page_collect(page);
    if (page->used != 0) return false;
  }
  for (size_t i = 0; i < s->page_count; i++) {
    if (!s->pages[i].in_use) continue;
    size_t area;
    page_area(s, i, &area);
    hak_stat_sub(page_bytes, area);
  }
  segment_destroy(s);
  return true;
}

size_t hak_segment_sweep_abandoned(size_t budget) {
  size_t released = 0;
  for (size_t n = 0; n < budget; n++) {
    hak_segment_t* s = abandoned_pop();
    if (s == NULL) break;
    if (abandoned_release_if_empty(s)) {
      released++;
      continue;
    }
    /* Still in use: to the back, so the next sweep looks at others first. */
    pthread_mutex_lock(&abandoned_lock);
    list_append(&abandoned, s);
    atomic_fetch_add_explicit(&abandoned_count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&abandoned_lock);
  }
  return released;
}

hak_segment_t* hak_segment_reclaim(hak_heap_t* heap) {
  if (hak_load_relaxed(&abandoned_count) == 0) return NULL;
  hak_segment_t* s = abandoned_pop();
  if (s == NULL) return NULL;
  hak_store_release(&s->heap, heap);
  hak_store_release(&s->thread_id, heap->thread_id);
  hak_heap_purge_lock(heap);
  list_push(&heap->segments, s);
  if (hak_segment_has_free_page(s)) free_list_insert(s);
  hak_heap_purge_unlock(heap);
  return s;
}

void hak_segment_lock_all(void) {
  pthread_mutex_lock(&abandoned_lock);
  hak_cache_lock();
}

void hak_segment_unlock_all(void) {
  hak_cache_unlock();
  pthread_mutex_unlock(&abandoned_lock);
}
