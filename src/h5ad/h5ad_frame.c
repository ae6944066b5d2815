/* h5ad_frame.c — obs, var and raw.var as cg_frame.
 *
 * Design notes
 *  1. Where the frame lives:     obs -> /obs     var -> /var     raw var -> /raw/var, or /raw.var (legacy)
 *     A group is a 0.7 / >= 0.8 dataframe; a compound dataset is the legacy layout (h5ad_legacy.c).
 *  2. Group dataframe: the `_index` attribute names the index dataset; `column-order` lists the columns in
 *     order (an empty list may be stored as a float64 array of length 0). Without column-order (not
 *     written by anndata, but seen from other writers) every child except the index and `__categories`
 *     is a column, in name order, with a warning.
 *  3. Column names must be unique: a duplicate is CG_EFORMAT (checked by sorting, n log n).
 *  4. After reading obs or var (never raw.var), uns/<col>_categories entries turn integer columns into
 *     categoricals, as anndata's _clean_uns does for every era (h5ad_legacy.c).
 *  5. A numeric index (unusual) becomes text the way str() prints it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "h5ad/h5ad_internal.h"

int cg__frame_add_col(cg_frame *f, cg_column *col, int *cap, const char *path, cg_err *err) {
  if (f->n_cols == *cap) {
    int nc = *cap ? *cap * 2 : 16;
    cg_column *c = cg_realloc(f->cols, (size_t)nc * sizeof *c);
    if (!c) return cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
    f->cols = c;
    *cap = nc;
  }
  f->cols[f->n_cols++] = *col;
  memset(col, 0, sizeof *col);
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int check_unique(char **names, int n, const char *path, cg_err *err) {
  if (n < 2) return 0;
  char **s = cg_malloc_array((size_t)(n ? n : 1), sizeof *s);
  if (!s) return cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
  memcpy(s, names, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_str);
  int rc = 0;
  for (int i = 1; i < n && rc == 0; i++)
    if (strcmp(s[i - 1], s[i]) == 0) rc = cg_err_set(err, CG_EFORMAT, "%s: duplicate column name '%s'", path, s[i]);
  cg_free(s);
  return rc;
}

typedef struct {
  char **names;
  int n, cap;
  const char *skip;
} name_list;

static herr_t on_child(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  name_list *l = data;
  if (strcmp(name, l->skip) == 0 || strcmp(name, "__categories") == 0) return 0;
  if (l->n == l->cap) {
    int nc = l->cap ? l->cap * 2 : 16;
    char **p = cg_realloc(l->names, (size_t)nc * sizeof *p);
    if (!p) return -1;
    l->names = p, l->cap = nc;
  }
  return (l->names[l->n] = cg_strdup(name)) ? (l->n++, 0) : -1;
}

/* Column names from column-order, or every child (see note 2). */
static int column_names(cg_h5ad *h, hid_t g, const char *path, const char *index_key, char ***names, int *n,
                        cg_err *err) {
  int rc = cg__attr_strings(g, "column-order", names, n);
  if (rc == CG_EFORMAT) return cg_err_set(err, rc, "%s: unreadable column-order attribute", path);
  if (rc != CG_ENOTFOUND) return rc ? cg_err_set(err, rc, "%s: out of memory", path) : 0;
  name_list l = {NULL, 0, 0, index_key};
  hsize_t idx = 0;
  if (H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, on_child, &l) < 0) {
    cg__free_strings(l.names, l.n);
    return cg__h5_fail(err, CG_EFORMAT, path, "cannot list columns");
  }
  cg__warn(h, "%s: no column-order attribute; reading all %d children as columns", path, l.n);
  *names = l.names, *n = l.n;
  return 0;
}

static int read_index(hid_t g, const char *path, const char *key, int64_t *n, char ***out, cg_err *err) {
  char ipath[CG__PATH_MAX];
  cg__path_join(ipath, sizeof ipath, path, key);
  if (cg__h5_kind(g, key) != CG__H5_DATASET) return cg_err_set(err, CG_EFORMAT, "%s: index dataset missing", ipath);
  hid_t d = H5Dopen2(g, key, H5P_DEFAULT);
  if (d < 0) return cg__h5_fail(err, CG_EFORMAT, ipath, "cannot open index");
  int rank = 0;
  *n = cg__dset_len(d, &rank);
  hid_t t = H5Dget_type(d);
  int rc, is_str = t >= 0 && cg__type_is_string(t);
  char dt[24];
  if (t >= 0) H5Tclose(t);
  if (*n < 0) rc = cg_err_set(err, CG_EFORMAT, "%s: index must be 1-D (rank %d)", ipath, rank);
  else if (is_str) rc = cg__read_strings(d, ipath, *n, out, err);
  else rc = cg__read_number_texts(d, ipath, *n, out, dt, sizeof dt, err);
  H5Dclose(d);
  return rc;
}

static int read_columns(cg_h5ad *h, hid_t g, const char *path, char **names, int nn, cg_frame *f,
                        cg_err *err) {
  int cap = 0, rc = 0;
  for (int i = 0; i < nn && rc == 0; i++) {
    cg_column col;
    rc = cg__read_column(g, path, names[i], f->n_rows, &col, err);
    if (rc == CG_EUNSUPPORTED) {
      cg__warn(h, "skipped column: %s", err ? err->msg : names[i]);
      cg_err_clear(err);
      rc = 0;
      continue;
    }
    if (rc == 0) rc = cg__frame_add_col(f, &col, &cap, path, err);
    if (rc) cg_column_dispose(&col);
  }
  return rc;
}

