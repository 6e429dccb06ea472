/* What the secure build (-DHAKMEM_SECURE=ON) promises beyond the default
 * one; argv[1] picks the case, run against that build only but for
 * double_free_trim, which the default build passes too since session 21:
 *  double_free_deep    a block freed twice with other frees in between (the
 *                      default build only sees the last block freed);
 *  double_free_remote  the second free comes from another thread;
 *  double_free_trim    the second free comes after malloc_trim, which
 *                      un-builds a page's free tail;
 *  overwritten         a freed block's link is overwritten (a write after
 *                      free): malloc reports it instead of following it;
 *  overwritten_bit     so it does when only the link's lowest bit changes;
 *  overwritten_seal    and when only the block's second word, which seals
 *                      the link, changes (malloc cannot tell which did);
 *  guard               reading up from a segment's start faults on the guard
 *                      page before the first block;
 *  guard_reused        so it does in a segment made of a freed one's cached
 *                      mapping, where the guard page was left in place;
 *  random_order        blocks of a fresh page come in no predictable order;
 *  random_order_big    so do blocks of 4 KiB and more, built one at a time;
 *  window_recycled     a window of such blocks that its bin recycles closes,
 *                      and each of its blocks is still handed out once;
 *  unwritten           live blocks are never taken for free ones: freed
 *                      untouched (malloc must break the seal it found), or
 *                      with words that xor to 0, each once, no report. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>

#include "common.h"

#define SIZE 48

static void double_free_deep(void)
{
  char* a = malloc(SIZE);
  char* b = malloc(SIZE);
  char* c = malloc(SIZE);
  CHECK(a != NULL && b != NULL && c != NULL);
  free(a);
  free(b);
  free(launder(a));
  /* a is free once: two new blocks of the size are not both a. */
  char* x = malloc(SIZE);
  char* y = malloc(SIZE);
  CHECK(x != NULL && y != NULL && x != y);
  free(x);
  free(y);
  free(c);
}

static void* free_it(void* p)
{
  free(p);
  return NULL;
}

static void double_free_remote(void)
{
  char* keep = malloc(SIZE); /* the page stays in use */
  char* a = malloc(SIZE);
  CHECK(keep != NULL && a != NULL);
  free(a);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, free_it, launder(a)) == 0);
  CHECK(pthread_join(thread, NULL) == 0);
  free(keep);
}

static void double_free_trim(void)
{
  enum { COUNT = 64 };
  char* keep = malloc(SIZE); /* the page stays in use */
  char* blocks[COUNT];
  for (int i = 0; i < COUNT; i++) {
    blocks[i] = malloc(SIZE);
    CHECK(blocks[i] != NULL);
  }
  for (int i = 0; i < COUNT; i++) free(blocks[i]);
  malloc_trim(0);
  free(launder(blocks[COUNT / 2]));
  free(keep);
}

static char target[SIZE];

/* a heads the free list, then b: change a's first words as a write after
 * free would, and malloc must hand out a, report the link and not follow
 * it. */
static void overwrite_link(void (*change)(char* block))
{
  char* a = malloc(SIZE);
  char* b = malloc(SIZE);
  CHECK(a != NULL && b != NULL);
  free(b);
  free(a);
  char* volatile dangling = a;
  change(dangling);
  char* x = malloc(SIZE); /* a itself, whose link is found corrupt */
  /* The list ended at a: y is neither b nor the target (laundered, as the
   * compiler would take any block for another object than those). */
  char* y = launder(malloc(SIZE));
  CHECK(x == a && y != NULL && y != launder(b) && y != launder(target));
  free(x);
  free(y);
}

static void point_at_target(char* block)
{
  memcpy(block, &(char*){target}, sizeof(char*));
}

static void flip_lowest_bit(char* block)
{
  block[0] ^= 1;
}

static void flip_seal_bit(char* block)
{
  block[sizeof(char*)] ^= 1;
}

static void overwritten(void)
{
  overwrite_link(point_at_target);
}

static void overwritten_bit(void)
{
  overwrite_link(flip_lowest_bit);
}

static void overwritten_seal(void)
{
  overwrite_link(flip_seal_bit);
}

static sigjmp_buf fault_jump;

static void on_fault(int sig)
{
  (void)sig;
  siglongjmp(fault_jump, 1);
}

/* Reads up from the start of p's segment until a fault, which must come
 * before p: the guard page is part of the header. */
static void expect_guard_before(char* p)
{
  char* segment = segment_of(p);
  struct sigaction sa = {.sa_handler = on_fault};
  CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
  volatile size_t offset = 0;
  volatile char sink = 0;
  if (sigsetjmp(fault_jump, 1) == 0) {
    for (; offset < SEGMENT_SIZE; offset += 4096) sink += segment[offset];
    CHECKF(0, "no guard page in the segment at %p", (void*)segment);
  }
  (void)sink;
  CHECKF(segment + offset < p, "fault at offset %zu, after the block at %p", (size_t)offset, (void*)p);
}

static void guard(void)
{
  char* p = malloc(SIZE);
  CHECK(p != NULL);
  expect_guard_before(p);
  free(p);
}

/* A block of 1.5 MiB takes a large page, a whole segment, which goes to
 * the cache when the block is freed (the pages of blocks that big are not
 * kept); the next block of that size is then made in the same mapping.  A
 * small block is made first, so that the heap's small segment does not take
 * that mapping instead (starting the purge thread allocates). */
#define BIG ((size_t)1536 << 10)

