/* explorer_annot.c — user annotations and gene sets in the cellxgene v0.2/v0.3 API, over db/db.h.
 *
 * Design notes (docs/ARCHITECTURE.md "Annotations" has the whole picture)
 *
 *   connection thread: cg__x_annot_wants ── yes ──> If-Match copied ──> pool: cg__x_annot_run
 *                                          └─ no ──> the cached data pipeline, unchanged (explorer.c)
 *
 *  1. Resources, per (user "local", bundle id, collection): "labels" = every label column as one cg_labels blob,
 *     "genesets" (collection "") = {"genesets":[...],"tid":n} as JSON text. Each write is a new version (db.h).
 *  2. Everything served here is `Cache-Control: no-store` with `ETag: "<version>"` (0 = nothing saved yet) and
 *     never enters the body cache: schema and annotations/obs responses that contain user columns are built per
 *     request from the bundle (mmapped, cheap) plus the current version. Requests for bundle columns only by
 *     name keep their content-addressed ETag and cache entry, so annotation writes invalidate nothing.
 *  3. Writes: `If-Match: "<v>"` → applied only if v is current, else 412 with {"version": current}. No If-Match
 *     (cellxgene's own client sends none) = last writer wins. Success answers the new version in ETag.
 *  4. Gene sets: a PUT's tid must exceed the stored one, else 404 "stale" (cellxgene); without If-Match a write
 *     that loses a race with another one is retried from the read (the tid check runs again).
 *  5. The collection is `annotation-collection-name` ([A-Za-z0-9_-]{1,128}) on every route, "" when absent.
 */
#include <jansson.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "db/db.h"
#include "db/labels.h"
#include "explorer/explorer_int.h"
#include "query/filter.h"
#include "wire/fbs_read.h"

#define USER "local"
#define COLL_MAX 129
#define INFLATE_MAX ((size_t)1 << 30)
#define PUT_RETRIES 5

/* --- routing --------------------------------------------------------------------------------------------- */

static int is_user_name(void *ctx, const char *v) {
  const cg__xq *q = ctx;
  return strcmp(v, CG_FILTER_INDEX_NAME) != 0 && cg_bundle_column_find(q->b, CG_BUNDLE_OBS, v) < 0;
}

static int count_name(void *ctx, const char *v) { return ++*(int *)ctx, 0; }

int cg__x_annot_wants(const cg__xq *q) {
  const char *r = q->route->name;
  if (q->api == 1) return 0;
  if (strcmp(r, "schema") == 0 || strcmp(r, "genesets") == 0) return 1;
  if (strcmp(r, "annotations/obs") != 0) return 0;
  if (strcmp(q->method, "PUT") == 0) return 1;
  int n = 0;
  cg__x_query_each(q->qs, q->qlen, "annotation-name", count_name, &n);
  return n == 0 || cg__x_query_each(q->qs, q->qlen, "annotation-name", is_user_name, (void *)q) != 0;
}

static int collection(const cg__xq *q, char *out, cg_err *err) {
  int rc = cg__x_query_get(q->qs, q->qlen, "annotation-collection-name", out, COLL_MAX);
  if (rc == 0) return out[0] = 0, 0;
  size_t n = rc > 0 ? strlen(out) : 0;
  for (size_t i = 0; i < n; i++)
    if (!(out[i] == '_' || out[i] == '-' || (out[i] >= '0' && out[i] <= '9') || ((out[i] | 32) >= 'a' && (out[i] | 32) <= 'z')))
      n = 0;
  if (n == 0) return cg_err_set(err, CG_EINVAL, "annotation-collection-name: must match [A-Za-z0-9_-]{1,128}");
  return 0;
}

/* --- responses ------------------------------------------------------------------------------------------- */

static int status_of(int code) {
  switch (code) {
  case CG_EINVAL:
  case CG_ERANGE:
  case CG_EFORMAT: return 400;
  case CG_ENOTFOUND: return 404;
  case CG_EUNSUPPORTED: return 400; /* a v0.3-only array type in a PUT body */
  case CG_ENOMEM: return 503;
  default: return 500;
  }
}

static void set_version(cg_http_resp *p, int64_t v) { snprintf(p->etag, sizeof p->etag, "%lld", (long long)v); }

static void json_resp(cg__xq *q, json_t *j, int status, cg_http_resp *p, int64_t v) {
  cg__xout o = {0};
  cg_err err = {0};
  if (cg__x_json_out(j, &o, &err)) return cg__x_error_resp(p, 503, "out of memory");
  cg__x_body_resp(q, &o, p);
  p->status = status;
  set_version(p, v);
}

