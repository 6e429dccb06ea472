/* Segments unmapped and made again keep to the same addresses.  The OS layer
 * places an aligned mapping just below the lowest one so far, where the
 * kernel has nothing yet; once space above that is unmapped, the next one
 * goes there instead (src/os.c).  Before, every huge block made after the
 * cache was emptied lay below the one before it, so the address space a
 * long-running program had touched grew without end: a fuzzing run under
 * ASan, whose shadow follows it, ran out of memory on a kernel that backs
 * even read pages of anonymous memory.
 *
 * Each round makes an 8 MiB block, writes it, frees it, and empties the
 * cache (hak_collect), which unmaps its mapping.  Each new block must lie
 * where an earlier one did, not ever lower: all of them within a span of
 * two blocks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "hakmem.h"

#define MiB ((size_t)1 << 20)
#define BLOCK (8 * MiB)
#define ROUNDS 64

int main(void)
{
  uintptr_t lowest = UINTPTR_MAX;
  uintptr_t highest = 0;
  for (int i = 0; i < ROUNDS; i++) {
    char* block = malloc(BLOCK);
    CHECK(block != NULL);
    block[0] = 1;
    block[BLOCK - 1] = 1;
    uintptr_t at = (uintptr_t)block;
    if (at < lowest) lowest = at;
    if (at > highest) highest = at;
    free(block);
    hak_collect(true);
  }
  size_t span = highest - lowest;
  printf("%d blocks of %zu MiB made within %zu MiB\n", ROUNDS, BLOCK / MiB, span / MiB);
  CHECKF(span <= 2 * BLOCK, "the blocks spread over %zu MiB", span / MiB);
  return 0;
}
