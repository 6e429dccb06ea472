/* hakmem's segments as the tests see them (docs/architecture.md): 4 MiB,
 * aligned to their size. */
#ifndef HAKMEM_TEST_SEGMENT_H
#define HAKMEM_TEST_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#define SEGMENT_SIZE ((size_t)4 << 20)
/* Blocks of up to 1 KiB live on small pages of this size. */
#define SMALL_PAGE_SIZE ((size_t)64 << 10)
/* Blocks of up to 64 KiB live on medium pages of this size. */
#define MEDIUM_PAGE_SIZE ((size_t)512 << 10)

/* The start of the segment holding block p ("- 1" as in hakmem: a huge
 * block may start at the end of its segment's first 4 MiB). */
static inline char* segment_of(const void* p)
{
  return (char*)(((uintptr_t)p - 1) & ~(uintptr_t)(SEGMENT_SIZE - 1));
}

/* The start of the small page holding block p. */
static inline uintptr_t small_page_of(const void* p)
{
  return (uintptr_t)p & ~(uintptr_t)(SMALL_PAGE_SIZE - 1);
}

/* The start of the medium page holding block p. */
static inline uintptr_t medium_page_of(const void* p)
{
  return (uintptr_t)p & ~(uintptr_t)(MEDIUM_PAGE_SIZE - 1);
}

#endif
