/* explorer.c — routing and the response pipeline of the Explorer API (caching design in explorer.h).
 *
 *   path ──parse_target──> (dataset, api version, route) ──xds──> bundle
 *     ──method (405) ── Accept (406) ── ETag (304) ── body cache (hit) ── handler or pool job ── encode ── cache
 */
#include "explorer/explorer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "base/mem.h"
#include "db/db.h"
#include "explorer/explorer_int.h"
#include "explorer/explorer_static.h"
#include "http/http_budget.h"
#include "http/http_codec.h"

#define OCTET "application/octet-stream"
#define CC_IMMUTABLE "public, max-age=31536000, immutable"
#define CC_REVALIDATE "public, no-cache"
#define VARY "Accept, Accept-Encoding"
#define SMALL_BODY_LIMIT ((size_t)1 << 20)
#define SUMMARIZE_BODY_LIMIT ((size_t)1000000)
#define PDU_BODY_LIMIT ((size_t)100 << 20)
#define V1_JSON_LIMIT ((size_t)16 << 20) /* a v1 diffexp JSON body; bigger sets come as a PDU (100 MiB) */
#define CSV "text/csv"

static const cg__xroute routes[] = {
    {"config", 0, 0, 1, cg__x_config, NULL, NULL, NULL, 0, NULL, NULL},
    {"schema", 0, 0, 1, cg__x_schema, NULL, NULL, NULL, 0, NULL, NULL},
    {"colors", 0, 0, 1, cg__x_colors, NULL, NULL, NULL, 0, NULL, NULL},
    {"annotations/obs", 1, 0, 1, cg__x_annotations_obs, cg__x_not_implemented, NULL, cg__x_annotations_obs_cost, 0,
     NULL, NULL},
    {"annotations/var", 1, 0, 1, cg__x_annotations_var, cg__x_not_implemented, NULL, cg__x_annotations_var_cost, 0,
     NULL, NULL},
    {"data/var", 1, 0, 1, cg__x_data_var, cg__x_data_var, NULL, cg__x_data_var_cost, 0, NULL, NULL},
    {"layout/obs", 1, 0, 1, cg__x_layout_obs, NULL, NULL, cg__x_layout_obs_cost, 0, NULL, NULL},
    {"summarize/var", 1, 0, 1, cg__x_summarize_var, NULL, cg__x_summarize_var, cg__x_summarize_var_cost, 0, NULL, NULL},
    {"genesets", 0, 0, 0, cg__x_genesets, cg__x_not_implemented, NULL, NULL, 0, NULL, NULL},
    {"diffexp/obs", 0, 0, 1, NULL, NULL, cg__x_diffexp_obs, cg__x_diffexp_obs_cost, 0, NULL, NULL},
    {"diffexp/obs2", 0, 1, 1, NULL, NULL, cg__x_diffexp_obs2, cg__x_diffexp_obs2_cost, 0, cg__x_diffexp_obs2_canon,
     OCTET},
    {"s3_uri", 0, 1, 0, cg__x_s3_uri, NULL, NULL, NULL, 0, NULL, NULL},
    {"diffexp", 0, 0, 1, NULL, NULL, cg__x_v1_diffexp, cg__x_v1_diffexp_cost, 1, cg__x_v1_diffexp_canon, NULL},
};
#define NROUTES ((int)(sizeof routes / sizeof routes[0]))
enum { R_HEALTH = NROUTES, R_METRICS, R_STATIC, R_V1_DATASETS, R_UNROUTED, R_COUNT };
static const char *route_names[R_COUNT];

struct cg_explorer {
  cg_explorer_opts o;
  cg__xds *ds;
  cg_http_cache *cache;
  cg_http_budget *budget;
  cg_http_share *share;
  cg_http_metrics *metrics;
  cg_http_server *server;
  cg__xstatic *web;
  cg_db *db; /* user annotations (explorer_annot.c); NULL = off */
};

/* --- lifetime -------------------------------------------------------------------------------------------- */

static void init_route_names(void) {
  for (int i = 0; i < NROUTES; i++) route_names[i] = routes[i].native ? "v1/diffexp" : routes[i].name;
  route_names[R_V1_DATASETS] = "v1/datasets";
  route_names[R_HEALTH] = "health", route_names[R_METRICS] = "metrics", route_names[R_STATIC] = "web";
  route_names[R_UNROUTED] = "unrouted";
}

