/* Programs for valgrind's memcheck against the debug build (argv[1]):
 *  clean           allocates in every tier, reallocates, frees across
 *                  threads, and frees everything: memcheck must be silent;
 *  leak            loses one 40-byte block: one "definitely lost" record;
 *  use_after_free  reads a freed 64-byte block: one invalid read. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void* free_it(void* p)
{
  free(p);
  return NULL;
}

static void clean(void)
{
  static const size_t sizes[] = {8, 100, 1000, 20000, 300000, 3000000, 9000000};
  enum { COUNT = sizeof sizes / sizeof sizes[0] };
  char* blocks[COUNT];
  for (size_t i = 0; i < COUNT; i++) {
    blocks[i] = malloc(sizes[i]);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], (int)i, sizes[i]);
  }
  for (size_t i = 0; i < COUNT; i++) {
    blocks[i] = realloc(blocks[i], sizes[i] * 2);
    CHECK(blocks[i] != NULL && blocks[i][sizes[i] - 1] == (char)i);
  }
  char* zeroed = calloc(100, 10);
  CHECK(zeroed != NULL && zeroed[999] == 0);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, free_it, zeroed) == 0);
  CHECK(pthread_join(thread, NULL) == 0);
  for (size_t i = 0; i < COUNT; i++) free(blocks[i]);
}

/* Out of line, so that the leak's record names it. */
__attribute__((noinline)) static void leak_one(void)
{
  char* volatile p = malloc(40);
  CHECK(p != NULL);
  p[0] = 1;
  p = NULL;
}

static void use_after_free(void)
{
  char* volatile p = malloc(64);
  CHECK(p != NULL);
  memset(p, 7, 64);
  free(p);
  volatile char c = p[10];
  (void)c;
}

int main(int argc, char** argv)
{
  CHECK(argc == 2);
  if (strcmp(argv[1], "clean") == 0) clean();
  else if (strcmp(argv[1], "leak") == 0) leak_one();
  else if (strcmp(argv[1], "use_after_free") == 0) use_after_free();
  else CHECKF(0, "unknown case %s", argv[1]);
  return 0;
}
