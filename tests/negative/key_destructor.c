/* Allocation from pthread key destructors after hakmem has torn the thread's
 * heap down.
 *
 * hakmem's own key is created when the library loads, before this program's,
 * so in each destructor pass glibc runs hakmem's clean-up first (the heap is
 * abandoned) and this program's destructor after it.  The destructor
 * allocates, so a new heap is set up for the dying thread, and re-arms its
 * key, for all PTHREAD_DESTRUCTOR_ITERATIONS passes: after the last one
 * nothing tears that heap down.  (test_thread_exit stops after two passes and
 * leaves one small block.)
 *
 * Asserted: the blocks of every tier a destructor allocates, in every pass,
 * stay valid after their thread has gone; the blocks a thread allocated while
 * alive can be freed from its destructor; threads run in waves, and each
 * thread frees what a thread of the previous wave left, which the new thread,
 * reusing a dead thread's stack, may find owned by its own thread id; main
 * frees what the last wave left; and the heap works afterwards. */
#include <limits.h>
#include <pthread.h>

#include "common.h"

enum { WAVES = 8, WAVE_THREADS = 4, TIERS = 4, PASSES = PTHREAD_DESTRUCTOR_ITERATIONS };

/* One block per tier; the huge one within a single 4 MiB slot. */
static const size_t sizes[TIERS] = {200, 50 * KiB, 1 * MiB, 3 * MiB};

typedef struct thread_s {
  uint64_t seed;
  int passes;                  /* destructor runs */
  block_t alive[TIERS];        /* allocated by the thread, freed by its destructor */
  block_t left[PASSES][TIERS]; /* allocated by the destructor, freed later */
  struct thread_s* previous;   /* a thread of the previous wave, or NULL */
} thread_t;

static pthread_key_t key;

static void block_new(block_t* b, size_t size, uint64_t tag)
{
  b->p = malloc(size);
  CHECKF(b->p != NULL, "malloc(%zu)", size);
  b->size = size;
  b->tag = tag;
  pattern_fill(b->p, size, tag);
}

static void block_drop(block_t* b)
{
  size_t bad = pattern_mismatch(b->p, b->size, b->tag);
  CHECKF(bad == SIZE_MAX, "block %p (%zu bytes) overwritten at offset %zu", b->p, b->size, bad);
  free(b->p);
  b->p = NULL;
}

static void drop_left(thread_t* t)
{
  CHECKF(t->passes == PASSES, "destructor ran %d times, not %d", t->passes, PASSES);
  for (int pass = 0; pass < PASSES; pass++)
    for (int i = 0; i < TIERS; i++) block_drop(&t->left[pass][i]);
}

static void destructor(void* value)
{
  thread_t* t = value;
  int pass = t->passes++;
  if (pass == 0)
    for (int i = 0; i < TIERS; i++) block_drop(&t->alive[i]);
  for (int i = 0; i < TIERS; i++) block_new(&t->left[pass][i], sizes[i], t->seed + (uint64_t)(pass * TIERS + i));
  /* Some churn in the new heap, then back for another pass. */
  for (int i = 0; i < 100; i++) free(malloc((size_t)i * 40 + 1));
  if (t->passes < PASSES) CHECK(pthread_setspecific(key, t) == 0);
}

static void* thread_main(void* arg)
{
  thread_t* t = arg;
  for (int i = 0; i < TIERS; i++) block_new(&t->alive[i], sizes[i], ~t->seed - (uint64_t)i);
  if (t->previous != NULL) drop_left(t->previous);
  CHECK(pthread_setspecific(key, t) == 0);
  return NULL;
}

int main(int argc, char** argv)
{
  (void)argc;
  CHECK(pthread_key_create(&key, destructor) == 0);
  static thread_t threads[WAVES][WAVE_THREADS];
  for (int w = 0; w < WAVES; w++) {
    pthread_t ids[WAVE_THREADS];
    for (int i = 0; i < WAVE_THREADS; i++) {
      thread_t* t = &threads[w][i];
      t->seed = (uint64_t)(w * WAVE_THREADS + i) << 32;
      t->previous = w > 0 ? &threads[w - 1][i] : NULL;
      CHECK(pthread_create(&ids[i], NULL, thread_main, t) == 0);
    }
    for (int i = 0; i < WAVE_THREADS; i++) CHECK(pthread_join(ids[i], NULL) == 0);
  }
  for (int i = 0; i < WAVE_THREADS; i++) drop_left(&threads[WAVES - 1][i]);
  check_heap_works(64);
  check_report(argv[0]);
  return 0;
}
