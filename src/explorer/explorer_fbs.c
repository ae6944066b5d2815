/* explorer_fbs.c — the binary routes: annotations/obs|var, data/var, layout/obs, summarize/var (FlatBuffers
 * NetEncoding matrices, wire/fbs.h) and diffexp/obs (JSON through explorer_de.h).
 *
 * Copies: numeric columns are handed to the encoder straight from the bundle mapping and copied once, into the
 * response buffer. Genes are densified from the CSC section inside cg_fbs_finish by fill callbacks, in
 * O(n_obs) for the zeroing plus O(nnz of the gene) for the scatter. The only temporaries are the v0.3 lossy
 * (nbins) inputs, boolean dictionary codes and the per-cell accumulator of summarize/var.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "db/labels.h"
#include "explorer/explorer_de.h"
#include "explorer/explorer_int.h"
#include "http/http_sha1.h"
#include "query/filter.h"
#include "wire/fbs.h"
#include "wire/json_text.h"

#define MAX_TEMPS (2 * CG_X_COLUMN_MAX + 8)

/* Temporaries that must outlive cg_fbs_finish (borrowed inputs), released together. */
typedef struct temps {
  void *p[MAX_TEMPS];
  int n;
} temps;

static void *temp_alloc(temps *t, size_t count, size_t size) {
  if (t->n == MAX_TEMPS) return NULL;
  void *p = cg_malloc_array(count ? count : 1, size);
  if (p) t->p[t->n++] = p;
  return p;
}

static void temps_free(temps *t) {
  for (int i = 0; i < t->n; i++) cg_free(t->p[i]);
  t->n = 0;
}

static int finish(cg_fbs *f, cg__xout *o, int rc, cg_err *err) {
  if (!rc) rc = cg_fbs_finish(f, &o->buf, &o->len, err);
  cg_fbs_free(f);
  o->ctype = "application/octet-stream";
  return rc;
}

/* --- annotations ----------------------------------------------------------------------------------------- */

typedef struct names_req {
  const cg_bundle *b;
  cg_bundle_axis axis;
  const cg_labels *user;    /* the user's label columns (obs only), or NULL */
  int idx[CG_X_COLUMN_MAX]; /* -1 = the index (name_0), <= -2: user label column -2 - idx */
  const char *name[CG_X_COLUMN_MAX];
  int n;
  cg_err *err;
} names_req;

static int add_name(void *ctx, const char *v) {
  names_req *r = ctx;
  if (r->n == CG_X_COLUMN_MAX)
    return cg_err_set(r->err, CG_ERANGE, "annotation-name: more than %d columns requested", CG_X_COLUMN_MAX);
  int is_index = strcmp(v, CG_FILTER_INDEX_NAME) == 0;
  int i = is_index ? -1 : cg_bundle_column_find(r->b, r->axis, v);
  int u = !is_index && i < 0 ? cg_labels_find(r->user, v) : -1;
  if (u >= 0) {
    r->idx[r->n] = -2 - u;
    r->name[r->n++] = r->user->cols[u].name;
    return 0;
  }
  if (!is_index && i < 0)
    return cg_err_set(r->err, CG_EINVAL, "annotation-name: unknown %s annotation '%s'",
                      r->axis == CG_BUNDLE_OBS ? "obs" : "var", v);
  r->idx[r->n] = i;
  r->name[r->n++] = i < 0 ? CG_FILTER_INDEX_NAME : cg_bundle_column_at(r->b, r->axis, i)->name;
  return 0;
}

