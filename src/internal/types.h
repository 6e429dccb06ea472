/* hakmem internal types: blocks, pages, segments, heaps, and the constants
 * that shape them.  See docs/architecture.md for the picture. */
#ifndef HAKMEM_TYPES_H
#define HAKMEM_TYPES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Build variants (CMake options HAKMEM_SECURE and HAKMEM_DEBUG). */
#ifndef HAKMEM_SECURE
#define HAKMEM_SECURE 0
#endif
#ifndef HAKMEM_DEBUG
#define HAKMEM_DEBUG 0
#endif

/* ---- segments and pages -------------------------------------------------
 * Memory comes from the OS in segments aligned to their size, so that
 * (p - 1) & ~HAK_SEGMENT_MASK finds the header of any block p (the "- 1"
 * lets a huge block start exactly at the end of its segment's first chunk,
 * which is how alignments above the segment size are honoured). */
#define HAK_SEGMENT_SHIFT 22 /* 4 MiB */
#define HAK_SEGMENT_SIZE ((size_t)1 << HAK_SEGMENT_SHIFT)
#define HAK_SEGMENT_MASK (HAK_SEGMENT_SIZE - 1)

#define HAK_SMALL_PAGE_SHIFT 16  /* 64 KiB pages, 64 per segment */
#define HAK_MEDIUM_PAGE_SHIFT 19 /* 512 KiB pages, 8 per segment */
#define HAK_LARGE_PAGE_SHIFT HAK_SEGMENT_SHIFT /* one page per segment */
#define HAK_HUGE_PAGE_SHIFT 63   /* one page, any size: index is always 0 */
#define HAK_MAX_PAGES_PER_SEGMENT (HAK_SEGMENT_SIZE >> HAK_SMALL_PAGE_SHIFT)
_Static_assert(HAK_MAX_PAGES_PER_SEGMENT <= 64, "segment bitmaps have one bit per page");

/* Largest block size of each page kind.  A medium page holds at least eight
 * blocks: with four, a bin's only page filled and emptied every few
 * operations when blocks of its size were few.  A small page holds at least
 * 64 (56 in page 0): with sixteen, the live blocks of a popular 1-8 KiB
 * class spread over several pages, and malloc took the current page's
 * blocks, freed long before and cold, while the ones just freed waited on
 * the other pages (random_mixed: 1.24x; docs/performance.md). */
#define HAK_SMALL_OBJ_MAX (((size_t)1 << HAK_SMALL_PAGE_SHIFT) / 64)  /* 1 KiB */
#define HAK_MEDIUM_OBJ_MAX (((size_t)1 << HAK_MEDIUM_PAGE_SHIFT) / 8) /* 64 KiB */
#define HAK_LARGE_OBJ_MAX (HAK_SEGMENT_SIZE / 2)                     /* 2 MiB */
/* The bins above this size are colored (HAK_COLOR_SLACK, below). */
#define HAK_COLOR_MIN ((size_t)8 << 10)
/* Blocks of the bins above HAK_COLOR_MIN are this much bigger than
 * their size class.  Those classes are multiples of 2 KiB, so without it
 * every block of a page would start in the same few cache sets and evict
 * the others (mid_large: 1.35x with it, docs/performance.md).  It keeps
 * blocks 64-byte aligned; aligned_alloc above that takes an interior
 * pointer (see hak_block_of). */
#define HAK_COLOR_SLACK ((size_t)64)

/* Requests up to this size take the direct-page fast path. */
#define HAK_SMALL_SIZE_MAX 1024
#define HAK_DIRECT_COUNT (HAK_SMALL_SIZE_MAX / 8 + 1)
/* Above it and up to HAK_TABLE_SIZE_MAX, a table in steps of
 * HAK_BIN_TABLE_STEP bytes gives the bin inline (size classes above 1 KiB
 * are multiples of 256). */
#define HAK_TABLE_SIZE_MAX ((size_t)16 << 10)
#define HAK_BIN_TABLE_STEP 128

/* The smallest OS page Linux has (the kernel's own is hak_os_page_size()).
 * Segment headers and page starts are multiples of it, which (with the
 * size classes) makes every block of a class aligned to the largest power
 * of two dividing its size, up to this value. */
#define HAK_OS_PAGE_MIN ((size_t)4096)

/* No request may exceed this (ptrdiff_t must be able to span a block). */
#define HAK_MAX_REQUEST ((size_t)PTRDIFF_MAX - 2 * HAK_SEGMENT_SIZE)

/* ---- size classes (bins) ------------------------------------------------
 * Bin 1 holds 8-byte blocks; bins 2..9 hold 16..128 in steps of 16; above,
 * four bins per power of two (160, 192, 224, 256, 320, ...), up to
 * HAK_LARGE_OBJ_MAX in bin HAK_BIN_LARGE_MAX.  Bigger requests are huge. */
/* The secure build's free blocks carry a second word (see hak_block_t), so
 * its smallest bin is the 16-byte one. */
