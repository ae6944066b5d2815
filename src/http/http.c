/* http.c — libmicrohttpd glue: request lifecycle, body collection, deferral to the pool, response queueing,
 * access log. The lifecycle is drawn in http.h; the states of a request are:
 *
 *   ST_NEW ──handler──> ST_QUEUED
 *      └──cg_http_defer──> ST_RUNNING ──job done + resume──> ST_DONE ──next call──> ST_QUEUED
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "http/http_pool.h"

#define DEFAULT_BODY_LIMIT (1u << 20)
#define MAX_URI_LOG 400

enum { ST_NEW = 0, ST_RUNNING = 1, ST_DONE = 2, ST_QUEUED = 3 };

struct cg_http_server {
  struct MHD_Daemon *d;
  cg_http_opts o;
  cg_http_pool *pool;
  int port;
};

struct cg_http_req {
  cg_http_server *s;
  struct MHD_Connection *conn;
  char *uri;   /* raw request target, owned */
  char *path;  /* into a copy of uri, NUL-terminated at '?' */
  char *query; /* after '?', or "" */
  size_t qlen;
  char method[16];
  char *body;
  size_t blen, bcap, limit;
  int started, too_big, state, status;
  size_t sent;
  double t0, t_queued;
  cg_http_resp resp;
  cg_http_job_fn job;
  void *arg;
  void (*free_arg)(void *);
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --- accessors ------------------------------------------------------------------------------------------ */

const char *cg_http_req_method(const cg_http_req *r) { return r->method; }
const char *cg_http_req_path(const cg_http_req *r) { return r->path; }
const char *cg_http_req_query(const cg_http_req *r) { return r->query; }
size_t cg_http_req_query_len(const cg_http_req *r) { return r->qlen; }

const char *cg_http_req_body(const cg_http_req *r, size_t *len) {
  *len = r->blen;
  return r->body ? r->body : "";
}

const char *cg_http_req_header(cg_http_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* --- request creation and body --------------------------------------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  cg_http_req *r = cg_calloc(1, sizeof *r);
  if (!r) return NULL;
  size_t n = strlen(uri);
  r->s = cls, r->conn = conn, r->t0 = now(), r->resp.route = -1;
  r->uri = cg_malloc(2 * n + 2);
  if (!r->uri) {
    cg_free(r);
    return NULL;
  }
  memcpy(r->uri, uri, n + 1);
  r->path = r->uri + n + 1;
  memcpy(r->path, uri, n + 1);
  char *q = strchr(r->path, '?');
  if (q) *q = 0;
  r->query = q ? q + 1 : r->path + n;
  r->qlen = strlen(r->query);
  return r;
}

static void req_free(cg_http_req *r) {
  if (!r) return;
  cg_http_blob_release(r->resp.body);
  cg_free(r->body);
  cg_free(r->uri);
  cg_free(r);
}

static int append_body(cg_http_req *r, const char *data, size_t n) {
  if (r->too_big || r->blen + n > r->limit) {
    r->too_big = 1;
    return 0;
  }
  if (r->blen + n + 1 > r->bcap) {
    size_t cap = r->bcap ? r->bcap * 2 : 4096;
    while (cap < r->blen + n + 1) cap *= 2;
    char *nb = cg_realloc(r->body, cap);
    if (!nb) return CG_ENOMEM;
    r->body = nb, r->bcap = cap;
  }
  memcpy(r->body + r->blen, data, n);
  r->blen += n;
  r->body[r->blen] = 0;
  return 0;
}

/* --- responses ------------------------------------------------------------------------------------------- */

static void release_blob(void *cls) { cg_http_blob_release(cls); }