static int all_names(names_req *r) {
  int total = 1 + cg_bundle_n_columns(r->b, r->axis) + (r->user ? r->user->n_cols : 0);
  if (total > CG_X_COLUMN_MAX)
    return cg_err_set(r->err, CG_ERANGE, "annotation-name: all %d columns requested, more than the limit of %d; "
                      "name them", total, CG_X_COLUMN_MAX);
  r->idx[r->n] = -1, r->name[r->n++] = CG_FILTER_INDEX_NAME;
  for (int i = 0; i < cg_bundle_n_columns(r->b, r->axis); i++) {
    const cg_bundle_column *c = cg_bundle_column_at(r->b, r->axis, i);
    if (strcmp(c->name, CG_FILTER_INDEX_NAME) != 0) r->idx[r->n] = i, r->name[r->n++] = c->name;
  }
  for (int u = 0; r->user && u < r->user->n_cols; u++) r->idx[r->n] = -2 - u, r->name[r->n++] = r->user->cols[u].name;
  return 0;
}

/* A JSON text column from one of the wire/json_text.h builders (sequenced: the text exists after the call). */
#define ADD_JSON_TEXT(f, call)                                                                                  \
  do {                                                                                                          \
    char *text_ = NULL;                                                                                         \
    size_t len_ = 0;                                                                                            \
    int rc_ = call;                                                                                             \
    return rc_ ? rc_ : cg_fbs_add_json(f, text_, len_, CG_FBS_TAKE);                                            \
  } while (0)

static int add_bool_dict(cg_fbs *f, const cg_bundle_column *c, temps *t) {
  int32_t *codes = temp_alloc(t, (size_t)c->n, sizeof *codes);
  if (!codes) return CG_ENOMEM;
  for (int64_t i = 0; i < c->n; i++) codes[i] = c->valid && !c->valid[i] ? -1 : c->v.b[i] != 0;
  static const char dict[] = "{\"0\":\"False\",\"1\":\"True\"}";
  return cg_fbs_add_dict(f, codes, 8, dict, sizeof dict - 1, CG_FBS_STATIC);
}

static int add_categorical(cg_fbs *f, const cg_bundle_column *c, int api, cg_err *err) {
  if (api >= 3) {
    char *text = NULL;
    size_t len = 0;
    int rc = cg_json_dict(&c->categories, &text, &len, err);
    return rc ? rc : cg_fbs_add_dict(f, c->v.codes, cg_fbs_dict_width(c->categories.count), text, len, CG_FBS_TAKE);
  }
  ADD_JSON_TEXT(f, cg_json_codes(c->v.codes, c->valid, c->n, &c->categories, &text_, &len_, err));
}

