/* The only file that makes memory system calls.  Everything above it asks
 * for aligned, zeroed, page-granular memory and gives it back. */
#define _GNU_SOURCE
#include "internal/internal.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>
#if HAKMEM_SECURE
#include <sys/random.h>
#endif

size_t hak_os_page_size(void) {
  static _Atomic(size_t) known;
  size_t size = hak_load_relaxed(&known);
  if (size == 0) {
    size = (size_t)getauxval(AT_PAGESZ);
    /* 0 when unknown.  A smaller page divides 4 KiB, so whole 4 KiB pages
     * are whole pages of it too. */
    if (size < HAK_OS_PAGE_MIN || !hak_is_power_of_two(size)) size = HAK_OS_PAGE_MIN;
    hak_store_relaxed(&known, size);
  }
  return size;
}

size_t hak_os_page_round(size_t size) {
  return hak_align_up(size, hak_os_page_size());
}

/* An anonymous private mapping (counted as a call, not yet as memory mapped). */
static void* os_map(void* hint, size_t size, int prot, int flags) {
  hak_stat_add(mmap_calls, 1);
  void* p = mmap(hint, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
  return p != MAP_FAILED ? p : NULL;
}

static bool os_unmap(void* p, size_t size) {
  hak_stat_add(munmap_calls, 1);
  int saved = errno;
  bool done = munmap(p, size) == 0;
  errno = saved;
  return done;
}

/* At hint if that range is free, else where the kernel likes (NULL: no
 * preference); with flags MAP_FIXED_NOREPLACE, at hint or nowhere (a
 * kernel before 4.17 reads it as a hint). */
static void* os_mmap(void* hint, size_t size, int flags) {
  void* p = os_map(hint, size, PROT_READ | PROT_WRITE, flags);
  if (p != NULL) hak_stats_mapped(size);
  return p;
}

static void os_munmap(void* p, size_t size) {
  if (size != 0 && os_unmap(p, size)) hak_stats_unmapped(size);
}

void* hak_os_reserve_zeros(size_t size) {
  return os_map(NULL, size, PROT_READ, MAP_NORESERVE);
}

void hak_os_unreserve(void* p, size_t size) {
  os_unmap(p, size);
}

bool hak_os_make_writable(void* p, size_t size) {
  size_t page = hak_os_page_size();
  uintptr_t from = (uintptr_t)p & ~(uintptr_t)(page - 1);
  uintptr_t to = hak_align_up((uintptr_t)p + size, page);
  int saved = errno;
  bool done = mprotect((void*)from, to - from, PROT_READ | PROT_WRITE) == 0;
  errno = saved;
  return done;
}

/* The lowest aligned mapping made so far, or the end of space unmapped
 * above it (hak_os_free): the kernel places new mappings below the ones it
 * has, so the aligned place just under it is usually free.  Only a hint: a
 * race on it costs a fallback, never a wrong mapping. */
static _Atomic(uintptr_t) aligned_low;

static bool is_placed(const void* p, size_t alignment, size_t offset) {
  return ((uintptr_t)p + offset) % alignment == 0;
}

/* Maps size bytes so that (result + offset) is a multiple of alignment:
 * first where the last aligned mapping suggests (one call when the kernel
 * agrees), else with slack that is trimmed.  A failed hinted call falls
 * back too: qemu-user with 64 KiB guest pages refused some with EPERM
 * (tests/refused_hints.c). */
static void* os_map_aligned(size_t size, size_t alignment, size_t offset) {
  size = hak_os_page_round(size);
  size_t page = hak_os_page_size();
  if (alignment <= page && offset % page == 0) return os_mmap(NULL, size, 0);
  if (size + alignment < size) return NULL;
  uintptr_t low = hak_load_relaxed(&aligned_low);
  if (low > size + alignment + offset) {
    uintptr_t hint = ((low - size + offset) & ~(uintptr_t)(alignment - 1)) - offset;
    uint8_t* placed = os_mmap((void*)hint, size, 0);
    if (placed != NULL) {
      if (is_placed(placed, alignment, offset)) {
        hak_store_relaxed(&aligned_low, (uintptr_t)placed);
        return placed;
      }
      os_munmap(placed, size);
    }
  }
  uint8_t* base = os_mmap(NULL, size + alignment, 0);
  if (base == NULL) return NULL;
  uintptr_t target = hak_align_up((uintptr_t)base + offset, alignment) - offset;
  uint8_t* p = (uint8_t*)target;
  os_munmap(base, (size_t)(p - base));
  os_munmap(p + size, (size_t)(base + size + alignment - (p + size)));
  hak_store_relaxed(&aligned_low, (uintptr_t)p);
  return p;
}

void* hak_os_alloc_aligned(size_t size, size_t alignment, size_t offset) {
  return os_map_aligned(size, alignment, offset);
}

/* Space above the lowest aligned mapping that is unmapped is where the
 * next one goes, so that a program that maps and unmaps segments keeps to
 * the same addresses rather than ever lower ones (test_address_reuse; a
 * fuzzing run under ASan ran out of memory in the shadow of the addresses
 * left behind).  Not a huge block's old place, which hak_os_move frees: a
 * measurement build that counted it made realloc_grow call mmap and
 * mremap 10 % more often. */
void hak_os_free(void* p, size_t size) {
  size = hak_os_page_round(size);
  os_munmap(p, size);
  uintptr_t end = (uintptr_t)p + size;
  if (end > hak_load_relaxed(&aligned_low)) hak_store_relaxed(&aligned_low, end);
}

/* The whole OS pages within [p, p+size): the kernel refuses a range that
 * starts inside a page (EINVAL) and rounds one that ends inside a page up,
 * over memory its caller still uses. */
static uint8_t* os_pages_within(const void* p, size_t size, size_t* bytes) {
  size_t page = hak_os_page_size();
  uintptr_t start = hak_align_up((uintptr_t)p, page);
  uintptr_t end = ((uintptr_t)p + size) & ~(uintptr_t)(page - 1);
  *bytes = end > start ? end - start : 0;
  return (uint8_t*)start;
}

size_t hak_os_purgeable(const void* p, size_t size) {
  size_t bytes;
  os_pages_within(p, size, &bytes);
  return bytes;
}

size_t hak_os_purge(void* p, size_t size) {
  size_t bytes;
  uint8_t* start = os_pages_within(p, size, &bytes);
  if (bytes == 0) return 0;
  hak_stat_add(madvise_calls, 1);
  int saved = errno;
  madvise(start, bytes, MADV_DONTNEED);
  errno = saved;
  return bytes;
}

/* What probe says of the kernel, asked once per process; answer starts at
 * 0, unknown. */
static bool probed(_Atomic(int)* answer, bool (*probe)(void)) {
  enum { UNKNOWN, YES, NO };
  int known = atomic_load_explicit(answer, memory_order_relaxed);
  if (known == UNKNOWN) {
    known = probe() ? YES : NO;
    atomic_store_explicit(answer, known, memory_order_relaxed);
  }
  return known == YES;
}

#if HAKMEM_SECURE
#ifndef MADV_GUARD_INSTALL /* Linux 6.13; older headers lack it */
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif
#ifndef MADV_POPULATE_READ /* Linux 5.14 */
#define MADV_POPULATE_READ 22
#endif

/* Whether the kernel's guard markers work here.  They make pages fault as
 * mprotect does, but without cutting their mapping in three, so that a
 * segment stays one mapping, which mremap moves whole, a page table at a
 * time (docs/security.md).  An emulator may take the madvise and do nothing
 * (qemu-user does): the kernel must then fail to fault the page in. */
static bool probe_guard_markers(void) {
  size_t page = hak_os_page_size();
  uint8_t* p = os_mmap(NULL, page, 0);
  if (p == NULL) return false;
  int saved = errno;
  bool works = madvise(p, page, MADV_POPULATE_READ) == 0 &&
               madvise(p, page, MADV_GUARD_INSTALL) == 0 &&
               madvise(p, page, MADV_POPULATE_READ) == -1 && errno == EFAULT;
  errno = saved;
  os_munmap(p, page);
  return works;
}

static bool guard_markers(void) {
  static _Atomic(int) answer;
  return probed(&answer, probe_guard_markers);
}

/* Set once a guard page had to be made with mprotect: a marker is refused
 * in a locked mapping (mlockall), and the probe may have said no. */
static _Atomic(bool) guards_by_mprotect;

void hak_os_guard(void* p, size_t size, bool on) {
  int saved = errno;
  bool marked = false;
  if (guard_markers()) {
    hak_stat_add(madvise_calls, 1);
    marked = madvise(p, size, on ? MADV_GUARD_INSTALL : MADV_GUARD_REMOVE) == 0;
  }
  if (on && !marked) {
    atomic_store_explicit(&guards_by_mprotect, true, memory_order_relaxed);
    mprotect(p, size, PROT_NONE);
  } else if (!on && (!marked || atomic_load_explicit(&guards_by_mprotect, memory_order_relaxed))) {
    mprotect(p, size, PROT_READ | PROT_WRITE);
  }
  errno = saved;
}

uint64_t hak_os_random(void) {
  uint64_t value;
  int saved = errno;
  ssize_t got = getrandom(&value, sizeof(value), GRND_NONBLOCK);
  errno = saved;
  if (got == (ssize_t)sizeof(value)) return value;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&value;
}
#endif

static bool membarrier_call(int command) {
  return syscall(SYS_membarrier, command, 0, 0) == 0;
}

bool hak_os_barrier_all(void) {
  enum { UNKNOWN, YES, NO };
  static _Atomic(int) registered = UNKNOWN;
  int known = atomic_load_explicit(&registered, memory_order_relaxed);
  int saved = errno;
  if (known == UNKNOWN) {
    known = membarrier_call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ? YES : NO;
    atomic_store_explicit(&registered, known, memory_order_relaxed);
  }
  bool done = known == YES && membarrier_call(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
  if (!done && known == YES) /* a forked child is not registered */
    done = membarrier_call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) &&
           membarrier_call(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
  errno = saved;
  return done;
}

uint64_t hak_os_clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Not mremap: it resizes only a range that is one mapping, and a huge block
 * that has moved or taken in warm pages is several (docs/performance.md). */
bool hak_os_resize_in_place(void* p, size_t old_size, size_t new_size) {
  old_size = hak_os_page_round(old_size);
  new_size = hak_os_page_round(new_size);
  uint8_t* end = (uint8_t*)p + old_size;
  if (new_size <= old_size) {
    os_munmap((uint8_t*)p + new_size, old_size - new_size);
    return true;
  }
  size_t more = new_size - old_size;
  int saved = errno;
  void* got = os_mmap(end, more, MAP_FIXED_NOREPLACE);
  errno = saved;
  if (got == end) return true;
  if (got != NULL) os_munmap(got, more); /* elsewhere: an old kernel's hint */
  return false;
}

/* Two adjacent pages of different protection are two mappings: try to move
 * both in one call, as a grown huge block made of moved pieces needs. */
static bool probe_split_moves(void) {
  size_t page = hak_os_page_size();
  uint8_t* p = os_mmap(NULL, 4 * page, 0);
  if (p == NULL) return false;
  int saved = errno;
  bool split = mprotect(p + page, page, PROT_READ) == 0;
  hak_stat_add(mremap_calls, 1);
  bool moved = split && mremap(p, 2 * page, 2 * page, MREMAP_MAYMOVE | MREMAP_FIXED, p + 2 * page) !=
                            MAP_FAILED;
  errno = saved;
  os_munmap(p, 4 * page); /* a hole where the pages moved from */
  return moved;
}

bool hak_os_moves_split_ranges(void) {
  static _Atomic(int) answer;
  return probed(&answer, probe_split_moves);
}

bool hak_os_move(void* from, size_t size, void* to) {
  size = hak_os_page_round(size);
  hak_stat_add(mremap_calls, 1);
  int saved = errno;
  bool done = mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, to) != MAP_FAILED;
  errno = saved;
  /* The pages at the target were replaced and the source range is gone. */
  if (done) hak_stats_unmapped(size);
  return done;
}
