/* The free pages of a segment still in use are given back in runs: each
 * stretch of neighbouring free pages takes one madvise, and the call stops
 * at the pages in use on either side, whose live blocks keep their bytes.
 *
 * Blocks of 1000 bytes fill about 48 small pages (64 KiB each); every
 * fourth page, in address order, keeps one live block and the others are
 * freed whole, so malloc_trim(0) finds runs of up to three free pages
 * between pages in use.  Run with long purge delays and no purger thread,
 * so that nothing is purged before the trim and nothing allocates between
 * the frees and the checks. */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hakmem.h"
#include "resident.h"
#include "segment.h"
#include "stats_json.h"

#define BLOCK 1000
#define COUNT (64 * 48)
#define LIVE_EVERY 4

static char* blocks[COUNT];
static uintptr_t pages[COUNT];

static int by_address(const void* a, const void* b)
{
  uintptr_t x = *(const uintptr_t*)a, y = *(const uintptr_t*)b;
  return (x > y) - (x < y);
}

/* What block i is filled with: never 0, which a purged page reads as. */
static char fill_of(size_t i)
{
  return (char)(i % 251 + 1);
}

/* The page's place in address order. */
static size_t ordinal(uintptr_t page, size_t count)
{
  uintptr_t* at = bsearch(&page, pages, count, sizeof pages[0], by_address);
  CHECK(at != NULL);
  return (size_t)(at - pages);
}

int main(void)
{
  malloc_trim(0); /* nothing left to purge but what follows */
  for (size_t i = 0; i < COUNT; i++) {
    blocks[i] = malloc(BLOCK);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], fill_of(i), BLOCK);
  }
  size_t count = 0;
  for (size_t i = 0; i < COUNT; i++) pages[count++] = small_page_of(blocks[i]);
  qsort(pages, count, sizeof pages[0], by_address);
  size_t distinct = 0;
  for (size_t i = 0; i < count; i++) {
    if (distinct == 0 || pages[i] != pages[distinct - 1]) pages[distinct++] = pages[i];
  }
  count = distinct;

  /* The lowest block of each live page stays; everything else goes. */
  char* live[COUNT] = {0};
  size_t live_index[COUNT];
  for (size_t i = 0; i < COUNT; i++) {
    size_t n = ordinal(small_page_of(blocks[i]), count);
    if (n % LIVE_EVERY == 0 && (live[n] == NULL || blocks[i] < live[n])) {
      live[n] = blocks[i];
      live_index[n] = i;
    }
  }
  size_t live_pages = 0;
  for (size_t i = 0; i < COUNT; i++) {
    size_t n = ordinal(small_page_of(blocks[i]), count);
    if (live[n] != blocks[i]) free(blocks[i]);
    else live_pages++;
  }
  /* Runs of free pages, as one call each would purge them. */
  size_t runs = 0;
  for (size_t n = 0; n < count; n++) {
    bool free_page = n % LIVE_EVERY != 0;
    bool follows_free = n > 0 && (n - 1) % LIVE_EVERY != 0 && pages[n - 1] + SMALL_PAGE_SIZE == pages[n] &&
                        segment_of((char*)pages[n - 1] + 1) == segment_of((char*)pages[n] + 1);
    if (free_page && !follows_free) runs++;
  }

  size_t calls_before = stat_now("madvise");
  CHECK(malloc_trim(0) == 1);
  size_t calls = stat_now("madvise") - calls_before;

  for (size_t n = 0; n < count; n += LIVE_EVERY) {
    size_t i = live_index[n];
    for (size_t b = 0; b < BLOCK; b++)
      CHECKF(live[n][b] == fill_of(i), "live block %zu, byte %zu", i, b);
  }
  for (size_t n = 0; n < count; n++) {
    if (n % LIVE_EVERY == 0) continue;
    const char* page = (const char*)pages[n];
    if (segment_of(page + 1) == page) continue; /* its first OS pages are the header */
    size_t total;
    size_t resident = resident_pages(page, page + SMALL_PAGE_SIZE, &total);
    CHECKF(resident == 0, "free page %zu: %zu of %zu OS pages still resident", n, resident, total);
  }
  /* One call per run, one per page in use (the free blocks past its last
   * live one), and a few for the rest of the heap; one call per free page
   * would be about three times the runs. */
  CHECKF(calls <= runs + live_pages + 8, "%zu calls for %zu runs and %zu pages in use", calls, runs,
         live_pages);
  /* Only now: printf's buffer may take one of the free pages. */
  printf("purge_runs: %zu pages, %zu in use, %zu runs of free pages, %zu madvise calls\n", count,
         live_pages, runs, calls);
  check_report("test_purge_runs");
  return 0;
}
