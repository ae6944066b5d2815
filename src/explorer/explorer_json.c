/* explorer_json.c — the JSON routes (config, schema, colors, genesets, s3_uri) and query helpers. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "explorer/explorer_de.h"
#include "explorer/explorer_int.h"
#include "query/filter.h"
#include "wire/fbs.h"

/* --- helpers --------------------------------------------------------------------------------------------- */

int cg__x_json_out(json_t *j, cg__xout *o, cg_err *err) {
  if (!j) return cg_err_set(err, CG_ENOMEM, "json");
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
  json_decref(j);
  if (!s) return cg_err_set(err, CG_ENOMEM, "json");
  size_t n = strlen(s);
  o->buf = (uint8_t *)cg_strndup(s, n);
  free(s);
  if (!o->buf) return cg_err_set(err, CG_ENOMEM, "json");
  o->len = n, o->ctype = "application/json";
  return 0;
}

int cg__x_query_each(const char *qs, size_t len, const char *name, int (*fn)(void *ctx, const char *v),
                     void *ctx) {
  size_t pos = 0;
  cg_http_pair pr;
  while (cg_http_form_next(qs, len, &pos, &pr)) {
    if (!cg_http_key_is(&pr, name)) continue;
    char *v = cg_malloc(pr.vlen + 1);
    if (!v) return CG_ENOMEM;
    cg_http_form_decode(pr.val, pr.vlen, v, pr.vlen + 1);
    int rc = fn(ctx, v);
    cg_free(v);
    if (rc) return rc;
  }
  return 0;
}

int cg__x_query_get(const char *qs, size_t len, const char *name, char *buf, size_t cap) {
  size_t pos = 0;
  cg_http_pair pr;
  while (cg_http_form_next(qs, len, &pos, &pr))
    if (cg_http_key_is(&pr, name)) return cg_http_form_decode(pr.val, pr.vlen, buf, cap) < 0 ? CG_EINVAL : 1;
  return 0;
}

int cg__x_nbins(const cg__xq *q, int32_t *nbins, cg_err *err) {
  *nbins = 0;
  char buf[32];
  int rc = cg__x_query_get(q->qs, q->qlen, "nbins", buf, sizeof buf);
  if (rc == 0 || q->api < 3) return 0;
  char *end;
  long v = rc > 0 ? strtol(buf, &end, 10) : 0;
  if (rc < 0 || *end || end == buf || v < 1 || v > CG_FBS_MAX_NBINS)
    return cg_err_set(err, CG_EINVAL, "nbins: must be an integer in 1..%d", CG_FBS_MAX_NBINS);
  *nbins = (int32_t)v;
  return 0;
}

const char *cg__x_layout_name(const cg_bundle_embedding *e) {
  return strncmp(e->name, "X_", 2) == 0 && e->name[2] ? e->name + 2 : NULL;
}

/* --- config ---------------------------------------------------------------------------------------------- */

static json_t *layouts(const cg_bundle *b) {
  json_t *a = json_array();
  for (int i = 0; a && i < cg_bundle_n_embeddings(b) && (int)json_array_size(a) < CG_X_LAYOUT_MAX; i++) {
    const char *n = cg__x_layout_name(cg_bundle_embedding_at(b, i));
    if (n) json_array_append_new(a, json_string(n));
  }
  return a;
}

static json_t *default_layout(const cg_bundle *b) {
  const char *d = cg_bundle_default_embedding(b);
  if (d && strncmp(d, "X_", 2) == 0) d += 2;
  if (d && *d) return json_string(d);
  for (int i = 0; i < cg_bundle_n_embeddings(b); i++) {
    const char *n = cg__x_layout_name(cg_bundle_embedding_at(b, i));
    if (n) return json_string(n);
  }
  return json_null();
}

static json_t *parameters(const cg__xq *q) {
  int de = cg_explorer_de_available() && cg_bundle_has_matrix(q->b);
  int an = cg__x_db(q) != NULL;
  return json_pack("{s:b,s:b,s:b,s:b,s:n,s:b,s:b,s:b,s:b,s:f,s:i,s:n,s:n,s:o,s:o,s:b}", "annotations", an,
                   "annotations_genesets", an, "annotations_genesets_readonly", !an,
                   "annotations-data-collection-is-read-only", !an, "annotations-data-collection-name",
                   "user_annotation_collection_name_enabled", 0, "custom_colors", 1, "diffexp-may-be-slow", 0,
                   "disable-diffexp", !de, "diffexp_lfc_cutoff", 0.01, "max-category-items", 1000, "obs_names",
                   "var_names", "layout", layouts(q->b), "default_embedding", default_layout(q->b),
                   "X_approximate_distribution", 0);
}

int cg__x_config(cg__xq *q, cg__xout *o, cg_err *err) {
  char engine[64];
  snprintf(engine, sizeof engine, "cellgate %s", cg__x_version(q));
  const char *name = cg__x_dataset_name(q);
  json_t *j = json_pack("{s:{s:{s:s,s:s},s:{s:s},s:{s:n},s:o,s:{s:i,s:I}}}", "config", "displayNames", "engine",
                        engine, "dataset", name, "library_versions", "cellgate", cg__x_version(q), "links",
                        "about-dataset", "parameters", parameters(q), "limits", "column_request_max",
                        CG_X_COLUMN_MAX, "diffexp_cellcount_max", (json_int_t)cg_bundle_n_obs(q->b));
  return cg__x_json_out(j, o, err);
}

/* --- schema ---------------------------------------------------------------------------------------------- */

static json_t *categories(const cg_bundle_strings *s) {
  json_t *a = json_array();
  for (int64_t i = 0; a && i < s->count; i++) json_array_append_new(a, json_string(cg_bundle_str(s, i, NULL)));
  return a;
}

