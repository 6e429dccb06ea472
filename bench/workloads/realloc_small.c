/* realloc_small: many short strings grown a few bytes at a time, as string
 * builders, growing arrays and line readers do: most reallocs still fit in
 * their block, some move to a bigger one.
 *
 * usage: realloc_small ITERS SLOTS MAX_SIZE SEED
 *
 * SLOTS strings; each iteration picks one at random and reallocs it 1 .. 32
 * bytes longer, writes its new last byte and checks its first (a realloc
 * that lost data fails the run).  A string longer than MAX_SIZE is freed and
 * starts again.  One op = one realloc. */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "result.h"
#include "rng.h"
#include "sink.h"
#include "timing.h"

#define STEP_MAX 32

typedef struct string_s {
  unsigned char* data;
  size_t length;
} string_t;

int main(int argc, char** argv) {
  uint64_t iters = arg_u64(argc, argv, 1, "ITERS", 20000000);
  size_t nslots = arg_u64(argc, argv, 2, "SLOTS", 1000);
  size_t max_size = arg_u64(argc, argv, 3, "MAX_SIZE", 4096);
  rng_t rng = rng_seed(arg_u64(argc, argv, 4, "SEED", 42));
  if (nslots == 0) {
    fprintf(stderr, "realloc_small: SLOTS must be positive\n");
    return 2;
  }

  string_t* strings = calloc(nslots, sizeof(string_t));
  uintptr_t acc = 0;
  double start = now_seconds();
  for (uint64_t i = 0; i < iters; i++) {
    size_t k = rng_below(&rng, nslots);
    string_t* s = &strings[k];
    if (s->length > max_size) {
      free(s->data);
      s->data = NULL;
      s->length = 0;
    }
    size_t old = s->length;
    s->length += rng_range(&rng, 1, STEP_MAX);
    s->data = realloc(s->data, s->length);
    if (s->data == NULL) {
      fprintf(stderr, "realloc_small: out of memory at %zu bytes\n", s->length);
      return 1;
    }
    s->data[s->length - 1] = (unsigned char)i;
    if (old == 0) s->data[0] = (unsigned char)k;
    if (s->data[0] != (unsigned char)k) {
      fprintf(stderr, "realloc_small: realloc lost the first byte of string %zu\n", k);
      return 1;
    }
    acc ^= (uintptr_t)s->data;
  }
  double elapsed = now_seconds() - start;

  for (size_t k = 0; k < nslots; k++) free(strings[k].data);
  free(strings);
  sink_publish(acc);
  result_print(iters, elapsed, "");
  return 0;
}
