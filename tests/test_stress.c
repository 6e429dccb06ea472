/* Verified multi-threaded stress.
 *
 * Worker threads allocate blocks of random sizes across every tier (skewed to
 * small), fill each with a pattern derived from a per-block random tag and
 * check it before the block is freed or resized.  About a quarter of the
 * blocks leave their thread through a shared array of slots, so they are freed
 * by another thread.  After every round all workers exit with blocks still
 * live, and the next round's fresh threads free them: heaps get abandoned and
 * reclaimed.  Any mismatch is printed and the process exits with status 1.
 *
 * An operation is one step of a worker: an allocation, a resize, a hand-off or
 * a free, each with its checks; the program ends by printing how many it
 * verified.  It calls the allocator through hak_api.h, so sanitizer builds
 * run it too.
 *
 * usage: test_stress [threads [ops-per-thread-per-round [rounds [seed]]]] */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hak_api.h"
#include "pattern.h"
#include "rng.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define LOCAL_SLOTS 512
#define SHARED_SLOTS 1024
#define HANDOFF_SEAL 0x5EA1ED0FF5EA1EDull

/* What travels through a shared slot: itself a heap block, freed by the
 * receiving thread; seal detects a descriptor that got overwritten. */
typedef struct {
  block_t block;
  uint64_t seal;
} handoff_t;

/* One per thread index; its blocks outlive the thread that allocated them. */
typedef struct {
  pthread_t thread;
  int index;
  int round;
  unsigned long ops;
  rng_t rng;
  block_t slots[LOCAL_SLOTS];
} worker_t;

static _Atomic(handoff_t*) shared_slots[SHARED_SLOTS];

__attribute__((noreturn))
static void fail(const worker_t* w, const char* what, const block_t* b, size_t offset)
{
  fprintf(stderr, "test_stress: FAILED: %s: block %p, %zu bytes, tag %#llx", what, b->p, b->size,
          (unsigned long long)b->tag);
  if (offset != SIZE_MAX) {
    const unsigned char* bytes = b->p;
    fprintf(stderr, ": byte %zu is %#x, expected %#x", offset, bytes[offset], pattern_byte(b->tag, offset));
  }
  if (w != NULL)
    fprintf(stderr, " (thread %d, round %d, op %lu)\n", w->index, w->round, w->ops);
  else
    fprintf(stderr, " (final drain)\n");
  _Exit(1);
}

static void verify(const worker_t* w, const block_t* b, size_t length, const char* when)
{
  size_t bad = pattern_mismatch(b->p, length, b->tag);
  if (bad != SIZE_MAX) fail(w, when, b, bad);
}

/* 90% up to 1 KiB, 9.67% up to 128 KiB, 0.3% up to 2 MiB, 0.03% up to
 * 8 MiB; log-uniform inside each band.  The big blocks are rare because
 * writing and checking their bytes is most of the run time; 10 M operations
 * still make some 15 000 large and 1 500 huge ones. */
static size_t random_size(rng_t* rng)
{
  uint64_t r = rng_below(rng, 10000);
  if (r < 9000) return rng_log_range(rng, 1, 1 * KiB);
  if (r < 9967) return rng_log_range(rng, 1 * KiB + 1, 128 * KiB);
  if (r < 9997) return rng_log_range(rng, 128 * KiB + 1, 2 * MiB);
  return rng_log_range(rng, 2 * MiB + 1, 8 * MiB);
}

/* What every block gets without asking: 16 bytes, 8 for requests <= 8. */
static size_t default_alignment(size_t size)
{
  return size <= 8 ? 8 : 16;
}

static void check_new_block(const worker_t* w, const block_t* b, size_t alignment)
{
  if (b->p == NULL) fail(w, "allocation returned NULL", b, SIZE_MAX);
  if ((uintptr_t)b->p % alignment != 0) {
    char what[64];
    snprintf(what, sizeof what, "block not aligned to %zu", alignment);
    fail(w, what, b, SIZE_MAX);
  }
  if (!hak_owns(b->p)) fail(w, "block not owned by hakmem", b, SIZE_MAX);
  if (xusable_size(b->p) < b->size) fail(w, "usable size below the request", b, SIZE_MAX);
}

/* Read by words (p is 8-byte aligned): ThreadSanitizer checks a word as fast
 * as a byte. */
static int is_zero(const void* p, size_t n)
{
  const uint64_t* words = p;
  uint64_t any = 0;
  for (size_t i = 0; i < n / 8; i++) any |= words[i];
  const unsigned char* bytes = p;
  for (size_t i = n / 8 * 8; i < n; i++) any |= bytes[i];
  return any == 0;
}

static void allocate(worker_t* w, block_t* b)
{
  b->size = random_size(&w->rng);
  b->tag = rng_next(&w->rng);
  size_t alignment = default_alignment(b->size);
  uint64_t kind = rng_below(&w->rng, 100);
  if (kind < 2) {
    /* Mostly modest alignments, now and then up to 2 MiB. */
    alignment = (size_t)1 << (rng_below(&w->rng, 16) == 0 ? rng_range(&w->rng, 13, 21) : rng_range(&w->rng, 3, 12));
    b->p = xaligned_alloc(alignment, b->size);
  } else if (kind < 4) {
    alignment = (size_t)1 << rng_range(&w->rng, 3, 12);
    if (xposix_memalign(&b->p, alignment, b->size) != 0) b->p = NULL;
  } else if (kind < 9) {
    b->p = xcalloc(1, b->size);
  } else {
    b->p = xmalloc(b->size);
  }
  check_new_block(w, b, alignment);
  int from_calloc = kind >= 4 && kind < 9;
  if (from_calloc && !is_zero(b->p, b->size)) fail(w, "calloc block not zeroed", b, SIZE_MAX);
  pattern_fill(b->p, b->size, b->tag);
}

