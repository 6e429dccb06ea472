/* hakmem internals: cross-file prototypes and the inline fast paths. */
#ifndef HAKMEM_INTERNAL_H
#define HAKMEM_INTERNAL_H

#include "internal/track.h"
#include "internal/types.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Everything declared below is the library's own: with hidden visibility
 * declared here, not only where it is defined, a global is read straight
 * from its address, not through the GOT (one instruction less on free's
 * segment map test). */
#pragma GCC visibility push(hidden)

#define hak_likely(x) __builtin_expect(!!(x), 1)
#define hak_unlikely(x) __builtin_expect(!!(x), 0)
#define hak_noinline __attribute__((noinline))
#define hak_cold __attribute__((cold, noinline))

#define hak_load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define hak_load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define hak_store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define hak_store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)

/* ---- globals ------------------------------------------------------------ */
extern uint8_t hak_bin_table[HAK_TABLE_SIZE_MAX / HAK_BIN_TABLE_STEP + 1];
extern hak_page_t hak_page_empty;
extern hak_heap_t hak_heap_empty;
extern __thread hak_heap_t* hak_heap_default;

/* ---- options.c ---------------------------------------------------------- */
typedef enum hak_mode_e { HAK_MODE_SPEED, HAK_MODE_BALANCED, HAK_MODE_LEAN } hak_mode_t;

typedef struct hak_options_s {
  hak_mode_t mode;
  uint64_t purge_delay_ms;
  size_t cache_max;
  uint64_t page_purge_delay_ms;
  bool exit_purge;
  bool purge_thread;
  bool show_stats;
  bool verbose;
  bool abort_on_error;
} hak_options_t;
extern hak_options_t hak_options;
/* Reads the environment the first time it is called. */
void hak_options_init(void);
/* The start-up banner: version and the options in effect. */
void hak_options_print(void);

/* ---- stats.c -------------------------------------------------------------- */
#ifndef HAKMEM_STATS
#define HAKMEM_STATS 0
#endif

typedef struct hak_stats_s {
  /* Always kept: they change on system calls and page changes only. */
  _Atomic(size_t) mmap_calls;
  _Atomic(size_t) munmap_calls;
  _Atomic(size_t) mremap_calls;
  _Atomic(size_t) madvise_calls;
  _Atomic(size_t) reserved;       /* bytes mapped */
  _Atomic(size_t) reserved_peak;
  _Atomic(size_t) purged_now;     /* mapped bytes whose memory was given back */
  _Atomic(size_t) purged_total;
  _Atomic(size_t) committed_peak; /* of reserved - purged_now */
  _Atomic(size_t) segments;       /* live, huge ones included */
  _Atomic(size_t) huge_blocks;
  _Atomic(size_t) huge_bytes;
  _Atomic(size_t) page_bytes;     /* in pages taken from segments */
  _Atomic(size_t) cached_bytes;   /* freed segments kept mapped */
  _Atomic(size_t) metadata_bytes; /* segment headers and heaps */
#if HAKMEM_STATS
  /* Per call: only in builds made to count them. */
  _Atomic(size_t) malloc_calls;
  _Atomic(size_t) malloc_slow;
  _Atomic(size_t) free_calls;
  _Atomic(size_t) free_remote;
  _Atomic(size_t) pages_made;
  _Atomic(size_t) pages_retired;
  _Atomic(size_t) bin_allocs[HAK_BIN_COUNT];
  _Atomic(size_t) bin_frees[HAK_BIN_COUNT];
#endif
} hak_stats_t;
extern hak_stats_t hak_stats;

#define hak_stat_add(field, n) atomic_fetch_add_explicit(&hak_stats.field, (n), memory_order_relaxed)
#define hak_stat_sub(field, n) atomic_fetch_sub_explicit(&hak_stats.field, (n), memory_order_relaxed)
#if HAKMEM_STATS
#define hak_hot_stat(field, n) ((void)hak_stat_add(field, n))
#else
#define hak_hot_stat(field, n) ((void)0)
#endif

void hak_stats_mapped(size_t bytes);
void hak_stats_unmapped(size_t bytes);
void hak_stats_purged(size_t bytes);
void hak_stats_unpurged(size_t bytes);
void hak_stats_write_stderr(void);

/* mallinfo2's fields, filled from the figures above. */
typedef struct hak_mallinfo_s {
  size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
} hak_mallinfo_t;
hak_mallinfo_t hak_stats_mallinfo(void);
/* malloc_info's XML. */
int hak_stats_xml(FILE* out);

/* ---- messages (init.c) -------------------------------------------------- */
/* One line on stderr, written with write(2); aborts when so configured. */
void hak_error(const char* what, const void* p);

