/* h5ad_matrix.c — X, raw.X and layers: open, validate shape, stream compressed sparse lines in blocks.
 *
 * Design notes
 *  1. Which matrix:  "X" -> /X (absent or encoding-type null -> CG_MAT_ABSENT, not an error)
 *                    "raw" -> /raw/X with /raw/var, or legacy /raw.X with /raw.var
 *                    "layer:NAME" -> /layers/NAME
 *     A dataset is dense (h5ad_dense.c); a group is sparse when encoding-type is csr_matrix/csc_matrix or,
 *     before 0.7, when h5sparse_format is csr/csc; the shape comes from `shape` or `h5sparse_shape`.
 *  2. Open checks what is cheap: shape vs n_obs and n_vars (raw: the length of raw var), 1-D datasets,
 *     len(indptr) == n_major + 1, len(indices) == len(data), indptr[0] == 0 and indptr[n_major] <= len(data).
 *     read_block checks the rest, line by line, for exactly the lines it returns.
 *  3. read_block(first, count) = three hyperslab reads: indptr[first .. first+count] (count+1 values as
 *     int64), then data[p0 .. p1) straight into blk->val as float32 and indices[p0 .. p1) straight into
 *     blk->idx as uint32 (HDF5 converts; nothing else is held in memory). int32 indices are read without
 *     conversion (a negative one shows up as >= 2^31); wider ones convert with an exception callback that
 *     writes UINT32_MAX for a value out of uint32 range, so the range check reports it.
 *     When data/indices need no conversion and are chunked with deflate, LZF or no filter, their chunks are
 *     read raw and inflated on two threads instead (h5ad_chunks.c; same bytes, ~3x less wall time), with
 *     the hyperslab read as the fallback for anything unusual.
 *  4. The check: offsets non-decreasing and within data; indices < n_minor and strictly increasing within a
 *     line (unsorted or duplicate indices are an error: the bundle writer relies on sorted lines); no +-Inf
 *     value (a float64 beyond float32 range converts to Inf and is reported the same way). NaN is kept.
 *  5. cg_h5ad_matrix_sort_lines(m, 1) sorts an out-of-order line instead (found on the first decrease; a
 *     descending line is reversed in O(n), others are qsorted as index<<32|value-bits keys), then checks it
 *     again, so duplicates remain errors. The demo file's raw/X needs it: all 700 rows are descending.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "h5ad/h5ad_internal.h"

hid_t cg__dapl_cache(size_t bytes) {
  hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
  if (dapl >= 0) H5Pset_chunk_cache(dapl, 12421, bytes, 1.0);
  return dapl;
}

void cg__compression_name(hid_t dset, char *buf, size_t n) {
  hid_t dcpl = H5Dget_create_plist(dset);
  int nf = dcpl >= 0 ? H5Pget_nfilters(dcpl) : 0;
  snprintf(buf, n, "none");
  for (int i = 0; i < nf; i++) {
    unsigned flags, cfg;
    size_t ncd = 0;
    char name[64] = "";
    H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, NULL, sizeof name, name, &cfg);
    if (id == H5Z_FILTER_SHUFFLE || id == H5Z_FILTER_FLETCHER32) continue;
    snprintf(buf, n, "%s", id == H5Z_FILTER_DEFLATE ? "gzip" : id == 32000 ? "lzf" : name[0] ? name : "other");
    break;
  }
  if (dcpl >= 0) H5Pclose(dcpl);
}

static H5T_conv_ret_t on_conv_except(H5T_conv_except_t kind, hid_t src, hid_t dst, void *sbuf, void *dbuf,
                                     void *ud) {
  if (kind != H5T_CONV_EXCEPT_RANGE_HI && kind != H5T_CONV_EXCEPT_RANGE_LOW) return H5T_CONV_UNHANDLED;
  *(uint32_t *)dbuf = UINT32_MAX;
  return H5T_CONV_HANDLED;
}

static int read_range(hid_t d, hid_t mt, hid_t dxpl, int64_t start, int64_t count, void *buf) {
  if (count == 0) return 0;
  hsize_t st = (hsize_t)start, ct = (hsize_t)count;
  hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, &ct, NULL);
  int ok = fs >= 0 && ms >= 0 && H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, NULL, &ct, NULL) >= 0 &&
           H5Dread(d, mt, ms, fs, dxpl, buf) >= 0;
  if (ms >= 0) H5Sclose(ms);
  if (fs >= 0) H5Sclose(fs);
  return ok ? 0 : -1;
}

static int open_part(cg_h5ad_matrix *m, const char *name, hid_t *d, int64_t *len, H5T_class_t want, cg_err *err) {
  char path[CG__PATH_MAX];
  cg__path_join(path, sizeof path, m->info.path, name);
  if (cg__h5_kind(m->obj, name) != CG__H5_DATASET) return cg_err_set(err, CG_EFORMAT, "%s: missing", path);
  hid_t dapl = cg__dapl_cache((size_t)16 << 20);
  *d = H5Dopen2(m->obj, name, dapl);
  H5Pclose(dapl);
  if (*d < 0) return cg__h5_fail(err, CG_EFORMAT, path, "cannot open");
  hid_t t = H5Dget_type(*d);
  H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
  if (t >= 0) H5Tclose(t);
  if (cls != want && !(want == H5T_FLOAT && cls == H5T_INTEGER))
    return cg_err_set(err, CG_EFORMAT, "%s: expected %s values", path, want == H5T_FLOAT ? "numeric" : "integer");
  if ((*len = cg__dset_len(*d, NULL)) < 0) return cg_err_set(err, CG_EFORMAT, "%s: expected a 1-D array", path);
  return 0;
}

static int sparse_format(cg_h5ad_matrix *m, cg_err *err) {
  char enc[64], *h5s = NULL;
  cg__encoding(m->obj, enc, sizeof enc);
  if (!enc[0] && cg__attr_string(m->obj, "h5sparse_format", &h5s) == 0) snprintf(enc, sizeof enc, "%s_matrix", h5s);
  cg_free(h5s);
  if (strcmp(enc, "csr_matrix") == 0) m->info.format = CG_MAT_CSR;
  else if (strcmp(enc, "csc_matrix") == 0) m->info.format = CG_MAT_CSC;
  else return cg_err_set(err, CG_EUNSUPPORTED, "%s: a group that is not a sparse matrix (encoding '%s')", m->info.path, enc);
  int64_t shape[2];
  int n = 0;
  if (cg__attr_ints(m->obj, "shape", shape, 2, &n) != 0 && cg__attr_ints(m->obj, "h5sparse_shape", shape, 2, &n) != 0)
    n = 0;
  if (n != 2 || shape[0] < 0 || shape[1] < 0)
    return cg_err_set(err, CG_EFORMAT, "%s: missing or bad shape attribute", m->info.path);
  m->info.n_rows = shape[0], m->info.n_cols = shape[1];
  int csr = m->info.format == CG_MAT_CSR;
  m->n_major = csr ? shape[0] : shape[1], m->n_minor = csr ? shape[1] : shape[0];
  return 0;
}

static int index_types(cg_h5ad_matrix *m) {
  hid_t t = H5Dget_type(m->indices);
  cg__dtype_name(t, m->info.index_dtype, sizeof m->info.index_dtype);
  int signed32 = H5Tget_size(t) == 4 && H5Tget_sign(t) != H5T_SGN_NONE;
  int unsigned32 = H5Tget_size(t) == 4 && H5Tget_sign(t) == H5T_SGN_NONE;
  H5Tclose(t);
  m->idx_signed32 = signed32;
  m->idx_mem_type = signed32 ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32;
  if (!signed32 && !unsigned32) {
    m->idx_dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (m->idx_dxpl < 0 || H5Pset_type_conv_cb(m->idx_dxpl, on_conv_except, NULL) < 0) return CG_EIO;
  }
  m->fast[0] = cg__chunked_open(m->data, H5T_NATIVE_FLOAT);
  if (signed32 || unsigned32) m->fast[1] = cg__chunked_open(m->indices, m->idx_mem_type);
  t = H5Dget_type(m->data);
  cg__dtype_name(t, m->info.dtype, sizeof m->info.dtype);
  H5Tclose(t);
  cg__compression_name(m->data, m->info.compression, sizeof m->info.compression);
  return 0;
}

static int sparse_open(cg_h5ad_matrix *m, cg_err *err) {
  int64_t lp, li;
  int rc;
  char *p = m->info.path;
  if ((m->obj = H5Gopen2(m->h->file, p, H5P_DEFAULT)) < 0) return cg__h5_fail(err, CG_EFORMAT, p, "cannot open");
  if ((rc = sparse_format(m, err))) return rc;
  if ((rc = open_part(m, "data", &m->data, &m->data_len, H5T_FLOAT, err)) ||
      (rc = open_part(m, "indices", &m->indices, &li, H5T_INTEGER, err)) ||
      (rc = open_part(m, "indptr", &m->indptr, &lp, H5T_INTEGER, err)))
    return rc;
  if (lp != m->n_major + 1)
    return cg_err_set(err, CG_EFORMAT, "%s/indptr: length %lld, expected %lld (shape %lld x %lld)", p, (long long)lp,
                      (long long)(m->n_major + 1), (long long)m->info.n_rows, (long long)m->info.n_cols);
  if (li != m->data_len)
    return cg_err_set(err, CG_EFORMAT, "%s: indices has %lld entries but data has %lld", p, (long long)li,
                      (long long)m->data_len);
  if (m->n_minor >= UINT32_MAX)
    return cg_err_set(err, CG_EUNSUPPORTED, "%s: minor dimension %lld does not fit 32-bit indices", p, (long long)m->n_minor);
  int64_t ends[2];
  if (read_range(m->indptr, H5T_NATIVE_INT64, H5P_DEFAULT, 0, 1, &ends[0]) ||
      read_range(m->indptr, H5T_NATIVE_INT64, H5P_DEFAULT, m->n_major, 1, &ends[1]))
    return cg__h5_fail(err, CG_EFORMAT, p, "cannot read indptr");
  if (ends[0] != 0) return cg_err_set(err, CG_EFORMAT, "%s/indptr: starts at %lld, not 0", p, (long long)ends[0]);
  if (ends[1] < 0 || ends[1] > m->data_len)
    return cg_err_set(err, CG_EFORMAT, "%s/indptr: ends at %lld but data has %lld entries", p, (long long)ends[1],
                      (long long)m->data_len);
  if (ends[1] < m->data_len)
    cg__warn(m->h, "%s: %lld stored entries beyond indptr's end are ignored", p, (long long)(m->data_len - ends[1]));
  m->info.nnz = ends[1];
  return index_types(m) ? cg__h5_fail(err, CG_EIO, p, "cannot set up index conversion") : 0;
}

/* Resolves `which` to a path and the expected column count (-1 = unknown). */
static int resolve(cg_h5ad *h, const char *which, char *path, size_t n, int64_t *cols, cg_err *err) {
  *cols = h->n_vars;
  if (strcmp(which, "X") == 0) return snprintf(path, n, "/X"), 0;
  if (strncmp(which, "layer:", 6) == 0 && which[6] && !strchr(which + 6, '/')) {
    snprintf(path, n, "/layers/%s", which + 6);
    return cg__h5_kind(h->file, path) ? 0 : cg_err_set(err, CG_ENOTFOUND, "%s: no such layer", path);
  }
  if (strcmp(which, "raw") != 0) return cg_err_set(err, CG_EINVAL, "matrix '%s': expected X, raw or layer:NAME", which);
  const char *var = "/raw/var";
  if (cg__h5_kind(h->file, "/raw") == CG__H5_GROUP && cg__h5_kind(h->file, "/raw/X")) snprintf(path, n, "/raw/X");
  else if (cg__h5_kind(h->file, "/raw.X")) snprintf(path, n, "/raw.X"), var = "/raw.var";
  else return cg_err_set(err, CG_ENOTFOUND, "file has no raw");
  cg_err e;
  if (cg__h5_kind(h->file, var) == CG__H5_ABSENT || cg__frame_len(h->file, var, cols, &e)) *cols = -1;
  return 0;
}