static void guard_reused(void)
{
  char* small = malloc(SIZE);
  CHECK(small != NULL);
  char* first = malloc(BIG);
  CHECK(first != NULL);
  char* freed_segment = segment_of(first);
  free(first);
  char* p = malloc(BIG);
  CHECK(p != NULL);
  CHECKF(segment_of(p) == freed_segment, "the block at %p is not in the freed segment %p",
         (void*)p, (void*)freed_segment);
  expect_guard_before(p);
  free(p);
  free(small);
}

/* In address order, as the default build hands out a fresh page, nearly
 * every block lies above the one before; in random order about half do
 * (blocks of 4 KiB and more: a little more, as their order is drawn for
 * eight at a time). */
static void check_random_order(size_t size)
{
  enum { COUNT = 256 };
  static char* blocks[COUNT];
  int ascents = 0;
  for (int i = 0; i < COUNT; i++) {
    blocks[i] = malloc(size);
    CHECK(blocks[i] != NULL);
    if (i > 0 && blocks[i] > blocks[i - 1]) ascents++;
  }
  CHECKF(ascents < COUNT * 3 / 4, "%d of %d blocks of %zu bytes lie above the one before",
         ascents, COUNT - 1, size);
  for (int i = 0; i < COUNT; i++) free(blocks[i]);
}

static void random_order(void)
{
  check_random_order(SIZE);
}

static void random_order_big(void)
{
  check_random_order(16 << 10);
}

/* A bin that recycles a block of 16 KiB never builds the rest of its page's
 * window of eight; after eight frees of the window's blocks the window closes
 * and builds them (page.c, hak_page_window_return).  A free of one of them
 * that was never handed out is reported (a double free now: it is built and
 * free), and each is handed out once. */
static void window_recycled(void)
{
  enum { WINDOW = 8, BIG_BLOCK = 16 << 10 };
  /* A medium block of another size first, so that the 16 KiB blocks get a
   * page of their own, whose first eight blocks are the first window. */
  char* other = malloc(2000);
  char* keep = malloc(BIG_BLOCK);
  CHECK(other != NULL && keep != NULL);
  size_t stride = malloc_usable_size(keep);
  char* start = (char*)medium_page_of(keep);
  CHECKF(keep < start + WINDOW * stride, "the first 16 KiB block %p lies past its page's first "
         "window", (void*)keep);
  for (int i = 0; i < WINDOW; i++) free(malloc(BIG_BLOCK));

  static block_t window[WINDOW];
  window[0] = (block_t){keep, BIG_BLOCK, 0};
  window[1] = (block_t){malloc(BIG_BLOCK), BIG_BLOCK, 1};
  char* never = start;
  while (never == keep || never == window[1].p) never += stride;
  free(launder(never));

  int seen = 0;
  for (int i = 0; i < WINDOW; i++) {
    if (i >= 2) window[i] = (block_t){malloc(BIG_BLOCK), BIG_BLOCK, (uint64_t)i};
    char* p = window[i].p;
    CHECKF(p >= start && p < start + WINDOW * stride && (size_t)(p - start) % stride == 0,
           "block %d (%p) is not one of the window's", i, (void*)p);
    pattern_fill(p, BIG_BLOCK, window[i].tag);
    seen += p == never;
  }
  for (int i = 0; i < WINDOW; i++) {
    CHECKF(pattern_mismatch(window[i].p, BIG_BLOCK, window[i].tag) == SIZE_MAX,
           "the block at %p was handed out twice", window[i].p);
    free(window[i].p);
  }
  CHECKF(seen == 1, "the block never handed out before came %d times", seen);
  free(other);
}

/* A block freed as malloc left it still holds the link it had while free;
 * malloc cleared its seal.  Neither that, nor two equal words, nor zeros,
 * may be taken for a sealed (free) block. */
static void unwritten(void)
{
  enum { COUNT = 64 };
  static const size_t sizes[] = {16, 48, 256, 4096, 20000};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    char* blocks[COUNT];
    for (int i = 0; i < COUNT; i++) {
      blocks[i] = malloc(sizes[s]);
      CHECK(blocks[i] != NULL);
      /* Every third one holds two equal words, every third zeros. */
      if (i % 3 == 1) memset(blocks[i], 0x5a, 2 * sizeof(void*));
      if (i % 3 == 2) memset(blocks[i], 0, 2 * sizeof(void*));
    }
    for (int i = 0; i < COUNT; i++) free(blocks[i]);
  }
  /* The heap still works, and each block is free once: the next COUNT of
   * a size are all different. */
  char* again[COUNT];
  for (int i = 0; i < COUNT; i++) {
    again[i] = malloc(48);
    CHECK(again[i] != NULL);
    for (int j = 0; j < i; j++) CHECK(again[j] != again[i]);
  }
  for (int i = 0; i < COUNT; i++) free(again[i]);
}

int main(int argc, char** argv)
{
  CHECK(argc == 2);
  static const struct {
    const char* name;
    void (*run)(void);
  } cases[] = {{"double_free_deep", double_free_deep},
               {"double_free_remote", double_free_remote},
               {"double_free_trim", double_free_trim},
               {"overwritten", overwritten},
               {"overwritten_bit", overwritten_bit},
               {"overwritten_seal", overwritten_seal},
               {"guard", guard},
               {"guard_reused", guard_reused},
               {"random_order", random_order},
               {"random_order_big", random_order_big},
               {"window_recycled", window_recycled},
               {"unwritten", unwritten}};
  size_t i = 0;
  while (i < sizeof cases / sizeof cases[0] && strcmp(cases[i].name, argv[1]) != 0) i++;
  CHECKF(i < sizeof cases / sizeof cases[0], "unknown case %s", argv[1]);
  cases[i].run();
  check_heap_works(SIZE);
  check_report(argv[0]);
  return 0;
}
