/* sparse.h — a block of compressed sparse lines: the unit in which matrix data streams from a reader (h5ad/)
 * to the bundle writer. A "line" is a row for CSR/dense sources and a column for CSC sources (the source's
 * major axis). The caller owns the block; readers grow its arrays with cg_sparse_block_reserve.
 *
 * Invariants a reader guarantees when it fills a block (the writer relies on them):
 *  1. ptr has count+1 entries, ptr[0] == 0, non-decreasing, ptr[count] == nnz.
 *  2. within a line, idx is strictly increasing and < the minor dimension.
 *  3. val holds float32 values; explicit zeros may be present.
 */
#ifndef CG_BASE_SPARSE_H
#define CG_BASE_SPARSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cg_sparse_block {
  int64_t first; /* index of the first line in the block */
  int64_t count; /* number of lines */
  int64_t nnz;   /* stored entries */
  int64_t *ptr;  /* count+1 offsets into idx/val */
  uint32_t *idx; /* minor-axis indices */
  float *val;    /* values */
  size_t ptr_cap, nnz_cap;
} cg_sparse_block;

void cg_sparse_block_init(cg_sparse_block *b);
void cg_sparse_block_dispose(cg_sparse_block *b);

/* Ensures room for `lines` lines and `nnz` entries (keeps contents); 0 or CG_ENOMEM. */
int cg_sparse_block_reserve(cg_sparse_block *b, int64_t lines, int64_t nnz);

/* Checks invariants 1-2 against minor dimension n_minor; 0 or CG_EFORMAT with the first bad line in err. */
struct cg_err;
int cg_sparse_block_check(const cg_sparse_block *b, int64_t n_minor, struct cg_err *err);

#endif
