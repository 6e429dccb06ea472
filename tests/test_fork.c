/* fork() from a multi-threaded parent.  Four threads keep allocating and
 * freeing, also across threads, while the main thread forks again and again.
 * Each child must find a working allocator, whatever lock a parent thread
 * held at the moment of the fork: it frees blocks inherited from the parent's
 * threads, allocates and resizes in every tier, runs a thread of its own and
 * exits 0.  A child that deadlocks is killed by its alarm and reported.
 *
 * usage: test_fork [forks] */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "hak_api.h"
#include "pattern.h"
#include "rng.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define CHURN_THREADS 4
#define LOCAL_SLOTS 32
#define SHARED_SLOTS 32
#define CHILD_TIMEOUT_SECONDS 20

/* Blocks here describe themselves, so whoever frees them can check them. */
typedef struct {
  size_t size;
  uint64_t tag;
} header_t;

static void* make_block(size_t size, uint64_t tag)
{
  if (size < sizeof(header_t)) size = sizeof(header_t);
  header_t* h = xmalloc(size);
  CHECKF(h != NULL, "size=%zu", size);
  h->size = size;
  h->tag = tag;
  pattern_fill(h + 1, size - sizeof *h, tag);
  return h;
}

static void free_block(void* p)
{
  header_t* h = p;
  CHECKF(hak_owns(h), "%p", p);
  size_t bad = pattern_mismatch(h + 1, h->size - sizeof *h, h->tag);
  CHECKF(bad == SIZE_MAX, "block %p of %zu bytes corrupt at offset %zu", p, h->size, bad + sizeof *h);
  xfree(h);
}

static _Atomic(void*) shared_slots[SHARED_SLOTS];
static atomic_int stop_churn;
static atomic_ulong churn_allocations[CHURN_THREADS];

/* Scheduling.  With more threads than cores, the churn threads would take
 * most of the children's CPU time, and each page they wrote while a child
 * lives would cost the parent a copy-on-write fault.  So they run only while
 * the main thread forks: it lets them go, waits until each has allocated
 * again, forks a batch of children while they keep at it, and stops them
 * until the batch has exited.  Every fork finds all of them at work, running
 * or preempted anywhere, in an allocator call too.  Batches keep the
 * hand-offs between threads few, which matters on a busy machine. */
#define FORKS_PER_BATCH 8
static pthread_mutex_t churn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t churn_resumed = PTHREAD_COND_INITIALIZER;
static atomic_bool churn_paused;

static void churn_set_paused(bool paused)
{
  CHECK(pthread_mutex_lock(&churn_lock) == 0);
  atomic_store(&churn_paused, paused);
  CHECK(pthread_mutex_unlock(&churn_lock) == 0);
  if (!paused) CHECK(pthread_cond_broadcast(&churn_resumed) == 0);
}

static void churn_wait_while_paused(void)
{
  if (!atomic_load_explicit(&churn_paused, memory_order_relaxed)) return;
  CHECK(pthread_mutex_lock(&churn_lock) == 0);
  while (atomic_load(&churn_paused)) CHECK(pthread_cond_wait(&churn_resumed, &churn_lock) == 0);
  CHECK(pthread_mutex_unlock(&churn_lock) == 0);
}

/* Returns once every churn thread has allocated since seen[] was taken. */
static void await_churn(unsigned long seen[CHURN_THREADS])
{
  for (int t = 0; t < CHURN_THREADS; t++) {
    unsigned long now;
    while ((now = atomic_load_explicit(&churn_allocations[t], memory_order_relaxed)) == seen[t])
      nanosleep(&(struct timespec){.tv_nsec = 50 * 1000}, NULL);
    seen[t] = now;
  }
}

/* Mostly small and medium blocks, now and then a huge one.  Kept small:
 * every page the parent writes after a fork costs a copy-on-write fault. */
static size_t churn_size(rng_t* rng)
{
  uint64_t r = rng_below(rng, 1000);
  if (r == 0) return rng_range(rng, 2 * MiB + 1, 3 * MiB);
  if (r < 10) return rng_log_range(rng, 64 * KiB, 1 * MiB);
  if (r < 100) return rng_log_range(rng, 1 * KiB, 64 * KiB);
  return rng_log_range(rng, sizeof(header_t), 1 * KiB);
}

static void* churn_main(void* arg)
{
  int index = (int)(uintptr_t)arg;
  rng_t rng = {(uint64_t)index + 1};
  void* local[LOCAL_SLOTS] = {0};
  while (!atomic_load_explicit(&stop_churn, memory_order_relaxed)) {
    churn_wait_while_paused();
    void* block = make_block(churn_size(&rng), rng_next(&rng));
    atomic_fetch_add_explicit(&churn_allocations[index], 1, memory_order_relaxed);
    void* old;
    if (rng_below(&rng, 10) < 3) {
      old = atomic_exchange(&shared_slots[rng_below(&rng, SHARED_SLOTS)], block);
    } else {
      size_t i = rng_below(&rng, LOCAL_SLOTS);
      old = local[i];
      local[i] = block;
    }
    if (old != NULL) free_block(old);
  }
  for (int i = 0; i < LOCAL_SLOTS; i++)
    if (local[i] != NULL) free_block(local[i]);
  return NULL;
}

