/* h5ad_column.c — one dataframe column of an obs/var group -> cg_column (see base/frame.h for the model).
 *
 * Design notes
 *  1. What a column element can be, and what it becomes:
 *       group  encoding-type=categorical            codes + categories (strings, or numbers as str() text)
 *       group  encoding-type=nullable-integer       INT  + valid   (dtype "Int64", "Int32", ...)
 *       group  encoding-type=nullable-boolean       BOOL + valid   (dtype "boolean")
 *       group  encoding-type=nullable-string-array  STRING + valid (dtype "string")
 *       dataset with a `categories` object reference (0.7)      categorical, ordered from the target's attr
 *       dataset of strings / bool enum / integers / floats       STRING / BOOL / INT / FLOAT
 *     Anything else (other encodings, 2-D datasets, compounds) is CG_EUNSUPPORTED: the caller skips it
 *     with a warning.
 *  2. Codes must lie in [-1, n_categories) — what pandas' Categorical.from_codes accepts; others are
 *     CG_EFORMAT naming the codes path and the row.
 *  3. A nullable array without `mask` has every value present (anndata reads it with pd.array).
 */
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "h5ad/h5ad_internal.h"

int cg__check_codes(const int32_t *codes, int64_t n, int32_t n_categories, const char *path, cg_err *err) {
  for (int64_t i = 0; i < n; i++)
    if (codes[i] < -1 || codes[i] >= n_categories)
      return cg_err_set(err, CG_EFORMAT, "%s: row %lld: code %d out of range (%d categories)", path,
                        (long long)i, codes[i], n_categories);
  return 0;
}

static int col_alloc(cg_column *col, int64_t n, size_t elem, const char *path, cg_err *err) {
  col->n = n;
  col->v.codes = cg_malloc_array((size_t)(n ? n : 1), elem);
  return col->v.codes ? 0 : cg_err_set(err, CG_ENOMEM, "%s: out of memory for %lld rows", path, (long long)n);
}

int cg__column_from_dataset(hid_t dset, const char *path, int64_t n, cg_column *col, cg_err *err) {
  int rank = 0, rc = 0;
  if (cg__dset_len(dset, &rank) != n) {
    if (rank != 1) return cg_err_set(err, CG_EUNSUPPORTED, "%s: a %d-D array is not a column", path, rank);
    return cg_err_set(err, CG_EFORMAT, "%s: length %lld, expected %lld rows", path,
                      (long long)cg__dset_len(dset, NULL), (long long)n);
  }
  hid_t ft = H5Dget_type(dset);
  if (ft < 0) return cg__h5_fail(err, CG_EFORMAT, path, "cannot read the datatype");
  H5T_class_t cls = H5Tget_class(ft);
  cg__dtype_name(ft, col->dtype, sizeof col->dtype);
  if (cls == H5T_STRING) {
    col->type = CG_COL_STRING;
    col->n = n;
    snprintf(col->dtype, sizeof col->dtype, "object");
    rc = cg__read_strings(dset, path, n, &col->v.str, err);
  } else if (cls == H5T_ENUM && cg__type_is_bool(ft)) {
    col->type = CG_COL_BOOL;
    if (!(rc = col_alloc(col, n, 1, path, err)) && n) rc = cg__read_all(dset, ft, col->v.b, path, err);
    for (int64_t i = 0; rc == 0 && i < n; i++) col->v.b[i] = col->v.b[i] != 0;
  } else if (cls == H5T_INTEGER) {
    col->type = CG_COL_INT;
    if (!(rc = col_alloc(col, n, 8, path, err)) && n) rc = cg__read_all(dset, H5T_NATIVE_INT64, col->v.i64, path, err);
  } else if (cls == H5T_FLOAT) {
    col->type = CG_COL_FLOAT;
    if (!(rc = col_alloc(col, n, 8, path, err)) && n) rc = cg__read_all(dset, H5T_NATIVE_DOUBLE, col->v.f64, path, err);
  } else {
    rc = cg_err_set(err, CG_EUNSUPPORTED, "%s: unsupported dtype %s", path, col->dtype);
  }
  H5Tclose(ft);
  return rc;
}

/* Categories dataset -> strings (or numbers as text), with the pandas dtype of the categories. */
static int read_categories(hid_t dset, const char *path, cg_column *col, cg_err *err) {
  int rank = 0;
  int64_t n = cg__dset_len(dset, &rank);
  if (n < 0 || n > INT32_MAX) return cg_err_set(err, CG_EFORMAT, "%s: categories must be a 1-D array", path);
  hid_t ft = H5Dget_type(dset);
  int is_str = ft >= 0 && cg__type_is_string(ft);
  if (ft >= 0) H5Tclose(ft);
  int rc;
  if (is_str) {
    snprintf(col->cat_dtype, sizeof col->cat_dtype, "object");
    rc = cg__read_strings(dset, path, n, &col->categories, err);
  } else {
    rc = cg__read_number_texts(dset, path, n, &col->categories, col->cat_dtype, sizeof col->cat_dtype, err);
  }
  if (rc == 0) col->n_categories = (int32_t)n;
  return rc;
}

