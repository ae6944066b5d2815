/* h5ad_legacy.c — the pre-0.7 layout: obs, var, raw.var and obsm as 1-D compound datasets.
 *
 * Design notes
 *  1. A legacy dataframe is a compound dataset; its first field is the index (anndata: set_index on the
 *     first column), the other fields are columns in field order. Fields are strings (fixed "S16" or vlen),
 *     integers, floats or bools (8-bit enum); array fields are skipped with a warning.
 *  2. Each field is read on its own with a one-member memory compound type: HDF5 picks the field by name
 *     and converts it to the native type we ask for. Strings use the same vlen/fixed rules as h5ad_str.c.
 *  3. Categorical columns of that era store codes in the frame and categories in uns/<col>_categories.
 *     anndata's _clean_uns (which it runs for every file, whatever its era) turns an obs/var column into a
 *     categorical when uns has `<col>_categories` (the name is the key with every "_categories" removed)
 *     and every code is < the number of categories; such uns keys are then hidden from uns. We do the same
 *     for integer columns.
 *  4. obsm is a compound of array fields ("X_pca": float32[50]); each field with >= 2 dims is an embedding.
 */
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "h5ad/h5ad_internal.h"

static void *on_alloc(size_t size, void *info) { return cg_malloc(size); }
static void on_free(void *mem, void *info) { cg_free(mem); }

/* Reads field `name` of every element of compound dataset d as mem_type into buf. */
static int read_field(hid_t d, const char *name, hid_t mem_type, void *buf, const char *path, cg_err *err) {
  hid_t ct = H5Tcreate(H5T_COMPOUND, H5Tget_size(mem_type)), dxpl = H5Pcreate(H5P_DATASET_XFER);
  int rc = 0;
  H5Pset_vlen_mem_manager(dxpl, on_alloc, NULL, on_free, NULL);
  if (ct < 0 || H5Tinsert(ct, name, 0, mem_type) < 0 || H5Dread(d, ct, H5S_ALL, H5S_ALL, dxpl, buf) < 0)
    rc = cg__h5_fail(err, CG_EFORMAT, path, "cannot read field '%s'", name);
  if (ct >= 0) H5Tclose(ct);
  H5Pclose(dxpl);
  return rc;
}

static int read_string_field(hid_t d, const char *name, hid_t ft, int64_t n, char ***out, const char *path,
                             cg_err *err) {
  int vlen = H5Tis_variable_str(ft) > 0, rc = 0;
  size_t sz = vlen ? sizeof(char *) : H5Tget_size(ft);
  hid_t mt = H5Tcopy(ft);
  char *raw = cg_calloc((size_t)(n ? n : 1), sz), **v = cg_calloc((size_t)(n ? n : 1), sizeof *v);
  if (!raw || !v) rc = cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
  if (rc == 0 && n > 0) rc = read_field(d, name, mt, vlen ? (void *)v : (void *)raw, path, err);
  for (int64_t i = 0; rc == 0 && i < n; i++) {
    if (!vlen) v[i] = cg_strndup(raw + (size_t)i * sz, strnlen(raw + (size_t)i * sz, sz));
    else if (!v[i]) v[i] = cg_strdup("");
    if (!v[i]) rc = cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
    else if (!cg__utf8_valid(v[i], strlen(v[i])))
      rc = cg_err_set(err, CG_EFORMAT, "%s: field '%s': row %lld: string is not valid UTF-8", path, name, (long long)i);
  }
  H5Tclose(mt);
  cg_free(raw);
  if (rc) cg__free_strings(v, n);
  else *out = v;
  return rc;
}

/* One non-index field -> column; CG_EUNSUPPORTED for array/other fields. */
static int read_member_column(hid_t d, hid_t ft, const char *name, int64_t n, cg_column *col, const char *path,
                              cg_err *err) {
  H5T_class_t cls = H5Tget_class(ft);
  int rc = 0;
  memset(col, 0, sizeof *col);
  cg__dtype_name(ft, col->dtype, sizeof col->dtype);
  col->n = n;
  if (cls == H5T_STRING) {
    col->type = CG_COL_STRING;
    snprintf(col->dtype, sizeof col->dtype, "object");
    rc = read_string_field(d, name, ft, n, &col->v.str, path, err);
  } else if (cls == H5T_INTEGER || cls == H5T_FLOAT || (cls == H5T_ENUM && cg__type_is_bool(ft))) {
    col->type = cls == H5T_INTEGER ? CG_COL_INT : cls == H5T_FLOAT ? CG_COL_FLOAT : CG_COL_BOOL;
    hid_t mt = cls == H5T_INTEGER ? H5T_NATIVE_INT64 : cls == H5T_FLOAT ? H5T_NATIVE_DOUBLE : ft;
    col->v.i64 = cg_malloc_array((size_t)(n ? n : 1), 8);
    if (!col->v.i64) rc = cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
    else if (n > 0) rc = read_field(d, name, mt, col->v.i64, path, err);
    for (int64_t i = 0; rc == 0 && cls == H5T_ENUM && i < n; i++) col->v.b[i] = col->v.b[i] != 0;
  } else {
    rc = cg_err_set(err, CG_EUNSUPPORTED, "%s: field '%s' of type %s", path, name, col->dtype);
  }
  if (rc == 0 && !(col->name = cg_strdup(name))) rc = cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
  if (rc) cg_column_dispose(col);
  return rc;
}

