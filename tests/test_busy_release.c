/* A thread that stays busy gives back the pages of the size classes it no
 * longer uses.  A small or medium bin keeps its only page when it empties
 * (an alloc/free loop would otherwise make and free one every time); a
 * nearly idle thread is asked to give them all back, and a busy one frees
 * the pages of bins that stayed unused over a tick of the purger (page.c,
 * retired_sweep).  Run with a page purge delay of 100 ms: a tick is 100 ms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "resident.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* Rounds of 64 blocks of 40,000 bytes, written and freed: each round
 * fills six medium pages, so the thread searches for pages all the time.
 * Every byte is written, so that these pages are as resident wherever
 * they lie (they may take over pages the burst wrote). */
static void stay_busy(double seconds)
{
  enum { COUNT = 64 };
  char* blocks[COUNT];
  double end = seconds_now() + seconds;
  while (seconds_now() < end) {
    for (int i = 0; i < COUNT; i++) {
      blocks[i] = malloc(40000);
      CHECK(blocks[i] != NULL);
      memset(blocks[i], i, 40000);
    }
    for (int i = 0; i < COUNT; i++) free(blocks[i]);
  }
}

/* 256 KiB of blocks of each of 28 sizes from 16 B to 26 KiB, every byte
 * written, then all freed: each of their bins keeps a written page.  All
 * are made before any is freed, as a medium bin that needs a page takes
 * the one another bin kept (page.c, retired_take). */
static void burst_in_other_bins(void)
{
  static char* blocks[65536];
  size_t count = 0;
  for (size_t size = 16; size <= 32 * KiB; size = size * 5 / 4 + 16) {
    for (size_t bytes = 0; bytes < 256 * KiB; bytes += size) {
      CHECK(count < sizeof(blocks) / sizeof(blocks[0]));
      blocks[count] = malloc(size);
      CHECK(blocks[count] != NULL);
      memset(blocks[count++], 0x5a, size);
    }
  }
  for (size_t i = 0; i < count; i++) free(blocks[i]);
}

int main(void)
{
  stay_busy(0.3);
  size_t busy = resident_bytes();
  burst_in_other_bins();
  size_t burst = resident_bytes();
  stay_busy(1.5);
  size_t after = resident_bytes();
  printf("resident: busy %zu KiB, after the burst %zu KiB, after 1.5 s more of busy %zu KiB\n",
         busy / KiB, burst / KiB, after / KiB);
  CHECKF(burst >= busy + 3 * MiB, "the burst left only %zu KiB", (burst - busy) / KiB);
  CHECKF(after <= busy + MiB, "%zu KiB of the burst still resident",
         after > busy ? (after - busy) / KiB : 0);
  check_report("test_busy_release");
  return 0;
}
