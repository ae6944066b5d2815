/* bitset.h — a fixed-size set of row numbers 0..n-1 (a selection of cells or genes), 64 rows per word.
 *
 * A cg_bitset is a small caller-owned value: cg_bitset_init allocates the words (all clear) and
 * cg_bitset_dispose releases them (a zeroed or disposed bitset may be disposed again). Bits at positions >= n
 * in the last word are always 0, so counts and word-wise operations need no masking by callers.
 * Not thread-safe for writing; any number of threads may read a bitset nobody writes.
 */
#ifndef CG_QUERY_BITSET_H
#define CG_QUERY_BITSET_H

#include <stdint.h>

typedef struct cg_bitset {
  uint64_t *w; /* (n + 63) / 64 words */
  int64_t n;   /* number of bits */
} cg_bitset;

/* 0 or CG_ENOMEM (then *b is zeroed). n >= 0 (0 gives an empty set with no words). */
int cg_bitset_init(cg_bitset *b, int64_t n);
void cg_bitset_dispose(cg_bitset *b);

static inline int64_t cg_bitset_words(const cg_bitset *b) { return (b->n + 63) >> 6; }
static inline int cg_bitset_test(const cg_bitset *b, int64_t i) { return (int)((b->w[i >> 6] >> (i & 63)) & 1u); }
static inline void cg_bitset_set(cg_bitset *b, int64_t i) { b->w[i >> 6] |= (uint64_t)1 << (i & 63); }
static inline void cg_bitset_clear(cg_bitset *b, int64_t i) { b->w[i >> 6] &= ~((uint64_t)1 << (i & 63)); }

void cg_bitset_fill(cg_bitset *b, int value);                  /* every bit to value (0/1) */
void cg_bitset_set_range(cg_bitset *b, int64_t lo, int64_t hi); /* bits [lo, hi), 0 <= lo <= hi <= n */
void cg_bitset_and(cg_bitset *dst, const cg_bitset *src);       /* same n */
int64_t cg_bitset_count(const cg_bitset *b);
int64_t cg_bitset_next(const cg_bitset *b, int64_t from); /* first set bit >= from, or -1 */

#endif
