/* explorer_v1.c — the native API (docs/API.md "Native API"): GET /api/v1/datasets and
 * POST /api/v1/datasets/<id>/diffexp, the differential-expression engine (query/de.h) with every method and its
 * full table.
 *
 * Design notes
 *  1. The request is parsed on a worker (canon step, explorer.c on_job), never on a connection thread: a JSON
 *     body may hold a million cell indices. Cell sets become bitsets over n_obs, so an index list, a filter and
 *     a PDU that select the same cells are the same request: the canonical key is method + top_n + per set
 *     (count, XXH3-128 of the bitset words), or "rest". Key order, whitespace, index order and duplicates in
 *     the body do not matter; the ETag, the body cache and single-flight all use that key.
 *  2. Bodies: JSON (any Content-Type but octet-stream, at most 16 MiB) or a diffex PDU (application/octet-stream,
 *     up to 100 MiB; method/top_n/set2=rest as query parameters; N of the PDU is the default top_n).
 *  3. The table is the engine's own JSON or CSV writer (de_out.c), genes in rank order, the first top_n.
 *  4. Not done: cancelling the engine when the client goes away. A suspended libmicrohttpd connection is not
 *     polled, so http.c learns of a disconnect only after the job resumes it; the engine's cancel flag
 *     (cg_de_opts.cancel) is ready for an http.c hook that polls the socket from the progress callback.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "explorer/explorer_int.h"
#include "query/de.h"
#include "query/filter.h"
#include "wire/pdu.h"

#define TOP_DEFAULT 100 /* JSON answers; CSV answers default to every gene */

typedef struct v1_req {
  cg_bitset s1, s2;
  int rest; /* set2 = every cell not in set1 */
  cg_de_method method;
  int64_t top; /* < 0 = all */
} v1_req;

static void v1_free(void *arg) {
  v1_req *r = arg;
  if (!r) return;
  cg_bitset_dispose(&r->s1);
  cg_bitset_dispose(&r->s2);
  cg_free(r);
}

/* --- GET /api/v1/datasets -------------------------------------------------------------------------------- */

static int add_dataset(void *ctx, const char *name, const cg_bundle *b) {
  json_t *o = json_pack("{s:s,s:I,s:I,s:s}", "id", name, "n_obs", (json_int_t)cg_bundle_n_obs(b), "n_vars",
                        (json_int_t)cg_bundle_n_vars(b), "bundle_id", cg_bundle_id(b));
  return o && json_array_append_new(ctx, o) == 0 ? 0 : CG_ENOMEM;
}

int cg__x_v1_datasets(cg__xds *d, cg__xout *o, cg_err *err) {
  json_t *list = json_array();
  int rc = list ? cg__xds_each(d, add_dataset, list, err) : CG_ENOMEM;
  if (rc == CG_ENOMEM) cg_err_set(err, CG_ENOMEM, "dataset list");
  if (rc) return json_decref(list), rc;
  return cg__x_json_out(list, o, err);
}

/* --- the request ------------------------------------------------------------------------------------------ */

static int set_from_list(const json_t *a, const char *which, cg_bitset *s, cg_err *err) {
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    if (!json_is_integer(v))
      return cg_err_set(err, CG_EINVAL, "%s: element %zu is not a cell index (an integer)", which, i);
    json_int_t c = json_integer_value(v);
    if (c < 0 || c >= s->n)
      return cg_err_set(err, CG_EINVAL, "%s: cell index %lld out of range (the dataset has %lld cells)", which,
                        (long long)c, (long long)s->n);
    cg_bitset_set(s, c);
  }
  return 0;
}

static int set_from_filter(const cg_bundle *b, const json_t *v, const char *which, cg_bitset *s, cg_err *err) {
  json_t *filter = json_object_get(v, "filter");
  if (json_object_size(v) != 1 || !json_is_object(filter))
    return cg_err_set(err, CG_EINVAL, "%s: a list of cell indices or {\"filter\": {\"obs\": ...}}", which);
  cg_filter *f;
  int rc = cg_filter_from_json(filter, CG_FILTER_AXIS_OBS, &f, err);
  cg_bitset_dispose(s);
  if (!rc) rc = cg_filter_select(f, b, CG_BUNDLE_OBS, s, err);
  cg_filter_free(f);
  if (rc) cg_err_prefix(err, "%s", which);
  return rc;
}

