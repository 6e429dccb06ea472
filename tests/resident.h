/* What is resident, for tests of memory given back. */
#ifndef HAKMEM_TEST_RESIDENT_H
#define HAKMEM_TEST_RESIDENT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

static inline size_t resident_bytes(void)
{
  long pages = 0, resident = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  CHECK(f != NULL && fscanf(f, "%ld %ld", &pages, &resident) == 2);
  fclose(f);
  return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Pages of [from, to) resident (mincore), and in *pages how many pages
 * that range holds. */
static inline size_t resident_pages(const char* from, const char* to, size_t* pages)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = ((uintptr_t)from + page - 1) & ~(uintptr_t)(page - 1);
  uintptr_t end = (uintptr_t)to & ~(uintptr_t)(page - 1);
  *pages = end > start ? (end - start) / page : 0;
  if (*pages == 0) return 0;
  unsigned char* vec = malloc(*pages);
  CHECK(vec != NULL);
  CHECK(mincore((void*)start, end - start, vec) == 0);
  size_t resident = 0;
  for (size_t i = 0; i < *pages; i++) resident += vec[i] & 1;
  free(vec);
  return resident;
}

#endif
