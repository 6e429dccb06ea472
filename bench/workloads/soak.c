/* soak: a server-like process run for a long time, to see whether its
 * memory creeps up or its throughput wanders.
 *
 * usage: soak SAMPLES_CSV SECONDS THREADS CACHE_MIB SEED
 *
 * THREADS workers serve requests in a loop.  A request
 *   - mallocs 1 .. 8 buffers of 16 B .. 64 KiB (log-uniform), writes a byte
 *     in each of their pages and frees them when it ends;
 *   - reads 4 random objects of its worker's long-lived cache; one request
 *     in 128 replaces an object: the least recently read of 4 random entries
 *     (sampled LRU, as Redis does) makes way for a new one of 64 B .. 16 KiB.
 *     The caches of all workers hold about CACHE_MIB MiB;
 *   - one request in 16384 also fills a large block of 256 KiB .. 8 MiB;
 *   - one response (first buffer) in 8 and one evicted object in 4 are not
 *     freed by their worker but passed through a queue to the next worker,
 *     which frees them.
 * Every second a sampler thread appends "t,ops,rss_kb" to SAMPLES_CSV: the
 * ops done in that second (one op = one malloc or one free) and the resident
 * set.  After SECONDS the RESULT line follows; under hakmem it includes the
 * memory system calls (mmap + munmap + mremap + madvise) made while the
 * workers ran, from hakmem's own counters. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "hak_syscalls.h"
#include "handoff_queue.h"
#include "result.h"
#include "rng.h"
#include "sampler.h"
#include "sink.h"
#include "timing.h"

#define PAGE 4096
#define MAX_BUFFERS 8
#define BUFFER_MIN 16
#define BUFFER_MAX (64u << 10)
#define LOOKUPS 4
#define REPLACE_ONE_IN 128
#define LRU_SAMPLES 4
#define OBJECT_MIN 64
#define OBJECT_MAX (16u << 10)
#define LARGE_ONE_IN 16384
#define LARGE_MIN (256u << 10)
#define LARGE_MAX (8u << 20)
#define RESPONSE_HANDOFF_ONE_IN 8
#define EVICTION_HANDOFF_ONE_IN 4
#define DRAIN_EVERY 64 /* requests between looks at the inbox; a power of two */

typedef struct entry_s {
  char* object;
  uint64_t last_read; /* request number; the smallest of a sample is evicted */
} entry_t;

typedef struct worker_s {
  pthread_t thread;
  rng_t rng;
  entry_t* cache;
  size_t entries;
  struct worker_s* next; /* receives this worker's hand-offs */
  queue_t inbox;
  batch_t outbox;
  uint64_t requests;
  uint64_t ops;
  uintptr_t acc;
  _Alignas(64) _Atomic uint64_t published_ops; /* ops, for the sampler */
} worker_t;

static atomic_bool stop;
static pthread_barrier_t start_line;

static void die(const char* what, int err) {
  fprintf(stderr, "soak: %s: %s\n", what, strerror(err));
  exit(1);
}

static char* alloc_touched(worker_t* w, size_t size) {
  char* p = malloc(size);
  if (p == NULL) die("malloc", ENOMEM);
  for (size_t off = 0; off < size; off += PAGE) p[off] = (char)off;
  p[size - 1] = 1;
  w->acc ^= (uintptr_t)p;
  w->ops++;
  return p;
}

static void release(worker_t* w, void* p) {
  free(p);
  w->ops++;
}

/* Sends the outbox to the next worker; if its inbox is full, frees here
 * rather than wait (two workers waiting on each other would never resume). */
static void flush_outbox(worker_t* w) {
  if (w->outbox.count > 0 && !queue_try_push(&w->next->inbox, &w->outbox)) {
    for (size_t i = 0; i < w->outbox.count; i++) release(w, w->outbox.ptrs[i]);
  }
  w->outbox.count = 0;
}

static void hand_off(worker_t* w, void* p) {
  if (w->next == w) {
    release(w, p);
    return;
  }
  w->outbox.ptrs[w->outbox.count++] = p;
  if (w->outbox.count == BATCH) flush_outbox(w);
}

static void drain_inbox(worker_t* w) {
  batch_t batch;
  while (queue_try_pop(&w->inbox, &batch)) {
    for (size_t i = 0; i < batch.count; i++) release(w, batch.ptrs[i]);
  }
}

static void replace_object(worker_t* w) {
  entry_t* victim = &w->cache[rng_below(&w->rng, w->entries)];
  for (int i = 1; i < LRU_SAMPLES; i++) {
    entry_t* e = &w->cache[rng_below(&w->rng, w->entries)];
    if (e->last_read < victim->last_read) victim = e;
  }
  if (rng_below(&w->rng, EVICTION_HANDOFF_ONE_IN) == 0) hand_off(w, victim->object);
  else release(w, victim->object);
  victim->object = alloc_touched(w, rng_log_uniform(&w->rng, OBJECT_MIN, OBJECT_MAX));
  victim->last_read = w->requests;
}

static void serve_request(worker_t* w) {
  char* buffers[MAX_BUFFERS];
  size_t count = 1 + rng_below(&w->rng, MAX_BUFFERS);
  for (size_t i = 0; i < count; i++)
    buffers[i] = alloc_touched(w, rng_log_uniform(&w->rng, BUFFER_MIN, BUFFER_MAX));
  for (int i = 0; i < LOOKUPS; i++) {
    entry_t* e = &w->cache[rng_below(&w->rng, w->entries)];
    w->acc += (unsigned char)e->object[0];
    e->last_read = w->requests;
  }
  if (rng_below(&w->rng, REPLACE_ONE_IN) == 0) replace_object(w);
  if (rng_below(&w->rng, LARGE_ONE_IN) == 0)
    release(w, alloc_touched(w, rng_log_uniform(&w->rng, LARGE_MIN, LARGE_MAX)));
  size_t first = 0;
  if (rng_below(&w->rng, RESPONSE_HANDOFF_ONE_IN) == 0) hand_off(w, buffers[first++]);
  for (size_t i = first; i < count; i++) release(w, buffers[i]);
  w->requests++;
}

