/* What the bad-input cases share: a block size standing for each of hakmem's
 * tiers, ways to hide values from the compiler, and the check that the heap
 * still works after the misuse.
 *
 * Each case is a program run by expect.sh, which asserts its exit status and
 * the "hakmem: error:" lines it prints. */
#ifndef HAKMEM_NEGATIVE_COMMON_H
#define HAKMEM_NEGATIVE_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pattern.h"
#include "rng.h"
#include "segment.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* One size in each tier of docs/architecture.md: small up to 8 KiB, medium
 * up to 64 KiB, large up to 2 MiB, huge beyond.  The huge one spans two
 * 4 MiB segment slots.  "aligned" is a medium size allocated 4 KiB-aligned
 * (see tier_alloc). */
static inline size_t tier_size(const char* tier)
{
  static const struct {
    const char* name;
    size_t size;
  } tiers[] = {{"small", 200}, {"medium", 50 * KiB}, {"large", 1 * MiB}, {"huge", 8 * MiB},
               {"aligned", 50 * KiB}};
  for (size_t i = 0; i < sizeof tiers / sizeof tiers[0]; i++)
    if (strcmp(tiers[i].name, tier) == 0) return tiers[i].size;
  fprintf(stderr, "unknown tier %s\n", tier);
  exit(2);
}

/* A block of a tier's size: the aligned tier's starts 4 KiB-aligned inside
 * a bigger block (medium blocks are only 64-byte aligned). */
static inline void* tier_alloc(const char* tier, size_t size)
{
  return strcmp(tier, "aligned") == 0 ? aligned_alloc(4096, size) : malloc(size);
}

/* The misuse is deliberate: the compiler must neither warn about it nor
 * reason about where the pointer or the size came from. */
static inline void* launder(void* p)
{
  void* volatile v = p;
  return v;
}

static inline size_t launder_size(size_t n)
{
  volatile size_t v = n;
  return v;
}

/* After a misuse the heap must still work: 300 live blocks, every other one
 * of the size involved (within a 64 MiB budget) and the rest of mixed sizes,
 * all written before any is checked, so that a block handed out twice or
 * overlapping another shows up as a pattern mismatch. */
static inline void check_heap_works(size_t size)
{
  enum { COUNT = 300 };
  static block_t blocks[COUNT];
  rng_t rng = {size};
  size_t budget = 64 * MiB;
  for (int i = 0; i < COUNT; i++) {
    size_t n = i % 2 == 0 ? size : rng_log_range(&rng, 1, 256 * KiB);
    if (n > budget) n = 32;
    budget -= n;
    blocks[i] = (block_t){malloc(n), n, rng_next(&rng)};
    CHECKF(blocks[i].p != NULL, "malloc(%zu)", n);
    pattern_fill(blocks[i].p, n, blocks[i].tag);
  }
  for (int i = 0; i < COUNT; i++) {
    size_t bad = pattern_mismatch(blocks[i].p, blocks[i].size, blocks[i].tag);
    CHECKF(bad == SIZE_MAX, "block %d (%p, %zu bytes) overwritten at offset %zu", i, blocks[i].p,
           blocks[i].size, bad);
  }
  for (int i = 0; i < COUNT; i++) free(blocks[i].p);
}

#endif
