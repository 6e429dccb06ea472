/* Memory of a thread that exited, freed afterwards by another thread, goes
 * back to the system even if no thread allocates again: the purger releases
 * abandoned segments once all their blocks are free. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "resident.h"

#define MiB ((size_t)1 << 20)
enum { COUNT = 800000 };

static void* blocks[COUNT];

/* About 200 MiB of small blocks, left behind when the thread exits. */
static void* leave_blocks(void* arg)
{
  (void)arg;
  for (int i = 0; i < COUNT; i++) {
    size_t size = 64 + (size_t)(i % 7) * 64;
    blocks[i] = malloc(size);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], 0x33, size);
  }
  return NULL;
}

int main(void)
{
  size_t before = resident_bytes();
  pthread_t t;
  CHECK(pthread_create(&t, NULL, leave_blocks, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  size_t peak = resident_bytes();
  for (int i = 0; i < COUNT; i++) free(blocks[i]);

  struct timespec pause = {1, 0}; /* a sweep is due every 100 ms */
  nanosleep(&pause, NULL);
  size_t quiet = resident_bytes();
  printf("resident: before %zu KiB, peak %zu KiB, after 1 s quiet %zu KiB\n", before / 1024,
         peak / 1024, quiet / 1024);
  CHECK(peak > before + 100 * MiB);
  CHECKF(quiet <= before + (peak - before) / 10, "%zu KiB still resident", quiet / 1024);
  check_report("test_abandoned_release");
  return 0;
}
