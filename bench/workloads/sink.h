/* Keeps allocations observable: GCC may delete a malloc/free pair whose block
 * is never looked at.  Workloads fold their pointers into a local accumulator
 * and publish it here once, so each malloc result provably matters without a
 * volatile access per operation. */
#ifndef BENCH_SINK_H
#define BENCH_SINK_H

#include <stdint.h>

static volatile uintptr_t sink;

static inline void sink_publish(uintptr_t acc) { sink ^= acc; }

#endif