static void add_headers(struct MHD_Response *m, const cg_http_resp *p) {
  if (p->content_type) MHD_add_response_header(m, "Content-Type", p->content_type);
  if (p->content_encoding) MHD_add_response_header(m, "Content-Encoding", p->content_encoding);
  if (p->cache_control) MHD_add_response_header(m, "Cache-Control", p->cache_control);
  if (p->vary) MHD_add_response_header(m, "Vary", p->vary);
  if (p->allow) MHD_add_response_header(m, "Allow", p->allow);
  if (p->location[0]) MHD_add_response_header(m, "Location", p->location);
  if (p->retry_after > 0) {
    char ra[16];
    snprintf(ra, sizeof ra, "%d", p->retry_after);
    MHD_add_response_header(m, "Retry-After", ra);
  }
  if (p->etag[0]) {
    char tag[CG_HTTP_ETAG_MAX + 3];
    snprintf(tag, sizeof tag, "\"%s\"", p->etag);
    MHD_add_response_header(m, "ETag", tag);
  }
}

static struct MHD_Response *make_response(cg_http_resp *p) {
  cg_http_blob *b = p->body;
  if (!b || b->len == 0) return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  struct MHD_Response *m =
      MHD_create_response_from_buffer_with_free_callback_cls(b->len, (void *)b->data, release_blob, b);
  if (m) p->body = NULL; /* the response holds the reference now */
  return m;
}

static enum MHD_Result queue(cg_http_req *r) {
  cg_http_resp *p = &r->resp;
  if (p->status < 100 || p->status > 599) p->status = 500;
  r->sent = p->body ? p->body->len : 0;
  struct MHD_Response *m = make_response(p);
  if (!m) return MHD_NO;
  add_headers(m, p);
  r->state = ST_QUEUED, r->status = p->status, r->t_queued = now();
  enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)p->status, m);
  MHD_destroy_response(m);
  return ret;
}

static void simple_error(cg_http_resp *p, int status, const char *msg) {
  char buf[256];
  int n = snprintf(buf, sizeof buf, "{\"status\":\"error\",\"code\":%d,\"message\":\"%s\"}", status, msg);
  cg_http_blob_release(p->body);
  p->body = cg_http_blob_copy(buf, (size_t)n);
  p->status = status, p->content_type = "application/json", p->cache_control = "no-store";
  p->content_encoding = NULL, p->etag[0] = 0;
}

/* --- deferral -------------------------------------------------------------------------------------------- */

void cg_http_complete(cg_http_req *r) {
  if (r->free_arg) r->free_arg(r->arg);
  r->arg = NULL;
  __atomic_store_n(&r->state, ST_DONE, __ATOMIC_RELEASE);
  MHD_resume_connection(r->conn);
}

cg_http_resp *cg_http_req_resp(cg_http_req *r) { return &r->resp; }

static void run_job(void *arg) {
  cg_http_req *r = arg;
  if (r->job(r->arg, r, &r->resp) != CG_HTTP_DEFERRED) cg_http_complete(r);
}

int cg_http_defer(cg_http_req *r, cg_http_job_fn fn, void *arg, void (*free_arg)(void *)) {
  r->job = fn, r->arg = arg, r->free_arg = free_arg;
  r->state = ST_RUNNING;
  MHD_suspend_connection(r->conn);
  int rc = cg_http_pool_submit(r->s->pool, run_job, r);
  if (rc) {
    r->state = ST_NEW, r->job = NULL, r->arg = NULL;
    MHD_resume_connection(r->conn);
  }
  return rc;
}

/* --- the access handler ---------------------------------------------------------------------------------- */

static size_t content_length(struct MHD_Connection *c) {
  const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
  return v ? (size_t)strtoull(v, NULL, 10) : 0;
}

static enum MHD_Result begin(cg_http_req *r, struct MHD_Connection *c, const char *method) {
  r->started = 1, r->conn = c;
  snprintf(r->method, sizeof r->method, "%s", method);
  cg_http_server *s = r->s;
  r->limit = s->o.body_limit ? s->o.body_limit(s->o.ctx, r->method, r->path) : DEFAULT_BODY_LIMIT;
  if (content_length(c) > r->limit) {
    r->too_big = 1;
    simple_error(&r->resp, 413, "request body too large");
    return queue(r); /* MHD closes the connection after this answer: intended for oversized uploads */
  }
  return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload, size_t *upload_size, void **req_cls) {
  cg_http_req *r = *req_cls;
  if (!r) return MHD_NO; /* on_uri ran out of memory */
  if (!r->started) return begin(r, c, method);
  if (*upload_size) {
    int rc = append_body(r, upload, *upload_size);
    *upload_size = 0;
    return rc ? MHD_NO : MHD_YES;
  }
  int st = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
  if (st == ST_DONE) return queue(r);
  if (st != ST_NEW) return MHD_YES;
  if (r->too_big) {
    simple_error(&r->resp, 413, "request body too large");
    return queue(r);
  }
  int rc = r->s->o.on_request(r->s->o.ctx, r, &r->resp);
  if (rc == CG_HTTP_DEFERRED) return MHD_YES;
  return queue(r);
}

