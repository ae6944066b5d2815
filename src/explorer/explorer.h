/* explorer.h — the cellxgene-compatible Explorer data API over immutable bundles (routes in docs/API.md).
 *
 * One process serves either one bundle at /api/v0.2/... and /api/v0.3/... (like `cellxgene launch`) or every
 * bundle of a directory at /e/<dataset-id>/api/... (dataset-id = file name without .cgb). Both modes also
 * answer /s3_uri/<bundle-id>/api/... (content-addressed; what the v0.3 client uses after GET .../s3_uri),
 * /health and /metrics.
 *
 * Caching (design notes)
 *  1. Every data response is a pure function of (bundle content id, API version, route, method, canonical query,
 *     body, representation): its strong ETag is the XXH3-128 of exactly those, computed before any work, so
 *     If-None-Match → 304 costs a hash.
 *  2. URLs that name the content (/s3_uri/<bundle-id>/...) are `public, max-age=31536000, immutable`. URLs that
 *     name a dataset (/api/..., /e/<name>/...) are `public, no-cache`: the file behind a name can be replaced
 *     (or another dataset launched on the same port), so browsers must revalidate — cheaply, by ETag → 304.
 *  3. Encoded bodies (identity, gzip, zstd) of those responses live in a byte-bounded LRU (http_cache.h) under
 *     "<etag>-<encoding>", shared by reference between concurrent responses.
 *
 * Memory under load (design notes)
 *  4. Single-flight (http_share.h): routes that build big bodies (binary routes, summarize, diffexp) run on the
 *     worker pool, where a miss joins the table under the same key: the first request builds, identical requests
 *     arriving meanwhile wait for its response, and later ones share its body for as long as anything (the
 *     cache, a response being sent) still holds it. N identical requests cost one body.
 *  5. Body budget (http_budget.h, opts.body_bytes): bodies being built (an estimate from the request and the
 *     bundle's shapes, cg__xcost) and every built body still alive — cached, being sent, or both — count against
 *     one byte budget. A build that does not fit first evicts cold cache entries, then waits in FIFO order up to
 *     opts.queue_timeout_ms from the request's arrival, then answers 503 + Retry-After: 1 (JSON error). A body
 *     bigger than the whole budget runs alone. So anonymous memory ≈ baseline + body_bytes, whatever the load.
 *
 * Threads: cg_explorer_* handlers run on the HTTP connection threads; routes marked heavy (summarize/var,
 * diffexp) run on the HTTP worker pool (http.h). Bundles are immutable and ref-counted; the dataset registry
 * and the caches have their own locks (explorer_ds.c, http_cache.c). Errors: 0 or a negative cg_errcode + err.
 */
#ifndef CG_EXPLORER_EXPLORER_H
#define CG_EXPLORER_EXPLORER_H

#include <stddef.h>

#include "base/err.h"
#include "http/http.h"

typedef struct cg_explorer cg_explorer;

#define CG_EXPLORER_QUEUE_TIMEOUT_MS 20000

typedef struct cg_explorer_opts {
  const char *bundle;       /* single-dataset mode: a .cgb path (exactly one of bundle / data_dir) */
  const char *data_dir;     /* multi-dataset mode: directory of <id>.cgb files */
  const char *display_name; /* single mode: dataset name shown by config (default: file name) */
  int max_open;             /* multi mode: bundles kept open (LRU), default 8 */
  size_t cache_bytes;       /* response-body cache (clamped to body_bytes); 0 disables */
  size_t body_bytes;        /* budget of response bodies in memory: cache + in flight + being built; 0 = none */
  int queue_timeout_ms;     /* longest wait for the body budget before 503; <= 0 = the default */
  const char *version;      /* engine version shown by config/health */
  const char *web_dir;      /* the built web client (web/dist) served at the dataset root; NULL = none */
  const char *annotations_db; /* user annotations + gene sets database file (SQLite); NULL = annotations off */
} cg_explorer_opts;

/* Opens the bundle (single mode) or checks the directory (multi mode). *out freed with cg_explorer_free. */
int cg_explorer_create(const cg_explorer_opts *o, cg_explorer **out, cg_err *err);
void cg_explorer_free(cg_explorer *x); /* after the server has stopped; NULL-safe */

/* Fills the handler, context, body-limit and observe members of an http option set. */
void cg_explorer_http_opts(cg_explorer *x, cg_http_opts *o);
/* Lets /metrics report the server's worker-pool queue. */
void cg_explorer_attach(cg_explorer *x, cg_http_server *s);

#endif