static void conflict(cg__xq *q, cg_http_resp *p, int64_t cur) {
  json_resp(q, json_pack("{s:s,s:i,s:s,s:I}", "status", "error", "code", 412, "message",
                         "If-Match: the annotation has changed; reload it (current version in 'version')", "version",
                         (json_int_t)cur), 412, p, cur);
}

/* If-Match: -1 = absent or "*" (last writer wins), else the quoted version; an unparsable tag never matches. */
static int64_t expected(const cg__xq *q) {
  const char *s = q->if_match;
  if (!s) return -1;
  while (*s == ' ') s++;
  if (strncmp(s, "W/", 2) == 0) s += 2;
  if (*s == '*') return -1;
  char *end;
  long long v = *s == '"' ? strtoll(s + 1, &end, 10) : -1;
  return v >= 0 && *s == '"' && *end == '"' && end > s + 1 ? v : INT64_MAX;
}

/* --- label columns --------------------------------------------------------------------------------------- */

static cg_db_key key_of(const cg__xq *q, const char *coll, const char *kind) {
  return (cg_db_key){USER, cg_bundle_id(q->b), coll, kind};
}

/* The current label set (NULL when none) and its version. */
static int load_labels(const cg__xq *q, const char *coll, int64_t *v, cg_labels **l, cg_err *err) {
  cg_db_key k = key_of(q, coll, "labels");
  uint8_t *data = NULL;
  size_t len = 0;
  *l = NULL;
  int rc = cg_db_get(cg__x_db(q), &k, v, &data, &len, err);
  if (!rc && data) rc = cg_labels_decode(data, len, l, err);
  cg_free(data);
  return rc;
}

static json_t *user_schema(const cg_labels *l) {
  json_t *a = json_array();
  for (int i = 0; a && l && i < l->n_cols; i++) {
    json_t *cats = json_array();
    for (int32_t k = 0; cats && k < l->cols[i].n_cats; k++) json_array_append_new(cats, json_string(l->cols[i].cats[k]));
    json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:b}", "name", l->cols[i].name, "type", "categorical",
                                       "categories", cats, "writable", 1));
  }
  return a;
}

static int schema_get(cg__xq *q, const char *coll, cg_http_resp *p, cg_err *err) {
  int64_t v;
  cg_labels *l;
  int rc = load_labels(q, coll, &v, &l, err);
  if (rc) return rc;
  json_t *j = cg__x_schema_json(q), *u = user_schema(l);
  json_t *cols = json_object_get(json_object_get(json_object_get(json_object_get(j, "schema"), "annotations"), "obs"),
                                 "columns");
  cg_labels_free(l);
  if (!cols || !u || json_array_extend(cols, u)) {
    json_decref(j), json_decref(u);
    return cg_err_set(err, CG_ENOMEM, "schema");
  }
  json_decref(u);
  json_resp(q, j, 200, p, v);
  return 0;
}

/* 1 when p is filled; 0 when the request is for all columns and there are no label columns (note 2). */
static int labels_get(cg__xq *q, const char *coll, cg_http_resp *p, cg_err *err) {
  int64_t v;
  cg_labels *l;
  cg__xout o = {0};
  int rc = load_labels(q, coll, &v, &l, err);
  if (!rc && (!l || l->n_cols == 0)) {
    int named = 0;
    cg__x_query_each(q->qs, q->qlen, "annotation-name", count_name, &named);
    if (!named) return cg_labels_free(l), 0;
  }
  if (!rc && l && l->n_obs != cg_bundle_n_obs(q->b)) rc = cg_err_set(err, CG_ECORRUPT, "stored labels: wrong n_obs");
  if (!rc) rc = cg__x_annotations_obs_user(q, l, &o, err);
  cg_labels_free(l);
  if (rc) return cg_free(o.buf), rc;
  cg__x_body_resp(q, &o, p);
  set_version(p, v);
  return 1;
}

