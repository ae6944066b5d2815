/* http_metrics.h — request counters and latency histograms per route, rendered in the Prometheus text
 * exposition format (version 0.0.4).
 *
 * Routes are fixed when the registry is created (names are borrowed, static). cg_http_metrics_observe is
 * lock-free (relaxed atomic adds) and may be called from any thread; render reads the counters without
 * stopping writers, so a scrape may see a request in the histogram but not yet in the sum (Prometheus
 * tolerates this). Latency buckets are in seconds, from 0.25 ms to 10 s.
 */
#ifndef CG_HTTP_HTTP_METRICS_H
#define CG_HTTP_HTTP_METRICS_H

#include <stddef.h>

#include "base/err.h"

typedef struct cg_http_metrics cg_http_metrics;

/* n route names (n <= 64), borrowed for the registry's lifetime. NULL on ENOMEM. */
cg_http_metrics *cg_http_metrics_create(const char *const *routes, int n);
void cg_http_metrics_free(cg_http_metrics *m); /* NULL-safe */

/* One finished request: route index (out of range → the "other" series), HTTP status, seconds. */
void cg_http_metrics_observe(cg_http_metrics *m, int route, int status, double seconds);

/* Appends the exposition text to a growing buffer: *buf (cg_malloc'd/realloc'd), *len, *cap. The caller may
 * append its own gauges with cg_http_metrics_printf. 0 or CG_ENOMEM. */
int cg_http_metrics_render(cg_http_metrics *m, char **buf, size_t *len, size_t *cap);
int cg_http_metrics_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
