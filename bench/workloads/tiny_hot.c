/* tiny_hot: the allocator's fastest path, a tight loop on one small size.
 *
 * usage: tiny_hot SIZE ITERS
 *
 * Mallocs a batch of 16 blocks of SIZE bytes, writes a byte in each, then
 * frees them in the same order; ITERS counts malloc + free pairs.  The batch
 * keeps several blocks live, so the loop measures the free-list push/pop
 * rather than one block bouncing.  One op = one malloc + free pair. */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "result.h"
#include "sink.h"
#include "timing.h"

#define BATCH 16

int main(int argc, char** argv) {
  size_t size = arg_u64(argc, argv, 1, "SIZE", 32);
  uint64_t iters = arg_u64(argc, argv, 2, "ITERS", 200000000);
  if (size == 0) {
    fprintf(stderr, "tiny_hot: SIZE must be positive\n");
    return 2;
  }
  uint64_t batches = iters / BATCH;

  char* batch[BATCH];
  uintptr_t acc = 0;
  double start = now_seconds();
  for (uint64_t b = 0; b < batches; b++) {
    for (int i = 0; i < BATCH; i++) {
      char* p = malloc(size);
      p[0] = (char)i;
      batch[i] = p;
      acc ^= (uintptr_t)p;
    }
    for (int i = 0; i < BATCH; i++) free(batch[i]);
  }
  double elapsed = now_seconds() - start;

  sink_publish(acc);
  result_print(batches * BATCH, elapsed, "");
  return 0;
}