/* set1 / set2 of a JSON body into r->s1 / r->s2 (already n_obs bits, clear). */
static int json_set(const cg_bundle *b, const json_t *req, const char *which, v1_req *r, cg_err *err) {
  json_t *v = json_object_get(req, which);
  cg_bitset *s = which[3] == '1' ? &r->s1 : &r->s2;
  if (!v) return cg_err_set(err, CG_EINVAL, "%s: required", which);
  if (s == &r->s2 && json_is_string(v) && strcmp(json_string_value(v), "rest") == 0) return r->rest = 1, 0;
  if (json_is_array(v)) return set_from_list(v, which, s, err);
  if (json_is_object(v)) return set_from_filter(b, v, which, s, err);
  return cg_err_set(err, CG_EINVAL, "%s: a list of cell indices, {\"filter\": ...}%s", which,
                    s == &r->s2 ? " or \"rest\"" : "");
}

static int parse_method(const char *name, cg_de_method *m, cg_err *err) {
  if (cg_de_method_parse(name, m) == 0) return 0;
  return cg_err_set(err, CG_EINVAL, "method: '%s' is not one of welch, wilcoxon, cellxgene", name);
}

/* top_n: a non-negative integer or "all" (JSON value or query text). */
static int parse_top(const json_t *v, const char *text, int64_t *top, cg_err *err) {
  if (v && json_is_integer(v) && json_integer_value(v) >= 0) return *top = json_integer_value(v), 0;
  const char *s = v ? json_string_value(v) : text;
  if (s && strcmp(s, "all") == 0) return *top = -1, 0;
  char *end;
  long long n = s ? strtoll(s, &end, 10) : -1;
  if (!v && s && *s && !*end && n >= 0) return *top = n, 0;
  return cg_err_set(err, CG_EINVAL, "top_n: a non-negative integer or \"all\"");
}

static int check_keys(const json_t *req, cg_err *err) {
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)req, k, v) {
    if (strcmp(k, "set1") && strcmp(k, "set2") && strcmp(k, "method") && strcmp(k, "top_n"))
      return cg_err_set(err, CG_EINVAL, "unknown key '%s' (set1, set2, method, top_n)", k);
  }
  return 0;
}

static int parse_json(const cg__xq *q, v1_req *r, cg_err *err) {
  json_error_t je;
  json_t *req = json_loadb(q->body, q->blen, 0, &je);
  if (!json_is_object(req)) {
    json_decref(req);
    return cg_err_set(err, CG_EINVAL, "body: not a JSON object (%s)", je.text);
  }
  json_t *m = json_object_get(req, "method"), *top = json_object_get(req, "top_n");
  int rc = check_keys(req, err);
  if (!rc && m && !json_is_string(m)) rc = cg_err_set(err, CG_EINVAL, "method: a string");
  if (!rc && m) rc = parse_method(json_string_value(m), &r->method, err);
  if (!rc && top) rc = parse_top(top, NULL, &r->top, err);
  if (!rc) rc = json_set(q->b, req, "set1", r, err);
  if (!rc) rc = json_set(q->b, req, "set2", r, err);
  json_decref(req);
  return rc;
}

