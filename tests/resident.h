/* What is resident, for tests of memory given back. */
#ifndef HAKMEM_TEST_RESIDENT_H
#define HAKMEM_TEST_RESIDENT_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
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

/* Pages of [from, to) resident (mincore; a page that is not mapped counts
 * as not resident), and in *pages how many pages that range holds. */
static inline size_t resident_pages(const char* from, const char* to, size_t* pages)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = ((uintptr_t)from + page - 1) & ~(uintptr_t)(page - 1);
  uintptr_t end = (uintptr_t)to & ~(uintptr_t)(page - 1);
  *pages = end > start ? (end - start) / page : 0;
  size_t resident = 0;
  for (uintptr_t p = start; p < end; p += page) {
    unsigned char in_core;
    if (mincore((void*)p, page, &in_core) == 0) resident += in_core & 1;
    else CHECK(errno == ENOMEM);
  }
  return resident;
}

#endif