int cg_explorer_create(const cg_explorer_opts *o, cg_explorer **out, cg_err *err) {
  *out = NULL;
  if (!o->bundle == !o->data_dir) return cg_err_set(err, CG_EINVAL, "explorer: need a bundle or a data directory");
  cg_explorer *x = cg_calloc(1, sizeof *x);
  if (!x) return cg_err_set(err, CG_ENOMEM, "explorer");
  x->o = *o;
  if (!x->o.version) x->o.version = "0";
  if (x->o.body_bytes && x->o.cache_bytes > x->o.body_bytes) x->o.cache_bytes = x->o.body_bytes;
  if (x->o.queue_timeout_ms <= 0) x->o.queue_timeout_ms = CG_EXPLORER_QUEUE_TIMEOUT_MS;
  init_route_names();
  int rc = cg__xds_create(o->bundle, o->data_dir, o->max_open, &x->ds, err);
  if (!rc) rc = cg__xstatic_load(o->web_dir, &x->web, err);
  if (!rc && o->annotations_db) rc = cg_db_open(o->annotations_db, &x->db, err);
  if (!rc) {
    x->cache = cg_http_cache_create(x->o.cache_bytes);
    x->budget = cg_http_budget_create(x->o.body_bytes);
    x->share = cg_http_share_create();
    x->metrics = cg_http_metrics_create(route_names, R_COUNT);
    if (!x->cache || !x->budget || !x->share || !x->metrics) rc = cg_err_set(err, CG_ENOMEM, "explorer caches");
  }
  if (rc) {
    cg_explorer_free(x);
    return rc;
  }
  *out = x;
  return 0;
}

void cg_explorer_free(cg_explorer *x) {
  if (!x) return;
  cg__xds_free(x->ds);
  cg_http_cache_free(x->cache); /* releases cached bodies: before the table and the budget they point at */
  cg_http_share_free(x->share);
  cg_http_budget_free(x->budget);
  cg_http_metrics_free(x->metrics);
  cg__xstatic_free(x->web);
  cg_db_close(x->db);
  cg_free(x);
}

void cg_explorer_attach(cg_explorer *x, cg_http_server *s) { x->server = s; }

const char *cg__x_version(const cg__xq *q) { return q->x->o.version; }

cg_db *cg__x_db(const cg__xq *q) { return q->x->db; }

const char *cg__x_dataset_name(const cg__xq *q) {
  const char *t = cg_bundle_title(q->b);
  if (t && *t) return t;
  if (q->x->o.display_name) return q->x->o.display_name;
  if (q->ds[0]) return q->ds;
  const char *s = cg__xds_single_name(q->x->ds);
  return s ? s : "dataset";
}

/* --- responses ------------------------------------------------------------------------------------------- */

static int status_of(int code) {
  switch (code) {
  case CG_EINVAL:
  case CG_ERANGE:
  case CG_EFORMAT: return 400;
  case CG_ENOTFOUND: return 404;
  case CG_EUNSUPPORTED: return 501;
  case CG_ENOMEM: return 503;
  default: return 500;
  }
}

static void set_body(cg_http_resp *p, cg_http_blob *b) {
  cg_http_blob_release(p->body);
  p->body = b;
}

static void error_resp(cg_http_resp *p, int status, const char *msg) {
  json_t *j = json_pack("{s:s,s:i,s:s}", "status", "error", "code", status, "message", msg ? msg : "");
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  set_body(p, s ? cg_http_blob_copy(s, strlen(s)) : NULL);
  free(s);
  json_decref(j);
  p->status = status, p->content_type = "application/json", p->cache_control = "no-store";
  p->content_encoding = NULL, p->etag[0] = 0, p->vary = NULL;
}

void cg__x_error_resp(cg_http_resp *p, int status, const char *msg) { error_resp(p, status, msg); }

static void error_code(cg_http_resp *p, int code, const cg_err *err) {
  error_resp(p, status_of(code), err->msg[0] ? err->msg : cg_strerror(code));
}

static const char *cache_control(const cg__xq *q) {
  if (!q->route->cacheable) return "no-store";
  return q->content_addressed ? CC_IMMUTABLE : CC_REVALIDATE;
}

/* Takes o's buffer as a body blob, compressed with the client's encoding when that pays; *enc says which was
 * used. NULL when out of memory (o's buffer is released either way). */
static cg_http_blob *encode_body(const cg__xq *q, cg__xout *o, cg_http_enc *enc) {
  uint8_t *z;
  size_t zlen;
  cg_err err = {0};
  cg_http_blob *b;
  *enc = o->len >= CG_HTTP_COMPRESS_MIN ? q->enc : CG_HTTP_ENC_IDENTITY;
  if (*enc != CG_HTTP_ENC_IDENTITY && cg_http_compress(*enc, o->buf, o->len, &z, &zlen, &err) == 0) {
    cg_free(o->buf);
    b = cg_http_blob_take(z, zlen);
  } else {
    *enc = CG_HTTP_ENC_IDENTITY;
    b = cg_http_blob_take(o->buf, o->len);
  }
  o->buf = NULL;
  return b;
}

