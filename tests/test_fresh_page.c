/* A fresh page's blocks are built as they are handed out: nothing of the
 * page is written past the blocks in use, so a program that uses a few big
 * blocks of a size holds only those.  That goes for the secure build too,
 * which hands out a page's blocks in random order: for blocks of 4 KiB and
 * more it draws the order eight blocks at a time and still builds each one
 * when it is handed out.  (It used to link the eight at once, writing into
 * each: eight blocks resident before the first was used.) */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "resident.h"
#include "segment.h"

#define SIZE ((size_t)16 << 10) /* 32 blocks a medium page */
#define COUNT 5

int main(void)
{
  /* A block of another medium size first, so that the 16 KiB blocks get a
   * page of their own without the segment's header in it. */
  char* other = malloc(2000);
  CHECK(other != NULL);
  char* blocks[COUNT];
  for (size_t i = 0; i < COUNT; i++) {
    blocks[i] = malloc(SIZE);
    CHECK(blocks[i] != NULL);
    CHECKF(medium_page_of(blocks[i]) == medium_page_of(blocks[0]),
           "block %zu (%p) is not on the page of the first (%p)", i, (void*)blocks[i],
           (void*)blocks[0]);
  }
  const char* page = (const char*)medium_page_of(blocks[0]);
  CHECKF(medium_page_of(other) != (uintptr_t)page && page != segment_of(page + 1),
         "the blocks' page %p is shared with the 2000-byte block or the segment's header",
         (const void*)page);

  /* Nothing wrote to the blocks but hakmem: each has its first OS page
   * resident at most (a free block's link). */
  size_t pages;
  size_t resident = resident_pages(page, page + MEDIUM_PAGE_SIZE, &pages);
  printf("%d blocks of %zu KiB handed out: %zu of the page's %zu OS pages resident\n", COUNT,
         SIZE >> 10, resident, pages);
  CHECKF(resident <= COUNT, "%zu OS pages of the page are resident, for %d blocks handed out",
         resident, COUNT);

  for (size_t i = 0; i < COUNT; i++) free(blocks[i]);
  free(other);
  check_report("test_fresh_page");
  return 0;
}