static int read_index_field(hid_t d, hid_t ft, const char *name, cg_frame *f, const char *path, cg_err *err) {
  if (H5Tget_class(ft) == H5T_STRING) return read_string_field(d, name, ft, f->n_rows, &f->index, path, err);
  cg_column c;
  int rc = read_member_column(d, ft, name, f->n_rows, &c, path, err);
  if (rc) return rc == CG_EUNSUPPORTED ? CG_EFORMAT : rc;
  if (!(f->index = cg_calloc((size_t)(f->n_rows ? f->n_rows : 1), sizeof(char *)))) rc = CG_ENOMEM;
  char txt[64];
  for (int64_t i = 0; rc == 0 && i < f->n_rows; i++) {
    if (c.type == CG_COL_FLOAT) cg__fmt_double(c.v.f64[i], txt, sizeof txt);
    else if (c.type == CG_COL_BOOL) snprintf(txt, sizeof txt, "%s", c.v.b[i] ? "True" : "False");
    else snprintf(txt, sizeof txt, "%lld", (long long)c.v.i64[i]);
    if (!(f->index[i] = cg_strdup(txt))) rc = CG_ENOMEM;
  }
  cg_column_dispose(&c);
  return rc ? cg_err_set(err, rc, "%s: out of memory", path) : 0;
}

static int read_fields(hid_t d, hid_t t, int nm, cg_frame *f, const char *path, cg_h5ad *h, cg_err *err) {
  int rc = 0, cap = 0;
  for (int i = 0; i < nm && rc == 0; i++) {
    char *name = H5Tget_member_name(t, (unsigned)i);
    hid_t ft = H5Tget_member_type(t, (unsigned)i);
    if (!name || ft < 0) rc = cg__h5_fail(err, CG_EFORMAT, path, "unreadable compound field %d", i);
    else if (i == 0 && !(f->index_name = cg_strdup(name))) rc = cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
    else if (i == 0) rc = read_index_field(d, ft, name, f, path, err);
    else {
      cg_column col;
      rc = read_member_column(d, ft, name, f->n_rows, &col, path, err);
      if (rc == CG_EUNSUPPORTED) cg__warn(h, "skipped column: %s", err ? err->msg : name), cg_err_clear(err), rc = 0;
      else if (rc == 0 && (rc = cg__frame_add_col(f, &col, &cap, path, err))) cg_column_dispose(&col);
    }
    if (ft >= 0) H5Tclose(ft);
    if (name) H5free_memory(name);
  }
  return rc;
}

int cg__legacy_read_frame(hid_t d, const char *path, cg_frame **out, cg_h5ad *h, cg_err *err) {
  hid_t t = H5Dget_type(d);
  cg_frame *f = cg_calloc(1, sizeof *f);
  int rc = 0, nm = t >= 0 && H5Tget_class(t) == H5T_COMPOUND ? H5Tget_nmembers(t) : -1;
  if (!f) rc = cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
  else if (nm < 1) rc = cg_err_set(err, CG_EFORMAT, "%s: a legacy dataframe must be a compound dataset", path);
  else if ((f->n_rows = cg__dset_len(d, NULL)) < 0) rc = cg_err_set(err, CG_EFORMAT, "%s: must be 1-D", path);
  else rc = read_fields(d, t, nm, f, path, h, err);
  if (t >= 0) H5Tclose(t);
  if (rc) cg_frame_free(f);
  else *out = f;
  return rc;
}

int cg__legacy_read_field(hid_t d, const char *path, const char *field, cg_column *col, cg_err *err) {
  hid_t t = H5Dget_type(d);
  int idx = t >= 0 && H5Tget_class(t) == H5T_COMPOUND ? H5Tget_member_index(t, field) : -1;
  hid_t ft = idx > 0 ? H5Tget_member_type(t, (unsigned)idx) : -1; /* field 0 is the index */
  int64_t n = cg__dset_len(d, NULL);
  int rc = ft >= 0 && n >= 0 ? read_member_column(d, ft, field, n, col, path, err) : CG_ENOTFOUND;
  if (ft >= 0) H5Tclose(ft);
  if (t >= 0) H5Tclose(t);
  H5Eclear2(H5E_DEFAULT);
  return rc;
}