static int read_group_frame(cg_h5ad *h, hid_t g, const char *path, cg_frame **out, cg_err *err) {
  cg_frame *f = cg_calloc(1, sizeof *f);
  char **names = NULL;
  int nn = 0, rc;
  if (!f) return cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
  rc = cg__attr_string(g, "_index", &f->index_name);
  if (rc == CG_ENOTFOUND && cg__h5_kind(g, "_index") == CG__H5_DATASET) rc = (f->index_name = cg_strdup("_index")) ? 0 : CG_ENOMEM;
  if (rc) {
    rc = cg_err_set(err, rc == CG_ENOMEM ? rc : CG_EFORMAT, "%s: missing or unreadable _index attribute", path);
    goto done;
  }
  if ((rc = read_index(g, path, f->index_name, &f->n_rows, &f->index, err))) goto done;
  if ((rc = column_names(h, g, path, f->index_name, &names, &nn, err))) goto done;
  if ((rc = check_unique(names, nn, path, err))) goto done;
  rc = read_columns(h, g, path, names, nn, f, err);
done:
  cg__free_strings(names, nn);
  if (rc) cg_frame_free(f);
  else *out = f;
  return rc;
}

/* Resolves which object holds the frame: 0 and path set, or CG_ENOTFOUND. */
static int frame_path(cg_h5ad *h, cg_axis axis, int raw, char *path, size_t n) {
  if (!raw) {
    snprintf(path, n, axis == CG_AXIS_OBS ? "/obs" : "/var");
    return 0;
  }
  if (cg__h5_kind(h->file, "/raw/var") != CG__H5_ABSENT) return snprintf(path, n, "/raw/var"), 0;
  if (cg__h5_kind(h->file, "/raw.var") != CG__H5_ABSENT) return snprintf(path, n, "/raw.var"), 0;
  return CG_ENOTFOUND;
}

int cg__frame_len(hid_t file, const char *path, int64_t *n, cg_err *err) {
  cg__h5kind k = cg__h5_kind(file, path);
  if (k == CG__H5_ABSENT) return cg_err_set(err, CG_EFORMAT, "%s: missing (not an AnnData file?)", path);
  if (k == CG__H5_DATASET) {
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    *n = d >= 0 ? cg__dset_len(d, NULL) : -1;
    if (d >= 0) H5Dclose(d);
    return *n >= 0 ? 0 : cg__h5_fail(err, CG_EFORMAT, path, "expected a 1-D compound dataset");
  }
  hid_t g = H5Gopen2(file, path, H5P_DEFAULT);
  char *key = NULL, ipath[CG__PATH_MAX];
  if (g < 0) return cg__h5_fail(err, CG_EFORMAT, path, "cannot open group");
  int rc = cg__attr_string(g, "_index", &key);
  cg__path_join(ipath, sizeof ipath, path, rc == 0 ? key : "_index");
  hid_t d = cg__h5_kind(file, ipath) == CG__H5_DATASET ? H5Dopen2(file, ipath, H5P_DEFAULT) : -1;
  *n = d >= 0 ? cg__dset_len(d, NULL) : -1;
  if (d >= 0) H5Dclose(d);
  H5Gclose(g);
  cg_free(key);
  return *n >= 0 ? 0 : cg_err_set(err, CG_EFORMAT, "%s: no readable 1-D index dataset (_index attribute)", path);
}

int cg_h5ad_read_frame(cg_h5ad *h, cg_axis axis, int raw, cg_frame **out, cg_err *err) {
  char path[64];
  *out = NULL;
  cg__h5_quiet();
  if (raw && axis == CG_AXIS_OBS) return cg_err_set(err, CG_EINVAL, "raw has no obs frame (use CG_AXIS_VAR)");
  if (frame_path(h, axis, raw, path, sizeof path)) return cg_err_set(err, CG_ENOTFOUND, "file has no raw");
  cg__h5kind k = cg__h5_kind(h->file, path);
  int rc;
  if (k == CG__H5_DATASET) {
    hid_t d = H5Dopen2(h->file, path, H5P_DEFAULT);
    if (d < 0) return cg__h5_fail(err, CG_EFORMAT, path, "cannot open");
    rc = cg__legacy_read_frame(d, path, out, h, err);
    H5Dclose(d);
  } else if (k == CG__H5_GROUP) {
    hid_t g = H5Gopen2(h->file, path, H5P_DEFAULT);
    if (g < 0) return cg__h5_fail(err, CG_EFORMAT, path, "cannot open");
    rc = read_group_frame(h, g, path, out, err);
    H5Gclose(g);
  } else {
    return cg_err_set(err, CG_EFORMAT, "%s: neither a group nor a dataset", path);
  }
  int64_t want = raw ? -1 : axis == CG_AXIS_OBS ? h->n_obs : h->n_vars;
  if (rc == 0 && want >= 0 && (*out)->n_rows != want)
    rc = cg_err_set(err, CG_EFORMAT, "%s: %lld rows, expected %lld", path, (long long)(*out)->n_rows, (long long)want);
  if (rc == 0 && !raw) rc = cg__apply_uns_categories(h, *out, err);
  if (rc) cg_frame_free(*out), *out = NULL;
  return rc;
}
