/* http.h — the HTTP server: libmicrohttpd underneath, one request handler on top, a worker pool for long work.
 *
 * Design notes (request lifecycle; MHD calls on_access several times per request)
 *
 *   accept ─> uri_log: req created (raw URI kept: MHD does not expose the query string as sent)
 *     call 1 (headers) : body limit decided (opts.body_limit); Content-Length over it → 413 queued at once
 *                        (MHD then closes the connection, which is what we want for an oversized upload)
 *     call 2..k (body) : bytes appended to req->body (over the limit → flagged, later 413)
 *     call k+1 (final) : handler runs on the connection thread  ──> response queued (never on call 1:
 *                        MHD closes the connection when a response is queued on the first call — measured)
 *                        or handler calls cg_http_defer ──> connection suspended, job queued on the pool
 *     worker           : job(arg, req, resp) fills resp, then MHD_resume_connection; or the job returns
 *                        CG_HTTP_DEFERRED and some thread calls cg_http_complete(req) later (a request
 *                        waiting for another one's body, http_share.h)
 *     call k+2         : the deferred response is queued
 *     completed        : access line + observe callback (route, status, server seconds), req freed
 *
 *  1. A req belongs to its connection thread, except between cg_http_defer and the resume, when it belongs to
 *     the job, then to whoever will call cg_http_complete (the connection is suspended, so MHD does not touch
 *     it). Header lookups (cg_http_req_header)
 *     are allowed only on the connection thread: jobs get what they need from their arg.
 *  2. Threads: MHD_USE_EPOLL with an internal thread pool of opts.threads; opts.workers pool threads.
 *     Handlers run concurrently on all connection threads: they must be thread-safe.
 *  3. cg_http_server_stop quiesces the listener, drains the pool (every suspended connection is resumed)
 *     and then stops MHD.
 *
 * Responses: the handler fills a cg_http_resp; the server owns the body reference afterwards (released when
 * MHD has sent it). Errors: functions return 0 or a negative cg_errcode with details in cg_err.
 */
#ifndef CG_HTTP_HTTP_H
#define CG_HTTP_HTTP_H

#include <stddef.h>

#include "base/err.h"
#include "http/http_cache.h"

typedef struct cg_http_server cg_http_server;
typedef struct cg_http_req cg_http_req;

#define CG_HTTP_ETAG_MAX 64

typedef struct cg_http_resp {
  int status;                   /* HTTP status; 0 is treated as 500 */
  const char *content_type;     /* static string, NULL = none */
  cg_http_blob *body;           /* one reference, taken by the server; NULL = empty body */
  const char *content_encoding; /* static "gzip"/"zstd", NULL = identity */
  const char *cache_control;    /* static, NULL = none */
  const char *vary;             /* static, NULL = none */
  const char *allow;            /* static; for 405 */
  char etag[CG_HTTP_ETAG_MAX];  /* opaque part without quotes, "" = none */
  int route;                    /* metrics route id, -1 = none */
  const char *note;             /* static word for the access log ("hit", "miss", ...), may be NULL */
  int retry_after;              /* seconds for a Retry-After header (503), 0 = none */
  char location[256];           /* Location header (redirects), "" = none */
} cg_http_resp;

/* Returned by a handler that called cg_http_defer. */
#define CG_HTTP_DEFERRED 1

/* The handler: fills resp and returns 0, or calls cg_http_defer and returns CG_HTTP_DEFERRED. */
typedef int (*cg_http_handler_fn)(void *ctx, cg_http_req *req, cg_http_resp *resp);
/* A deferred job: runs on a pool thread and fills resp, returning 0; then free_arg(arg) is called (may be NULL)
 * and the response is sent. Or it returns CG_HTTP_DEFERRED: the request stays suspended until some thread
 * fills resp and calls cg_http_complete(req), which calls free_arg(arg) and sends it. */
typedef int (*cg_http_job_fn)(void *arg, cg_http_req *req, cg_http_resp *resp);

typedef struct cg_http_opts {
  const char *host; /* bind address (IPv4 literal), NULL/"" = 127.0.0.1 */
  int port;         /* 0 = any free port (cg_http_server_port tells which) */
  int threads;      /* connection threads, default 2 */
  int workers;      /* pool threads, default 2 */
  cg_http_handler_fn on_request;
  void *ctx;
  /* Largest request body for method+path (0 = none allowed); NULL = 1 MiB for all. */
  size_t (*body_limit)(void *ctx, const char *method, const char *path);
  /* Finished request: route id from resp, status, server seconds. May be NULL. Any connection thread. */
  void (*on_observe)(void *ctx, int route, int status, double seconds);
  /* One access-log line (no newline). May be NULL. Any connection thread. */
  void (*on_access)(void *ctx, const char *line);
} cg_http_opts;

int cg_http_server_start(const cg_http_opts *opts, cg_http_server **out, cg_err *err);
int cg_http_server_port(const cg_http_server *s);
void cg_http_server_stop(cg_http_server *s); /* NULL-safe; see note 3 */
void cg_http_server_pool_counts(cg_http_server *s, int *queued, int *running);

/* --- request accessors (connection thread, or the job while deferred, except header) --- */
const char *cg_http_req_method(const cg_http_req *r);
const char *cg_http_req_path(const cg_http_req *r);  /* raw path, no query; NUL-terminated */
const char *cg_http_req_query(const cg_http_req *r); /* raw query without '?', "" when none */
size_t cg_http_req_query_len(const cg_http_req *r);
const char *cg_http_req_body(const cg_http_req *r, size_t *len); /* never NULL ("" when empty) */
/* A header's value or NULL. Connection thread only (note 1). */
const char *cg_http_req_header(cg_http_req *r, const char *name);

/* Runs fn(arg, req, resp) on the pool; the handler must then return CG_HTTP_DEFERRED. 0 or CG_ENOMEM/CG_EINVAL
 * (then nothing was queued and the handler answers itself; free_arg has not been called). */
int cg_http_defer(cg_http_req *r, cg_http_job_fn fn, void *arg, void (*free_arg)(void *));
/* Finishes a request whose job returned CG_HTTP_DEFERRED (see cg_http_job_fn). Any thread, exactly once. */
void cg_http_complete(cg_http_req *r);
/* The request's response, for whoever completes it. */
cg_http_resp *cg_http_req_resp(cg_http_req *r);

#endif
