/* A bin that once needed many pages gives them back when it needs fewer.
 *
 * Blocks of one medium size fill PEAK_PAGES pages; most are freed at
 * random, which leaves every page part-full, then the program churns at
 * that lower count (frees a random block, allocates another) as a
 * long-running server does.  The bin must fill its fuller pages and let
 * the others empty: after the churn it may hold one page more than the
 * live blocks fill.  Filling the page that had waited longest kept five of
 * the six in use, and as many after ten times the churn.  The page purge
 * delay is long, so only pages in use count (page_bytes). */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "hakmem.h"
#include "rng.h"
#include "segment.h"
#include "stats_json.h"

#define BLOCK 8000 /* an 8 KiB class */
#define PEAK_PAGES 6
#define LIVE_PAGES 2 /* what the live blocks fill after the frees */
#define CHURN 200000

static size_t pages_in_use(size_t before)
{
  return (stat_now("page_bytes") - before + MEDIUM_PAGE_SIZE - 1) / MEDIUM_PAGE_SIZE;
}

int main(void)
{
  /* The array first, so that its own page is not counted. */
  void** blocks = malloc(PEAK_PAGES * (MEDIUM_PAGE_SIZE / BLOCK) * sizeof(void*));
  CHECK(blocks != NULL);
  size_t before = stat_now("page_bytes");
  blocks[0] = malloc(BLOCK);
  CHECK(blocks[0] != NULL);
  size_t per_page = MEDIUM_PAGE_SIZE / hak_usable_size(blocks[0]);
  size_t peak = PEAK_PAGES * per_page, live = LIVE_PAGES * per_page;
  for (size_t i = 1; i < peak; i++) {
    blocks[i] = malloc(BLOCK);
    CHECK(blocks[i] != NULL);
  }
  size_t at_peak = pages_in_use(before);
  rng_t rng = {42};
  for (size_t n = peak; n > live; n--) {
    size_t k = rng_below(&rng, n);
    free(blocks[k]);
    blocks[k] = blocks[n - 1];
  }
  size_t after_frees = pages_in_use(before);
  for (size_t i = 0; i < CHURN; i++) {
    size_t k = rng_below(&rng, live);
    free(blocks[k]);
    blocks[k] = malloc(BLOCK);
    CHECK(blocks[k] != NULL);
  }
  size_t after = pages_in_use(before);
  printf("pages in use: %zu for %zu blocks, %zu once %zu are left, %zu after %d frees and "
         "mallocs\n", at_peak, peak, after_frees, live, after, CHURN);
  CHECKF(after_frees >= PEAK_PAGES, "the frees alone emptied pages (%zu left)", after_frees);
  CHECKF(after <= LIVE_PAGES + 1, "%zu pages in use for %zu blocks that fill %d", after, live,
         LIVE_PAGES);
  for (size_t i = 0; i < live; i++) free(blocks[i]);
  free(blocks);
  check_report("test_page_drain");
  return 0;
}
