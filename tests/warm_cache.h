/* hakmem's cache of freed segments made warm for tests of huge blocks that
 * grow: 64 MiB touched, then freed.  Run such a test with a long purge
 * delay, so that the memory stays warm. */
#ifndef HAKMEM_TEST_WARM_CACHE_H
#define HAKMEM_TEST_WARM_CACHE_H

#include <stdlib.h>
#include <string.h>

#include "check.h"

static inline void warm_segment_cache(void)
{
  enum { WARM = 4 };
  const size_t size = (size_t)16 << 20;
  char* warm[WARM];
  for (int i = 0; i < WARM; i++) {
    warm[i] = malloc(size);
    CHECK(warm[i] != NULL);
    memset(warm[i], 0x5a, size);
  }
  for (int i = 0; i < WARM; i++) free(warm[i]);
}

#endif
