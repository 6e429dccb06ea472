/* The per-second sampler of the long-running workloads (soak, spin): a
 * thread that wakes on whole seconds after the start (absolute deadlines,
 * so the samples do not drift by the time each one takes), appends
 * "t,ops,rss_kb" for that second to a CSV file, and after the last second
 * tells the workers to stop. */
#ifndef BENCH_SAMPLER_H
#define BENCH_SAMPLER_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "rss.h"

typedef struct sampler_s {
  pthread_t thread;
  FILE* out;
  unsigned seconds;
  struct timespec start;
  /* The workers' op counters: `count` of them, `stride` bytes apart. */
  const _Atomic uint64_t* first;
  size_t stride;
  size_t count;
  atomic_bool* stop;
} sampler_t;

/* The workers' ops so far. */
static uint64_t sampler_total(const sampler_t* s) {
  uint64_t total = 0;
  for (size_t i = 0; i < s->count; i++) {
    const char* at = (const char*)s->first + i * s->stride;
    total += atomic_load_explicit((const _Atomic uint64_t*)at, memory_order_relaxed);
  }
  return total;
}

static void* sampler_run(void* arg) {
  sampler_t* s = arg;
  struct timespec tick = s->start;
  uint64_t before = 0;
  for (unsigned t = 1; t <= s->seconds; t++) {
    tick.tv_sec++;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL) == EINTR) continue;
    uint64_t total = sampler_total(s);
    fprintf(s->out, "%u,%llu,%ld\n", t, (unsigned long long)(total - before), rss_kb());
    fflush(s->out); /* a run that dies still leaves its samples */
    before = total;
  }
  atomic_store(s->stop, true);
  return NULL;
}

#endif