#define HAK_BIN_MIN (HAKMEM_SECURE ? 2 : 1)
#define HAK_BIN_LARGE_MAX 65
#define HAK_BIN_HUGE (HAK_BIN_LARGE_MAX + 1)
#define HAK_BIN_FULL (HAK_BIN_HUGE + 1) /* queue of pages with no free block */
#define HAK_BIN_COUNT (HAK_BIN_FULL + 1)

typedef enum hak_page_kind_e {
  HAK_PAGE_SMALL,
  HAK_PAGE_MEDIUM,
  HAK_PAGE_LARGE,
  HAK_PAGE_HUGE,
} hak_page_kind_t;

/* A free block.  Its first word links it into a list; read and write it only
 * through hak_block_next and hak_block_set_next, which encode it in the
 * secure build.  There the second word seals the first with the page's
 * free tag, which is how an overwritten link, and a double free, are told
 * from a free block and a live one. */
typedef struct hak_block_s {
  uintptr_t link;
#if HAKMEM_SECURE
  uintptr_t seal; /* link ^ its page's free_tag */
#endif
} hak_block_t;

/* What the purger asks of a heap's owner, who does it on its next slow
 * path (heap.c, heap_ask_if_idle). */
typedef enum hak_purger_ask_e {
  HAK_ASK_NOTHING = 0,
  HAK_ASK_SWEEP = 1,   /* busy: free the pages of bins no longer used (page.c) */
  HAK_ASK_COLLECT = 2, /* nearly idle: give back every empty page */
} hak_purger_ask_t;

/* A full page asks the next remote free to tell its heap, so the owner
 * learns it has room again without scanning.  The state lives in the low
 * two bits of page->xthread_free. */
typedef enum hak_delayed_e {
  HAK_DELAYED_NONE = 0,    /* not full: remote frees just push */
  HAK_DELAYED_USE = 1,     /* full: the next remote free goes to the heap */
  HAK_DELAYED_FREEING = 2, /* a remote thread is handing a block to the heap */
  HAK_DELAYED_NEVER = 3,   /* abandoned: no heap to tell */
} hak_delayed_t;

struct hak_heap_s;

/* A page's in_use.  A kept page is the empty last page of a large bin (of
 * blocks up to 256 KiB), left in its queue so that an alloc/free loop does
 * not make and free a segment each time, with its free list set aside in
 * its segment: its memory is the purger's, under the heap's purge lock,
 * until the owner takes the page back. */
typedef enum hak_page_use_e {
  HAK_PAGE_FREE = 0,
  HAK_PAGE_IN_USE = 1,
  HAK_PAGE_KEPT = 2,
} hak_page_use_t;

#if HAKMEM_SECURE
/* The secure build hands out blocks of an OS page or more in an order
 * drawn for eight at a time, a window, and builds each only when it is
 * needed (page.c, window_build).  The blocks of an open window are past
 * the page's capacity until the last is built; then the window closes
 * (all zero).  Other threads' frees read it (hak_is_block_start): eight
 * bytes, written and read whole. */
#define HAK_WINDOW_BLOCKS 8
typedef struct __attribute__((aligned(8))) hak_window_s {
  uint32_t order; /* offsets from base of the blocks left, 4 bits each, next lowest */
  uint16_t base;  /* the window's first block: the page's capacity */
  uint8_t left;   /* its blocks not built yet */
  uint8_t built;  /* bit k: block base + k is built */
} hak_window_t;
#endif

/* One cache line (two in the secure build): everything the fast paths
 * touch is here. */
typedef struct hak_page_s {
  /* Owner thread only. */
  hak_block_t* free;     /* malloc pops, the owner's frees push */
  uint32_t used;         /* blocks handed out and not yet collected back */
  /* Blocks built (the secure build's open window aside); other threads
   * read it too (hak_page_capacity). */
  uint16_t capacity;
  uint16_t reserved;     /* blocks that fit in the page */
  uint8_t in_use;        /* taken from the segment: a hak_page_use_t */
  uint8_t in_full;       /* in the heap's full queue */
  uint8_t bin;
  uint8_t div_shift;
  uint32_t block_size;   /* 0 in a huge page: see hak_usable_size */
  uint8_t* start;        /* first block */
  /* off is a block offset iff rotr(off * div_inv, div_shift) < reserved:
   * an exact, division-free check against interior pointers. */
  uint64_t div_inv;
  /* Other threads' frees | hak_delayed_t. */
  _Atomic(uintptr_t) xthread_free;
  /* The owner's page queue. */
  struct hak_page_s* next;
  struct hak_page_s* prev;
#if HAKMEM_SECURE
  /* Random per page (page.c, page_set_keys): a free block's link is stored
   * as next ^ link_key, and its second word is that xored with free_tag
   * (internal.h, hak_block_set_next). */
  uintptr_t link_key;
  uintptr_t free_tag;
  hak_window_t window; /* page.c, window_build */
  /* The owner's frees of blocks of the open window (hak_page_window_return). */
  uint8_t window_returns;
#endif
} __attribute__((aligned(64))) hak_page_t;