/* Encodes o for the client, stores it in the body cache when cacheable, fills the response. */
static void finish_ok(cg__xq *q, cg__xout *o, cg_http_resp *p) {
  cg_http_enc enc;
  cg_http_blob *b = encode_body(q, o, &enc);
  if (!b) return error_resp(p, 503, "out of memory");
  b->tag = (int)enc;
  if (q->reserved) cg_http_budget_charge(q->x->budget, b, q->reserved), q->reserved = 0;
  if (q->route->cacheable) cg_http_cache_put(q->x->cache, q->key, b);
  set_body(p, b);
  p->status = 200, p->content_type = o->ctype, p->content_encoding = cg_http_enc_name(enc);
  p->cache_control = cache_control(q), p->vary = VARY, p->note = "miss";
  snprintf(p->etag, sizeof p->etag, "%s", q->route->cacheable ? q->etag : "");
}

static cg__xroute_fn route_fn(const cg__xroute *r, const char *method) {
  if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) return r->get;
  if (strcmp(method, "PUT") == 0) return r->put;
  if (strcmp(method, "POST") == 0) return r->post;
  return NULL;
}

static void run_route(cg__xq *q, cg_http_resp *p) {
  cg__xout o = {0};
  cg_err err = {0};
  int rc = route_fn(q->route, q->method)(q, &o, &err);
  if (rc) {
    cg_free(o.buf);
    return error_code(p, rc, &err);
  }
  finish_ok(q, &o, p);
}

static void xq_free(void *arg) {
  cg__xq *q = arg;
  if (!q) return;
  if (q->state_free) q->state_free(q->state);
  cg_free(q->inm);
  cg_free(q->if_match);
  cg_bundle_release(q->b);
  cg_free(q);
}

/* --- budgeted routes: single-flight, body budget (explorer.h, notes 4-5) ------------------------------------ */

static void serve_blob(const cg__xq *q, cg_http_resp *p, cg_http_blob *b, const char *note) {
  set_body(p, b);
  p->status = 200, p->note = note, p->content_encoding = cg_http_enc_name((cg_http_enc)b->tag);
  p->content_type = q->route->binary ? OCTET : q->csv ? CSV : "application/json";
  p->cache_control = cache_control(q), p->vary = VARY;
  snprintf(p->etag, sizeof p->etag, "%s", q->etag);
}

static void make_room(void *ctx, size_t shortfall) {
  cg_explorer *x = ctx;
  cg_http_cache_trim(x->cache, shortfall);
}

static size_t estimate(const cg__xq *q) {
  cg__xcost c = q->route->cost(q);
  size_t z = q->enc != CG_HTTP_ENC_IDENTITY && c.out >= CG_HTTP_COMPRESS_MIN ? c.out / 2 : 0;
  return c.out + (c.temps > z ? c.temps : z) + 4096;
}

/* Reserve the estimate (waiting up to the deadline), build, turn the reservation into the body's charge. */
static void build_budgeted(cg__xq *q, cg_http_resp *p) {
  size_t est = estimate(q);
  if (cg_http_budget_acquire(q->x->budget, est, q->deadline, make_room, q->x) != 0) {
    error_resp(p, 503, "server busy: response bodies in memory are at the budget (--body-mb); retry later");
    p->retry_after = 1, p->note = "busy";
    return;
  }
  q->reserved = est;
  run_route(q, p);
  if (q->reserved) cg_http_budget_release(q->x->budget, q->reserved), q->reserved = 0;
}

/* A follower: the leader's response, with our own reference to the body. Runs on the leader's thread. */
static void on_shared(void *arg, const cg_http_resp *l) {
  cg__xq *q = arg;
  cg_http_req *req = q->req;
  cg_http_resp *p = cg_http_req_resp(req);
  int route = p->route;
  cg_http_blob_release(p->body);
  *p = *l;
  p->body = cg_http_blob_retain(l->body);
  p->route = route, p->note = l->status == 200 ? "joined" : l->note;
  cg_http_complete(req); /* frees q */
}

static int answer_from_cache(cg__xq *q, const char *inm, cg_http_resp *p);

/* Routes with a canon step parse on the worker, then get their ETag: 1 when p is complete (error, 304, hit). */
static int canon_step(cg__xq *q, cg_http_resp *p) {
  cg_err err = {0};
  int rc = q->route->canon(q, &err);
  if (rc) return error_code(p, rc, &err), 1;
  return answer_from_cache(q, q->inm, p) != 0;
}

