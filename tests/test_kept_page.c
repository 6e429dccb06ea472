/* Which empty pages a bin keeps, and what a kept page costs when taken back.
 *
 * A block of a large size class gets a page of its own (one per segment).
 * Freed, the page is its bin's only one: up to 256 KiB blocks it is kept,
 * its memory warm (run with long purge delays), and the next block of that
 * size takes the page back with its warm blocks.  That must not touch (say,
 * by linking them) the blocks the page never built: nothing in the segment
 * may be resident afterwards that was not before; the secure build must not
 * hand out one of those never-built blocks in its random order either.
 * Bigger blocks' pages are not kept: their segment goes back to the cache,
 * where the next large block of any size finds it.
 *
 * A medium bin's kept page stays as it is, and another medium bin that
 * needs a new page takes it once it has been empty for a while (16 of the
 * thread's page searches), not while its bin may still be in use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hakmem.h"
#include "resident.h"
#include "segment.h"

#define KiB ((size_t)1 << 10)

static void medium_page_passed_on(void)
{
  char* first = malloc(2000);
  CHECK(first != NULL);
  uintptr_t page = medium_page_of(first);
  free(first); /* its bin keeps the page, empty */

  char* at_once = malloc(3000);
  CHECK(at_once != NULL);
  CHECKF(medium_page_of(at_once) != page,
         "a bin took the page another bin had kept for no time at all (%p, then %p)",
         (void*)first, (void*)at_once);

  /* Page searches elsewhere: each four small blocks of 1000 bytes build
   * the next 4 KiB of their page, after a search. */
  static char* small[256];
  for (size_t i = 0; i < 256; i++) {
    small[i] = malloc(1000);
    CHECK(small[i] != NULL);
  }
  char* later = malloc(5000);
  CHECK(later != NULL);
  printf("medium page: a 2000-byte block's %p, a 3000-byte block's at once %p, "
         "a 5000-byte block's after 256 small ones %p\n",
         (void*)page, (void*)medium_page_of(at_once), (void*)medium_page_of(later));
  CHECKF(medium_page_of(later) == page,
         "the page a bin kept empty (%p) was not passed on to a bin that needed one (%p)",
         (void*)page, (void*)later);
  for (size_t i = 0; i < 256; i++) free(small[i]);
  free(at_once);
  free(later);
}

static void kept_page_taken_back(void)
{
  size_t size = 200 * KiB; /* about 18 blocks a page */
  char* first = malloc(size);
  CHECK(first != NULL);
  memset(first, 0x5a, size);
  char* segment = segment_of(first);
  size_t pages;
  size_t before = resident_pages(segment, segment + SEGMENT_SIZE, &pages);
  free(first);

  char* again = malloc(size);
  CHECK(again != NULL);
  CHECKF(segment_of(again) == segment, "the kept page was not taken back (%p, then %p)",
         (void*)first, (void*)again);
  size_t after = resident_pages(segment, segment + SEGMENT_SIZE, &pages);
  printf("kept page: %zu of %zu pages resident before the free, %zu after the new malloc\n",
         before, pages, after);
  CHECKF(after == before, "taking the kept page back made %zu more pages resident",
         after - before);
  free(again);
}

static void big_block_page_shared(void)
{
  size_t big = 1024 * KiB, next = 600 * KiB;
  char* block = malloc(big);
  CHECK(block != NULL);
  memset(block, 0x5a, big);
  char* segment = segment_of(block);
  free(block);
  char* other = malloc(next);
  CHECK(other != NULL);
  printf("a %zu KiB block's segment %p, then a %zu KiB block's %p\n", big / KiB,
         (void*)segment, next / KiB, (void*)segment_of(other));
  CHECKF(segment_of(other) == segment,
         "the page of a freed %zu KiB block was kept for its bin, not given to the next",
         big / KiB);
  free(other);
}

int main(void)
{
  medium_page_passed_on();
  kept_page_taken_back();
  big_block_page_shared();
  check_report("test_kept_page");
  return 0;
}
