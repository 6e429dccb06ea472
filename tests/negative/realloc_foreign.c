/* realloc of a pointer hakmem does not own (argv[1]: stack, global, mmap, or
 * interior, 16 bytes into a live block): reported, NULL returned, and neither
 * the memory pointed at nor the live block touched.  test_bad_free does the
 * same with free. */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "common.h"

enum { LEN = 4096, NEW_SIZE = 2 * LEN };

static char global_buffer[LEN];

/* realloc(p + offset), then checks that the LEN bytes at p are unchanged. */
static void realloc_foreign(char* p, size_t offset)
{
  pattern_fill(p, LEN, 7);
  void* q = realloc(launder(p + offset), NEW_SIZE);
  CHECKF(q == NULL, "realloc(%p, %d) returned %p", (void*)(p + offset), NEW_SIZE, q);
  CHECK(pattern_mismatch(p, LEN, 7) == SIZE_MAX);
}

int main(int argc, char** argv)
{
  CHECK(argc == 2);
  if (strcmp(argv[1], "stack") == 0) {
    _Alignas(16) char local[LEN];
    realloc_foreign(local, 0);
  } else if (strcmp(argv[1], "global") == 0) {
    realloc_foreign(global_buffer, 0);
  } else if (strcmp(argv[1], "mmap") == 0) {
    char* region = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(region != MAP_FAILED);
    realloc_foreign(region, 0);
    munmap(region, LEN);
  } else if (strcmp(argv[1], "interior") == 0) {
    char* block = malloc(LEN);
    CHECK(block != NULL);
    realloc_foreign(block, 16);
    free(block);
  } else {
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
  }
  check_heap_works(LEN);
  check_report(argv[0]);
  return 0;
}
