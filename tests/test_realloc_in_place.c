/* A huge block grown by realloc a segment at a time stays where it is while
 * the address space after it is free, even once it is made of several
 * mappings (warm pages moved in from the segment cache, pieces of earlier
 * moves): mremap resizes only a range that is one mapping, and hakmem once
 * moved such a block on every growth, each move leaving it in one more
 * mapping (200 growths: 200 moves, 201 mappings).  Its contents survive
 * every step.  Run with a long purge delay, so that the cache stays warm. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "segment.h"
#include "warm_cache.h"

#define MiB ((size_t)1 << 20)
#define GROWTHS 100

/* How many mappings of the process lie in [from, to). */
static int mappings_in(uintptr_t from, uintptr_t to)
{
  FILE* maps = fopen("/proc/self/maps", "r");
  CHECK(maps != NULL);
  char line[512];
  int count = 0;
  while (fgets(line, sizeof line, maps) != NULL) {
    uintptr_t low, high;
    if (sscanf(line, "%lx-%lx", &low, &high) == 2 && high > from && low < to) count++;
  }
  fclose(maps);
  return count;
}

int main(void)
{
  warm_segment_cache();

  size_t size = 8 * MiB;
  unsigned char* p = malloc(size);
  CHECK(p != NULL);
  memset(p, 1, size);
  int moves = 0;
  for (int i = 0; i < GROWTHS; i++) {
    size_t bigger = size + SEGMENT_SIZE;
    unsigned char* q = realloc(p, bigger);
    CHECK(q != NULL);
    if (q != p) moves++;
    p = q;
    /* Each step's first and last byte: the block's bytes all moved along. */
    CHECKF(p[0] == 1 && p[size - 1] == (unsigned char)(i + 1), "contents lost at growth %d", i);
    p[bigger - 1] = (unsigned char)(i + 2);
    size = bigger;
  }
  int mappings = mappings_in((uintptr_t)segment_of(p), (uintptr_t)p + size);
  free(p);

  printf("%d growths of 4 MiB to %zu MiB: %d moves, the block in %d mappings\n", GROWTHS,
         size / MiB, moves, mappings);
  /* On this project's machine: 5 moves, 18 mappings (21 in the secure
   * build); before, 99 moves. */
  CHECKF(moves <= GROWTHS / 4, "%d moves in %d growths", moves, GROWTHS);
  CHECKF(mappings <= GROWTHS * 2 / 5, "the block spans %d mappings", mappings);
  check_report("test_realloc_in_place");
  return 0;
}