typedef struct hak_segment_s {
  _Atomic(uintptr_t) thread_id; /* owner; 0 while abandoned */
  size_t segment_size;          /* bytes mapped from the segment start */
  size_t header_size;           /* bytes before the first blocks (hak_segment_first_page) */
  size_t page_shift;
  hak_page_kind_t kind;
  uint32_t page_count;
  uint32_t used_pages;
  _Atomic(struct hak_heap_s*) heap; /* NULL while abandoned */
  /* Heap's list of all its segments, or the global abandoned list. */
  struct hak_segment_s* next;
  struct hak_segment_s* prev;
  /* Heap's list of segments of this kind with a free page. */
  struct hak_segment_s* free_next;
  struct hak_segment_s* free_prev;
  bool in_free_list;
  /* An aligned allocation handed out a pointer inside one of its blocks
   * (set by the owner, read by any thread freeing such a pointer). */
  _Atomic(bool) has_aligned;
  /* Under the heap's purge lock: */
  uint64_t purged_pages; /* bit i: free or kept page i's memory given back */
  /* When free or kept page i was freed or kept (hak_os_clock_ms). */
  uint64_t page_idle_since_ms[HAK_MAX_PAGES_PER_SEGMENT];
  /* Owner only, medium segments: the heap's page searches when in-use
   * page i last went empty (page.c, retired_take). */
  uint64_t page_emptied_at[HAK_SEGMENT_SIZE >> HAK_MEDIUM_PAGE_SHIFT];
  /* Free blocks parked by a trim (page.c, park_free_runs; never in the
   * secure build).  Bit i of parked_pages: in-use page i has some; bit k of
   * parked_os: the segment's k-th 4 KiB was given back, and the free blocks
   * that start in it are off their page's free list until it runs dry.
   * Written by the owner; other threads' frees read them. */
  _Atomic(uint64_t) parked_pages;
  _Atomic(uint64_t) parked_os[HAK_SEGMENT_SIZE / HAK_OS_PAGE_MIN / 64];
  /* Owner only: in-use page i's free list and count as its last trim left
   * them (page.c, trim_mark). */
  uint64_t trim_marks[HAK_MAX_PAGES_PER_SEGMENT];
  /* Its kept page's free list and built blocks, set aside while kept. */
  hak_block_t* kept_free;
  uint16_t kept_capacity;
#if HAKMEM_SECURE
  hak_window_t kept_window;
#endif
  hak_page_t pages[];
} hak_segment_t;

typedef struct hak_page_queue_s {
  hak_page_t* first;
  hak_page_t* last;
  size_t block_size;
} hak_page_queue_t;

typedef struct hak_segment_list_s {
  hak_segment_t* first;
  hak_segment_t* last;
} hak_segment_list_t;

typedef struct hak_heap_s {
  /* pages_direct[(size + 7) / 8] is a page of the right bin for size, or
   * the static empty page: the fast path never tests for NULL.  The purger
   * sets them all to the empty page when it asks the owner to collect
   * (heap.c), so that the next small malloc takes the slow path, which
   * answers; that path points its entry back. */
  _Atomic(hak_page_t*) pages_direct[HAK_DIRECT_COUNT];
  hak_page_queue_t pages[HAK_BIN_COUNT];
  _Atomic(hak_block_t*) thread_delayed_free;
  uintptr_t thread_id;
  hak_segment_list_t segments;      /* every segment this heap owns */
  hak_segment_list_t small_free;    /* small segments with a free page */
  hak_segment_list_t medium_free;   /* medium segments with a free page */
  struct hak_heap_s* next_unused;   /* heap pool link */
#if HAKMEM_SECURE
  uint64_t random; /* state for page keys and free-list order */
#endif
  /* Small and medium bins (a bit each) whose only page went empty since
   * the purger's last tick, and between the two ticks before (page.c). */
  uint64_t retired_recent;
  uint64_t retired_before;
  /* Last, as they outlive the heap's reuse (see hak_heap_init).  The purger
   * may give back the memory of free and kept pages in the heap's segments;
   * it and the owner change the segment list, which pages are in use and
   * what is purged only with this lock held. */
  _Atomic(uint64_t) purge_due_ms; /* 0: nothing to purge */
  /* Page searches by the owner, and their count when the purger last looked
   * (or the owner set purge_due_ms); what the purger asks of the owner, a
   * hak_purger_ask_t (see heap.c). */
  _Atomic(uint64_t) page_searches;
  _Atomic(uint64_t) page_searches_seen;
  _Atomic(uint8_t) purger_asks;
  _Atomic(bool) purge_lock;
  /* The full queue and the delayed list are the owner's, but the purger
   * frees the full pages that other threads emptied (heap.c).  Each says
   * when it is at them: the owner with plain stores, the purger with a
   * store and a barrier on every thread of the process, so that the
   * owner's slow paths pay no atomic instruction for it. */
  _Atomic(bool) owner_at_pages;
  _Atomic(bool) purger_at_pages;
  /* When the purger looks for full pages that other threads emptied (0:
   * not asked), and the owner's page searches when it was asked. */
  _Atomic(uint64_t) emptied_due_ms;
  _Atomic(uint64_t) emptied_searches;
  struct hak_heap_s* next_all; /* every heap ever made (never unlinked) */
} hak_heap_t;

#endif
