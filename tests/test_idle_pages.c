/* A free page goes back once it has been idle for the page purge delay,
 * even when other pages of its segment are freed all the while.
 *
 * Blocks of 1000 bytes fill about 16 small pages (64 KiB each), and all
 * but one are freed: those pages become free.  Then, every 20 ms, 200
 * blocks of 500 bytes (two pages' worth) are allocated and freed, so that a
 * page of the same segment is made and freed at each tick.  Run with a page
 * purge delay of 200 ms: after a second of that, the pages freed at the
 * start and not taken again must no longer be resident. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "resident.h"
#include "segment.h"

#define BLOCK 1000
#define COUNT (64 * 16)
#define CHURN_BLOCK 500
#define CHURN_COUNT 200
#define TICKS 50

static char* blocks[COUNT];
static uintptr_t idle[COUNT];
static bool reused[COUNT];

/* Marks the idle pages that p lies in. */
static void mark_reused(const void* p, size_t count)
{
  for (size_t n = 0; n < count; n++) {
    if (idle[n] == small_page_of(p)) reused[n] = true;
  }
}

int main(void)
{
  for (size_t i = 0; i < COUNT; i++) {
    blocks[i] = malloc(BLOCK);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], 0x5a, BLOCK);
  }
  /* Pages of the blocks freed, without the page of the one kept. */
  uintptr_t kept = small_page_of(blocks[0]);
  size_t count = 0;
  for (size_t i = 1; i < COUNT; i++) {
    uintptr_t page = small_page_of(blocks[i]);
    bool seen = page == kept;
    for (size_t n = 0; n < count && !seen; n++) seen = idle[n] == page;
    if (!seen) idle[count++] = page;
    free(blocks[i]);
  }

  static char* churn[CHURN_COUNT];
  struct timespec tick = {0, 20 * 1000 * 1000};
  for (int t = 0; t < TICKS; t++) {
    for (size_t i = 0; i < CHURN_COUNT; i++) {
      churn[i] = malloc(CHURN_BLOCK);
      CHECK(churn[i] != NULL);
      churn[i][0] = 1;
      mark_reused(churn[i], count);
    }
    for (size_t i = 0; i < CHURN_COUNT; i++) free(churn[i]);
    nanosleep(&tick, NULL);
  }

  /* One of them may still be in use, empty: a bin keeps its last page in
   * its queue (hak_page_retire). */
  size_t checked = 0, still_resident = 0;
  for (size_t n = 0; n < count; n++) {
    if (reused[n]) continue;
    size_t total;
    if (resident_pages((const char*)idle[n], (const char*)idle[n] + SMALL_PAGE_SIZE, &total) > 0)
      still_resident++;
    checked++;
  }
  CHECKF(still_resident <= 1, "%zu of %zu pages idle for %d ms still resident", still_resident,
         checked, TICKS * 20);
  /* The churn takes a page or two of the free ones; the rest stayed idle. */
  CHECKF(checked + 3 >= count, "only %zu of %zu free pages left idle", checked, count);
  free(blocks[0]);
  printf("idle_pages: %zu free pages, %zu idle throughout, %zu still resident\n", count, checked,
         still_resident);
  check_report("test_idle_pages");
  return 0;
}
