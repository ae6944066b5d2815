/* explorer_int.h — shared between the explorer's files (not a public contract). */
#ifndef CG_EXPLORER_EXPLORER_INT_H
#define CG_EXPLORER_EXPLORER_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bundle/bundle.h"
#include "explorer/explorer.h"
#include "http/http_cache.h"
#include "http/http_hdr.h"
#include "http/http_metrics.h"
#include "http/http_share.h"
#include "query/bitset.h"

#define CG_X_COLUMN_MAX 32 /* cellxgene's column_request_max */
#define CG_X_LAYOUT_MAX 30

/* --- dataset registry (explorer_ds.c) --- */
typedef struct cg__xds cg__xds;
int cg__xds_create(const char *bundle, const char *dir, int max_open, cg__xds **out, cg_err *err);
void cg__xds_free(cg__xds *d);
/* A new reference to the bundle of dataset name ("" in single mode); CG_ENOTFOUND when there is none. */
int cg__xds_get(cg__xds *d, const char *name, cg_bundle **out, cg_err *err);
/* The same by content id (the name it was opened under goes to name[cap]). */
int cg__xds_get_by_id(cg__xds *d, const char *id, cg_bundle **out, char *name, size_t cap, cg_err *err);
int cg__xds_multi(const cg__xds *d);
/* Calls fn(ctx, name, bundle) for every served dataset: the one bundle in single mode (its file name), every
 * DIR/<id>.cgb that opens in multi mode (through the LRU, in name order; files that fail to open are skipped).
 * Stops at fn's first non-zero return and returns it; CG_EIO when the directory cannot be read. */
int cg__xds_each(cg__xds *d, int (*fn)(void *ctx, const char *name, const cg_bundle *b), void *ctx, cg_err *err);
void cg__xds_counts(cg__xds *d, int *open, uint64_t *opens, uint64_t *evictions);
/* Single mode: the file's base name; multi mode: NULL. */
const char *cg__xds_single_name(const cg__xds *d);

/* --- one routed API request --- */
typedef struct cg__xq {
  cg_explorer *x;
  const struct cg__xroute *route;
  cg_bundle *b; /* one reference */
  char ds[256]; /* dataset name as addressed ("" single mode) */
  int api;      /* 2 or 3; 1 for the native /api/v1 routes */
  int content_addressed;
  int csv;      /* genesets, v1 diffexp: text/csv */
  const char *method;
  const char *qs; /* raw query */
  size_t qlen;
  const char *body;
  size_t blen;
  cg_http_enc enc;
  char etag[CG_HTTP_ETAG_MAX];
  /* budgeted routes (explorer.c): */
  cg_http_req *req;
  double deadline;                /* monotonic seconds: give up waiting for the budget then (503) */
  size_t reserved;                /* budget reservation not yet turned into a body's charge */
  char key[CG_HTTP_ETAG_MAX + 8]; /* "<etag>-<encoding>": body cache and single-flight key */
  cg_http_share_waiter waiter;
  /* routes with a canon step (run on the worker before the ETag): */
  int body_octet;         /* the request's Content-Type is application/octet-stream */
  char *inm;              /* If-None-Match as sent (copied on the connection thread), or NULL */
  char canon[160];        /* canonical request text hashed instead of the raw body ("" = hash the body) */
  void *state;            /* what canon parsed, for the build; freed with state_free */
  void (*state_free)(void *);
  char *if_match;         /* annotation routes: If-Match as sent (copied on the connection thread), or NULL */
} cg__xq;

/* What a route produces: a body (cg_malloc'd, taken) and its type. */
typedef struct cg__xout {
  uint8_t *buf;
  size_t len;
  const char *ctype;
} cg__xout;

typedef int (*cg__xroute_fn)(cg__xq *q, cg__xout *o, cg_err *err);

/* What a build will hold at its peak, estimated before any work from the request and the bundle's shapes:
 * `out` = the uncompressed body, `temps` = what is alive beside it (JSON texts, lossy inputs). An estimate, not
 * a bound (JSON escapes can make texts longer); a request that does not parse costs ~0 and fails fast. */
typedef struct cg__xcost {
  size_t out, temps;
} cg__xcost;
typedef cg__xcost (*cg__xcost_fn)(const cg__xq *q);
/* Parses and checks the request on a worker thread, keeps the result in q->state and writes the canonical
 * request (what identical requests share whatever their bytes) into q->canon. 0 or a negative code + err. */
typedef int (*cg__xcanon_fn)(cg__xq *q, cg_err *err);

typedef struct cg__xroute {
  const char *name;   /* path after /api/v0.X/ */
  int binary;         /* FlatBuffers: Accept must admit application/octet-stream */
  int v3_only;
  int cacheable;      /* pure function of bundle + request: ETag, 304, body cache */
  cg__xroute_fn get, put, post;
  cg__xcost_fn cost;  /* non-NULL: big bodies or long work — worker pool, body budget, single-flight */
  int native;         /* 1: /api/v1/datasets/<id>/<name> only; 0: /api/v0.x/<name> only */
  cg__xcanon_fn canon; /* non-NULL: parse + canonical key on the worker (needs cost), before ETag and cache */
  const char *body_type; /* non-NULL: required request Content-Type (415) and Content-Length (411) */
} cg__xroute;