/* ---- debug.c: invariant checks of the debug build ------------------------ */
#if HAKMEM_DEBUG
/* Reports a broken invariant in one line and aborts. */
__attribute__((noreturn, cold)) void hak_assert_fail(const char* what, const char* file, int line);
#define hak_assert(cond) (hak_likely(cond) ? (void)0 : hak_assert_fail(#cond, __FILE__, __LINE__))
/* Walk a page's free list, a segment's pages, or all of a heap's queues
 * and pages, asserting everything that must hold between two calls. */
void hak_check_page(const hak_page_t* page);
void hak_check_segment(const hak_segment_t* segment);
void hak_check_heap(const hak_heap_t* heap);
#else
#define hak_assert(cond) ((void)0)
#define hak_check_page(page) ((void)0)
#define hak_check_segment(segment) ((void)0)
#define hak_check_heap(heap) ((void)0)
#endif

/* ---- os.c: the only file that makes memory system calls ----------------- */
/* size bytes of fresh zeroed memory such that (result + offset) is a
 * multiple of alignment; NULL on failure. */
void* hak_os_alloc_aligned(size_t size, size_t alignment, size_t offset);
void hak_os_free(void* p, size_t size);
/* size bytes of address space that read as zeros and are no memory of the
 * process's (no data under RLIMIT_DATA, no commit charge under
 * vm.overcommit_memory=2) until hak_os_make_writable; NULL on failure. */
void* hak_os_reserve_zeros(size_t size);
void hak_os_unreserve(void* p, size_t size);
/* Makes the whole pages over [p, p+size) of a reservation writable (and
 * memory of the process's); false if the system refuses. */
bool hak_os_make_writable(void* p, size_t size);
/* Grows the memory at p (one mapping or several) by mapping the pages
 * right after it, or shrinks it by unmapping its end, without moving it;
 * false if the pages after it are taken. */
bool hak_os_resize_in_place(void* p, size_t old_size, size_t new_size);
/* Moves the pages of [from, from+size) to replace those at `to` (no copy). */
bool hak_os_move(void* from, size_t size, void* to);
/* Whether hak_os_move takes a range that spans several mappings (Linux
 * 6.17 and later); probed once. */
bool hak_os_moves_split_ranges(void);
/* The kernel's page size (4 KiB on x86-64; 4, 16 or 64 KiB on aarch64). */
size_t hak_os_page_size(void);
size_t hak_os_page_round(size_t size);
/* A memory barrier on every running thread of the process (membarrier);
 * false if the kernel cannot. */
bool hak_os_barrier_all(void);
/* Gives back the physical memory of the whole OS pages within [p, p+size),
 * which read as zero after; returns their bytes. */
size_t hak_os_purge(void* p, size_t size);
/* The bytes hak_os_purge(p, size) would give back. */
size_t hak_os_purgeable(const void* p, size_t size);
/* A monotonic clock in milliseconds (no system call: vDSO). */
uint64_t hak_os_clock_ms(void);
#if HAKMEM_SECURE
/* Makes [p, p+size) inaccessible (guard) or read-write again. */
void hak_os_guard(void* p, size_t size, bool on);
/* 64 bits from the kernel's random source (the clock if it fails). */
uint64_t hak_os_random(void);
#endif

/* ---- cache.c: recently freed segment mappings ----------------------------- */
/* A cached mapping of at least size bytes with (base + offset) a multiple of
 * alignment, its real size in *got, whether it may hold old data in *dirty,
 * and where its guard page is (hak_cache_put) in *guard; NULL if none. */
void* hak_cache_take(size_t size, size_t alignment, size_t offset, size_t* got, bool* dirty,
                     size_t* guard);
/* Up to max bytes of warm (never purged) memory from the end of a cached
 * mapping, which keeps its start (and guard page); its address in *from, 0
 * if none is warm. */
size_t hak_cache_take_warm(size_t max, void** from);
/* Whether a warm cached mapping of at least size bytes is there. */
bool hak_cache_has_warm(size_t size);
/* Keeps a mapping for reuse (making room if need be).  guard: the offset
 * of an inaccessible page in it (secure build), 0 if none; the page stays
 * so, and a segment made from the mapping again need not pay two mprotect
 * calls (and the other cores' TLB flushes) to put it back. */
void hak_cache_put(void* base, size_t size, size_t guard);
/* Purges and unmaps what is due; returns the next deadline (ms) or
 * UINT64_MAX when the cache is empty. */
uint64_t hak_cache_expire(void);
/* Purges (force: and unmaps) what the cache holds; returns the bytes. */
size_t hak_cache_collect(bool force);
void hak_cache_lock(void);
void hak_cache_unlock(void);

