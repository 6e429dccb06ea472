/* The owner and the purger at the owner's full pages.  The owner fills pages
 * with blocks, hands them to a worker that checks and frees them, and then
 * pauses for a random time, in half the rounds after the worker is done:
 * sometimes long enough for the purger to free the pages the worker
 * emptied, sometimes waking up while the purger is at them, sometimes
 * making new pages while the worker still empties the old ones.  A block
 * the owner keeps across rounds, about one on each page of the biggest
 * class, must survive all of it (a page freed with one block in use would
 * hand it out again), as must every block the worker checks.
 *
 * usage: test_purger_handshake [ROUNDS] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "hak_api.h"
#include "pattern.h"
#include "rng.h"

enum { BATCH = 4000, KEPT = 20, PAUSE_MAX_MS = 45 };

/* Three size classes, so that a batch fills pages of each. */
static const size_t class_top[] = {64, 256, 1024};

static block_t batches[2][BATCH];
static int handed = -1; /* the batch the worker is to free; -1: none */
static int done;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static void check_and_free(block_t* b)
{
  size_t at = pattern_mismatch(b->p, b->size, b->tag);
  CHECKF(at == SIZE_MAX, "block %p of %zu bytes differs at %zu", b->p, b->size, at);
  xfree(b->p);
}

static void* worker(void* arg)
{
  (void)arg;
  pthread_mutex_lock(&lock);
  for (;;) {
    while (handed < 0 && !done) pthread_cond_wait(&changed, &lock);
    if (handed < 0) break;
    block_t* batch = batches[handed];
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < BATCH; i++) check_and_free(&batch[i]);
    pthread_mutex_lock(&lock);
    handed = -1;
    pthread_cond_broadcast(&changed);
  }
  pthread_mutex_unlock(&lock);
  return NULL;
}

/* A block of class c's size or a little less. */
static void fill(block_t* b, size_t c, rng_t* rng)
{
  b->size = class_top[c] - (size_t)rng_below(rng, class_top[c] / 8);
  b->tag = rng_next(rng);
  b->p = xmalloc(b->size);
  CHECK(b->p != NULL);
  pattern_fill(b->p, b->size, b->tag);
}

int main(int argc, char** argv)
{
  int rounds = argc > 1 ? atoi(argv[1]) : 60;
  rng_t rng = {42};
  block_t kept[KEPT];
  pthread_t t;
  CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
  for (int round = 0; round < rounds; round++) {
    block_t* batch = batches[round % 2];
    /* Kept blocks are made among the batch's, so they share its pages. */
    for (int i = 0; i < BATCH; i++) {
      fill(&batch[i], (size_t)rng_below(&rng, 3), &rng);
      if (i % (BATCH / KEPT) == 0) {
        int k = i / (BATCH / KEPT);
        if (round > 0) check_and_free(&kept[k]);
        fill(&kept[k], 2, &rng);
      }
    }
    pthread_mutex_lock(&lock);
    while (handed >= 0) pthread_cond_wait(&changed, &lock);
    handed = round % 2;
    pthread_cond_broadcast(&changed);
    if (rng_below(&rng, 2) == 0)
      while (handed >= 0) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    struct timespec pause = {0, (long)rng_below(&rng, PAUSE_MAX_MS) * 1000000};
    nanosleep(&pause, NULL);
  }
  pthread_mutex_lock(&lock);
  while (handed >= 0) pthread_cond_wait(&changed, &lock);
  done = 1;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&lock);
  CHECK(pthread_join(t, NULL) == 0);
  for (int k = 0; k < KEPT; k++) check_and_free(&kept[k]);
  check_report("test_purger_handshake");
  return 0;
}