/* A diffex PDU body; method, top_n (default: the PDU's N) and set2=rest from the query string. */
static int parse_pdu(const cg__xq *q, v1_req *r, cg_err *err) {
  char v[32];
  int rc = 0;
  if (cg__x_query_get(q->qs, q->qlen, "method", v, sizeof v) == 1) rc = parse_method(v, &r->method, err);
  cg_pdu p;
  if (!rc) rc = cg_pdu_decode(q->body, q->blen, cg_bundle_n_obs(q->b), &p, err);
  if (rc == CG_EUNSUPPORTED) rc = CG_EFORMAT;
  if (rc) return rc == CG_EFORMAT ? cg_err_prefix(err, "diffex PDU"), rc : rc;
  r->top = p.top_n;
  if (cg__x_query_get(q->qs, q->qlen, "top_n", v, sizeof v) == 1) rc = parse_top(NULL, v, &r->top, err);
  if (cg__x_query_get(q->qs, q->qlen, "set2", v, sizeof v) == 1) {
    if (strcmp(v, "rest") != 0) rc = cg_err_set(err, CG_EINVAL, "set2: only \"rest\" as a query parameter");
    else if (p.count[1]) rc = cg_err_set(err, CG_EINVAL, "set2=rest with a PDU that carries a set2");
    else r->rest = 1;
  }
  cg_bitset_dispose(&r->s1), cg_bitset_dispose(&r->s2);
  r->s1 = p.set[0], r->s2 = p.set[1]; /* taken: p is not disposed */
  return rc;
}

static int64_t overlap(const cg_bitset *a, const cg_bitset *b) {
  int64_t n = 0;
  for (int64_t i = 0; i < cg_bitset_words(a); i++) n += __builtin_popcountll(a->w[i] & b->w[i]);
  return n;
}

int cg__x_v1_diffexp_canon(cg__xq *q, cg_err *err) {
  int64_t n_obs = cg_bundle_n_obs(q->b);
  v1_req *r = cg_calloc(1, sizeof *r);
  if (!r) return cg_err_set(err, CG_ENOMEM, "diffexp");
  q->state = r, q->state_free = v1_free;
  r->method = CG_DE_WELCH, r->top = q->csv ? -1 : TOP_DEFAULT;
  if (cg_bitset_init(&r->s1, n_obs) || cg_bitset_init(&r->s2, n_obs)) return cg_err_set(err, CG_ENOMEM, "diffexp");
  int rc = q->body_octet ? parse_pdu(q, r, err) : parse_json(q, r, err);
  if (rc) return rc;
  int64_t n1 = cg_bitset_count(&r->s1), n2 = r->rest ? n_obs - n1 : cg_bitset_count(&r->s2);
  if (r->rest && n1 && !n2) return cg_err_set(err, CG_EINVAL, "set2 is empty: set1 holds every cell, no rest");
  rc = cg__x_check_sets(n1, n2, r->rest ? 0 : overlap(&r->s1, &r->s2), err);
  if (rc) return rc;
  char d1[64], d2[64] = "rest";
  cg__x_set_digest(&r->s1, d1);
  if (!r->rest) cg__x_set_digest(&r->s2, d2);
  snprintf(q->canon, sizeof q->canon, "v1|%s|%lld|%s|%s", cg_de_method_name(r->method), (long long)r->top, d1, d2);
  return 0;
}

/* The table text (~450 bytes a gene in JSON, ~300 in CSV) and the engine's per-gene results and accumulators. */
cg__xcost cg__x_v1_diffexp_cost(const cg__xq *q) {
  const v1_req *r = q->state;
  size_t genes = (size_t)cg_bundle_n_vars(q->b);
  size_t n = r && r->top >= 0 && (size_t)r->top < genes ? (size_t)r->top : genes;
  return (cg__xcost){n * 450 + 256, genes * (sizeof(cg_de_gene) + 128)};
}

int cg__x_v1_diffexp(cg__xq *q, cg__xout *o, cg_err *err) {
  const v1_req *r = q->state;
  cg_de_set a = {.bits = &r->s1}, b = {.bits = &r->s2};
  cg_de_result *res = NULL;
  char *text = NULL;
  size_t len = 0;
  int rc = cg_de_run(q->b, &a, r->rest ? NULL : &b, r->method, NULL, &res, err);
  if (!rc && q->csv) rc = cg_de_result_csv(res, q->b, r->top, &text, &len, err);
  else if (!rc) rc = cg_de_result_json(res, q->b, r->top, &text, &len, err);
  cg_de_result_free(res);
  if (rc) return rc;
  o->buf = (uint8_t *)text, o->len = len, o->ctype = q->csv ? "text/csv" : "application/json";
  return 0;
}
