/* Small deterministic random numbers (splitmix64): tests use fixed seeds so a
 * failure replays the same sequence of sizes and operations. */
#ifndef HAKMEM_TEST_RNG_H
#define HAKMEM_TEST_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t state;
} rng_t;

static inline uint64_t rng_next(rng_t* r)
{
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0.  The tiny modulo bias does not matter here. */
static inline uint64_t rng_below(rng_t* r, uint64_t n)
{
  return rng_next(r) % n;
}

/* Uniform in [lo, hi]. */
static inline uint64_t rng_range(rng_t* r, uint64_t lo, uint64_t hi)
{
  return lo + rng_below(r, hi - lo + 1);
}

/* Log-uniform in [lo, hi] (lo >= 1): each power-of-two band is equally likely,
 * so small sizes within a range dominate, as they do in real programs. */
static inline uint64_t rng_log_range(rng_t* r, uint64_t lo, uint64_t hi)
{
  int lo_bit = 63 - __builtin_clzll(lo);
  int hi_bit = 63 - __builtin_clzll(hi);
  int bit = lo_bit + (int)rng_below(r, (uint64_t)(hi_bit - lo_bit + 1));
  uint64_t band_lo = (uint64_t)1 << bit;
  uint64_t band_hi = (band_lo << 1) - 1;
  if (band_lo < lo) band_lo = lo;
  if (band_hi > hi) band_hi = hi;
  return rng_range(r, band_lo, band_hi);
}

#endif
