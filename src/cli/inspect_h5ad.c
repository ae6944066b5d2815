/* inspect_h5ad.c — JSON summary of an .h5ad file through the h5ad reader (shape in docs/CLI.md). */
#include <math.h>
#include <string.h>

#include "base/mem.h"
#include "base/sparse.h"
#include "cli/inspect.h"
#include "h5ad/h5ad.h"

static json_t *string_array(char **s, int64_t n) {
  json_t *a = json_array();
  for (int64_t i = 0; i < n; i++) json_array_append_new(a, s[i] ? json_string(s[i]) : json_null());
  return a;
}

static int64_t count_missing(const cg_column *c) {
  int64_t k = 0;
  for (int64_t i = 0; i < c->n; i++) {
    if (c->valid && !c->valid[i]) k++;
    else if (c->type == CG_COL_CATEGORICAL && c->v.codes[i] < 0) k++;
    else if (c->type == CG_COL_STRING && !c->v.str[i]) k++;
    else if (c->type == CG_COL_FLOAT && isnan(c->v.f64[i])) k++; /* pandas counts NaN as missing */
  }
  return k;
}

static void categorical_json(const cg_column *c, json_t *o) {
  json_t *counts = json_array();
  int64_t *k = cg_calloc((size_t)c->n_categories + 1, sizeof *k);
  for (int64_t i = 0; k && i < c->n; i++)
    if (c->v.codes[i] >= 0 && c->v.codes[i] < c->n_categories) k[c->v.codes[i]]++;
  for (int32_t j = 0; k && j < c->n_categories; j++) json_array_append_new(counts, json_integer(k[j]));
  cg_free(k);
  json_object_set_new(o, "categories", string_array(c->categories, c->n_categories));
  json_object_set_new(o, "category_dtype", json_string(c->cat_dtype));
  json_object_set_new(o, "ordered", json_boolean(c->ordered));
  json_object_set_new(o, "counts", counts);
}

static void values_json(const cg_column *c, json_t *o) {
  cg_numstats st;
  cg_numstats_init(&st);
  cg_fnv f;
  int64_t n_true = 0;
  switch (c->type) {
  case CG_COL_CATEGORICAL: categorical_json(c, o); return;
  case CG_COL_FLOAT:
    for (int64_t i = 0; i < c->n; i++) cg_numstats_add(&st, c->v.f64[i]);
    cg_numstats_to_json(&st, o);
    return;
  case CG_COL_INT:
    for (int64_t i = 0; i < c->n; i++)
      if (!c->valid || c->valid[i]) cg_numstats_add(&st, (double)c->v.i64[i]);
    cg_numstats_to_json(&st, o);
    return;
  case CG_COL_BOOL:
    for (int64_t i = 0; i < c->n; i++) n_true += (!c->valid || c->valid[i]) && c->v.b[i];
    json_object_set_new(o, "n_true", json_integer(n_true));
    return;
  case CG_COL_STRING:
    cg_fnv_init(&f);
    for (int64_t i = 0; i < c->n; i++)
      if (c->v.str[i]) cg_fnv_add(&f, c->v.str[i]);
    json_object_set_new(o, "fnv1a", cg_fnv_json(&f));
    return;
  }
}

static json_t *frame_json(const cg_frame *fr) {
  json_t *o = json_object(), *cols = json_array();
  cg_fnv f;
  cg_fnv_init(&f);
  for (int64_t i = 0; i < fr->n_rows; i++) cg_fnv_add(&f, fr->index[i] ? fr->index[i] : "");
  json_object_set_new(o, "n_rows", json_integer(fr->n_rows));
  json_object_set_new(o, "index_name", fr->index_name ? json_string(fr->index_name) : json_null());
  json_object_set_new(o, "index_fnv1a", cg_fnv_json(&f));
  for (int i = 0; i < fr->n_cols; i++) {
    const cg_column *c = &fr->cols[i];
    json_t *col = json_pack("{s:s, s:s, s:s, s:I}", "name", c->name, "type", cg_coltype_name(c->type), "dtype",
                            c->dtype, "n_missing", (json_int_t)count_missing(c));
    values_json(c, col);
    json_array_append_new(cols, col);
  }
  json_object_set_new(o, "columns", cols);
  return o;
}

static const char *format_name(cg_matfmt f) {
  static const char *names[] = {"absent", "dense", "csr", "csc"};
  return names[f];
}

/* Streams the matrix once: float64 sum and sum of squares of the stored float32 values, NaNs counted apart. */
static int matrix_checksum(cg_h5ad_matrix *m, json_t *o, cg_err *err) {
  const cg_matrix_info *mi = cg_h5ad_matrix_info(m);
  int64_t lines = cg_h5ad_matrix_major(m) == CG_AXIS_OBS ? mi->n_rows : mi->n_cols;
  double sum = 0, sq = 0;
  int64_t nan = 0, nnz = 0;
  cg_sparse_block b;
  cg_sparse_block_init(&b);
  int rc = 0;
  for (int64_t first = 0; first < lines && !rc; first += 4096) {
    int64_t count = lines - first < 4096 ? lines - first : 4096;
    if ((rc = cg_h5ad_matrix_read_block(m, first, count, &b, err))) break;
    for (int64_t k = 0; k < b.nnz; k++) {
      double v = b.val[k];
      if (isnan(v)) nan++;
      else if (v != 0) sum += v, sq += v * v, nnz++;
    }
  }
  cg_sparse_block_dispose(&b);
  if (!rc)
    json_object_set_new(o, "checksum",
                        json_pack("{s:f, s:f, s:I, s:I}", "sum", sum, "sum_sq", sq, "nonzero", (json_int_t)nnz,
                                  "nan", (json_int_t)nan));
  return rc;
}