/* ---- purger.c: the thread that expires the cache while the program rests - */
/* Work for the purger falls due at due_ms (hak_os_clock_ms; 0: now): wake
 * it unless it already means to wake by then, or ask for one. */
void hak_purger_notify(uint64_t due_ms);
enum {
  HAK_PURGER_IDLE,
  HAK_PURGER_WANTED,
  HAK_PURGER_STARTING,
  HAK_PURGER_RUNNING,
  HAK_PURGER_STOPPING,
  HAK_PURGER_FAILED,
};
extern _Atomic(int) hak_purger_state;
/* Makes the purger's condition; once, before any thread can allocate. */
void hak_purger_init(void);
void hak_purger_start(void);
/* Ends the purger and waits until its thread is gone; called by the last
 * thread holding a heap as it exits (init.c). */
void hak_purger_stop(void);
/* Starts the purger if one was asked for.  Call only where creating a
 * thread (which can allocate) is safe: no lock held, no heap half-changed. */
static inline void hak_purger_poll(void) {
  if (hak_unlikely(hak_load_relaxed(&hak_purger_state) == HAK_PURGER_WANTED)) hak_purger_start();
}
void hak_purger_lock(void);
void hak_purger_unlock(bool child);

/* ---- segment.c ---------------------------------------------------------- */
/* The segment map: one byte per possible segment address below 2^48, is
 * this one ours?  A byte rather than a bit, so that free tests it with a
 * load and a test (a bit cost three instructions more).  Its 64 MiB are
 * reserved read-only with the first segment, and each 64 KiB of it made
 * writable before a segment it covers is registered: as BSS, all of it was
 * the process's data, and no program started under `ulimit -d 65536`.
 * limit is 0 until bytes is reserved.  The two share a cache line that
 * nothing else does, as free reads them on every call. */
#define HAK_SEGMENT_MAP_SIZE ((size_t)1 << (48 - HAK_SEGMENT_SHIFT))
typedef struct hak_segment_map_s {
  _Atomic(_Atomic(uint8_t)*) bytes;
  _Atomic(size_t) limit;
} __attribute__((aligned(64))) hak_segment_map_t;
extern hak_segment_map_t hak_segment_map;
hak_page_t* hak_segment_page_alloc(hak_heap_t* heap, hak_page_kind_t kind, size_t bin);
/* Returns true when the page's segment was freed with it. */
bool hak_segment_page_free(hak_page_t* page);
/* An empty page in use, out of its queue, starts again for another bin of
 * its kind. */
void hak_segment_page_rebin(hak_page_t* page, size_t bin);
/* A single-block segment for a huge or over-aligned request. */
hak_page_t* hak_segment_huge_alloc(size_t size, size_t alignment, bool zero);
bool hak_segment_huge_claim(hak_segment_t* segment);
void hak_segment_huge_free(hak_segment_t* segment);
hak_page_t* hak_segment_huge_resize(hak_page_t* page, size_t new_size);
/* Gives back the memory of the segment's free pages; returns the bytes. */
size_t hak_segment_purge_free_pages(hak_segment_t* segment);
/* A bin's empty last page stays in its queue; kept (HAK_PAGE_KEPT), its
 * free list is set aside and its memory is the purger's until the owner
 * takes it back.  Unkeep gives the list back as it was (true), or leaves the
 * page with no block built if the purger gave its memory back meanwhile. */
void hak_segment_page_keep(hak_page_t* page);
bool hak_segment_page_unkeep(hak_page_t* page);
/* The purger, with the heap's purge lock: purges the free and kept pages of
 * a segment idle for the page purge delay; returns when it should look
 * again (UINT64_MAX: nothing left to purge). */
uint64_t hak_segment_purge_idle(hak_segment_t* segment, uint64_t now);
void hak_segment_abandon(hak_segment_t* segment);
size_t hak_segment_abandoned_count(void);
/* Releases abandoned segments whose blocks have all been freed since, looking
 * at most at budget of them; returns how many it released. */
size_t hak_segment_sweep_abandoned(size_t budget);
/* Hands an abandoned segment to heap, or returns NULL. */
hak_segment_t* hak_segment_reclaim(hak_heap_t* heap);
void hak_segment_lock_all(void);
void hak_segment_unlock_all(void);