static void access_line(cg_http_req *r, enum MHD_RequestTerminationCode toe) {
  cg_http_server *s = r->s;
  double t1 = now();
  double server = (r->t_queued > 0 ? r->t_queued : t1) - r->t0;
  if (s->o.on_observe) s->o.on_observe(s->o.ctx, r->resp.route, r->status, server);
  if (!s->o.on_access) return;
  char line[MAX_URI_LOG + 200];
  const cg_http_resp *p = &r->resp;
  snprintf(line, sizeof line, "%s %.*s%s %d %zu %s %s %.3fms %.3fms%s", r->method, MAX_URI_LOG, r->uri,
           strlen(r->uri) > MAX_URI_LOG ? "..." : "", r->status, r->sent,
           p->content_encoding ? p->content_encoding : "identity", p->note ? p->note : "-", server * 1e3,
           (t1 - r->t0) * 1e3, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
  s->o.on_access(s->o.ctx, line);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe) {
  cg_http_req *r = *req_cls;
  if (!r) return;
  if (r->started) access_line(r, toe);
  req_free(r);
  *req_cls = NULL;
}

/* --- server ---------------------------------------------------------------------------------------------- */

static int parse_addr(const char *host, int port, struct sockaddr_in *sa, cg_err *err) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  if (!host || !*host) host = "127.0.0.1";
  if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
  if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
    return cg_err_set(err, CG_EINVAL, "--host: '%s' is not an IPv4 address", host);
  return 0;
}

int cg_http_server_start(const cg_http_opts *opts, cg_http_server **out, cg_err *err) {
  *out = NULL;
  if (opts->port < 0 || opts->port > 65535) return cg_err_set(err, CG_EINVAL, "port %d out of range", opts->port);
  cg_http_server *s = cg_calloc(1, sizeof *s);
  if (!s) return cg_err_set(err, CG_ENOMEM, "server");
  s->o = *opts;
  if (s->o.threads <= 0) s->o.threads = 2;
  if (s->o.workers <= 0) s->o.workers = 2;
  struct sockaddr_in sa;
  int rc = parse_addr(opts->host, opts->port, &sa, err);
  if (rc) goto fail;
  s->pool = cg_http_pool_create(s->o.workers);
  if (!s->pool) {
    rc = cg_err_set(err, CG_ENOMEM, "worker pool of %d threads", s->o.workers);
    goto fail;
  }
  s->d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_access, s,
                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_THREAD_POOL_SIZE,
                          (unsigned)s->o.threads, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
                          MHD_OPTION_END);
  if (!s->d) {
    rc = cg_err_set(err, CG_EIO, "cannot listen on %s:%d (in use, or not an address of this host)",
                    opts->host && *opts->host ? opts->host : "127.0.0.1", opts->port);
    goto fail;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : opts->port;
  *out = s;
  return 0;
fail:
  cg_http_pool_free(s->pool);
  cg_free(s);
  return rc;
}

int cg_http_server_port(const cg_http_server *s) { return s->port; }

void cg_http_server_pool_counts(cg_http_server *s, int *queued, int *running) {
  cg_http_pool_counts(s->pool, queued, running);
}

void cg_http_server_stop(cg_http_server *s) {
  if (!s) return;
  MHD_quiesce_daemon(s->d);
  cg_http_pool_stop(s->pool); /* drains: every suspended connection gets resumed; later defers fail */
  MHD_stop_daemon(s->d);
  cg_http_pool_free(s->pool);
  cg_free(s);
}
