/* API conformance: every allocation entry point, under its standard name and
 * its hak_* name, against the behaviour contract (alignment, usable size,
 * error codes, errno, zeroing, content preservation across tiers). */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "hakmem.h"
#include "pattern.h"

/* Current glibc headers no longer declare these, or do not yet (C23's
 * sized frees); hakmem defines them all. */
void cfree(void* p);
void free_sized(void* p, size_t size);
void free_aligned_sized(void* p, size_t alignment, size_t size);
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* p, size_t size);
void __libc_free(void* p);
void* __libc_memalign(size_t alignment, size_t size);
void* __libc_valloc(size_t size);
void* __libc_pvalloc(size_t size);

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* One family of entry points; the suite runs once per family. */
typedef struct {
  const char* name;
  void* (*malloc)(size_t);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void* (*reallocarray)(void*, size_t, size_t);
  void (*free)(void*);
  void* (*aligned_alloc)(size_t, size_t);
  int (*posix_memalign)(void**, size_t, size_t);
  size_t (*usable_size)(const void*);
} api_t;

static size_t std_usable_size(const void* p)
{
  return malloc_usable_size((void*)p);
}

static const api_t std_api = {"std", malloc, calloc, realloc, reallocarray, free,
                              aligned_alloc, posix_memalign, std_usable_size};
static const api_t hak_api = {"hak", hak_malloc, hak_calloc, hak_realloc, hak_reallocarray,
                              hak_free, hak_aligned_alloc, hak_posix_memalign, hak_usable_size};

/* Sizes around every tier boundary, geometric-ish up to 4 MiB. */
static const size_t sweep_sizes[] = {
    0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128, 129,
    255, 256, 257, 500, 512, 768, 1000, 1023, 1024, 1025, 1500, 2048, 3000, 4095,
    4096, 4097, 8191, 8192, 8193, 10000, 16383, 16384, 16385, 32768, 50000, 65535,
    65536, 65537, 100000, 131071, 131072, 131073, 262144, 500000, 1 * MiB,
    2 * MiB - 1, 2 * MiB, 2 * MiB + 1, 3 * MiB, 4 * MiB};

/* The realloc ladder of the contract: every tier boundary and past it. */
static const size_t ladder_sizes[] = {1, 8, 16, 1024, 1025, 16 * KiB, 16 * KiB + 1,
                                      128 * KiB, 128 * KiB + 1, 2 * MiB, 2 * MiB + 1,
                                      8 * MiB, 64 * MiB};

static char global_buffer[256];

static size_t min_alignment(size_t n)
{
  return n <= 8 ? 8 : 16;
}

static int is_aligned(const void* p, size_t alignment)
{
  return ((uintptr_t)p & (alignment - 1)) == 0;
}

static int is_zero(const void* p, size_t n)
{
  const unsigned char* b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0) return 0;
  return 1;
}

static size_t page_size(void)
{
  return (size_t)sysconf(_SC_PAGESIZE);
}

/* Checks a fresh block of n bytes and writes all of its usable bytes. */
static void check_block(const api_t* api, void* p, size_t n, size_t alignment)
{
  CHECKF(p != NULL, "%s n=%zu align=%zu", api->name, n, alignment);
  CHECKF(is_aligned(p, alignment), "%s p=%p n=%zu align=%zu", api->name, p, n, alignment);
  CHECKF(hak_owns(p), "%s p=%p n=%zu", api->name, p, n);
  size_t usable = api->usable_size(p);
  CHECKF(usable >= n, "%s n=%zu usable=%zu", api->name, n, usable);
  memset(p, 0x5C, usable);
}

static void test_malloc_sizes(const api_t* api)
{
  for (size_t n = 0; n <= 4 * KiB; n++) {
    void* p = api->malloc(n);
    check_block(api, p, n, min_alignment(n));
    api->free(p);
  }
  for (size_t n = 4 * KiB; n <= 64 * MiB; n += n / 3) {
    size_t near[] = {n - 1, n, n + 1};
    for (size_t i = 0; i < COUNT(near); i++) {
      void* p = api->malloc(near[i]);
      check_block(api, p, near[i], 16);
      api->free(p);
    }
  }
}

static int compare_pointers(const void* a, const void* b)
{
  uintptr_t x = *(const uintptr_t*)a, y = *(const uintptr_t*)b;
  return (x > y) - (x < y);
}