/* ---- page.c ------------------------------------------------------------- */
size_t hak_bin_block_size(size_t bin);
/* Fills hak_bin_table; until then it sends every request to the slow path. */
void hak_bin_table_init(void);
void hak_page_init(hak_page_t* page, uint8_t* start, size_t area, size_t block_size, size_t bin);
/* A page of size's bin with a free block; NULL when out of memory. */
hak_page_t* hak_page_find(hak_heap_t* heap, size_t size);
void hak_page_collect(hak_page_t* page);
/* For malloc_trim: the free blocks of a page in use past its last live one
 * are taken off the free list and un-built (page_extend builds them again)
 * and their memory given back; so are the OS pages only free blocks cover
 * below it, whose blocks are parked (page.c).  Without force, only where
 * that is likely to give something back.  Returns the bytes. */
size_t hak_page_trim(hak_page_t* page, bool force);
#if HAKMEM_DEBUG
/* Free blocks a trim parked on the page (for hak_check_page). */
size_t hak_page_parked_blocks(const hak_page_t* page);
#endif
#if HAKMEM_SECURE
/* The owner frees a built block of the page's open window, before the
 * block goes back to the free list (see page.c). */
void hak_page_window_return(hak_page_t* page);
#endif
void hak_page_queue_push(hak_heap_t* heap, hak_page_t* page);
void hak_page_queue_remove(hak_heap_t* heap, hak_page_t* page);
void hak_page_unfull(hak_page_t* page);
void hak_page_retire(hak_page_t* page);
void hak_page_free(hak_heap_t* heap, hak_page_t* page);
void hak_page_set_delayed(hak_page_t* page, hak_delayed_t state);
/* Takes an abandoned page into heap; true when its segment was freed. */
bool hak_page_adopt(hak_heap_t* heap, hak_page_t* page);

/* ---- heap.c ------------------------------------------------------------- */
void hak_heap_init(hak_heap_t* heap);
hak_heap_t* hak_heap_new(void);
/* The end of the calling thread, whose heap this is. */
void hak_heap_done(hak_heap_t* heap);
void hak_heap_delayed_free_all(hak_heap_t* heap);
bool hak_heap_reclaim_abandoned(hak_heap_t* heap);
void hak_heap_after_fork_child(hak_heap_t* heap);
/* Frees the heap's empty pages, gives back the memory of its free pages
 * and of the free blocks in its other pages (hak_page_trim, with force or
 * not) and, with force, everything in the segment cache; returns the
 * bytes.
 * Between hak_heap_pages_enter and _leave, as hak_heap_delayed_free_all. */
size_t hak_heap_collect(hak_heap_t* heap, bool force);
/* With every heap's purge lock (for fork). */
void hak_heap_pool_lock(void);
void hak_heap_pool_unlock(void);
/* A heap struct new to the process (the first thread's, or one carved for
 * the pool): the purger's list and the metadata figure learn of it. */
void hak_heap_register(hak_heap_t* heap);
void hak_heap_purge_lock(hak_heap_t* heap);
void hak_heap_purge_unlock(hak_heap_t* heap);
/* The owner around any change to its full queue or delayed list (waits
 * while the purger is at them; see heap.c). */
void hak_heap_pages_enter(hak_heap_t* heap);
static inline void hak_heap_pages_leave(hak_heap_t* heap) {
  hak_store_release(&heap->owner_at_pages, false);
}
/* Another thread's free may have emptied a full page of heap: the purger
 * looks soon, if the owner does not (see heap.c). */
void hak_heap_full_page_emptied(hak_heap_t* heap);
/* The purger's part: frees the full pages that other threads emptied in
 * the heaps that were told so (see heap.c); returns when to call again
 * (UINT64_MAX: when told). */
uint64_t hak_heap_free_emptied_full_pages(void);
/* Held while the purger frees such pages (for fork). */
void hak_heap_emptied_lock(void);
void hak_heap_emptied_unlock(void);
/* A page of the heap was freed or kept at `now`: purge it when it has been
 * idle for HAKMEM_PAGE_PURGE_DELAY_MS. */
void hak_heap_purge_later(hak_heap_t* heap, uint64_t now);
/* The purger's part: purges the idle pages of every heap whose time has
 * come, and asks the owners of nearly idle heaps to give back their empty
 * pages; returns when to call again (UINT64_MAX: nothing waits). */
uint64_t hak_heap_purge_idle(void);
/* The owner, on its slow paths: a page search was made (count it), and if
 * the purger asked, the heap's empty pages go back (see heap.c). */
static inline void hak_heap_count_search(hak_heap_t* heap) {
  hak_store_relaxed(&heap->page_searches, hak_load_relaxed(&heap->page_searches) + 1);
}
static inline hak_purger_ask_t hak_heap_purger_asks(hak_heap_t* heap) {
  return (hak_purger_ask_t)hak_load_relaxed(&heap->purger_asks);
}
/* The owner answers HAK_ASK_COLLECT: between hak_heap_pages_enter and _leave. */
void hak_heap_collect_asked(hak_heap_t* heap);

