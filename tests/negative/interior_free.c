/* Frees of interior pointers into a live block of each tier (argv[1]: small,
 * medium, large or huge): each is reported and ignored, and the block keeps
 * its contents and is freed normally afterwards.  test_bad_free tries p + 16;
 * here the offsets are odd, word-aligned, 16-aligned, the middle and the last
 * byte, and, in a huge block, the 4 MiB boundaries inside it, where masking
 * the pointer finds the block's own segment header (just before a boundary)
 * or no segment at all (just past it).  In the aligned tier's block every
 * 4 KiB boundary is tried too: when the pointer handed out is not 32 KiB-
 * aligned, one of them passes the alignment rule of hak_block_of, and only
 * the mark before an aligned pointer tells it apart; and so is a pointer
 * into the last page of its segment, where no block was ever made (its
 * page has no block size: hakmem divided by zero there). */
#include <malloc.h>

#include "common.h"

static void free_at(char* p, size_t offset)
{
  free(launder(p + offset));
}

int main(int argc, char** argv)
{
  CHECK(argc == 2);
  int aligned = strcmp(argv[1], "aligned") == 0;
  size_t size = tier_size(argv[1]);
  /* The first block of a fresh page is 4 KiB-aligned already, and the
   * aligned pointer would be its start: spares take such blocks. */
  char* spares[5];
  size_t spare_count = 0;
  if (aligned) spares[spare_count++] = malloc(size);
  char* p = tier_alloc(argv[1], size);
  while (aligned && (uintptr_t)p % (32 * KiB) == 0 && spare_count < 5) {
    spares[spare_count++] = p;
    p = tier_alloc(argv[1], size);
  }
  CHECK(p != NULL);
  pattern_fill(p, size, 2);

  /* Five bad frees, eight in a huge block, eighteen in the aligned one:
   * tests/CMakeLists.txt tells expect.sh as much. */
  const size_t offsets[] = {1, 8, 48, size / 2 + 16, size - 1};
  for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) free_at(p, offsets[i]);
  for (size_t offset = 4096; aligned && offset < size; offset += 4096) free_at(p, offset);
  if (aligned) {
    char* unused_page = segment_of(p) + SEGMENT_SIZE - 4096;
    CHECK(malloc_usable_size(launder(unused_page)) == 0);
    free(launder(unused_page));
  }
  if (size > SEGMENT_SIZE) {
    uintptr_t boundary = ((uintptr_t)p + SEGMENT_SIZE) & ~(uintptr_t)(SEGMENT_SIZE - 1);
    size_t to_boundary = (size_t)(boundary - (uintptr_t)p);
    CHECK(to_boundary + SEGMENT_SIZE / 2 < size);
    free_at(p, to_boundary);
    free_at(p, to_boundary + 16);
    free_at(p, to_boundary + SEGMENT_SIZE / 2);
  }

  CHECK(pattern_mismatch(p, size, 2) == SIZE_MAX);
  check_heap_works(size);
  CHECK(pattern_mismatch(p, size, 2) == SIZE_MAX);
  free(p);
  for (size_t i = 0; i < spare_count; i++) free(spares[i]);
  check_report(argv[0]);
  return 0;
}
