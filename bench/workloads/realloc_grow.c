/* realloc_grow: buffers that grow step by step, as string builders, vectors
 * and read-the-whole-file loops do.
 *
 * usage: realloc_grow BUFFERS MAX_MIB SEED
 *
 * Four buffers grow side by side (so that none simply owns the end of the
 * heap), each from 8 bytes to its own target size, drawn log-uniformly from
 * 4 KiB .. MAX_MIB MiB.  Each step either grows the buffer by half or adds
 * 1 .. 256 bytes; the new bytes are written (one per page, so the pages are
 * really touched) and a byte written earlier is checked to catch a realloc
 * that loses data.  A buffer that reaches its target is freed and the next one
 * starts, BUFFERS in total.  One op = one realloc. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "result.h"
#include "rng.h"
#include "sink.h"
#include "timing.h"

#define LANES 4
#define START_SIZE 8
#define MIN_TARGET (4u << 10)
#define PAGE 4096

typedef struct buffer_s {
  unsigned char* data;
  size_t size;
  size_t target;
} buffer_t;

static size_t draw_target(rng_t* rng, size_t max_target) {
  double span = log((double)max_target / MIN_TARGET);
  double u = (double)rng_below(rng, 1u << 30) / (double)(1u << 30);
  return (size_t)(MIN_TARGET * exp(u * span));
}

/* Marks the bytes [from, to): one write per page plus the last byte.  The
 * mark of an offset is a function of the offset, so it can be checked later. */
static void mark(unsigned char* p, size_t from, size_t to) {
  for (size_t off = from; off < to; off = (off | (PAGE - 1)) + 1) p[off] = (unsigned char)off;
  p[to - 1] = (unsigned char)(to - 1);
}

static void start_buffer(buffer_t* b, rng_t* rng, size_t max_target) {
  b->size = START_SIZE;
  b->target = draw_target(rng, max_target);
  b->data = malloc(b->size);
  mark(b->data, 0, b->size);
}

int main(int argc, char** argv) {
  uint64_t total = arg_u64(argc, argv, 1, "BUFFERS", 300);
  size_t max_target = arg_u64(argc, argv, 2, "MAX_MIB", 64) << 20;
  rng_t rng = rng_seed(arg_u64(argc, argv, 3, "SEED", 42));
  if (max_target < MIN_TARGET) {
    fprintf(stderr, "realloc_grow: MAX_MIB must be at least 1\n");
    return 2;
  }

  buffer_t lanes[LANES] = {0}; /* data == NULL marks an idle lane */
  uint64_t started = 0, ops = 0;
  uintptr_t acc = 0;
  double start = now_seconds();
  for (int i = 0; i < LANES && started < total; i++, started++) start_buffer(&lanes[i], &rng, max_target);
  int active = (int)started;
  while (active > 0) {
    for (int i = 0; i < LANES; i++) {
      buffer_t* b = &lanes[i];
      if (b->data == NULL) continue;
      size_t old = b->size;
      size_t grown = rng_below(&rng, 2) ? old + old / 2 : old + rng_range(&rng, 1, 256);
      b->size = grown < b->target ? grown : b->target;
      b->data = realloc(b->data, b->size);
      ops++;
      if (b->data == NULL) {
        fprintf(stderr, "realloc_grow: out of memory at %zu bytes\n", b->size);
        return 1;
      }
      if (b->data[old - 1] != (unsigned char)(old - 1)) {
        fprintf(stderr, "realloc_grow: realloc lost data at offset %zu\n", old - 1);
        return 1;
      }
      mark(b->data, old, b->size);
      acc ^= (uintptr_t)b->data;
      if (b->size < b->target) continue;
      free(b->data);
      b->data = NULL;
      active--;
      if (started < total) {
        start_buffer(b, &rng, max_target);
        started++;
        active++;
      }
    }
  }
  double elapsed = now_seconds() - start;

  sink_publish(acc);
  result_print(ops, elapsed, "");
  return 0;
}