static void release(const worker_t* w, block_t* b)
{
  verify(w, b, b->size, "corrupted before free");
  xfree(b->p);
  b->p = NULL;
}

static void resize(worker_t* w, block_t* b)
{
  size_t new_size = random_size(&w->rng);
  verify(w, b, b->size, "corrupted before realloc");
  void* q = xrealloc(b->p, new_size);
  if (q == NULL) fail(w, "realloc returned NULL", b, SIZE_MAX);
  b->p = q;
  size_t kept = new_size < b->size ? new_size : b->size;
  verify(w, b, kept, "realloc lost content");
  b->size = new_size;
  check_new_block(w, b, default_alignment(b->size));
  b->tag = rng_next(&w->rng);
  pattern_fill(b->p, b->size, b->tag);
}

static void take_handoff(const worker_t* w, handoff_t* h)
{
  block_t descriptor = {h, sizeof *h, HANDOFF_SEAL};
  uint64_t expect = HANDOFF_SEAL ^ (uintptr_t)h->block.p ^ h->block.size ^ h->block.tag;
  if (h->seal != expect) fail(w, "handoff descriptor overwritten", &descriptor, SIZE_MAX);
  release(w, &h->block);
  xfree(h);
}

/* Publishes the block in a random shared slot and frees whatever was there. */
static void hand_off(worker_t* w, block_t* b)
{
  handoff_t* h = xmalloc(sizeof *h);
  block_t descriptor = {h, sizeof *h, 0};
  if (h == NULL) fail(w, "allocation returned NULL", &descriptor, SIZE_MAX);
  h->block = *b;
  h->seal = HANDOFF_SEAL ^ (uintptr_t)b->p ^ b->size ^ b->tag;
  b->p = NULL;
  handoff_t* old = atomic_exchange(&shared_slots[rng_below(&w->rng, SHARED_SLOTS)], h);
  if (old != NULL) take_handoff(w, old);
}

static unsigned long ops_per_round;

static void* worker_main(void* arg)
{
  worker_t* w = arg;
  for (w->ops = 0; w->ops < ops_per_round; w->ops++) {
    block_t* b = &w->slots[rng_below(&w->rng, LOCAL_SLOTS)];
    if (b->p == NULL) {
      allocate(w, b);
      continue;
    }
    uint64_t action = rng_below(&w->rng, 100);
    if (action < 5)
      resize(w, b);
    else if (action < 30)
      hand_off(w, b);
    else
      release(w, b);
  }
  return NULL;
}

/* Frees everything still live once the last round has finished. */
static void drain(worker_t* workers, int threads)
{
  for (int t = 0; t < threads; t++)
    for (int i = 0; i < LOCAL_SLOTS; i++)
      if (workers[t].slots[i].p != NULL) release(NULL, &workers[t].slots[i]);
  for (int i = 0; i < SHARED_SLOTS; i++) {
    handoff_t* h = atomic_exchange(&shared_slots[i], NULL);
    if (h != NULL) take_handoff(NULL, h);
  }
}

static unsigned long parse_arg(int argc, char** argv, int index, unsigned long fallback)
{
  if (argc <= index) return fallback;
  char* end;
  unsigned long value = strtoul(argv[index], &end, 0);
  if (*end != '\0' || value == 0) {
    fprintf(stderr, "usage: %s [threads [ops-per-thread-per-round [rounds [seed]]]]\n", argv[0]);
    exit(2);
  }
  return value;
}

int main(int argc, char** argv)
{
  int threads = (int)parse_arg(argc, argv, 1, 8);
  ops_per_round = parse_arg(argc, argv, 2, 100000);
  int rounds = (int)parse_arg(argc, argv, 3, 4);
  uint64_t seed = parse_arg(argc, argv, 4, 20240601);

  worker_t* workers = calloc((size_t)threads, sizeof *workers);
  if (workers == NULL) return 1;
  unsigned long long verified = 0;
  double start = seconds_now();
  for (int round = 0; round < rounds; round++) {
    for (int t = 0; t < threads; t++) {
      worker_t* w = &workers[t];
      w->index = t;
      w->round = round;
      w->rng.state = seed ^ ((uint64_t)round << 32) ^ (uint64_t)t;
      if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        fprintf(stderr, "test_stress: pthread_create failed\n");
        return 1;
      }
    }
    for (int t = 0; t < threads; t++) {
      pthread_join(workers[t].thread, NULL);
      verified += workers[t].ops;
    }
  }
  drain(workers, threads);
  free(workers);
  printf("test_stress: %llu operations verified (%d threads x %lu ops x %d rounds) in %.2f s\n",
         verified, threads, ops_per_round, rounds, seconds_now() - start);
  return 0;
}
