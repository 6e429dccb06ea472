/* The one line the runner parses: "RESULT key=value ..." as the last line of
 * stdout.  ops_per_sec, ops and seconds are always present; a workload may
 * append its own pre-formatted " key=value" pairs in extra. */
#ifndef BENCH_RESULT_H
#define BENCH_RESULT_H

#include <stdint.h>
#include <stdio.h>

static inline void result_print(uint64_t ops, double seconds, const char* extra) {
  printf("RESULT ops_per_sec=%.1f ops=%llu seconds=%.4f%s\n",
         seconds > 0 ? (double)ops / seconds : 0.0, (unsigned long long)ops, seconds, extra);
  fflush(stdout);
}

#endif