static int check_shape(cg_h5ad_matrix *m, int64_t cols, cg_err *err) {
  if (m->info.n_rows != m->h->n_obs)
    return cg_err_set(err, CG_EFORMAT, "%s: %lld rows but obs has %lld", m->info.path, (long long)m->info.n_rows,
                      (long long)m->h->n_obs);
  if (cols >= 0 && m->info.n_cols != cols)
    return cg_err_set(err, CG_EFORMAT, "%s: %lld columns but %s has %lld", m->info.path, (long long)m->info.n_cols,
                      strstr(m->info.path, "raw") ? "raw var" : "var", (long long)cols);
  return 0;
}

int cg_h5ad_matrix_open(cg_h5ad *h, const char *which, cg_h5ad_matrix **out, cg_err *err) {
  int64_t cols;
  *out = NULL;
  cg__h5_quiet();
  cg_h5ad_matrix *m = cg_calloc(1, sizeof *m);
  if (!m) return cg_err_set(err, CG_ENOMEM, "out of memory");
  m->h = h;
  m->obj = m->data = m->indices = m->indptr = m->idx_dxpl = -1;
  snprintf(m->info.compression, sizeof m->info.compression, "none");
  int rc = resolve(h, which, m->info.path, sizeof m->info.path, &cols, err);
  cg__h5kind k = rc ? CG__H5_ABSENT : cg__h5_kind(h->file, m->info.path);
  char enc[32] = "";
  if (k == CG__H5_DATASET || k == CG__H5_GROUP) {
    hid_t o = H5Oopen(h->file, m->info.path, H5P_DEFAULT);
    if (o >= 0) cg__encoding(o, enc, sizeof enc), H5Oclose(o);
  }
  if (rc == 0 && (k == CG__H5_ABSENT || strcmp(enc, "null") == 0)) {
    if (strcmp(which, "X") != 0) rc = cg_err_set(err, CG_ENOTFOUND, "%s: absent", m->info.path);
    m->info.format = CG_MAT_ABSENT, m->info.path[0] = '\0';
  } else if (rc == 0) {
    rc = k == CG__H5_DATASET ? cg__dense_open(m, err) : sparse_open(m, err);
    if (rc == 0) rc = check_shape(m, cols, err);
  }
  if (rc) cg_h5ad_matrix_close(m);
  else *out = m;
  return rc;
}