/* zlib-inflates the request body into *out (cg_malloc'd). */
static int inflate_body(const cg__xq *q, uint8_t **out, size_t *len, cg_err *err) {
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  size_t cap = q->blen * 8 > 65536 ? q->blen * 8 : 65536;
  enum libdeflate_result r = LIBDEFLATE_INSUFFICIENT_SPACE;
  *out = NULL;
  while (d && r == LIBDEFLATE_INSUFFICIENT_SPACE && cap <= INFLATE_MAX) {
    cg_free(*out);
    if (!(*out = cg_malloc(cap))) break;
    r = libdeflate_zlib_decompress(d, q->body, q->blen, *out, cap, len);
    cap *= 2;
  }
  libdeflate_free_decompressor(d);
  if (*out && r == LIBDEFLATE_SUCCESS) return 0;
  cg_free(*out), *out = NULL;
  if (r == LIBDEFLATE_INSUFFICIENT_SPACE && cap > INFLATE_MAX)
    return cg_err_set(err, CG_ERANGE, "annotations: body inflates to more than 1 GiB");
  if (!d || r == LIBDEFLATE_INSUFFICIENT_SPACE) return cg_err_set(err, CG_ENOMEM, "annotations: inflate");
  return cg_err_set(err, CG_EFORMAT, "annotations: the body must be a zlib-deflated FlatBuffers matrix");
}

/* An integer column as a JSON array of decimal strings (labels are text). */
static int int_labels(const cg_fbs_rcol *c, char **out, size_t *len) {
  size_t cap = (size_t)c->count * 14 + 3;
  char *s = cg_malloc(cap), *p = s;
  if (!s) return CG_ENOMEM;
  *p++ = '[';
  for (uint32_t i = 0; i < c->count; i++)
    p += snprintf(p, cap - (size_t)(p - s), "%s\"%.0f\"", i ? "," : "", cg_fbs_col_get(c, i));
  *p++ = ']', *p = 0;
  *out = s, *len = (size_t)(p - s);
  return 0;
}

static int set_column(cg_labels *l, int i, const char *name, const cg_fbs_rcol *c, cg_err *err) {
  if (c->type == CG_FBS_FLOAT32 || c->type == CG_FBS_FLOAT64)
    return cg_err_set(err, CG_EINVAL, "label column '%s': float values are not supported in categorical labels", name);
  if (c->type == CG_FBS_JSON) return cg_labels_set_json(l, i, name, (const char *)c->data, c->count, err);
  if (c->type == CG_FBS_NONE) return cg_err_set(err, CG_EINVAL, "label column '%s' has no data", name);
  if ((int64_t)c->count != l->n_obs)
    return cg_err_set(err, CG_EINVAL, "label column '%s' has %u rows, the dataset %lld", name, c->count,
                      (long long)l->n_obs);
  char *text;
  size_t len;
  if (int_labels(c, &text, &len)) return cg_err_set(err, CG_ENOMEM, "labels");
  int rc = cg_labels_set_json(l, i, name, text, len, err);
  cg_free(text);
  return rc;
}

static int check_name(const cg__xq *q, json_t *names, size_t i, const char **out, cg_err *err) {
  const char *n = json_string_value(json_array_get(names, i));
  if (!n || !*n) return cg_err_set(err, CG_EINVAL, "label column %zu: the name must be a non-empty string", i);
  if (!is_user_name((void *)q, n)) return cg_err_set(err, CG_EINVAL, "label column '%s' clashes with an obs annotation", n);
  for (size_t k = 0; k < i; k++)
    if (strcmp(n, json_string_value(json_array_get(names, k))) == 0)
      return cg_err_set(err, CG_EINVAL, "duplicate label column name '%s'", n);
  *out = n;
  return 0;
}

/* cellxgene's checks: column count, n_obs rows, names unique and not obs annotations, no floats. */
static int labels_from_matrix(const cg__xq *q, const cg_fbs_matrix *m, cg_labels **out, cg_err *err) {
  if (m->n_columns != m->n_cols) return cg_err_set(err, CG_EINVAL, "matrix: n_cols %u but %u columns", m->n_cols, m->n_columns);
  if (m->n_cols && (int64_t)m->n_rows != cg_bundle_n_obs(q->b))
    return cg_err_set(err, CG_EINVAL, "labels have %u rows, the dataset has %lld cells", m->n_rows,
                      (long long)cg_bundle_n_obs(q->b));
  json_t *names = m->col_index.type == CG_FBS_JSON
                      ? json_loadb((const char *)m->col_index.data, m->col_index.count, 0, NULL) : json_array();
  int rc = json_is_array(names) && json_array_size(names) == m->n_cols
               ? 0 : cg_err_set(err, CG_EINVAL, "col_index must be a JSON array of the %u column names", m->n_cols);
  cg_labels *l = rc ? NULL : cg_labels_create(cg_bundle_n_obs(q->b), (int)m->n_cols);
  if (!rc && !l) rc = cg_err_set(err, CG_ENOMEM, "labels");
  for (uint32_t i = 0; !rc && i < m->n_cols; i++) {
    const char *name = NULL;
    rc = check_name(q, names, i, &name, err);
    if (!rc) rc = set_column(l, (int)i, name, &m->columns[i], err);
  }
  json_decref(names);
  if (rc) cg_labels_free(l), l = NULL;
  *out = l;
  return rc;
}

