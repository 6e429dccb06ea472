/* Statistics: hak_stats_json, hak_stats_print and glibc's mallinfo2,
 * mallinfo, malloc_info and malloc_stats report hakmem's real figures, and
 * HAKMEM_SHOW_STATS=1 prints the summary at exit.  Built twice: against the
 * release library (no per-call counters) and against the sources with
 * HAKMEM_STATS=1 (per-call counters), where COUNTING is defined. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "hakmem.h"
#include "stats_json.h"

#define MiB ((size_t)1 << 20)

/* Metadata (segment headers and heaps) per byte of live small blocks: the
 * memory issue's bound is 1 %.  64 MiB in blocks of 16 B .. 1 KiB. */
static void test_metadata_overhead(void)
{
  enum { COUNT = 128 * 1024 };
  static void* blocks[COUNT];
  size_t before = stat_now("metadata_bytes");
  CHECK(before > 0); /* this thread's heap, at least */
  size_t live = 0;
  for (int i = 0; i < COUNT; i++) {
    size_t size = 16 + (size_t)(i % 64) * 16;
    blocks[i] = malloc(size);
    CHECK(blocks[i] != NULL);
    live += size;
  }
  size_t metadata = stat_now("metadata_bytes") - before;
  printf("metadata: %zu bytes for %zu live bytes in %d blocks (%.3f %%)\n", metadata, live, COUNT,
         100.0 * (double)metadata / (double)live);
  CHECK(metadata > 0);
  CHECKF(metadata * 100 <= live, "metadata %zu bytes for %zu live", metadata, live);
  for (int i = 0; i < COUNT; i++) free(blocks[i]);
}

static void test_figures_follow_allocations(void)
{
  size_t pages_before = stat_now("page_bytes");
  size_t huge_before = stat_now("huge_blocks");

  enum { SMALL = 20000 };
  static void* small[SMALL];
  for (int i = 0; i < SMALL; i++) small[i] = malloc(100);
  char* huge = malloc(64 * MiB);
  CHECK(huge != NULL);
  memset(huge, 1, 64 * MiB);

  CHECK(stat_now("page_bytes") >= pages_before + SMALL * 100);
  CHECK(stat_now("huge_blocks") == huge_before + 1);
  CHECK(stat_now("huge_bytes") >= 64 * MiB);
  CHECK(stat_now("reserved") >= 64 * MiB + SMALL * 100);
  CHECK(stat_now("reserved_peak") >= stat_now("reserved"));
  CHECK(stat_now("committed") <= stat_now("reserved"));
  CHECK(stat_now("mmap") > 0);

  struct mallinfo2 mi = mallinfo2();
  CHECK(mi.hblks >= 1 && mi.hblkhd >= 64 * MiB);
  CHECK(mi.uordblks >= mi.hblkhd + SMALL * 100);
  CHECK(mi.arena > 0 && mi.usmblks >= mi.hblkhd);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* still called by old programs */
  struct mallinfo old = mallinfo();
#pragma GCC diagnostic pop
  CHECK(old.hblks == (int)mi.hblks && old.hblkhd > 0);

  free(huge);
  for (int i = 0; i < SMALL; i++) free(small[i]);
  CHECK(stat_now("huge_blocks") == huge_before);
  /* The freed huge segment waits in the cache (a cap of 256 MiB: CMakeLists.txt). */
  CHECK(stat_now("cached_bytes") >= 64 * MiB);
}

static void test_reports(void)
{
  char* text = NULL;
  size_t len = 0;
  FILE* out = open_memstream(&text, &len);
  CHECK(out != NULL);
  CHECK(malloc_info(0, out) == 0);
  fclose(out);
  CHECK(strstr(text, "<malloc version=\"hakmem-") != NULL && strstr(text, "</malloc>") != NULL);
  free(text);

  errno = 0;
  CHECK(malloc_info(1, stdout) == -1 && errno == EINVAL);

  out = open_memstream(&text, &len);
  hak_stats_print(out);
  fclose(out);
  CHECK(strstr(text, "hakmem ") != NULL && strstr(text, "statistics") != NULL);
  CHECK(strstr(text, "syscalls") != NULL);
  free(text);

  /* A short buffer: truncated, terminated, and the full length returned. */
  char small[16];
  size_t need = hak_stats_json(small, sizeof small);
  CHECK(need > sizeof small && strlen(small) == sizeof small - 1);
  char full[2048];
  CHECK(hak_stats_json(full, sizeof full) < sizeof full);
  CHECK(full[0] == '{' && full[strlen(full) - 1] == '}');
}

static void test_call_counters(void)
{
  char json[2048];
  hak_stats_json(json, sizeof json);
#ifdef COUNTING
  size_t mallocs = json_number(json, "malloc");
  for (int i = 0; i < 1000; i++) free(malloc(32));
  hak_stats_json(json, sizeof json);
  CHECKF(json_number(json, "malloc") >= mallocs + 1000, "%s", json);
  CHECKF(json_number(json, "free") >= 1000, "%s", json);
  CHECKF(json_number(json, "pages_made") > 0, "%s", json);
#else
  CHECKF(strstr(json, "\"calls\":null") != NULL, "release build counts calls: %s", json);
#endif
}

/* Runs this program again as "--exit-child" with HAKMEM_SHOW_STATS set to
 * `show` and returns what it wrote on stderr. */
static char* child_stderr(const char* self, const char* show)
{
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    setenv("HAKMEM_SHOW_STATS", show, 1);
    execl(self, self, "--exit-child", (char*)NULL);
    _exit(127);
  }
  close(fds[1]);
  static char buf[8192];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 && (n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)n;
  buf[len] = '\0';
  close(fds[0]);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return buf;
}

static void test_show_stats_at_exit(const char* self)
{
  CHECK(strstr(child_stderr(self, "1"), "statistics") != NULL);
  CHECK(strstr(child_stderr(self, "0"), "statistics") == NULL);
}

int main(int argc, char** argv)
{
  if (argc > 1 && strcmp(argv[1], "--exit-child") == 0) {
    free(malloc(1000));
    return 0;
  }
  test_figures_follow_allocations();
  test_metadata_overhead();
  test_reports();
  test_call_counters();
  test_show_stats_at_exit(argv[0]);
  check_report("test_stats");
  return 0;
}
