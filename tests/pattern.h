/* Per-block fill patterns.  Every 8-byte word of a block gets a value derived
 * from the block's random tag and the word's index, so a block that overlaps
 * another, holds allocator metadata or was handed out twice shows up as a
 * mismatch when it is checked before being freed. */
#ifndef HAKMEM_TEST_PATTERN_H
#define HAKMEM_TEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A block under test: where it is, how long, and the tag of its pattern. */
typedef struct {
  void* p;
  size_t size;
  uint64_t tag;
} block_t;

static inline uint64_t pattern_word(uint64_t tag, size_t index)
{
  return tag ^ ((uint64_t)index * 0x9E3779B97F4A7C15ull);
}

/* The byte the pattern puts at offset off. */
static inline unsigned char pattern_byte(uint64_t tag, size_t off)
{
  uint64_t w = pattern_word(tag, off / 8);
  return ((const unsigned char*)&w)[off % 8];
}

/* p must be 8-byte aligned (every hakmem block is). */
static inline void pattern_fill(void* p, size_t n, uint64_t tag)
{
  uint64_t* w = (uint64_t*)p;
  size_t words = n / 8;
  for (size_t i = 0; i < words; i++) w[i] = pattern_word(tag, i);
  uint64_t last = pattern_word(tag, words);
  memcpy((unsigned char*)p + words * 8, &last, n % 8);
}

/* Offset of the first byte of p[0..n) that differs from the pattern, or
 * SIZE_MAX when all match.  The fast path is a branch-free scan. */
static inline size_t pattern_mismatch(const void* p, size_t n, uint64_t tag)
{
  const uint64_t* w = (const uint64_t*)p;
  size_t words = n / 8;
  uint64_t diff = 0;
  for (size_t i = 0; i < words; i++) diff |= w[i] ^ pattern_word(tag, i);
  const unsigned char* b = (const unsigned char*)p;
  for (size_t off = words * 8; off < n; off++) diff |= b[off] ^ pattern_byte(tag, off);
  if (diff == 0) return SIZE_MAX;
  for (size_t off = 0; off < n; off++)
    if (b[off] != pattern_byte(tag, off)) return off;
  return SIZE_MAX;
}

#endif