/* ---- init.c ------------------------------------------------------------- */
/* The calling thread's heap, created on first use; NULL when out of memory. */
hak_heap_t* hak_thread_heap(void);
/* Threads holding a heap: the purger runs only while there is one. */
extern _Atomic(size_t) hak_threads_with_heap;

/* ---- alloc.c / free.c --------------------------------------------------- */
void* hak_malloc_generic(size_t size, hak_heap_t* heap);
void hak_free_generic(hak_segment_t* segment, hak_page_t* page, hak_block_t* block);
#if HAKMEM_SECURE
/* Reports a free-list link that does not lead to a block of its page. */
hak_cold hak_block_t* hak_free_list_corrupt(const void* block);
#endif
void hak_free_local_block(hak_page_t* page, hak_block_t* block);
/* The owner's free of a block of a page with at most one block in use (a
 * page it empties, or a double free).  It takes the block rather than the
 * page, which free would have to keep. */
void hak_free_last(hak_block_t* block);
/* The page of p when p is a block start hakmem owns, else NULL. */
hak_page_t* hak_page_of_block(const void* p);
/* hak_block_of for a p inside a block of page: the block when an aligned
 * allocation returned p from inside it, else NULL. */
hak_block_t* hak_aligned_block_of(hak_segment_t* segment, const hak_page_t* page, const void* p);
/* free() of a pointer that is not a block start: an aligned allocation's,
 * or an invalid one (reported). */
hak_cold void hak_free_interior(void* p);
/* free() of a p of hakmem's segments, when it is not the owner's usual
 * free. */
void hak_free_slow(void* p);
/* What an aligned pointer inside a block has in the word before it. */
static inline uintptr_t hak_aligned_mark(uintptr_t block) {
  return block ^ (uintptr_t)0x9E3779B97F4A7C15ull;
}
/* glibc's legacy aligned entry points, for the overrides. */
void* hak_memalign(size_t alignment, size_t size);
void* hak_valloc(size_t size);
void* hak_pvalloc(size_t size);

/* ---- inline helpers ----------------------------------------------------- */
static inline uintptr_t hak_thread_id(void) {
  return (uintptr_t)__builtin_thread_pointer();
}

/* Whether the calling thread owns the segment. */
static inline bool hak_is_owner(const hak_segment_t* segment) {
  return hak_load_relaxed(&segment->thread_id) == hak_thread_id();
}

static inline hak_segment_t* hak_ptr_segment(const void* p) {
  return (hak_segment_t*)(((uintptr_t)p - 1) & ~(uintptr_t)HAK_SEGMENT_MASK);
}

static inline bool hak_segment_map_contains(const void* segment) {
  uintptr_t index = (uintptr_t)segment >> HAK_SEGMENT_SHIFT;
  if (hak_unlikely(index >= hak_load_acquire(&hak_segment_map.limit))) return false;
  return hak_load_relaxed(&hak_load_relaxed(&hak_segment_map.bytes)[index]) != 0;
}

/* The first page of s that can hold blocks: 0, but for a header that
 * covers whole pages (the secure build's small segments under 64 KiB OS
 * pages, segment.c). */
static inline size_t hak_segment_first_page(const hak_segment_t* s) {
  return s->header_size >> s->page_shift;
}

/* Whether a page of s is free to take. */
static inline bool hak_segment_has_free_page(const hak_segment_t* s) {
  return s->used_pages < s->page_count - hak_segment_first_page(s);
}

static inline hak_page_t* hak_segment_page_of(hak_segment_t* segment, const void* p) {
  size_t index = ((uintptr_t)p - (uintptr_t)segment) >> segment->page_shift;
  return &segment->pages[index];
}

/* The index in page of the block p starts; for any p that starts none of
 * its blocks, a number beyond them all (a multiply by the inverse of the
 * block size and a rotate: exact, and no division). */
static inline uint64_t hak_block_index(const hak_page_t* page, const void* p) {
  uint64_t offset = (uint64_t)((uintptr_t)p - (uintptr_t)page->start);
  uint64_t q = offset * page->div_inv;
  unsigned s = page->div_shift;
  return (q >> s) | (q << ((64 - s) & 63));
}

/* page->capacity changes on the page's owner only, which reads it plainly;
 * other threads' frees read it too, so it is written, and read by them,
 * atomically. */
static inline void hak_page_set_capacity(hak_page_t* page, size_t capacity) {
  __atomic_store_n(&page->capacity, (uint16_t)capacity, __ATOMIC_RELAXED);
}