const cg_matrix_info *cg_h5ad_matrix_info(const cg_h5ad_matrix *m) { return &m->info; }

cg_axis cg_h5ad_matrix_major(const cg_h5ad_matrix *m) {
  return m->info.format == CG_MAT_CSC ? CG_AXIS_VAR : CG_AXIS_OBS;
}

void cg_h5ad_matrix_close(cg_h5ad_matrix *m) {
  if (!m) return;
  hid_t ds[3] = {m->data, m->indices, m->indptr};
  for (int i = 0; i < 3; i++)
    if (ds[i] >= 0) H5Dclose(ds[i]);
  if (m->obj >= 0) H5Oclose(m->obj);
  if (m->idx_dxpl >= 0) H5Pclose(m->idx_dxpl);
  cg__chunked_free(m->fast[0]);
  cg__chunked_free(m->fast[1]);
  H5Eclear2(H5E_DEFAULT);
  cg_free(m->scratch);
  cg_free(m->sort_tmp);
  cg_free(m);
}

static int line_error(const cg_h5ad_matrix *m, int64_t line, int64_t c, int64_t prev, cg_err *err) {
  const char *maj = m->info.format == CG_MAT_CSC ? "column" : "row", *mnr = m->info.format == CG_MAT_CSC ? "row" : "column";
  const char *p = m->info.path;
  if (m->idx_signed32 && c >= ((int64_t)1 << 31))
    return cg_err_set(err, CG_EFORMAT, "%s/indices: %s %lld: negative %s index %d", p, maj, (long long)line, mnr, (int32_t)(uint32_t)c);
  if (c == UINT32_MAX && !m->idx_signed32)
    return cg_err_set(err, CG_EFORMAT, "%s/indices: %s %lld: %s index negative or beyond 32 bits", p, maj, (long long)line, mnr);
  if (c >= m->n_minor)
    return cg_err_set(err, CG_EFORMAT, "%s/indices: %s %lld: %s index %lld out of range (%lld %ss)", p, maj,
                      (long long)line, mnr, (long long)c, (long long)m->n_minor, mnr);
  if (c == prev)
    return cg_err_set(err, CG_EFORMAT, "%s/indices: %s %lld: duplicate %s index %lld", p, maj, (long long)line, mnr, (long long)c);
  return cg_err_set(err, CG_EFORMAT, "%s/indices: %s %lld: %s indices not sorted (%lld after %lld); sort them "
                    "(scipy: X.sort_indices()) and write the file again", p, maj, (long long)line, mnr, (long long)c, (long long)prev);
}