static void test_malloc_zero(const api_t* api)
{
  void* blocks[64];
  for (size_t i = 0; i < COUNT(blocks); i++) {
    blocks[i] = api->malloc(0);
    CHECK(blocks[i] != NULL);
  }
  qsort(blocks, COUNT(blocks), sizeof(void*), compare_pointers);
  for (size_t i = 1; i < COUNT(blocks); i++) CHECKF(blocks[i] != blocks[i - 1], "%p", blocks[i]);
  for (size_t i = 0; i < COUNT(blocks); i++) api->free(blocks[i]);
}

static void expect_enomem(const api_t* api, void* p, const char* what)
{
  int saved = errno;
  CHECKF(p == NULL, "%s %s", api->name, what);
  CHECKF(saved == ENOMEM, "%s %s errno=%d", api->name, what, saved);
}

static void test_overflow(const api_t* api)
{
  /* volatile: keeps the compiler from reasoning about impossible sizes. */
  volatile size_t max = SIZE_MAX, half = SIZE_MAX / 2 + 1, ptrdiff = PTRDIFF_MAX;

  errno = 0;
  expect_enomem(api, api->malloc(max), "malloc(SIZE_MAX)");
  errno = 0;
  expect_enomem(api, api->malloc(ptrdiff + 1), "malloc(PTRDIFF_MAX+1)");
  errno = 0;
  expect_enomem(api, api->calloc(half, 2), "calloc(SIZE_MAX/2+1, 2)");
  errno = 0;
  expect_enomem(api, api->calloc((size_t)1 << 32, (size_t)1 << 32), "calloc(2^32, 2^32)");
  errno = 0;
  expect_enomem(api, api->calloc(max, max), "calloc(SIZE_MAX, SIZE_MAX)");
  errno = 0;
  expect_enomem(api, api->calloc(ptrdiff / 2 + 1, 2), "calloc(PTRDIFF_MAX/2+1, 2)");
  errno = 0;
  expect_enomem(api, api->aligned_alloc(64, max), "aligned_alloc(64, SIZE_MAX)");
  void* out = NULL;
  CHECK(api->posix_memalign(&out, 16, max) == ENOMEM);
  CHECK(api->posix_memalign(&out, (size_t)1 << 62, 1) == ENOMEM);

  /* A failed resize leaves the original block alone. */
  char* p = api->malloc(100);
  CHECK(p != NULL);
  pattern_fill(p, 100, 42);
  errno = 0;
  expect_enomem(api, api->realloc(p, max), "realloc(p, SIZE_MAX)");
  errno = 0;
  expect_enomem(api, api->reallocarray(p, half, 2), "reallocarray(p, SIZE_MAX/2+1, 2)");
  errno = 0;
  expect_enomem(api, api->reallocarray(p, (size_t)1 << 33, (size_t)1 << 33), "reallocarray(p, 2^33, 2^33)");
  CHECK(pattern_mismatch(p, 100, 42) == SIZE_MAX);
  api->free(p);
}

static void test_free_and_errno(const api_t* api)
{
  const size_t sizes[] = {0, 16, 1000, 10 * KiB, 100 * KiB, 1 * MiB, 4 * MiB, 32 * MiB};
  for (size_t i = 0; i < COUNT(sizes); i++) {
    void* p = api->malloc(sizes[i]);
    CHECK(p != NULL);
    errno = 12345;
    api->free(p);
    CHECKF(errno == 12345, "%s size=%zu errno=%d", api->name, sizes[i], errno);
  }
  errno = 777;
  api->free(NULL);
  CHECK(errno == 777);
  CHECK(api->usable_size(NULL) == 0);
}

