/* Memory limits.  Argument "as": RLIMIT_AS is set to what this process maps
 * now plus 256 MiB (expect.sh runs it as a process of its own, so the limit
 * binds nothing else).  Argument "data": RLIMIT_DATA is set to 60 MiB and
 * the program runs itself again under it, so that the limit holds while
 * hakmem is loaded: hakmem must start there, taking little of it (its
 * segment map once took 64 MiB of BSS, and no program started under
 * `ulimit -d 65536`).  Then, twice:
 *   - blocks of each tier are allocated until malloc fails, which must be
 *     NULL with errno ENOMEM, never a crash; at that point calloc and a
 *     growing realloc fail the same way, the realloc'd block intact;
 *   - every block is checked and freed.
 * The first round goes from small to huge blocks, the second from huge to
 * small: memory freed as small segments must be usable again for huge
 * blocks, and the mappings hakmem caches must not keep a block out, so the
 * second round must get at least 15/16 of what the first did (it got 0.80
 * of it under RLIMIT_DATA, 0.88 under RLIMIT_AS, while a failed mapping
 * left the cache as it was). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"

#define AS_HEADROOM (256 * MiB)
#define DATA_LIMIT (60 * MiB)
/* What hakmem may take of RLIMIT_DATA before the first round, with its
 * first segments (4 MiB each, 8 MiB for a moment while aligning one). */
#define DATA_START_MAX (16 * MiB)
#define MAX_BLOCKS 65536

/* Bigger than tier_size() for small and medium, so a round takes thousands
 * of blocks rather than a million. */
static const size_t sizes[] = {16 * KiB, 100 * KiB, 1 * MiB, 8 * MiB};
#define TIERS (sizeof sizes / sizeof sizes[0])

/* Kept outside the heap, mapped before the limit is set. */
typedef struct {
  char* p;
  size_t size;
} entry_t;
static entry_t* blocks;
static size_t block_count;

/* A size from /proc/self/status: "VmSize" (address space) or "VmData". */
static size_t status_bytes(const char* field)
{
  FILE* f = fopen("/proc/self/status", "r");
  CHECK(f != NULL);
  char line[256];
  size_t kib = 0, n = strlen(field);
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, field, n) == 0 && sscanf(line + n, ": %zu kB", &kib) == 1) break;
  fclose(f);
  CHECK(kib > 0);
  return kib * KiB;
}

/* The first and last byte of each block carry its index. */
static void mark(entry_t* e, size_t index)
{
  e->p[0] = (char)index;
  e->p[e->size - 1] = (char)(index >> 8);
}

static int marked(const entry_t* e, size_t index)
{
  return e->p[0] == (char)index && e->p[e->size - 1] == (char)(index >> 8);
}

/* Allocates blocks of one size until malloc fails; returns the bytes got. */
static size_t fill(size_t size)
{
  size_t got = 0;
  for (;;) {
    CHECK(block_count < MAX_BLOCKS);
    errno = 0;
    char* p = malloc(size);
    if (p == NULL) {
      CHECKF(errno == ENOMEM, "malloc(%zu) failed with errno %d", size, errno);
      return got;
    }
    blocks[block_count] = (entry_t){p, size};
    mark(&blocks[block_count], block_count);
    block_count++;
    got += size;
  }
}

/* With the address space full, other calls must fail cleanly too. */
static void check_full(void)
{
  errno = 0;
  CHECK(calloc(1, 64 * MiB) == NULL && errno == ENOMEM);
  entry_t* e = &blocks[0];
  errno = 0;
  CHECK(realloc(e->p, 64 * MiB) == NULL && errno == ENOMEM);
  CHECK(marked(e, 0));
}

static void free_all(void)
{
  for (size_t i = 0; i < block_count; i++) {
    CHECKF(marked(&blocks[i], i), "block %zu (%zu bytes) overwritten", i, blocks[i].size);
    free(blocks[i].p);
  }
  block_count = 0;
}

/* One round, tiers in the given direction; returns the bytes allocated. */
static size_t round_trip(int small_first)
{
  size_t total = 0;
  for (size_t t = 0; t < TIERS; t++) total += fill(sizes[small_first ? t : TIERS - 1 - t]);
  check_full();
  free_all();
  return total;
}

int main(int argc, char** argv)
{
  CHECK(argc >= 2 && (strcmp(argv[1], "as") == 0 || strcmp(argv[1], "data") == 0));
  int data = strcmp(argv[1], "data") == 0;
  if (data && argc == 2) {
    struct rlimit rl = {DATA_LIMIT, DATA_LIMIT};
    CHECK(setrlimit(RLIMIT_DATA, &rl) == 0);
    char* again[] = {argv[0], argv[1], "limited", NULL};
    execv("/proc/self/exe", again);
    CHECKF(0, "execv: errno %d", errno);
  }
  blocks = mmap(NULL, MAX_BLOCKS * sizeof(entry_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(blocks != MAP_FAILED);
  const char* field = data ? "VmData" : "VmSize";
  /* stdout's buffer, and hakmem's first segment, allocated now. */
  printf("%s %s: %zu MiB %s at start\n", argv[0], argv[1], status_bytes(field) / MiB, field);
  fflush(stdout);
  size_t used = status_bytes(field), limit = data ? DATA_LIMIT : used + AS_HEADROOM;
  if (data) {
    CHECKF(used <= DATA_START_MAX, "%zu MiB of data before the first round", used / MiB);
  } else {
    struct rlimit rl = {limit, limit};
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
  }
  size_t headroom = limit - used;

  size_t first = round_trip(1);
  size_t second = round_trip(0);
  printf("%s %s: %zu MiB, then %zu MiB allocated\n", argv[0], argv[1], first / MiB, second / MiB);
  CHECKF(first >= headroom / 2, "only %zu MiB of %zu", first / MiB, headroom / MiB);
  CHECKF(second >= first / 16 * 15, "after freeing everything, %zu MiB where %zu MiB fitted before",
         second / MiB, first / MiB);
  check_heap_works(64);
  check_report(argv[0]);
  return 0;
}
