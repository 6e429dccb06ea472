/* realloc of a block just freed, in each tier (argv[1]: small, medium, large
 * or huge), to the same size or to twice it (argv[2]: same or grow).  Like
 * any pointer that is not a live block it is reported and ignored: realloc
 * returns NULL, and the freed block is neither handed back as live nor freed
 * a second time.  A live neighbour keeps the block's page in use, as it would
 * be in a real program. */
#include "common.h"

int main(int argc, char** argv)
{
  CHECK(argc == 3 && (strcmp(argv[2], "same") == 0 || strcmp(argv[2], "grow") == 0));
  size_t size = tier_size(argv[1]);
  size_t new_size = strcmp(argv[2], "grow") == 0 ? 2 * size : size;
  char* neighbour = tier_alloc(argv[1], size);
  char* p = tier_alloc(argv[1], size);
  CHECK(neighbour != NULL && p != NULL);
  pattern_fill(neighbour, size, 1);
  memset(p, 0x5A, size);

  free(p);
  void* q = realloc(launder(p), new_size);

  CHECKF(q == NULL, "realloc(freed %p, %zu) returned %p", (void*)p, new_size, q);
  CHECK(pattern_mismatch(neighbour, size, 1) == SIZE_MAX);
  check_heap_works(size);
  CHECK(pattern_mismatch(neighbour, size, 1) == SIZE_MAX);
  free(neighbour);
  check_report(argv[0]);
  return 0;
}