static int labels_put(cg__xq *q, const char *coll, cg_http_resp *p, cg_err *err) {
  uint8_t *raw = NULL, *blob = NULL;
  size_t rlen = 0, blen = 0;
  cg_fbs_matrix m = {0};
  cg_labels *l = NULL;
  int64_t v = 0;
  int rc = inflate_body(q, &raw, &rlen, err);
  if (!rc) rc = cg_fbs_read(raw, rlen, &m, err);
  if (!rc) rc = labels_from_matrix(q, &m, &l, err);
  if (!rc) rc = cg_labels_encode(l, &blob, &blen, err);
  cg_db_key k = key_of(q, coll, "labels");
  if (!rc) rc = cg_db_put(cg__x_db(q), &k, expected(q), blob, blen, CG_DB_KEEP_DEFAULT, &v, err);
  if (rc == CG_DB_STALE) conflict(q, p, v), rc = 0;
  else if (!rc) json_resp(q, json_pack("{s:s}", "status", "OK"), 200, p, v);
  cg_free(blob);
  cg_labels_free(l);
  cg_fbs_matrix_dispose(&m);
  cg_free(raw);
  return rc;
}

/* --- gene sets ------------------------------------------------------------------------------------------- */

static int load_genesets(const cg__xq *q, int64_t *v, json_t **gs, cg_err *err) {
  cg_db_key k = key_of(q, "", "genesets");
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = cg_db_get(cg__x_db(q), &k, v, &data, &len, err);
  *gs = rc ? NULL : data ? json_loadb((const char *)data, len, 0, NULL) : json_pack("{s:[],s:i}", "genesets", "tid", 0);
  cg_free(data);
  if (!rc && !json_is_object(*gs)) rc = cg_err_set(err, CG_ECORRUPT, "stored gene sets do not parse");
  return rc;
}

static void csv_field(json_t *o, const char *k, json_t *out_parts) {
  const char *s = json_string_value(json_object_get(o, k));
  json_array_append_new(out_parts, json_string(s ? s : ""));
}

/* One CSV line from strings, quoted when they contain a comma, quote or newline. */
static int csv_line(char **buf, size_t *len, json_t *parts) {
  for (size_t i = 0; i < json_array_size(parts); i++) {
    const char *s = json_string_value(json_array_get(parts, i));
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    size_t need = *len + 2 * strlen(s) + 5;
    char *nb = cg_realloc(*buf, need);
    if (!nb) return CG_ENOMEM;
    *buf = nb;
    char *p = nb + *len;
    if (i) *p++ = ',';
    if (quote) *p++ = '"';
    for (; *s; s++) {
      if (*s == '"') *p++ = '"';
      *p++ = *s;
    }
    if (quote) *p++ = '"';
    *len = (size_t)(p - nb);
  }
  memcpy(*buf + *len, "\r\n", 2), *len += 2;
  return 0;
}

static int genesets_csv(json_t *gs, cg__xout *o, cg_err *err) {
  static const char header[] = "gene_set_name,gene_set_description,gene_symbol,gene_description\r\n";
  char *buf = cg_strdup(header);
  size_t len = sizeof header - 1, i, g;
  json_t *set, *gene;
  int rc = buf ? 0 : CG_ENOMEM;
  json_array_foreach(json_object_get(gs, "genesets"), i, set) {
    json_t *genes = json_object_get(set, "genes");
    for (g = 0; !rc && g < (json_array_size(genes) ? json_array_size(genes) : 1); g++) {
      json_t *parts = json_array();
      gene = json_array_get(genes, g);
      csv_field(set, "geneset_name", parts), csv_field(set, "geneset_description", parts);
      csv_field(gene, "gene_symbol", parts), csv_field(gene, "gene_description", parts);
      rc = csv_line(&buf, &len, parts);
      json_decref(parts);
    }
  }
  if (rc) return cg_free(buf), cg_err_set(err, CG_ENOMEM, "genesets");
  o->buf = (uint8_t *)buf, o->len = len, o->ctype = "text/csv";
  return 0;
}

static int genesets_get(cg__xq *q, cg_http_resp *p, cg_err *err) {
  int64_t v;
  json_t *gs;
  int rc = load_genesets(q, &v, &gs, err);
  if (rc) return json_decref(gs), rc;
  if (!q->csv) return json_resp(q, gs, 200, p, v), 0;
  cg__xout o = {0};
  rc = genesets_csv(gs, &o, err);
  json_decref(gs);
  if (rc) return rc;
  cg__x_body_resp(q, &o, p);
  set_version(p, v);
  return 0;
}

