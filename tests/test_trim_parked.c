/* malloc_trim gives back the memory of free blocks that lie between live
 * ones: the default build parks them (page.c), off their page's free list,
 * and hands them out again, once each, when the page has nothing else.
 * For small, medium and large blocks: most of the freed memory goes back,
 * the live blocks keep their contents, and the next allocations of the size
 * take the places that were freed; a large page emptied after its trim
 * and kept by its bin comes back with all its blocks.  hak_collect(false),
 * the collect the purger asks an idle owner for, trims only where that is
 * likely to pay.  The debug build runs it too, its invariant checks
 * counting parked blocks.  The secure build parks nothing
 * (docs/security.md), so it does not run this test. */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "hakmem.h"
#include "pattern.h"
#include "resident.h"

#define KiB ((size_t)1 << 10)

static int by_address(const void* a, const void* b)
{
  uintptr_t x = *(const uintptr_t*)a, y = *(const uintptr_t*)b;
  return (x > y) - (x < y);
}

/* count blocks of size, every keep_every-th one kept live, the others
 * freed before malloc_trim(0); under bigger kernel pages fewer are kept,
 * so that four pages at least lie between two live blocks. */
static void trim_between_live_blocks(size_t size, size_t count, size_t keep_every)
{
  size_t spread = 4 * (size_t)sysconf(_SC_PAGESIZE) / size;
  if (keep_every < spread) keep_every = spread;
  block_t* blocks = calloc(count, sizeof *blocks);
  uintptr_t* freed = calloc(count, sizeof *freed);
  CHECK(blocks != NULL && freed != NULL);
  for (size_t i = 0; i < count; i++) {
    blocks[i] = (block_t){malloc(size), size, i + 1};
    CHECK(blocks[i].p != NULL);
    pattern_fill(blocks[i].p, size, blocks[i].tag);
  }
  size_t nfreed = 0;
  for (size_t i = 0; i < count; i++) {
    if (i % keep_every == 0) continue;
    CHECK(pattern_mismatch(blocks[i].p, size, blocks[i].tag) == SIZE_MAX);
    freed[nfreed++] = (uintptr_t)blocks[i].p;
    free(blocks[i].p);
    blocks[i].p = NULL;
  }
  size_t held = resident_bytes();
  CHECK(malloc_trim(0) == 1);
  size_t trimmed = resident_bytes();
  printf("%zu-byte blocks, 1 in %zu live: %zu KiB resident after free, %zu KiB after trim\n",
         size, keep_every, held / KiB, trimmed / KiB);
  CHECKF(held >= trimmed + nfreed * size / 2, "%zu KiB given back of %zu KiB freed",
         (held - trimmed) / KiB, nfreed * size / KiB);

  /* The live blocks are as they were, and the freed places come back,
   * each once.  New places serve only the blocks the page the size was
   * filling has room for (it fills up first), a page's worth at most:
   * were parked blocks never put back, they would serve most of them. */
  qsort(freed, nfreed, sizeof *freed, by_address);
  size_t elsewhere = 0;
  for (size_t i = 0; i < count; i++) {
    if (blocks[i].p != NULL) {
      CHECK(pattern_mismatch(blocks[i].p, size, blocks[i].tag) == SIZE_MAX);
      continue;
    }
    blocks[i] = (block_t){malloc(size), size, count + i + 1};
    CHECK(blocks[i].p != NULL);
    uintptr_t p = (uintptr_t)blocks[i].p;
    if (bsearch(&p, freed, nfreed, sizeof *freed, by_address) == NULL) elsewhere++;
    pattern_fill(blocks[i].p, size, blocks[i].tag);
  }
  CHECKF(elsewhere <= nfreed / 8, "%zu of %zu blocks at places not freed", elsewhere, nfreed);
  for (size_t i = 0; i < count; i++) {
    CHECK(pattern_mismatch(blocks[i].p, size, blocks[i].tag) == SIZE_MAX);
    free(blocks[i].p);
  }
  free(freed);
  free(blocks);
}

/* A large page whose blocks a trim parked, then emptied: its bin keeps it
 * (its free list set aside in its segment), and takes it back with every
 * block, the parked ones too. */
static void kept_page_after_trim(void)
{
  enum { COUNT = 8, SIZE = 200 * KiB };
  void* blocks[COUNT];
  for (int i = 0; i < COUNT; i++) {
    blocks[i] = malloc(SIZE);
    CHECK(blocks[i] != NULL);
    pattern_fill(blocks[i], SIZE, (uint64_t)i + 1);
  }
  for (int i = 1; i < COUNT - 1; i++) free(blocks[i]);
  CHECK(malloc_trim(0) == 1);
  free(blocks[0]);
  free(blocks[COUNT - 1]);
  qsort(blocks, COUNT, sizeof *blocks, by_address);
  void* again[COUNT];
  for (int i = 0; i < COUNT; i++) {
    again[i] = malloc(SIZE);
    CHECK(again[i] != NULL);
    CHECKF(bsearch(&again[i], blocks, COUNT, sizeof *blocks, by_address) != NULL,
           "block %d of the kept page at a new place", i);
    pattern_fill(again[i], SIZE, (uint64_t)i + 1);
  }
  for (int i = 0; i < COUNT; i++) {
    CHECK(pattern_mismatch(again[i], SIZE, (uint64_t)i + 1) == SIZE_MAX);
    free(again[i]);
  }
}