static void test_realloc_edges(const api_t* api)
{
  char* p = api->realloc(NULL, 100);
  check_block(api, p, 100, 16);

  /* realloc(p, 0) frees p and returns NULL, as glibc does. */
  CHECK(api->realloc(p, 0) == NULL);

  p = api->realloc(NULL, 0);
  CHECK(p != NULL);
  api->free(p);

  p = api->reallocarray(NULL, 4, 8);
  check_block(api, p, 32, 16);
  pattern_fill(p, 32, 7);
  p = api->reallocarray(p, 10, 20);
  CHECK(p != NULL);
  CHECK(api->usable_size(p) >= 200);
  CHECK(pattern_mismatch(p, 32, 7) == SIZE_MAX);
  api->free(p);

  /* Same-size and shrinking resizes keep the content too. */
  p = api->malloc(5000);
  CHECK(p != NULL);
  pattern_fill(p, 5000, 8);
  p = api->realloc(p, 5000);
  CHECK(p != NULL && pattern_mismatch(p, 5000, 8) == SIZE_MAX);
  p = api->realloc(p, 4000);
  CHECK(p != NULL && pattern_mismatch(p, 4000, 8) == SIZE_MAX);
  api->free(p);

  /* A block grown a little past its end moves to one with a quarter more
   * room than it had, so that the next few small growths stay in place.
   * (Sizes whose next class is less than a quarter up.) */
  const size_t grown[] = {1500, 40 * KiB};
  for (size_t i = 0; i < COUNT(grown); i++) {
    p = api->malloc(grown[i]);
    CHECK(p != NULL);
    size_t usable = api->usable_size(p);
    pattern_fill(p, usable, 10);
    p = api->realloc(p, usable + 1);
    CHECKF(p != NULL && api->usable_size(p) >= usable + usable / 4, "%s %zu", api->name, usable);
    CHECK(pattern_mismatch(p, usable, 10) == SIZE_MAX);
    api->free(p);
  }

  /* A strongly aligned block resizes like any other. */
  p = api->aligned_alloc(4096, 100);
  CHECK(p != NULL && is_aligned(p, 4096));
  pattern_fill(p, 100, 9);
  p = api->realloc(p, 300 * KiB);
  CHECK(p != NULL && pattern_mismatch(p, 100, 9) == SIZE_MAX);
  api->free(p);
}

/* Grows and shrinks a block from one old size to a new one, checking the kept
 * prefix and refilling the whole new block. */
static char* resize_checked(const api_t* api, char* p, size_t old_size, size_t new_size, uint64_t* tag)
{
  char* q = api->realloc(p, new_size);
  CHECKF(q != NULL, "%s %zu -> %zu", api->name, old_size, new_size);
  CHECKF(is_aligned(q, min_alignment(new_size)), "%s %zu -> %zu: %p", api->name, old_size, new_size, (void*)q);
  CHECKF(api->usable_size(q) >= new_size, "%s %zu -> %zu", api->name, old_size, new_size);
  size_t kept = old_size < new_size ? old_size : new_size;
  size_t bad = pattern_mismatch(q, kept, *tag);
  CHECKF(bad == SIZE_MAX, "%s %zu -> %zu lost content at offset %zu", api->name, old_size, new_size, bad);
  *tag += 0x1234567;
  pattern_fill(q, new_size, *tag);
  return q;
}

static void test_realloc_tiers(const api_t* api)
{
  /* Up the ladder and back down in one block. */
  uint64_t tag = 1;
  size_t size = ladder_sizes[0];
  char* p = api->malloc(size);
  CHECK(p != NULL);
  pattern_fill(p, size, tag);
  for (size_t i = 1; i < COUNT(ladder_sizes); i++) {
    p = resize_checked(api, p, size, ladder_sizes[i], &tag);
    size = ladder_sizes[i];
  }
  for (size_t i = COUNT(ladder_sizes) - 1; i-- > 0;) {
    p = resize_checked(api, p, size, ladder_sizes[i], &tag);
    size = ladder_sizes[i];
  }
  api->free(p);

  /* Every pair of tiers directly (the 64 MiB step is covered above). */
  for (size_t i = 0; i + 1 < COUNT(ladder_sizes); i++) {
    for (size_t j = 0; j + 1 < COUNT(ladder_sizes); j++) {
      p = api->malloc(ladder_sizes[i]);
      CHECK(p != NULL);
      pattern_fill(p, ladder_sizes[i], tag);
      p = resize_checked(api, p, ladder_sizes[i], ladder_sizes[j], &tag);
      api->free(p);
    }
  }
}

/* Recycled memory must come back zeroed from calloc: dirty every block
 * before freeing it, then calloc the same size again, several rounds. */
