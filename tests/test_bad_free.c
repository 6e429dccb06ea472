/* Misuse detection: freeing memory hakmem does not own, an interior pointer or
 * a block that was just freed prints exactly one "hakmem: error:" line and is
 * otherwise ignored; with HAKMEM_ABORT_ON_ERROR=1 the process aborts instead.
 *
 * Each case runs in a fresh copy of this program, re-executed as
 * "test_bad_free --case NAME", so hakmem reads its environment at start-up
 * and a crash stays contained.  The parent captures the child's stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "hakmem.h"
#include "pattern.h"
#include "rng.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define ERROR_PREFIX "hakmem: error:"

static char global_buffer[256];

/* Hides where a pointer comes from, so the compiler neither warns about nor
 * optimises the deliberate misuse. */
static void* launder(void* p)
{
  void* volatile v = p;
  return v;
}

/* After the misuse the heap must still work: many live blocks of the size
 * involved and of other sizes, each checked after all are written, so blocks
 * handed out twice or overlapping are caught. */
static void check_heap_still_works(size_t size)
{
  enum { COUNT = 600 };
  void* blocks[COUNT];
  size_t sizes[COUNT];
  rng_t rng = {size};
  size_t budget = 64 * MiB;
  for (int i = 0; i < COUNT; i++) {
    sizes[i] = i % 2 == 0 ? size : rng_log_range(&rng, 1, 64 * KiB);
    if (sizes[i] > budget) sizes[i] = 16;
    budget -= sizes[i];
    blocks[i] = malloc(sizes[i]);
    CHECKF(blocks[i] != NULL, "size=%zu", sizes[i]);
    pattern_fill(blocks[i], sizes[i], (uint64_t)i * 0x10001);
  }
  for (int i = 0; i < COUNT; i++) {
    size_t bad = pattern_mismatch(blocks[i], sizes[i], (uint64_t)i * 0x10001);
    CHECKF(bad == SIZE_MAX, "block %d (%p, %zu bytes) overwritten at offset %zu", i, blocks[i], sizes[i], bad);
  }
  for (int i = 0; i < COUNT; i++) free(blocks[i]);
}

static void case_valid_free(void)
{
  free(malloc(64));
  check_heap_still_works(64);
}

static void case_null_free(void)
{
  free(NULL);
  check_heap_still_works(64);
}

static void case_stack(void)
{
  char buffer[64];
  memset(buffer, 1, sizeof buffer);
  free(launder(buffer));
  check_heap_still_works(64);
}

static void case_stack_hak_free(void)
{
  char buffer[64];
  memset(buffer, 1, sizeof buffer);
  hak_free(launder(buffer));
  check_heap_still_works(64);
}

static void case_global(void)
{
  free(launder(global_buffer));
  check_heap_still_works(64);
}

static void case_mmap(void)
{
  size_t len = 64 * KiB;
  char* region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(region != MAP_FAILED);
  pattern_fill(region, len, 5);
  free(region);
  CHECK(pattern_mismatch(region, len, 5) == SIZE_MAX);
  munmap(region, len);
  check_heap_still_works(64);
}

/* A foreign address on a 4 MiB boundary, where an allocator that finds its
 * metadata by masking the pointer would look for a header. */
static void case_mmap_aligned(void)
{
  size_t len = 12 * MiB;
  char* region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(region != MAP_FAILED);
  memset(region, 0x5A, len);
  char* aligned = (char*)(((uintptr_t)region + 4 * MiB - 1) & ~(uintptr_t)(4 * MiB - 1));
  free(aligned + 64);
  munmap(region, len);
  check_heap_still_works(64);
}

/* Frees p + 16 of a live block: ignored, and the block stays valid. */
static void interior(size_t size)
{
  char* p = malloc(size);
  CHECK(p != NULL);
  pattern_fill(p, size, 77);
  free(p + 16);
  CHECK(pattern_mismatch(p, size, 77) == SIZE_MAX);
  check_heap_still_works(size);
  CHECK(pattern_mismatch(p, size, 77) == SIZE_MAX);
  free(p);
}

static void case_interior_small(void) { interior(64); }
static void case_interior_medium(void) { interior(64 * KiB); }
static void case_interior_large(void) { interior(1 * MiB); }
static void case_interior_huge(void) { interior(4 * MiB); }

static void double_free(size_t size)
{
  char* p = malloc(size);
  CHECK(p != NULL);
  memset(p, 1, size);
  free(p);
  free(launder(p));
  check_heap_still_works(size);
}

