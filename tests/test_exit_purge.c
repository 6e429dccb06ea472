/* A thread that exits leaves its segments to whoever reclaims them; with
 * HAKMEM_EXIT_PURGE (the default in balanced mode) the free pages of those
 * segments that have been idle for a moment are given back at once,
 * without waiting for the page purge delay, and the ones freed just before
 * the exit are not (the next thread would take them again at once).
 *
 * A thread fills 8 small pages with 1000-byte blocks and 4 with 500-byte
 * ones.  It frees the 1000-byte blocks but one, which keeps the segment in
 * use past the thread's end, waits 20 ms, frees the 500-byte blocks and
 * exits.  After the join the pages of the 1000-byte blocks must not be
 * resident, those of the 500-byte ones must; the live block keeps its
 * bytes.  Run with a page purge delay of a minute, so that only the exit
 * can have purged anything.  With the argument "off" (HAKMEM_EXIT_PURGE=0)
 * every page must still be resident. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "resident.h"
#include "segment.h"

#define IDLE_BLOCK 1000
#define IDLE_COUNT (64 * 8)
#define LATE_BLOCK 500
#define LATE_COUNT (128 * 4)

static char* idle_blocks[IDLE_COUNT];
static char* late_blocks[LATE_COUNT];

typedef struct pages_s {
  uintptr_t at[IDLE_COUNT];
  size_t count;
} pages_t;

static pages_t idle_pages, late_pages;

/* Records p's page in pages unless it is `except` or known already. */
static void note_page(pages_t* pages, const void* p, uintptr_t except)
{
  uintptr_t page = small_page_of(p);
  bool seen = page == except;
  for (size_t n = 0; n < pages->count && !seen; n++) seen = pages->at[n] == page;
  if (!seen) pages->at[pages->count++] = page;
}

static void fill(char** blocks, size_t count, size_t size)
{
  for (size_t i = 0; i < count; i++) {
    blocks[i] = malloc(size);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], 0x3c, size);
  }
}

static void* run_and_exit(void* arg)
{
  (void)arg;
  fill(idle_blocks, IDLE_COUNT, IDLE_BLOCK);
  fill(late_blocks, LATE_COUNT, LATE_BLOCK);
  uintptr_t live = small_page_of(idle_blocks[0]);
  for (size_t i = 1; i < IDLE_COUNT; i++) {
    note_page(&idle_pages, idle_blocks[i], live);
    free(idle_blocks[i]);
  }
  struct timespec wait = {0, 20 * 1000 * 1000};
  nanosleep(&wait, NULL);
  for (size_t i = 0; i < LATE_COUNT; i++) {
    note_page(&late_pages, late_blocks[i], live);
    free(late_blocks[i]);
  }
  return NULL;
}

/* How many of the pages hold a resident OS page. */
static size_t resident_count(const pages_t* pages)
{
  size_t resident = 0;
  for (size_t n = 0; n < pages->count; n++) {
    size_t total;
    if (resident_pages((const char*)pages->at[n], (const char*)pages->at[n] + SMALL_PAGE_SIZE, &total) > 0)
      resident++;
  }
  return resident;
}

int main(int argc, char** argv)
{
  bool purge_expected = !(argc > 1 && strcmp(argv[1], "off") == 0);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, run_and_exit, NULL) == 0);
  CHECK(pthread_join(thread, NULL) == 0);

  size_t idle = resident_count(&idle_pages);
  size_t late = resident_count(&late_pages);
  CHECK(idle_pages.count >= 6 && late_pages.count >= 3);
  /* One idle page may be in use again: the thread's exit can allocate
   * (glibc's thread set-up for the purger, started then), and a new page
   * takes the lowest free one. */
  if (purge_expected)
    CHECKF(idle <= 1, "%zu of the exited thread's %zu idle free pages resident", idle,
           idle_pages.count);
  else
    CHECKF(idle + 1 >= idle_pages.count, "only %zu of %zu idle free pages resident without HAKMEM_EXIT_PURGE",
           idle, idle_pages.count);
  CHECKF(late == late_pages.count, "only %zu of the %zu pages freed at the exit resident", late,
         late_pages.count);
  for (size_t b = 0; b < IDLE_BLOCK; b++) CHECK(idle_blocks[0][b] == 0x3c);
  free(idle_blocks[0]);
  printf("exit_purge: of an exited thread's free pages, %zu of %zu idle ones and %zu of %zu freed at "
         "its exit resident\n",
         idle, idle_pages.count, late, late_pages.count);
  check_report("test_exit_purge");
  return 0;
}
