/* Statistics and their reports.  The OS-level and page-level figures are
 * always kept: they change only on system calls and page changes, never on
 * a malloc/free fast path.  Per-call counters exist only in builds with
 * HAKMEM_STATS=1.  Reports are formatted into caller or stack buffers with
 * snprintf, so printing never allocates. */
#include "internal/internal.h"
#include "hakmem.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

hak_stats_t hak_stats;

static void raise_peak(_Atomic(size_t)* peak, size_t now) {
  size_t seen = hak_load_relaxed(peak);
  while (now > seen && !atomic_compare_exchange_weak_explicit(peak, &seen, now, memory_order_relaxed,
                                                              memory_order_relaxed)) {
  }
}

static size_t committed_now(void) {
  return hak_load_relaxed(&hak_stats.reserved) - hak_load_relaxed(&hak_stats.purged_now);
}

void hak_stats_mapped(size_t bytes) {
  size_t now = hak_stat_add(reserved, bytes) + bytes;
  raise_peak(&hak_stats.reserved_peak, now);
  raise_peak(&hak_stats.committed_peak, committed_now());
}

void hak_stats_unmapped(size_t bytes) {
  hak_stat_sub(reserved, bytes);
}

void hak_stats_purged(size_t bytes) {
  hak_stat_add(purged_now, bytes);
  hak_stat_add(purged_total, bytes);
}

void hak_stats_unpurged(size_t bytes) {
  hak_stat_sub(purged_now, bytes);
  raise_peak(&hak_stats.committed_peak, committed_now());
}

/* ---- reports ---------------------------------------------------------------- */

typedef struct text_s {
  char* buf;
  size_t size;
  size_t len; /* what the whole text needs, even past size */
} text_t;

__attribute__((format(printf, 2, 3))) static void put(text_t* t, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = t->len < t->size ? t->size - t->len : 0;
  int n = vsnprintf(room > 0 ? t->buf + t->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0) t->len += (size_t)n;
}

#define LOAD(field) hak_load_relaxed(&hak_stats.field)
#define MIB(bytes) ((double)(bytes) / (1024.0 * 1024.0))

static void format_text(text_t* t) {
  put(t, "hakmem %s statistics\n", HAKMEM_VERSION);
  put(t, "  reserved   %10.1f MiB  (peak %.1f MiB)  address space mapped\n", MIB(LOAD(reserved)),
      MIB(LOAD(reserved_peak)));
  put(t, "  committed  %10.1f MiB  (peak %.1f MiB)  reserved less purged\n", MIB(committed_now()),
      MIB(LOAD(committed_peak)));
  put(t, "  purged     %10.1f MiB  given back so far\n", MIB(LOAD(purged_total)));
  put(t, "  pages      %10.1f MiB  in pages in use, in %zu segments\n", MIB(LOAD(page_bytes)),
      LOAD(segments));
  put(t, "  huge       %10.1f MiB  in %zu huge blocks\n", MIB(LOAD(huge_bytes)), LOAD(huge_blocks));
  put(t, "  cached     %10.1f MiB  freed segments kept for reuse\n", MIB(LOAD(cached_bytes)));
  put(t, "  metadata   %10.1f MiB  segment headers and heaps\n", MIB(LOAD(metadata_bytes)));
  put(t, "  syscalls   mmap %zu, munmap %zu, mremap %zu, madvise %zu\n", LOAD(mmap_calls),
      LOAD(munmap_calls), LOAD(mremap_calls), LOAD(madvise_calls));
#if HAKMEM_STATS
  put(t, "  calls      malloc %zu (slow path %zu), free %zu (remote %zu)\n", LOAD(malloc_calls),
      LOAD(malloc_slow), LOAD(free_calls), LOAD(free_remote));
  put(t, "  pages      made %zu, retired %zu\n", LOAD(pages_made), LOAD(pages_retired));
  put(t, "  by size    block size: allocations / frees\n");
  for (size_t bin = 1; bin <= HAK_BIN_HUGE; bin++) {
    size_t allocs = LOAD(bin_allocs[bin]), frees = LOAD(bin_frees[bin]);
    if (allocs == 0 && frees == 0) continue;
    if (bin == HAK_BIN_HUGE) put(t, "    %10s: %zu / %zu\n", "huge", allocs, frees);
    else put(t, "    %10zu: %zu / %zu\n", hak_bin_block_size(bin), allocs, frees);
  }
#else
  put(t, "  (per-call counters: build with -DHAKMEM_STATS=ON)\n");
#endif
}