static int on_job(void *arg, cg_http_req *req, cg_http_resp *p) {
  cg__xq *q = arg;
  int lead = 0;
  if (q->route->canon && canon_step(q, p)) return 0;
  if (q->route->cacheable) {
    cg_http_blob *hit;
    q->waiter = (cg_http_share_waiter){on_shared, q, NULL};
    int j = cg_http_share_join(q->x->share, q->key, &q->waiter, &hit);
    if (j == CG_HTTP_SHARE_WAIT) return CG_HTTP_DEFERRED; /* q belongs to the leader's on_shared now */
    if (j == CG_HTTP_SHARE_HIT) return serve_blob(q, p, hit, "shared"), 0;
    lead = j == CG_HTTP_SHARE_LEAD;
  }
  if (q->route->cost) build_budgeted(q, p);
  else run_route(q, p);
  if (lead) cg_http_share_done(q->x->share, q->key, p);
  return 0;
}

/* --- ETag ------------------------------------------------------------------------------------------------ */

typedef struct pair_span {
  const char *s;
  size_t n;
} pair_span;

static int cmp_span(const void *a, const void *b) {
  const pair_span *x = a, *y = b;
  int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Hashes the query's pairs in sorted order, so a=1&b=2 and b=2&a=1 share a cache entry. */
static void hash_query(XXH3_state_t *st, const char *qs, size_t len) {
  pair_span stack[64], *v = stack;
  size_t n = 0, cap = 64;
  for (size_t i = 0; i <= len;) {
    const char *amp = memchr(qs + i, '&', len - i);
    size_t e = amp ? (size_t)(amp - qs) : len;
    if (e > i) {
      if (n == cap) {
        pair_span *nv = cg_malloc_array(cap * 2, sizeof *nv);
        if (!nv) { /* fall back to the raw order: still a correct (if less shared) key */
          if (v != stack) cg_free(v);
          XXH3_128bits_update(st, qs, len);
          return;
        }
        memcpy(nv, v, n * sizeof *v);
        if (v != stack) cg_free(v);
        v = nv, cap *= 2;
      }
      v[n++] = (pair_span){qs + i, e - i};
    }
    i = e + 1;
  }
  qsort(v, n, sizeof *v, cmp_span);
  for (size_t k = 0; k < n; k++) {
    XXH3_128bits_update(st, v[k].s, v[k].n);
    XXH3_128bits_update(st, "&", 1);
  }
  if (v != stack) cg_free(v);
}

static void make_etag(cg__xq *q) {
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  char head[256];
  int n = snprintf(head, sizeof head, "%s|v0.%d|%s|%s|%d|", cg_bundle_id(q->b), q->api, q->route->name, q->method,
                   q->csv);
  if (q->x->db && q->route->get == cg__x_config) n += snprintf(head + n, sizeof head - (size_t)n, "annotations|");
  XXH3_128bits_update(&st, head, (size_t)n);
  if (q->canon[0]) { /* the canonical request covers the query and the body */
    XXH3_128bits_update(&st, q->canon, strlen(q->canon));
  } else {
    hash_query(&st, q->qs, q->qlen);
    XXH3_128bits_update(&st, "|", 1);
    XXH3_128bits_update(&st, q->body, q->blen);
  }
  XXH128_hash_t h = XXH3_128bits_digest(&st);
  snprintf(q->etag, sizeof q->etag, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
}

/* --- routing --------------------------------------------------------------------------------------------- */

typedef struct target {
  char ds[256];
  char locator[256];
  int api;
  const char *rest; /* route name */
} target;

static int copy_segment(const char *s, char *dst, size_t cap, const char **after) {
  const char *slash = strchr(s, '/');
  size_t n = slash ? (size_t)(slash - s) : strlen(s);
  if (n == 0 || !slash) return 0;
  char raw[256];
  if (n >= sizeof raw) return 0;
  memcpy(raw, s, n);
  raw[n] = 0;
  if (cg_http_form_decode(raw, n, dst, cap) < 0) return 0;
  *after = slash + 1;
  return 1;
}

/* api/v1/datasets/<id>/<route> */
static int parse_native(const char *s, target *t) {
  const char *after;
  if (strncmp(s, "api/v1/datasets/", 16) != 0 || !copy_segment(s + 16, t->ds, sizeof t->ds, &after)) return 0;
  t->api = 1, t->rest = after;
  return 1;
}

static int parse_api(const char *s, target *t) {
  if (strncmp(s, "api/v1/", 7) == 0) return parse_native(s, t);
  if (strncmp(s, "api/v0.2/", 9) == 0) t->api = 2;
  else if (strncmp(s, "api/v0.3/", 9) == 0) t->api = 3;
  else return 0;
  t->rest = s + 9;
  return 1;
}

/* /api/v0.X/R, /e/<ds>/api/v0.X/R, /s3_uri/<locator>/api/v0.X/R. The locator may arrive encoded twice. */
static int parse_target(const char *path, target *t) {
  memset(t, 0, sizeof *t);
  if (path[0] != '/') return 0;
  const char *s = path + 1, *after;
  if (strncmp(s, "e/", 2) == 0 && copy_segment(s + 2, t->ds, sizeof t->ds, &after)) return parse_api(after, t);
  if (strncmp(s, "s3_uri/", 7) == 0 && copy_segment(s + 7, t->locator, sizeof t->locator, &after)) {
    char once[256];
    if (strchr(t->locator, '%') && cg_http_form_decode(t->locator, strlen(t->locator), once, sizeof once) >= 0)
      snprintf(t->locator, sizeof t->locator, "%s", once);
    return parse_api(after, t);
  }
  return parse_api(s, t);
}

static const cg__xroute *find_route(const char *name, int api) {
  for (int i = 0; i < NROUTES; i++)
    if (strcmp(routes[i].name, name) == 0 && (!routes[i].v3_only || api == 3) && routes[i].native == (api == 1))
      return &routes[i];
  return NULL;
}

static void allow_header(const cg__xroute *r, cg_http_resp *p) {
  p->allow = r->get ? (r->put ? "GET, HEAD, PUT" : r->post ? "GET, HEAD, POST" : "GET, HEAD")
                    : (r->put ? "PUT" : "POST");
}

/* Accept: binary routes need application/octet-stream; JSON routes application/json (genesets: or text/csv). */
static int negotiate(cg__xq *q, cg_http_req *req) {
  const char *acc = cg_http_req_header(req, "Accept");
  size_t n = acc ? strlen(acc) : 0;
  if (q->route->binary && strcmp(q->method, "PUT") == 0 && q->route->put == cg__x_not_implemented)
    return 1; /* PUT annotations/obs answers JSON whatever the client accepts (cellxgene's sends no Accept) */
  if (q->route->binary) return cg_http_accepts(acc, n, OCTET);
  int csv_ok = strcmp(q->route->name, "genesets") == 0 || q->route->native;
  if (csv_ok && acc && strstr(acc, "text/csv") && cg_http_accepts(acc, n, "text/csv") &&
      !(strstr(acc, "application/json") && cg_http_accepts(acc, n, "application/json"))) {
    q->csv = 1;
    return 1;
  }
  return cg_http_accepts(acc, n, "application/json");
}

/* /api/v1/datasets/<id>/...: <id> is a dataset name (multi mode), the file name (single mode) or a content id. */
static int resolve_native(cg_explorer *x, const target *t, cg__xq *q, cg_err *err) {
  const char *single = cg__xds_single_name(x->ds);
  if (single && strcmp(t->ds, single) == 0) return cg__xds_get(x->ds, "", &q->b, err);
  if (!single && cg__xds_get(x->ds, t->ds, &q->b, err) == 0) return 0;
  char name[256];
  if (cg__xds_get_by_id(x->ds, t->ds, &q->b, name, sizeof name, err) != 0)
    return cg_err_set(err, CG_ENOTFOUND, "unknown dataset '%s'", t->ds);
  q->content_addressed = 1;
  return 0;
}

static int resolve_bundle(cg_explorer *x, const target *t, cg__xq *q, cg_err *err) {
  if (t->locator[0]) {
    q->content_addressed = 1;
    return cg__xds_get_by_id(x->ds, t->locator, &q->b, q->ds, sizeof q->ds, err);
  }
  snprintf(q->ds, sizeof q->ds, "%s", t->ds);
  if (t->api == 1) return resolve_native(x, t, q, err);
  if (cg__xds_multi(x->ds) && !t->ds[0]) return cg_err_set(err, CG_ENOTFOUND, "use /e/<dataset-id>/api/...");
  return cg__xds_get(x->ds, t->ds, &q->b, err);
}

static int media_is(const char *v, const char *type) {
  size_t n = strlen(type);
  while (v && (*v == ' ' || *v == '\t')) v++;
  return v && strncasecmp(v, type, n) == 0 && (v[n] == 0 || v[n] == ';' || v[n] == ' ');
}

/* Request-body rules of a route (411, 415, 413 for a JSON body over its limit) and the If-None-Match copy that
 * canon routes use on the worker: 0 = go on, 1 = p is filled. Connection thread. */
static int check_body(cg__xq *q, cg_http_req *req, cg_http_resp *p) {
  const char *ct = cg_http_req_header(req, "Content-Type");
  if (q->route->body_type && !cg_http_req_header(req, "Content-Length"))
    return error_resp(p, 411, "Content-Length required"), 1;
  if (q->route->body_type && !media_is(ct, q->route->body_type))
    return error_resp(p, 415, "the body must be application/octet-stream (a diffex PDU)"), 1;
  if (q->route->native && !media_is(ct, OCTET) && q->blen > V1_JSON_LIMIT)
    return error_resp(p, 413, "JSON body over 16 MiB: send large cell sets as a diffex PDU "
                              "(application/octet-stream)"), 1;
  q->body_octet = media_is(ct, OCTET);
  const char *inm = cg_http_req_header(req, "If-None-Match");
  if (q->route->canon && inm && !(q->inm = cg_strdup(inm))) return error_resp(p, 503, "out of memory"), 1;
  return 0;
}

/* Everything before the work: 0 = go on; otherwise the response is filled. */
static int prepare(cg_explorer *x, cg_http_req *req, cg__xq *q, cg_http_resp *p) {
  target t;
  cg_err err = {0};
  if (!parse_target(cg_http_req_path(req), &t)) return error_resp(p, 404, "no such route"), 1;
  q->route = find_route(t.rest, t.api);
  if (!q->route) return error_resp(p, 404, "no such route"), 1;
  p->route = (int)(q->route - routes);
  q->x = x, q->api = t.api, q->method = cg_http_req_method(req);
  if (!route_fn(q->route, q->method)) {
    error_resp(p, 405, "method not allowed");
    return allow_header(q->route, p), 1;
  }
  int rc = resolve_bundle(x, &t, q, &err);
  if (rc) return error_code(p, rc, &err), 1;
  if (!negotiate(q, req)) return error_resp(p, 406, q->route->binary ? "this route answers application/octet-stream only" : "this route answers application/json only"), 1;
  q->qs = cg_http_req_query(req), q->qlen = cg_http_req_query_len(req);
  q->body = cg_http_req_body(req, &q->blen);
  if (check_body(q, req, p)) return 1;
  const char *ae = cg_http_req_header(req, "Accept-Encoding");
  q->enc = cg_http_pick_encoding(ae, ae ? strlen(ae) : 0);
  return 0;
}

/* 304 or a cached body; non-zero when the response is complete. */
static int answer_from_cache(cg__xq *q, const char *inm, cg_http_resp *p) {
  make_etag(q);
  snprintf(q->key, sizeof q->key, "%s-%s", q->etag, cg_http_enc_suffix(q->enc));
  p->cache_control = cache_control(q), p->vary = VARY;
  if (inm && cg_http_etag_match(inm, strlen(inm), q->etag)) {
    p->status = 304, p->note = "304";
    snprintf(p->etag, sizeof p->etag, "%s", q->etag);
    return 1;
  }
  cg_http_blob *b = cg_http_cache_get(q->x->cache, q->key);
  if (!b) return 0;
  serve_blob(q, p, b, "hit");
  return 2;
}

/* Annotation routes; a request that turns out to be pure dataset data continues down the cached pipeline. */
static int on_annot_job(void *arg, cg_http_req *req, cg_http_resp *p) {
  cg__xq *q = arg;
  if (cg__x_annot_run(q, p)) return 0;
  if (answer_from_cache(q, q->inm, p)) return 0;
  return on_job(q, req, p);
}

/* User annotations: off the cached pipeline, on the pool (database I/O). */
static int handle_annot(cg__xq *q, cg_http_req *req, cg_http_resp *p) {
  const char *im = cg_http_req_header(req, "If-Match"), *inm = cg_http_req_header(req, "If-None-Match");
  if ((im && !(q->if_match = cg_strdup(im))) || (inm && !q->inm && !(q->inm = cg_strdup(inm))))
    return error_resp(p, 503, "out of memory"), xq_free(q), 0;
  q->req = req, q->deadline = cg_http_now() + q->x->o.queue_timeout_ms / 1e3;
  if (cg_http_defer(req, on_annot_job, q, xq_free) == 0) return CG_HTTP_DEFERRED;
  error_resp(p, 503, "server busy: the worker pool does not accept work");
  p->retry_after = 1;
  return xq_free(q), 0;
}

/* Like finish_ok, but never cached: user annotation responses are `no-store`, their ETag is set by the caller. */
void cg__x_body_resp(cg__xq *q, cg__xout *o, cg_http_resp *p) {
  cg_http_enc enc;
  cg_http_blob *b = encode_body(q, o, &enc);
  if (!b) return error_resp(p, 503, "out of memory");
  set_body(p, b);
  p->status = 200, p->content_type = o->ctype, p->content_encoding = cg_http_enc_name(enc);
  p->cache_control = "no-store", p->vary = VARY, p->note = "annotations", p->etag[0] = 0;
}

static int handle_api(cg_explorer *x, cg_http_req *req, cg_http_resp *p) {
  cg__xq *q = cg_calloc(1, sizeof *q);
  if (!q) return error_resp(p, 503, "out of memory"), 0;
  if (prepare(x, req, q, p)) return xq_free(q), 0;
  if (x->db && cg__x_annot_wants(q)) return handle_annot(q, req, p);
  if (q->route->cacheable && !q->route->canon) {
    int c = answer_from_cache(q, cg_http_req_header(req, "If-None-Match"), p);
    if (c) return xq_free(q), 0;
  }
  if (!q->route->cost) {
    run_route(q, p);
    return xq_free(q), 0;
  }
  q->req = req, q->deadline = cg_http_now() + q->x->o.queue_timeout_ms / 1e3;
  if (cg_http_defer(req, on_job, q, xq_free) == 0) return CG_HTTP_DEFERRED;
  error_resp(p, 503, "server busy: the worker pool does not accept work");
  p->retry_after = 1;
  return xq_free(q), 0;
}

/* --- /health, /metrics ----------------------------------------------------------------------------------- */

static void health(cg_explorer *x, cg_http_resp *p) {
  json_t *j = json_pack("{s:s,s:s,s:s}", "status", "pass", "version", x->o.version, "mode",
                        cg__xds_multi(x->ds) ? "multi" : "single");
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  set_body(p, s ? cg_http_blob_copy(s, strlen(s)) : NULL);
  free(s);
  json_decref(j);
  p->status = 200, p->content_type = "application/health+json", p->cache_control = "no-store";
  p->route = R_HEALTH;
}

static int render_flight(cg_explorer *x, char **b, size_t *l, size_t *c) {
  cg_http_budget_stats bs;
  cg_http_share_stats ss;
  cg_http_budget_get_stats(x->budget, &bs);
  cg_http_share_get_stats(x->share, &ss);
  return cg_http_metrics_printf(
      b, l, c,
      "# TYPE cellgate_body_budget_bytes gauge\ncellgate_body_budget_bytes %zu\n"
      "# TYPE cellgate_body_bytes gauge\ncellgate_body_bytes %zu\n"
      "# TYPE cellgate_body_bytes_peak gauge\ncellgate_body_bytes_peak %zu\n"
      "# TYPE cellgate_body_waiting gauge\ncellgate_body_waiting %d\n"
      "# TYPE cellgate_body_waits_total counter\ncellgate_body_waits_total %llu\n"
      "# TYPE cellgate_body_busy_total counter\ncellgate_body_busy_total %llu\n"
      "# TYPE cellgate_singleflight_leads_total counter\ncellgate_singleflight_leads_total %llu\n"
      "# TYPE cellgate_singleflight_joins_total counter\ncellgate_singleflight_joins_total %llu\n"
      "# TYPE cellgate_singleflight_shares_total counter\ncellgate_singleflight_shares_total %llu\n"
      "# TYPE cellgate_singleflight_live gauge\ncellgate_singleflight_live %d\n",
      bs.limit, bs.used, bs.peak, bs.waiting, (unsigned long long)bs.waits, (unsigned long long)bs.timeouts,
      (unsigned long long)ss.leads, (unsigned long long)ss.waits, (unsigned long long)ss.hits, ss.live);
}

static int render_gauges(cg_explorer *x, char **b, size_t *l, size_t *c) {
  cg_http_cache_stats cs;
  cg_http_cache_get_stats(x->cache, &cs);
  int rc = render_flight(x, b, l, c);
  if (rc) return rc;
  int open = 0, queued = 0, running = 0;
  uint64_t opens = 0, evictions = 0;
  cg__xds_counts(x->ds, &open, &opens, &evictions);
  if (x->server) cg_http_server_pool_counts(x->server, &queued, &running);
  return cg_http_metrics_printf(
      b, l, c,
      "# TYPE cellgate_cache_hits_total counter\ncellgate_cache_hits_total %llu\n"
      "# TYPE cellgate_cache_misses_total counter\ncellgate_cache_misses_total %llu\n"
      "# TYPE cellgate_cache_evictions_total counter\ncellgate_cache_evictions_total %llu\n"
      "# TYPE cellgate_cache_bytes gauge\ncellgate_cache_bytes %zu\n"
      "# TYPE cellgate_cache_capacity_bytes gauge\ncellgate_cache_capacity_bytes %zu\n"
      "# TYPE cellgate_cache_entries gauge\ncellgate_cache_entries %zu\n"
      "# TYPE cellgate_bundles_open gauge\ncellgate_bundles_open %d\n"
      "# TYPE cellgate_bundle_opens_total counter\ncellgate_bundle_opens_total %llu\n"
      "# TYPE cellgate_bundle_evictions_total counter\ncellgate_bundle_evictions_total %llu\n"
      "# TYPE cellgate_pool_queued gauge\ncellgate_pool_queued %d\n"
      "# TYPE cellgate_pool_running gauge\ncellgate_pool_running %d\n",
      (unsigned long long)cs.hits, (unsigned long long)cs.misses, (unsigned long long)cs.evictions, cs.bytes,
      cs.capacity, cs.entries, open, (unsigned long long)opens, (unsigned long long)evictions, queued, running);
}

static void metrics(cg_explorer *x, cg_http_resp *p) {
  char *b = NULL;
  size_t l = 0, c = 0;
  int rc = cg_http_metrics_render(x->metrics, &b, &l, &c);
  if (!rc) rc = render_gauges(x, &b, &l, &c);
  if (rc) {
    cg_free(b);
    return error_resp(p, 503, "out of memory");
  }
  set_body(p, cg_http_blob_take(b, l));
  p->status = 200, p->content_type = "text/plain; version=0.0.4", p->cache_control = "no-store";
  p->route = R_METRICS;
}

/* --- the HTTP handler ------------------------------------------------------------------------------------ */

/* --- the web client -------------------------------------------------------------------------------------- */

/* "/" and "/<file>" in single mode, "/e/<id>/" and "/e/<id>/<file>" in multi mode ("/e/<id>" redirects there,
 * because the client finds the API relative to its page). Returns 1 when p was filled. */
static int web_client(cg_explorer *x, cg_http_req *req, const char *path, cg_http_resp *p) {
  const char *rel = NULL;
  if (!cg__xds_multi(x->ds)) {
    if (path[0] == '/' && !strchr(path + 1, '/')) rel = path + 1;
  } else if (strncmp(path, "/e/", 3) == 0 && path[3]) {
    const char *slash = strchr(path + 3, '/');
    if (!slash && strlen(path) + 2 <= sizeof p->location) {
      snprintf(p->location, sizeof p->location, "%s/", path);
      p->status = 301, p->cache_control = "no-cache", p->route = R_STATIC;
      return 1;
    }
    if (slash && !strchr(slash + 1, '/')) rel = slash + 1;
  }
  if (!rel || !cg__xstatic_serve(x->web, req, rel, p)) return 0;
  p->route = R_STATIC;
  return 1;
}

/* --- GET /api/v1/datasets (opening every bundle of a directory is I/O: on the pool) ------------------------- */

static int on_list_job(void *arg, cg_http_req *req, cg_http_resp *p) {
  cg_explorer *x = arg;
  cg__xout o = {0};
  cg_err err = {0};
  int rc = cg__x_v1_datasets(x->ds, &o, &err);
  if (rc) return error_code(p, rc, &err), 0;
  cg_http_blob *b = cg_http_blob_take(o.buf, o.len);
  if (!b) return error_resp(p, 503, "out of memory"), 0;
  set_body(p, b);
  p->status = 200, p->content_type = "application/json", p->cache_control = "no-store";
  return 0;
}

static int datasets(cg_explorer *x, cg_http_req *req, cg_http_resp *p, int get) {
  const char *acc = cg_http_req_header(req, "Accept");
  p->route = R_V1_DATASETS;
  if (!get) return error_resp(p, 405, "method not allowed"), p->allow = "GET, HEAD", 0;
  if (!cg_http_accepts(acc, acc ? strlen(acc) : 0, "application/json"))
    return error_resp(p, 406, "this route answers application/json only"), 0;
  if (cg_http_defer(req, on_list_job, x, NULL) == 0) return CG_HTTP_DEFERRED;
  error_resp(p, 503, "server busy: the worker pool does not accept work");
  p->retry_after = 1;
  return 0;
}

static int on_request(void *ctx, cg_http_req *req, cg_http_resp *p) {
  cg_explorer *x = ctx;
  const char *path = cg_http_req_path(req), *m = cg_http_req_method(req);
  int get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
  p->route = R_UNROUTED;
  if (strcmp(path, "/health") == 0 || strcmp(path, "/metrics") == 0) {
    if (!get) {
      error_resp(p, 405, "method not allowed");
      p->allow = "GET, HEAD";
      return 0;
    }
    return path[1] == 'h' ? health(x, p) : metrics(x, p), 0;
  }
  if (strcmp(path, "/api/v1/datasets") == 0) return datasets(x, req, p, get);
  if (get && web_client(x, req, path, p)) return 0;
  return handle_api(x, req, p);
}

static size_t body_limit(void *ctx, const char *method, const char *path) {
  if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) return 0;
  if (strstr(path, "/summarize/var")) return SUMMARIZE_BODY_LIMIT;
  if (strstr(path, "/diffexp/obs2")) return PDU_BODY_LIMIT;
  if (strstr(path, "/annotations/obs")) return PDU_BODY_LIMIT; /* PUT: deflated label columns of every cell */
  if (strncmp(path, "/api/v1/", 8) == 0) return PDU_BODY_LIMIT; /* diffexp: a PDU; JSON is held to 16 MiB */
  return SMALL_BODY_LIMIT;
}

static void on_observe(void *ctx, int route, int status, double seconds) {
  cg_explorer *x = ctx;
  cg_http_metrics_observe(x->metrics, route, status, seconds);
}

void cg_explorer_http_opts(cg_explorer *x, cg_http_opts *o) {
  o->on_request = on_request, o->ctx = x, o->body_limit = body_limit, o->on_observe = on_observe;
}
