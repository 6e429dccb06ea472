/* larson: the classic server simulation of Larson and Krishnan.
 *
 * usage: larson SECONDS MIN_SIZE MAX_SIZE CHUNKS_PER_THREAD ROUNDS SEED THREADS
 *
 * THREADS lanes each own CHUNKS_PER_THREAD slots of a shared working set.  A
 * lane's thread repeatedly frees the block in a random slot of its own and
 * mallocs a new one of random size in [MIN_SIZE, MAX_SIZE].  After
 * ROUNDS x CHUNKS_PER_THREAD such replacements the thread starts a successor
 * and exits; the successor carries on with the same slots, so most blocks are
 * freed by a different thread than the one that allocated them, and every
 * thread's heap is abandoned while still holding live blocks.  The main thread
 * stops everyone after SECONDS.  One op = one free + malloc replacement. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "result.h"
#include "rng.h"
#include "sink.h"
#include "timing.h"

typedef struct lane_s {
  void** slots;
  size_t count;
  rng_t rng;
  uint64_t ops;      /* written only by the lane's current thread */
  uint64_t threads;  /* threads this lane has run so far */
  uintptr_t acc;
} lane_t;

static size_t min_size, max_size;
static uint64_t ops_per_thread;
static atomic_bool stop;

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static size_t lanes_done;

static void* lane_thread(void* arg);

static void die(const char* what, int err) {
  fprintf(stderr, "larson: %s: %s\n", what, strerror(err));
  exit(1);
}

/* Threads are detached: nobody is left to join a thread whose successor has
 * already taken over, so completion is signalled through lanes_done. */
static void lane_start(lane_t* lane) {
  pthread_attr_t attr;
  pthread_t thread;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  lane->threads++;
  int err = pthread_create(&thread, &attr, lane_thread, lane);
  if (err != 0) die("pthread_create", err);
  pthread_attr_destroy(&attr);
}

static void* lane_thread(void* arg) {
  lane_t* lane = arg;
  uint64_t done = 0;
  while (done < ops_per_thread && !atomic_load_explicit(&stop, memory_order_relaxed)) {
    size_t victim = rng_below(&lane->rng, lane->count);
    free(lane->slots[victim]);
    char* p = malloc(rng_range(&lane->rng, min_size, max_size));
    p[0] = (char)done;
    lane->slots[victim] = p;
    lane->acc ^= (uintptr_t)p;
    done++;
  }
  lane->ops += done;
  if (done == ops_per_thread && !atomic_load_explicit(&stop, memory_order_relaxed)) {
    lane_start(lane);
    return NULL;
  }
  pthread_mutex_lock(&done_lock);
  lanes_done++;
  pthread_cond_signal(&done_cond);
  pthread_mutex_unlock(&done_lock);
  return NULL;
}

int main(int argc, char** argv) {
  double seconds = arg_f64(argc, argv, 1, "SECONDS", 2.0);
  min_size = arg_u64(argc, argv, 2, "MIN_SIZE", 8);
  max_size = arg_u64(argc, argv, 3, "MAX_SIZE", 1000);
  uint64_t chunks = arg_u64(argc, argv, 4, "CHUNKS_PER_THREAD", 5000);
  uint64_t rounds = arg_u64(argc, argv, 5, "ROUNDS", 100);
  uint64_t seed = arg_u64(argc, argv, 6, "SEED", 42);
  size_t nthreads = arg_u64(argc, argv, 7, "THREADS", 2);
  if (min_size == 0 || max_size < min_size || chunks == 0 || rounds == 0 || nthreads == 0) {
    fprintf(stderr, "larson: need 0 < MIN_SIZE <= MAX_SIZE and positive counts\n");
    return 2;
  }
  ops_per_thread = rounds * chunks;

  /* Warm-up, untimed: the main thread fills every slot, so even the first
   * generation of threads frees blocks it did not allocate. */
  lane_t* lanes = calloc(nthreads, sizeof(lane_t));
  for (size_t t = 0; t < nthreads; t++) {
    lane_t* lane = &lanes[t];
    lane->count = chunks;
    lane->slots = malloc(chunks * sizeof(void*));
    lane->rng = rng_seed(seed + t);
    for (size_t i = 0; i < chunks; i++) {
      char* p = malloc(rng_range(&lane->rng, min_size, max_size));
      p[0] = 0;
      lane->slots[i] = p;
    }
  }

  double start = now_seconds();
  for (size_t t = 0; t < nthreads; t++) lane_start(&lanes[t]);
  struct timespec nap = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
  while (nanosleep(&nap, &nap) != 0 && errno == EINTR) continue; /* resume after signals */
  atomic_store(&stop, true);
  pthread_mutex_lock(&done_lock);
  while (lanes_done < nthreads) pthread_cond_wait(&done_cond, &done_lock);
  pthread_mutex_unlock(&done_lock);
  double elapsed = now_seconds() - start;

  uint64_t ops = 0, threads_run = 0;
  uintptr_t acc = 0;
  for (size_t t = 0; t < nthreads; t++) {
    ops += lanes[t].ops;
    threads_run += lanes[t].threads;
    acc ^= lanes[t].acc;
    for (size_t i = 0; i < lanes[t].count; i++) free(lanes[t].slots[i]);
    free(lanes[t].slots);
  }
  free(lanes);
  sink_publish(acc);

  char extra[64];
  snprintf(extra, sizeof(extra), " threads=%zu threads_run=%llu", nthreads,
           (unsigned long long)threads_run);
  result_print(ops, elapsed, extra);
  return 0;
}
