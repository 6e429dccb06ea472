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

/* Bytes [from, to) of block p get their pattern.  p and from must be 8-byte
 * aligned (every hakmem block is). */
static inline void pattern_fill_range(void* p, size_t from, size_t to, uint64_t tag)
{
  uint64_t* w = (uint64_t*)p;
  size_t end = to / 8;
  for (size_t i = from / 8; i < end; i++) w[i] = pattern_word(tag, i);
  uint64_t last = pattern_word(tag, end);
  memcpy((unsigned char*)p + end * 8, &last, to % 8);
}

static inline void pattern_fill(void* p, size_t n, uint64_t tag)
{
  pattern_fill_range(p, 0, n, tag);
}

/* Offset of the first byte of p[from..to) that differs from the pattern, or
 * SIZE_MAX when all match.  The fast path is a branch-free scan. */
static inline size_t pattern_mismatch_range(const void* p, size_t from, size_t to, uint64_t tag)
{
  const uint64_t* w = (const uint64_t*)p;
  size_t end = to / 8;
  uint64_t diff = 0;
  for (size_t i = from / 8; i < end; i++) diff |= w[i] ^ pattern_word(tag, i);
  const unsigned char* b = (const unsigned char*)p;
  for (size_t off = end * 8; off < to; off++) diff |= b[off] ^ pattern_byte(tag, off);
  if (diff == 0) return SIZE_MAX;
  for (size_t off = from; off < to; off++)
    if (b[off] != pattern_byte(tag, off)) return off;
  return SIZE_MAX;
}

static inline size_t pattern_mismatch(const void* p, size_t n, uint64_t tag)
{
  return pattern_mismatch_range(p, 0, n, tag);
}

#endif