void cg_h5ad_matrix_sort_lines(cg_h5ad_matrix *m, int on) { m->sort_lines = on != 0; }

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Sorts entries [s, e) of b by index: a descending line is reversed in place, anything else is sorted as
 * (index << 32 | value bits) keys. */
static int sort_line(cg_h5ad_matrix *m, cg_sparse_block *b, int64_t s, int64_t e, cg_err *err) {
  int64_t n = e - s, k;
  for (k = s + 1; k < e && b->idx[k] < b->idx[k - 1]; k++) {}
  if (k == e) {
    for (int64_t i = s, j = e - 1; i < j; i++, j--) {
      uint32_t ti = b->idx[i];
      float tv = b->val[i];
      b->idx[i] = b->idx[j], b->val[i] = b->val[j], b->idx[j] = ti, b->val[j] = tv;
    }
    return 0;
  }
  if ((size_t)n > m->sort_cap) {
    uint64_t *t = cg_realloc(m->sort_tmp, (size_t)n * sizeof *t);
    if (!t) return cg_err_set(err, CG_ENOMEM, "%s: out of memory sorting a line", m->info.path);
    m->sort_tmp = t, m->sort_cap = (size_t)n;
  }
  for (int64_t i = 0; i < n; i++) {
    uint32_t bits;
    memcpy(&bits, &b->val[s + i], sizeof bits);
    m->sort_tmp[i] = (uint64_t)b->idx[s + i] << 32 | bits;
  }
  qsort(m->sort_tmp, (size_t)n, sizeof *m->sort_tmp, cmp_u64);
  for (int64_t i = 0; i < n; i++) {
    uint32_t bits = (uint32_t)m->sort_tmp[i];
    b->idx[s + i] = (uint32_t)(m->sort_tmp[i] >> 32);
    memcpy(&b->val[s + i], &bits, sizeof bits);
  }
  return 0;
}

