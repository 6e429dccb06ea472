/* The purger: a thread that gives back the memory of freed segments when
 * their purge delay runs out, so that a program that frees a lot and then
 * goes quiet does not keep it.  Everything else purges on the program's own
 * slow paths; this thread only expires the segment cache, which is shared
 * and locked.  It is started the first time the cache holds memory, from a
 * point where starting a thread (which may allocate) is safe, and again in
 * a forked child if that child frees segments in turn. */
#define _GNU_SOURCE
#include "internal/internal.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

_Atomic(int) hak_purger_state = HAK_PURGER_IDLE;
static pthread_mutex_t purger_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t purger_cond;
static bool purger_kicked;

static void* purger_main(void* arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "hakmem-purge");
  pthread_mutex_lock(&purger_lock);
  for (;;) {
    purger_kicked = false;
    pthread_mutex_unlock(&purger_lock);
    uint64_t next = hak_cache_expire();
    pthread_mutex_lock(&purger_lock);
    if (purger_kicked) continue;
    if (next == UINT64_MAX) {
      pthread_cond_wait(&purger_cond, &purger_lock);
    } else {
      struct timespec until = {(time_t)(next / 1000), (long)(next % 1000) * 1000000};
      pthread_cond_timedwait(&purger_cond, &purger_lock, &until);
    }
  }
  return NULL;
}

static void purger_cond_init(void) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* as hak_os_clock_ms */
  pthread_cond_init(&purger_cond, &attr);
  pthread_condattr_destroy(&attr);
}

void hak_purger_notify(void) {
  int state = hak_load_relaxed(&hak_purger_state);
  if (state == HAK_PURGER_IDLE) {
    atomic_compare_exchange_strong(&hak_purger_state, &state, HAK_PURGER_WANTED);
  } else if (state == HAK_PURGER_RUNNING) {
    pthread_mutex_lock(&purger_lock);
    purger_kicked = true;
    pthread_cond_signal(&purger_cond);
    pthread_mutex_unlock(&purger_lock);
  }
}

void hak_purger_start(void) {
  int wanted = HAK_PURGER_WANTED;
  if (!atomic_compare_exchange_strong(&hak_purger_state, &wanted, HAK_PURGER_STARTING)) return;
  /* Nobody signals the condition before it is RUNNING. */
  purger_cond_init();
  hak_store_release(&hak_purger_state, HAK_PURGER_RUNNING);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  /* The thread inherits a full signal mask: the program's signals are
   * never delivered to it. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  int failed = pthread_create(&thread, &attr, purger_main, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (failed) hak_store_relaxed(&hak_purger_state, HAK_PURGER_FAILED);
}

void hak_purger_lock(void) {
  pthread_mutex_lock(&purger_lock);
}

void hak_purger_unlock(bool child) {
  if (child) {
    /* The thread did not come along: start another when needed. */
    pthread_mutex_init(&purger_lock, NULL);
    if (hak_load_relaxed(&hak_purger_state) == HAK_PURGER_RUNNING)
      hak_store_relaxed(&hak_purger_state, HAK_PURGER_IDLE);
    return;
  }
  pthread_mutex_unlock(&purger_lock);
}
