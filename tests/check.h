/* Minimal assertions for the hakmem tests.  A failed check prints file, line,
 * the expression and optional context, then ends the process at once with
 * status 1: after a failure the heap may be corrupt, so nothing else runs. */
#ifndef HAKMEM_TEST_CHECK_H
#define HAKMEM_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long check_count;

__attribute__((noreturn, format(printf, 4, 5)))
static void check_fail(const char* file, int line, const char* expr, const char* fmt, ...)
{
  fprintf(stderr, "%s:%d: check failed: %s", file, line, expr);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  _Exit(1);
}

/* CHECKF(expr, fmt, ...) also prints the formatted context on failure. */
#define CHECKF(expr, fmt, ...)                                               \
  do {                                                                       \
    __atomic_fetch_add(&check_count, 1, __ATOMIC_RELAXED);                   \
    if (!(expr))                                                             \
      check_fail(__FILE__, __LINE__, #expr, " (" fmt ")", __VA_ARGS__);      \
  } while (0)

#define CHECK(expr)                                                          \
  do {                                                                       \
    __atomic_fetch_add(&check_count, 1, __ATOMIC_RELAXED);                   \
    if (!(expr)) check_fail(__FILE__, __LINE__, #expr, "%s", "");            \
  } while (0)

static inline void check_report(const char* test)
{
  printf("%s: %lu checks passed\n", test, __atomic_load_n(&check_count, __ATOMIC_RELAXED));
}

#endif
