/* libFuzzer harness for the hak_* API.  hakmem's core sources are compiled
 * into this program (with coverage and ASan) and called by their own names,
 * while ASan keeps malloc for itself and for libFuzzer.
 *
 * The input is a program over SLOTS block slots.  Each operation is an op
 * byte, a slot byte and the op's arguments; missing bytes read as zero.
 *   0 malloc         slot size
 *   1 calloc         slot count size      (count 255: overflowing product)
 *   2 realloc        slot size
 *   3 reallocarray   slot count size      (count 255: overflowing product)
 *   4 aligned_alloc  slot align size      (align >= 128: an invalid one)
 *   5 posix_memalign slot align size
 *   6 free           slot
 *   7 check          slot                 (usable size, ownership, pattern)
 *   8 handoff        slot                 (freed by another thread at the end:
 *                                         free_handoff)
 *   9 collect        slot force
 *  10 bad pointer    slot kind call u32   (op_bad_pointer: never a live block)
 * A size is a tier byte then a big-endian u32 reduced into that tier.
 * Every live block is filled, to its usable size, with a per-block pattern
 * (sparse beyond 64 KiB: fill_pattern) that is verified before the block is
 * freed or reallocated; any mismatch or broken promise traps. */
#include "hakmem.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../pattern.h"

#define SLOTS 64
#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
/* Bytes an input may fill beyond the small tier: still room for the largest
 * tier's 8 MiB block. */
#define INPUT_BUDGET (8 * MIB)

typedef struct {
  const uint8_t* p;
  size_t n;
} input_t;

typedef struct {
  void* p;
  size_t size;   /* requested */
  size_t usable; /* filled with the pattern */
  size_t align;  /* of an aligned allocation, whose block may start before p */
  uint64_t tag;
} slot_t;

static slot_t slots[SLOTS];
static slot_t handoff[SLOTS];
static size_t handoff_count;
static size_t budget;
static uint64_t generation;

/* The last addresses freed, for the bad-pointer op's stale pointers. */
#define FREED 16
static void* freed[FREED];
static size_t freed_count;

#define CHECK(cond, what)                                                    \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "fuzz_api:%d: %s\n", __LINE__, what);                  \
      __builtin_trap();                                                      \
    }                                                                        \
  } while (0)

static uint8_t take_u8(input_t* in)
{
  if (in->n == 0) return 0;
  in->n--;
  return *in->p++;
}

static uint32_t take_u32(input_t* in)
{
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = v << 8 | take_u8(in);
  return v;
}

/* Mostly small sizes, as real programs ask for; huge ones rarely, and only
 * while the input's budget lasts. */
static size_t take_size(input_t* in)
{
  uint8_t tier = take_u8(in);
  uint32_t r = take_u32(in);
  size_t size;
  if (tier < 128) size = r % (1 * KIB + 1);
  else if (tier < 208) size = r % (16 * KIB + 1);
  else if (tier < 248) size = r % (128 * KIB + 1);
  else if (tier < 254) size = r % (2 * MIB + 1);
  else if (tier < 255) size = 2 * MIB + r % (2 * MIB + 1);
  else size = 4 * MIB + r % (4 * MIB + 1);
  return size <= budget ? size : size % (1 * KIB + 1);
}

/* A valid power of two up to 1 MiB, or (high bit set) an invalid one. */
static size_t take_alignment(input_t* in)
{
  static const size_t invalid[] = {0, 3, 24, 48, 3 * 4096, SIZE_MAX};
  uint8_t a = take_u8(in);
  if (a & 0x80) return invalid[a % (sizeof invalid / sizeof invalid[0])];
  return (size_t)1 << (a % 21);
}

static int is_power_of_two(size_t x)
{
  return x != 0 && (x & (x - 1)) == 0;
}

/* The loops over block contents run without ASan checks and coverage
 * hooks: hakmem's heap has no ASan shadow to check and the loops' edges and
 * comparisons guide nothing, but instrumented they took most of the time. */
#define UNINSTRUMENTED __attribute__((noinline, no_sanitize("address", "coverage")))

