/* A kept page taken back touches no memory it did not use before.
 *
 * A block of a large size class gets a page of its own (one per segment);
 * freed, the page is its bin's only one and so is kept, its memory warm
 * (run with long purge delays).  The next block of that size takes the page
 * back with its warm blocks, and must not touch (say, by linking them) the
 * blocks the page never built: nothing in the segment may be resident
 * afterwards that was not before.  The secure build must not hand out one of
 * those never-built blocks in its random order either. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hakmem.h"
#include "resident.h"

#define KiB ((size_t)1 << 10)
#define SEGMENT ((size_t)4 << 20)     /* docs/architecture.md */
#define BLOCK (300 * KiB)             /* a large size class: about 12 per page */

static char* segment_of(const void* p)
{
  return (char*)(((uintptr_t)p - 1) & ~(uintptr_t)(SEGMENT - 1));
}

int main(void)
{
  char* first = malloc(BLOCK);
  CHECK(first != NULL);
  memset(first, 0x5a, BLOCK);
  char* segment = segment_of(first);
  size_t pages;
  size_t before = resident_pages(segment, segment + SEGMENT, &pages);
  free(first);

  char* again = malloc(BLOCK);
  CHECK(again != NULL);
  CHECKF(segment_of(again) == segment, "the kept page was not taken back (%p, then %p)",
         (void*)first, (void*)again);
  size_t after = resident_pages(segment, segment + SEGMENT, &pages);
  printf("segment: %zu of %zu pages resident before the free, %zu after the new malloc\n",
         before, pages, after);
  CHECKF(after == before, "taking the kept page back made %zu more pages resident",
         after - before);
  free(again);
  check_report("test_kept_page");
  return 0;
}
