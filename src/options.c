/* Configuration: HAKMEM_* environment variables, read once at start-up
 * straight from environ (getenv may not be safe this early, and nothing
 * here allocates).  docs/options.md repeats the table below; a test checks
 * the two agree. */
#include "internal/internal.h"
#include "hakmem.h"

#include <stdio.h>
#include <strings.h>
#include <unistd.h>

extern char** environ;

hak_options_t hak_options;

typedef enum option_kind_e { OPTION_BOOL, OPTION_MODE, OPTION_MS, OPTION_SIZE } option_kind_t;

typedef struct option_desc_s {
  const char* name;
  option_kind_t kind;
  void* value;
} option_desc_t;

/* What each option means, and each mode's values, are in docs/options.md. */
static const option_desc_t option_table[] = {
    {"HAKMEM_MODE", OPTION_MODE, &hak_options.mode},
    {"HAKMEM_PURGE_DELAY_MS", OPTION_MS, &hak_options.purge_delay_ms},
    {"HAKMEM_CACHE_MAX", OPTION_SIZE, &hak_options.cache_max},
    {"HAKMEM_PAGE_PURGE_DELAY_MS", OPTION_MS, &hak_options.page_purge_delay_ms},
    {"HAKMEM_EXIT_PURGE", OPTION_BOOL, &hak_options.exit_purge},
    {"HAKMEM_PURGE_THREAD", OPTION_BOOL, &hak_options.purge_thread},
    {"HAKMEM_SHOW_STATS", OPTION_BOOL, &hak_options.show_stats},
    {"HAKMEM_VERBOSE", OPTION_BOOL, &hak_options.verbose},
    {"HAKMEM_ABORT_ON_ERROR", OPTION_BOOL, &hak_options.abort_on_error},
};
#define OPTION_COUNT (sizeof(option_table) / sizeof(option_table[0]))

static const char* const mode_names[] = {"speed", "balanced", "lean"};

typedef struct mode_defaults_s {
  uint64_t purge_delay_ms;
  size_t cache_max;
  uint64_t page_purge_delay_ms;
  bool exit_purge;
} mode_defaults_t;

static const mode_defaults_t mode_defaults[] = {
    [HAK_MODE_SPEED] = {1000, (size_t)1 << 30, 5000, false},
    [HAK_MODE_BALANCED] = {50, (size_t)256 << 20, 500, true},
    [HAK_MODE_LEAN] = {0, (size_t)64 << 20, 50, true},
};

static void warn(const char* a, const char* b, const char* c) {
  const char* parts[] = {"hakmem: warning: ", a, b, c, "\n"};
  for (size_t i = 0; i < 5; i++) {
    ssize_t ignored = write(STDERR_FILENO, parts[i], strlen(parts[i]));
    (void)ignored;
  }
}

static bool parse_bool(const char* text, bool* out) {
  static const char* const yes[] = {"1", "true", "on", "yes"};
  static const char* const no[] = {"0", "false", "off", "no"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(text, yes[i]) == 0) return *out = true, true;
    if (strcasecmp(text, no[i]) == 0) return *out = false, true;
  }
  return false;
}

/* A decimal number with an optional K, M or G suffix (powers of 1024) when
 * `scaled`; false on anything else or on overflow. */
static bool parse_number(const char* text, bool scaled, uint64_t* out) {
  uint64_t value = 0;
  const char* c = text;
  if (*c < '0' || *c > '9') return false;
  for (; *c >= '0' && *c <= '9'; c++) {
    if (__builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, (uint64_t)(*c - '0'), &value))
      return false;
  }
  unsigned shift = 0;
  if (scaled && *c != '\0') {
    const char* suffixes = "KMG";
    const char* found = strchr(suffixes, *c & ~0x20);
    if (found == NULL) return false;
    shift = 10 * (unsigned)(found - suffixes + 1);
    c++;
    if ((*c & ~0x20) == 'B') c++;
  }
  if (*c != '\0' || (shift > 0 && value > (UINT64_MAX >> shift))) return false;
  *out = value << shift;
  return true;
}

