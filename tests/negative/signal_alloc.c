/* Allocation from a signal handler.
 *
 * What hakmem guarantees, and what it does not: like glibc's malloc, hakmem
 * is not async-signal-safe.  Its fast paths pop and push a thread-local free
 * list without locks or atomics and its slow paths take locks, so a handler
 * that interrupts malloc or free and then allocates in the same thread may
 * corrupt that thread's heap or deadlock; POSIX allows neither call in such
 * a handler.  What hakmem does guarantee is that a handler running while its
 * thread is outside the allocator may allocate and free like any other
 * code, including blocks the interrupted code allocated or will free.
 *
 * That is what this test asserts, in two phases:
 *  1. raise(SIGALRM) between allocator calls: the handler runs before raise
 *     returns, at a known point;
 *  2. a 1 ms interval timer interrupting the main loop anywhere; the main
 *     loop raises a flag around its allocator calls and its use of the
 *     hand-off slots, and the handler does nothing while the flag is up.
 * The main loop and the handler each allocate blocks of every tier, check
 * their own, and hand some to the other to check and free: any overlap or
 * lost block shows as a pattern mismatch. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <time.h>

#include "common.h"

enum { LIVE = 64, HANDOFF = 8, SYNC_ROUNDS = 1000, ASYNC_HANDLER_RUNS = 200, ASYNC_SECONDS = 20 };

/* Up while the main loop is inside malloc/free or using the hand-off slots;
 * the handler runs with SIGALRM blocked, so it is never interrupted itself. */
static volatile sig_atomic_t main_busy;

static void* guarded_malloc(size_t size)
{
  main_busy = 1;
  atomic_signal_fence(memory_order_seq_cst);
  void* p = malloc(size);
  atomic_signal_fence(memory_order_seq_cst);
  main_busy = 0;
  return p;
}

static void guarded_free(void* p)
{
  main_busy = 1;
  atomic_signal_fence(memory_order_seq_cst);
  free(p);
  atomic_signal_fence(memory_order_seq_cst);
  main_busy = 0;
}

/* Sizes in every tier, the huge ones rare so the test stays quick. */
static size_t pick_size(rng_t* rng)
{
  uint64_t r = rng_below(rng, 100);
  if (r < 70) return rng_log_range(rng, 1, 8 * KiB);
  if (r < 90) return rng_range(rng, 8 * KiB + 1, 64 * KiB);
  if (r < 99) return rng_range(rng, 64 * KiB + 1, 2 * MiB);
  return rng_range(rng, 2 * MiB + 1, 4 * MiB);
}

static void block_new(block_t* b, rng_t* rng, void* (*alloc)(size_t))
{
  b->size = pick_size(rng);
  b->tag = rng_next(rng);
  b->p = alloc(b->size);
  CHECKF(b->p != NULL, "malloc(%zu)", b->size);
  pattern_fill(b->p, b->size, b->tag);
}

static void block_drop(block_t* b, void (*release)(void*))
{
  if (b->p == NULL) return;
  size_t bad = pattern_mismatch(b->p, b->size, b->tag);
  CHECKF(bad == SIZE_MAX, "block %p (%zu bytes) overwritten at offset %zu", b->p, b->size, bad);
  release(b->p);
  b->p = NULL;
}

/* The handler's own blocks, kept between its runs, and the hand-off slots:
 * to_handler is filled by the main loop and emptied by the handler, to_main
 * the other way round. */
static block_t handler_live[LIVE];
static block_t to_handler[HANDOFF];
static block_t to_main[HANDOFF];
static rng_t handler_rng = {42};
static volatile sig_atomic_t handler_runs;

static void on_alarm(int signal)
{
  (void)signal;
  if (main_busy) return;
  handler_runs++;
  for (int i = 0; i < HANDOFF; i++) block_drop(&to_handler[i], free);
  for (int i = 0; i < 4; i++) {
    block_t* b = &handler_live[rng_below(&handler_rng, LIVE)];
    block_drop(b, free);
    block_new(b, &handler_rng, malloc);
  }
  for (int i = 0; i < HANDOFF; i++)
    if (to_main[i].p == NULL) block_new(&to_main[i], &handler_rng, malloc);
}

static block_t live[LIVE];
static rng_t rng = {7};

/* One step of the main loop: replaces a few of its own blocks, then
 * trades blocks with the handler through the hand-off slots. */
static void main_step(void)
{
  for (int i = 0; i < 4; i++) {
    block_t* b = &live[rng_below(&rng, LIVE)];
    block_drop(b, guarded_free);
    block_new(b, &rng, guarded_malloc);
  }
  main_busy = 1;
  atomic_signal_fence(memory_order_seq_cst);
  for (int i = 0; i < HANDOFF; i++) block_drop(&to_main[i], free);
  for (int i = 0; i < HANDOFF; i++)
    if (to_handler[i].p == NULL) block_new(&to_handler[i], &rng, malloc);
  atomic_signal_fence(memory_order_seq_cst);
  main_busy = 0;
}

static void phase_raise(void)
{
  for (int round = 0; round < SYNC_ROUNDS; round++) {
    main_step();
    CHECK(raise(SIGALRM) == 0);
  }
  CHECK(handler_runs == SYNC_ROUNDS);
}

static void phase_timer(void)
{
  int before = handler_runs;
  struct itimerval every_ms = {{0, 1000}, {0, 1000}};
  CHECK(setitimer(ITIMER_REAL, &every_ms, NULL) == 0);
  time_t deadline = time(NULL) + ASYNC_SECONDS;
  while (handler_runs - before < ASYNC_HANDLER_RUNS) {
    CHECKF(time(NULL) < deadline, "the handler ran %d times in %d s", handler_runs - before, ASYNC_SECONDS);
    main_step();
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
  /* A signal still pending must not interrupt the clean-up's frees. */
  sigset_t alarm;
  sigemptyset(&alarm);
  sigaddset(&alarm, SIGALRM);
  CHECK(sigprocmask(SIG_BLOCK, &alarm, NULL) == 0);
}

int main(int argc, char** argv)
{
  (void)argc;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);

  phase_raise();
  phase_timer();

  for (int i = 0; i < LIVE; i++) block_drop(&live[i], free);
  for (int i = 0; i < LIVE; i++) block_drop(&handler_live[i], free);
  for (int i = 0; i < HANDOFF; i++) block_drop(&to_main[i], free);
  for (int i = 0; i < HANDOFF; i++) block_drop(&to_handler[i], free);
  check_heap_works(64);
  check_report(argv[0]);
  return 0;
}
