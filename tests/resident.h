/* What is resident, for tests of memory given back. */
#ifndef HAKMEM_TEST_RESIDENT_H
#define HAKMEM_TEST_RESIDENT_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

/* Read without stdio, which would allocate: a test may ask while the
 * allocator's state is what it checks (a thread that must not call it). */
static inline size_t resident_bytes(void)
{
  char text[128];
  int fd = open("/proc/self/statm", O_RDONLY);
  CHECK(fd >= 0);
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  CHECK(n > 0);
  text[n] = '\0';
  const char* resident = strchr(text, ' ');
  CHECK(resident != NULL);
  return (size_t)strtoull(resident + 1, NULL, 10) * (size_t)sysconf(_SC_PAGESIZE);
}

/* Pages of [from, to) resident (mincore; a page that is not mapped counts
 * as not resident), and in *pages how many pages that range holds.  Under
 * an emulated page size (tests/os_page_size.c) a page spans several of the
 * kernel's, of 4 KiB at least, and mincore reports each: the page counts as
 * resident when any of them is. */
static inline size_t resident_pages(const char* from, const char* to, size_t* pages)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = ((uintptr_t)from + page - 1) & ~(uintptr_t)(page - 1);
  uintptr_t end = (uintptr_t)to & ~(uintptr_t)(page - 1);
  *pages = end > start ? (end - start) / page : 0;
  size_t resident = 0;
  unsigned char in_core[64];
  size_t parts = page / 4096 > 0 ? page / 4096 : 1;
  CHECK(parts <= sizeof in_core);
  for (uintptr_t p = start; p < end; p += page) {
    if (mincore((void*)p, page, in_core) != 0) {
      CHECK(errno == ENOMEM);
      continue;
    }
    bool any = false;
    for (size_t i = 0; i < parts; i++) any |= in_core[i] & 1;
    resident += any;
  }
  return resident;
}

#endif