static void* worker_run(void* arg) {
  worker_t* w = arg;
  for (size_t i = 0; i < w->entries; i++)
    w->cache[i].object = alloc_touched(w, rng_log_uniform(&w->rng, OBJECT_MIN, OBJECT_MAX));
  w->ops = 0; /* filling the cache is set-up, not service */
  /* Twice: once to say the cache is full, once to hear that the clock runs. */
  pthread_barrier_wait(&start_line);
  pthread_barrier_wait(&start_line);
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    serve_request(w);
    if (w->requests % DRAIN_EVERY == 0) drain_inbox(w);
    atomic_store_explicit(&w->published_ops, w->ops, memory_order_relaxed);
  }
  flush_outbox(w);
  atomic_store_explicit(&w->published_ops, w->ops, memory_order_relaxed);
  return NULL;
}

/* Entries per worker for cache_bytes in all: the mean of a log-uniform
 * draw is 1.5 x (max - min) / octaves. */
static size_t entries_per_worker(uint64_t cache_bytes, size_t nworkers) {
  unsigned octaves = (unsigned)(__builtin_ctz(OBJECT_MAX) - __builtin_ctz(OBJECT_MIN));
  double mean = 1.5 * (double)(OBJECT_MAX - OBJECT_MIN) / octaves;
  size_t entries = (size_t)((double)cache_bytes / mean / (double)nworkers);
  return entries > 0 ? entries : 1;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: soak SAMPLES_CSV SECONDS THREADS CACHE_MIB SEED\n");
    return 2;
  }
  unsigned seconds = (unsigned)arg_u64(argc, argv, 2, "SECONDS", 600);
  size_t nworkers = arg_u64(argc, argv, 3, "THREADS", 2);
  uint64_t cache_mib = arg_u64(argc, argv, 4, "CACHE_MIB", 128);
  uint64_t seed = arg_u64(argc, argv, 5, "SEED", 42);
  if (nworkers == 0) {
    fprintf(stderr, "soak: THREADS must be positive\n");
    return 2;
  }
  FILE* out = fopen(argv[1], "w");
  if (out == NULL) die(argv[1], errno);
  fprintf(out, "t,ops,rss_kb\n");

  worker_t* workers = calloc(nworkers, sizeof(worker_t));
  size_t entries = entries_per_worker(cache_mib << 20, nworkers);
  pthread_barrier_init(&start_line, NULL, (unsigned)nworkers + 1);
  for (size_t i = 0; i < nworkers; i++) {
    worker_t* w = &workers[i];
    w->rng = rng_seed(seed + i);
    w->entries = entries;
    w->cache = calloc(entries, sizeof(entry_t));
    w->next = &workers[(i + 1) % nworkers];
    queue_init(&w->inbox);
    int err = pthread_create(&w->thread, NULL, worker_run, w);
    if (err != 0) die("pthread_create", err);
  }

  pthread_barrier_wait(&start_line); /* every cache is full */
  hak_syscalls_t calls_before, calls_after;
  bool counted = hak_syscalls_read(&calls_before);
  sampler_t sampler = {.out = out,
                       .seconds = seconds,
                       .first = &workers[0].published_ops,
                       .stride = sizeof(worker_t),
                       .count = nworkers,
                       .stop = &stop};
  clock_gettime(CLOCK_MONOTONIC, &sampler.start);
  double begin = now_seconds();
  pthread_barrier_wait(&start_line);
  int err = pthread_create(&sampler.thread, NULL, sampler_run, &sampler);
  if (err != 0) die("pthread_create", err);
  pthread_join(sampler.thread, NULL);
  uint64_t ops = 0;
  uintptr_t acc = 0;
  for (size_t i = 0; i < nworkers; i++) {
    pthread_join(workers[i].thread, NULL);
    ops += workers[i].ops;
    acc ^= workers[i].acc;
  }
  double elapsed = now_seconds() - begin;
  counted = counted && hak_syscalls_read(&calls_after);

  /* Tear-down, outside the measurement: hand-offs still queued, then caches. */
  for (size_t i = 0; i < nworkers; i++) {
    worker_t* w = &workers[i];
    drain_inbox(w);
    for (size_t e = 0; e < w->entries; e++) free(w->cache[e].object);
    free(w->cache);
  }
  free(workers);
  fclose(out);
  sink_publish(acc);

  char extra[256];
  int len = snprintf(extra, sizeof(extra), " threads=%zu cache_mib=%llu", nworkers,
                     (unsigned long long)cache_mib);
  if (counted) {
    hak_syscalls_t run = {
        .mmap = calls_after.mmap - calls_before.mmap,
        .munmap = calls_after.munmap - calls_before.munmap,
        .mremap = calls_after.mremap - calls_before.mremap,
        .madvise = calls_after.madvise - calls_before.madvise,
    };
    snprintf(extra + len, sizeof(extra) - (size_t)len,
             " mem_syscalls=%llu mmap=%llu munmap=%llu mremap=%llu madvise=%llu",
             (unsigned long long)hak_syscalls_total(&run), (unsigned long long)run.mmap,
             (unsigned long long)run.munmap, (unsigned long long)run.mremap,
             (unsigned long long)run.madvise);
  }
  result_print(ops, elapsed, extra);
  return 0;
}