static int check_lines(cg_h5ad_matrix *m, cg_sparse_block *b, cg_err *err) {
  int64_t lim = m->n_minor;
  if (m->idx_signed32 && lim > ((int64_t)1 << 31)) lim = (int64_t)1 << 31;
  for (int64_t l = 0; l < b->count; l++) {
    int64_t prev = -1, sorted = 0;
    for (int64_t k = b->ptr[l]; k < b->ptr[l + 1]; k++) {
      int64_t c = b->idx[k];
      if (c < prev && c < lim && m->sort_lines && !sorted) { /* sort once, then check the line again */
        int rc = sort_line(m, b, b->ptr[l], b->ptr[l + 1], err);
        if (rc) return rc;
        sorted = 1, prev = -1, k = b->ptr[l] - 1;
        continue;
      }
      if (c <= prev || c >= lim) return line_error(m, b->first + l, c, prev, err);
      prev = c;
      if (isinf(b->val[k]))
        return cg_err_set(err, CG_EFORMAT, "%s/data: %s %lld, %s %lld: %s (or beyond float32 range)", m->info.path,
                          m->info.format == CG_MAT_CSC ? "column" : "row", (long long)(b->first + l),
                          m->info.format == CG_MAT_CSC ? "row" : "column", (long long)c, b->val[k] > 0 ? "+Inf" : "-Inf");
    }
  }
  return 0;
}

