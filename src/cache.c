/* Recently freed segment mappings, kept for reuse.  Reusing one saves the
 * mmap/munmap pair and, while it is still warm, the page faults of fresh
 * memory: programs that free and re-make large blocks or whole segments in
 * waves run at the speed of warm memory.  A mapping left unused for the
 * purge delay (HAKMEM_PURGE_DELAY_MS) is purged, its physical memory given
 * back and the range kept; one left purged for UNMAP_DELAY_MS is unmapped.
 * At most HAKMEM_CACHE_MAX bytes are kept.  The work is done whenever the
 * cache is used, and by the purger thread when the program is quiet. */
#include "internal/internal.h"

#include <pthread.h>

#define CACHE_SLOTS 32
#define UNMAP_DELAY_MS 1000

typedef struct cache_slot_s {
  void* base;
  size_t size;
  uint64_t deadline_ms; /* purge when warm, unmap when purged */
  size_t guard;         /* offset of its inaccessible page, 0 if none */
  bool purged;
} cache_slot_t;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_slot_t slots[CACHE_SLOTS];

static void slot_release(cache_slot_t* s) {
  if (s->purged) hak_stats_unpurged(s->size);
  hak_os_free(s->base, s->size);
  hak_stat_sub(cached_bytes, s->size);
  s->base = NULL;
}

static void slot_purge(cache_slot_t* s, uint64_t now) {
  hak_os_purge(s->base, s->size);
  hak_stats_purged(s->size);
  s->purged = true;
  s->deadline_ms = now + UNMAP_DELAY_MS;
}

/* Purges and unmaps what has waited long enough; called with the lock. */
static void cache_expire(uint64_t now) {
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    cache_slot_t* s = &slots[i];
    if (s->base == NULL || now < s->deadline_ms) continue;
    if (s->purged) slot_release(s);
    else slot_purge(s, now);
  }
}

uint64_t hak_cache_expire(void) {
  pthread_mutex_lock(&cache_lock);
  cache_expire(hak_os_clock_ms());
  uint64_t next = UINT64_MAX;
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    if (slots[i].base != NULL && slots[i].deadline_ms < next) next = slots[i].deadline_ms;
  }
  pthread_mutex_unlock(&cache_lock);
  return next;
}

void* hak_cache_take(size_t size, size_t alignment, size_t offset, size_t* got, bool* dirty,
                     size_t* guard) {
  void* found = NULL;
  pthread_mutex_lock(&cache_lock);
  cache_expire(hak_os_clock_ms());
  cache_slot_t* best = NULL;
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    cache_slot_t* s = &slots[i];
    if (s->base == NULL || s->size < size) continue;
    if (((uintptr_t)s->base + offset) % alignment != 0) continue;
    /* Warm memory first, then the smallest. */
    if (best == NULL || s->purged < best->purged ||
        (s->purged == best->purged && s->size < best->size))
      best = s;
  }
  if (best != NULL) {
    found = best->base;
    *dirty = !best->purged; /* purged memory reads as zero again */
    *guard = best->guard;
    /* Split a larger mapping at a segment boundary; the rest stays.  A
     * guard page lies in a header, so within the front. */
    size_t front = hak_align_up(size, HAK_SEGMENT_SIZE);
    if (best->size >= front + HAK_SEGMENT_SIZE) {
      *got = front;
      best->base = (uint8_t*)best->base + front;
      best->size -= front;
      best->guard = 0;
    } else {
      *got = best->size;
      best->base = NULL;
    }
    hak_stat_sub(cached_bytes, *got);
    if (!*dirty) hak_stats_unpurged(*got);
  }
  pthread_mutex_unlock(&cache_lock);
  return found;
}

size_t hak_cache_take_warm(size_t max, void** from) {
  pthread_mutex_lock(&cache_lock);
  cache_expire(hak_os_clock_ms());
  /* The smallest warm mapping that has max bytes, else the largest; not
   * one that keeps a guard page (a freed segment of the secure build that
   * was not huge).  Its pages past the guard were moved in before session
   * 27, but a block grown with them was slow to touch on a paravirtualised
   * machine (realloc_grow at 0.32x of the default build with them, about
   * 0.5x without; docs/security.md). */
  cache_slot_t* best = NULL;
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    cache_slot_t* s = &slots[i];
    if (s->base == NULL || s->purged || s->guard != 0) continue;
    if (best == NULL || (best->size < max ? s->size > best->size : s->size >= max && s->size < best->size))
      best = s;
  }
  size_t taken = 0;
  if (best != NULL) {
    taken = best->size < max ? best->size : max;
    best->size -= taken;
    *from = (uint8_t*)best->base + best->size;
    hak_stat_sub(cached_bytes, taken);
    if (best->size == 0) best->base = NULL;
  }
  pthread_mutex_unlock(&cache_lock);
  return taken;
}

bool hak_cache_has_warm(size_t size) {
  pthread_mutex_lock(&cache_lock);
  bool found = false;
  for (size_t i = 0; i < CACHE_SLOTS && !found; i++)
    found = slots[i].base != NULL && !slots[i].purged && slots[i].size >= size;
  pthread_mutex_unlock(&cache_lock);
  return found;
}

/* The slot to give up for a new entry: purged before warm, and among
 * those the one nearest its deadline. */
static cache_slot_t* eviction_victim(void) {
  cache_slot_t* victim = NULL;
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    cache_slot_t* s = &slots[i];
    if (s->base == NULL) continue;
    if (victim == NULL || s->purged > victim->purged ||
        (s->purged == victim->purged && s->deadline_ms < victim->deadline_ms))
      victim = s;
  }
  return victim;
}

void hak_cache_put(void* base, size_t size, size_t guard) {
  if (size > hak_options.cache_max) {
    hak_os_free(base, size);
    return;
  }
  pthread_mutex_lock(&cache_lock);
  uint64_t now = hak_os_clock_ms();
  cache_expire(now);
  cache_slot_t* slot = NULL;
  for (;;) {
    for (size_t i = 0; i < CACHE_SLOTS && slot == NULL; i++) {
      if (slots[i].base == NULL) slot = &slots[i];
    }
    if (slot != NULL && hak_load_relaxed(&hak_stats.cached_bytes) + size <= hak_options.cache_max) break;
    slot_release(eviction_victim());
  }
  slot->base = base;
  slot->size = size;
  slot->guard = guard;
  slot->purged = false;
  slot->deadline_ms = now + hak_options.purge_delay_ms;
  hak_stat_add(cached_bytes, size);
  if (hak_options.purge_delay_ms == 0) slot_purge(slot, now);
  uint64_t due = slot->deadline_ms;
  pthread_mutex_unlock(&cache_lock);
  hak_purger_notify(due);
}

size_t hak_cache_collect(bool force) {
  size_t released = 0;
  pthread_mutex_lock(&cache_lock);
  uint64_t now = hak_os_clock_ms();
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    cache_slot_t* s = &slots[i];
    if (s->base == NULL) continue;
    if (!s->purged && (force || now >= s->deadline_ms)) {
      slot_purge(s, now);
      released += s->size;
    }
    if (s->purged && (force || now >= s->deadline_ms)) slot_release(s);
  }
  pthread_mutex_unlock(&cache_lock);
  return released;
}

void hak_cache_lock(void) {
  pthread_mutex_lock(&cache_lock);
}

void hak_cache_unlock(void) {
  pthread_mutex_unlock(&cache_lock);
}
