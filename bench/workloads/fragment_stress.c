/* fragment_stress: how much memory an allocator holds on to when the live
 * set keeps changing shape.
 *
 * usage: fragment_stress ROUNDS SLOTS SEED
 *
 * SLOTS blocks are allocated, then each round frees a random ~70 % of them and
 * refills those slots with blocks of other sizes.  Sizes span 16 B .. 64 KiB
 * (12 power-of-two octaves), but each round draws from a different window of
 * 6 octaves, so memory freed for one size population must be reused for
 * another.  Every page of every block is written, so the resident set counts
 * the blocks.  Besides ops/s (one op = one malloc or one free) it reports the
 * live bytes at the end, the peak of the live bytes, the peak RSS and
 * frag_ratio = peak RSS / peak live bytes (1.0 would be perfect). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "args.h"
#include "result.h"
#include "rng.h"
#include "sink.h"
#include "timing.h"

#define FIRST_OCTAVE 4 /* 16 B */
#define OCTAVES 12     /* .. 64 KiB */
#define WINDOW 6
#define FREE_PERCENT 70
#define PAGE 4096

typedef struct slot_s {
  char* block;
  size_t size;
} slot_t;

/* Log-uniform size within the round's octave window: small and large blocks
 * are equally common, as in real programs, while the byte total stays
 * dominated by the large ones. */
static size_t draw_size(rng_t* rng, unsigned round) {
  unsigned window_start = (round * 5) % (OCTAVES - WINDOW + 1);
  unsigned octave = FIRST_OCTAVE + window_start + (unsigned)rng_below(rng, WINDOW);
  size_t base = (size_t)1 << octave;
  return base + rng_below(rng, base);
}

static char* alloc_touched(size_t size, uintptr_t* acc) {
  char* p = malloc(size);
  for (size_t off = 0; off < size; off += PAGE) p[off] = 1;
  p[size - 1] = 1;
  *acc ^= (uintptr_t)p;
  return p;
}

int main(int argc, char** argv) {
  unsigned rounds = (unsigned)arg_u64(argc, argv, 1, "ROUNDS", 250);
  size_t nslots = arg_u64(argc, argv, 2, "SLOTS", 20000);
  rng_t rng = rng_seed(arg_u64(argc, argv, 3, "SEED", 42));

  slot_t* slots = calloc(nslots, sizeof(slot_t));
  size_t live = 0, peak_live = 0;
  uint64_t ops = 0;
  uintptr_t acc = 0;
  double start = now_seconds();
  for (size_t i = 0; i < nslots; i++) {
    slots[i].size = draw_size(&rng, 0);
    slots[i].block = alloc_touched(slots[i].size, &acc);
    live += slots[i].size;
  }
  ops += nslots;
  peak_live = live;
  for (unsigned r = 1; r <= rounds; r++) {
    for (size_t i = 0; i < nslots; i++) {
      if (rng_below(&rng, 100) >= FREE_PERCENT) continue;
      free(slots[i].block);
      live -= slots[i].size;
      slots[i].block = NULL;
      ops++;
    }
    for (size_t i = 0; i < nslots; i++) {
      if (slots[i].block != NULL) continue;
      slots[i].size = draw_size(&rng, r);
      slots[i].block = alloc_touched(slots[i].size, &acc);
      live += slots[i].size;
      ops++;
    }
    if (live > peak_live) peak_live = live;
  }
  double elapsed = now_seconds() - start;

  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  size_t final_live = live;
  for (size_t i = 0; i < nslots; i++) free(slots[i].block);
  free(slots);
  sink_publish(acc);

  char extra[160];
  snprintf(extra, sizeof(extra), " live_bytes=%zu peak_live_bytes=%zu peak_rss_kb=%ld frag_ratio=%.3f",
           final_live, peak_live, usage.ru_maxrss,
           peak_live > 0 ? (double)usage.ru_maxrss * 1024.0 / (double)peak_live : 0.0);
  result_print(ops, elapsed, extra);
  return 0;
}
