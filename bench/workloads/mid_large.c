/* mid_large: blocks beyond the small size classes, 8 KiB .. 256 KiB, where
 * allocators switch strategy (large pages, spans, direct mmap).
 *
 * usage: mid_large ITERS WS SEED THREADS
 *
 * Each of THREADS threads owns WS slots and performs ITERS iterations, each
 * freeing the block in a random slot and mallocing a new one of random size,
 * writing its first and last byte (so an allocator that hands memory back to
 * the kernel pays for the fresh page faults).  The runner's mid_large is
 * THREADS=1, mid_large_mt is THREADS=2.  One op = one free + malloc
 * replacement, summed over the threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "result.h"
#include "rng.h"
#include "sink.h"
#include "timing.h"

#define MIN_SIZE (8u << 10)
#define MAX_SIZE (256u << 10)

typedef struct worker_s {
  pthread_t thread;
  uint64_t iters;
  size_t ws;
  rng_t rng;
  uintptr_t acc;
} worker_t;

static void* worker_run(void* arg) {
  worker_t* w = arg;
  char** slots = calloc(w->ws, sizeof(char*));
  uintptr_t acc = 0;
  for (uint64_t i = 0; i < w->iters; i++) {
    size_t victim = rng_below(&w->rng, w->ws);
    free(slots[victim]); /* NULL until the slot is first filled */
    size_t size = rng_range(&w->rng, MIN_SIZE, MAX_SIZE);
    char* p = malloc(size);
    p[0] = (char)i;
    p[size - 1] = (char)i;
    slots[victim] = p;
    acc ^= (uintptr_t)p;
  }
  for (size_t i = 0; i < w->ws; i++) free(slots[i]);
  free(slots);
  w->acc = acc;
  return NULL;
}

int main(int argc, char** argv) {
  uint64_t iters = arg_u64(argc, argv, 1, "ITERS", 4000000);
  size_t ws = arg_u64(argc, argv, 2, "WS", 64);
  uint64_t seed = arg_u64(argc, argv, 3, "SEED", 42);
  size_t nthreads = arg_u64(argc, argv, 4, "THREADS", 1);
  if (ws == 0 || nthreads == 0) {
    fprintf(stderr, "mid_large: WS and THREADS must be positive\n");
    return 2;
  }

  worker_t* workers = calloc(nthreads, sizeof(worker_t));
  double start = now_seconds();
  for (size_t t = 0; t < nthreads; t++) {
    workers[t] = (worker_t){.iters = iters, .ws = ws, .rng = rng_seed(seed + t)};
    int err = pthread_create(&workers[t].thread, NULL, worker_run, &workers[t]);
    if (err != 0) {
      fprintf(stderr, "mid_large: pthread_create: %s\n", strerror(err));
      return 1;
    }
  }
  uintptr_t acc = 0;
  for (size_t t = 0; t < nthreads; t++) {
    pthread_join(workers[t].thread, NULL);
    acc ^= workers[t].acc;
  }
  double elapsed = now_seconds() - start;

  free(workers);
  sink_publish(acc);
  char extra[32];
  snprintf(extra, sizeof(extra), " threads=%zu", nthreads);
  result_print(iters * nthreads, elapsed, extra);
  return 0;
}
