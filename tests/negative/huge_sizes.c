/* Impossible sizes: every allocation call returns NULL (posix_memalign
 * returns ENOMEM) with errno ENOMEM, prints nothing, and a block passed to a
 * failing realloc stays valid, contents and all.  Sizes pass through
 * launder_size so that the compiler neither warns nor folds the calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>

#include "common.h"

/* Within hakmem's limit, but the whole 128 TiB of address space the kernel
 * gives a process by default: mmap refuses it, whatever the overcommit
 * policy. */
#define UNMAPPABLE ((size_t)1 << 47)

#define EXPECT_ENOMEM(call)                                                  \
  do {                                                                       \
    errno = 0;                                                               \
    void* got_ = (call);                                                     \
    CHECKF(got_ == NULL && errno == ENOMEM, "%s: got %p, errno %d", #call,   \
           got_, errno);                                                     \
  } while (0)

static void plain_sizes(void)
{
  const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 4096, PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1, UNMAPPABLE};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = launder_size(sizes[i]);
    EXPECT_ENOMEM(malloc(n));
    EXPECT_ENOMEM(calloc(1, n));
    EXPECT_ENOMEM(realloc(NULL, n));
    EXPECT_ENOMEM(aligned_alloc(64, n));
    EXPECT_ENOMEM(memalign(8192, n));
    EXPECT_ENOMEM(valloc(n));
    EXPECT_ENOMEM(pvalloc(n));
    void* out = &out;
    errno = 0;
    CHECKF(posix_memalign(&out, 64, n) == ENOMEM && out == &out && errno == 0, "size %zu", n);
  }
}

/* count * size overflows size_t. */
static void overflowing_products(void)
{
  size_t half = launder_size(SIZE_MAX / 2);
  EXPECT_ENOMEM(calloc(half, 3));
  EXPECT_ENOMEM(calloc(3, half));
  EXPECT_ENOMEM(reallocarray(NULL, half, 3));
}

/* A failing realloc or reallocarray leaves the block where it was. */
static void failing_realloc(size_t size)
{
  char* p = malloc(size);
  CHECK(p != NULL);
  pattern_fill(p, size, 8);
  const size_t sizes[] = {SIZE_MAX, PTRDIFF_MAX, UNMAPPABLE};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    EXPECT_ENOMEM(realloc(p, launder_size(sizes[i])));
    CHECK(pattern_mismatch(p, size, 8) == SIZE_MAX);
  }
  EXPECT_ENOMEM(reallocarray(p, launder_size(SIZE_MAX / 2), 3));
  CHECK(pattern_mismatch(p, size, 8) == SIZE_MAX);
  /* Still a live block: it grows, keeps its contents and frees silently. */
  char* q = realloc(p, size + 100);
  CHECK(q != NULL);
  CHECK(pattern_mismatch(q, size, 8) == SIZE_MAX);
  free(q);
}

int main(int argc, char** argv)
{
  (void)argc;
  plain_sizes();
  overflowing_products();
  const char* tiers[] = {"small", "medium", "large", "huge"};
  for (size_t i = 0; i < sizeof tiers / sizeof tiers[0]; i++) failing_realloc(tier_size(tiers[i]));
  check_heap_works(64);
  check_report(argv[0]);
  return 0;
}