static json_t *column_schema(const cg_bundle_column *c, int api) {
  switch (c->type) {
  case CG_BCOL_CATEGORICAL:
    return json_pack("{s:s,s:s,s:o,s:b}", "name", c->name, "type", "categorical", "categories",
                     categories(&c->categories), "writable", 0);
  case CG_BCOL_BOOL:
    if (api >= 3)
      return json_pack("{s:s,s:s,s:[s,s],s:b}", "name", c->name, "type", "categorical", "categories", "False",
                       "True", "writable", 0);
    return json_pack("{s:s,s:s,s:b}", "name", c->name, "type", "boolean", "writable", 0);
  case CG_BCOL_F32: return json_pack("{s:s,s:s,s:b}", "name", c->name, "type", "float32", "writable", 0);
  case CG_BCOL_I32: return json_pack("{s:s,s:s,s:b}", "name", c->name, "type", "int32", "writable", 0);
  default: return json_pack("{s:s,s:s,s:b}", "name", c->name, "type", "string", "writable", 0);
  }
}

static json_t *axis_schema(const cg_bundle *b, cg_bundle_axis axis, int api) {
  json_t *cols = json_array();
  json_array_append_new(cols, json_pack("{s:s,s:s,s:b}", "name", CG_FILTER_INDEX_NAME, "type", "string",
                                        "writable", 0));
  for (int i = 0; cols && i < cg_bundle_n_columns(b, axis); i++) {
    const cg_bundle_column *c = cg_bundle_column_at(b, axis, i);
    if (strcmp(c->name, CG_FILTER_INDEX_NAME) != 0) json_array_append_new(cols, column_schema(c, api));
  }
  return json_pack("{s:s,s:o}", "index", CG_FILTER_INDEX_NAME, "columns", cols);
}

static json_t *layout_schema(const cg_bundle *b) {
  json_t *a = json_array();
  for (int i = 0; a && i < cg_bundle_n_embeddings(b) && (int)json_array_size(a) < CG_X_LAYOUT_MAX; i++) {
    const char *n = cg__x_layout_name(cg_bundle_embedding_at(b, i));
    if (!n) continue;
    char d0[300], d1[300];
    snprintf(d0, sizeof d0, "%s_0", n);
    snprintf(d1, sizeof d1, "%s_1", n);
    json_array_append_new(a, json_pack("{s:s,s:s,s:[s,s]}", "name", n, "type", "float32", "dims", d0, d1));
  }
  return json_pack("{s:o}", "obs", a);
}

json_t *cg__x_schema_json(const cg__xq *q) {
  const cg_bundle *b = q->b;
  return json_pack("{s:{s:{s:I,s:I,s:s},s:{s:o,s:o},s:o}}", "schema", "dataframe", "nObs",
                   (json_int_t)cg_bundle_n_obs(b), "nVar", (json_int_t)cg_bundle_n_vars(b), "type", "float32",
                   "annotations", "obs", axis_schema(b, CG_BUNDLE_OBS, q->api), "var",
                   axis_schema(b, CG_BUNDLE_VAR, q->api), "layout", layout_schema(b));
}

int cg__x_schema(cg__xq *q, cg__xout *o, cg_err *err) { return cg__x_json_out(cg__x_schema_json(q), o, err); }

/* --- colors, genesets, s3_uri, 501s --------------------------------------------------------------------- */

int cg__x_colors(cg__xq *q, cg__xout *o, cg_err *err) {
  json_t *j = json_object();
  for (int i = 0; j && i < cg_bundle_n_colors(q->b); i++) {
    const cg_bundle_colors *c = cg_bundle_colors_at(q->b, i);
    int ci = cg_bundle_column_find(q->b, CG_BUNDLE_OBS, c->column);
    const cg_bundle_column *col = ci >= 0 ? cg_bundle_column_at(q->b, CG_BUNDLE_OBS, ci) : NULL;
    if (!col || col->type != CG_BCOL_CATEGORICAL) continue;
    json_t *m = json_object();
    for (int k = 0; m && k < c->n && k < col->categories.count; k++)
      json_object_set_new(m, cg_bundle_str(&col->categories, k, NULL), json_string(c->colors[k]));
    json_object_set_new(j, c->column, m);
  }
  return cg__x_json_out(j, o, err);
}

int cg__x_genesets(cg__xq *q, cg__xout *o, cg_err *err) {
  if (!q->csv) return cg__x_json_out(json_pack("{s:[],s:i}", "genesets", "tid", 0), o, err);
  static const char header[] = "gene_set_name,gene_set_description,gene_symbol,gene_description\r\n";
  o->buf = (uint8_t *)cg_strdup(header);
  if (!o->buf) return cg_err_set(err, CG_ENOMEM, "genesets");
  o->len = sizeof header - 1, o->ctype = "text/csv";
  return 0;
}

int cg__x_s3_uri(cg__xq *q, cg__xout *o, cg_err *err) {
  return cg__x_json_out(json_string(cg_bundle_id(q->b)), o, err);
}

int cg__x_not_implemented(cg__xq *q, cg__xout *o, cg_err *err) {
  if (strncmp(q->route->name, "annotations", 11) == 0)
    return cg_err_set(err, CG_EUNSUPPORTED, "annotations are disabled on this server (read-only)");
  if (strcmp(q->route->name, "genesets") == 0)
    return cg_err_set(err, CG_EUNSUPPORTED, "gene set editing is disabled on this server (read-only)");
  return cg_err_set(err, CG_EUNSUPPORTED, "%s is read-only on this server", q->route->name);
}