/* page->capacity, read by any thread. */
static inline size_t hak_page_capacity(const hak_page_t* page) {
  return __atomic_load_n(&page->capacity, __ATOMIC_RELAXED);
}

#if HAKMEM_SECURE
/* The page's window, read by any thread. */
static inline hak_window_t hak_page_window(const hak_page_t* page) {
  hak_window_t w;
  __atomic_load(&page->window, &w, __ATOMIC_ACQUIRE);
  return w;
}

/* The owner changes it (and reads it plainly). */
static inline void hak_page_window_store(hak_page_t* page, hak_window_t w) {
  __atomic_store(&page->window, &w, __ATOMIC_RELEASE);
}
#endif

/* Whether the page has built its block `index`: one not built yet was
 * never handed out.  Any thread may ask.  In the secure build the window is
 * read first: a window opens only after the capacity has taken in the one
 * before (page.c, window_build), so a block built in a window that has
 * since closed is below the capacity read after it. */
static inline bool hak_page_block_built(const hak_page_t* page, uint64_t index) {
#if HAKMEM_SECURE
  hak_window_t w = hak_page_window(page);
  uint64_t k = index - w.base;
  if (k < HAK_WINDOW_BLOCKS && (w.built >> k & 1)) return true;
#endif
  return index < hak_page_capacity(page);
}

/* Whether p starts a block its page has built. */
static inline bool hak_is_block_start(const hak_page_t* page, const void* p) {
  return hak_page_block_built(page, hak_block_index(page, p));
}

/* page->xthread_free packs the list of other threads' frees (a block
 * address: below 2^48, as every segment is, see hak_segment_map), the
 * delayed state in its low two bits, and in its top 16 bits how many blocks
 * the list holds, so that the owner takes the list back without walking it
 * (every step of that walk is a cache miss: the freeing thread wrote the
 * link).  Blocks per page are fewer than 2^16. */
#define HAK_THREAD_FREE_COUNT_SHIFT 48

static inline hak_block_t* hak_thread_free_list(uintptr_t tf) {
  return (hak_block_t*)(tf & ((((uintptr_t)1 << HAK_THREAD_FREE_COUNT_SHIFT) - 1) & ~(uintptr_t)3));
}

static inline hak_delayed_t hak_thread_free_state(uintptr_t tf) {
  return (hak_delayed_t)(tf & 3);
}

static inline uint32_t hak_thread_free_count(uintptr_t tf) {
  return (uint32_t)(tf >> HAK_THREAD_FREE_COUNT_SHIFT);
}

/* tf with its state replaced by state. */
static inline uintptr_t hak_thread_free_with_state(uintptr_t tf, hak_delayed_t state) {
  return (tf & ~(uintptr_t)3) | (uintptr_t)state;
}

/* tf with block pushed on its list (block's link already set to tf's list). */
static inline uintptr_t hak_thread_free_push(uintptr_t tf, const hak_block_t* block) {
  uintptr_t count = (uintptr_t)hak_thread_free_count(tf) + 1;
  return (count << HAK_THREAD_FREE_COUNT_SHIFT) | (uintptr_t)block | (tf & 3);
}

/* The heap owning a page is its segment's. */
static inline hak_heap_t* hak_page_heap(const hak_page_t* page) {
  return hak_load_relaxed(&hak_ptr_segment(page)->heap);
}

/* The size class of a request of at most HAK_LARGE_OBJ_MAX bytes. */
static inline size_t hak_bin_of(size_t size) {
  if (size <= 8) return HAK_BIN_MIN;
  size_t w = (size + 15) >> 4; /* 16-byte units */
  if (w <= 8) return 1 + w;
  w--;
  unsigned b = 63 - (unsigned)__builtin_clzll(w);
  return ((size_t)b << 2) + ((w >> (b - 2)) & 3) - 2;
}

