/* Statistics.  The OS-level counters are always kept: they change only
 * when a system call is made, never on a malloc/free fast path. */
#include "internal/internal.h"

hak_os_stats_t hak_os_stats;

void hak_stats_mapped(size_t bytes) {
  size_t now = atomic_fetch_add_explicit(&hak_os_stats.mapped, bytes, memory_order_relaxed) + bytes;
  size_t peak = hak_load_relaxed(&hak_os_stats.mapped_peak);
  while (now > peak &&
         !atomic_compare_exchange_weak_explicit(&hak_os_stats.mapped_peak, &peak, now,
                                                memory_order_relaxed, memory_order_relaxed)) {
  }
}

void hak_stats_unmapped(size_t bytes) {
  atomic_fetch_sub_explicit(&hak_os_stats.mapped, bytes, memory_order_relaxed);
}
