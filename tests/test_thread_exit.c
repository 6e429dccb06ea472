/* Thread exit: a dead thread's memory must be reusable.
 *
 * 1. Generations of short-lived threads each leave ~8 MiB of live blocks
 *    behind; the next thread (odd generations) or the main thread (even ones)
 *    frees them.  If abandoned pages were never reclaimed, 200 generations
 *    would pile up well over a gigabyte; resident memory must stay bounded
 *    (under ThreadSanitizer: the memory hakmem holds by its own count).
 * 2. A pthread key destructor, registered after the thread's first malloc,
 *    allocates and frees at thread exit, possibly after hakmem's own
 *    per-thread clean-up has run, and leaves a block for main to free.
 *
 * usage: test_thread_exit [generations]  (200 by default; without reclaiming,
 * some 32 generations already go over the bound) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "hak_api.h"
#include "pattern.h"
#include "rng.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define MEMORY_LIMIT (256 * MiB)
#define KEY_THREADS 16
#define KEY_ITERATIONS 2

typedef struct {
  block_t* blocks;
  size_t count;
} batch_t;

static void block_alloc(block_t* b, size_t size, uint64_t tag)
{
  b->p = xmalloc(size);
  CHECKF(b->p != NULL && hak_owns(b->p), "size=%zu", size);
  b->size = size;
  b->tag = tag;
  pattern_fill(b->p, size, tag);
}

static void block_free(block_t* b)
{
  size_t bad = pattern_mismatch(b->p, b->size, b->tag);
  CHECKF(bad == SIZE_MAX, "block %p of %zu bytes corrupt at offset %zu", b->p, b->size, bad);
  xfree(b->p);
}

/* Roughly 8 MiB in every tier: 1.7 MiB small, 1.6 MiB medium, 2 MiB large,
 * one huge block of 2.5 MiB. */
static batch_t batch_alloc(uint64_t seed)
{
  enum { SMALL = 8000, MEDIUM = 60, LARGE = 4, HUGE = 1 };
  rng_t rng = {seed};
  batch_t batch = {xmalloc((SMALL + MEDIUM + LARGE + HUGE) * sizeof(block_t)), 0};
  CHECK(batch.blocks != NULL);
  for (int i = 0; i < SMALL; i++) block_alloc(&batch.blocks[batch.count++], rng_log_range(&rng, 8, 1 * KiB), rng_next(&rng));
  for (int i = 0; i < MEDIUM; i++) block_alloc(&batch.blocks[batch.count++], rng_log_range(&rng, 1 * KiB + 1, 128 * KiB), rng_next(&rng));
  for (int i = 0; i < LARGE; i++) block_alloc(&batch.blocks[batch.count++], rng_range(&rng, 256 * KiB, 1 * MiB), rng_next(&rng));
  block_alloc(&batch.blocks[batch.count++], 2 * MiB + 512 * KiB, rng_next(&rng));
  return batch;
}

static void batch_free(batch_t* batch)
{
  for (size_t i = 0; i < batch->count; i++) block_free(&batch->blocks[i]);
  xfree(batch->blocks);
  batch->blocks = NULL;
  batch->count = 0;
}

typedef struct {
  batch_t to_free;  /* the previous generation's blocks, for odd generations */
  batch_t left;     /* what this generation leaves behind */
  uint64_t seed;
} generation_t;

static void* generation_main(void* arg)
{
  generation_t* g = arg;
  if (g->to_free.blocks != NULL) batch_free(&g->to_free);
  g->left = batch_alloc(g->seed);
  return NULL;
}

#if HAKMEM_TEST_TSAN
/* ThreadSanitizer's shadow memory and access history make up most of the
 * resident set (400 MiB by the first generation), so under it the bound is
 * on hakmem's committed bytes: mapped, less purged. */
