/* inspect_bundle.c — JSON summary of a .cgb bundle, the same shape as inspect_h5ad.c (docs/CLI.md). */
#include <math.h>
#include <string.h>

#include "base/mem.h"
#include "bundle/bundle.h"
#include "cli/inspect.h"

static json_t *strings_json(const cg_bundle_strings *s) {
  json_t *a = json_array();
  for (int64_t i = 0; i < s->count; i++) json_array_append_new(a, json_string(cg_bundle_str(s, i, NULL)));
  return a;
}

static int is_missing(const cg_bundle_column *c, int64_t i) {
  if (c->valid && !c->valid[i]) return 1;
  if (c->type == CG_BCOL_CATEGORICAL) return c->v.codes[i] < 0;
  if (c->type == CG_BCOL_F32) return isnan(c->v.f32[i]);
  return 0;
}

static int is_int_dtype(const char *dtype) {
  return strstr(dtype, "int") != NULL || strstr(dtype, "Int") != NULL;
}

static const char *logical_type(const cg_bundle_column *c) {
  switch (c->type) {
  case CG_BCOL_CATEGORICAL: return "categorical";
  case CG_BCOL_F32: return is_int_dtype(c->dtype) ? "int" : "float";
  case CG_BCOL_I32: return "int";
  case CG_BCOL_BOOL: return "bool";
  case CG_BCOL_STRING: return "string";
  }
  return "unknown";
}

static void categorical_json(const cg_bundle_column *c, json_t *o) {
  int64_t nc = c->categories.count;
  int64_t *k = cg_calloc((size_t)nc + 1, sizeof *k);
  json_t *counts = json_array();
  for (int64_t i = 0; k && i < c->n; i++)
    if (c->v.codes[i] >= 0) k[c->v.codes[i]]++; /* open() guarantees codes < nc */
  for (int64_t j = 0; k && j < nc; j++) json_array_append_new(counts, json_integer(k[j]));
  cg_free(k);
  json_object_set_new(o, "categories", strings_json(&c->categories));
  json_object_set_new(o, "category_dtype", json_string(c->cat_dtype));
  json_object_set_new(o, "ordered", json_boolean(c->ordered));
  json_object_set_new(o, "counts", counts);
}

static void values_json(const cg_bundle_column *c, json_t *o) {
  cg_numstats st;
  cg_numstats_init(&st);
  cg_fnv f;
  int64_t n_true = 0;
  switch (c->type) {
  case CG_BCOL_CATEGORICAL: categorical_json(c, o); return;
  case CG_BCOL_F32:
    for (int64_t i = 0; i < c->n; i++)
      if (!c->valid || c->valid[i]) cg_numstats_add(&st, c->v.f32[i]);
    break;
  case CG_BCOL_I32:
    for (int64_t i = 0; i < c->n; i++)
      if (!c->valid || c->valid[i]) cg_numstats_add(&st, c->v.i32[i]);
    break;
  case CG_BCOL_BOOL:
    for (int64_t i = 0; i < c->n; i++) n_true += (!c->valid || c->valid[i]) && c->v.b[i];
    json_object_set_new(o, "n_true", json_integer(n_true));
    return;
  case CG_BCOL_STRING:
    cg_fnv_init(&f);
    for (int64_t i = 0; i < c->n; i++)
      if (!c->valid || c->valid[i]) cg_fnv_add(&f, cg_bundle_str(&c->str, i, NULL));
    json_object_set_new(o, "fnv1a", cg_fnv_json(&f));
    return;
  }
  cg_numstats_to_json(&st, o);
  if (strcmp(logical_type(c), "int") == 0) json_object_del(o, "n_nan");
}

static json_t *frame_json(const cg_bundle *b, cg_bundle_axis axis) {
  const cg_bundle_strings *idx = cg_bundle_index(b, axis);
  const char *iname = cg_bundle_index_name(b, axis);
  cg_fnv f;
  cg_fnv_init(&f);
  for (int64_t i = 0; i < idx->count; i++) cg_fnv_add(&f, cg_bundle_str(idx, i, NULL));
  json_t *cols = json_array();
  for (int i = 0; i < cg_bundle_n_columns(b, axis); i++) {
    const cg_bundle_column *c = cg_bundle_column_at(b, axis, i);
    int64_t missing = 0;
    for (int64_t r = 0; r < c->n; r++) missing += is_missing(c, r);
    json_t *col = json_pack("{s:s, s:s, s:s, s:I}", "name", c->name, "type", logical_type(c), "dtype", c->dtype,
                            "n_missing", (json_int_t)missing);
    values_json(c, col);
    json_array_append_new(cols, col);
  }
  return json_pack("{s:I, s:o, s:o, s:o}", "n_rows", (json_int_t)idx->count, "index_name",
                   iname ? json_string(iname) : json_null(), "index_fnv1a", cg_fnv_json(&f), "columns", cols);
}