static void test_calloc_recycled(const api_t* api)
{
  const size_t sizes[] = {1, 8, 16, 24, 100, 512, 1024, 1500, 4096, 16 * KiB, 20000,
                          128 * KiB, 200 * KiB, 1 * MiB, 3 * MiB};
  void* blocks[64];
  for (size_t s = 0; s < COUNT(sizes); s++) {
    size_t n = sizes[s];
    size_t count = 4 * MiB / n;
    if (count > COUNT(blocks)) count = COUNT(blocks);
    if (count < 2) count = 2;
    for (int round = 0; round < 8; round++) {
      for (size_t i = 0; i < count; i++) {
        blocks[i] = round == 0 ? api->malloc(n) : api->calloc(1, n);
        CHECK(blocks[i] != NULL);
        if (round > 0) CHECKF(is_zero(blocks[i], n), "%s calloc(1, %zu) round %d", api->name, n, round);
        memset(blocks[i], 0xAB, api->usable_size(blocks[i]));
      }
      for (size_t i = 0; i < count; i++) api->free(blocks[i]);
    }
    /* calloc's count*size form, not just calloc(1, n). */
    char* p = api->calloc(n, 3);
    CHECK(p != NULL && is_zero(p, 3 * n));
    api->free(p);
  }
}

static void test_alignment_errors(const api_t* api)
{
  const size_t bad[] = {0, 1, 2, 4, 3, 12, 24, 48, 1000, 4097};
  for (size_t i = 0; i < COUNT(bad); i++) {
    void* out = (void*)0x1;
    errno = 777;
    int rc = api->posix_memalign(&out, bad[i], 64);
    CHECKF(rc == EINVAL, "%s posix_memalign(%zu) = %d", api->name, bad[i], rc);
    CHECK(errno == 777);
  }
  const size_t not_pow2[] = {3, 12, 24, 48, 1000, 4097};
  for (size_t i = 0; i < COUNT(not_pow2); i++) {
    errno = 0;
    CHECKF(api->aligned_alloc(not_pow2[i], 64) == NULL, "%s aligned_alloc(%zu)", api->name, not_pow2[i]);
    CHECK(errno == EINVAL);
  }
  /* Powers of two below sizeof(void*) are fine for aligned_alloc. */
  for (size_t a = 1; a < sizeof(void*); a *= 2) {
    void* p = api->aligned_alloc(a, 10);
    check_block(api, p, 10, a);
    api->free(p);
  }
}

static void test_alignment_sweep(const api_t* api)
{
  for (size_t a = 8; a <= 1 * GiB; a *= 2) {
    for (size_t i = 0; i < COUNT(sweep_sizes); i++) {
      size_t n = sweep_sizes[i];
      void* p = NULL;
      errno = 555;
      CHECKF(api->posix_memalign(&p, a, n) == 0, "%s align=%zu n=%zu", api->name, a, n);
      CHECK(errno == 555);
      check_block(api, p, n, a);
      api->free(p);

      p = api->aligned_alloc(a, n);
      check_block(api, p, n, a);
      api->free(p);
    }
  }
}

static void test_api(const api_t* api)
{
  test_malloc_sizes(api);
  test_malloc_zero(api);
  test_overflow(api);
  test_free_and_errno(api);
  test_realloc_edges(api);
  test_realloc_tiers(api);
  test_calloc_recycled(api);
  test_alignment_errors(api);
  test_alignment_sweep(api);
}

/* Entry points that exist only under standard names. */

static void test_memalign(void)
{
  for (size_t a = 8; a <= 1 * GiB; a *= 2) {
    for (size_t i = 0; i < COUNT(sweep_sizes); i++) {
      void* p = memalign(a, sweep_sizes[i]);
      check_block(&std_api, p, sweep_sizes[i], a);
      free(p);
    }
  }
}

static void test_page_allocs(void)
{
  size_t page = page_size();
  for (size_t i = 0; i < COUNT(sweep_sizes); i++) {
    size_t n = sweep_sizes[i];
    void* p = valloc(n);
    check_block(&std_api, p, n, page);
    free(p);

    /* pvalloc rounds the size up to whole pages. */
    size_t rounded = (n + page - 1) / page * page;
    p = pvalloc(n);
    check_block(&std_api, p, rounded, page);
    free(p);
  }
}

static void test_cfree(void)
{
  const size_t sizes[] = {10, 5000, 100 * KiB, 3 * MiB};
  for (size_t i = 0; i < COUNT(sizes); i++) {
    void* p = malloc(sizes[i]);
    check_block(&std_api, p, sizes[i], 16);
    cfree(p);
  }
}