/* A block of up to DENSE bytes carries the pattern whole.  A bigger one
 * carries it in its first and last PAGE bytes and in the first SAMPLE bytes
 * of each PAGE between: still in every 4 KiB page, so a block that overlaps
 * another by any byte still meets its pattern, and a page lost or misplaced
 * by a move still shows.  Filled whole, big blocks held the fuzzer to a
 * third of its speed (438 executions per second against 1,235). */
#define DENSE (64 * KIB)
#define PAGE 4096
#define SAMPLE 64

static size_t min_size(size_t a, size_t b)
{
  return a < b ? a : b;
}

/* Where the dense tail of a block of `filled` pattern bytes starts. */
static size_t tail_start(size_t filled)
{
  return (filled - PAGE) & ~(size_t)7;
}

static UNINSTRUMENTED void fill_pattern(void* p, size_t filled, uint64_t tag)
{
  if (filled <= DENSE) {
    pattern_fill(p, filled, tag);
    return;
  }
  size_t tail = tail_start(filled);
  pattern_fill_range(p, 0, PAGE, tag);
  for (size_t off = PAGE; off < tail; off += PAGE) pattern_fill_range(p, off, off + SAMPLE, tag);
  pattern_fill_range(p, tail, filled, tag);
}

/* The first byte of p[0..n) that fill_pattern(p, filled, tag) wrote and
 * that differs now, or SIZE_MAX. */
static UNINSTRUMENTED size_t find_mismatch(const void* p, size_t n, size_t filled, uint64_t tag)
{
  if (filled <= DENSE) return pattern_mismatch(p, n, tag);
  size_t tail = tail_start(filled);
  size_t off = pattern_mismatch_range(p, 0, min_size(PAGE, n), tag);
  for (size_t at = PAGE; off == SIZE_MAX && at < tail && at < n; at += PAGE)
    off = pattern_mismatch_range(p, at, min_size(at + SAMPLE, n), tag);
  if (off == SIZE_MAX && tail < n) off = pattern_mismatch_range(p, tail, n, tag);
  return off;
}

static void verify(const slot_t* s, const void* p, size_t n)
{
  size_t off = find_mismatch(p, n, s->usable, s->tag);
  if (off != SIZE_MAX) {
    fprintf(stderr, "fuzz_api: block %p (size %zu, usable %zu) differs at byte %zu\n", p,
            s->size, s->usable, off);
    __builtin_trap();
  }
}

/* Takes p (of the requested size) into slot s and fills it. */
static void fill(slot_t* s, void* p, size_t size)
{
  CHECK(p != NULL, "allocation failed");
  CHECK(hak_owns(p), "block not owned");
  s->p = p;
  s->size = size;
  s->align = 0;
  s->usable = hak_usable_size(p);
  CHECK(s->usable >= size, "usable size below the request");
  s->tag = ++generation * 0x9E3779B97F4A7C15ull ^ (uint64_t)(s - slots);
  fill_pattern(p, s->usable, s->tag);
  budget -= s->usable < budget ? s->usable : budget;
}

static void note_freed(void* p)
{
  freed[freed_count++ % FREED] = p;
}

static void release(slot_t* s)
{
  if (s->p == NULL) return;
  CHECK(hak_usable_size(s->p) == s->usable, "usable size changed");
  verify(s, s->p, s->usable);
  hak_free(s->p);
  note_freed(s->p);
  s->p = NULL;
}

static UNINSTRUMENTED int all_zero(const unsigned char* p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0) return 0;
  return 1;
}

static void op_calloc(input_t* in, slot_t* s)
{
  uint8_t count = take_u8(in);
  size_t size = take_size(in);
  release(s);
  if (count == 255) {
    errno = 0;
    CHECK(hak_calloc(SIZE_MAX / 2 + 1, 2) == NULL && errno == ENOMEM, "calloc overflow");
    return;
  }
  size_t n = count % 16 + 1, elem = size / n;
  void* p = hak_calloc(n, elem);
  CHECK(p != NULL && all_zero(p, n * elem), "calloc block not zeroed");
  fill(s, p, n * elem);
}

