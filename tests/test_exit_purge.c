/* A thread that exits leaves its segments to whoever reclaims them; with
 * HAKMEM_EXIT_PURGE (the default in balanced mode) their free pages are
 * given back at once, without waiting for the page purge delay.
 *
 * A thread fills 8 small pages with 1000-byte blocks and frees all but one,
 * which keeps its segment in use past the thread's end.  After the join the
 * pages of the freed blocks must not be resident; the live block keeps its
 * bytes.  Run with a page purge delay of a minute, so that only the exit
 * can have purged them.  With the argument "off" (HAKMEM_EXIT_PURGE=0)
 * the pages must still be resident. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "resident.h"

#define PAGE_SIZE ((size_t)64 << 10)
#define BLOCK 1000
#define COUNT (64 * 8)

static char* blocks[COUNT];
static uintptr_t freed_pages[COUNT];
static size_t freed_count;

static uintptr_t page_of(const void* p)
{
  return (uintptr_t)p & ~(uintptr_t)(PAGE_SIZE - 1);
}

static void* fill_and_free(void* arg)
{
  (void)arg;
  for (size_t i = 0; i < COUNT; i++) {
    blocks[i] = malloc(BLOCK);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], 0x3c, BLOCK);
  }
  uintptr_t live = page_of(blocks[0]);
  for (size_t i = 1; i < COUNT; i++) {
    uintptr_t page = page_of(blocks[i]);
    bool seen = page == live;
    for (size_t n = 0; n < freed_count && !seen; n++) seen = freed_pages[n] == page;
    if (!seen) freed_pages[freed_count++] = page;
    free(blocks[i]);
  }
  return NULL;
}

int main(int argc, char** argv)
{
  bool purge_expected = !(argc > 1 && strcmp(argv[1], "off") == 0);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, fill_and_free, NULL) == 0);
  CHECK(pthread_join(thread, NULL) == 0);

  /* Pages holding any resident OS page.  One of them may be in use again:
   * the thread's exit can allocate (glibc's thread set-up for the purger,
   * started then), and a new page takes the lowest free one. */
  size_t resident = 0;
  for (size_t n = 0; n < freed_count; n++) {
    size_t pages;
    if (resident_pages((const char*)freed_pages[n], (const char*)freed_pages[n] + PAGE_SIZE, &pages) > 0)
      resident++;
  }
  CHECK(freed_count >= 6);
  if (purge_expected)
    CHECKF(resident <= 1, "%zu of the exited thread's %zu free pages resident", resident, freed_count);
  else
    CHECKF(resident + 1 >= freed_count, "only %zu of %zu free pages resident without HAKMEM_EXIT_PURGE",
           resident, freed_count);
  for (size_t b = 0; b < BLOCK; b++) CHECK(blocks[0][b] == 0x3c);
  free(blocks[0]);
  printf("exit_purge: %zu free pages of an exited thread, %zu resident\n", freed_count, resident);
  check_report("test_exit_purge");
  return 0;
}
