/* The purger: a thread that gives back the memory of freed segments when
 * their purge delay runs out, and of the free and kept pages of segments
 * still in use once those have been idle for the page purge delay, so that
 * a program that frees a lot and then goes quiet does not keep it.  It also
 * releases segments abandoned by exited threads once other threads have
 * freed all their blocks, and frees the full pages other threads emptied
 * for an owner that only waits.  It touches what no thread owns (the
 * segment cache and the abandoned list, both locked); under each heap's
 * purge lock, which pages of its segments are free, kept or purged; and a
 * heap's full queue and delayed list only while its owner is not at them
 * (heap.c's handshake).  It is started
 * the first time there is such work, from a point where starting a thread
 * (which may allocate) is safe, and again in a forked child if that child
 * has such work in turn.  It ends when the last thread holding a heap
 * does, and starts again if another thread allocates and frees. */
#define _GNU_SOURCE
#include "internal/internal.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>

_Atomic(int) hak_purger_state = HAK_PURGER_IDLE;
static pthread_mutex_t purger_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t purger_cond;
static pthread_t purger_thread;
static bool purger_kicked;
static bool purger_stopping; /* under purger_lock: hak_purger_stop asks */
/* When the purger means to wake (0: it is awake and looking; UINT64_MAX:
 * only when told).  Work due later than this needs no wake-up: the purger
 * will find it then.  Under purger_lock. */
static uint64_t purger_wake_ms;

/* Abandoned segments are swept every SWEEP_MIN_MS, backing off to
 * SWEEP_MAX_MS while sweeps find nothing to release. */
#define SWEEP_MIN_MS 100
#define SWEEP_MAX_MS 10000
#define SWEEP_BUDGET 64

typedef struct sweep_clock_s {
  uint64_t interval;
  uint64_t next;
} sweep_clock_t;

/* Sweeps when due; returns when the next sweep is (UINT64_MAX: none). */
static uint64_t sweep_if_due(sweep_clock_t* clock, uint64_t now) {
  if (hak_segment_abandoned_count() == 0) {
    clock->interval = SWEEP_MIN_MS;
    clock->next = now + SWEEP_MIN_MS;
    return UINT64_MAX;
  }
  if (now >= clock->next) {
    bool released = hak_segment_sweep_abandoned(SWEEP_BUDGET) > 0;
    clock->interval = released ? SWEEP_MIN_MS : clock->interval * 2;
    if (clock->interval > SWEEP_MAX_MS) clock->interval = SWEEP_MAX_MS;
    clock->next = now + clock->interval;
  }
  return clock->next;
}

static void* purger_main(void* arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "hakmem-purge");
  sweep_clock_t sweep = {SWEEP_MIN_MS, hak_os_clock_ms() + SWEEP_MIN_MS};
  pthread_mutex_lock(&purger_lock);
  while (!purger_stopping) {
    purger_kicked = false;
    purger_wake_ms = 0;
    pthread_mutex_unlock(&purger_lock);
    uint64_t next = hak_heap_free_emptied_full_pages();
    uint64_t next_cache = hak_cache_expire();
    if (next_cache < next) next = next_cache;
    uint64_t next_sweep = sweep_if_due(&sweep, hak_os_clock_ms());
    if (next_sweep < next) next = next_sweep;
    uint64_t next_pages = hak_heap_purge_idle();
    if (next_pages < next) next = next_pages;
    pthread_mutex_lock(&purger_lock);
    /* (A stop asked during the pass signalled no one: not to wait, then.) */
    if (purger_kicked || purger_stopping) continue;
    purger_wake_ms = next;
    if (next == UINT64_MAX) {
      pthread_cond_wait(&purger_cond, &purger_lock);
    } else {
      struct timespec until = {(time_t)(next / 1000), (long)(next % 1000) * 1000000};
      pthread_cond_timedwait(&purger_cond, &purger_lock, &until);
    }
  }
  pthread_mutex_unlock(&purger_lock);
  return NULL;
}

void hak_purger_init(void) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* as hak_os_clock_ms */
  pthread_cond_init(&purger_cond, &attr);
  pthread_condattr_destroy(&attr);
}

void hak_purger_notify(uint64_t due_ms) {
  int state = hak_load_acquire(&hak_purger_state);
  if (state == HAK_PURGER_IDLE) {
    atomic_compare_exchange_strong(&hak_purger_state, &state, HAK_PURGER_WANTED);
  } else if (state == HAK_PURGER_RUNNING) {
    /* Signalling a purger that would wake in time anyway costs a system
     * call and a context switch per freed segment in a busy program. */
    pthread_mutex_lock(&purger_lock);
    if (purger_wake_ms == 0) {
      purger_kicked = true; /* awake: it looks again before sleeping */
    } else if (due_ms < purger_wake_ms) {
      purger_kicked = true;
      pthread_cond_signal(&purger_cond);
    }
    pthread_mutex_unlock(&purger_lock);
  }
}

/* Sets the purger's reason to look (or to stop) and wakes it. */
static void purger_wake(bool* reason) {
  pthread_mutex_lock(&purger_lock);
  *reason = true;
  pthread_cond_signal(&purger_cond);
  pthread_mutex_unlock(&purger_lock);
}

void hak_purger_start(void) {
  int wanted = HAK_PURGER_WANTED;
  if (!hak_options.purge_thread) {
    hak_store_relaxed(&hak_purger_state, HAK_PURGER_FAILED); /* never, then */
    return;
  }
  if (!atomic_compare_exchange_strong(&hak_purger_state, &wanted, HAK_PURGER_STARTING)) return;
  /* With no thread holding a heap, none would stop it again.  Either this
   * load or hak_purger_stop's sees the other's store: it then waits out
   * STARTING. */
  if (atomic_load(&hak_threads_with_heap) == 0) {
    atomic_store(&hak_purger_state, HAK_PURGER_WANTED);
    return;
  }
  purger_stopping = false;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  /* The thread inherits a full signal mask: the program's signals are
   * never delivered to it. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int failed = pthread_create(&purger_thread, &attr, purger_main, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (failed) {
    hak_store_relaxed(&hak_purger_state, HAK_PURGER_FAILED);
    return;
  }
  hak_store_release(&hak_purger_state, HAK_PURGER_RUNNING);
  /* Work noted while it was STARTING asked no one: look again. */
  purger_wake(&purger_kicked);
}

void hak_purger_stop(void) {
  int state;
  while ((state = atomic_load(&hak_purger_state)) == HAK_PURGER_STARTING) sched_yield();
  if (state != HAK_PURGER_RUNNING ||
      !atomic_compare_exchange_strong(&hak_purger_state, &state, HAK_PURGER_STOPPING))
    return;
  purger_wake(&purger_stopping);
  pthread_join(purger_thread, NULL);
  hak_store_release(&hak_purger_state, HAK_PURGER_IDLE);
}

void hak_purger_lock(void) {
  pthread_mutex_lock(&purger_lock);
}

void hak_purger_unlock(bool child) {
  if (child) {
    /* The thread did not come along, nor one starting or stopping it:
     * start another when needed. */
    pthread_mutex_init(&purger_lock, NULL);
    hak_purger_init();
    int state = hak_load_relaxed(&hak_purger_state);
    if (state == HAK_PURGER_STARTING || state == HAK_PURGER_RUNNING ||
        state == HAK_PURGER_STOPPING)
      hak_store_relaxed(&hak_purger_state, HAK_PURGER_IDLE);
    return;
  }
  pthread_mutex_unlock(&purger_lock);
}
