/* A thread that falls nearly idle after a burst gives back, without being
 * asked (no malloc_trim), the memory of the blocks it freed between the
 * ones it keeps: once its free pages have waited out the page purge delay
 * the purger asks it to collect, and its next small malloc answers, even
 * though that malloc would find a block on the fast path.  The thread's
 * only calls then are a malloc and a free every 10 ms of a size whose pages
 * hold live blocks, so that neither takes a slow path of its own.  With the
 * argument "frees" its only calls are frees instead, each of the one block
 * in use of its page (the blocks of sizes nothing else uses, made before the
 * burst): the free that empties a page answers too.  Run with a page purge
 * delay of 100 ms.  The secure build parks no blocks (docs/security.md), so
 * it does not run this test. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pattern.h"
#include "resident.h"

#define KiB ((size_t)1 << 10)
#define TICK_MS 10
/* The frees' ticks are fewer (LONE_COUNT), so they are further apart: the
 * purger's request may be late on a loaded machine. */
#define FREES_TICK_MS 60
#define MAX_TICKS 300

typedef struct burst_s {
  block_t* blocks;
  size_t count;
  size_t size;
  size_t freed_bytes;
} burst_t;

/* count blocks of size; all but every keep_every-th one freed (keep_every
 * 0: all of them).  Under bigger kernel pages fewer are kept, so that four
 * pages at least lie between two live blocks. */
static burst_t burst(size_t size, size_t count, size_t keep_every)
{
  burst_t b = {calloc(count, sizeof(block_t)), count, size, 0};
  CHECK(b.blocks != NULL);
  for (size_t i = 0; i < count; i++) {
    b.blocks[i] = (block_t){malloc(size), size, i + 1};
    CHECK(b.blocks[i].p != NULL);
    pattern_fill(b.blocks[i].p, size, b.blocks[i].tag);
  }
  size_t spread = 4 * (size_t)sysconf(_SC_PAGESIZE) / size;
  if (keep_every != 0 && keep_every < spread) keep_every = spread;
  for (size_t i = 0; i < count; i++) {
    if (keep_every != 0 && i % keep_every == 0) continue;
    free(b.blocks[i].p);
    b.blocks[i].p = NULL;
    b.freed_bytes += size;
  }
  return b;
}

static void check_and_free(burst_t* b)
{
  for (size_t i = 0; i < b->count; i++) {
    if (b->blocks[i].p == NULL) continue;
    CHECK(pattern_mismatch(b->blocks[i].p, b->size, b->blocks[i].tag) == SIZE_MAX);
    free(b->blocks[i].p);
  }
  free(b->blocks);
}

/* Sizes of bins that neither the bursts (200, 3000 and 500 bytes) nor
 * their block arrays (24 bytes a block: 480,000, 96,000 and 24,000) use: a
 * block of each is alone on its page. */
static const size_t lone_sizes[] = {
    16,       32,       48,       64,        80,        96,        112,       128,      160,
    192,      256,      320,      384,       448,       640,       768,       896,      1024,
    16 * KiB, 20 * KiB, 28 * KiB, 32 * KiB,  40 * KiB,  48 * KiB,  56 * KiB,  64 * KiB, 80 * KiB,
    112 * KiB, 128 * KiB, 160 * KiB, 192 * KiB, 224 * KiB, 256 * KiB};
#define LONE_COUNT (sizeof(lone_sizes) / sizeof(lone_sizes[0]))

/* One idle tick's calls: a malloc and a free of a size whose pages hold
 * live blocks, or the free of the next lone block; false when none is
 * left. */
static bool idle_tick(bool frees, void** lone, size_t* next_lone, size_t size)
{
  if (frees) {
    if (*next_lone == LONE_COUNT) return false;
    free(lone[(*next_lone)++]);
    return true;
  }
  char* p = malloc(size);
  CHECK(p != NULL);
  p[0] = 1;
  free(p);
  return true;
}

/* On a thread of its own, whose heap has no page of these sizes yet. */
static void* burst_then_idle(void* arg)
{
  bool frees = arg != NULL;
  void* lone[LONE_COUNT];
  for (size_t i = 0; i < LONE_COUNT; i++) {
    lone[i] = malloc(lone_sizes[i]);
    CHECK(lone[i] != NULL);
  }
  size_t next_lone = 0;
  burst_t small = burst(200, 20000, 64);
  burst_t medium = burst(3000, 4000, 16);
  /* Pages wholly freed: what the purger waits on before it asks. */
  burst_t emptied = burst(500, 1000, 0);
  size_t between = small.freed_bytes + medium.freed_bytes;
  size_t held = resident_bytes();
  int tick_ms = frees ? FREES_TICK_MS : TICK_MS;
  struct timespec tick = {0, tick_ms * 1000 * 1000};
  int ticks = 0;
  size_t now = held;
  for (; ticks < MAX_TICKS && now + between / 2 > held; ticks++) {
    if (!idle_tick(frees, lone, &next_lone, small.size)) break;
    nanosleep(&tick, NULL);
    now = resident_bytes();
  }
  printf("idle_trim%s: %zu KiB freed between live blocks, %zu KiB resident before idling, "
         "%zu KiB after %d ms\n", frees ? " (frees)" : "", between / KiB, held / KiB, now / KiB,
         ticks * tick_ms);
  CHECKF(now + between / 2 <= held, "%zu KiB given back in %d ms of %zu KiB freed",
         (held > now ? held - now : 0) / KiB, ticks * tick_ms, between / KiB);
  check_and_free(&small);
  check_and_free(&medium);
  check_and_free(&emptied);
  while (next_lone < LONE_COUNT) free(lone[next_lone++]);
  return NULL;
}

int main(int argc, char** argv)
{
  bool frees = argc > 1 && strcmp(argv[1], "frees") == 0;
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, burst_then_idle, frees ? "frees" : NULL) == 0);
  CHECK(pthread_join(thread, NULL) == 0);
  check_report("test_idle_trim");
  return 0;
}