static void format_json(text_t* t) {
  put(t, "{\"version\":\"%s\",\"reserved\":%zu,\"reserved_peak\":%zu,", HAKMEM_VERSION, LOAD(reserved),
      LOAD(reserved_peak));
  put(t, "\"committed\":%zu,\"committed_peak\":%zu,\"purged_total\":%zu,", committed_now(),
      LOAD(committed_peak), LOAD(purged_total));
  put(t, "\"page_bytes\":%zu,\"segments\":%zu,\"huge_bytes\":%zu,\"huge_blocks\":%zu,", LOAD(page_bytes),
      LOAD(segments), LOAD(huge_bytes), LOAD(huge_blocks));
  put(t, "\"cached_bytes\":%zu,\"metadata_bytes\":%zu,", LOAD(cached_bytes), LOAD(metadata_bytes));
  put(t, "\"syscalls\":{\"mmap\":%zu,\"munmap\":%zu,\"mremap\":%zu,\"madvise\":%zu},", LOAD(mmap_calls),
      LOAD(munmap_calls), LOAD(mremap_calls), LOAD(madvise_calls));
#if HAKMEM_STATS
  put(t, "\"calls\":{\"malloc\":%zu,\"malloc_slow\":%zu,\"free\":%zu,\"free_remote\":%zu,", LOAD(malloc_calls),
      LOAD(malloc_slow), LOAD(free_calls), LOAD(free_remote));
  put(t, "\"pages_made\":%zu,\"pages_retired\":%zu}}", LOAD(pages_made), LOAD(pages_retired));
#else
  put(t, "\"calls\":null}");
#endif
}

size_t hak_stats_json(char* buf, size_t size) {
  text_t t = {buf, size, 0};
  if (size > 0) buf[0] = '\0';
  format_json(&t);
  return t.len;
}

void hak_stats_print(FILE* out) {
  char buf[4096];
  text_t t = {buf, sizeof(buf), 0};
  format_text(&t);
  fputs(buf, out);
}

/* For HAKMEM_SHOW_STATS and malloc_stats(): straight to stderr. */
void hak_stats_write_stderr(void) {
  char buf[4096];
  text_t t = {buf, sizeof(buf), 0};
  format_text(&t);
  size_t len = t.len < sizeof(buf) ? t.len : sizeof(buf) - 1;
  ssize_t ignored = write(STDERR_FILENO, buf, len);
  (void)ignored;
}

hak_mallinfo_t hak_stats_mallinfo(void) {
  size_t pages = LOAD(page_bytes);
  size_t huge = LOAD(huge_bytes);
  size_t in_segments = LOAD(reserved) - huge - LOAD(cached_bytes);
  return (hak_mallinfo_t){
      .arena = in_segments,
      .ordblks = LOAD(segments) - LOAD(huge_blocks),
      .hblks = LOAD(huge_blocks),
      .hblkhd = huge,
      .usmblks = LOAD(reserved_peak),
      .uordblks = pages + huge,
      .fordblks = in_segments > pages ? in_segments - pages : 0,
      .keepcost = LOAD(cached_bytes),
  };
}

int hak_stats_xml(FILE* out) {
  hak_mallinfo_t mi = hak_stats_mallinfo();
  fprintf(out, "<malloc version=\"hakmem-%s\">\n", HAKMEM_VERSION);
  fprintf(out, "<heap nr=\"0\">\n<total type=\"pages\" count=\"%zu\" size=\"%zu\"/>\n", mi.ordblks,
          mi.uordblks - mi.hblkhd);
  fprintf(out, "<total type=\"huge\" count=\"%zu\" size=\"%zu\"/>\n</heap>\n", mi.hblks, mi.hblkhd);
  fprintf(out, "<total type=\"cached\" size=\"%zu\"/>\n", mi.keepcost);
  fprintf(out, "<system type=\"current\" size=\"%zu\"/>\n", LOAD(reserved));
  fprintf(out, "<system type=\"max\" size=\"%zu\"/>\n", LOAD(reserved_peak));
  fprintf(out, "<system type=\"committed\" size=\"%zu\"/>\n", committed_now());
  fprintf(out, "<system type=\"purged\" size=\"%zu\"/>\n", LOAD(purged_total));
  fprintf(out, "</malloc>\n");
  return 0;
}