static inline bool hak_is_power_of_two(size_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

static inline size_t hak_align_up(size_t x, size_t alignment) {
  return (x + alignment - 1) & ~(alignment - 1);
}

/* The inverse of an odd number modulo 2^64 (Newton's method: each step
 * doubles the number of correct low bits, starting from 3). */
static inline uint64_t hak_odd_inverse(uint64_t odd) {
  uint64_t inv = odd;
  for (int i = 0; i < 5; i++) inv *= 2 - odd * inv;
  return inv;
}

/* ---- free-list links ------------------------------------------------------
 * A link is read and written only here.  In the secure build it is stored
 * xored with a key of the page the block belongs to, and the block's second
 * word seals it: the stored link xored with the page's free tag.  A write
 * to a free block that does not know the tag breaks the seal (a change to
 * one word always does, to both but with a chance of 2^-62: the tag has 62
 * random bits), and malloc follows no link whose seal is broken, so that it
 * never returns an address a write after free chose.  Decoding is a single
 * xor, on the chain from one malloc to the next; the seal is checked beside
 * it (docs/security.md).
 * With valgrind the link word is opened only while it is read or written. */
#if HAKMEM_SECURE
/* Whether a free block's two words still are as hakmem wrote them.  A
 * live block's are not: malloc clears the second word, and page.c picks
 * keys that no stored link xors to the tag with. */
static inline bool hak_block_sealed(const hak_page_t* page, const hak_block_t* block) {
  return (block->link ^ block->seal) == page->free_tag;
}

/* hak_block_sealed of a block on a free list. */
static inline bool hak_free_block_sealed(const hak_page_t* page, const hak_block_t* block) {
  hak_track_open_read(block, sizeof(*block));
  bool sealed = hak_block_sealed(page, block);
  hak_track_close(block, sizeof(*block));
  return sealed;
}
#endif

/* The raw link: the next block's address (decoded, unchecked). */
static inline hak_block_t* hak_block_link(const hak_page_t* page, const hak_block_t* block) {
  hak_track_open_read(block, sizeof(block->link));
  uintptr_t link = block->link;
  hak_track_close(block, sizeof(block->link));
#if HAKMEM_SECURE
  return (hak_block_t*)(link ^ page->link_key);
#else
  (void)page;
  return (hak_block_t*)link;
#endif
}

/* The next block of a list of free blocks. */
static inline hak_block_t* hak_block_next(const hak_page_t* page, const hak_block_t* block) {
#if HAKMEM_SECURE
  if (hak_unlikely(!hak_free_block_sealed(page, block))) return hak_free_list_corrupt(block);
#endif
  return hak_block_link(page, block);
}

/* Links block (of page) to next; in the secure build also seals it, which
 * marks it free. */
static inline void hak_block_set_next(const hak_page_t* page, hak_block_t* block,
                                      const hak_block_t* next) {
  hak_track_open_write(block, sizeof(*block));
#if HAKMEM_SECURE
  uintptr_t link = (uintptr_t)next ^ page->link_key;
  block->link = link;
  /* volatile only so that gcc does not pack the two stores into one SSE
   * store, which takes four instructions where two stores take two. */
  *(volatile uintptr_t*)&block->seal = link ^ page->free_tag;
#else
  (void)page;
  block->link = (uintptr_t)next;
#endif
  hak_track_close(block, sizeof(*block));
}

/* Blocks of the page's open window built so far: the page's, but past
 * its capacity. */
static inline size_t hak_page_window_built(const hak_page_t* page) {
#if HAKMEM_SECURE
  return (size_t)__builtin_popcount(page->window.built);
#else
  (void)page;
  return 0;
#endif
}

/* A test every free can afford that is true of a block already free: in
 * the secure build, any such block; otherwise only the last one freed. */
static inline bool hak_block_looks_free(const hak_page_t* page, const hak_block_t* block) {
#if HAKMEM_SECURE
  return hak_block_sealed(page, block);
#else
  return block == page->free;
#endif
}

#if !HAKMEM_SECURE
/* Whether a trim parked the block (page.c): its page has parked blocks,
 * and the 4 KiB of the segment where it starts is one they start in. */
static inline bool hak_block_parked(const hak_segment_t* segment, const hak_page_t* page,
                                    const hak_block_t* block) {
  if (!(hak_load_relaxed(&segment->parked_pages) >> (page - segment->pages) & 1)) return false;
  size_t k = (size_t)((uintptr_t)block - (uintptr_t)segment) / HAK_OS_PAGE_MIN;
  return hak_load_relaxed(&segment->parked_os[k / 64]) >> (k % 64) & 1;
}
#endif

/* True when the block is certainly free already: on this thread's page, it
 * heads the free list, or the page has no block in use; on another
 * thread's, a trim parked it; in the secure build, any sealed block (a
 * huge page has none).
 * (Anything deeper would cost a list walk; other threads' pages cannot be
 * asked.) */
static inline bool hak_block_known_free(hak_segment_t* segment, const hak_page_t* page,
                                        const hak_block_t* block) {
  bool owner = hak_is_owner(segment);
  if (owner && page->used == 0) return true;
#if HAKMEM_SECURE
  return page->bin != HAK_BIN_HUGE && hak_block_looks_free(page, block);
#else
  return owner ? hak_block_looks_free(page, block) : hak_block_parked(segment, page, block);
#endif
}

/* Hands out block, the first of its page's free list, whose link is next. */
static inline void* hak_page_take(hak_page_t* page, hak_block_t* block, hak_block_t* next) {
  page->free = next;
  page->used++;
#if HAKMEM_SECURE
  block->seal = 0;
#endif
  hak_hot_stat(bin_allocs[page->bin], 1);
  hak_track_malloc(block, page->block_size, false);
  return block;
}

#if HAKMEM_SECURE
/* hak_page_pop when the seal of the page's first free block is broken:
 * reported, and the list ends there.  A tail call, so that the fast path
 * saves no registers for it. */
hak_cold void* hak_page_pop_unsealed(hak_page_t* page);
#endif

/* Takes the first free block of a page that has one. */
static inline void* hak_page_pop(hak_page_t* page) {
  hak_block_t* block = page->free;
#if HAKMEM_SECURE
  if (hak_unlikely(!hak_free_block_sealed(page, block))) return hak_page_pop_unsealed(page);
#endif
  return hak_page_take(page, block, hak_block_link(page, block));
}

/* Gives a block back to its page's free list (owner thread). */
static inline void hak_page_push(hak_page_t* page, hak_block_t* block) {
  hak_block_set_next(page, block, page->free);
  page->free = block;
  page->used--;
}

/* ---- fast paths --------------------------------------------------------- */
static inline void* hak_malloc_inline(size_t size) {
  hak_heap_t* heap = hak_heap_default;
  hak_hot_stat(malloc_calls, 1);
  if (hak_likely(size <= HAK_SMALL_SIZE_MAX)) {
    hak_page_t* page = hak_load_relaxed(&heap->pages_direct[(size + 7) >> 3]);
    if (hak_likely(page->free != NULL)) return hak_page_pop(page);
  } else if (hak_likely(size <= HAK_TABLE_SIZE_MAX)) {
    size_t bin = hak_bin_table[(size + HAK_BIN_TABLE_STEP - 1) / HAK_BIN_TABLE_STEP];
    hak_page_t* page = heap->pages[bin].first;
    if (hak_likely(page != NULL && page->free != NULL)) return hak_page_pop(page);
  } else if (size <= HAK_LARGE_OBJ_MAX) {
    hak_page_t* page = heap->pages[hak_bin_of(size)].first;
    if (page != NULL && page->free != NULL) return hak_page_pop(page);
  }
  return hak_malloc_generic(size, heap);
}

/* The block p was handed out as, and its page: p itself when it is a block
 * start, the block around it when an aligned allocation returned p from
 * inside one; NULL for any other pointer. */
static inline hak_block_t* hak_block_of(const void* p, hak_page_t** page) {
  hak_segment_t* segment = hak_ptr_segment(p);
  if (hak_unlikely(!hak_segment_map_contains(segment))) return NULL;
  *page = hak_segment_page_of(segment, p);
  if (hak_likely(hak_is_block_start(*page, p))) return (hak_block_t*)p;
  return hak_aligned_block_of(segment, *page, p);
}

/* The owner's usual free of a block of its page: onto the free list, at
 * once.  The page's last block in use goes to hak_free_last.  Not a full
 * page's block, nor one that looks free already (a double free): false for
 * those. */
static inline bool hak_free_local_quick(hak_page_t* page, hak_block_t* block) {
  if (page->in_full) return false;
  if (hak_unlikely(page->used <= 1)) {
    hak_free_last(block);
    return true;
  }
  if (hak_block_looks_free(page, block)) return false;
  hak_hot_stat(free_calls, 1);
  hak_hot_stat(bin_frees[page->bin], 1);
  hak_track_free(block);
  hak_page_push(page, block);
  return true;
}

/* Frees a block of page, one that hakmem handed out (it may be free
 * already: that is caught here). */
static inline void hak_free_block(hak_segment_t* segment, hak_page_t* page, hak_block_t* block) {
  if (hak_likely(hak_is_owner(segment) && hak_free_local_quick(page, block))) return;
  hak_hot_stat(free_calls, 1);
  hak_hot_stat(bin_frees[page->bin], 1);
  hak_free_generic(segment, page, block);
}

static inline void hak_free_inline(void* p) {
  hak_segment_t* segment = hak_ptr_segment(p);
  if (hak_unlikely(!hak_segment_map_contains(segment))) {
    if (p != NULL) hak_error("free(): invalid pointer", p);
    return;
  }
  hak_page_t* page = hak_segment_page_of(segment, p);
  /* hak_is_block_start's test as the owner makes it, reading the capacity
   * plainly (the secure build's open window aside: hak_free_slow's). */
  if (hak_likely(hak_is_owner(segment) && hak_block_index(page, p) < page->capacity &&
                 hak_free_local_quick(page, (hak_block_t*)p)))
    return;
  hak_free_slow(p);
}

#pragma GCC visibility pop

#endif