/* --- route handlers --- */
int cg__x_config(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_schema(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_colors(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_genesets(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_s3_uri(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_annotations_obs(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_annotations_var(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_data_var(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_layout_obs(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_summarize_var(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_diffexp_obs(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_diffexp_obs2(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_not_implemented(cg__xq *q, cg__xout *o, cg_err *err);
/* Native API (explorer_v1.c). */
int cg__x_v1_diffexp(cg__xq *q, cg__xout *o, cg_err *err);
int cg__x_v1_datasets(cg__xds *d, cg__xout *o, cg_err *err); /* the list as JSON (not a bundle route) */
cg__xcost cg__x_annotations_obs_cost(const cg__xq *q);
cg__xcost cg__x_annotations_var_cost(const cg__xq *q);
cg__xcost cg__x_data_var_cost(const cg__xq *q);
cg__xcost cg__x_layout_obs_cost(const cg__xq *q);
cg__xcost cg__x_summarize_var_cost(const cg__xq *q);
cg__xcost cg__x_diffexp_obs_cost(const cg__xq *q);
cg__xcost cg__x_diffexp_obs2_cost(const cg__xq *q);
cg__xcost cg__x_v1_diffexp_cost(const cg__xq *q);
int cg__x_diffexp_obs2_canon(cg__xq *q, cg_err *err);
int cg__x_v1_diffexp_canon(cg__xq *q, cg_err *err);
/* Canonical text of a cell set for q->canon: count + XXH3-128 of its words (explorer_de.c). */
void cg__x_set_digest(const cg_bitset *s, char out[64]);
/* 0, or CG_EINVAL naming the empty set or the overlap (n2 < 0: set 2 is the rest, not checked here). */
int cg__x_check_sets(int64_t n1, int64_t n2, int64_t overlap, cg_err *err);

/* Helpers shared by the handlers (explorer_json.c). */
const char *cg__x_version(const cg__xq *q);
/* Name shown for the dataset: bundle title, --title, the dataset id or the file name. */
const char *cg__x_dataset_name(const cg__xq *q);
/* Layout name of an embedding ("X_umap" → "umap"), or NULL when it is not a layout (no "X_" prefix). */
const char *cg__x_layout_name(const cg_bundle_embedding *e);
/* Query parameter values: calls fn(ctx, decoded value) for every pair whose key is name; stops on non-zero. */
int cg__x_query_each(const char *qs, size_t len, const char *name, int (*fn)(void *ctx, const char *v),
                     void *ctx);
/* The first value of name, decoded into buf; 1 found, 0 absent, CG_EINVAL too long. */
int cg__x_query_get(const char *qs, size_t len, const char *name, char *buf, size_t cap);
/* v0.3 nbins parameter: 0 when absent (or v0.2), else 1..32767; CG_EINVAL when malformed. */
int cg__x_nbins(const cg__xq *q, int32_t *nbins, cg_err *err);
int cg__x_json_out(json_t *j, cg__xout *o, cg_err *err); /* takes j */

/* --- user annotations (explorer_annot.c; design in docs/ARCHITECTURE.md "Annotations") --- */
struct cg_labels;
struct cg_db;
/* The annotation store, NULL when annotations are off. */
struct cg_db *cg__x_db(const cg__xq *q);
/* 1 when q (routed, bundle resolved) is served by explorer_annot.c instead of the cached pipeline: schema,
 * genesets, PUT annotations/obs, and GET annotations/obs asking for all columns or for a user column.
 * Connection thread; never touches the database. */
int cg__x_annot_wants(const cg__xq *q);
/* Serves such a request (pool thread): 1 = p is complete, never from or into the body cache; 0 = the request
 * turned out to be pure dataset data (all obs columns and no label columns saved): the caller serves it through
 * the cached pipeline as if annotations were off. */
int cg__x_annot_run(cg__xq *q, cg_http_resp *p);
/* The schema as JSON (taken by the caller); user label columns are appended by explorer_annot.c. */
json_t *cg__x_schema_json(const cg__xq *q);
/* annotations/obs with the user's label columns available by name and part of "all columns". */
int cg__x_annotations_obs_user(cg__xq *q, const struct cg_labels *user, cg__xout *o, cg_err *err);
/* A JSON error body {"status":"error","code":status,"message":msg} into p (no-store). */
void cg__x_error_resp(cg_http_resp *p, int status, const char *msg);
/* Encodes o's body for the client (compression per q->enc) into p as a 200 with content type o->ctype. */
void cg__x_body_resp(cg__xq *q, cg__xout *o, cg_http_resp *p);

#endif
