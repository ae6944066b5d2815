/* h5ad_cats.c — anndata's _clean_uns compat: categories of obs/var columns stored in uns/<col>_categories.
 *
 * Design notes
 *  1. For each uns child dataset whose key ends in "_categories", the column name is the key with every
 *     "_categories" removed (Python's str.replace). An obs or var column of that name whose values are
 *     integers all < the number of categories becomes a categorical with those categories (string
 *     categories, or numbers as str() text; a scalar string is one category). Codes < -1 are an error,
 *     as pandas' from_codes rejects them.
 *  2. Such a key is then no longer in uns (cg__uns_key_consumed answers that for h5ad_uns.c, reading only
 *     the one column of obs and var it needs).
 *  3. Layout of a frame does not matter: anndata applies this to every era, and so do we.
 */
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "h5ad/h5ad_internal.h"

static const char SUFFIX[] = "_categories";

/* key with every "_categories" removed; NULL if key does not end with it. Caller frees. */
static char *column_of(const char *key) {
  size_t n = strlen(key), sl = sizeof SUFFIX - 1;
  if (n < sl || strcmp(key + n - sl, SUFFIX) != 0) return NULL;
  char *out = cg_malloc(n + 1), *o = out;
  if (!out) return NULL;
  for (const char *p = key; *p;) {
    if (strncmp(p, SUFFIX, sl) == 0) p += sl;
    else *o++ = *p++;
  }
  *o = '\0';
  return out;
}

static int scalar_string_list(hid_t d, const char *path, char ***cats, cg_err *err) {
  char **v = cg_calloc(1, sizeof *v);
  if (!v) return cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
  int rc = cg__read_string_scalar(d, path, v, err);
  if (rc) cg_free(v);
  else *cats = v;
  return rc;
}

/* Categories dataset uns/<key> -> texts; CG_EUNSUPPORTED when it is not 1-D/scalar strings or numbers. */
static int read_uns_cats(cg_h5ad *h, const char *key, char ***cats, int32_t *n, char *dt, size_t dtn, cg_err *err) {
  char path[CG__PATH_MAX];
  cg__path_join(path, sizeof path, "/uns", key);
  hid_t d = H5Dopen2(h->file, path, H5P_DEFAULT), t = d >= 0 ? H5Dget_type(d) : -1;
  int rank = -1, rc = CG_EUNSUPPORTED;
  int64_t len = d >= 0 ? cg__dset_len(d, &rank) : -1;
  snprintf(dt, dtn, "object");
  if (t >= 0 && (rank == 0 || (rank == 1 && len <= INT32_MAX))) {
    if (rank == 0) len = 1;
    if (cg__type_is_string(t) && rank == 0) rc = scalar_string_list(d, path, cats, err);
    else if (cg__type_is_string(t)) rc = cg__read_strings(d, path, len, cats, err);
    else rc = cg__read_number_texts(d, path, len, cats, dt, dtn, err);
  }
  if (t >= 0) H5Tclose(t);
  if (d >= 0) H5Dclose(d);
  H5Eclear2(H5E_DEFAULT);
  if (rc == 0) *n = (int32_t)len;
  return rc;
}

/* 1 if every value of an INT column is < ncat (the "hack to find the axis" of _clean_uns). */
static int fits(const cg_column *c, int32_t ncat) {
  if (c->type != CG_COL_INT || c->valid) return 0;
  for (int64_t i = 0; i < c->n; i++)
    if (c->v.i64[i] >= ncat) return 0;
  return 1;
}

static int to_categorical(cg_column *c, char **cats, int32_t ncat, const char *dt, const char *key, cg_err *err) {
  int32_t *codes = cg_malloc_array((size_t)(c->n ? c->n : 1), sizeof *codes);
  if (!codes) return cg_err_set(err, CG_ENOMEM, "/uns/%s: out of memory", key);
  for (int64_t i = 0; i < c->n; i++) codes[i] = c->v.i64[i] < -1 ? -2 : (int32_t)c->v.i64[i];
  char path[CG__PATH_MAX];
  snprintf(path, sizeof path, "column '%s' with /uns/%s", c->name, key);
  int rc = cg__check_codes(codes, c->n, ncat, path, err);
  if (rc) return cg_free(codes), rc;
  cg_free(c->v.i64);
  c->v.codes = codes;
  c->type = CG_COL_CATEGORICAL;
  c->categories = cats;
  c->n_categories = ncat;
  c->ordered = 0;
  snprintf(c->dtype, sizeof c->dtype, "category");
  snprintf(c->cat_dtype, sizeof c->cat_dtype, "%s", dt);
  return 0;
}

