/* Memory that a thread allocated and another thread freed goes back to the
 * system even while the first thread only waits: the purger frees the full
 * pages that other threads emptied, for an owner that never calls the
 * allocator again to take its blocks back (a main thread that hands its
 * blocks to workers and joins them). */
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "resident.h"

#define MiB ((size_t)1 << 20)
enum { COUNT = 800000 };

static void* blocks[COUNT];

static void* free_blocks(void* arg)
{
  (void)arg;
  for (int i = 0; i < COUNT; i++) free(blocks[i]);
  return NULL;
}

int main(void)
{
  /* The purger needs the kernel's barrier on every thread (Linux 4.14). */
  long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (commands < 0 || !(commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) {
    printf("test_waiting_owner: skipped, no membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)\n");
    return 77;
  }
  size_t before = resident_bytes();
  /* About 200 MiB of small blocks, filling page after page. */
  for (int i = 0; i < COUNT; i++) {
    size_t size = 64 + (size_t)(i % 7) * 64;
    blocks[i] = malloc(size);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], 0x5a, size);
  }
  size_t peak = resident_bytes();
  pthread_t t;
  CHECK(pthread_create(&t, NULL, free_blocks, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);

  /* From here the owner makes no call to the allocator (resident_bytes
   * makes none either), or it would take its blocks back itself. */
  struct timespec pause = {1, 0}; /* the page purge delay is 500 ms */
  nanosleep(&pause, NULL);
  size_t quiet = resident_bytes();
  printf("resident: before %zu KiB, peak %zu KiB, after 1 s waiting %zu KiB\n", before / 1024,
         peak / 1024, quiet / 1024);
  CHECK(peak > before + 100 * MiB);
  CHECKF(quiet <= before + (peak - before) / 10, "%zu KiB still resident", quiet / 1024);
  check_report("test_waiting_owner");
  return 0;
}
