/* A program that frees a burst of memory and then goes quiet gets its
 * resident set back without calling anything: freed segments are purged
 * by the purger thread once HAKMEM_PURGE_DELAY_MS has passed (50 ms in the
 * default mode).  First nothing allocates during the wait; then a burst of
 * small and medium blocks is followed by a trickle of allocations, and the
 * pages each of their bins keeps go back too, once the thread is nearly
 * idle (the purger asks it, and it obliges on its next slow path). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "resident.h"
#include "rng.h"

#define MiB ((size_t)1 << 20)

/* 8000 blocks of 16 B .. 64 KiB (about 60 MiB), every byte written and
 * all freed, then one 64-byte block allocated and freed every 10 ms for
 * 1.2 s (the page purge delay is 500 ms in the default mode). */
static void small_burst_then_trickle(void)
{
  enum { COUNT = 8000 };
  static char* blocks[COUNT];
  size_t before = resident_bytes();
  rng_t rng = {7};
  for (int i = 0; i < COUNT; i++) {
    size_t size = rng_log_range(&rng, 16, 64 * 1024);
    blocks[i] = malloc(size);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], 0x66, size);
  }
  size_t peak = resident_bytes();
  for (int i = 0; i < COUNT; i++) free(blocks[i]);
  struct timespec tick = {0, 10 * 1000 * 1000};
  for (int i = 0; i < 120; i++) {
    char* volatile p = malloc(64);
    CHECK(p != NULL);
    p[0] = 1;
    free(p);
    nanosleep(&tick, NULL);
  }
  size_t after = resident_bytes();
  printf("small and medium: before %zu KiB, peak %zu KiB, after 1.2 s of a trickle %zu KiB\n",
         before / 1024, peak / 1024, after / 1024);
  CHECK(peak > before + 40 * MiB);
  CHECKF(after <= before + 2 * MiB, "%zu KiB still resident", after / 1024);
}

int main(void)
{
  enum { COUNT = 120 };
  static char* blocks[COUNT];
  size_t before = resident_bytes();
  for (int i = 0; i < COUNT; i++) {
    size_t size = (i % 3 == 0) ? 3 * MiB : 1 * MiB + (size_t)i * 4096; /* huge and large */
    blocks[i] = malloc(size);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], 0x77, size);
  }
  size_t peak = resident_bytes();
  for (int i = 0; i < COUNT; i++) free(blocks[i]);

  /* Quiet: no allocation at all while waiting (nanosleep does not allocate). */
  struct timespec pause = {0, 300 * 1000 * 1000};
  nanosleep(&pause, NULL);
  size_t quiet = resident_bytes();
  printf("resident: before %zu KiB, peak %zu KiB, after 300 ms quiet %zu KiB\n", before / 1024,
         peak / 1024, quiet / 1024);
  CHECK(peak > before + 100 * MiB);
  CHECKF(quiet <= before + (peak - before) / 10, "%zu KiB still resident", quiet / 1024);
  small_burst_then_trickle();
  check_report("test_idle_purge");
  return 0;
}