/* Resizes s to size (realloc of count * elem when count > 0): the old
 * contents must survive up to the smaller of the two sizes. */
static void resize(slot_t* s, size_t count, size_t elem)
{
  size_t size = count ? count * elem : elem;
  if (s->p != NULL) verify(s, s->p, s->usable);
  slot_t old = *s;
  void* q = count ? hak_reallocarray(s->p, count, elem) : hak_realloc(s->p, size);
  s->p = NULL;
  if (old.p != NULL && q != old.p) note_freed(old.p);
  if (q == NULL) {
    /* hakmem frees the block on realloc(p, 0), as glibc does. */
    CHECK(size == 0, "realloc failed");
    return;
  }
  if (old.p != NULL) verify(&old, q, min_size(old.size, size));
  fill(s, q, size);
  if (q == old.p) s->align = old.align; /* resized in place */
}

static void op_reallocarray(input_t* in, slot_t* s)
{
  uint8_t count = take_u8(in);
  size_t size = take_size(in);
  if (count == 255) {
    errno = 0;
    CHECK(hak_reallocarray(s->p, SIZE_MAX / 2 + 1, 2) == NULL && errno == ENOMEM,
          "reallocarray overflow");
    if (s->p != NULL) verify(s, s->p, s->usable); /* left as it was */
    return;
  }
  size_t n = count % 16 + 1;
  resize(s, n, size / n);
}

static void op_aligned_alloc(input_t* in, slot_t* s)
{
  size_t alignment = take_alignment(in);
  size_t size = take_size(in);
  release(s);
  errno = 0;
  void* p = hak_aligned_alloc(alignment, size);
  if (!is_power_of_two(alignment)) {
    CHECK(p == NULL && errno == EINVAL, "aligned_alloc accepted a bad alignment");
    return;
  }
  CHECK((uintptr_t)p % alignment == 0, "aligned_alloc misaligned");
  fill(s, p, size);
  s->align = alignment;
}

static void op_posix_memalign(input_t* in, slot_t* s)
{
  size_t alignment = take_alignment(in);
  size_t size = take_size(in);
  release(s);
  void* untouched = &slots; /* any recognisable pointer */
  void* p = untouched;
  errno = 4242;
  int rc = hak_posix_memalign(&p, alignment, size);
  CHECK(errno == 4242, "posix_memalign changed errno");
  if (!is_power_of_two(alignment) || alignment < sizeof(void*)) {
    CHECK(rc == EINVAL && p == untouched, "posix_memalign accepted a bad alignment");
    return;
  }
  CHECK(rc == 0 && (uintptr_t)p % alignment == 0, "posix_memalign failed or misaligned");
  fill(s, p, size);
  s->align = alignment;
}

static void op_check(slot_t* s)
{
  int local;
  CHECK(!hak_owns(&local) && !hak_owns(NULL), "owns memory it never handed out");
  CHECK(hak_usable_size(NULL) == 0, "usable size of NULL");
  if (s->p == NULL) return;
  /* hakmem.h promises every address of a block's first 4 MiB. */
  size_t reach = s->usable < 4 * MIB ? s->usable : 4 * MIB;
  CHECK(hak_owns(s->p) && hak_owns((char*)s->p + reach - 1), "block not owned");
  CHECK(hak_usable_size(s->p) == s->usable, "usable size changed");
  verify(s, s->p, s->usable);
}

/* ---- bad pointers ---------------------------------------------------------
 * free, realloc and malloc_usable_size must answer a pointer that is not a
 * live block's with one error line (none from malloc_usable_size, which
 * returns 0) and leave the heap as it was: a block freed or later handed
 * out twice would break a pattern. */

/* Whether q may lie in a live block.  An aligned block may start up to its
 * alignment before the pointer handed out, so that stretch counts too. */
