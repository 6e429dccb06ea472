/* random_mixed: the everyday single-threaded mix of small and medium blocks.
 *
 * usage: random_mixed ITERS WS SEED
 *
 * A working set of WS slots; each iteration frees the block in a random slot
 * and mallocs a new one of random size in 16 B .. 4 KiB, writing its first
 * byte.  One op = one free + malloc replacement. */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "result.h"
#include "rng.h"
#include "sink.h"
#include "timing.h"

#define MIN_SIZE 16
#define MAX_SIZE 4096

int main(int argc, char** argv) {
  uint64_t iters = arg_u64(argc, argv, 1, "ITERS", 20000000);
  size_t ws = arg_u64(argc, argv, 2, "WS", 400);
  rng_t rng = rng_seed(arg_u64(argc, argv, 3, "SEED", 42));
  if (ws == 0) {
    fprintf(stderr, "random_mixed: WS must be positive\n");
    return 2;
  }

  char** slots = calloc(ws, sizeof(char*));
  uintptr_t acc = 0;
  double start = now_seconds();
  for (uint64_t i = 0; i < iters; i++) {
    size_t victim = rng_below(&rng, ws);
    free(slots[victim]); /* NULL until the slot is first filled */
    char* p = malloc(rng_range(&rng, MIN_SIZE, MAX_SIZE));
    p[0] = (char)i;
    slots[victim] = p;
    acc ^= (uintptr_t)p;
  }
  double elapsed = now_seconds() - start;

  for (size_t i = 0; i < ws; i++) free(slots[i]);
  free(slots);
  sink_publish(acc);
  result_print(iters, elapsed, "");
  return 0;
}
