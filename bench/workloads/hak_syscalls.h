/* hakmem's own count of its memory system calls, when hakmem is the
 * allocator.  hakmem exports hak_stats_json; it is looked up at run time, so
 * the same binary runs under every allocator and simply finds nothing under
 * the others.  RTLD_DEFAULT needs _GNU_SOURCE, defined by the including file
 * before its first #include. */
#ifndef BENCH_HAK_SYSCALLS_H
#define BENCH_HAK_SYSCALLS_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct hak_syscalls_s {
  uint64_t mmap, munmap, mremap, madvise;
} hak_syscalls_t;

static inline uint64_t hak_syscalls_total(const hak_syscalls_t* s) {
  return s->mmap + s->munmap + s->mremap + s->madvise;
}

/* The count after `key` ("\"mmap\":") inside the "syscalls" object. */
static inline uint64_t hak_syscalls_field(const char* object, const char* key) {
  const char* at = strstr(object, key);
  return at ? strtoull(at + strlen(key), NULL, 10) : 0;
}

/* False when hak_stats_json is not there (another allocator) or its output
 * lacks the syscalls object. */
static inline bool hak_syscalls_read(hak_syscalls_t* out) {
  size_t (*stats_json)(char*, size_t) =
      (size_t (*)(char*, size_t))dlsym(RTLD_DEFAULT, "hak_stats_json");
  if (stats_json == NULL) return false;
  char json[2048]; /* on the stack: reading the counters must not allocate */
  if (stats_json(json, sizeof(json)) >= sizeof(json)) return false;
  const char* object = strstr(json, "\"syscalls\":{");
  if (object == NULL) return false;
  *out = (hak_syscalls_t){
      .mmap = hak_syscalls_field(object, "\"mmap\":"),
      .munmap = hak_syscalls_field(object, "\"munmap\":"),
      .mremap = hak_syscalls_field(object, "\"mremap\":"),
      .madvise = hak_syscalls_field(object, "\"madvise\":"),
  };
  return true;
}

#endif
