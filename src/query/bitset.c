#include "query/bitset.h"

#include <string.h>

#include "base/err.h"
#include "base/mem.h"

int cg_bitset_init(cg_bitset *b, int64_t n) {
  b->n = 0;
  b->w = NULL;
  if (n < 0) return CG_EINVAL;
  if (n == 0) return 0;
  b->w = cg_calloc((size_t)((n + 63) >> 6), sizeof *b->w);
  if (!b->w) return CG_ENOMEM;
  b->n = n;
  return 0;
}

void cg_bitset_dispose(cg_bitset *b) {
  cg_free(b->w);
  b->w = NULL;
  b->n = 0;
}

/* Clears the bits past n in the last word (invariant of bitset.h). */
static void trim(cg_bitset *b) {
  if (b->n & 63) b->w[b->n >> 6] &= ((uint64_t)1 << (b->n & 63)) - 1;
}

void cg_bitset_fill(cg_bitset *b, int value) {
  if (!b->n) return;
  memset(b->w, value ? 0xff : 0, (size_t)cg_bitset_words(b) * sizeof *b->w);
  trim(b);
}

void cg_bitset_set_range(cg_bitset *b, int64_t lo, int64_t hi) {
  if (lo >= hi) return;
  int64_t wl = lo >> 6, wh = (hi - 1) >> 6;
  uint64_t ml = ~(uint64_t)0 << (lo & 63), mh = ~(uint64_t)0 >> (63 - ((hi - 1) & 63));
  if (wl == wh) {
    b->w[wl] |= ml & mh;
    return;
  }
  b->w[wl] |= ml;
  for (int64_t i = wl + 1; i < wh; i++) b->w[i] = ~(uint64_t)0;
  b->w[wh] |= mh;
}

void cg_bitset_and(cg_bitset *dst, const cg_bitset *src) {
  int64_t nw = cg_bitset_words(dst);
  for (int64_t i = 0; i < nw; i++) dst->w[i] &= src->w[i];
}

int64_t cg_bitset_count(const cg_bitset *b) {
  int64_t c = 0, nw = cg_bitset_words(b);
  for (int64_t i = 0; i < nw; i++) c += __builtin_popcountll(b->w[i]);
  return c;
}

int64_t cg_bitset_next(const cg_bitset *b, int64_t from) {
  if (from < 0) from = 0;
  if (from >= b->n) return -1;
  int64_t i = from >> 6, nw = cg_bitset_words(b);
  uint64_t w = b->w[i] & (~(uint64_t)0 << (from & 63));
  while (!w) {
    if (++i >= nw) return -1;
    w = b->w[i];
  }
  return (i << 6) + __builtin_ctzll(w);
}
