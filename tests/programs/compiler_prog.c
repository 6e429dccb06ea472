/* The program compiler.sh builds against its freshly compiled copy of
 * hakmem: word counting in a hash table of malloc'd nodes and strings, a
 * growing realloc'd array sorted with qsort, calloc'd buckets, and a few
 * answers from hakmem's own API.  Everything it prints follows from its
 * input, so two builds that work print the same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"

#define BUCKETS 4096
#define WORDS 200000

typedef struct node {
  struct node* next;
  char* word;
  unsigned count;
} node_t;

static uint64_t state = 12345;

static uint64_t next_random(void)
{
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return state >> 33;
}

static unsigned hash(const char* s)
{
  unsigned h = 2166136261u;
  for (; *s != '\0'; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static int by_count_then_word(const void* a, const void* b)
{
  const node_t* x = *(node_t* const*)a;
  const node_t* y = *(node_t* const*)b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return strcmp(x->word, y->word);
}

int main(void)
{
  node_t** buckets = calloc(BUCKETS, sizeof *buckets);
  if (buckets == NULL) return 1;
  size_t distinct = 0;
  char word[32];
  for (int i = 0; i < WORDS; i++) {
    size_t len = 1 + next_random() % 4;
    for (size_t j = 0; j < len; j++) word[j] = (char)('a' + next_random() % 12);
    word[len] = '\0';
    node_t** slot = &buckets[hash(word) % BUCKETS];
    while (*slot != NULL && strcmp((*slot)->word, word) != 0) slot = &(*slot)->next;
    if (*slot == NULL) {
      node_t* n = malloc(sizeof *n);
      if (n == NULL || (n->word = strdup(word)) == NULL) return 1;
      n->next = NULL;
      n->count = 0;
      *slot = n;
      distinct++;
    }
    (*slot)->count++;
  }

  node_t** all = NULL;
  size_t count = 0, capacity = 0;
  for (int b = 0; b < BUCKETS; b++) {
    for (node_t* n = buckets[b]; n != NULL; n = n->next) {
      if (count == capacity) {
        capacity = capacity == 0 ? 16 : capacity * 2;
        node_t** grown = realloc(all, capacity * sizeof *all);
        if (grown == NULL) return 1;
        all = grown;
      }
      all[count++] = n;
    }
  }
  qsort(all, count, sizeof *all, by_count_then_word);
  printf("%zu distinct words of %d\n", distinct, WORDS);
  for (size_t i = 0; i < 5 && i < count; i++) printf("%s %u\n", all[i]->word, all[i]->count);

  void* probe = malloc(100);
  printf("usable size of 100 bytes: %zu, owned: %d\n", hak_usable_size(probe), hak_owns(probe));
  free(probe);
  for (size_t i = 0; i < count; i++) {
    free(all[i]->word);
    free(all[i]);
  }
  free(all);
  free(buckets);
  return 0;
}
