/* A program that frees a burst of memory and then goes quiet gets its
 * resident set back without calling anything: freed segments are purged
 * by the purger thread once HAKMEM_PURGE_DELAY_MS has passed (10 ms in the
 * default mode).  Here nothing allocates during the wait. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "resident.h"

#define MiB ((size_t)1 << 20)

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
  check_report("test_idle_purge");
  return 0;
}