static int check_geneset(json_t *set, size_t i, cg_err *err) {
  json_t *genes = json_object_get(set, "genes"), *g;
  size_t k;
  if (!json_is_string(json_object_get(set, "geneset_name")))
    return cg_err_set(err, CG_EINVAL, "genesets[%zu]: geneset_name must be a string", i);
  if (genes && !json_is_array(genes)) return cg_err_set(err, CG_EINVAL, "genesets[%zu].genes must be an array", i);
  json_array_foreach(genes, k, g) if (!json_is_string(json_object_get(g, "gene_symbol")))
    return cg_err_set(err, CG_EINVAL, "genesets[%zu].genes[%zu]: gene_symbol must be a string", i, k);
  return 0;
}

static int parse_genesets(const cg__xq *q, json_t **out, json_int_t *tid, cg_err *err) {
  json_t *j = json_loadb(q->body, q->blen, 0, NULL), *sets = json_object_get(j, "genesets"), *set;
  json_t *t = json_object_get(j, "tid");
  size_t i;
  int rc = json_is_array(sets) && json_is_integer(t)
               ? 0 : cg_err_set(err, CG_EINVAL, "genesets: the body must be {\"genesets\":[...],\"tid\":n}");
  json_array_foreach(sets, i, set) {
    for (size_t k = 0; !rc && k < i; k++)
      if (json_equal(json_object_get(set, "geneset_name"), json_object_get(json_array_get(sets, k), "geneset_name")))
        rc = cg_err_set(err, CG_EINVAL, "genesets: duplicate gene set name");
    if (!rc) rc = check_geneset(set, i, err);
  }
  if (rc) return json_decref(j), rc;
  *tid = json_integer_value(t), *out = j;
  return 0;
}

/* One read-check-write attempt: 0 done (p filled), CG_DB_STALE lost a race without If-Match, or an error. */
static int genesets_try(cg__xq *q, const char *text, json_int_t tid, cg_http_resp *p, cg_err *err) {
  int64_t v, nv;
  json_t *cur;
  int rc = load_genesets(q, &v, &cur, err);
  json_int_t last = json_integer_value(json_object_get(cur, "tid"));
  json_decref(cur);
  if (rc) return rc;
  if (tid <= last) return cg__x_error_resp(p, 404, "stale: tid is not newer than the saved gene sets"), set_version(p, v), 0;
  int64_t expect = q->if_match ? expected(q) : v;
  cg_db_key k = key_of(q, "", "genesets");
  rc = cg_db_put(cg__x_db(q), &k, expect, text, strlen(text), CG_DB_KEEP_DEFAULT, &nv, err);
  if (rc == CG_DB_STALE && q->if_match) return conflict(q, p, nv), 0;
  if (!rc) json_resp(q, json_pack("{s:s}", "status", "OK"), 200, p, nv);
  return rc;
}

static int genesets_put(cg__xq *q, cg_http_resp *p, cg_err *err) {
  json_t *j;
  json_int_t tid;
  int rc = parse_genesets(q, &j, &tid, err);
  if (rc) return rc;
  char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (!text) return cg_err_set(err, CG_ENOMEM, "genesets");
  rc = CG_DB_STALE;
  for (int i = 0; i < PUT_RETRIES && rc == CG_DB_STALE; i++) rc = genesets_try(q, text, tid, p, err);
  free(text);
  return rc == CG_DB_STALE ? cg_err_set(err, CG_EIO, "genesets: too many concurrent writers") : rc;
}

/* --- entry ----------------------------------------------------------------------------------------------- */

int cg__x_annot_run(cg__xq *q, cg_http_resp *p) {
  cg_err err = {0};
  char coll[COLL_MAX];
  const char *r = q->route->name;
  int put = strcmp(q->method, "PUT") == 0;
  int rc = collection(q, coll, &err);
  if (!rc && strcmp(r, "genesets") == 0) rc = put ? genesets_put(q, p, &err) : genesets_get(q, p, &err);
  else if (!rc && strcmp(r, "schema") == 0) rc = schema_get(q, coll, p, &err);
  else if (!rc && put) rc = labels_put(q, coll, p, &err);
  else if (!rc && (rc = labels_get(q, coll, p, &err)) >= 0) return rc;
  if (rc) cg__x_error_resp(p, status_of(rc), err.msg[0] ? err.msg : cg_strerror(rc));
  return 1;
}
