/* A huge block grown by realloc takes its new pages from memory freed a
 * moment before, still warm in the segment cache, instead of faulting in
 * fresh ones; its contents survive every step.  Run with a long purge delay
 * so that the cache stays warm throughout.
 *
 * Whether a new page came from the cache is read with mincore before the
 * test touches it: fresh pages are not resident yet, warm ones are.  Warm
 * pages make the block span several mappings, which only Linux 6.17 and
 * later can move; on older kernels hakmem leaves the tail fresh, and only
 * the contents are checked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "check.h"
#include "pattern.h"
#include "resident.h"
#include "warm_cache.h"

#define MiB ((size_t)1 << 20)

static int kernel_moves_split_ranges(void)
{
  struct utsname u;
  int major = 0, minor = 0;
  if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2) return 0;
  return major > 6 || (major == 6 && minor >= 17);
}

int main(void)
{
  warm_segment_cache();

  /* Grow a block by half at a time, as vectors and string builders do. */
  const uint64_t tag = 0x5eed;
  size_t size = 3 * MiB;
  char* p = malloc(size);
  CHECK(p != NULL);
  pattern_fill(p, size, tag);
  size_t grown_pages = 0, warm_pages = 0;
  while (size < 32 * MiB) {
    size_t bigger = size + size / 2;
    p = realloc(p, bigger);
    CHECK(p != NULL);
    CHECKF(pattern_mismatch(p, size, tag) == SIZE_MAX, "contents lost growing %zu to %zu", size,
           bigger);
    size_t pages;
    warm_pages += resident_pages(p + size, p + bigger, &pages);
    grown_pages += pages;
    pattern_fill(p, bigger, tag);
    size = bigger;
  }
  CHECK(pattern_mismatch(p, size, tag) == SIZE_MAX);
  free(p);

  printf("grew 3 MiB to %zu MiB: %zu of %zu new pages were warm\n", size / MiB, warm_pages,
         grown_pages);
  if (kernel_moves_split_ranges()) {
    CHECKF(warm_pages * 10 >= grown_pages * 9, "%zu of %zu new pages warm", warm_pages,
           grown_pages);
  } else {
    printf("kernel older than 6.17: the new pages are fresh, contents checked only\n");
  }
  check_report("test_realloc_warm");
  return 0;
}
