/* spin: the machine's own noise, to read the soak's throughput CV against.
 *
 * usage: spin SAMPLES_CSV SECONDS THREADS [MEMORY_MIB]
 *
 * THREADS threads do nothing but arithmetic in registers (no memory
 * traffic, no allocation, no system calls) for SECONDS, and a sampler
 * appends the work done in each second to SAMPLES_CSV, in the soak's format
 * (t,ops,rss_kb).  No allocator has a part in it, so how much its
 * per-second counts wander is what the machine (other tenants, clock
 * changes) adds to any program's.  One op = 4096 steps of a 64-bit
 * linear congruential generator.
 *
 * With MEMORY_MIB, each step also reads and rewrites a word at a random
 * place in an array of that size, mapped and filled before the threads
 * start: a program bound by memory, as the soak is by its cache, feels
 * what other tenants do to the caches and the memory bus, which arithmetic
 * alone does not. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "args.h"
#include "result.h"
#include "sampler.h"
#include "sink.h"
#include "timing.h"

#define STEPS 4096

typedef struct spinner_s {
  pthread_t thread;
  uint64_t state;
  _Alignas(64) _Atomic uint64_t ops; /* its own cache line: the sampler reads it */
} spinner_t;

static atomic_bool stop;
static uint64_t* words; /* the array of MEMORY_MIB, or NULL */
static size_t word_count;

static uint64_t lcg(uint64_t x) {
  return x * 6364136223846793005ull + 1442695040888963407ull;
}

static void count_op(spinner_t* s) {
  atomic_store_explicit(&s->ops, atomic_load_explicit(&s->ops, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

static void* spinner_run(void* arg) {
  spinner_t* s = arg;
  uint64_t x = s->state;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    for (int i = 0; i < STEPS; i++) x = lcg(x);
    count_op(s);
  }
  s->state = x;
  return NULL;
}

static void* memory_spinner_run(void* arg) {
  spinner_t* s = arg;
  uint64_t x = s->state;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    for (int i = 0; i < STEPS; i++) {
      x = lcg(x);
      uint64_t* w = &words[(x >> 24) % word_count];
      *w += x;
    }
    count_op(s);
  }
  s->state = x;
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: spin SAMPLES_CSV SECONDS THREADS [MEMORY_MIB]\n");
    return 2;
  }
  unsigned seconds = (unsigned)arg_u64(argc, argv, 2, "SECONDS", 60);
  size_t nthreads = arg_u64(argc, argv, 3, "THREADS", 2);
  size_t memory_mib = arg_u64(argc, argv, 4, "MEMORY_MIB", 0);
  if (nthreads == 0 || memory_mib > (SIZE_MAX >> 20)) {
    fprintf(stderr, "spin: THREADS must be positive, MEMORY_MIB addressable\n");
    return 2;
  }
  if (memory_mib > 0) {
    size_t bytes = memory_mib << 20;
    words = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (words == MAP_FAILED) {
      perror("spin: mmap");
      return 1;
    }
    memset(words, 1, bytes);
    word_count = bytes / sizeof(uint64_t);
  }
  FILE* out = fopen(argv[1], "w");
  if (out == NULL) {
    perror(argv[1]);
    return 1;
  }
  fprintf(out, "t,ops,rss_kb\n");

  spinner_t* spinners = aligned_alloc(64, nthreads * sizeof(spinner_t));
  if (spinners == NULL) {
    fprintf(stderr, "spin: out of memory\n");
    return 1;
  }
  memset(spinners, 0, nthreads * sizeof(spinner_t));
  sampler_t sampler = {.out = out,
                       .seconds = seconds,
                       .first = &spinners[0].ops,
                       .stride = sizeof(spinner_t),
                       .count = nthreads,
                       .stop = &stop};
  clock_gettime(CLOCK_MONOTONIC, &sampler.start);
  double begin = now_seconds();
  for (size_t i = 0; i < nthreads; i++) {
    spinners[i].state = i + 1;
    void* (*run)(void*) = words != NULL ? memory_spinner_run : spinner_run;
    if (pthread_create(&spinners[i].thread, NULL, run, &spinners[i]) != 0) {
      fprintf(stderr, "spin: pthread_create failed\n");
      return 1;
    }
  }
  if (pthread_create(&sampler.thread, NULL, sampler_run, &sampler) != 0) {
    fprintf(stderr, "spin: pthread_create failed\n");
    return 1;
  }
  pthread_join(sampler.thread, NULL);
  uint64_t acc = 0;
  for (size_t i = 0; i < nthreads; i++) {
    pthread_join(spinners[i].thread, NULL);
    acc ^= spinners[i].state;
  }
  double elapsed = now_seconds() - begin;
  uint64_t ops = sampler_total(&sampler);
  free(spinners);
  if (words != NULL) munmap(words, memory_mib << 20);
  fclose(out);
  sink_publish((uintptr_t)acc);

  char extra[64];
  snprintf(extra, sizeof(extra), " threads=%zu memory_mib=%zu", nthreads, memory_mib);
  result_print(ops, elapsed, extra);
  return 0;
}
