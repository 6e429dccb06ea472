/* hakmem's statistics as the tests read them: numbers from hak_stats_json. */
#ifndef HAKMEM_TEST_STATS_JSON_H
#define HAKMEM_TEST_STATS_JSON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hakmem.h"

/* The number after "key": in a JSON object, or SIZE_MAX if absent. */
static inline size_t json_number(const char* json, const char* key)
{
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char* at = strstr(json, pattern);
  if (at == NULL) return SIZE_MAX;
  return (size_t)strtoull(at + strlen(pattern), NULL, 10);
}

static inline size_t stat_now(const char* key)
{
  char json[2048];
  size_t n = hak_stats_json(json, sizeof json);
  CHECKF(n < sizeof json, "json needs %zu bytes", n);
  size_t value = json_number(json, key);
  CHECKF(value != SIZE_MAX, "no %s in %s", key, json);
  return value;
}

#endif