static int maybe_live(uintptr_t q)
{
  const slot_t* lists[2] = {slots, handoff};
  size_t counts[2] = {SLOTS, handoff_count};
  for (int l = 0; l < 2; l++)
    for (size_t i = 0; i < counts[l]; i++) {
      const slot_t* s = &lists[l][i];
      uintptr_t from = (uintptr_t)s->p - s->align;
      if (s->p != NULL && q - from < s->align + s->usable + 1) return 1;
    }
  return 0;
}

/* While hakmem is handed a bad pointer, its error lines are taken from its
 * writes to stderr (tests/CMakeLists.txt links with -Wl,--wrap=write);
 * any other output, a crash report's included, goes through. */
static int capturing;
static char captured[256];
static size_t captured_len;

ssize_t __real_write(int fd, const void* buf, size_t n);

ssize_t __wrap_write(int fd, const void* buf, size_t n)
{
  static const char prefix[] = "hakmem: ";
  if (capturing && fd == STDERR_FILENO && n >= sizeof prefix - 1 &&
      memcmp(buf, prefix, sizeof prefix - 1) == 0 && captured_len + n < sizeof captured) {
    memcpy(captured + captured_len, buf, n);
    captured_len += n;
    return (ssize_t)n;
  }
  return __real_write(fd, buf, n);
}

static void capture_start(void)
{
  captured_len = 0;
  capturing = 1;
}

/* Ends the capture: the lines hakmem wrote meanwhile, NUL-terminated. */
static const char* capture_end(void)
{
  capturing = 0;
  captured[captured_len] = 0;
  return captured;
}

/* Whether line is "hakmem: error: <what> at <q>\n"; any address will do
 * when q is 0 (a reused pointer may be reported as its block's start). */
static int error_line_is(const char* line, const char* what, uintptr_t q)
{
  char expect[160];
  int n = q != 0 ? snprintf(expect, sizeof expect, "hakmem: error: %s at %#lx\n", what,
                            (unsigned long)q)
                 : snprintf(expect, sizeof expect, "hakmem: error: %s at 0x", what);
  if (q != 0) return strcmp(line, expect) == 0;
  const char* end = strchr(line, '\n');
  return strncmp(line, expect, (size_t)n) == 0 && end != NULL && end[1] == 0;
}

/* Whether line reports q as the invalid pointer it is, from call ("free()"
 * or "realloc()"); a freed one (reused) may be reported as already freed,
 * in words of its own, and by its block's address. */
static int reports_bad_pointer(const char* line, const char* call, const char* freed, uintptr_t q,
                               int reused)
{
  char invalid[64];
  snprintf(invalid, sizeof invalid, "%s: invalid pointer", call);
  if (error_line_is(line, invalid, q)) return 1;
  return reused && (error_line_is(line, freed, 0) || error_line_is(line, invalid, 0));
}

/* Hands q, which is no live block's, to one of the three calls. */
static void bad_pointer_call(void* q, uint8_t call, int reused)
{
  const char* line;
  capture_start();
  switch (call % 3) {
  case 0:
    hak_free(q);
    line = capture_end();
    CHECK(reports_bad_pointer(line, "free()", "free(): double free", (uintptr_t)q, reused),
          "free of a bad pointer not reported as one error");
    break;
  case 1: {
    errno = 0;
    void* r = hak_realloc(q, 64);
    int err = errno;
    line = capture_end();
    CHECK(r == NULL && err == EINVAL, "realloc of a bad pointer did not fail with EINVAL");
    CHECK(reports_bad_pointer(line, "realloc()", "realloc(): pointer already freed", (uintptr_t)q,
                              reused),
          "realloc of a bad pointer not reported as one error");
    break;
  }
  case 2: {
    size_t usable = hak_usable_size(q);
    line = capture_end();
    CHECK(line[0] == 0, "malloc_usable_size reported an error");
    /* A freed block's start still has a size: it is a block. */
    CHECK(reused || usable == 0, "usable size of a bad pointer");
    break;
  }
  }
}

/* Hands over a pointer inside s's block, past its start. */
static void probe_inside(const slot_t* s, uint32_t r, uint8_t call)
{
  if (s->usable >= 2) bad_pointer_call((char*)s->p + 1 + r % (s->usable - 1), call, 0);
}

