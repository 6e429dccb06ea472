/* Frees of memory hakmem never handed out, where its pointer-to-metadata
 * arithmetic is most easily fooled.  hakmem finds a block's segment by
 * masking p - 1 down to a 4 MiB boundary, so a foreign pointer exactly on a
 * boundary is looked up in the slot before it.  argv[1] picks the case:
 *
 *   boundaries          the first three 4 MiB boundaries inside a 16 MiB
 *                       foreign mapping (3 frees)
 *   after_segment TIER  a foreign mapping placed right after a hakmem segment
 *                       of that tier, freed at its start: the lookup lands in
 *                       that live segment, past its last page (1 free)
 *   thread_stack        a local of another thread, on a stack glibc made
 *                       with mmap, like hakmem's segments (1 free)
 *
 * (test_bad_free covers the main stack, a global, and foreign mappings at
 * their start and 64 bytes past a boundary.)  Each free is reported and
 * ignored; the foreign memory is left as it was. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <sys/mman.h>

#include "common.h"

static char* map_foreign(void* where, size_t len)
{
  int fixed = where != NULL ? MAP_FIXED_NOREPLACE : 0;
  char* p = mmap(where, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | fixed, -1, 0);
  if (p == MAP_FAILED) return NULL;
  /* Kernels before 4.17 take the flag as a hint. */
  if (where != NULL && p != where) {
    munmap(p, len);
    return NULL;
  }
  return p;
}

static void case_boundaries(void)
{
  size_t len = 4 * SEGMENT_SIZE;
  char* region = map_foreign(NULL, len);
  CHECK(region != NULL);
  pattern_fill(region, len, 3);
  /* A 16 MiB mapping holds at least three boundaries past its start. */
  uintptr_t boundary = ((uintptr_t)region & ~(uintptr_t)(SEGMENT_SIZE - 1)) + SEGMENT_SIZE;
  for (int i = 0; i < 3; i++, boundary += SEGMENT_SIZE) {
    CHECK(boundary > (uintptr_t)region && boundary < (uintptr_t)region + len);
    free(launder((void*)boundary));
  }
  CHECK(pattern_mismatch(region, len, 3) == SIZE_MAX);
  munmap(region, len);
  check_heap_works(64);
}

/* Sizes whose block sits in a segment of its tier.  The huge block is under
 * 4 MiB, so its mapping ends before the next boundary and the lookup of that
 * boundary finds it. */
static size_t segment_tier_size(const char* tier)
{
  return strcmp(tier, "huge") == 0 ? 3 * MiB : tier_size(tier);
}

enum { PLACEMENT_ATTEMPTS = 16, FOREIGN_LEN = 64 * 1024 };

/* Makes hakmem place a segment holding a block of the given size right
 * below a huge block's 4 MiB-aligned mapping, gives that mapping back and
 * maps foreign memory at its start.  New mappings go just below the lowest
 * one (the kernel's top-down layout), so a segment made right after the huge
 * block lies just below it.  Returns the block, or NULL if no attempt
 * worked; *foreign is the mapping, FOREIGN_LEN bytes at the segment's end. */
static char* block_below_foreign(size_t size, char** foreign)
{
  for (int attempt = 0; attempt < PLACEMENT_ATTEMPTS; attempt++) {
    /* A huge block, its mapping about one 4 MiB slot. */
    char* above = malloc(SEGMENT_SIZE - 4 * KiB);
    CHECK(above != NULL);
    char* slot = segment_of(above);
    /* Blocks of the tier until one lands in a new segment: most of them
     * stay allocated (a small segment takes thousands), and are leaked. */
    char* block = NULL;
    char* previous = NULL;
    for (size_t used = 0; used < 2 * SEGMENT_SIZE; used += size) {
      char* b = malloc(size);
      CHECK(b != NULL);
      if (segment_of(b) + SEGMENT_SIZE == slot) {
        block = b;
        break;
      }
      if (previous != NULL && segment_of(b) != previous) break; /* new, elsewhere */
      previous = segment_of(b);
    }
    free(above);
    malloc_trim(0); /* unmaps freed mappings now */
    if (block == NULL) continue;
    *foreign = map_foreign(slot, FOREIGN_LEN);
    if (*foreign != NULL) return block;
  }
  return NULL;
}

static void case_after_segment(const char* tier)
{
  size_t size = segment_tier_size(tier);
  char* foreign;
  char* block = block_below_foreign(size, &foreign);
  CHECKF(block != NULL, "no %s segment right below a foreign mapping in %d attempts", tier, PLACEMENT_ATTEMPTS);
  pattern_fill(block, size, 4);
  pattern_fill(foreign, FOREIGN_LEN, 5);
  free(launder(foreign));
  CHECK(pattern_mismatch(foreign, FOREIGN_LEN, 5) == SIZE_MAX);
  CHECK(pattern_mismatch(block, size, 4) == SIZE_MAX);
  munmap(foreign, FOREIGN_LEN);
  free(block);
  check_heap_works(size);
}

static void* free_own_local(void* arg)
{
  (void)arg;
  char local[64];
  memset(local, 6, sizeof local);
  free(launder(local));
  for (size_t i = 0; i < sizeof local; i++) CHECK(local[i] == 6);
  check_heap_works(64);
  return NULL;
}

static void case_thread_stack(void)
{
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, free_own_local, NULL) == 0);
  CHECK(pthread_join(thread, NULL) == 0);
  check_heap_works(64);
}

int main(int argc, char** argv)
{
  if (argc == 2 && strcmp(argv[1], "boundaries") == 0)
    case_boundaries();
  else if (argc == 3 && strcmp(argv[1], "after_segment") == 0)
    case_after_segment(argv[2]);
  else if (argc == 2 && strcmp(argv[1], "thread_stack") == 0)
    case_thread_stack();
  else {
    fprintf(stderr, "usage: %s boundaries | after_segment TIER | thread_stack\n", argv[0]);
    return 2;
  }
  check_report(argv[0]);
  return 0;
}
