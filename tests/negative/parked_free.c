/* Another thread frees again a block that malloc_trim has given back
 * (argv[1]: small or medium).  Its neighbours are free too, and a live
 * block on either side keeps the page in use, all on one page: the trim
 * parks the block in the default build, off its page's free list with its
 * memory given back (page.c).  (A large page holds 3 blocks: the one
 * between two live ones keeps the OS page its start is in, and only its
 * inside goes back.)  The second free is reported and
 * ignored, and the freed places are handed out once each afterwards.  The
 * secure build parks nothing: there the block is on the free list, sealed,
 * and caught as any double free is. */
#include <malloc.h>
#include <pthread.h>

#include "common.h"

enum { COUNT_MAX = 60 };

static void* free_again(void* p)
{
  free(launder(p));
  return NULL;
}

int main(int argc, char** argv)
{
  CHECK(argc == 2);
  size_t size = tier_size(argv[1]);
  /* The blocks between the live ones: around the middle one, OS pages that
   * hold no other block on a small page (20 blocks per 4 KiB); all on one
   * page (the first medium page holds 9 blocks). */
  size_t count = size < KiB ? COUNT_MAX : 6;
  block_t blocks[COUNT_MAX];
  char* first = malloc(size);
  for (size_t i = 0; i < count; i++) blocks[i] = (block_t){malloc(size), size, i + 3};
  char* last = malloc(size);
  CHECK(first != NULL && last != NULL);
  pattern_fill(first, size, 1);
  pattern_fill(last, size, 2);
  for (size_t i = 0; i < count; i++) {
    CHECK(blocks[i].p != NULL);
    free(blocks[i].p);
  }
  malloc_trim(0);

  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, free_again, blocks[count / 2].p) == 0);
  CHECK(pthread_join(thread, NULL) == 0);

  for (size_t i = 0; i < count; i++) {
    blocks[i].p = malloc(size);
    CHECK(blocks[i].p != NULL);
    pattern_fill(blocks[i].p, size, blocks[i].tag);
  }
  for (size_t i = 0; i < count; i++) {
    CHECK(pattern_mismatch(blocks[i].p, size, blocks[i].tag) == SIZE_MAX);
    free(blocks[i].p);
  }
  CHECK(pattern_mismatch(first, size, 1) == SIZE_MAX);
  CHECK(pattern_mismatch(last, size, 2) == SIZE_MAX);
  check_heap_works(size);
  free(first);
  free(last);
  check_report(argv[0]);
  return 0;
}
