/* burst_idle: after a burst of allocation is freed and the program falls
 * idle, how much memory goes back to the system, and how soon?
 *
 * usage: burst_idle TOTAL_MIB IDLE_SECONDS SEED [KEEP_EVERY]
 *
 * After a small warm-up the resident set is recorded, then blocks of
 * 16 B .. 1 MiB, every page written, are allocated until they hold TOTAL_MIB
 * MiB, and all freed; with KEEP_EVERY, all but every KEEP_EVERY-th one,
 * which stay live until the end: the freed memory then lies between live
 * blocks, in pages they keep in use.  Sizes are drawn so that each octave holds about the
 * same bytes (the count halves from one octave to the next): small-block
 * pages and large blocks both matter.  Then the program idles for
 * IDLE_SECONDS, doing only one small malloc/free every 10 ms (an allocator
 * without a background thread may give memory back only when called), and
 * samples RSS every 100 ms; last comes the allocator's own call to give
 * memory back (release_memory) and a final sample.
 * The RESULT line reports rss_{before,peak,after_free,after_1s,after_idle,
 * after_release}_kb and returned_1s = (peak - after_1s) / (peak - before).
 * ops and ops_per_sec count the burst's mallocs and frees. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "args.h"
#include "result.h"
#include "rng.h"
#include "rss.h"
#include "sink.h"
#include "timing.h"

#define PAGE 4096
#define MIN_OCTAVE 4  /* 16 B */
#define MAX_OCTAVE 19 /* sizes below 1 MiB */
#define WARMUP_BLOCKS 1000
#define TICK_NS 10000000L     /* 10 ms between idle malloc/free pairs */
#define TICKS_PER_SAMPLE 10   /* RSS every 100 ms */
#define TICKS_PER_SECOND 100

/* Burst blocks are chained through their first bytes, so freeing them needs
 * no pointer array of its own, which would show in the resident set. */
typedef struct block_s {
  struct block_s* next;
} block_t;

/* Octave k above MIN_OCTAVE with probability proportional to 2^-k (the
 * trailing zeros of a random word), redrawn past MAX_OCTAVE. */
static size_t draw_size(rng_t* rng) {
  unsigned k;
  do {
    k = (unsigned)__builtin_ctzll(rng_next(rng) | (1ULL << 63));
  } while (k > MAX_OCTAVE - MIN_OCTAVE);
  size_t base = (size_t)1 << (MIN_OCTAVE + k);
  return base + rng_below(rng, base);
}

static block_t* alloc_touched(size_t size, block_t* next) {
  char* p = malloc(size);
  if (p == NULL) {
    fprintf(stderr, "burst_idle: out of memory\n");
    exit(1);
  }
  for (size_t off = PAGE; off < size; off += PAGE) p[off] = 1;
  p[size - 1] = 1;
  block_t* b = (block_t*)p;
  b->next = next;
  return b;
}

/* Frees the chain but every keep_every-th block (none if 0), which it
 * returns as a chain of their own. */
static block_t* free_chain(block_t* b, uint64_t keep_every) {
  block_t* kept = NULL;
  for (uint64_t i = 1; b != NULL; i++) {
    block_t* next = b->next;
    if (keep_every != 0 && i % keep_every == 0) {
      b->next = kept;
      kept = b;
    } else {
      free(b);
    }
    b = next;
  }
  return kept;
}

/* Gives back what the allocator can give back, by its own call:
 * mimalloc's mi_collect(true), jemalloc's purge of all its arenas,
 * tcmalloc's MallocExtension_ReleaseFreeMemory(), else malloc_trim(0)
 * (glibc's, or hakmem's; the others do not define it, and glibc's has
 * nothing of theirs to trim). */
static void release_memory(void) {
  void (*mi_collect)(bool) = (void (*)(bool))dlsym(RTLD_DEFAULT, "mi_collect");
  int (*mallctl)(const char*, void*, size_t*, void*, size_t) =
      (int (*)(const char*, void*, size_t*, void*, size_t))dlsym(RTLD_DEFAULT, "mallctl");
  void (*release_free)(void) = (void (*)(void))dlsym(RTLD_DEFAULT,
                                                     "MallocExtension_ReleaseFreeMemory");
  if (mi_collect != NULL) mi_collect(true);
  else if (mallctl != NULL) mallctl("arena.4096.purge", NULL, NULL, NULL, 0); /* 4096: all */
  else if (release_free != NULL) release_free();
  else malloc_trim(0);
}

static void sleep_until(struct timespec* deadline) {
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL) == EINTR) continue;
}

int main(int argc, char** argv) {
  uint64_t total = arg_u64(argc, argv, 1, "TOTAL_MIB", 1024) << 20;
  double idle = arg_f64(argc, argv, 2, "IDLE_SECONDS", 2.0);
  rng_t rng = rng_seed(arg_u64(argc, argv, 3, "SEED", 42));
  uint64_t keep_every = arg_u64(argc, argv, 4, "KEEP_EVERY", 0);
  if (idle < 1.0) {
    fprintf(stderr, "burst_idle: IDLE_SECONDS must be at least 1 (rss_after_1s)\n");
    return 2;
  }

  block_t* chain = NULL;
  for (int i = 0; i < WARMUP_BLOCKS; i++) chain = alloc_touched(draw_size(&rng), chain);
  free_chain(chain, 0);
  long before = rss_kb();

  uint64_t ops = 0, live = 0;
  uintptr_t acc = 0;
  double start = now_seconds();
  for (chain = NULL; live < total; ops++) {
    size_t size = draw_size(&rng);
    chain = alloc_touched(size, chain);
    acc ^= (uintptr_t)chain;
    live += size;
  }
  long peak = rss_kb();
  block_t* kept = free_chain(chain, keep_every);
  ops *= 2; /* every block was also freed (the kept ones at the end) */
  double elapsed = now_seconds() - start;
  long after_free = rss_kb();

  long after_1s = -1, sample = after_free;
  long ticks = (long)(idle * TICKS_PER_SECOND);
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  for (long tick = 1; tick <= ticks; tick++) {
    deadline.tv_nsec += TICK_NS;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
    sleep_until(&deadline);
    char* p = malloc(64);
    p[0] = (char)tick;
    acc ^= (uintptr_t)p;
    free(p);
    if (tick % TICKS_PER_SAMPLE != 0) continue;
    sample = rss_kb();
    printf("sample t=%.2f rss_kb=%ld\n", (double)tick / TICKS_PER_SECOND, sample);
    if (after_1s < 0 && tick >= TICKS_PER_SECOND) after_1s = sample;
  }
  long after_idle = sample;
  release_memory();
  long after_release = rss_kb();
  free_chain(kept, 0);
  sink_publish(acc);

  double grown = (double)(peak - before);
  char extra[256];
  snprintf(extra, sizeof(extra),
           " total_mib=%llu keep_every=%llu rss_before_kb=%ld rss_peak_kb=%ld rss_after_free_kb=%ld"
           " rss_after_1s_kb=%ld rss_after_idle_kb=%ld rss_after_release_kb=%ld returned_1s=%.3f",
           (unsigned long long)(total >> 20), (unsigned long long)keep_every, before, peak, after_free, after_1s, after_idle,
           after_release, grown > 0 ? (double)(peak - after_1s) / grown : 0.0);
  result_print(ops, elapsed, extra);
  return 0;
}
