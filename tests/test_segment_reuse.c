/* A segment made of a freed mapping longer than a segment does not keep the
 * longer part resident: no page of the segment can ever use it.
 *
 * The program's first allocation is a huge block of 6 MiB, written through
 * and freed, so that its mapping waits warm in the segment cache (run with
 * a long purge delay).  The first small block then needs the heap's first
 * segment, which takes that mapping whole: the cache splits only where a
 * whole segment (4 MiB) would be left over.  The 2 MiB past the segment
 * must not be resident any more: given back, or unmapped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hakmem.h"
#include "resident.h"
#include "segment.h"

#define MiB ((size_t)1 << 20)

int main(void)
{
  hak_collect(true); /* an empty cache: the mapping below is all it holds */
  char* huge = malloc(6 * MiB);
  CHECK(huge != NULL);
  memset(huge, 0x5a, 6 * MiB);
  char* base = segment_of(huge);
  char* end = huge + 6 * MiB;
  free(huge);

  char* block = malloc(64);
  CHECK(block != NULL);
  CHECKF(block >= base && block < base + SEGMENT_SIZE,
         "the first segment was not made of the freed mapping (block %p, mapping %p)",
         (void*)block, (void*)base);

  size_t pages;
  size_t resident = resident_pages(base + SEGMENT_SIZE, end, &pages);
  printf("past the segment: %zu of %zu pages resident\n", resident, pages);
  CHECKF(resident == 0, "%zu of %zu pages past the segment still resident", resident, pages);
  free(block);
  check_report("test_segment_reuse");
  return 0;
}
