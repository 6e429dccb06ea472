/* A new segment for medium pages first gives back the free pages of the
 * small segments, which cannot serve it, without waiting for their purge
 * delay (segment.c, other_kind_purge).
 *
 * 1000-byte blocks fill about 40 small pages and are freed, all but one:
 * their pages go back to their segment, free and resident.  Then 16 KiB
 * blocks take more than a segment of medium pages, so at least one medium
 * segment is made, and every free small page must be purged, while the live
 * block keeps its bytes.  Run with long purge delays and no purger thread,
 * so that nothing else purges them. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "resident.h"
#include "segment.h"

#define SMALL_BLOCK 1000
#define SMALL_COUNT (64 * 40)
#define MEDIUM_BLOCK (16 << 10)
#define MEDIUM_COUNT ((SEGMENT_SIZE + SEGMENT_SIZE / 4) / MEDIUM_BLOCK)

static char* small[SMALL_COUNT];
static char* medium[MEDIUM_COUNT];

/* OS pages resident in the small pages that small[1..] went free from,
 * but for the two that stay in use (see main) and a segment's first page,
 * whose first OS pages are its header; in *pages, how many were looked at.
 * A fresh page's blocks come in address order, so a page's blocks follow
 * one another in small[]. */
static size_t freed_pages_resident(uintptr_t live_page, uintptr_t last_page, size_t* pages)
{
  size_t resident = 0;
  *pages = 0;
  for (size_t i = 1; i < SMALL_COUNT; i++) {
    uintptr_t page = small_page_of(small[i]);
    if (page == live_page || page == last_page) continue;
    if (i > 1 && page == small_page_of(small[i - 1])) continue;
    if (segment_of(small[i]) == (char*)page) continue;
    size_t total;
    resident += resident_pages((const char*)page, (const char*)page + SMALL_PAGE_SIZE, &total);
    (*pages)++;
  }
  return resident;
}

int main(void)
{
  malloc_trim(0); /* nothing left to purge but what follows */
  for (size_t i = 0; i < SMALL_COUNT; i++) {
    small[i] = malloc(SMALL_BLOCK);
    CHECK(small[i] != NULL);
    memset(small[i], 0x5a, SMALL_BLOCK);
  }
  /* The live block's page stays in use, and so does the bin's last page
   * (a bin keeps its only page when it empties): neither may be purged. */
  char* live = small[0];
  uintptr_t live_page = small_page_of(live);
  uintptr_t last_page = small_page_of(small[SMALL_COUNT - 1]);
  for (size_t i = 1; i < SMALL_COUNT; i++) free(small[i]);

  size_t idle_pages;
  size_t before = freed_pages_resident(live_page, last_page, &idle_pages);
  CHECKF(idle_pages >= 30, "only %zu small pages went free", idle_pages);
  CHECKF(before > idle_pages * 8, "the free small pages held only %zu OS pages", before);

  for (size_t i = 0; i < MEDIUM_COUNT; i++) {
    medium[i] = malloc(MEDIUM_BLOCK);
    CHECK(medium[i] != NULL);
    memset(medium[i], 0x3c, MEDIUM_BLOCK);
  }
  size_t after = freed_pages_resident(live_page, last_page, &idle_pages);
  CHECKF(after == 0, "%zu of %zu OS pages of the free small pages still resident", after, before);
  for (size_t b = 0; b < SMALL_BLOCK; b++) CHECKF(live[b] == 0x5a, "live block, byte %zu", b);

  for (size_t i = 0; i < MEDIUM_COUNT; i++) free(medium[i]);
  free(live);
  /* Only now: printf's buffer would take a small page. */
  printf("other_kind_purge: %zu free small pages, %zu OS pages resident before the medium "
         "segment, none after\n",
         idle_pages, before);
  check_report("test_other_kind_purge");
  return 0;
}
