/* free and realloc of a block start that hakmem never handed out: a block
 * of a fresh page that the page has not built yet.  argv[1] picks it:
 *   small   200-byte blocks, 40 blocks past the first;
 *   page    5000-byte blocks on a medium page, 40 blocks past the first
 *           (past its window of eight in the secure build);
 *   window  16 KiB blocks, the one past the first: in the secure build a
 *           block of the first's window, which is open.
 * Each call is reported and ignored; the page then builds that block as
 * usual, and hands it out once.  Before session 21 such a free went onto
 * the page's free list, and the block was handed out twice, silently. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>

#include "common.h"

enum { COUNT = 400 };

int main(int argc, char** argv)
{
  CHECK(argc == 2);
  static const struct {
    const char* name;
    size_t size;
    size_t blocks_on;
  } cases[] = {{"small", 200, 40}, {"page", 5000, 40}, {"window", 16 * KiB, 1}};
  size_t c = 0;
  while (c < sizeof cases / sizeof cases[0] && strcmp(cases[c].name, argv[1]) != 0) c++;
  CHECK(c < sizeof cases / sizeof cases[0]);
  size_t size = cases[c].size;
  /* The first block of the size: its page is fresh, and has built a few
   * KiB of blocks (of 4 KiB and more, one, or a window of eight). */
  char* first = malloc(size);
  CHECK(first != NULL);
  size_t stride = malloc_usable_size(first);
  CHECK(stride >= size);
  /* Inside the page: 40 blocks of 200 or 5000 bytes, and 2 of 16 KiB (the
   * first is one of the window's eight), are less than it holds. */
  char* never = first + cases[c].blocks_on * stride;

  free(launder(never));
  CHECK(malloc_usable_size(launder(never)) == 0);
  errno = 0;
  CHECK(realloc(launder(never), size / 2) == NULL && errno == EINVAL);

  /* Every block of the page, that one among them, once each. */
  static block_t blocks[COUNT];
  for (int i = 0; i < COUNT; i++) {
    blocks[i] = (block_t){malloc(size), size, (uint64_t)i};
    CHECK(blocks[i].p != NULL);
    pattern_fill(blocks[i].p, size, blocks[i].tag);
  }
  int seen = 0;
  for (int i = 0; i < COUNT; i++) {
    CHECKF(pattern_mismatch(blocks[i].p, size, blocks[i].tag) == SIZE_MAX,
           "the block at %p was handed out twice", blocks[i].p);
    seen += blocks[i].p == never;
  }
  CHECKF(seen == 1, "the block never handed out before came %d times", seen);
  for (int i = 0; i < COUNT; i++) free(blocks[i].p);
  free(first);
  check_heap_works(size);
  check_report(argv[0]);
  return 0;
}