static int read_codes(hid_t dset, const char *path, int64_t n, cg_column *col, cg_err *err) {
  hid_t ft = H5Dget_type(dset);
  int ok = ft >= 0 && H5Tget_class(ft) == H5T_INTEGER;
  if (ft >= 0) H5Tclose(ft);
  if (!ok) return cg_err_set(err, CG_EFORMAT, "%s: categorical codes must be integers", path);
  if (cg__dset_len(dset, NULL) != n)
    return cg_err_set(err, CG_EFORMAT, "%s: length %lld, expected %lld rows", path,
                      (long long)cg__dset_len(dset, NULL), (long long)n);
  int rc = col_alloc(col, n, sizeof(int32_t), path, err);
  if (rc == 0 && n) rc = cg__read_all(dset, H5T_NATIVE_INT32, col->v.codes, path, err);
  return rc;
}

static int open_child(hid_t g, const char *gpath, const char *name, char *path, size_t pn, hid_t *d,
                      cg_err *err) {
  cg__path_join(path, pn, gpath, name);
  if (cg__h5_kind(g, name) != CG__H5_DATASET) return cg_err_set(err, CG_EFORMAT, "%s: missing dataset", path);
  *d = H5Dopen2(g, name, H5P_DEFAULT);
  return *d < 0 ? cg__h5_fail(err, CG_EFORMAT, path, "cannot open") : 0;
}

static int read_categorical_group(hid_t g, const char *gpath, int64_t n, cg_column *col, cg_err *err) {
  char path[CG__PATH_MAX];
  hid_t d = -1;
  int rc;
  col->type = CG_COL_CATEGORICAL;
  snprintf(col->dtype, sizeof col->dtype, "category");
  if ((rc = open_child(g, gpath, "categories", path, sizeof path, &d, err))) return rc;
  rc = read_categories(d, path, col, err);
  H5Dclose(d);
  if (rc || (rc = open_child(g, gpath, "codes", path, sizeof path, &d, err))) return rc;
  rc = read_codes(d, path, n, col, err);
  H5Dclose(d);
  if (rc == 0) rc = cg__check_codes(col->v.codes, n, col->n_categories, path, err);
  if (rc == 0 && cg__attr_bool(g, "ordered", &col->ordered) == CG_EFORMAT)
    rc = cg_err_set(err, CG_EFORMAT, "%s: unreadable `ordered` attribute", gpath);
  return rc;
}

/* pandas' name for a nullable integer array of numpy dtype dt: int64 -> Int64, uint8 -> UInt8. */
static void nullable_int_dtype(char *dt, size_t n) {
  char tmp[24];
  if (dt[0] == 'u') snprintf(tmp, sizeof tmp, "UInt%.8s", dt + 4);
  else snprintf(tmp, sizeof tmp, "Int%.8s", dt + 3);
  snprintf(dt, n, "%s", tmp);
}

/* nullable-*: values + optional mask (1 = missing). */
static int read_nullable(hid_t g, const char *gpath, const char *enc, int64_t n, cg_column *col, cg_err *err) {
  char path[CG__PATH_MAX];
  hid_t d = -1;
  int rc = open_child(g, gpath, "values", path, sizeof path, &d, err);
  if (rc) return rc;
  rc = cg__column_from_dataset(d, path, n, col, err);
  H5Dclose(d);
  if (rc) return rc == CG_EUNSUPPORTED ? CG_EFORMAT : rc;
  int want = strcmp(enc, "nullable-integer") == 0   ? CG_COL_INT
             : strcmp(enc, "nullable-boolean") == 0 ? CG_COL_BOOL
                                                    : CG_COL_STRING;
  if ((int)col->type != want) return cg_err_set(err, CG_EFORMAT, "%s: values do not match %s", path, enc);
  if (want == CG_COL_INT) nullable_int_dtype(col->dtype, sizeof col->dtype);
  if (want == CG_COL_BOOL) snprintf(col->dtype, sizeof col->dtype, "boolean");
  if (want == CG_COL_STRING) snprintf(col->dtype, sizeof col->dtype, "string");
  if (cg__h5_kind(g, "mask") == CG__H5_ABSENT) return 0;
  cg_column m = {0};
  if ((rc = open_child(g, gpath, "mask", path, sizeof path, &d, err))) return rc;
  rc = cg__column_from_dataset(d, path, n, &m, err);
  H5Dclose(d);
  if (rc == 0 && m.type != CG_COL_BOOL) rc = cg_err_set(err, CG_EFORMAT, "%s: mask must be bool", path);
  for (int64_t i = 0; rc == 0 && i < n; i++) { /* mask 1 = missing -> valid 0, value zeroed */
    m.v.b[i] = !m.v.b[i];
    if (m.v.b[i]) continue;
    if (want == CG_COL_STRING) cg_free(col->v.str[i]), col->v.str[i] = NULL;
    else if (want == CG_COL_INT) col->v.i64[i] = 0;
    else col->v.b[i] = 0;
  }
  if (rc == 0) col->valid = m.v.b, m.v.b = NULL;
  cg_column_dispose(&m);
  return rc;
}

