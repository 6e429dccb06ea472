/* Configuration: HAKMEM_* environment variables, read once at start-up
 * straight from environ (getenv may not be safe this early, and nothing
 * here allocates). */
#include "internal/internal.h"
#include "hakmem.h"

#include <strings.h>
#include <unistd.h>

extern char** environ;

hak_options_t hak_options;

typedef struct option_desc_s {
  const char* name;
  bool* value;
  const char* meaning;
} option_desc_t;

static const option_desc_t option_table[] = {
    {"HAKMEM_VERBOSE", &hak_options.verbose, "print the configuration once at start-up"},
    {"HAKMEM_ABORT_ON_ERROR", &hak_options.abort_on_error,
     "abort() after reporting an invalid or double free"},
};
#define OPTION_COUNT (sizeof(option_table) / sizeof(option_table[0]))

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

void hak_options_print(void) {
  char line[256] = "hakmem " HAKMEM_VERSION " active:";
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    strncat(line, " ", sizeof(line) - strlen(line) - 1);
    strncat(line, option_table[i].name, sizeof(line) - strlen(line) - 1);
    strncat(line, *option_table[i].value ? "=1" : "=0", sizeof(line) - strlen(line) - 1);
  }
  strncat(line, "\n", sizeof(line) - strlen(line) - 1);
  ssize_t ignored = write(STDERR_FILENO, line, strlen(line));
  (void)ignored;
}

void hak_options_init(void) {
  static _Atomic(bool) done;
  if (atomic_exchange_explicit(&done, true, memory_order_acq_rel) || environ == NULL) return;
  for (char** env = environ; *env != NULL; env++) {
    const char* entry = *env;
    if (strncmp(entry, "HAKMEM_", 7) != 0) continue;
    const char* eq = strchr(entry, '=');
    if (eq == NULL) continue;
    size_t name_len = (size_t)(eq - entry);
    const option_desc_t* option = NULL;
    for (size_t i = 0; i < OPTION_COUNT; i++) {
      if (strlen(option_table[i].name) == name_len &&
          strncmp(option_table[i].name, entry, name_len) == 0)
        option = &option_table[i];
    }
    if (option == NULL) {
      warn("unknown option ", entry, " (ignored)");
    } else if (!parse_bool(eq + 1, option->value)) {
      warn("bad value in ", entry, " (expected 1/0, true/false, on/off, yes/no)");
    }
  }
}