static int check_ptr(const cg_h5ad_matrix *m, const cg_sparse_block *b, cg_err *err) {
  const char *maj = m->info.format == CG_MAT_CSC ? "column" : "row";
  for (int64_t l = 0; l <= b->count; l++) {
    if (b->ptr[l] < 0 || b->ptr[l] > m->info.nnz)
      return cg_err_set(err, CG_EFORMAT, "%s/indptr: %s %lld: offset %lld outside the %lld stored entries",
                        m->info.path, maj, (long long)(b->first + l), (long long)b->ptr[l], (long long)m->info.nnz);
    if (l > 0 && b->ptr[l] < b->ptr[l - 1])
      return cg_err_set(err, CG_EFORMAT, "%s/indptr: %s %lld: offsets decrease (%lld > %lld)", m->info.path, maj,
                        (long long)(b->first + l - 1), (long long)b->ptr[l - 1], (long long)b->ptr[l]);
  }
  return 0;
}

/* data and indices [p0, p0+nnz): the chunk fast path where eligible, hyperslab reads otherwise. */
static int read_entries(cg_h5ad_matrix *m, int64_t p0, int64_t nnz, cg_sparse_block *b, cg_err *err) {
  const char *p = m->info.path;
  cg__chunked *fc[2];
  void *fb[2];
  int nf = 0, fast_val = m->fast[0] != NULL, fast_idx = m->fast[1] != NULL;
  if (fast_val) fc[nf] = m->fast[0], fb[nf++] = b->val;
  if (fast_idx) fc[nf] = m->fast[1], fb[nf++] = b->idx;
  if (nf && cg__chunked_read(fc, fb, nf, p0, nnz) != 0) fast_val = fast_idx = 0;
  if (!fast_val && read_range(m->data, H5T_NATIVE_FLOAT, H5P_DEFAULT, p0, nnz, b->val))
    return cg__h5_fail(err, CG_EFORMAT, p, "cannot read data[%lld..%lld]", (long long)p0, (long long)(p0 + nnz));
  if (!fast_idx && read_range(m->indices, m->idx_mem_type, m->idx_dxpl >= 0 ? m->idx_dxpl : H5P_DEFAULT, p0, nnz, b->idx))
    return cg__h5_fail(err, CG_EFORMAT, p, "cannot read indices[%lld..%lld]", (long long)p0, (long long)(p0 + nnz));
  return 0;
}

static int sparse_read_block(cg_h5ad_matrix *m, cg_sparse_block *b, cg_err *err) {
  const char *p = m->info.path;
  if (cg_sparse_block_reserve(b, b->count, 0)) return cg_err_set(err, CG_ENOMEM, "%s: out of memory", p);
  if (read_range(m->indptr, H5T_NATIVE_INT64, H5P_DEFAULT, b->first, b->count + 1, b->ptr))
    return cg__h5_fail(err, CG_EFORMAT, p, "cannot read indptr for lines %lld..%lld", (long long)b->first,
                       (long long)(b->first + b->count));
  int rc = check_ptr(m, b, err);
  if (rc) return rc;
  int64_t p0 = b->ptr[0], nnz = b->ptr[b->count] - p0;
  if (cg_sparse_block_reserve(b, b->count, nnz))
    return cg_err_set(err, CG_ENOMEM, "%s: out of memory for %lld entries", p, (long long)nnz);
  if ((rc = read_entries(m, p0, nnz, b, err))) return rc;
  for (int64_t l = 0; l <= b->count; l++) b->ptr[l] -= p0;
  b->nnz = nnz;
  return check_lines(m, b, err);
}

int cg_h5ad_matrix_read_block(cg_h5ad_matrix *m, int64_t first, int64_t count, cg_sparse_block *blk, cg_err *err) {
  cg__h5_quiet();
  if (m->info.format == CG_MAT_ABSENT) return cg_err_set(err, CG_EINVAL, "matrix is absent: nothing to read");
  int64_t n = m->n_major;
  if (first < 0 || count < 0 || first > n || count > n - first)
    return cg_err_set(err, CG_EINVAL, "%s: lines %lld..%lld outside 0..%lld", m->info.path, (long long)first,
                      (long long)(first + count), (long long)n);
  blk->first = first, blk->count = count, blk->nnz = 0;
  int rc = m->info.format == CG_MAT_DENSE ? cg__dense_read_block(m, first, count, blk, err)
                                          : sparse_read_block(m, blk, err);
  if (rc) blk->count = 0, blk->nnz = 0;
  if (rc == 0 && count == 0 && blk->ptr) blk->ptr[0] = 0;
  return rc;
}
