/* The process's resident set, for tests of memory given back. */
#ifndef HAKMEM_TEST_RESIDENT_H
#define HAKMEM_TEST_RESIDENT_H

#include <stdio.h>
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

#endif