static int global_word;

/* Kinds: 0 inside a live block (past its start); 1 an odd address near
 * one; 2 the stack, a global or the libc heap; 3 a block just freed (a
 * double free, which both builds catch at once); 4 (secure build only) one
 * of the last blocks freed that is not live again. */
static void op_bad_pointer(input_t* in, slot_t* s)
{
  uint8_t kind = take_u8(in) % 5;
  uint8_t call = take_u8(in);
  uint32_t r = take_u32(in);
  if (kind == 2) {
    int local = 0;
    void* heap_block = malloc(32);
    CHECK(heap_block != NULL, "libc malloc failed");
    void* choices[3] = {&local, &global_word, heap_block};
    bad_pointer_call((char*)choices[r % 3] + (r >> 8) % 16, call, 0);
    free(heap_block);
    return;
  }
  if (kind == 4) {
#if HAKMEM_SECURE
    void* q = freed[r % FREED];
    if (q != NULL && !maybe_live((uintptr_t)q)) bad_pointer_call(q, call, 1);
#endif
    return;
  }
  if (s->p == NULL) return;
  if (kind == 3) {
    void* q = s->p;
    release(s);
    if (!maybe_live((uintptr_t)q)) bad_pointer_call(q, call, 1);
    return;
  }
  if (kind == 0) {
    probe_inside(s, r, call);
  } else {
    /* Never a pointer hakmem hands out, even inside another live block. */
    uintptr_t q = ((uintptr_t)s->p + (uintptr_t)((int32_t)r % (int32_t)(4 * MIB))) | 1;
    bad_pointer_call((void*)q, call, 0);
  }
  verify(s, s->p, s->usable);
}

/* Another thread frees the blocks handed off, each after a bad pointer
 * inside it (the other threads' way through free, realloc and
 * malloc_usable_size); the secure build's must catch a second free from
 * that thread too. */
static void* free_handoff(void* arg)
{
  (void)arg;
  for (size_t i = 0; i < handoff_count; i++) {
    slot_t* s = &handoff[i];
    void* p = s->p;
    probe_inside(s, (uint32_t)s->tag, (uint8_t)(s->tag >> 8));
    release(s);
#if HAKMEM_SECURE
    if (!maybe_live((uintptr_t)p)) bad_pointer_call(p, (uint8_t)(s->tag >> 16), 1);
#endif
  }
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  input_t in = {data, size};
  budget = INPUT_BUDGET;
  generation = 0;
  handoff_count = 0;
  freed_count = 0;
  memset(freed, 0, sizeof freed);
  while (in.n > 0) {
    uint8_t op = take_u8(&in) % 11;
    slot_t* s = &slots[take_u8(&in) % SLOTS];
    switch (op) {
    case 0: {
      size_t n = take_size(&in);
      release(s);
      fill(s, hak_malloc(n), n);
      break;
    }
    case 1: op_calloc(&in, s); break;
    case 2: resize(s, 0, take_size(&in)); break;
    case 3: op_reallocarray(&in, s); break;
    case 4: op_aligned_alloc(&in, s); break;
    case 5: op_posix_memalign(&in, s); break;
    case 6:
      if (s->p == NULL) hak_free(NULL);
      release(s);
      break;
    case 7: op_check(s); break;
    case 8:
      if (s->p == NULL) break;
      if (handoff_count == SLOTS) {
        release(s); /* the list is full: free it here instead */
        break;
      }
      handoff[handoff_count++] = *s;
      s->p = NULL;
      break;
    case 9: hak_collect(take_u8(&in) & 1); break;
    case 10: op_bad_pointer(&in, s); break;
    }
  }
  /* Cross-thread frees, then everything else: nothing outlives the input. */
  if (handoff_count > 0) {
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, free_handoff, NULL) == 0, "pthread_create");
    pthread_join(thread, NULL);
  }
  for (size_t i = 0; i < SLOTS; i++) release(&slots[i]);
  return 0;
}