/* 0.7: a codes dataset whose `categories` attribute references the categories dataset. */
static int read_ref_categorical(hid_t d, const char *path, int64_t n, cg_column *col, cg_err *err) {
  hobj_ref_t ref;
  hid_t a = H5Aopen(d, "categories", H5P_DEFAULT), at = a >= 0 ? H5Aget_type(a) : -1;
  int ok = at >= 0 && H5Tequal(at, H5T_STD_REF_OBJ) > 0 && H5Aread(a, H5T_STD_REF_OBJ, &ref) >= 0;
  if (at >= 0) H5Tclose(at);
  if (a >= 0) H5Aclose(a);
  if (!ok) return cg__h5_fail(err, CG_EFORMAT, path, "`categories` attribute is not an object reference");
  hid_t cd = H5Rdereference2(d, H5P_DEFAULT, H5R_OBJECT, &ref);
  char cpath[CG__PATH_MAX] = "";
  H5O_type_t ot;
  if (cd < 0 || H5Rget_obj_type2(d, H5R_OBJECT, &ref, &ot) < 0 || ot != H5O_TYPE_DATASET) {
    if (cd >= 0) H5Oclose(cd);
    return cg__h5_fail(err, CG_EFORMAT, path, "`categories` does not reference a dataset");
  }
  if (H5Iget_name(cd, cpath, sizeof cpath) <= 0) snprintf(cpath, sizeof cpath, "%s", path);
  col->type = CG_COL_CATEGORICAL;
  snprintf(col->dtype, sizeof col->dtype, "category");
  int rc = read_categories(cd, cpath, col, err);
  if (rc == 0 && cg__attr_bool(cd, "ordered", &col->ordered) == CG_EFORMAT)
    rc = cg_err_set(err, CG_EFORMAT, "%s: unreadable `ordered` attribute", cpath);
  H5Oclose(cd);
  if (rc == 0) rc = read_codes(d, path, n, col, err);
  if (rc == 0) rc = cg__check_codes(col->v.codes, n, col->n_categories, path, err);
  return rc;
}

static int read_group_column(hid_t parent, const char *name, const char *path, int64_t n, cg_column *col,
                             cg_err *err) {
  hid_t g = H5Gopen2(parent, name, H5P_DEFAULT);
  if (g < 0) return cg__h5_fail(err, CG_EFORMAT, path, "cannot open group");
  char enc[64];
  int rc;
  cg__encoding(g, enc, sizeof enc);
  if (strcmp(enc, "categorical") == 0) rc = read_categorical_group(g, path, n, col, err);
  else if (strncmp(enc, "nullable-", 9) == 0 && (strcmp(enc + 9, "integer") == 0 ||
           strcmp(enc + 9, "boolean") == 0 || strcmp(enc + 9, "string-array") == 0))
    rc = read_nullable(g, path, enc, n, col, err);
  else rc = cg_err_set(err, CG_EUNSUPPORTED, "%s: unsupported column encoding '%s'", path, enc);
  H5Gclose(g);
  return rc;
}

int cg__read_column(hid_t parent, const char *parent_path, const char *name, int64_t n, cg_column *col,
                    cg_err *err) {
  char path[CG__PATH_MAX];
  cg__path_join(path, sizeof path, parent_path, name);
  memset(col, 0, sizeof *col);
  int rc;
  cg__h5kind k = cg__h5_kind(parent, name);
  if (k == CG__H5_GROUP) {
    rc = read_group_column(parent, name, path, n, col, err);
  } else if (k == CG__H5_DATASET) {
    hid_t d = H5Dopen2(parent, name, H5P_DEFAULT);
    if (d < 0) return cg__h5_fail(err, CG_EFORMAT, path, "cannot open dataset");
    if (H5Aexists(d, "categories") > 0) rc = read_ref_categorical(d, path, n, col, err);
    else rc = cg__column_from_dataset(d, path, n, col, err);
    H5Dclose(d);
  } else {
    return cg_err_set(err, CG_EFORMAT, "%s: column listed in column-order is missing", path);
  }
  if (rc == 0 && !(col->name = cg_strdup(name))) rc = cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
  if (rc) cg_column_dispose(col);
  return rc;
}