static void case_double_small(void) { double_free(64); }
static void case_double_medium(void) { double_free(64 * KiB); }
static void case_double_large(void) { double_free(1 * MiB); }
static void case_double_huge(void) { double_free(4 * MiB); }

typedef struct {
  const char* name;
  void (*run)(void);
  int misuse; /* 0 for the control cases, which must stay silent */
} bad_case_t;

static const bad_case_t cases[] = {
    {"valid_free", case_valid_free, 0},
    {"null_free", case_null_free, 0},
    {"stack", case_stack, 1},
    {"stack_hak_free", case_stack_hak_free, 1},
    {"global", case_global, 1},
    {"mmap", case_mmap, 1},
    {"mmap_aligned", case_mmap_aligned, 1},
    {"interior_small", case_interior_small, 1},
    {"interior_medium", case_interior_medium, 1},
    {"interior_large", case_interior_large, 1},
    {"interior_huge", case_interior_huge, 1},
    {"double_small", case_double_small, 1},
    {"double_medium", case_double_medium, 1},
    {"double_large", case_double_large, 1},
    {"double_huge", case_double_huge, 1},
};

#define CASE_COUNT (sizeof(cases) / sizeof(cases[0]))

static int run_case(const char* name)
{
  for (size_t i = 0; i < CASE_COUNT; i++) {
    if (strcmp(cases[i].name, name) == 0) {
      cases[i].run();
      return 0;
    }
  }
  fprintf(stderr, "unknown case %s\n", name);
  return 2;
}

typedef struct {
  int status;       /* from waitpid */
  char err[16384];  /* the child's stderr, truncated */
} outcome_t;

/* Runs one case in a re-executed child and collects its stderr and status. */
static void spawn_case(const char* name, int abort_on_error, outcome_t* out)
{
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    alarm(30); /* survives exec: a hang becomes a SIGALRM failure */
    unsetenv("HAKMEM_VERBOSE");
    if (abort_on_error)
      setenv("HAKMEM_ABORT_ON_ERROR", "1", 1);
    else
      unsetenv("HAKMEM_ABORT_ON_ERROR");
    execl("/proc/self/exe", "test_bad_free", "--case", name, (char*)NULL);
    _exit(127);
  }
  close(fds[1]);
  size_t len = 0;
  for (;;) {
    ssize_t got = read(fds[0], out->err + len, sizeof out->err - 1 - len);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    len += (size_t)got;
    if (len == sizeof out->err - 1) break;
  }
  out->err[len] = '\0';
  close(fds[0]);
  CHECK(waitpid(pid, &out->status, 0) == pid);
}

static int count_lines(const char* text)
{
  int lines = 0;
  for (const char* c = text; *c != '\0'; c++) lines += *c == '\n';
  return lines;
}

static void describe_status(int status, char* buf, size_t size)
{
  if (WIFEXITED(status))
    snprintf(buf, size, "exit %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(buf, size, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else
    snprintf(buf, size, "status %#x", status);
}

static void check_case(const bad_case_t* c, int abort_on_error)
{
  static outcome_t out;
  spawn_case(c->name, abort_on_error, &out);
  char status[64];
  describe_status(out.status, status, sizeof status);
  const char* mode = abort_on_error ? "HAKMEM_ABORT_ON_ERROR=1" : "default";

  if (!c->misuse) {
    CHECKF(WIFEXITED(out.status) && WEXITSTATUS(out.status) == 0, "%s [%s]: %s, stderr: %s", c->name, mode, status, out.err);
    CHECKF(out.err[0] == '\0', "%s [%s]: unexpected stderr: %s", c->name, mode, out.err);
    return;
  }
  CHECKF(count_lines(out.err) == 1 && strncmp(out.err, ERROR_PREFIX, strlen(ERROR_PREFIX)) == 0,
         "%s [%s]: want one \"" ERROR_PREFIX "\" line on stderr, got (%s): %s", c->name, mode, status, out.err);
  if (abort_on_error)
    CHECKF(WIFSIGNALED(out.status) && WTERMSIG(out.status) == SIGABRT, "%s [%s]: want SIGABRT, got %s", c->name, mode, status);
  else
    CHECKF(WIFEXITED(out.status) && WEXITSTATUS(out.status) == 0, "%s [%s]: want exit 0, got %s", c->name, mode, status);
}

int main(int argc, char** argv)
{
  if (argc == 3 && strcmp(argv[1], "--case") == 0) return run_case(argv[2]);
  for (size_t i = 0; i < CASE_COUNT; i++) {
    check_case(&cases[i], 0);
    check_case(&cases[i], 1);
  }
  check_report("test_bad_free");
  return 0;
}
