/* A program whose threads all end with pthread_exit, main's included, ends
 * when the last of them does, running exit(0) as glibc does then.  hakmem's
 * purger is a thread too, and one that blocks every signal: were it still
 * there, the process would neither end nor die of SIGTERM (CPython's
 * test_threading hung that way).  So the purger must end with the last
 * thread that holds a heap, and start again when a thread allocates after.
 *
 * The program runs in a forked child; the parent waits for it, bounded,
 * and checks its exit status and that its atexit handler ran.
 *
 * usage: test_last_thread          main, then one thread that checks that
 *                                  the purger went and comes back
 *        test_last_thread chain N  main, then N threads one after another,
 *                                  each starting the next and allocating
 *                                  while the one before may be ending: the
 *                                  purger stops and starts over and over */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define HUGE_BLOCK ((size_t)64 << 20)
#define PURGER_WAIT_MS 5000
#define CHILD_WAIT_MS 20000

static pthread_t main_thread;
static int exit_pipe = -1;
static _Atomic(long) links_left;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static bool purger_present(void) {
  DIR* tasks = opendir("/proc/self/task");
  CHECK(tasks != NULL);
  bool found = false;
  struct dirent* entry;
  while (!found && (entry = readdir(tasks)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    char path[300], comm[32] = "";
    snprintf(path, sizeof(path), "/proc/self/task/%s/comm", entry->d_name);
    FILE* f = fopen(path, "r");
    if (f == NULL) continue; /* the thread just ended */
    if (fgets(comm, sizeof(comm), f) != NULL) found = strcmp(comm, "hakmem-purge\n") == 0;
    fclose(f);
  }
  closedir(tasks);
  return found;
}

/* Waits until the purger thread is there (or gone); false if it never is. */
static bool purger_becomes(bool present) {
  for (int waited = 0; waited < PURGER_WAIT_MS; waited += 10) {
    if (purger_present() == present) return true;
    sleep_ms(10);
  }
  return false;
}

/* A freed huge block waits in the cache for its purge delay: work for the
 * purger, which the next allocation or free starts. */
static void give_purger_work(void) {
  char* block = malloc(HUGE_BLOCK);
  CHECK(block != NULL);
  memset(block, 1, 4096);
  free(block);
  free(malloc(64));
}

static void atexit_ran(void) {
  CHECKF(links_left == 0, "%ld threads of the chain never ran", (long)links_left);
  CHECK(write(exit_pipe, "x", 1) == 1);
}

static void* last_thread(void* arg) {
  (void)arg;
  /* main has gone with pthread_exit, and with it the last heap: the
   * purger must have ended (this thread holds none yet). */
  CHECK(pthread_join(main_thread, NULL) == 0);
  CHECKF(purger_becomes(false), "%s", "the purger outlived every thread that allocates");
  give_purger_work();
  CHECKF(purger_becomes(true), "%s", "the purger did not start again");
  return NULL; /* the last thread: glibc calls exit(0) */
}

static void* chain_link(void* arg) {
  (void)arg;
  give_purger_work();
  if (atomic_fetch_sub(&links_left, 1) > 1) {
    pthread_t next;
    CHECK(pthread_create(&next, NULL, chain_link, NULL) == 0);
    CHECK(pthread_detach(next) == 0);
  }
  return NULL;
}

static void child(long chain) {
  give_purger_work();
  CHECKF(purger_becomes(true), "%s", "the purger never started");
  CHECK(atexit(atexit_ran) == 0);
  main_thread = pthread_self();
  links_left = chain;
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, chain > 0 ? chain_link : last_thread, NULL) == 0);
  if (chain > 0) CHECK(pthread_detach(thread) == 0);
  pthread_exit(NULL);
}

int main(int argc, char** argv) {
  long chain = argc > 2 && strcmp(argv[1], "chain") == 0 ? atol(argv[2]) : 0;
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    exit_pipe = fds[1];
    child(chain);
  }
  close(fds[1]);
  int status = 0;
  int waited = 0;
  pid_t done;
  while ((done = waitpid(pid, &status, WNOHANG)) == 0 && waited < CHILD_WAIT_MS) {
    sleep_ms(10);
    waited += 10;
  }
  if (done == 0) kill(pid, SIGKILL);
  CHECKF(done == pid, "the program was still running %d ms after its last thread began", waited);
  CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  char mark = 0;
  CHECKF(read(fds[0], &mark, 1) == 1 && mark == 'x', "%s", "exit(0) did not run atexit handlers");
  check_report("last_thread");
  return 0;
}
