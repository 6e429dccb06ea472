/* Positional command-line parameters with defaults: argv[index] when given,
 * otherwise the fallback.  A malformed value is fatal, so a typo never
 * silently benchmarks the default. */
#ifndef BENCH_ARGS_H
#define BENCH_ARGS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline void arg_die(const char* name, const char* text) {
  fprintf(stderr, "bad %s: '%s'\n", name, text);
  exit(2);
}

static inline uint64_t arg_u64(int argc, char** argv, int index, const char* name,
                               uint64_t fallback) {
  if (index >= argc) return fallback;
  char* end;
  errno = 0;
  unsigned long long v = strtoull(argv[index], &end, 0);
  if (errno != 0 || end == argv[index] || *end != '\0' || argv[index][0] == '-')
    arg_die(name, argv[index]);
  return (uint64_t)v;
}

static inline double arg_f64(int argc, char** argv, int index, const char* name,
                             double fallback) {
  if (index >= argc) return fallback;
  char* end;
  errno = 0;
  double v = strtod(argv[index], &end);
  if (errno != 0 || end == argv[index] || *end != '\0' || !(v >= 0)) arg_die(name, argv[index]);
  return v;
}

#endif
