/* h5ad_uns.c — the parts of uns the Explorer uses: title, default_embedding, <col>_colors, and the keys.
 *
 * Design notes
 *  1. Keys are every child of /uns in byte order (= Python's sorted() on str for UTF-8), minus the legacy
 *     `<col>_categories` entries that anndata moves into obs/var (h5ad_cats.c).
 *  2. title / default_embedding: a string scalar (encoding-type string, a 0.7 scalar, or a legacy one-element
 *     string array). Another shape is skipped with a warning; a string that is not UTF-8 is an error.
 *  3. `<col>_colors`: a 1-D array of strings (vlen or fixed "S7"); other shapes are skipped with a warning.
 *  4. A file without /uns (or with a non-group uns) has an empty cg_uns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "h5ad/h5ad_internal.h"

void cg_uns_free(cg_uns *u) {
  if (!u) return;
  cg_free(u->title);
  cg_free(u->default_embedding);
  for (int i = 0; i < u->n_colors; i++) {
    cg_free(u->colors[i].column);
    cg__free_strings(u->colors[i].colors, u->colors[i].n);
  }
  cg_free(u->colors);
  cg__free_strings(u->keys, u->n_keys);
  cg_free(u);
}

typedef struct {
  char **v;
  int n, cap;
} strvec;

static int strvec_push(strvec *s, const char *x) {
  if (s->n == s->cap) {
    int nc = s->cap ? s->cap * 2 : 16;
    char **p = cg_realloc(s->v, (size_t)nc * sizeof *p);
    if (!p) return CG_ENOMEM;
    s->v = p, s->cap = nc;
  }
  return (s->v[s->n] = cg_strdup(x)) ? (s->n++, 0) : CG_ENOMEM;
}

static herr_t on_key(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  return strvec_push(data, name) ? -1 : 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* uns/<key> as one string into *out; a non-string or wrong shape is a warning, bad UTF-8 an error. */
static int read_scalar(cg_h5ad *h, hid_t g, const char *key, char **out, cg_err *err) {
  char path[CG__PATH_MAX];
  cg__path_join(path, sizeof path, "/uns", key);
  if (cg__h5_kind(g, key) != CG__H5_DATASET) return cg__warn(h, "skipped %s: not a string", path), 0;
  hid_t d = H5Dopen2(g, key, H5P_DEFAULT);
  if (d < 0) return cg__h5_fail(err, CG_EFORMAT, path, "cannot open");
  cg_err e;
  int rc = cg__read_string_scalar(d, path, out, &e);
  H5Dclose(d);
  if (rc == CG_EFORMAT && strstr(e.msg, "UTF-8")) return cg_err_set(err, rc, "%s", e.msg);
  if (rc == CG_EFORMAT) return cg__warn(h, "skipped %s", e.msg), 0;
  return rc ? cg_err_set(err, rc, "%s", e.msg) : 0;
}

static int read_colors(cg_h5ad *h, hid_t g, const char *key, cg_uns *u, cg_err *err) {
  char path[CG__PATH_MAX];
  cg__path_join(path, sizeof path, "/uns", key);
  hid_t d = cg__h5_kind(g, key) == CG__H5_DATASET ? H5Dopen2(g, key, H5P_DEFAULT) : -1;
  hid_t t = d >= 0 ? H5Dget_type(d) : -1;
  int64_t n = d >= 0 ? cg__dset_len(d, NULL) : -1;
  int rc = 0;
  if (t < 0 || !cg__type_is_string(t) || n < 0 || n > INT32_MAX) {
    cg__warn(h, "skipped %s: not a 1-D array of strings", path);
  } else {
    cg_colors *c = &u->colors[u->n_colors];
    memset(c, 0, sizeof *c);
    rc = cg__read_strings(d, path, n, &c->colors, err);
    if (rc == 0) c->n = (int)n, c->column = cg_strndup(key, strlen(key) - 7), u->n_colors++;
    if (rc == 0 && !c->column) rc = cg_err_set(err, CG_ENOMEM, "%s: out of memory", path);
  }
  if (t >= 0) H5Tclose(t);
  if (d >= 0) H5Dclose(d);
  return rc;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

static int read_entries(cg_h5ad *h, hid_t g, strvec *all, cg_uns *u, strvec *keys, cg_err *err) {
  int rc = 0;
  if (!(u->colors = cg_calloc((size_t)(all->n ? all->n : 1), sizeof *u->colors)))
    return cg_err_set(err, CG_ENOMEM, "/uns: out of memory");
  for (int i = 0; i < all->n && rc == 0; i++) {
    const char *k = all->v[i];
    if (ends_with(k, "_categories") && cg__uns_key_consumed(h, k)) continue;
    if (strvec_push(keys, k)) rc = cg_err_set(err, CG_ENOMEM, "/uns: out of memory");
    else if (strcmp(k, "title") == 0) rc = read_scalar(h, g, k, &u->title, err);
    else if (strcmp(k, "default_embedding") == 0) rc = read_scalar(h, g, k, &u->default_embedding, err);
    else if (ends_with(k, "_colors")) rc = read_colors(h, g, k, u, err);
  }
  return rc;
}

int cg_h5ad_read_uns(cg_h5ad *h, cg_uns **out, cg_err *err) {
  cg_uns *u = cg_calloc(1, sizeof *u);
  strvec all = {0}, keys = {0};
  int rc = 0;
  *out = NULL;
  cg__h5_quiet();
  if (!u) return cg_err_set(err, CG_ENOMEM, "/uns: out of memory");
  if (cg__h5_kind(h->file, "/uns") == CG__H5_GROUP) {
    hid_t g = H5Gopen2(h->file, "/uns", H5P_DEFAULT);
    hsize_t idx = 0;
    if (g < 0 || H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, on_key, &all) < 0)
      rc = cg__h5_fail(err, CG_EFORMAT, "/uns", "cannot list keys");
    if (rc == 0 && all.n > 1) qsort(all.v, (size_t)all.n, sizeof *all.v, cmp_str);
    if (rc == 0) rc = read_entries(h, g, &all, u, &keys, err);
    if (g >= 0) H5Gclose(g);
  }
  cg__free_strings(all.v, all.n);
  u->keys = keys.v, u->n_keys = keys.n;
  if (rc) cg_uns_free(u);
  else *out = u;
  return rc;
}