/* A sized free frees: the block comes back from the next allocation of
 * the same kind (a block kept beside it holds the page in use). */
static void test_sized_free(void)
{
  for (size_t n = 8; n <= 4 * KiB; n *= 2) {
    void* keep = malloc(n);
    void* p = malloc(n);
    check_block(&std_api, p, n, n < 16 ? n : 16);
    free_sized(p, n);
    void* again = malloc(n);
    CHECK(again == p);
    free(again);
    free(keep);

    keep = aligned_alloc(64, n);
    p = aligned_alloc(64, n);
    check_block(&std_api, p, n, 64);
    free_aligned_sized(p, 64, n);
    again = aligned_alloc(64, n);
    CHECK(again == p);
    free(again);
    free(keep);
  }
}

static void test_libc_names(void)
{
  size_t page = page_size();
  char* p = __libc_malloc(100);
  check_block(&std_api, p, 100, 16);
  pattern_fill(p, 100, 3);
  p = __libc_realloc(p, 300 * KiB);
  CHECK(p != NULL && hak_owns(p) && pattern_mismatch(p, 100, 3) == SIZE_MAX);
  __libc_free(p);

  p = __libc_calloc(10, 1000);
  CHECK(p != NULL && hak_owns(p) && is_zero(p, 10000));
  __libc_free(p);

  p = __libc_memalign(1 * MiB, 1000);
  check_block(&std_api, p, 1000, 1 * MiB);
  __libc_free(p);

  p = __libc_valloc(1000);
  check_block(&std_api, p, 1000, page);
  __libc_free(p);

  p = __libc_pvalloc(1000);
  check_block(&std_api, p, page, page);
  __libc_free(p);
}

/* The standard and hak_* names are one allocator: blocks cross over. */
static void test_mixed_names(void)
{
  char* p = hak_malloc(1000);
  CHECK(p != NULL);
  CHECK(malloc_usable_size(p) == hak_usable_size(p));
  pattern_fill(p, 1000, 11);
  p = realloc(p, 200 * KiB);
  CHECK(p != NULL && pattern_mismatch(p, 1000, 11) == SIZE_MAX);
  hak_free(p);

  p = malloc(3 * MiB);
  CHECK(p != NULL);
  CHECK(malloc_usable_size(p) == hak_usable_size(p));
  pattern_fill(p, 3 * MiB, 12);
  p = hak_realloc(p, 100);
  CHECK(p != NULL && pattern_mismatch(p, 100, 12) == SIZE_MAX);
  free(p);
}

static void test_owns(void)
{
  int stack_var = 0;
  CHECK(!hak_owns(&stack_var));
  CHECK(!hak_owns(global_buffer));
  CHECK(!hak_owns(NULL));
  CHECK(!hak_owns((void*)1));
  CHECK(!hak_owns((void*)UINTPTR_MAX));
  CHECK(!hak_owns((const void*)(uintptr_t)test_owns));

  /* Foreign memory, including an address on a 4 MiB boundary, where an
   * allocator that masks pointers to find its metadata would look. */
  size_t len = 12 * MiB;
  char* region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(region != MAP_FAILED);
  memset(region, 0xFF, len);
  char* boundary = (char*)(((uintptr_t)region + 4 * MiB - 1) & ~(uintptr_t)(4 * MiB - 1));
  CHECK(!hak_owns(region));
  CHECK(!hak_owns(boundary));
  CHECK(!hak_owns(boundary + 64));
  munmap(region, len);

  const size_t sizes[] = {10, 1000, 10 * KiB, 100 * KiB, 1 * MiB, 4 * MiB};
  for (size_t i = 0; i < COUNT(sizes); i++) {
    char* p = malloc(sizes[i]);
    CHECKF(hak_owns(p), "size=%zu", sizes[i]);
    CHECKF(hak_owns(p + sizes[i] / 2), "size=%zu", sizes[i]);
    free(p);
  }
  void* p = aligned_alloc(64 * MiB, 100);
  CHECK(p != NULL && hak_owns(p));
  free(p);
}

int main(void)
{
  test_api(&std_api);
  test_api(&hak_api);
  test_memalign();
  test_page_allocs();
  test_cfree();
  test_sized_free();
  test_libc_names();
  test_mixed_names();
  test_owns();
  check_report("test_api");
  return 0;
}
