/* hakmem: a general-purpose memory allocator for Linux.
 *
 * Linked in (-lhakmem) or preloaded (LD_PRELOAD=libhakmem.so), the shared
 * library replaces malloc, free and every other standard entry point.  The
 * hak_* functions below are the same allocator under its own names, usable
 * without overriding anything. */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HAKMEM_VERSION "0.1.0"

#if defined(__GNUC__)
#define HAK_EXPORT __attribute__((visibility("default")))
#define HAK_MALLOC_LIKE __attribute__((malloc, warn_unused_result))
#else
#define HAK_EXPORT
#define HAK_MALLOC_LIKE
#endif

HAK_EXPORT HAK_MALLOC_LIKE void* hak_malloc(size_t size);
HAK_EXPORT HAK_MALLOC_LIKE void* hak_calloc(size_t count, size_t size);
HAK_EXPORT void* hak_realloc(void* p, size_t size);
HAK_EXPORT void* hak_reallocarray(void* p, size_t count, size_t size);
HAK_EXPORT void hak_free(void* p);

/* alignment: any power of two; NULL with errno EINVAL otherwise. */
HAK_EXPORT HAK_MALLOC_LIKE void* hak_aligned_alloc(size_t alignment, size_t size);
/* posix_memalign semantics: returns 0, EINVAL or ENOMEM; errno untouched. */
HAK_EXPORT int hak_posix_memalign(void** out, size_t alignment, size_t size);

/* Bytes usable in the block p points to (0 for NULL). */
HAK_EXPORT size_t hak_usable_size(const void* p);

/* True when p points into memory hakmem manages: the start of any block, and
 * any address in a block's first 4 MiB.  O(1); never faults, whatever p is. */
HAK_EXPORT bool hak_owns(const void* p);

/* Gives memory back to the system now: frees the calling thread's empty
 * pages, gives back the OS pages that only free blocks cover in its other
 * pages (without force, not in small-block pages more than half in use,
 * nor in pages unchanged since their last trim: the cheap part), purges
 * the free pages of its segments and the freed segments that have waited
 * out the purge delay (with force: all of them, unmapped).  Returns the
 * bytes given back.  malloc_trim(pad) calls hak_collect(true). */
HAK_EXPORT size_t hak_collect(bool force);

/* A readable summary of hakmem's statistics (what HAKMEM_SHOW_STATS=1
 * prints at exit).  Per-call counters appear only in a build configured
 * with -DHAKMEM_STATS=ON. */
HAK_EXPORT void hak_stats_print(FILE* out);
/* The same figures as one JSON object, NUL-terminated in buf (at most size
 * bytes); returns the length the whole object needs, as snprintf does. */
HAK_EXPORT size_t hak_stats_json(char* buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
