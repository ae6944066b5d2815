/* h5ad_write.c — AnnData >= 0.8 writer: file lifecycle (temporary name, commit by rename, abort by unlink),
 * encoding attributes, and the plain elements (dict, string, string-array, array, dataframe). Streamed CSR
 * matrices live in h5ad_write_csr.c. The on-disk encoding copies what python-anndata 0.8 + h5py 3 write:
 * attribute strings are scalar variable-length UTF-8, bools are h5py's int8 enum, categorical codes take the
 * smallest signed width pandas would pick. Object timestamps are off so the same calls give the same bytes.
 */
#include "h5ad/h5ad_write.h"

#include <errno.h>
#include <liblzf/lzf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "h5ad/h5ad_write_int.h"

#define CHUNK_BYTES ((size_t)1 << 20)

/* ---- errors ---------------------------------------------------------------------------------------- */

typedef struct h5_detail {
  char text[256];
} h5_detail;

static herr_t on_h5_error(unsigned n, const H5E_error2_t *e, void *ctx) {
  h5_detail *d = ctx;
  if (n == 0) snprintf(d->text, sizeof d->text, "%s (in %s)", e->desc ? e->desc : "", e->func_name);
  return 0;
}

int cg__h5w_fail(cg_err *err, int code, const char *what) {
  h5_detail d = {""};
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, on_h5_error, &d);
  H5Eclear2(H5E_DEFAULT);
  if (d.text[0]) return cg_err_set(err, code, "%s: %s", what, d.text);
  return cg_err_set(err, code, "%s", what);
}

int cg_h5ad_codec_parse(const char *s, cg_h5w_codec *out) {
  if (strcmp(s, "gzip") == 0) *out = CG_H5W_GZIP;
  else if (strcmp(s, "lzf") == 0) *out = CG_H5W_LZF;
  else if (strcmp(s, "none") == 0) *out = CG_H5W_NONE;
  else return CG_EINVAL;
  return 0;
}

const char *cg_h5ad_codec_name(cg_h5w_codec c) {
  switch (c) {
  case CG_H5W_GZIP: return "gzip";
  case CG_H5W_LZF: return "lzf";
  case CG_H5W_NONE: return "none";
  }
  return "unknown";
}

/* ---- types and attributes ------------------------------------------------------------------------ */

static hid_t str_type(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0) return t;
  if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
    H5Tclose(t);
    return -1;
  }
  return t;
}

hid_t cg__h5w_bool_type(void) {
  hid_t t = H5Tenum_create(H5T_STD_I8LE);
  signed char no = 0, yes = 1;
  if (t < 0) return t;
  if (H5Tenum_insert(t, "FALSE", &no) < 0 || H5Tenum_insert(t, "TRUE", &yes) < 0) {
    H5Tclose(t);
    return -1;
  }
  return t;
}

/* Writes attribute `name` of type t over a scalar (n < 0) or 1-D (n >= 0) dataspace. */
static int put_attr(hid_t obj, const char *name, hid_t t, hssize_t n, const void *v, cg_err *err) {
  hsize_t dims[1] = {(hsize_t)(n < 0 ? 0 : n)};
  hid_t sp = n < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
  hid_t a = sp < 0 ? -1 : H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  int rc = 0;
  if (a < 0 || H5Awrite(a, t, v) < 0) rc = cg__h5w_fail(err, CG_EIO, "writing attribute");
  if (rc) cg_err_prefix(err, "%s", name);
  if (a >= 0) H5Aclose(a);
  if (sp >= 0) H5Sclose(sp);
  return rc;
}

static int attr_str(hid_t obj, const char *name, const char *value, cg_err *err) {
  hid_t t = str_type();
  if (t < 0) return cg__h5w_fail(err, CG_EIO, "string type");
  int rc = put_attr(obj, name, t, -1, &value, err);
  H5Tclose(t);
  return rc;
}