#define MEMORY_NAME "committed"
static size_t memory_in_use(void)
{
  char json[1024];
  CHECK(hak_stats_json(json, sizeof json) < sizeof json);
  const char* field = strstr(json, "\"committed\":");
  CHECK(field != NULL);
  return (size_t)strtoull(field + strlen("\"committed\":"), NULL, 10);
}
#else
#define MEMORY_NAME "resident"
static size_t memory_in_use(void)
{
  FILE* f = fopen("/proc/self/statm", "r");
  CHECK(f != NULL);
  unsigned long size_pages = 0, resident_pages = 0;
  CHECK(fscanf(f, "%lu %lu", &size_pages, &resident_pages) == 2);
  fclose(f);
  return resident_pages * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

static void test_generations(int generations)
{
  batch_t previous = {NULL, 0};
  size_t peak = 0;
  for (int gen = 0; gen < generations; gen++) {
    int thread_frees = gen % 2 == 1;
    generation_t g = {thread_frees ? previous : (batch_t){NULL, 0}, {NULL, 0}, (uint64_t)gen + 1};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, generation_main, &g) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    if (!thread_frees && previous.blocks != NULL) batch_free(&previous);
    previous = g.left;

    size_t used = memory_in_use();
    if (used > peak) peak = used;
    CHECKF(used < MEMORY_LIMIT, "generation %d: " MEMORY_NAME " %zu MiB, limit %zu MiB", gen, used / MiB,
           MEMORY_LIMIT / MiB);
  }
  batch_free(&previous);
  printf("test_thread_exit: %d generations, peak " MEMORY_NAME " %zu MiB\n", generations, peak / MiB);
}

/* What a thread stores under the key: checked and freed by the destructor. */
typedef struct {
  int thread;
  int iteration;
  block_t payload;
} key_value_t;

static pthread_key_t key;
static atomic_int destructor_runs;
static block_t left_by_destructor[KEY_THREADS];

static key_value_t* key_value_new(int thread, int iteration)
{
  key_value_t* v = xmalloc(sizeof *v);
  CHECK(v != NULL);
  v->thread = thread;
  v->iteration = iteration;
  block_alloc(&v->payload, 200, (uint64_t)(thread * 100 + iteration));
  return v;
}

static void key_destructor(void* arg)
{
  key_value_t* v = arg;
  int thread = v->thread, iteration = v->iteration;
  block_free(&v->payload);
  xfree(v);
  atomic_fetch_add(&destructor_runs, 1);

  /* Allocation in every tier while the thread is being torn down. */
  static const size_t sizes[] = {16, 700, 9000, 100 * KiB, 1 * MiB, 3 * MiB};
  block_t blocks[sizeof sizes / sizeof sizes[0]];
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) block_alloc(&blocks[i], sizes[i], i + 1);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) block_free(&blocks[i]);

  if (iteration + 1 < KEY_ITERATIONS)
    CHECK(pthread_setspecific(key, key_value_new(thread, iteration + 1)) == 0);
  else
    block_alloc(&left_by_destructor[thread], 5000, (uint64_t)thread);
}

static void* key_thread_main(void* arg)
{
  int thread = (int)(intptr_t)arg;
  xfree(xmalloc(64)); /* the thread's first malloc comes before its key value */
  CHECK(pthread_setspecific(key, key_value_new(thread, 0)) == 0);
  block_t b;
  block_alloc(&b, 300, 7);
  block_free(&b);
  return NULL;
}

static void test_key_destructors(void)
{
  xfree(xmalloc(64)); /* the key is created after the first malloc */
  CHECK(pthread_key_create(&key, key_destructor) == 0);
  pthread_t threads[KEY_THREADS];
  for (int t = 0; t < KEY_THREADS; t++)
    CHECK(pthread_create(&threads[t], NULL, key_thread_main, (void*)(intptr_t)t) == 0);
  for (int t = 0; t < KEY_THREADS; t++) CHECK(pthread_join(threads[t], NULL) == 0);
  CHECK(atomic_load(&destructor_runs) == KEY_THREADS * KEY_ITERATIONS);
  for (int t = 0; t < KEY_THREADS; t++) block_free(&left_by_destructor[t]);
  CHECK(pthread_key_delete(key) == 0);
}

int main(int argc, char** argv)
{
  test_key_destructors();
  test_generations(argc > 1 ? atoi(argv[1]) : 200);
  check_report("test_thread_exit");
  return 0;
}