static json_t *matrix_json(cg_h5ad *h, const char *which, int checksum, cg_err *err) {
  cg_h5ad_matrix *m = NULL;
  if (cg_h5ad_matrix_open(h, which, &m, err)) return NULL;
  cg_h5ad_matrix_sort_lines(m, 1); /* read what anndata reads: unsorted indices are legal in scipy */
  const cg_matrix_info *mi = cg_h5ad_matrix_info(m);
  int absent = mi->format == CG_MAT_ABSENT;
  int64_t rows = absent ? cg_h5ad_n_obs(h) : mi->n_rows, cols = absent ? cg_h5ad_n_vars(h) : mi->n_cols;
  json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "name", which, "format", format_name(mi->format),
                        "path", mi->path, "n_rows", (json_int_t)rows, "n_cols", (json_int_t)cols, "nnz",
                        (json_int_t)mi->nnz);
  if (!absent) {
    json_object_set_new(o, "dtype", json_string(mi->dtype));
    json_object_set_new(o, "compression", json_string(mi->compression));
    if (mi->index_dtype[0]) json_object_set_new(o, "index_dtype", json_string(mi->index_dtype));
    if (checksum && matrix_checksum(m, o, err)) json_decref(o), o = NULL;
  }
  cg_h5ad_matrix_close(m);
  return o;
}

static json_t *embeddings_json(const cg_embedding *e, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++) {
    double sum = 0;
    for (int64_t k = 0; k < 2 * e[i].n_rows; k++)
      if (!isnan(e[i].xy[k])) sum += e[i].xy[k];
    json_array_append_new(a, json_pack("{s:s, s:[I,i], s:f}", "name", e[i].name, "shape", (json_int_t)e[i].n_rows,
                                       e[i].dims, "sum_xy", sum));
  }
  return a;
}

static json_t *uns_json(const cg_uns *u) {
  json_t *colors = json_object();
  for (int i = 0; i < u->n_colors; i++)
    json_object_set_new(colors, u->colors[i].column, string_array(u->colors[i].colors, u->colors[i].n));
  return json_pack("{s:o, s:o, s:o, s:o}", "title", u->title ? json_string(u->title) : json_null(),
                   "default_embedding", u->default_embedding ? json_string(u->default_embedding) : json_null(),
                   "colors", colors, "keys", string_array(u->keys, u->n_keys));
}

/* Adds "raw" (matrix + raw var frame) when the file has raw, and "layers" (each layer's matrix summary). */
static int extras_json(cg_h5ad *h, json_t *root, int checksum, cg_err *err) {
  cg_frame *rv = NULL;
  int rc = cg_h5ad_read_frame(h, CG_AXIS_VAR, 1, &rv, err);
  if (rc == 0) {
    json_t *m = matrix_json(h, "raw", checksum, err);
    if (!m) return cg_frame_free(rv), err->code;
    json_object_set_new(root, "raw", json_pack("{s:o, s:o}", "matrix", m, "var", frame_json(rv)));
    cg_frame_free(rv);
  } else if (rc != CG_ENOTFOUND) return rc;
  char **names = NULL;
  int n = 0;
  if ((rc = cg_h5ad_layers(h, &names, &n, err))) return rc;
  json_t *layers = json_object();
  for (int i = 0; i < n && !rc; i++) {
    char which[300];
    snprintf(which, sizeof which, "layer:%s", names[i]);
    json_t *m = matrix_json(h, which, checksum, err);
    if (!m) rc = err->code;
    else json_object_set_new(layers, names[i], m);
  }
  cg_h5ad_names_free(names, n);
  json_object_set_new(root, "layers", layers);
  return rc;
}

static json_t *warnings_json(const cg_h5ad *h) {
  json_t *a = json_array();
  for (int i = 0; i < cg_h5ad_n_warnings(h); i++) json_array_append_new(a, json_string(cg_h5ad_warning(h, i)));
  return a;
}

json_t *cg_inspect_h5ad(const char *path, int checksum, cg_err *err) {
  cg_h5ad *h = NULL;
  cg_frame *obs = NULL, *var = NULL;
  cg_embedding *emb = NULL;
  int n_emb = 0;
  cg_uns *uns = NULL;
  json_t *root = NULL, *x = NULL;
  if (cg_h5ad_open(path, &h, err) || cg_h5ad_read_frame(h, CG_AXIS_OBS, 0, &obs, err) ||
      cg_h5ad_read_frame(h, CG_AXIS_VAR, 0, &var, err) || cg_h5ad_read_embeddings(h, &emb, &n_emb, err) ||
      cg_h5ad_read_uns(h, &uns, err) || !(x = matrix_json(h, "X", checksum, err)))
    goto done;
  root = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "kind", "h5ad", "path", path, "era",
                   cg_h5ad_era(h), "n_obs", (json_int_t)cg_h5ad_n_obs(h), "n_vars", (json_int_t)cg_h5ad_n_vars(h),
                   "X", x, "obs", frame_json(obs), "var", frame_json(var), "embeddings",
                   embeddings_json(emb, n_emb), "uns", uns_json(uns));
  x = NULL;
  if (extras_json(h, root, checksum, err)) json_decref(root), root = NULL;
  else json_object_set_new(root, "warnings", warnings_json(h));
done:
  json_decref(x);
  cg_uns_free(uns);
  cg_embeddings_free(emb, n_emb);
  cg_frame_free(var);
  cg_frame_free(obs);
  cg_h5ad_close(h);
  return root;
}