/* One block walked through every tier by realloc, content checked each step. */
static void child_realloc_ladder(uint64_t tag)
{
  static const size_t sizes[] = {8, 100, 1000, 5000, 20 * KiB, 100 * KiB, 500 * KiB,
                                 2 * MiB + 4 * KiB, 64};
  size_t size = sizes[0];
  char* p = xmalloc(size);
  CHECK(p != NULL);
  pattern_fill(p, size, tag);
  for (size_t i = 1; i < sizeof sizes / sizeof sizes[0]; i++) {
    p = xrealloc(p, sizes[i]);
    CHECK(p != NULL);
    size_t kept = size < sizes[i] ? size : sizes[i];
    CHECKF(pattern_mismatch(p, kept, tag) == SIZE_MAX, "%zu -> %zu", size, sizes[i]);
    size = sizes[i];
    pattern_fill(p, size, ++tag);
  }
  xfree(p);
}

/* Many live blocks in the tiers of a thread's heap, all checked once all are
 * written: mostly small (up to 8 KiB), every twentieth medium (up to
 * 64 KiB), and one large (up to 512 KiB of the tier's 2 MiB).  Big blocks
 * are few: each page a child writes costs it a page fault, and those faults
 * are most of its run time.  (Huge blocks belong to no heap; the realloc
 * ladder makes the child's one.) */
static void child_allocate_tiers(uint64_t seed)
{
  enum { COUNT = 200 };
  void* blocks[COUNT];
  rng_t rng = {seed};
  for (int i = 0; i < COUNT; i++) {
    size_t size;
    if (i == 0) size = rng_log_range(&rng, 64 * KiB + 1, 512 * KiB);
    else if (i % 20 == 0) size = rng_log_range(&rng, 8 * KiB + 1, 64 * KiB);
    else size = rng_log_range(&rng, 1, 8 * KiB);
    blocks[i] = make_block(size, rng_next(&rng));
  }
  for (int i = 0; i < COUNT; i++) free_block(blocks[i]);
}

/* A new thread, so a new heap, in the child. */
static void* child_thread_main(void* arg)
{
  child_allocate_tiers((uintptr_t)arg);
  return make_block(1000, 99);
}

static void child_main(int iteration)
{
  /* Blocks the parent's threads published are complete: take and free them. */
  for (int i = 0; i < SHARED_SLOTS; i++) {
    void* block = atomic_exchange(&shared_slots[i], NULL);
    if (block != NULL) free_block(block);
  }
  child_allocate_tiers((uint64_t)iteration);
  child_realloc_ladder((uint64_t)iteration << 8);

  /* ThreadSanitizer cannot start a thread in the child of a multi-threaded
   * process (nor does it watch anything such a child does). */
  if (HAKMEM_TEST_TSAN) return;
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, child_thread_main, (void*)(uintptr_t)(iteration + 1000)) == 0);
  void* left = NULL;
  CHECK(pthread_join(thread, &left) == 0);
  free_block(left);
}

/* Forks a child that runs child_main and exits; returns its pid. */
static pid_t fork_child(int iteration, rng_t* rng)
{
  /* The main thread's own heap is busy across forks too. */
  void* mine = make_block(rng_log_range(rng, 16, 64 * KiB), rng_next(rng));
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    alarm(CHILD_TIMEOUT_SECONDS);
    free_block(mine);
    child_main(iteration);
    _exit(0);
  }
  free_block(mine);
  return pid;
}

static void wait_child(pid_t pid, int iteration)
{
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    CHECKF(0, "child %d deadlocked (killed after %d s)", iteration, CHILD_TIMEOUT_SECONDS);
  CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %#x", iteration, status);
}

int main(int argc, char** argv)
{
  int forks = argc > 1 ? atoi(argv[1]) : 1000;
  alarm(240); /* the parent itself must not hang either */

  pthread_t threads[CHURN_THREADS];
  for (int t = 0; t < CHURN_THREADS; t++)
    CHECK(pthread_create(&threads[t], NULL, churn_main, (void*)(uintptr_t)t) == 0);

  rng_t rng = {42};
  unsigned long seen[CHURN_THREADS] = {0};
  for (int first = 0; first < forks; first += FORKS_PER_BATCH) {
    int batch = forks - first < FORKS_PER_BATCH ? forks - first : FORKS_PER_BATCH;
    pid_t children[FORKS_PER_BATCH];
    churn_set_paused(false);
    await_churn(seen);
    for (int i = 0; i < batch; i++) children[i] = fork_child(first + i, &rng);
    churn_set_paused(true);
    for (int i = 0; i < batch; i++) wait_child(children[i], first + i);
  }

  atomic_store(&stop_churn, 1);
  churn_set_paused(false);
  unsigned long churned = 0;
  for (int t = 0; t < CHURN_THREADS; t++) {
    CHECK(pthread_join(threads[t], NULL) == 0);
    churned += atomic_load(&churn_allocations[t]);
  }
  for (int i = 0; i < SHARED_SLOTS; i++) {
    void* block = atomic_exchange(&shared_slots[i], NULL);
    if (block != NULL) free_block(block);
  }
  printf("test_fork: %d forks, %d churn threads made %lu allocations\n", forks, CHURN_THREADS, churned);
  check_report("test_fork");
  return 0;
}
