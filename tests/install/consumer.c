/* A program built against an installed hakmem: its malloc must be hakmem's. */
#include <hakmem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
  char* p = malloc(10);
  if (p == NULL || !hak_owns(p)) {
    fprintf(stderr, "consumer: malloc(10) = %p is not hakmem's\n", (void*)p);
    return 1;
  }
  strcpy(p, "ok");
  printf("consumer: hakmem %s owns malloc(10): %s\n", HAKMEM_VERSION, p);
  free(p);
  return 0;
}
