/* The slow path: size classes, page queues, collecting freed blocks,
 * extending free lists, finding or making a page, retiring empty pages. */
#define _GNU_SOURCE
#include "internal/internal.h"

#include <sched.h>

/* ---- size classes ---------------------------------------------------------- */

/* The size class of a bin: the largest request it serves. */
static size_t bin_class_size(size_t bin) {
  if (bin == 1) return 8;
  if (bin <= 9) return (bin - 1) * 16;
  size_t b = (bin + 2) >> 2;
  size_t k = (bin + 2) & 3;
  return ((5 + k) << (b - 2)) * 16;
}

size_t hak_bin_block_size(size_t bin) {
  size_t size = bin_class_size(bin);
  return size > HAK_COLOR_MIN ? size + HAK_COLOR_SLACK : size;
}

/* Bin 0 has no pages: an unfilled entry leads to the slow path. */
uint8_t hak_bin_table[HAK_TABLE_SIZE_MAX / HAK_BIN_TABLE_STEP + 1];

void hak_bin_table_init(void) {
  for (size_t i = 1; i < sizeof(hak_bin_table); i++)
    hak_bin_table[i] = (uint8_t)hak_bin_of(i * HAK_BIN_TABLE_STEP);
}

static hak_page_kind_t kind_of(size_t bin) {
  size_t size = bin_class_size(bin);
  if (size <= HAK_SMALL_OBJ_MAX) return HAK_PAGE_SMALL;
  if (size <= HAK_MEDIUM_OBJ_MAX) return HAK_PAGE_MEDIUM;
  return HAK_PAGE_LARGE;
}

/* ---- parked blocks -------------------------------------------------------------
 * A trim gives back the OS pages that only free blocks cover, wherever they
 * are in the page; the free blocks that start in them are parked: off the
 * free list (their links went with the memory), counted in the segment's
 * parked_os bits, and put back when the free list runs dry (page_has_room).
 * Not in the secure build: a parked block has no seal, so a second free of
 * it would pass free's test. */

static uint64_t page_bit(const hak_segment_t* s, const hak_page_t* page) {
  return (uint64_t)1 << (page - s->pages);
}

static bool page_has_parked(const hak_page_t* page) {
  const hak_segment_t* s = hak_ptr_segment(page);
  return (hak_load_relaxed(&s->parked_pages) & page_bit(s, page)) != 0;
}

static bool os_parked(const hak_segment_t* s, size_t k) {
  return hak_load_relaxed(&s->parked_os[k / 64]) >> (k % 64) & 1;
}

static void os_set_parked(hak_segment_t* s, size_t k, bool parked) {
  uint64_t bit = (uint64_t)1 << (k % 64);
  uint64_t word = hak_load_relaxed(&s->parked_os[k / 64]);
  hak_store_relaxed(&s->parked_os[k / 64], parked ? word | bit : word & ~bit);
}

/* The 4 KiB units of the segment, [*first, *end), that the page's built
 * blocks span. */
static void page_units(const hak_page_t* page, size_t* first, size_t* end) {
  uintptr_t s = (uintptr_t)hak_ptr_segment(page);
  uintptr_t start = (uintptr_t)page->start;
  *first = (start - s) / HAK_OS_PAGE_MIN;
  *end = (start + (size_t)page->capacity * page->block_size - s + HAK_OS_PAGE_MIN - 1) /
         HAK_OS_PAGE_MIN;
}

/* The page's built blocks that start in unit k: [*lo, *hi). */
static void blocks_in_unit(const hak_page_t* page, size_t k, size_t* lo, size_t* hi) {
  uintptr_t from = (uintptr_t)hak_ptr_segment(page) + k * HAK_OS_PAGE_MIN;
  uintptr_t start = (uintptr_t)page->start;
  size_t bsize = page->block_size;
  *lo = from <= start ? 0 : (from - start + bsize - 1) / bsize;
  *hi = (from + HAK_OS_PAGE_MIN - start + bsize - 1) / bsize;
  if (*hi > page->capacity) *hi = page->capacity;
  if (*lo > *hi) *lo = *hi;
}

/* By the page's place in its segment, not by its fields: a page freed
 * keeps its bits (nothing reads them) until it is made again, and its
 * fields are gone by then. */
static void page_clear_parked(hak_page_t* page) {
  hak_segment_t* s = hak_ptr_segment(page);
  uint64_t pages = hak_load_relaxed(&s->parked_pages);
  if (!(pages & page_bit(s, page))) return;
  size_t units = ((size_t)1 << s->page_shift) / HAK_OS_PAGE_MIN;
  size_t first = (size_t)(page - s->pages) * units;
  for (size_t k = first; k < first + units; k++) os_set_parked(s, k, false);
  hak_store_relaxed(&s->parked_pages, pages & ~page_bit(s, page));
}

