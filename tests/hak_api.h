/* For the tests that also run in sanitizer builds: their allocation calls,
 * and whether ThreadSanitizer watches them.
 *
 * Normally the calls are the standard names, which the test gets from
 * libhakmem.so.  A sanitizer build (hakmem_sanitized_test in CMakeLists.txt)
 * compiles hakmem's core sources into the test and leaves the standard names
 * to the sanitizer's own malloc; it defines HAKMEM_TEST_HAK_API, and the
 * calls go to the hak_* functions instead. */
#ifndef HAKMEM_TEST_HAK_API_H
#define HAKMEM_TEST_HAK_API_H

#include <malloc.h>
#include <stdlib.h>

#include "hakmem.h"

#ifdef HAKMEM_TEST_HAK_API
#define xmalloc hak_malloc
#define xcalloc hak_calloc
#define xrealloc hak_realloc
#define xfree hak_free
#define xaligned_alloc hak_aligned_alloc
#define xposix_memalign hak_posix_memalign
#define xusable_size hak_usable_size
#else
#define xmalloc malloc
#define xcalloc calloc
#define xrealloc realloc
#define xfree free
#define xaligned_alloc aligned_alloc
#define xposix_memalign posix_memalign
#define xusable_size malloc_usable_size
#endif

#if defined(__SANITIZE_THREAD__)
#define HAKMEM_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HAKMEM_TEST_TSAN 1
#endif
#endif
#ifndef HAKMEM_TEST_TSAN
#define HAKMEM_TEST_TSAN 0
#endif

#endif