static int attr_strs(hid_t obj, const char *name, const char *const *v, int n, cg_err *err) {
  if (n == 0) { /* anndata writes an empty column-order as an empty float64 array */
    double none = 0;
    return put_attr(obj, name, H5T_IEEE_F64LE, 0, &none, err);
  }
  hid_t t = str_type();
  if (t < 0) return cg__h5w_fail(err, CG_EIO, "string type");
  int rc = put_attr(obj, name, t, n, v, err);
  H5Tclose(t);
  return rc;
}

int cg__h5w_encoding(hid_t obj, const char *type, const char *version, cg_err *err) {
  int rc = attr_str(obj, "encoding-type", type, err);
  return rc ? rc : attr_str(obj, "encoding-version", version, err);
}

/* ---- LZF filter (h5py-compatible: cd_values = {4, 0x0105, chunk bytes}) ------------------------------ */

static size_t lzf_decode(size_t cd_n, const unsigned cd[], size_t nbytes, size_t *buf_size, void **buf) {
  size_t cap = cd_n >= 3 && cd[2] ? cd[2] : *buf_size;
  for (;;) {
    void *out = H5allocate_memory(cap, 0); /* HDF5 frees filter buffers: they must be its own */
    if (!out) return 0;
    unsigned n = lzf_decompress(*buf, (unsigned)nbytes, out, (unsigned)cap);
    if (n) {
      H5free_memory(*buf);
      *buf = out;
      *buf_size = cap;
      return n;
    }
    H5free_memory(out);
    if (errno != E2BIG) return 0;
    cap *= 2;
  }
}

static size_t lzf_filter(unsigned flags, size_t cd_n, const unsigned cd[], size_t nbytes, size_t *buf_size,
                         void **buf) {
  if (flags & H5Z_FLAG_REVERSE) return lzf_decode(cd_n, cd, nbytes, buf_size, buf);
  void *out = H5allocate_memory(nbytes, 0);
  if (!out) return 0;
  unsigned n = lzf_compress(*buf, (unsigned)nbytes, out, (unsigned)(nbytes - 1));
  if (!n) { /* incompressible: the filter is optional, HDF5 stores the chunk raw */
    H5free_memory(out);
    return 0;
  }
  H5free_memory(*buf);
  *buf = out;
  *buf_size = nbytes;
  return n;
}

/* Always our own class, never H5Zfilter_avail's answer: that would dlopen Debian's LZF plugin, which is not
 * linked against liblzf. Registering again replaces an earlier class (the reader's is equivalent). */
int cg__h5w_lzf_register(void) {
  static const H5Z_class2_t cls = {H5Z_CLASS_T_VERS, CG_H5W_FILTER_LZF, 1, 1, "lzf", NULL, NULL, lzf_filter};
  static int done;
  if (done) return 0;
  if (H5Zregister(&cls) < 0) return CG_EIO;
  done = 1;
  return 0;
}

/* ---- datasets ------------------------------------------------------------------------------------- */

static int set_codec(const cg_h5ad_writer *w, hid_t dcpl, size_t chunk_bytes) {
  if (w->o.codec == CG_H5W_GZIP) return H5Pset_deflate(dcpl, (unsigned)w->o.level) < 0 ? -1 : 0;
  unsigned cd[3] = {4, 0x0105, (unsigned)chunk_bytes};
  if (cg__h5w_lzf_register() < 0) return -1;
  return H5Pset_filter(dcpl, CG_H5W_FILTER_LZF, H5Z_FLAG_OPTIONAL, 3, cd) < 0 ? -1 : 0;
}