static bool parse_option(const option_desc_t* option, const char* text) {
  uint64_t number;
  switch (option->kind) {
    case OPTION_BOOL:
      return parse_bool(text, option->value);
    case OPTION_MODE:
      for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, mode_names[i]) == 0) return *(hak_mode_t*)option->value = i, true;
      }
      return false;
    case OPTION_MS:
      if (!parse_number(text, false, &number)) return false;
      *(uint64_t*)option->value = number;
      return true;
    case OPTION_SIZE:
      if (!parse_number(text, true, &number)) return false;
      *(size_t*)option->value = (size_t)number;
      return true;
  }
  return false;
}

/* name=value of an option in effect, into out (at most n bytes). */
static void format_option(const option_desc_t* option, char* out, size_t n) {
  switch (option->kind) {
    case OPTION_BOOL:
      snprintf(out, n, "%s=%d", option->name, *(bool*)option->value);
      break;
    case OPTION_MODE:
      snprintf(out, n, "%s=%s", option->name, mode_names[*(hak_mode_t*)option->value]);
      break;
    case OPTION_MS:
      snprintf(out, n, "%s=%llu", option->name,
               (unsigned long long)*(uint64_t*)option->value);
      break;
    case OPTION_SIZE: {
      size_t v = *(size_t*)option->value;
      const char* unit = "";
      if (v != 0 && v % ((size_t)1 << 30) == 0) v >>= 30, unit = "G";
      else if (v != 0 && v % ((size_t)1 << 20) == 0) v >>= 20, unit = "M";
      else if (v != 0 && v % ((size_t)1 << 10) == 0) v >>= 10, unit = "K";
      snprintf(out, n, "%s=%zu%s", option->name, v, unit);
      break;
    }
  }
}

/* The build variant, so that a banner tells which library is loaded. */
#if HAKMEM_SECURE && HAKMEM_DEBUG
#define BUILD_VARIANT " (secure, debug)"
#elif HAKMEM_SECURE
#define BUILD_VARIANT " (secure)"
#elif HAKMEM_DEBUG
#define BUILD_VARIANT " (debug)"
#else
#define BUILD_VARIANT ""
#endif

void hak_options_print(void) {
  char line[512] = "hakmem " HAKMEM_VERSION BUILD_VARIANT " active:";
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    char item[96];
    format_option(&option_table[i], item, sizeof(item));
    strncat(line, " ", sizeof(line) - strlen(line) - 1);
    strncat(line, item, sizeof(line) - strlen(line) - 1);
  }
  strncat(line, "\n", sizeof(line) - strlen(line) - 1);
  ssize_t ignored = write(STDERR_FILENO, line, strlen(line));
  (void)ignored;
}

/* Whether the environment set the option stored at value. */
static bool was_given(const bool* given, const void* value) {
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    if (option_table[i].value == value) return given[i];
  }
  return false;
}

void hak_options_init(void) {
  static _Atomic(bool) done;
  if (atomic_exchange_explicit(&done, true, memory_order_acq_rel)) return;
  hak_options.mode = HAK_MODE_BALANCED;
  hak_options.purge_thread = true;
  /* What the environment leaves unset the mode decides, below. */
  bool given[OPTION_COUNT] = {false};
  for (char** env = environ; env != NULL && *env != NULL; env++) {
    const char* entry = *env;
    if (strncmp(entry, "HAKMEM_", 7) != 0) continue;
    const char* eq = strchr(entry, '=');
    if (eq == NULL) continue;
    size_t name_len = (size_t)(eq - entry);
    size_t i = 0;
    while (i < OPTION_COUNT && !(strlen(option_table[i].name) == name_len &&
                                 strncmp(option_table[i].name, entry, name_len) == 0))
      i++;
    if (i == OPTION_COUNT) {
      warn("unknown option ", entry, " (ignored)");
    } else if (parse_option(&option_table[i], eq + 1)) {
      given[i] = true;
    } else {
      warn("bad value in ", entry, " (ignored; see docs/options.md)");
    }
  }
  const mode_defaults_t* d = &mode_defaults[hak_options.mode];
  if (!was_given(given, &hak_options.purge_delay_ms)) hak_options.purge_delay_ms = d->purge_delay_ms;
  if (!was_given(given, &hak_options.cache_max)) hak_options.cache_max = d->cache_max;
  if (!was_given(given, &hak_options.page_purge_delay_ms))
    hak_options.page_purge_delay_ms = d->page_purge_delay_ms;
  if (!was_given(given, &hak_options.exit_purge)) hak_options.exit_purge = d->exit_purge;
}
