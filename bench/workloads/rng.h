/* Fast deterministic PRNG for the workloads: xorshift64* seeded through
 * splitmix64, so that nearby seeds (seed, seed+1, ... per thread) still give
 * unrelated streams.  rand() is avoided: it locks and is slow. */
#ifndef BENCH_RNG_H
#define BENCH_RNG_H

#include <stdint.h>

typedef struct rng_s {
  uint64_t state;
} rng_t;

static inline uint64_t splitmix64(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline rng_t rng_seed(uint64_t seed) {
  rng_t r = {splitmix64(&seed)};
  if (r.state == 0) r.state = 1; /* xorshift must never hold zero */
  return r;
}

static inline uint64_t rng_next(rng_t* r) {
  uint64_t x = r->state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->state = x;
  return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n) by multiply-high: no division on the hot path. */
static inline uint64_t rng_below(rng_t* r, uint64_t n) {
  return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline uint64_t rng_range(rng_t* r, uint64_t lo, uint64_t hi) {
  return lo + rng_below(r, hi - lo + 1);
}

/* Log-uniform in [lo, hi], lo and hi powers of two: a uniform octave, then a
 * uniform size within it.  Each octave is drawn equally often, as sizes are in
 * real programs, while the large octaves hold most of the bytes. */
static inline uint64_t rng_log_uniform(rng_t* r, uint64_t lo, uint64_t hi) {
  unsigned octaves = (unsigned)(__builtin_ctzll(hi) - __builtin_ctzll(lo));
  uint64_t base = lo << rng_below(r, octaves);
  return base + rng_below(r, base + 1);
}

#endif
