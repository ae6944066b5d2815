/* h5ad_dense.c — dense matrices (a 2-D dataset) streamed as compressed sparse rows.
 *
 * Design notes
 *  1. A block of rows is read in slabs of full rows into a float32 scratch buffer of at most
 *     CG__DENSE_SCRATCH values (HDF5 converts any int/float dtype), then compacted: zeros are dropped, NaN is
 *     kept, +-Inf is CG_EFORMAT naming the row and column. So memory stays bounded whatever the caller's
 *     block size, and the output is the same cg_sparse_block a CSR source gives.
 *  2. Slabs are a whole number of chunk rows when the dataset is chunked (e.g. 7 x 1037 chunks, LZF, in
 *     pbmc5k-protein-dense-lzf.h5ad), and the dataset is opened with a 64 MiB chunk cache, so a chunk that
 *     straddles two slabs or two blocks is decompressed once.
 *  3. Each slab is scanned twice — count the non-zeros, reserve exactly, then copy — so the block arrays grow
 *     to what is kept, not to rows x columns.
 */
#include <math.h>
#include <stdio.h>

#include "base/mem.h"
#include "h5ad/h5ad_internal.h"

#define CG__DENSE_SCRATCH ((int64_t)4 << 20) /* 16 MiB of float32 */

int cg__dense_open(cg_h5ad_matrix *m, cg_err *err) {
  const char *p = m->info.path;
  hid_t dapl = cg__dapl_cache((size_t)64 << 20);
  m->obj = H5Dopen2(m->h->file, p, dapl);
  H5Pclose(dapl);
  if (m->obj < 0) return cg__h5_fail(err, CG_EFORMAT, p, "cannot open");
  hid_t t = H5Dget_type(m->obj), sp = H5Dget_space(m->obj), dcpl = H5Dget_create_plist(m->obj);
  H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
  hsize_t dims[2] = {0, 0}, chunk[2] = {0, 0};
  int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1, rc = 0;
  if (rank == 2) H5Sget_simple_extent_dims(sp, dims, NULL);
  if (t >= 0) cg__dtype_name(t, m->info.dtype, sizeof m->info.dtype);
  if (dcpl >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 2, chunk) == 2) m->chunk_rows = (int64_t)chunk[0];
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) rc = cg_err_set(err, CG_EFORMAT, "%s: dtype %s is not numeric", p, m->info.dtype);
  else if (rank != 2) rc = cg_err_set(err, CG_EFORMAT, "%s: a %d-D array, expected 2-D", p, rank);
  else if (dims[1] >= UINT32_MAX) rc = cg_err_set(err, CG_EUNSUPPORTED, "%s: %llu columns do not fit 32-bit indices", p, (unsigned long long)dims[1]);
  if (t >= 0) H5Tclose(t);
  if (sp >= 0) H5Sclose(sp);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (rc) return rc;
  cg__compression_name(m->obj, m->info.compression, sizeof m->info.compression);
  m->info.format = CG_MAT_DENSE;
  m->info.n_rows = (int64_t)dims[0], m->info.n_cols = (int64_t)dims[1];
  m->info.nnz = m->info.n_rows * m->info.n_cols;
  m->n_major = m->info.n_rows, m->n_minor = m->info.n_cols;
  return 0;
}

static int64_t slab_rows(const cg_h5ad_matrix *m, int64_t count) {
  int64_t r = m->n_minor > 0 ? CG__DENSE_SCRATCH / m->n_minor : count;
  if (r < 1) r = 1;
  if (m->chunk_rows > 0 && r > m->chunk_rows) r -= r % m->chunk_rows;
  return r < count ? r : count;
}

static int read_slab(cg_h5ad_matrix *m, int64_t r0, int64_t rows) {
  hsize_t st[2] = {(hsize_t)r0, 0}, ct[2] = {(hsize_t)rows, (hsize_t)m->n_minor};
  if (rows == 0 || m->n_minor == 0) return 0;
  hid_t fs = H5Dget_space(m->obj), ms = H5Screate_simple(2, ct, NULL);
  int ok = fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, ct, NULL) >= 0 &&
           H5Dread(m->obj, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, m->scratch) >= 0;
  if (ms >= 0) H5Sclose(ms);
  if (fs >= 0) H5Sclose(fs);
  return ok ? 0 : -1;
}

/* Appends the non-zeros of `rows` scratch rows (block lines l0..) to b. */
static int compact(cg_h5ad_matrix *m, cg_sparse_block *b, int64_t l0, int64_t rows, cg_err *err) {
  const float *s = m->scratch;
  int64_t total = rows * m->n_minor, nz = 0;
  for (int64_t i = 0; i < total; i++) nz += s[i] != 0.0f;
  if (cg_sparse_block_reserve(b, b->count, b->nnz + nz))
    return cg_err_set(err, CG_ENOMEM, "%s: out of memory for %lld entries", m->info.path, (long long)(b->nnz + nz));
  int64_t k = b->nnz;
  for (int64_t r = 0; r < rows; r++, s += m->n_minor) {
    for (int64_t c = 0; c < m->n_minor; c++) {
      if (s[c] == 0.0f) continue;
      if (isinf(s[c]))
        return cg_err_set(err, CG_EFORMAT, "%s: row %lld, column %lld: %s (or beyond float32 range)", m->info.path,
                          (long long)(b->first + l0 + r), (long long)c, s[c] > 0 ? "+Inf" : "-Inf");
      b->idx[k] = (uint32_t)c;
      b->val[k++] = s[c];
    }
    b->ptr[l0 + r + 1] = k;
  }
  b->nnz = k;
  return 0;
}

int cg__dense_read_block(cg_h5ad_matrix *m, int64_t first, int64_t count, cg_sparse_block *b, cg_err *err) {
  int64_t per = slab_rows(m, count);
  size_t want = (size_t)(per > 0 ? per : 1) * (size_t)(m->n_minor > 0 ? m->n_minor : 1);
  if (want > m->scratch_cap) {
    cg_free(m->scratch);
    m->scratch_cap = 0;
    if (!(m->scratch = cg_malloc_array(want, sizeof(float))))
      return cg_err_set(err, CG_ENOMEM, "%s: out of memory", m->info.path);
    m->scratch_cap = want;
  }
  if (cg_sparse_block_reserve(b, count, 0)) return cg_err_set(err, CG_ENOMEM, "%s: out of memory", m->info.path);
  b->ptr[0] = 0;
  b->nnz = 0;
  for (int64_t l0 = 0; l0 < count; l0 += per) {
    int64_t rows = count - l0 < per ? count - l0 : per;
    if (read_slab(m, first + l0, rows))
      return cg__h5_fail(err, CG_EFORMAT, m->info.path, "cannot read rows %lld..%lld", (long long)(first + l0),
                         (long long)(first + l0 + rows));
    int rc = compact(m, b, l0, rows, err);
    if (rc) return rc;
  }
  return 0;
}
