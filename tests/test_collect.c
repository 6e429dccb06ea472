/* Giving memory back on request: after a burst of allocations is freed,
 * malloc_trim(0) (and hak_collect) return the resident set to near where
 * it was before the burst, even from a page a live block keeps in use, and
 * the heap keeps working afterwards. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "resident.h"
#include "hakmem.h"
#include "rng.h"

#define MiB ((size_t)1 << 20)

/* About 400 MiB in mixed sizes, every byte written, then all freed. */
static void burst(void)
{
  enum { COUNT = 400000 };
  void** blocks = calloc(COUNT, sizeof(void*));
  CHECK(blocks != NULL);
  rng_t rng = {42};
  for (int i = 0; i < COUNT; i++) {
    size_t size = rng_log_range(&rng, 16, 8 * 1024);
    if (i % 1000 == 0) size = 1 * MiB + rng_below(&rng, 3 * MiB);
    blocks[i] = malloc(size);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], 0x5A, size);
  }
  for (int i = 0; i < COUNT; i++) free(blocks[i]);
  free(blocks);
}

/* One long-lived block, then a burst of its size freed: the page stays in
 * use, and malloc_trim gives back the burst's memory all the same. */
static void trim_under_live_block(void)
{
  enum { BURST = 100, SIZE = 4000 };
  /* stdio's first use (inside resident_bytes) grows the resident set by
   * itself, and partly after the figure is read: get it over with. */
  (void)resident_bytes();
  char* live = malloc(SIZE);
  CHECK(live != NULL);
  memset(live, 0x3C, SIZE);
  char* blocks[BURST];
  for (int i = 0; i < BURST; i++) {
    blocks[i] = malloc(SIZE);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], 0x5A, SIZE);
  }
  for (int i = 0; i < BURST; i++) free(blocks[i]);
  size_t held = resident_bytes();
  CHECK(malloc_trim(0) == 1);
  size_t trimmed = resident_bytes();
  printf("resident with a live block: %zu KiB after free, %zu KiB after malloc_trim\n",
         held / 1024, trimmed / 1024);
  CHECKF(held >= trimmed + BURST * SIZE * 3 / 4, "%zu KiB given back",
         (held - trimmed) / 1024);
  for (int i = 0; i < SIZE; i++) CHECK(live[i] == 0x3C);
  /* The page builds its blocks again as they are needed. */
  for (int i = 0; i < BURST; i++) {
    blocks[i] = malloc(SIZE);
    CHECK(blocks[i] != NULL && blocks[i] != live);
    memset(blocks[i], i, SIZE);
  }
  for (int i = 0; i < BURST; i++) {
    CHECK(blocks[i][0] == (char)i && blocks[i][SIZE - 1] == (char)i);
    free(blocks[i]);
  }
  free(live);
}

int main(void)
{
  trim_under_live_block();
  size_t before = resident_bytes();
  burst();
  size_t after_free = resident_bytes();
  CHECK(malloc_trim(0) == 1);
  size_t trimmed = resident_bytes();
  printf("resident: before %zu KiB, after free %zu KiB, after malloc_trim %zu KiB\n",
         before / 1024, after_free / 1024, trimmed / 1024);
  CHECKF(trimmed <= before + before / 10 + 4 * MiB, "%zu KiB left of %zu KiB", trimmed / 1024,
         before / 1024);

  burst();
  CHECK(hak_collect(true) > 0);
  /* With no allocation in between, nothing is left to give back. */
  CHECK(hak_collect(true) == 0);
  CHECKF(resident_bytes() <= before + before / 10 + 4 * MiB, "%zu KiB", resident_bytes() / 1024);

  /* Purged memory comes back as needed, zeroed where calloc promises it. */
  for (int i = 0; i < 1000; i++) {
    unsigned char* p = calloc(1, 4000);
    CHECK(p != NULL && p[0] == 0 && p[3999] == 0);
    free(p);
  }
  check_report("test_collect");
  return 0;
}
