/* http_metrics.c — counters and histograms (contract in http_metrics.h). */
#include "http/http_metrics.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "base/mem.h"

#define MAX_ROUTES 65 /* + "other" */
#define NBUCKETS 15

static const double bucket_le[NBUCKETS] = {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,     0.25,   0.5,   1,      2.5,   5,    10};
static const char *const status_class[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

typedef struct series {
  uint64_t by_class[5];
  uint64_t buckets[NBUCKETS + 1]; /* last = +Inf */
  uint64_t sum_us;
} series;

struct cg_http_metrics {
  const char *const *routes;
  int n;
  series s[MAX_ROUTES];
};

cg_http_metrics *cg_http_metrics_create(const char *const *routes, int n) {
  if (n < 0 || n >= MAX_ROUTES) return NULL;
  cg_http_metrics *m = cg_calloc(1, sizeof *m);
  if (!m) return NULL;
  m->routes = routes, m->n = n;
  return m;
}

void cg_http_metrics_free(cg_http_metrics *m) { cg_free(m); }

void cg_http_metrics_observe(cg_http_metrics *m, int route, int status, double seconds) {
  series *s = &m->s[route >= 0 && route < m->n ? route : m->n];
  int cls = status / 100 - 1;
  if (cls < 0 || cls > 4) cls = 4;
  __atomic_add_fetch(&s->by_class[cls], 1, __ATOMIC_RELAXED);
  int b = 0;
  while (b < NBUCKETS && seconds > bucket_le[b]) b++;
  __atomic_add_fetch(&s->buckets[b], 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&s->sum_us, (uint64_t)(seconds * 1e6), __ATOMIC_RELAXED);
}

int cg_http_metrics_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
  for (int attempt = 0; attempt < 2; attempt++) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return CG_EINVAL;
    if (*buf && *len + (size_t)n < *cap) {
      *len += (size_t)n;
      return 0;
    }
    size_t ncap = (*cap ? *cap * 2 : 4096) + (size_t)n + 1;
    char *nb = cg_realloc(*buf, ncap);
    if (!nb) return CG_ENOMEM;
    *buf = nb, *cap = ncap;
  }
  return CG_ENOMEM;
}

static uint64_t ld(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

static const char *route_name(const cg_http_metrics *m, int r) { return r < m->n ? m->routes[r] : "other"; }

static int render_counts(cg_http_metrics *m, char **b, size_t *l, size_t *c) {
  int rc = cg_http_metrics_printf(b, l, c,
                                  "# HELP cellgate_http_requests_total HTTP requests by route and status class.\n"
                                  "# TYPE cellgate_http_requests_total counter\n");
  for (int r = 0; r <= m->n && !rc; r++)
    for (int k = 0; k < 5 && !rc; k++) {
      uint64_t v = ld(&m->s[r].by_class[k]);
      if (v)
        rc = cg_http_metrics_printf(b, l, c, "cellgate_http_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
                                    route_name(m, r), status_class[k], (unsigned long long)v);
    }
  return rc;
}

static int render_hist(cg_http_metrics *m, int r, char **b, size_t *l, size_t *c) {
  uint64_t cum = 0;
  int rc = 0;
  const char *name = route_name(m, r);
  for (int k = 0; k <= NBUCKETS && !rc; k++) {
    cum += ld(&m->s[r].buckets[k]);
    if (k < NBUCKETS)
      rc = cg_http_metrics_printf(b, l, c, "cellgate_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                                  name, bucket_le[k], (unsigned long long)cum);
    else
      rc = cg_http_metrics_printf(b, l, c, "cellgate_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                                  name, (unsigned long long)cum);
  }
  if (!rc)
    rc = cg_http_metrics_printf(b, l, c,
                                "cellgate_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                                "cellgate_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                                name, (double)ld(&m->s[r].sum_us) * 1e-6, name, (unsigned long long)cum);
  return rc;
}

int cg_http_metrics_render(cg_http_metrics *m, char **b, size_t *l, size_t *c) {
  int rc = render_counts(m, b, l, c);
  if (!rc)
    rc = cg_http_metrics_printf(b, l, c,
                                "# HELP cellgate_http_request_duration_seconds Server time per request (until the "
                                "response is queued).\n# TYPE cellgate_http_request_duration_seconds histogram\n");
  for (int r = 0; r <= m->n && !rc; r++) rc = render_hist(m, r, b, l, c);
  return rc;
}
