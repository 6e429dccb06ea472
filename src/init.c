/* Process and thread life cycle: the first allocation, thread exit, fork,
 * and the one-line error messages. */
#include "internal/internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

__thread hak_heap_t* hak_heap_default = &hak_heap_empty;

static hak_heap_t main_heap;
static _Atomic(bool) main_heap_taken;
static _Atomic(bool) process_ready;
static pthread_key_t heap_key;

/* ---- thread exit and fork ------------------------------------------------- */

_Atomic(size_t) hak_threads_with_heap;

/* glibc ends a process when its last thread exits, and counts the purger
 * among its threads: so once no thread that allocates is left (a program
 * whose main thread called pthread_exit, its other threads done), the
 * purger goes first, or the process would never end. */
static void thread_done(void* value) {
  hak_heap_t* heap = value;
  if (heap == NULL || heap != hak_heap_default) return;
  hak_heap_done(heap);
  if (atomic_fetch_sub(&hak_threads_with_heap, 1) == 1) hak_purger_stop();
}

static void fork_prepare(void) {
  hak_heap_emptied_lock(); /* first: the purger holds it while it takes the others */
  hak_heap_pool_lock();
  hak_segment_lock_all();
  hak_purger_lock();
}

static void fork_parent(void) {
  hak_purger_unlock(false);
  hak_segment_unlock_all();
  hak_heap_pool_unlock();
  hak_heap_emptied_unlock();
}

static void fork_child(void) {
  atomic_store(&hak_threads_with_heap, hak_heap_default != &hak_heap_empty);
  hak_purger_unlock(true);
  hak_segment_unlock_all();
  hak_heap_pool_unlock();
  hak_heap_emptied_unlock();
  if (hak_heap_default != &hak_heap_empty) hak_heap_after_fork_child(hak_heap_default);
}

/* ---- start-up ------------------------------------------------------------- */

/* Runs in the first thread that allocates, after its heap is in place, so
 * any allocation made by the calls below is served normally. */
static void process_init(void) {
  hak_options_init();
  hak_bin_table_init();
  hak_purger_init();
  pthread_key_create(&heap_key, thread_done);
  pthread_atfork(fork_prepare, fork_parent, fork_child);
  if (hak_options.verbose) hak_options_print();
  atomic_store_explicit(&process_ready, true, memory_order_release);
}

/* At load time, so that options (and the banner) take effect even in a
 * program that never allocates. */
__attribute__((constructor)) static void process_load(void) {
  hak_thread_heap();
}

__attribute__((destructor)) static void process_unload(void) {
  if (hak_options.show_stats) hak_stats_write_stderr();
}

hak_heap_t* hak_thread_heap(void) {
  if (hak_heap_default != &hak_heap_empty) return hak_heap_default;
  bool first = !atomic_exchange_explicit(&main_heap_taken, true, memory_order_acq_rel);
  hak_heap_t* heap = first ? &main_heap : hak_heap_new();
  if (heap == NULL) return NULL;
  if (first) hak_heap_register(heap);
  hak_heap_init(heap);
  hak_heap_default = heap;
  atomic_fetch_add(&hak_threads_with_heap, 1);
  if (first) process_init();
  while (!atomic_load_explicit(&process_ready, memory_order_acquire)) sched_yield();
  pthread_setspecific(heap_key, heap);
  return heap;
}

/* ---- messages ------------------------------------------------------------- */

static size_t format_hex(char* out, uintptr_t value) {
  static const char digits[] = "0123456789abcdef";
  char tmp[2 * sizeof(value)];
  size_t n = 0;
  do {
    tmp[n++] = digits[value & 15];
    value >>= 4;
  } while (value != 0);
  out[0] = '0';
  out[1] = 'x';
  for (size_t i = 0; i < n; i++) out[2 + i] = tmp[n - 1 - i];
  return n + 2;
}

void hak_error(const char* what, const void* p) {
  char line[256];
  static const char prefix[] = "hakmem: error: ";
  size_t len = 0;
  size_t what_len = strnlen(what, 160);
  memcpy(line + len, prefix, sizeof(prefix) - 1);
  len += sizeof(prefix) - 1;
  memcpy(line + len, what, what_len);
  len += what_len;
  memcpy(line + len, " at ", 4);
  len += 4;
  len += format_hex(line + len, (uintptr_t)p);
  line[len++] = '\n';
  ssize_t ignored = write(STDERR_FILENO, line, len);
  (void)ignored;
  hak_options_init(); /* an error can come before the first allocation */
  if (hak_options.abort_on_error) abort();
}
