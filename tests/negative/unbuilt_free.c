/* free and realloc of a block start that hakmem never handed out: a block
 * of a fresh page that the page has not built yet (argv[1]: small, 200-byte
 * blocks; or page, 5000-byte blocks on a medium page, which the secure build
 * hands out from windows of eight).  Each call is reported and ignored; the
 * page then builds that block as usual, and hands it out once.  Before
 * session 21 such a free went onto the page's free list, and the block was
 * handed out twice, silently. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>

#include "common.h"

enum { COUNT = 400 };

int main(int argc, char** argv)
{
  CHECK(argc == 2);
  size_t size = strcmp(argv[1], "page") == 0 ? 5000 : tier_size(argv[1]);
  /* The first block of the size: its page is fresh, and has built a few
   * KiB of blocks (one block, or a window of eight, at 5000 bytes). */
  char* first = malloc(size);
  CHECK(first != NULL);
  size_t stride = malloc_usable_size(first);
  CHECK(stride >= size);
  /* 40 blocks on lies well past them, and inside the page. */
  char* never = first + 40 * stride;

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