static json_t *checksum_json(const cg_bundle_csx *m) {
  double sum = 0, sq = 0;
  int64_t nan = 0, nonzero = 0;
  for (int64_t k = 0; k < m->nnz; k++) {
    double v = m->data[k];
    if (isnan(v)) nan++;
    else if (v != 0) sum += v, sq += v * v, nonzero++;
  }
  return json_pack("{s:f, s:f, s:I, s:I}", "sum", sum, "sum_sq", sq, "nonzero", (json_int_t)nonzero, "nan",
                   (json_int_t)nan);
}

static json_t *matrix_json(const cg_bundle *b, int checksum) {
  cg_bundle_csx csr;
  json_t *o = json_pack("{s:I, s:I}", "n_rows", (json_int_t)cg_bundle_n_obs(b), "n_cols",
                        (json_int_t)cg_bundle_n_vars(b));
  if (cg_bundle_csr(b, &csr) != 0) {
    json_object_set_new(o, "format", json_string("absent"));
    return o;
  }
  json_object_set_new(o, "name", json_string(cg_bundle_matrix_name(b)));
  json_object_set_new(o, "format", json_string("csr"));
  json_object_set_new(o, "also", json_string("csc"));
  json_object_set_new(o, "dtype", json_string("float32"));
  json_object_set_new(o, "source_dtype", json_string(cg_bundle_matrix_dtype(b)));
  json_object_set_new(o, "nnz", json_integer(cg_bundle_nnz(b)));
  if (checksum) json_object_set_new(o, "checksum", checksum_json(&csr));
  return o;
}

static json_t *embeddings_json(const cg_bundle *b) {
  json_t *a = json_array();
  int64_t n = cg_bundle_n_obs(b);
  for (int i = 0; i < cg_bundle_n_embeddings(b); i++) {
    const cg_bundle_embedding *e = cg_bundle_embedding_at(b, i);
    double sum = 0;
    for (int64_t k = 0; k < 2 * n; k++)
      if (!isnan(e->xy[k])) sum += e->xy[k];
    json_array_append_new(a, json_pack("{s:s, s:[I,i], s:f}", "name", e->name, "shape", (json_int_t)n, e->dims,
                                       "sum_xy", sum));
  }
  return a;
}

static json_t *uns_json(const cg_bundle *b) {
  json_t *colors = json_object();
  for (int i = 0; i < cg_bundle_n_colors(b); i++) {
    const cg_bundle_colors *c = cg_bundle_colors_at(b, i);
    json_t *a = json_array();
    for (int k = 0; k < c->n; k++) json_array_append_new(a, json_string(c->colors[k]));
    json_object_set_new(colors, c->column, a);
  }
  const char *t = cg_bundle_title(b), *d = cg_bundle_default_embedding(b);
  return json_pack("{s:o, s:o, s:o}", "title", t ? json_string(t) : json_null(), "default_embedding",
                   d ? json_string(d) : json_null(), "colors", colors);
}

static json_t *sections_json(const cg_bundle *b) {
  json_t *a = json_array();
  cg_bundle_section s;
  for (int i = 0; i < cg_bundle_n_sections(b); i++) {
    if (cg_bundle_section_at(b, i, &s)) continue;
    char sum[17];
    snprintf(sum, sizeof sum, "%016llx", (unsigned long long)s.checksum);
    json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I, s:s}", "kind", s.kind_name, "label", s.label, "offset",
                                       (json_int_t)s.offset, "length", (json_int_t)s.length, "xxh3", sum));
  }
  return a;
}

json_t *cg_inspect_bundle(const char *path, int checksum, int verify, cg_err *err) {
  cg_bundle *b = NULL;
  if (cg_bundle_open(path, &b, err)) return NULL;
  if (verify && cg_bundle_verify(b, err)) {
    cg_bundle_release(b);
    return NULL;
  }
  json_t *r = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "kind", "cgb",
                        "path", path, "bundle_id", cg_bundle_id(b), "format_version", (int)cg_bundle_format_version(b),
                        "file_size", (json_int_t)cg_bundle_file_size(b), "n_obs", (json_int_t)cg_bundle_n_obs(b),
                        "n_vars", (json_int_t)cg_bundle_n_vars(b), "X", matrix_json(b, checksum), "obs",
                        frame_json(b, CG_BUNDLE_OBS), "var", frame_json(b, CG_BUNDLE_VAR), "embeddings",
                        embeddings_json(b), "uns", uns_json(b), "sections", sections_json(b), "verified", verify);
  cg_bundle_release(b);
  return r;
}