/* count blocks of size on one fresh page, and of them those in [from, to)
 * freed; [*lo, *hi) is the whole OS pages they covered, resident still. */
static void free_run(void** blocks, size_t count, size_t size, size_t from, size_t to,
                     char** lo, char** hi)
{
  for (size_t i = 0; i < count; i++) {
    blocks[i] = malloc(size);
    CHECK(blocks[i] != NULL);
    pattern_fill(blocks[i], size, i + 1);
  }
  size_t os_page = (size_t)sysconf(_SC_PAGESIZE);
  *lo = (char*)(((uintptr_t)blocks[from] + os_page - 1) & ~(uintptr_t)(os_page - 1));
  *hi = (char*)((uintptr_t)blocks[to - 1] & ~(uintptr_t)(os_page - 1));
  CHECK(*hi > *lo);
  char* start = blocks[from];
  size_t stride = (size_t)((char*)blocks[from + 1] - start);
  for (size_t i = from; i < to; i++) {
    CHECK(blocks[i] == start + (i - from) * stride);
    free(blocks[i]);
    blocks[i] = NULL;
  }
  size_t pages;
  CHECK(resident_pages(*lo, *hi, &pages) == pages);
}

static void free_all(void** blocks, size_t count, size_t size)
{
  for (size_t i = 0; i < count; i++) {
    if (blocks[i] == NULL) continue;
    CHECK(pattern_mismatch(blocks[i], size, i + 1) == SIZE_MAX);
    free(blocks[i]);
  }
}

/* Without force a collect passes over a small page more than half in use
 * (its small free blocks seldom cover a whole OS page), which malloc_trim
 * does not; and it trims a page again once more of its blocks are freed
 * after its last trim. */
static void collect_without_force(void)
{
  size_t os_page = (size_t)sysconf(_SC_PAGESIZE);
  char *lo, *hi;
  size_t pages;
  /* 250-byte blocks: one small page holds 280 of them, page 0 of a segment
   * too; a run of three OS pages freed in the middle (not under 64 KiB
   * pages, of which a small page is one). */
  enum { SMALL = 250, SMALL_COUNT = 280 };
  if (4 * os_page < SMALL_COUNT * SMALL / 2) {
    void* blocks[SMALL_COUNT];
    size_t run = 3 * os_page / SMALL + 2;
    free_run(blocks, SMALL_COUNT, SMALL, 100, 100 + run, &lo, &hi);
    hak_collect(false);
    size_t resident = resident_pages(lo, hi, &pages);
    CHECKF(resident == pages, "hak_collect(false) gave back %zu of %zu OS pages of a small page "
           "more than half in use", pages - resident, pages);
    CHECK(malloc_trim(0) == 1);
    CHECK(resident_pages(lo, hi, &pages) == 0);
    free_all(blocks, SMALL_COUNT, SMALL);
  }
  /* 2,500-byte blocks on a medium page: all but the first few freed, then
   * a run of two OS pages at least among those. */
  enum { MEDIUM = 2500, MEDIUM_COUNT = 160 };
  size_t live = 2 * os_page / MEDIUM + 4;
  void* blocks[MEDIUM_COUNT];
  free_run(blocks, MEDIUM_COUNT, MEDIUM, live, MEDIUM_COUNT - 1, &lo, &hi);
  CHECK(hak_collect(false) > 0);
  CHECK(resident_pages(lo, hi, &pages) == 0);
  char* first = (char*)(((uintptr_t)blocks[1] + os_page - 1) & ~(uintptr_t)(os_page - 1));
  char* last = (char*)((uintptr_t)blocks[live - 2] & ~(uintptr_t)(os_page - 1));
  for (size_t i = 1; i < live - 1; i++) {
    free(blocks[i]);
    blocks[i] = NULL;
  }
  CHECK(last > first && resident_pages(first, last, &pages) == pages);
  hak_collect(false);
  size_t resident = resident_pages(first, last, &pages);
  CHECKF(resident == 0, "%zu of %zu OS pages freed since the last trim still resident after "
         "hak_collect(false)", resident, pages);
  free_all(blocks, MEDIUM_COUNT, MEDIUM);
}

/* On a thread of its own, whose heap has no page of these sizes yet: the
 * blocks fill fresh pages from their start. */
static void* trim_sizes(void* arg)
{
  (void)arg;
  collect_without_force();
  kept_page_after_trim();
  /* Each over many pages: 20 blocks per 4 KiB on small pages, a few on
   * medium ones, 40 per large page. */
  trim_between_live_blocks(200, 20000, 64);
  trim_between_live_blocks(3000, 4000, 16);
  trim_between_live_blocks(100 * KiB, 600, 8);
  return NULL;
}

int main(void)
{
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, trim_sizes, NULL) == 0);
  CHECK(pthread_join(thread, NULL) == 0);
  check_report("test_trim_parked");
  return 0;
}