#if HAKMEM_DEBUG
size_t hak_page_parked_blocks(const hak_page_t* page) {
  if (!page_has_parked(page)) return 0;
  const hak_segment_t* s = hak_ptr_segment(page);
  size_t first, end, count = 0;
  page_units(page, &first, &end);
  for (size_t k = first; k < end; k++) {
    if (!os_parked(s, k)) continue;
    size_t lo, hi;
    blocks_in_unit(page, k, &lo, &hi);
    count += hi - lo;
  }
  return count;
}
#endif

/* Puts the parked blocks back on the page's free list, which is empty,
 * lowest first: their memory comes back, zeroed, as they are linked. */
static void page_unpark(hak_page_t* page) {
  hak_segment_t* s = hak_ptr_segment(page);
  size_t first, end;
  page_units(page, &first, &end);
  hak_block_t* head = page->free;
  for (size_t k = end; k-- > first;) {
    if (!os_parked(s, k)) continue;
    size_t lo, hi;
    blocks_in_unit(page, k, &lo, &hi);
    for (size_t i = hi; i-- > lo;) {
      hak_block_t* block = (hak_block_t*)(page->start + i * page->block_size);
      hak_block_set_next(page, block, head);
      head = block;
    }
  }
  page_clear_parked(page);
  page->free = head;
}

/* ---- pages ----------------------------------------------------------------- */

void hak_page_init(hak_page_t* page, uint8_t* start, size_t area, size_t block_size, size_t bin) {
  page_clear_parked(page);
  hak_segment_t* s = hak_ptr_segment(page);
  s->trim_marks[page - s->pages] = 0; /* never trimmed */
  page->free = NULL;
  page->used = 0;
  hak_page_set_capacity(page, 0);
  page->reserved = (uint16_t)(area / block_size);
  page->in_full = 0;
  page->bin = (uint8_t)bin;
  page->block_size = bin == HAK_BIN_HUGE ? 0 : (uint32_t)block_size;
  page->start = start;
  unsigned shift = (unsigned)__builtin_ctzll(block_size);
  page->div_inv = hak_odd_inverse(block_size >> shift);
  page->div_shift = (uint8_t)shift;
#if HAKMEM_SECURE
  hak_page_window_store(page, (hak_window_t){0});
#endif
  hak_store_relaxed(&page->xthread_free, 0);
  page->next = page->prev = NULL;
}