hid_t cg__h5w_dcpl(const cg_h5ad_writer *w, int rank, const hsize_t *dims, size_t row_bytes, int extendible,
                   hsize_t *chunk_rows) {
  hid_t p = H5Pcreate(H5P_DATASET_CREATE);
  *chunk_rows = 0;
  if (p < 0) return p;
  if (H5Pset_obj_track_times(p, 0) < 0) goto fail;
  if (w->o.codec == CG_H5W_NONE || (dims[0] == 0 && !extendible)) return p;
  hsize_t rows = CHUNK_BYTES / (row_bytes ? row_bytes : 1);
  if (rows < 1) rows = 1;
  if (rows > dims[0] && dims[0] > 0) rows = dims[0];
  hsize_t chunk[2] = {rows, rank > 1 ? dims[1] : 1};
  if (H5Pset_chunk(p, rank, chunk) < 0 || set_codec(w, p, rows * row_bytes) < 0) goto fail;
  *chunk_rows = rows;
  return p;
fail:
  H5Pclose(p);
  return -1;
}

int cg__h5w_dataset(cg_h5ad_writer *w, const char *path, hid_t ftype, hid_t mtype, int rank,
                    const hsize_t *dims, const void *data, const char *enc, hid_t *out, cg_err *err) {
  hsize_t chunk_rows, maxdims[2] = {dims[0], rank > 1 ? dims[1] : 0};
  hid_t sp = -1, dcpl = -1, ds = -1;
  int rc = 0;
  dcpl = cg__h5w_dcpl(w, rank, dims, H5Tget_size(ftype) * (rank > 1 ? dims[1] : 1), 0, &chunk_rows);
  sp = H5Screate_simple(rank, dims, maxdims);
  if (dcpl < 0 || sp < 0) {
    rc = cg__h5w_fail(err, CG_EIO, "dataset properties");
    goto done;
  }
  ds = H5Dcreate2(w->file, path, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (ds < 0) {
    rc = cg__h5w_fail(err, CG_EIO, "creating dataset");
    goto done;
  }
  if (data && dims[0] > 0 && H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    rc = cg__h5w_fail(err, CG_EIO, "writing dataset");
  if (!rc && enc) rc = cg__h5w_encoding(ds, enc, "0.2.0", err);
done:
  if (rc) cg_err_prefix(err, "/%s", path);
  if (ds >= 0 && (rc || !out)) H5Dclose(ds);
  else if (out) *out = ds;
  if (sp >= 0) H5Sclose(sp);
  if (dcpl >= 0) H5Pclose(dcpl);
  return rc;
}

/* ---- elements ------------------------------------------------------------------------------------- */

/* out = "<a>/<b>"; CG_EINVAL when it does not fit. */
static int sub_path(char *out, size_t n, const char *a, const char *b, cg_err *err) {
  int k = snprintf(out, n, "%s/%s", a, b);
  return k < 0 || (size_t)k >= n ? cg_err_set(err, CG_EINVAL, "/%s/%s: path too long", a, b) : 0;
}

static int make_group(cg_h5ad_writer *w, const char *path, hid_t *out, cg_err *err) {
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  hid_t g = gcpl < 0 || H5Pset_obj_track_times(gcpl, 0) < 0
                ? -1
                : H5Gcreate2(w->file, path, H5P_DEFAULT, gcpl, H5P_DEFAULT);
  if (gcpl >= 0) H5Pclose(gcpl);
  if (g < 0) {
    cg__h5w_fail(err, CG_EIO, "creating group");
    return cg_err_prefix(err, "/%s", path);
  }
  *out = g;
  return 0;
}

int cg_h5ad_write_dict(cg_h5ad_writer *w, const char *path, cg_err *err) {
  hid_t g;
  if (H5Lexists(w->file, path, H5P_DEFAULT) > 0) return 0;
  int rc = make_group(w, path, &g, err);
  if (rc) return rc;
  rc = cg__h5w_encoding(g, "dict", "0.1.0", err);
  H5Gclose(g);
  return rc;
}

int cg_h5ad_write_string(cg_h5ad_writer *w, const char *path, const char *s, cg_err *err) {
  hid_t t = str_type(), sp = H5Screate(H5S_SCALAR), dcpl = H5Pcreate(H5P_DATASET_CREATE), ds = -1;
  int rc = 0;
  if (t < 0 || sp < 0 || dcpl < 0 || H5Pset_obj_track_times(dcpl, 0) < 0 ||
      (ds = H5Dcreate2(w->file, path, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0 ||
      H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) < 0) {
    rc = cg__h5w_fail(err, CG_EIO, "writing string");
    cg_err_prefix(err, "/%s", path);
  }
  if (!rc) rc = cg__h5w_encoding(ds, "string", "0.2.0", err);
  if (ds >= 0) H5Dclose(ds);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (sp >= 0) H5Sclose(sp);
  if (t >= 0) H5Tclose(t);
  return rc;
}

int cg_h5ad_write_strings(cg_h5ad_writer *w, const char *path, const char *const *s, int64_t n,
                          cg_err *err) {
  const char **fixed = NULL;
  int64_t nulls = 0;
  for (int64_t i = 0; i < n; i++) nulls += !s[i];
  if (nulls && !(fixed = cg_malloc_array((size_t)n, sizeof *fixed)))
    return cg_err_set(err, CG_ENOMEM, "/%s: %lld strings", path, (long long)n);
  for (int64_t i = 0; fixed && i < n; i++) fixed[i] = s[i] ? s[i] : "";
  hid_t t = str_type();
  hsize_t dims[1] = {(hsize_t)n};
  int rc = t < 0 ? cg__h5w_fail(err, CG_EIO, "string type")
                 : cg__h5w_dataset(w, path, t, t, 1, dims, fixed ? (const void *)fixed : (const void *)s,
                                   "string-array", NULL, err);
  if (t >= 0) H5Tclose(t);
  cg_free(fixed);
  return rc;
}

static int dtype_types(cg_h5w_dtype d, hid_t *ftype, hid_t *mtype) {
  switch (d) {
  case CG_H5W_I8: *ftype = H5T_STD_I8LE, *mtype = H5T_NATIVE_INT8; return 0;
  case CG_H5W_I16: *ftype = H5T_STD_I16LE, *mtype = H5T_NATIVE_INT16; return 0;
  case CG_H5W_I32: *ftype = H5T_STD_I32LE, *mtype = H5T_NATIVE_INT32; return 0;
  case CG_H5W_I64: *ftype = H5T_STD_I64LE, *mtype = H5T_NATIVE_INT64; return 0;
  case CG_H5W_F32: *ftype = H5T_IEEE_F32LE, *mtype = H5T_NATIVE_FLOAT; return 0;
  case CG_H5W_F64: *ftype = H5T_IEEE_F64LE, *mtype = H5T_NATIVE_DOUBLE; return 0;
  case CG_H5W_BOOL: return 1; /* caller builds the enum */
  }
  return -1;
}

int cg_h5ad_write_array(cg_h5ad_writer *w, const char *path, cg_h5w_dtype dtype, int rank,
                        const int64_t *dims, const void *data, cg_err *err) {
  hid_t ftype, mtype;
  int kind = dtype_types(dtype, &ftype, &mtype);
  if (kind < 0 || rank < 1 || rank > 2)
    return cg_err_set(err, CG_EINVAL, "/%s: bad dtype %d or rank %d", path, (int)dtype, rank);
  hsize_t hd[2] = {(hsize_t)dims[0], rank > 1 ? (hsize_t)dims[1] : 0};
  if (kind == 0) return cg__h5w_dataset(w, path, ftype, mtype, rank, hd, data, "array", NULL, err);
  hid_t b = cg__h5w_bool_type();
  if (b < 0) return cg__h5w_fail(err, CG_EIO, "bool type");
  int rc = cg__h5w_dataset(w, path, b, b, rank, hd, data, "array", NULL, err);
  H5Tclose(b);
  return rc;
}

/* ---- dataframes ----------------------------------------------------------------------------------- */

static int write_categorical(cg_h5ad_writer *w, const char *path, const cg_column *c, cg_err *err) {
  hid_t g, b = -1;
  char sub[512];
  int rc = make_group(w, path, &g, err);
  if (rc) return rc;
  unsigned char ordered = c->ordered ? 1 : 0;
  rc = cg__h5w_encoding(g, "categorical", "0.2.0", err);
  if (!rc && (b = cg__h5w_bool_type()) < 0) rc = cg__h5w_fail(err, CG_EIO, "bool type");
  if (!rc) rc = put_attr(g, "ordered", b, -1, &ordered, err);
  if (!rc) rc = sub_path(sub, sizeof sub, path, "categories", err);
  if (!rc) rc = cg_h5ad_write_strings(w, sub, (const char *const *)c->categories, c->n_categories, err);
  hid_t ftype = c->n_categories < 128 ? H5T_STD_I8LE : c->n_categories < 32768 ? H5T_STD_I16LE : H5T_STD_I32LE;
  hsize_t dims[1] = {(hsize_t)c->n};
  if (!rc) rc = sub_path(sub, sizeof sub, path, "codes", err);
  if (!rc) rc = cg__h5w_dataset(w, sub, ftype, H5T_NATIVE_INT32, 1, dims, c->v.codes, "array", NULL, err);
  if (b >= 0) H5Tclose(b);
  H5Gclose(g);
  return rc;
}

static int write_column(cg_h5ad_writer *w, const char *path, const cg_column *c, cg_err *err) {
  hsize_t dims[1] = {(hsize_t)c->n};
  int64_t d64[1] = {c->n};
  if (c->valid) return cg_err_set(err, CG_EUNSUPPORTED, "/%s: nullable columns are not supported", path);
  switch (c->type) {
  case CG_COL_CATEGORICAL: return write_categorical(w, path, c, err);
  case CG_COL_STRING: return cg_h5ad_write_strings(w, path, (const char *const *)c->v.str, c->n, err);
  case CG_COL_BOOL: return cg_h5ad_write_array(w, path, CG_H5W_BOOL, 1, d64, c->v.b, err);
  case CG_COL_FLOAT:
    return cg__h5w_dataset(w, path, strcmp(c->dtype, "float32") == 0 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE,
                           H5T_NATIVE_DOUBLE, 1, dims, c->v.f64, "array", NULL, err);
  case CG_COL_INT:
    return cg__h5w_dataset(w, path, strcmp(c->dtype, "int32") == 0 ? H5T_STD_I32LE : H5T_STD_I64LE,
                           H5T_NATIVE_INT64, 1, dims, c->v.i64, "array", NULL, err);
  }
  return cg_err_set(err, CG_EINVAL, "/%s: unknown column type %d", path, (int)c->type);
}

static int frame_attrs(hid_t g, const cg_frame *f, const char *index_name, cg_err *err) {
  const char **names = cg_malloc_array((size_t)f->n_cols + 1, sizeof *names);
  if (!names) return cg_err_set(err, CG_ENOMEM, "column names");
  for (int i = 0; i < f->n_cols; i++) names[i] = f->cols[i].name;
  int rc = cg__h5w_encoding(g, "dataframe", "0.2.0", err);
  if (!rc) rc = attr_str(g, "_index", index_name, err);
  if (!rc) rc = attr_strs(g, "column-order", names, f->n_cols, err);
  cg_free(names);
  return rc;
}

int cg_h5ad_write_frame(cg_h5ad_writer *w, const char *path, const cg_frame *f, cg_err *err) {
  const char *index_name = f->index_name ? f->index_name : "_index";
  char sub[512];
  hid_t g;
  int rc = make_group(w, path, &g, err);
  if (rc) return rc;
  rc = frame_attrs(g, f, index_name, err);
  if (!rc) rc = sub_path(sub, sizeof sub, path, index_name, err);
  if (!rc) rc = cg_h5ad_write_strings(w, sub, (const char *const *)f->index, f->n_rows, err);
  for (int i = 0; i < f->n_cols && !rc; i++) {
    if (f->cols[i].n != f->n_rows) {
      rc = cg_err_set(err, CG_EINVAL, "/%s/%s: %lld values for %lld rows", path, f->cols[i].name,
                      (long long)f->cols[i].n, (long long)f->n_rows);
      break;
    }
    rc = sub_path(sub, sizeof sub, path, f->cols[i].name, err);
    if (!rc) rc = write_column(w, sub, &f->cols[i], err);
  }
  H5Gclose(g);
  return rc;
}

/* ---- file lifecycle ------------------------------------------------------------------------------- */

static const char *const std_groups[] = {"layers", "obsm", "obsp", "uns", "varm", "varp"};

static int open_file(cg_h5ad_writer *w, cg_err *err) {
  hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fcpl >= 0 && fapl >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0)
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, fcpl, fapl);
  if (fapl >= 0) H5Pclose(fapl);
  if (fcpl >= 0) H5Pclose(fcpl);
  if (w->file < 0) return cg__h5w_fail(err, CG_EIO, w->tmp);
  int rc = cg__h5w_encoding(w->file, "anndata", "0.1.0", err);
  for (size_t i = 0; i < sizeof std_groups / sizeof *std_groups && !rc; i++)
    rc = cg_h5ad_write_dict(w, std_groups[i], err);
  return rc;
}

int cg_h5ad_writer_create(const char *path, const cg_h5ad_write_opts *opts, cg_h5ad_writer **out,
                          cg_err *err) {
  cg_h5ad_writer *w = cg_calloc(1, sizeof *w);
  size_t n = strlen(path) + 32;
  *out = NULL;
  if (!w) return cg_err_set(err, CG_ENOMEM, "h5ad writer");
  w->file = -1;
  w->o = opts ? *opts : (cg_h5ad_write_opts){CG_H5W_GZIP, 0, 0};
  if (w->o.level <= 0 || w->o.level > 9) w->o.level = 4;
  if (w->o.threads <= 0) w->o.threads = 2;
  w->path = cg_strdup(path);
  w->tmp = cg_malloc(n);
  if (!w->path || !w->tmp) {
    cg_h5ad_writer_abort(w);
    return cg_err_set(err, CG_ENOMEM, "h5ad writer");
  }
  snprintf(w->tmp, n, "%s.tmp.%ld", path, (long)getpid());
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* library code never prints */
  int rc = open_file(w, err);
  if (rc) {
    cg_h5ad_writer_abort(w);
    return rc;
  }
  *out = w;
  return 0;
}

static void release(cg_h5ad_writer *w, int remove_tmp) {
  if (w->csr) cg__h5w_csr_drop(w->csr);
  if (w->file >= 0) H5Fclose(w->file);
  if (remove_tmp && w->tmp) unlink(w->tmp);
  cg_free(w->tmp);
  cg_free(w->path);
  cg_free(w);
}

void cg_h5ad_writer_abort(cg_h5ad_writer *w) {
  if (w) release(w, 1);
}

int cg_h5ad_writer_commit(cg_h5ad_writer *w, cg_err *err) {
  int rc = 0;
  if (w->csr) rc = cg_err_set(err, CG_EINVAL, "%s: a CSR matrix is still being written", w->path);
  if (!rc && H5Fclose(w->file) < 0) rc = cg__h5w_fail(err, CG_EIO, w->tmp);
  if (!rc) w->file = -1;
  if (!rc && rename(w->tmp, w->path) != 0)
    rc = cg_err_set(err, CG_EIO, "renaming %s to %s: %s", w->tmp, w->path, strerror(errno));
  release(w, rc != 0);
  return rc;
}