typedef struct {
  char **keys;
  int n, cap;
} key_list;

static herr_t on_key(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  key_list *l = data;
  size_t n = strlen(name);
  if (n < sizeof SUFFIX - 1 || strcmp(name + n - (sizeof SUFFIX - 1), SUFFIX) != 0) return 0;
  if (l->n == l->cap) {
    int nc = l->cap ? l->cap * 2 : 8;
    char **p = cg_realloc(l->keys, (size_t)nc * sizeof *p);
    if (!p) return -1;
    l->keys = p, l->cap = nc;
  }
  return (l->keys[l->n] = cg_strdup(name)) ? (l->n++, 0) : -1;
}

static int category_keys(cg_h5ad *h, key_list *l) {
  memset(l, 0, sizeof *l);
  if (cg__h5_kind(h->file, "/uns") != CG__H5_GROUP) return 0;
  hid_t g = H5Gopen2(h->file, "/uns", H5P_DEFAULT);
  hsize_t idx = 0;
  int rc = g >= 0 && H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, on_key, l) >= 0 ? 0 : CG_EFORMAT;
  if (g >= 0) H5Gclose(g);
  H5Eclear2(H5E_DEFAULT);
  return rc;
}

int cg__apply_uns_categories(cg_h5ad *h, cg_frame *f, cg_err *err) {
  key_list l;
  int rc = category_keys(h, &l);
  for (int k = 0; rc == 0 && k < l.n; k++) {
    char *col = column_of(l.keys[k]), **cats = NULL, dt[24];
    int32_t ncat = 0;
    int i = col ? cg_frame_find(f, col) : -1;
    cg_free(col);
    if (i < 0 || f->cols[i].type != CG_COL_INT) continue;
    int r = read_uns_cats(h, l.keys[k], &cats, &ncat, dt, sizeof dt, err);
    if (r == CG_EUNSUPPORTED) continue;
    if (r) rc = r;
    else if (fits(&f->cols[i], ncat) && (rc = to_categorical(&f->cols[i], cats, ncat, dt, l.keys[k], err)) == 0)
      cats = NULL;
    cg__free_strings(cats, ncat);
  }
  cg__free_strings(l.keys, l.n);
  return rc;
}

/* Reads just column `col` of the obs or var frame (any layout) when it is an integer column. */
static int int_column(cg_h5ad *h, const char *frame, const char *col, cg_column *c) {
  cg_err e;
  int rc = CG_ENOTFOUND;
  memset(c, 0, sizeof *c);
  if (cg__h5_kind(h->file, frame) == CG__H5_DATASET) {
    hid_t d = H5Dopen2(h->file, frame, H5P_DEFAULT);
    if (d >= 0) rc = cg__legacy_read_field(d, frame, col, c, &e), H5Dclose(d);
  } else if (cg__h5_kind(h->file, frame) == CG__H5_GROUP) {
    hid_t g = H5Gopen2(h->file, frame, H5P_DEFAULT);
    char **order = NULL;
    int n = 0, listed = 0;
    if (g >= 0 && cg__attr_strings(g, "column-order", &order, &n) == 0)
      for (int i = 0; i < n && !listed; i++) listed = strcmp(order[i], col) == 0;
    cg__free_strings(order, n);
    int64_t rows = frame[1] == 'o' ? h->n_obs : h->n_vars;
    if (listed) rc = cg__read_column(g, frame, col, rows, c, &e);
    if (g >= 0) H5Gclose(g);
  }
  H5Eclear2(H5E_DEFAULT);
  return rc;
}

int cg__uns_key_consumed(cg_h5ad *h, const char *key) {
  char *col = column_of(key), **cats = NULL, dt[24];
  int32_t ncat = 0;
  int consumed = 0;
  cg_err e;
  if (col && read_uns_cats(h, key, &cats, &ncat, dt, sizeof dt, &e) == 0) {
    for (int a = 0; a < 2 && !consumed; a++) {
      cg_column c;
      if (int_column(h, a == 0 ? "/obs" : "/var", col, &c) == 0) consumed = fits(&c, ncat);
      cg_column_dispose(&c);
    }
  }
  cg__free_strings(cats, ncat);
  cg_free(col);
  return consumed;
}
