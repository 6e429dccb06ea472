/* A dlopen'ed library that does not link hakmem still allocates from hakmem:
 * blocks cross between it and the program in both directions, including
 * blocks it allocates while being loaded and frees while being unloaded. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hakmem.h"

typedef const char* (*greeting_fn)(void);
typedef char* (*repeat_fn)(const char*, int);
typedef void (*free_fn)(void*);

static void* symbol(void* lib, const char* name)
{
  void* sym = dlsym(lib, name);
  CHECKF(sym != NULL, "%s: %s", name, dlerror());
  return sym;
}

static void load_use_unload(void)
{
  void* lib = dlopen(DLOPEN_LIB_PATH, RTLD_NOW | RTLD_LOCAL);
  CHECKF(lib != NULL, "%s", dlerror());
  greeting_fn greeting = (greeting_fn)symbol(lib, "plugin_greeting");
  repeat_fn repeat = (repeat_fn)symbol(lib, "plugin_repeat");
  free_fn plugin_free = (free_fn)symbol(lib, "plugin_free");

  CHECK(strcmp(greeting(), "hello from the plugin") == 0);
  CHECK(hak_owns(greeting()));

  for (int count = 1; count <= 2000; count *= 3) {
    char* s = repeat("hakmem", count);
    CHECKF(s != NULL && hak_owns(s), "count=%d", count);
    CHECK(strlen(s) == (size_t)count * 7);
    CHECK(strncmp(s, "hakmem hakmem", count > 1 ? 13 : 7) == 0);
    free(s);
  }

  /* And the other way: the plugin frees what the program allocated. */
  const size_t sizes[] = {10, 3000, 100000, 3 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char* p = malloc(sizes[i]);
    CHECK(p != NULL);
    memset(p, 1, sizes[i]);
    plugin_free(p);
  }
  CHECK(dlclose(lib) == 0);
}

int main(void)
{
  /* Twice: unloading must not leave anything behind that breaks a reload. */
  load_use_unload();
  load_use_unload();
  char* p = malloc(100);
  CHECK(p != NULL && hak_owns(p));
  free(p);
  check_report("test_dlopen");
  return 0;
}
