/* Telling valgrind's memcheck what hakmem does (debug builds, when the
 * valgrind headers were found): blocks handed out and freed are client heap
 * blocks, so memcheck reports leaks and use after free as it does for glibc.
 * A free block is inaccessible except for its free-list link, which hakmem
 * opens only for the instant it reads or writes it.  Elsewhere these are
 * no-ops. */
#ifndef HAKMEM_TRACK_H
#define HAKMEM_TRACK_H

#ifndef HAKMEM_VALGRIND
#define HAKMEM_VALGRIND 0
#endif

#if HAKMEM_VALGRIND
#include <valgrind/memcheck.h>
/* Block p of usable size bytes was handed out; zero: its bytes read as 0. */
#define hak_track_malloc(p, size, zero) VALGRIND_MALLOCLIKE_BLOCK((p), (size), 0, (zero))
#define hak_track_free(p) VALGRIND_FREELIKE_BLOCK((p), 0)
/* Before reading what hakmem wrote, before writing, after either. */
#define hak_track_open_read(p, size) VALGRIND_MAKE_MEM_DEFINED((p), (size))
#define hak_track_open_write(p, size) VALGRIND_MAKE_MEM_UNDEFINED((p), (size))
#define hak_track_close(p, size) VALGRIND_MAKE_MEM_NOACCESS((p), (size))
/* Bytes carried over from an old block into a new one (realloc). */
#define hak_track_defined(p, size) VALGRIND_MAKE_MEM_DEFINED((p), (size))
#else
#define hak_track_malloc(p, size, zero) ((void)(p), (void)(size), (void)(zero))
#define hak_track_free(p) ((void)(p))
#define hak_track_open_read(p, size) ((void)(p), (void)(size))
#define hak_track_open_write(p, size) ((void)(p), (void)(size))
#define hak_track_close(p, size) ((void)(p), (void)(size))
#define hak_track_defined(p, size) ((void)(p), (void)(size))
#endif

#endif
