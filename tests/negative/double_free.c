/* Double free of a block of each tier (argv[1]: small, medium, large, huge
 * or aligned): the second free is reported and ignored, and the block is not
 * handed out twice afterwards.  Unlike test_bad_free's double frees, a
 * neighbour of the same size allocated just before stays live, so small,
 * medium and large blocks go back to a page still in use, and the huge block
 * (8 MiB) spans more than one 4 MiB segment slot. */
#include "common.h"

int main(int argc, char** argv)
{
  CHECK(argc == 2);
  size_t size = tier_size(argv[1]);
  char* neighbour = tier_alloc(argv[1], size);
  char* p = tier_alloc(argv[1], size);
  CHECK(neighbour != NULL && p != NULL);
  pattern_fill(neighbour, size, 1);
  memset(p, 0x5A, size);

  free(p);
  free(launder(p));

  CHECK(pattern_mismatch(neighbour, size, 1) == SIZE_MAX);
  check_heap_works(size);
  CHECK(pattern_mismatch(neighbour, size, 1) == SIZE_MAX);
  free(neighbour);
  check_report(argv[0]);
  return 0;
}
