/* cross_thread: blocks allocated in one thread and freed in another, the
 * producer/consumer pattern of pipelines and message passing.
 *
 * usage: cross_thread ITEMS PRODUCERS CONSUMERS SEED
 *
 * PRODUCERS threads together malloc ITEMS blocks of random size 16 .. 1024 B,
 * write a byte in each, and hand them in batches of 64 through a bounded queue
 * to CONSUMERS threads, which free them.  One op = one remote free. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "handoff_queue.h"
#include "result.h"
#include "rng.h"
#include "sink.h"
#include "timing.h"

#define MIN_SIZE 16
#define MAX_SIZE 1024

typedef struct producer_s {
  pthread_t thread;
  queue_t* queue;
  uint64_t items;
  rng_t rng;
  uintptr_t acc;
} producer_t;

typedef struct consumer_s {
  pthread_t thread;
  queue_t* queue;
  uint64_t freed;
} consumer_t;

static void* producer_run(void* arg) {
  producer_t* p = arg;
  batch_t batch = {.count = 0};
  uintptr_t acc = 0;
  for (uint64_t i = 0; i < p->items; i++) {
    char* block = malloc(rng_range(&p->rng, MIN_SIZE, MAX_SIZE));
    block[0] = (char)i;
    acc ^= (uintptr_t)block;
    batch.ptrs[batch.count++] = block;
    if (batch.count == BATCH) {
      queue_push(p->queue, &batch);
      batch.count = 0;
    }
  }
  if (batch.count > 0) queue_push(p->queue, &batch);
  p->acc = acc;
  return NULL;
}

static void* consumer_run(void* arg) {
  consumer_t* c = arg;
  batch_t batch;
  while (queue_pop(c->queue, &batch)) {
    for (size_t i = 0; i < batch.count; i++) free(batch.ptrs[i]);
    c->freed += batch.count;
  }
  return NULL;
}

static void start(pthread_t* thread, void* (*fn)(void*), void* arg) {
  int err = pthread_create(thread, NULL, fn, arg);
  if (err != 0) {
    fprintf(stderr, "cross_thread: pthread_create: %s\n", strerror(err));
    exit(1);
  }
}

int main(int argc, char** argv) {
  uint64_t items = arg_u64(argc, argv, 1, "ITEMS", 8000000);
  size_t nprod = arg_u64(argc, argv, 2, "PRODUCERS", 1);
  size_t ncons = arg_u64(argc, argv, 3, "CONSUMERS", 1);
  uint64_t seed = arg_u64(argc, argv, 4, "SEED", 42);
  if (nprod == 0 || ncons == 0) {
    fprintf(stderr, "cross_thread: PRODUCERS and CONSUMERS must be positive\n");
    return 2;
  }

  static queue_t queue;
  queue_init(&queue);
  producer_t* producers = calloc(nprod, sizeof(producer_t));
  consumer_t* consumers = calloc(ncons, sizeof(consumer_t));

  double begin = now_seconds();
  for (size_t i = 0; i < ncons; i++) {
    consumers[i].queue = &queue;
    start(&consumers[i].thread, consumer_run, &consumers[i]);
  }
  for (size_t i = 0; i < nprod; i++) {
    /* Split ITEMS evenly; the first producers take the remainder. */
    uint64_t share = items / nprod + (i < items % nprod);
    producers[i] = (producer_t){.queue = &queue, .items = share, .rng = rng_seed(seed + i)};
    start(&producers[i].thread, producer_run, &producers[i]);
  }
  uintptr_t acc = 0;
  for (size_t i = 0; i < nprod; i++) {
    pthread_join(producers[i].thread, NULL);
    acc ^= producers[i].acc;
  }
  queue_close(&queue);
  uint64_t freed = 0;
  for (size_t i = 0; i < ncons; i++) {
    pthread_join(consumers[i].thread, NULL);
    freed += consumers[i].freed;
  }
  double elapsed = now_seconds() - begin;

  free(producers);
  free(consumers);
  sink_publish(acc);
  char extra[64];
  snprintf(extra, sizeof(extra), " producers=%zu consumers=%zu", nprod, ncons);
  result_print(freed, elapsed, extra);
  return 0;
}