/* A user label column: JSON strings (v0.2) or dictionary codes (v0.3), like the bundle's categoricals. */
static int add_user_column(cg_fbs *f, const cg_labels *l, int u, int api, cg_err *err) {
  if (api < 3) ADD_JSON_TEXT(f, cg_labels_column_json(l, u, &text_, &len_, err));
  const cg_labels_col *c = &l->cols[u];
  json_t *d = json_object();
  for (int32_t k = 0; d && k < c->n_cats; k++) {
    char key[16];
    snprintf(key, sizeof key, "%d", k);
    json_object_set_new(d, key, json_string(c->cats[k]));
  }
  char *s = d ? json_dumps(d, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(d);
  char *text = s ? cg_strdup(s) : NULL;
  free(s);
  if (!text) return cg_err_set(err, CG_ENOMEM, "labels");
  return cg_fbs_add_dict(f, c->codes, cg_fbs_dict_width(c->n_cats), text, strlen(text), CG_FBS_TAKE);
}

static int add_column(cg_fbs *f, const cg__xq *q, const cg_labels *user, cg_bundle_axis axis, int idx,
                      int32_t nbins, temps *t, cg_err *err) {
  if (idx <= -2) return add_user_column(f, user, -2 - idx, q->api, err);
  if (idx < 0) ADD_JSON_TEXT(f, cg_json_strings(cg_bundle_index(q->b, axis), NULL, &text_, &len_, err));
  const cg_bundle_column *c = cg_bundle_column_at(q->b, axis, idx);
  switch (c->type) {
  case CG_BCOL_CATEGORICAL: return add_categorical(f, c, q->api, err);
  case CG_BCOL_F32: return nbins ? cg_fbs_add_int16_encoded(f, c->v.f32, nbins) : cg_fbs_add_float32(f, c->v.f32);
  case CG_BCOL_I32: return cg_fbs_add_int32(f, c->v.i32);
  case CG_BCOL_BOOL: return q->api >= 3 ? add_bool_dict(f, c, t) : cg_fbs_add_bool(f, c->v.b);
  default: ADD_JSON_TEXT(f, cg_json_strings(&c->str, c->valid, &text_, &len_, err));
  }
}

static int annotations(cg__xq *q, cg_bundle_axis axis, const cg_labels *user, cg__xout *o, cg_err *err) {
  names_req r = {.b = q->b, .axis = axis, .user = user, .err = err};
  int32_t nbins;
  int rc = cg__x_nbins(q, &nbins, err);
  if (!rc) rc = cg__x_query_each(q->qs, q->qlen, "annotation-name", add_name, &r);
  if (!rc && r.n == 0) rc = all_names(&r);
  if (rc) return rc;
  int64_t rows = axis == CG_BUNDLE_OBS ? cg_bundle_n_obs(q->b) : cg_bundle_n_vars(q->b);
  cg_fbs *f;
  rc = cg_fbs_matrix_begin(rows, r.n, &f, err);
  if (rc) return rc;
  temps t = {0};
  for (int i = 0; i < r.n && !rc; i++) rc = add_column(f, q, user, axis, r.idx[i], nbins, &t, err);
  char *names;
  size_t nlen;
  if (!rc) rc = cg_json_names(r.name, r.n, &names, &nlen, err);
  if (!rc) rc = cg_fbs_set_col_index_json(f, names, nlen, CG_FBS_TAKE);
  rc = finish(f, o, rc, err);
  temps_free(&t);
  return rc;
}

/* A JSON array of strings: the bytes plus quotes and a comma per row (escapes not counted). */
static size_t strings_text(const cg_bundle_strings *s) {
  return s->count ? (size_t)(s->offsets[s->count] - s->offsets[0]) + 2 * (size_t)s->count + 2 : 2;
}

static size_t longest(const cg_bundle_strings *s) {
  size_t m = 0, len;
  for (int64_t i = 0; i < s->count; i++)
    if (cg_bundle_str(s, i, &len) && len > m) m = len;
  return m;
}

static void column_cost(const cg__xq *q, cg_bundle_axis axis, int idx, int32_t nbins, cg__xcost *c) {
  const cg_bundle_column *col = idx < 0 ? NULL : cg_bundle_column_at(q->b, axis, idx);
  const cg_bundle_strings *text = col ? (col->type == CG_BCOL_STRING ? &col->str : NULL) : cg_bundle_index(q->b, axis);
  size_t n = (size_t)(axis == CG_BUNDLE_OBS ? cg_bundle_n_obs(q->b) : cg_bundle_n_vars(q->b)), t = 0;
  if (text) t = strings_text(text);
  else if (col->type == CG_BCOL_CATEGORICAL && q->api < 3) t = n * (longest(&col->categories) + 3) + 2;
  else if (col->type == CG_BCOL_CATEGORICAL) c->out += n * 4 + strings_text(&col->categories) * 2;
  else if (col->type == CG_BCOL_BOOL && q->api >= 3) c->out += n, c->temps += n * 4;
  else c->out += n * (nbins && col->type == CG_BCOL_F32 ? 2 : 4);
  c->out += t, c->temps += t; /* a text is built, then copied into the body */
}

static cg__xcost annotations_cost(const cg__xq *q, cg_bundle_axis axis) {
  cg_err err = {0};
  names_req r = {.b = q->b, .axis = axis, .err = &err};
  int32_t nbins;
  cg__xcost c = {0, 0};
  int rc = cg__x_nbins(q, &nbins, &err);
  if (!rc) rc = cg__x_query_each(q->qs, q->qlen, "annotation-name", add_name, &r);
  if (!rc && r.n == 0) rc = all_names(&r);
  for (int i = 0; i < r.n && !rc; i++) column_cost(q, axis, r.idx[i], nbins, &c);
  return c;
}

cg__xcost cg__x_annotations_obs_cost(const cg__xq *q) { return annotations_cost(q, CG_BUNDLE_OBS); }
cg__xcost cg__x_annotations_var_cost(const cg__xq *q) { return annotations_cost(q, CG_BUNDLE_VAR); }

int cg__x_annotations_obs(cg__xq *q, cg__xout *o, cg_err *err) {
  return annotations(q, CG_BUNDLE_OBS, NULL, o, err);
}
int cg__x_annotations_var(cg__xq *q, cg__xout *o, cg_err *err) {
  return annotations(q, CG_BUNDLE_VAR, NULL, o, err);
}
int cg__x_annotations_obs_user(cg__xq *q, const cg_labels *user, cg__xout *o, cg_err *err) {
  return annotations(q, CG_BUNDLE_OBS, user, o, err);
}

/* --- data/var -------------------------------------------------------------------------------------------- */

typedef struct gene_fill {
  cg_bundle_csx csc;
  int64_t g;
} gene_fill;

/* Gene g as a dense float32 column: zero the n_obs cells, then scatter its stored entries. */
static int densify(void *ctx, void *dst, int64_t n, cg_err *err) {
  const gene_fill *gf = ctx;
  float *out = dst;
  memset(out, 0, (size_t)n * sizeof *out);
  const cg_bundle_csx *m = &gf->csc;
  for (uint64_t k = m->indptr[gf->g]; k < m->indptr[gf->g + 1]; k++) {
    uint32_t cell = m->indices[k];
    if ((int64_t)cell >= n) return cg_err_set(err, CG_ECORRUPT, "gene %lld: cell index %u out of range",
                                              (long long)gf->g, cell);
    out[cell] = m->data[k];
  }
  return 0;
}

static int var_filter(const cg__xq *q, const char *form, size_t flen, int json, cg_bitset *sel, cg_err *err) {
  cg_filter *f;
  int rc = json ? cg_filter_parse_json(form, flen, CG_FILTER_AXIS_VAR, &f, err)
                : cg_filter_parse_query(form, flen, CG_FILTER_AXIS_VAR, &f, err);
  if (rc) return rc;
  rc = cg_filter_select(f, q->b, CG_BUNDLE_VAR, sel, err);
  cg_filter_free(f);
  return rc;
}

static int matrix_csc(const cg__xq *q, cg_bundle_csx *csc, cg_err *err) {
  if (cg_bundle_csc(q->b, csc) != 0) return cg_err_set(err, CG_ENOTFOUND, "this dataset has no expression matrix");
  return 0;
}

static int add_gene(cg_fbs *f, gene_fill *gf, int64_t n_obs, int32_t nbins, temps *t, cg_err *err) {
  if (!nbins) return cg_fbs_add_fill(f, CG_FBS_FLOAT32, densify, gf);
  float *dense = temp_alloc(t, (size_t)n_obs, sizeof *dense);
  if (!dense) return cg_err_set(err, CG_ENOMEM, "gene column");
  int rc = densify(gf, dense, n_obs, err);
  return rc ? rc : cg_fbs_add_int16_encoded(f, dense, nbins);
}

static int genes_matrix(cg__xq *q, const cg_bitset *sel, int32_t nbins, cg__xout *o, cg_err *err) {
  int64_t k = cg_bitset_count(sel), n_obs = cg_bundle_n_obs(q->b);
  if (k > CG_X_COLUMN_MAX)
    return cg_err_set(err, CG_ERANGE, "filter: %lld genes selected, more than the limit of %d", (long long)k,
                      CG_X_COLUMN_MAX);
  gene_fill gf[CG_X_COLUMN_MAX];
  int32_t idx[CG_X_COLUMN_MAX];
  cg_bundle_csx csc = {0};
  int rc = k ? matrix_csc(q, &csc, err) : 0;
  cg_fbs *f;
  if (!rc) rc = cg_fbs_matrix_begin(n_obs, k, &f, err);
  if (rc) return rc;
  temps t = {0};
  int64_t i = 0;
  for (int64_t g = cg_bitset_next(sel, 0); g >= 0 && !rc; g = cg_bitset_next(sel, g + 1), i++) {
    gf[i].csc = csc, gf[i].g = g, idx[i] = (int32_t)g;
    rc = add_gene(f, &gf[i], n_obs, nbins, &t, err);
  }
  if (!rc) rc = cg_fbs_set_col_index_int32(f, idx);
  rc = finish(f, o, rc, err);
  temps_free(&t);
  return rc;
}

int cg__x_data_var(cg__xq *q, cg__xout *o, cg_err *err) {
  int32_t nbins;
  int rc = cg__x_nbins(q, &nbins, err);
  int put = strcmp(q->method, "PUT") == 0;
  cg_bitset sel = {0};
  if (!rc) rc = put ? var_filter(q, q->body, q->blen, 1, &sel, err) : var_filter(q, q->qs, q->qlen, 0, &sel, err);
  if (!rc) rc = genes_matrix(q, &sel, nbins, o, err);
  cg_bitset_dispose(&sel);
  return rc;
}

/* Genes selected × n_obs float32 (nbins: int16 codes from a float32 temporary per gene). */
cg__xcost cg__x_data_var_cost(const cg__xq *q) {
  cg_err err = {0};
  int32_t nbins;
  cg_bitset sel = {0};
  cg__xcost c = {0, 0};
  int put = strcmp(q->method, "PUT") == 0;
  int rc = cg__x_nbins(q, &nbins, &err);
  if (!rc) rc = put ? var_filter(q, q->body, q->blen, 1, &sel, &err) : var_filter(q, q->qs, q->qlen, 0, &sel, &err);
  size_t k = rc ? 0 : (size_t)cg_bitset_count(&sel), n = (size_t)cg_bundle_n_obs(q->b);
  if (k <= CG_X_COLUMN_MAX) c.out = k * n * (nbins ? 2 : 4), c.temps = nbins ? k * n * 4 : 0;
  cg_bitset_dispose(&sel);
  return c;
}

/* --- layout/obs ------------------------------------------------------------------------------------------ */

typedef struct layout_fill {
  const float *xy;
  int dim;
  double lo, scale, off;
} layout_fill;

static int layout_col(void *ctx, void *dst, int64_t n, cg_err *err) {
  const layout_fill *l = ctx;
  float *out = dst;
  for (int64_t i = 0; i < n; i++) out[i] = (float)(((double)l->xy[2 * i + l->dim] - l->lo) / l->scale + l->off);
  return 0;
}

/* compat §4: one scale for both axes, the cloud centred in [0,1]². */
static void normalise(const float *xy, int64_t n, layout_fill out[2]) {
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (int64_t i = 0; i < n; i++)
    for (int d = 0; d < 2; d++) {
      double v = xy[2 * i + d];
      if (v < lo[d]) lo[d] = v;
      if (v > hi[d]) hi[d] = v;
    }
  double scale = fmax(hi[0] - lo[0], hi[1] - lo[1]);
  if (!(scale > 0) || !isfinite(scale)) scale = 1;
  for (int d = 0; d < 2; d++) {
    if (!isfinite(lo[d])) lo[d] = hi[d] = 0;
    out[d] = (layout_fill){xy, d, lo[d], scale, 0.5 - (hi[d] - lo[d]) / scale / 2};
  }
}

typedef struct layout_req {
  const cg_bundle *b;
  int idx[CG_X_LAYOUT_MAX];
  int n;
  cg_err *err;
} layout_req;

static int add_layout(void *ctx, const char *v) {
  layout_req *r = ctx;
  if (r->n == CG_X_LAYOUT_MAX) return cg_err_set(r->err, CG_ERANGE, "layout-name: more than %d layouts", CG_X_LAYOUT_MAX);
  for (int i = 0; i < cg_bundle_n_embeddings(r->b); i++) {
    const char *name = cg__x_layout_name(cg_bundle_embedding_at(r->b, i));
    if (name && strcmp(name, v) == 0) return r->idx[r->n++] = i, 0;
  }
  return cg_err_set(r->err, CG_EINVAL, "layout-name: unknown layout '%s'", v);
}

static void all_layouts(layout_req *r) {
  for (int i = 0; i < cg_bundle_n_embeddings(r->b) && r->n < CG_X_LAYOUT_MAX; i++)
    if (cg__x_layout_name(cg_bundle_embedding_at(r->b, i))) r->idx[r->n++] = i;
}

static int add_layout_cols(cg_fbs *f, layout_fill *l, int64_t n, int32_t nbins, temps *t, cg_err *err) {
  int rc = 0;
  for (int d = 0; d < 2 && !rc; d++) {
    if (!nbins) {
      rc = cg_fbs_add_fill(f, CG_FBS_FLOAT32, layout_col, &l[d]);
      continue;
    }
    float *v = temp_alloc(t, (size_t)n, sizeof *v);
    if (!v) return cg_err_set(err, CG_ENOMEM, "layout column");
    layout_col(&l[d], v, n, err);
    rc = cg_fbs_add_int16_encoded(f, v, nbins);
  }
  return rc;
}

static int layout_names(const layout_req *r, char **out, size_t *len, cg_err *err) {
  char buf[CG_X_LAYOUT_MAX * 2][280];
  const char *names[CG_X_LAYOUT_MAX * 2];
  for (int i = 0; i < r->n; i++)
    for (int d = 0; d < 2; d++) {
      snprintf(buf[2 * i + d], sizeof buf[0], "%s_%d", cg__x_layout_name(cg_bundle_embedding_at(r->b, r->idx[i])), d);
      names[2 * i + d] = buf[2 * i + d];
    }
  return cg_json_names(names, 2 * r->n, out, len, err);
}

int cg__x_layout_obs(cg__xq *q, cg__xout *o, cg_err *err) {
  layout_req r = {.b = q->b, .err = err};
  int32_t nbins;
  int rc = cg__x_nbins(q, &nbins, err);
  if (!rc) rc = cg__x_query_each(q->qs, q->qlen, "layout-name", add_layout, &r);
  if (rc) return rc;
  if (r.n == 0) all_layouts(&r);
  int64_t n = cg_bundle_n_obs(q->b);
  layout_fill lf[CG_X_LAYOUT_MAX][2];
  cg_fbs *f;
  rc = cg_fbs_matrix_begin(n, 2 * r.n, &f, err);
  if (rc) return rc;
  temps t = {0};
  for (int i = 0; i < r.n && !rc; i++) {
    normalise(cg_bundle_embedding_at(q->b, r.idx[i])->xy, n, lf[i]);
    rc = add_layout_cols(f, lf[i], n, nbins, &t, err);
  }
  char *names;
  size_t nlen;
  if (!rc) rc = layout_names(&r, &names, &nlen, err);
  if (!rc) rc = cg_fbs_set_col_index_json(f, names, nlen, CG_FBS_TAKE);
  rc = finish(f, o, rc, err);
  temps_free(&t);
  return rc;
}

cg__xcost cg__x_layout_obs_cost(const cg__xq *q) {
  cg_err err = {0};
  layout_req r = {.b = q->b, .err = &err};
  int32_t nbins;
  int rc = cg__x_nbins(q, &nbins, &err);
  if (!rc) rc = cg__x_query_each(q->qs, q->qlen, "layout-name", add_layout, &r);
  if (!rc && r.n == 0) all_layouts(&r);
  size_t cols = rc ? 0 : 2 * (size_t)r.n, n = (size_t)cg_bundle_n_obs(q->b);
  return (cg__xcost){cols * n * (nbins ? 2 : 4), nbins ? cols * n * 4 : 0};
}

/* --- summarize/var --------------------------------------------------------------------------------------- */

typedef struct mean_fill {
  const double *acc;
  double k;
} mean_fill;

static int mean_col(void *ctx, void *dst, int64_t n, cg_err *err) {
  const mean_fill *m = ctx;
  float *out = dst;
  for (int64_t i = 0; i < n; i++) out[i] = m->k > 0 ? (float)(m->acc[i] / m->k) : NAN;
  return 0;
}

/* Per-cell sum over the selected genes, in O(total nnz of those genes). */
static int accumulate(const cg__xq *q, const cg_bitset *sel, double *acc, cg_err *err) {
  cg_bundle_csx csc;
  int rc = matrix_csc(q, &csc, err);
  if (rc) return rc;
  for (int64_t g = cg_bitset_next(sel, 0); g >= 0; g = cg_bitset_next(sel, g + 1))
    for (uint64_t k = csc.indptr[g]; k < csc.indptr[g + 1]; k++) {
      if ((int64_t)csc.indices[k] >= csc.n_minor) return cg_err_set(err, CG_ECORRUPT, "cell index out of range");
      acc[csc.indices[k]] += csc.data[k];
    }
  return 0;
}

/* The form holding method + filters (query for GET, body for POST) and the column name (sha1). */
static int summarize_form(const cg__xq *q, const char **form, size_t *flen, char name[41], cg_err *err) {
  if (strcmp(q->method, "POST") != 0) {
    *form = q->qs, *flen = q->qlen;
    cg_http_sha1_hex(q->qs, q->qlen, name);
    return 0;
  }
  char key[64];
  if (cg__x_query_get(q->qs, q->qlen, "key", key, sizeof key) != 1)
    return cg_err_set(err, CG_EINVAL, "key: required for POST (sha1 of the body)");
  cg_http_sha1_hex(q->body, q->blen, name);
  if (strcmp(key, name) != 0) return cg_err_set(err, CG_EINVAL, "key: does not match the sha1 of the body");
  *form = q->body, *flen = q->blen;
  return 0;
}

static int summarize_matrix(const cg__xq *q, const double *acc, int64_t k, int32_t nbins, const char *name,
                            cg__xout *o, cg_err *err) {
  int64_t n = cg_bundle_n_obs(q->b);
  mean_fill mf = {acc, (double)k};
  cg_fbs *f;
  int rc = cg_fbs_matrix_begin(n, 1, &f, err);
  if (rc) return rc;
  temps t = {0};
  float *v = nbins ? temp_alloc(&t, (size_t)n, sizeof *v) : NULL;
  if (nbins && !v) rc = cg_err_set(err, CG_ENOMEM, "summary column");
  if (!rc && v) mean_col(&mf, v, n, err), rc = cg_fbs_add_int16_encoded(f, v, nbins);
  else if (!rc) rc = cg_fbs_add_fill(f, CG_FBS_FLOAT32, mean_col, &mf);
  const char *names[1] = {name};
  char *text;
  size_t tlen;
  if (!rc) rc = cg_json_names(names, 1, &text, &tlen, err);
  if (!rc) rc = cg_fbs_set_col_index_json(f, text, tlen, CG_FBS_TAKE);
  rc = finish(f, o, rc, err);
  temps_free(&t);
  return rc;
}

int cg__x_summarize_var(cg__xq *q, cg__xout *o, cg_err *err) {
  const char *form = "";
  size_t flen = 0;
  char name[41], method[32];
  int32_t nbins;
  int rc = summarize_form(q, &form, &flen, name, err);
  if (!rc) rc = cg__x_nbins(q, &nbins, err);
  if (rc) return rc;
  if (cg__x_query_get(form, flen, "method", method, sizeof method) != 1 || strcmp(method, "mean") != 0)
    return cg_err_set(err, CG_EINVAL, "method: only 'mean' is supported");
  cg_bitset sel = {0};
  double *acc = NULL;
  rc = var_filter(q, form, flen, 0, &sel, err);
  if (!rc && !(acc = cg_calloc((size_t)cg_bundle_n_obs(q->b) + 1, sizeof *acc)))
    rc = cg_err_set(err, CG_ENOMEM, "summary");
  if (!rc) rc = accumulate(q, &sel, acc, err);
  if (!rc) rc = summarize_matrix(q, acc, cg_bitset_count(&sel), nbins, name, o, err);
  cg_free(acc);
  cg_bitset_dispose(&sel);
  return rc;
}

/* One float32 column plus the double accumulator (and the float temporary with nbins). */
cg__xcost cg__x_summarize_var_cost(const cg__xq *q) {
  size_t n = (size_t)cg_bundle_n_obs(q->b);
  return (cg__xcost){n * 4, n * 12};
}

/* --- diffexp/obs ----------------------------------------------------------------------------------------- */

static int cell_set(const cg__xq *q, json_t *req, const char *which, cg_bitset *out, cg_err *err) {
  json_t *set = json_object_get(req, which);
  json_t *filter = set ? json_object_get(set, "filter") : NULL;
  if (!json_is_object(filter)) return cg_err_set(err, CG_EINVAL, "%s: needs a \"filter\" object", which);
  cg_filter *f;
  int rc = cg_filter_from_json(filter, CG_FILTER_AXIS_OBS, &f, err);
  if (!rc) rc = cg_filter_select(f, q->b, CG_BUNDLE_OBS, out, err);
  cg_filter_free(f);
  if (rc) cg_err_prefix(err, "%s", which);
  return rc;
}

/* Two cell bitsets and a JSON body of at most 2 × 1000 rows; the engine's own working memory is its business. */
cg__xcost cg__x_diffexp_obs_cost(const cg__xq *q) {
  size_t n = (size_t)cg_bundle_n_obs(q->b);
  return (cg__xcost){(size_t)1 << 20, n / 4};
}

int cg__x_diffexp_obs(cg__xq *q, cg__xout *o, cg_err *err) {
  json_error_t je;
  json_t *req = json_loadb(q->body, q->blen, 0, &je);
  if (!json_is_object(req)) {
    json_decref(req);
    return cg_err_set(err, CG_EINVAL, "body: not a JSON object (%s)", je.text);
  }
  const char *mode = json_string_value(json_object_get(req, "mode"));
  json_t *count = json_object_get(req, "count");
  cg_bitset a = {0}, b = {0};
  int rc = mode && strcmp(mode, "topN") == 0 ? 0 : cg_err_set(err, CG_EINVAL, "mode: only \"topN\" is supported");
  if (!rc && count && (!json_is_integer(count) || json_integer_value(count) < 1 || json_integer_value(count) > 1000))
    rc = cg_err_set(err, CG_EINVAL, "count: an integer in 1..1000");
  if (!rc) rc = cell_set(q, req, "set1", &a, err);
  if (!rc) rc = cell_set(q, req, "set2", &b, err);
  int n = q->api >= 3 ? 15 : count ? (int)json_integer_value(count) : 50;
  cg_explorer_de_req dr = {q->b, &a, &b, n, q->api};
  char *json = NULL;
  if (!rc) rc = cg_explorer_de_run(&dr, &json, &o->len, err);
  if (!rc) o->buf = (uint8_t *)json, o->ctype = "application/json";
  cg_bitset_dispose(&a);
  cg_bitset_dispose(&b);
  json_decref(req);
  return rc;
}
