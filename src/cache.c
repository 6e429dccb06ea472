/* A small cache of recently freed segment mappings.  Reusing one saves the
 * mmap/munmap pair (and the page faults of a fresh mapping) when programs
 * free and re-make large blocks or whole segments in a loop. */
#include "internal/internal.h"

#include <pthread.h>

#define CACHE_SLOTS 16
#define CACHE_MAX_BYTES ((size_t)64 << 20)

typedef struct cache_slot_s {
  void* base;
  size_t size;
} cache_slot_t;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_slot_t slots[CACHE_SLOTS];
static size_t cached_bytes;

void* hak_cache_take(size_t size, size_t alignment, size_t offset, size_t* got) {
  void* found = NULL;
  pthread_mutex_lock(&cache_lock);
  size_t best = CACHE_SLOTS;
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    cache_slot_t* s = &slots[i];
    /* Take the smallest that fits and wastes at most a quarter. */
    if (s->base == NULL || s->size < size || s->size - size > size / 4) continue;
    if (((uintptr_t)s->base + offset) % alignment != 0) continue;
    if (best == CACHE_SLOTS || s->size < slots[best].size) best = i;
  }
  if (best < CACHE_SLOTS) {
    found = slots[best].base;
    *got = slots[best].size;
    cached_bytes -= slots[best].size;
    slots[best].base = NULL;
  }
  pthread_mutex_unlock(&cache_lock);
  return found;
}

bool hak_cache_put(void* base, size_t size) {
  bool kept = false;
  pthread_mutex_lock(&cache_lock);
  if (cached_bytes + size <= CACHE_MAX_BYTES) {
    for (size_t i = 0; i < CACHE_SLOTS && !kept; i++) {
      if (slots[i].base != NULL) continue;
      slots[i].base = base;
      slots[i].size = size;
      cached_bytes += size;
      kept = true;
    }
  }
  pthread_mutex_unlock(&cache_lock);
  return kept;
}

void hak_cache_lock(void) {
  pthread_mutex_lock(&cache_lock);
}

void hak_cache_unlock(void) {
  pthread_mutex_unlock(&cache_lock);
}