#if HAKMEM_SECURE
/* splitmix64: cheap, and seeded from the kernel per heap. */
static uint64_t heap_random(hak_heap_t* heap) {
  uint64_t z = (heap->random += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The tag's top bit is clear and the key's set, so that no stored link
 * (a block address below 2^63, or NULL, xored with the key) xors to the
 * tag with 0, which malloc leaves in the second word, nor is the tag 0,
 * which a zeroed block's two words xor to: no live block is sealed unless
 * its program wrote the tag there. */
static void page_set_keys(hak_heap_t* heap, hak_page_t* page) {
  const uintptr_t top = (uintptr_t)1 << 63;
  page->link_key = heap_random(heap) | top;
  page->free_tag = (heap_random(heap) & ~top) | 1;
}

/* The secure build hands out a page's new blocks in random order, so that
 * where the next block lands cannot be predicted from the last. */
#define LINK_MAX (HAK_OS_PAGE_MIN / 16) /* blocks are 16 bytes or more here */

/* order[0 .. n - 1]: 0 .. n - 1 in random order, in one pass: each i
 * swaps places with one of the first i + 1 drawn at random.  Each draw takes
 * 16 bits, four to a heap_random, and makes an index below i + 1 by a
 * multiply rather than a division; with n at most LINK_MAX (256) that is
 * off from uniform by under 0.4 %. */
static void shuffle(hak_heap_t* heap, uint16_t* order, size_t n) {
  uint64_t bits = 0;
  for (size_t i = 0; i < n; i++) {
    if (i % 4 == 0) bits = heap_random(heap);
    size_t j = (size_t)((bits & 0xFFFF) * (i + 1) >> 16);
    bits >>= 16;
    order[i] = (uint16_t)i;
    uint16_t t = order[j];
    order[j] = order[i];
    order[i] = t;
  }
}

/* Links the n blocks from first in random order. */
static void link_blocks(hak_heap_t* heap, hak_page_t* page, uint8_t* first, size_t n) {
  size_t bsize = page->block_size;
  uint16_t order[LINK_MAX];
  shuffle(heap, order, n);
  for (size_t i = 0; i + 1 < n; i++)
    hak_block_set_next(page, (hak_block_t*)(first + order[i] * bsize),
                       (hak_block_t*)(first + order[i + 1] * bsize));
  hak_block_set_next(page, (hak_block_t*)(first + order[n - 1] * bsize), page->free);
  page->free = (hak_block_t*)(first + order[0] * bsize);
}

/* A block of an OS page or more is built only when it is needed, in an
 * order drawn for a window of HAK_WINDOW_BLOCKS blocks at a time.  Linking
 * a shuffled stretch of them at once wrote into each, so that eight blocks
 * of up to 256 KiB were resident before the first was used (mid_large:
 * 1.6x the memory and 0.8x the speed, docs/security.md). */
static hak_window_t window_open(hak_heap_t* heap, hak_page_t* page) {
  size_t n = (size_t)page->reserved - page->capacity;
  if (n > HAK_WINDOW_BLOCKS) n = HAK_WINDOW_BLOCKS;
  hak_assert(n > 0);
  uint16_t order[HAK_WINDOW_BLOCKS];
  shuffle(heap, order, n);
  uint32_t packed = 0;
  for (size_t i = n; i-- > 0;) packed = packed << 4 | order[i];
  page->window_returns = 0;
  return (hak_window_t){.order = packed, .base = page->capacity, .left = (uint8_t)n};
}

/* The window's blocks, built or not (none when it is closed). */
static unsigned window_blocks(const hak_window_t* w) {
  return w->left + (unsigned)__builtin_popcount(w->built);
}

/* The blocks of the window not built yet, as bits from its base. */
static unsigned window_unbuilt(const hak_window_t* w) {
  return ((1u << window_blocks(w)) - 1) & ~(unsigned)w->built;
}

/* Builds the window's next block.  The window's blocks stay past the
 * capacity, a free of one not built yet caught (hak_is_block_start), until
 * the last is built: the capacity then takes them in, before the window
 * closes, and before the next one opens. */
static void window_build(hak_heap_t* heap, hak_page_t* page) {
  hak_window_t w = page->window;
  if (w.left == 0) w = window_open(heap, page);
  unsigned k = w.order & 15;
  hak_block_t* block = (hak_block_t*)(page->start + (size_t)(w.base + k) * page->block_size);
  hak_block_set_next(page, block, page->free);
  page->free = block;
  w.order >>= 4;
  w.left--;
  w.built |= (uint8_t)(1u << k);
  if (w.left == 0) {
    hak_page_set_capacity(page, (size_t)w.base + window_blocks(&w));
    w = (hak_window_t){0};
  }
  hak_page_window_store(page, w);
}

/* Closes the page's open window, whose blocks below end the capacity has
 * taken in: those not built yet are built now, in the window's order, after
 * the free list's last block, so that the blocks freed last stay first. */
static void window_close(hak_page_t* page, size_t end) {
  hak_window_t w = page->window;
  hak_block_t* tail = NULL;
  for (hak_block_t* b = page->free; b != NULL; b = hak_block_next(page, b)) tail = b;
  for (; w.left > 0; w.left--, w.order >>= 4) {
    size_t i = (size_t)w.base + (w.order & 15);
    if (i >= end) continue;
    hak_block_t* block = (hak_block_t*)(page->start + i * page->block_size);
    hak_block_set_next(page, block, NULL);
    if (tail == NULL) page->free = block;
    else hak_block_set_next(page, tail, block);
    tail = block;
  }
  hak_page_window_store(page, (hak_window_t){0});
}

/* A bin with a few live blocks of 4 KiB or more recycles its window's
 * built blocks and may never build the rest, so the window never closes,
 * and each free of its blocks, past the capacity, takes the slow path (and
 * a branch of free's fast path that mispredicts).  After a window's worth
 * of such frees the window closes: its blocks not built yet are built,
 * which touches the first OS page of each. */
void hak_page_window_return(hak_page_t* page) {
  if (++page->window_returns < HAK_WINDOW_BLOCKS) return;
  size_t end = (size_t)page->window.base + window_blocks(&page->window);
  hak_page_set_capacity(page, end);
  window_close(page, end);
}
#else
#define LINK_MAX SIZE_MAX

static void link_blocks(hak_heap_t* heap, hak_page_t* page, uint8_t* first, size_t n) {
  (void)heap;
  size_t bsize = page->block_size;
  uint8_t* last = first + (n - 1) * bsize;
  for (uint8_t* b = first; b < last; b += bsize)
    hak_block_set_next(page, (hak_block_t*)b, (hak_block_t*)(b + bsize));
  hak_block_set_next(page, (hak_block_t*)last, page->free);
  page->free = (hak_block_t*)first;
}
#endif

/* Threads the next few KiB of never-used blocks onto the free list, so a
 * fresh page costs no more than it is used.  The secure build takes at
 * least EXTEND_MIN blocks, so that their order has something to shuffle,
 * and blocks of an OS page or more one at a time from a window.
 * A kept page whose memory the purger left alone gets its free list back
 * instead, as it was: its blocks are warm, the ones freed last first (to
 * relink them would touch blocks the page never used, and the secure build
 * would hand those out in its random order). */
#define EXTEND_MIN (HAKMEM_SECURE ? 8 : 1)

static void page_extend(hak_heap_t* heap, hak_page_t* page) {
  if (page->in_use == HAK_PAGE_KEPT) {
    /* Its list as it was, and its parked blocks (the block freed last, at
     * least, is on the list); if the purger gave its memory back meanwhile,
     * it starts afresh. */
    if (hak_segment_page_unkeep(page)) return;
    page_clear_parked(page);
  }
  size_t bsize = page->block_size;
#if HAKMEM_SECURE
  if (bsize >= HAK_OS_PAGE_MIN) {
    window_build(heap, page);
    return;
  }
#endif
  size_t n = bsize >= HAK_OS_PAGE_MIN / EXTEND_MIN ? EXTEND_MIN : HAK_OS_PAGE_MIN / bsize;
  size_t left = (size_t)page->reserved - page->capacity;
  if (n > left) n = left;
  if (n > LINK_MAX) n = LINK_MAX;
  link_blocks(heap, page, page->start + (size_t)page->capacity * bsize, n);
  hak_page_set_capacity(page, page->capacity + n);
}

void hak_page_collect(hak_page_t* page) {
  uintptr_t tf = hak_load_relaxed(&page->xthread_free);
  while (hak_thread_free_list(tf) != NULL &&
         !atomic_compare_exchange_weak_explicit(&page->xthread_free, &tf,
                                                (uintptr_t)hak_thread_free_state(tf),
                                                memory_order_acquire, memory_order_relaxed)) {
  }
  hak_block_t* list = hak_thread_free_list(tf);
  if (list == NULL) return;
  /* Usually the page's own list is empty (that is why it is collected),
   * and the list just taken becomes it as it is. */
  if (page->free != NULL) {
    hak_block_t* tail = list;
    for (hak_block_t* next; (next = hak_block_next(page, tail)) != NULL;) tail = next;
    hak_block_set_next(page, tail, page->free);
  }
  page->free = list;
  page->used -= hak_thread_free_count(tf);
}

/* Blocks a page can hold at most: 8-byte blocks on a small page. */
#define PAGE_BLOCKS_MAX (((size_t)1 << HAK_SMALL_PAGE_SHIFT) / 8)

/* Where the page's blocks that may be built end, and in free_bits its free
 * blocks and, in the secure build, its open window's blocks not built yet:
 * trimming closes that window. */
static size_t trim_free_bits(hak_page_t* page, uint64_t* free_bits) {
  size_t end = page->capacity;
  for (hak_block_t* b = page->free; b != NULL; b = hak_block_next(page, b)) {
    size_t i = (size_t)((uint8_t*)b - page->start) / page->block_size;
    free_bits[i / 64] |= (uint64_t)1 << (i % 64);
  }
  if (page_has_parked(page)) {
    const hak_segment_t* s = hak_ptr_segment(page);
    size_t first, units_end;
    page_units(page, &first, &units_end);
    for (size_t k = first; k < units_end; k++) {
      size_t lo, hi;
      if (os_parked(s, k)) blocks_in_unit(page, k, &lo, &hi);
      else lo = hi = 0;
      for (size_t i = lo; i < hi; i++) free_bits[i / 64] |= (uint64_t)1 << (i % 64);
    }
  }
#if HAKMEM_SECURE
  unsigned unbuilt = window_unbuilt(&page->window);
  size_t base = page->window.base;
  for (unsigned k = 0; k < HAK_WINDOW_BLOCKS; k++)
    if (unbuilt >> k & 1) free_bits[(base + k) / 64] |= (uint64_t)1 << ((base + k) % 64);
  if (page->window.left != 0) end = base + window_blocks(&page->window);
#endif
  return end;
}

static bool bit_set(const uint64_t* bits, size_t i) {
  return bits[i / 64] >> (i % 64) & 1;
}

/* Sets or clears the page's bit in parked_pages by its units. */
static void page_note_parked(hak_page_t* page) {
  hak_segment_t* s = hak_ptr_segment(page);
  size_t first, end;
  page_units(page, &first, &end);
  bool any = false;
  for (size_t k = first; k < end && !any; k++) any = os_parked(s, k);
  uint64_t pages = hak_load_relaxed(&s->parked_pages);
  hak_store_relaxed(&s->parked_pages, any ? pages | page_bit(s, page) : pages & ~page_bit(s, page));
}

/* The page's units that only blocks from keep on overlap are parked no
 * longer: those blocks are about to be un-built. */
static void unpark_from(hak_page_t* page, size_t keep) {
  hak_segment_t* s = hak_ptr_segment(page);
  uintptr_t start = (uintptr_t)page->start;
  size_t first, end;
  page_units(page, &first, &end);
  for (size_t k = first; k < end; k++) {
    uintptr_t from = (uintptr_t)s + k * HAK_OS_PAGE_MIN;
    if (from >= start + keep * page->block_size) os_set_parked(s, k, false);
  }
}

#if !HAKMEM_SECURE
/* Units a page can span: a large page's, the whole segment. */
#define PAGE_UNITS_MAX (HAK_SEGMENT_SIZE / HAK_OS_PAGE_MIN)

/* Parks the free blocks below keep that start in OS pages only free blocks
 * cover, and marks in fresh (bit u: the page's unit first + u) the units
 * parked now, whose memory is still to be given back.  A unit parked
 * before is not given back again, unless it holds no block start and a
 * block handed out since covers it (a big block on the free list, whose
 * inside a trim gave back). */
static void park_free_runs(hak_page_t* page, const uint64_t* free_bits, size_t keep,
                           uint64_t* fresh) {
  hak_segment_t* s = hak_ptr_segment(page);
  uintptr_t base = (uintptr_t)s;
  uintptr_t start = (uintptr_t)page->start;
  size_t bsize = page->block_size;
  size_t first, end;
  page_units(page, &first, &end);
  for (size_t k = first; k < end; k++) {
    size_t lo, hi;
    blocks_in_unit(page, k, &lo, &hi);
    if (lo < hi || !os_parked(s, k)) continue;
    size_t covering = (base + k * HAK_OS_PAGE_MIN - start) / bsize;
    if (!bit_set(free_bits, covering)) os_set_parked(s, k, false);
  }
  size_t os_units = hak_os_page_size() / HAK_OS_PAGE_MIN;
  for (size_t i = 0; i < keep;) {
    if (!bit_set(free_bits, i)) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < keep && bit_set(free_bits, j)) j++;
    /* The whole OS pages of the run. */
    uintptr_t from = hak_align_up(start + i * bsize, os_units * HAK_OS_PAGE_MIN);
    uintptr_t to = (start + j * bsize) & ~(uintptr_t)(os_units * HAK_OS_PAGE_MIN - 1);
    for (size_t k = (from - base) / HAK_OS_PAGE_MIN; from < to && k < (to - base) / HAK_OS_PAGE_MIN;
         k += os_units) {
      if (os_parked(s, k)) continue;
      for (size_t u = k; u < k + os_units; u++) {
        os_set_parked(s, u, true);
        fresh[(u - first) / 64] |= (uint64_t)1 << ((u - first) % 64);
      }
    }
    i = j;
  }
}

/* Gives back the memory of the units in fresh, a system call per stretch. */
static size_t purge_fresh(hak_page_t* page, const uint64_t* fresh) {
  uintptr_t base = (uintptr_t)hak_ptr_segment(page);
  size_t first, end;
  page_units(page, &first, &end);
  size_t released = 0;
  for (size_t u = 0; u < end - first;) {
    if (!bit_set(fresh, u)) {
      u++;
      continue;
    }
    size_t v = u;
    while (v < end - first && bit_set(fresh, v)) v++;
    uint8_t* at = (uint8_t*)(base + (first + u) * HAK_OS_PAGE_MIN);
    hak_track_close(at, (v - u) * HAK_OS_PAGE_MIN);
    released += hak_os_purge(at, (v - u) * HAK_OS_PAGE_MIN);
    u = v;
  }
  return released;
}
#endif

static size_t page_trim(hak_page_t* page) {
  if (page->free == NULL) return 0;
  size_t bsize = page->block_size;
  uint64_t free_bits[PAGE_BLOCKS_MAX / 64] = {0};
  size_t built = trim_free_bits(page, free_bits);
  hak_assert(built <= PAGE_BLOCKS_MAX);
  size_t keep = built;
  while (keep > 0 && bit_set(free_bits, keep - 1)) keep--;
  bool parking = false;
#if !HAKMEM_SECURE
  uint64_t fresh[PAGE_UNITS_MAX / 64] = {0};
  park_free_runs(page, free_bits, keep, fresh);
  for (size_t w = 0; w < PAGE_UNITS_MAX / 64 && !parking; w++) parking = fresh[w] != 0;
#endif
  if (keep == built && !parking) return 0;
  /* The free blocks below keep that are not parked stay listed, in their
   * order. */
  const hak_segment_t* s = hak_ptr_segment(page);
  hak_block_t* head = NULL;
  hak_block_t* tail = NULL;
  for (hak_block_t *b = page->free, *next; b != NULL; b = next) {
    next = hak_block_next(page, b);
    if ((size_t)((uint8_t*)b - page->start) / bsize >= keep ||
        os_parked(s, (size_t)((uintptr_t)b - (uintptr_t)s) / HAK_OS_PAGE_MIN))
      continue;
    if (tail == NULL) head = b;
    else hak_block_set_next(page, tail, b);
    tail = b;
  }
  if (tail != NULL) hak_block_set_next(page, tail, NULL);
  page->free = head;
  size_t released = 0;
#if !HAKMEM_SECURE
  released = purge_fresh(page, fresh);
#endif
  if (keep < built) unpark_from(page, keep);
  page_note_parked(page);
  if (keep == built) return released;
  hak_page_set_capacity(page, keep);
#if HAKMEM_SECURE
  /* The window closes after the capacity (hak_page_block_built). */
  window_close(page, keep);
#endif
  /* The OS pages past the last block kept, up to the first 4 KiB boundary
   * past the last block built: nothing past it was ever touched. */
  uint8_t* from = page->start + keep * bsize;
  uint8_t* to = (uint8_t*)hak_align_up((uintptr_t)(page->start + built * bsize), HAK_OS_PAGE_MIN);
  hak_track_close(from, (size_t)(to - from));
  return released + hak_os_purge(from, (size_t)(to - from));
}

/* The page's free list head and count as one word.  A page whose word is
 * as its last trim left it is taken to have nothing new to give back.  It
 * may have (two blocks handed out, two others freed, the first of them
 * last): what a forced trim would give back stays until the page changes
 * again. */
static uint64_t trim_mark(const hak_page_t* page) {
  return (uintptr_t)page->free ^ ((uint64_t)page->used << 48);
}

/* A trim walks the page's whole free list.  Without force it is left out
 * where that would seldom give anything back: on a small page more than
 * half in use, whose free blocks seldom cover a whole OS page, and on a
 * page unchanged since its last trim.  A heap of 1 GiB of 64-byte blocks
 * took 0.47 s a collect with 30 % of them free at random (nothing to give
 * back), 0.25 s with 95 % free once trimmed, each time the purger asked an
 * idle owner (docs/memory.md). */
size_t hak_page_trim(hak_page_t* page, bool force) {
  hak_page_collect(page);
  hak_segment_t* s = hak_ptr_segment(page);
  uint64_t* mark = &s->trim_marks[page - s->pages];
  bool dense = page->block_size <= HAK_SMALL_OBJ_MAX && page->used > page->capacity / 2u;
  if (!force && (dense || *mark == trim_mark(page))) return 0;
  size_t released = page_trim(page);
  *mark = trim_mark(page);
  return released;
}

/* ---- delayed-free state ----------------------------------------------------- */

void hak_page_set_delayed(hak_page_t* page, hak_delayed_t state) {
  uintptr_t tf = hak_load_relaxed(&page->xthread_free);
  for (;;) {
    if (hak_thread_free_state(tf) == HAK_DELAYED_FREEING) {
      /* A remote free is handing a block to our heap: let it finish. */
      sched_yield();
      tf = hak_load_relaxed(&page->xthread_free);
      continue;
    }
    uintptr_t desired = hak_thread_free_with_state(tf, state);
    if (atomic_compare_exchange_weak_explicit(&page->xthread_free, &tf, desired,
                                              memory_order_acq_rel, memory_order_relaxed))
      return;
  }
}

/* Asks the next remote free to notify the heap; false if remote frees
 * already arrived, in which case the page is not full after all. */
static bool page_use_delayed(hak_page_t* page) {
  uintptr_t tf = hak_load_relaxed(&page->xthread_free);
  for (;;) {
    if (hak_thread_free_list(tf) != NULL) return false;
    if (hak_thread_free_state(tf) == HAK_DELAYED_FREEING) {
      sched_yield();
      tf = hak_load_relaxed(&page->xthread_free);
      continue;
    }
    if (atomic_compare_exchange_weak_explicit(&page->xthread_free, &tf,
                                              hak_thread_free_with_state(tf, HAK_DELAYED_USE),
                                              memory_order_acq_rel, memory_order_relaxed))
      return true;
  }
}

static void page_clear_delayed_use(hak_page_t* page) {
  uintptr_t tf = hak_load_relaxed(&page->xthread_free);
  while (hak_thread_free_state(tf) == HAK_DELAYED_USE &&
         !atomic_compare_exchange_weak_explicit(&page->xthread_free, &tf,
                                                hak_thread_free_with_state(tf, HAK_DELAYED_NONE),
                                                memory_order_acq_rel, memory_order_relaxed)) {
  }
}

/* ---- queues ----------------------------------------------------------------- */

static hak_page_queue_t* queue_of(hak_heap_t* heap, const hak_page_t* page) {
  return &heap->pages[page->in_full ? HAK_BIN_FULL : page->bin];
}

/* Points the fast-path table at the first page of a small bin.  Every
 * entry is written: one that already holds the page says nothing of the
 * others, which the purger may be setting to the empty page meanwhile. */
static void direct_update(hak_heap_t* heap, size_t bin) {
  if (bin > hak_bin_of(HAK_SMALL_SIZE_MAX)) return;
  hak_page_t* page = heap->pages[bin].first;
  if (page == NULL) page = &hak_page_empty;
  size_t hi = hak_bin_block_size(bin) / 8;
  size_t lo = bin == HAK_BIN_MIN ? 0 : hak_bin_block_size(bin - 1) / 8 + 1;
  for (size_t i = lo; i <= hi; i++) hak_store_relaxed(&heap->pages_direct[i], page);
}

void hak_page_queue_push(hak_heap_t* heap, hak_page_t* page) {
  hak_page_queue_t* pq = queue_of(heap, page);
  page->prev = NULL;
  page->next = pq->first;
  if (pq->first != NULL) pq->first->prev = page;
  else pq->last = page;
  pq->first = page;
  if (!page->in_full) direct_update(heap, page->bin);
}

/* At the back: the page in use at the front keeps serving the fast path. */
static void queue_append(hak_heap_t* heap, hak_page_t* page) {
  hak_page_queue_t* pq = queue_of(heap, page);
  page->next = NULL;
  page->prev = pq->last;
  if (pq->last != NULL) pq->last->next = page;
  else pq->first = page;
  pq->last = page;
  if (pq->first == page && !page->in_full) direct_update(heap, page->bin);
}

void hak_page_queue_remove(hak_heap_t* heap, hak_page_t* page) {
  hak_page_queue_t* pq = queue_of(heap, page);
  bool was_first = pq->first == page;
  if (page->prev != NULL) page->prev->next = page->next;
  else pq->first = page->next;
  if (page->next != NULL) page->next->prev = page->prev;
  else pq->last = page->prev;
  page->next = page->prev = NULL;
  if (was_first && !page->in_full) direct_update(heap, page->bin);
}

static bool page_to_full(hak_heap_t* heap, hak_page_t* page) {
  if (!page_use_delayed(page)) return false;
  hak_page_queue_remove(heap, page);
  page->in_full = 1;
  hak_page_queue_push(heap, page);
  return true;
}

void hak_page_unfull(hak_page_t* page) {
  hak_heap_t* heap = hak_page_heap(page);
  hak_page_queue_remove(heap, page);
  page->in_full = 0;
  queue_append(heap, page);
  page_clear_delayed_use(page);
}

void hak_page_free(hak_heap_t* heap, hak_page_t* page) {
  hak_page_queue_remove(heap, page);
  hak_segment_page_free(page);
}

/* Small and medium bins whose only page went empty are noted, and the
 * purger's looks at the heap (heap.c) start if they are not running; see
 * retired_sweep.
 * Out of line: an alloc/free loop empties its page on every round. */
static hak_cold void retired_note_first(hak_heap_t* heap, uint64_t bit) {
  heap->retired_recent |= bit;
  hak_heap_purge_later(heap, hak_os_clock_ms());
}

static void retired_note(hak_heap_t* heap, size_t bin) {
  hak_assert(bin < 64); /* medium bins end at 64 KiB blocks, bin 45 */
  uint64_t bit = (uint64_t)1 << bin;
  if (!(heap->retired_recent & bit)) retired_note_first(heap, bit);
}

/* A kept large page (a whole segment, up to 4 MiB) lets go of its blocks,
 * so that the purger can give their memory back if the page stays unused;
 * page_extend takes them back.  Small and medium pages are kept as they
 * are: their free lists are walked by paths that take no lock, and
 * rebuilding them each time a bin empties costs too much (mid_large 0.76x
 * in bench/ab.py when medium pages were let go too). */
static void page_keep(hak_heap_t* heap, hak_page_t* page) {
  hak_segment_t* s = hak_ptr_segment(page);
  if (s->kind != HAK_PAGE_LARGE) {
    if (s->kind == HAK_PAGE_MEDIUM)
      s->page_emptied_at[page - s->pages] = hak_load_relaxed(&heap->page_searches);
    retired_note(heap, page->bin);
    return;
  }
  if (page->in_use != HAK_PAGE_KEPT) hak_segment_page_keep(page);
}

/* Blocks of the size classes up to 256 KiB.  A page of bigger blocks is
 * not kept: each bin's kept page held its blocks warm (the soak: about 40
 * MiB over a dozen bins of 320 KiB - 2 MiB), where freed segments go to the
 * cache and serve any bin; and remaking the page from a warm cached segment
 * (about 200 ns) is little beside writing such a block. */
#define KEPT_BLOCK_MAX (((size_t)256 << 10) + HAK_COLOR_SLACK)

void hak_page_retire(hak_page_t* page) {
  hak_heap_t* heap = hak_page_heap(page);
  hak_page_queue_t* pq = &heap->pages[page->bin];
  /* Keep the only page of a bin: freeing it would make the next malloc of
   * that size build a new one, a loop for alloc/free-one-block patterns. */
  if (pq->first == page && pq->last == page && page->block_size <= KEPT_BLOCK_MAX) {
    page_keep(heap, page);
    return;
  }
  hak_page_free(heap, page);
}

bool hak_page_adopt(hak_heap_t* heap, hak_page_t* page) {
  page->in_full = 0;
  hak_page_set_delayed(page, HAK_DELAYED_NONE);
  hak_page_collect(page);
  if (page->used == 0) return hak_segment_page_free(page);
  hak_page_queue_push(heap, page);
  return false;
}

/* ---- finding a page with a free block ----------------------------------------- */

/* When the purger asks for it, which it does every page purge delay while
 * the owner is busy (a tick), on the owner's next page search: a bin whose
 * only page went empty before the tick before, and not again since,
 * is no longer in use, and its page goes back to the segment (and so, after
 * the delay, to the system).  Without it a busy thread held the last page
 * of every bin it had ever used (up to 512 KiB each); one that is nearly
 * idle gives them all back at once (hak_heap_collect).  Freeing them after
 * a number of page searches instead, as mimalloc does, freed the pages of
 * bins that were still in use: mid_large 0.90x in bench/ab.py. */
static void retired_sweep(hak_heap_t* heap, size_t searching) {
  hak_store_relaxed(&heap->purger_asks, HAK_ASK_NOTHING);
  uint64_t unused = heap->retired_before & ~heap->retired_recent;
  if (searching < 64) unused &= ~((uint64_t)1 << searching);
  heap->retired_before = heap->retired_recent;
  heap->retired_recent = 0;
  for (; unused != 0; unused &= unused - 1) {
    hak_page_t* page = heap->pages[__builtin_ctzll(unused)].first;
    if (page != NULL && page->used == 0) hak_page_free(heap, page);
  }
}

/* A medium bin that needs a new page takes the empty page another medium
 * bin keeps, if that one went empty at least RETIRED_TAKE_AGE page searches
 * ago: its memory is resident, where a page from the segment may not be
 * yet.  Strings that grow together pass through the 1-8 KiB classes one
 * after another, each leaving a page of up to 512 KiB behind until the
 * next sweep (realloc_small: peak RSS 10.9 -> 9.3 MiB, docs/performance.md).
 * The age spares a bin that empties and fills again in a loop. */
#define RETIRED_TAKE_AGE 16

static hak_page_t* retired_take(hak_heap_t* heap, size_t bin) {
  uint64_t now = hak_load_relaxed(&heap->page_searches);
  uint64_t bins = (heap->retired_recent | heap->retired_before) & ~((uint64_t)1 << bin);
  for (; bins != 0; bins &= bins - 1) {
    size_t other = (size_t)__builtin_ctzll(bins);
    hak_page_t* page = heap->pages[other].first;
    if (kind_of(other) != HAK_PAGE_MEDIUM || page == NULL || page->next != NULL || page->used != 0)
      continue;
    hak_segment_t* s = hak_ptr_segment(page);
    if (now - s->page_emptied_at[page - s->pages] < RETIRED_TAKE_AGE) continue;
    hak_page_queue_remove(heap, page);
    hak_segment_page_rebin(page, bin);
    return page;
  }
  return NULL;
}

/* Whether the page can hand out a block, once its other threads' frees are
 * taken: one on its free list (parked ones put back on it when it has no
 * other), or one not built yet. */
static bool page_has_room(hak_page_t* page) {
  hak_page_collect(page);
  /* (A kept page's list is set aside: page_extend takes it back.) */
  if (page->free == NULL && page->in_use == HAK_PAGE_IN_USE && page_has_parked(page))
    page_unpark(page);
  return page->free != NULL || page->capacity < page->reserved;
}

/* Of the first two pages of a medium or large bin with room, the fuller one
 * is filled: the other, sent to the back, may empty and go back to its
 * segment.  Filling the page that had waited longest, as before, kept every
 * page of a bin part-full, so that a long-running program held as many
 * pages per bin as it had ever needed at once: the soak's pages grew by
 * 4 % in five minutes, and mid_large held 1.5 times the memory.  Small bins
 * keep the old order: larson's two part-full pages a bin then took turns,
 * each giving fewer blocks per search (0.7x). */
static hak_page_t* queue_find_free(hak_heap_t* heap, hak_page_queue_t* pq) {
  hak_page_t* page = pq->first;
  while (page != NULL && !page_has_room(page)) {
    hak_page_t* next = page->next;
    if (page_to_full(heap, page)) page = next;
  }
  if (page == NULL) return NULL;
  hak_page_t* other = page->next;
  if (other != NULL && page->block_size > HAK_SMALL_OBJ_MAX && page_has_room(other) &&
      other->used >= page->used) {
    if (page->used == 0) {
      hak_page_free(heap, page);
    } else {
      hak_page_queue_remove(heap, page);
      queue_append(heap, page);
    }
    page = other;
  }
  if (page->free == NULL) page_extend(heap, page);
  hak_check_page(page);
  if (page != pq->first) {
    hak_page_queue_remove(heap, page);
    hak_page_queue_push(heap, page);
  }
  return page;
}

hak_page_t* hak_page_find(hak_heap_t* heap, size_t size) {
#if HAKMEM_DEBUG
  /* Now and then, the whole heap: every call would make tests crawl. */
  static __thread unsigned calls;
  if (++calls % 64 == 0) hak_check_heap(heap);
#endif
  hak_heap_count_search(heap);
  size_t bin = hak_bin_of(size);
  hak_purger_ask_t ask = hak_heap_purger_asks(heap);
  if (hak_unlikely(ask == HAK_ASK_COLLECT)) hak_heap_collect_asked(heap);
  else if (hak_unlikely(ask == HAK_ASK_SWEEP)) retired_sweep(heap, bin);
  hak_page_queue_t* pq = &heap->pages[bin];
  hak_page_t* page = queue_find_free(heap, pq);
  if (page != NULL) return page;
  if (hak_heap_reclaim_abandoned(heap)) {
    page = queue_find_free(heap, pq);
    if (page != NULL) return page;
  }
  hak_page_kind_t kind = kind_of(bin);
  page = kind == HAK_PAGE_MEDIUM ? retired_take(heap, bin) : NULL;
  if (page == NULL) page = hak_segment_page_alloc(heap, kind, bin);
  if (page == NULL) return NULL;
#if HAKMEM_SECURE
  page_set_keys(heap, page);
#endif
  page_extend(heap, page);
  hak_page_queue_push(heap, page);
  return page;
}
