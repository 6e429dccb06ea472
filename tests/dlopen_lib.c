/* A plugin loaded by test_dlopen.  It does not link hakmem: its malloc family
 * calls resolve through the global scope to whatever allocator the loading
 * program uses, and its blocks must mix freely with the program's. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

/* Allocated when the library is loaded, freed when it is unloaded. */
static char* greeting;

__attribute__((constructor)) static void plugin_load(void)
{
  greeting = strdup("hello from the plugin");
}

__attribute__((destructor)) static void plugin_unload(void)
{
  free(greeting);
}

const char* plugin_greeting(void)
{
  return greeting;
}

/* Builds "<word> <word> ... " (count copies) through strdup, realloc and free,
 * and returns a malloc'd string the caller frees. */
char* plugin_repeat(const char* word, int count)
{
  char* copy = strdup(word);
  if (copy == NULL) return NULL;
  size_t len = strlen(copy);
  char* out = malloc(1);
  if (out == NULL) {
    free(copy);
    return NULL;
  }
  out[0] = '\0';
  size_t used = 0;
  for (int i = 0; i < count; i++) {
    char* grown = realloc(out, used + len + 2);
    if (grown == NULL) {
      free(out);
      free(copy);
      return NULL;
    }
    out = grown;
    memcpy(out + used, copy, len);
    out[used + len] = ' ';
    out[used + len + 1] = '\0';
    used += len + 1;
  }
  free(copy);
  return out;
}

/* Frees a block the program allocated. */
void plugin_free(void* p)
{
  free(p);
}
