#include "base/sparse.h"

#include <string.h>

#include "base/err.h"
#include "base/mem.h"

void cg_sparse_block_init(cg_sparse_block *b) { memset(b, 0, sizeof *b); }

void cg_sparse_block_dispose(cg_sparse_block *b) {
  cg_free(b->ptr);
  cg_free(b->idx);
  cg_free(b->val);
  memset(b, 0, sizeof *b);
}

static int grow(void **p, size_t *cap, size_t want, size_t elem) {
  if (want <= *cap) return 0;
  size_t n = *cap ? *cap : 64;
  while (n < want) n *= 2;
  void *q = cg_realloc(*p, n * elem);
  if (!q) return CG_ENOMEM;
  *p = q;
  *cap = n;
  return 0;
}

int cg_sparse_block_reserve(cg_sparse_block *b, int64_t lines, int64_t nnz) {
  size_t ptr_cap = b->ptr_cap, nnz_cap = b->nnz_cap;
  if (grow((void **)&b->ptr, &ptr_cap, (size_t)lines + 1, sizeof *b->ptr)) return CG_ENOMEM;
  b->ptr_cap = ptr_cap;
  size_t c1 = nnz_cap, c2 = nnz_cap;
  if (grow((void **)&b->idx, &c1, (size_t)nnz, sizeof *b->idx)) return CG_ENOMEM;
  if (grow((void **)&b->val, &c2, (size_t)nnz, sizeof *b->val)) return CG_ENOMEM;
  b->nnz_cap = c1 < c2 ? c1 : c2;
  return 0;
}

int cg_sparse_block_check(const cg_sparse_block *b, int64_t n_minor, cg_err *err) {
  if (b->ptr[0] != 0 || b->ptr[b->count] != b->nnz)
    return cg_err_set(err, CG_EFORMAT, "block at line %lld: offsets do not span the %lld entries",
                      (long long)b->first, (long long)b->nnz);
  for (int64_t l = 0; l < b->count; l++) {
    int64_t s = b->ptr[l], e = b->ptr[l + 1];
    if (e < s)
      return cg_err_set(err, CG_EFORMAT, "line %lld: offsets decrease (%lld > %lld)",
                        (long long)(b->first + l), (long long)s, (long long)e);
    for (int64_t k = s; k < e; k++) {
      if ((int64_t)b->idx[k] >= n_minor)
        return cg_err_set(err, CG_EFORMAT, "line %lld: index %u out of range (dimension %lld)",
                          (long long)(b->first + l), b->idx[k], (long long)n_minor);
      if (k > s && b->idx[k] <= b->idx[k - 1])
        return cg_err_set(err, CG_EFORMAT, "line %lld: indices not strictly increasing (%u after %u)",
                          (long long)(b->first + l), b->idx[k], b->idx[k - 1]);
    }
  }
  return 0;
}
