/* http_pool.h — a small fixed pool of worker threads for the work HTTP threads must not do (summaries,
 * differential expression): a connection thread submits a job and suspends its connection; the worker runs
 * the job and resumes the connection (http.c does both ends).
 *
 * Design notes
 *  1. FIFO queue of jobs, one mutex + one condition variable. Workers sleep on the condition when idle.
 *  2. A job runs exactly once, on one worker, with no lock held. It owns its argument until it returns.
 *  3. cg_http_pool_stop stops accepting jobs, lets the workers finish every queued job, then joins them:
 *     nothing submitted is ever dropped (a suspended connection would otherwise hang).
 *  4. queued/running counts are readable at any time (for /metrics).
 *
 *     conn thread ──submit──> [queue] ──worker──> job(arg) ──> resume connection
 */
#ifndef CG_HTTP_HTTP_POOL_H
#define CG_HTTP_HTTP_POOL_H

typedef struct cg_http_pool cg_http_pool;

/* n threads (1..64). NULL on failure. */
cg_http_pool *cg_http_pool_create(int n);
/* Queues fn(arg). 0, or CG_ENOMEM / CG_EINVAL (pool stopping); then fn is not called. Any thread. */
int cg_http_pool_submit(cg_http_pool *p, void (*fn)(void *arg), void *arg);
void cg_http_pool_counts(cg_http_pool *p, int *queued, int *running);
int cg_http_pool_size(const cg_http_pool *p);
/* Stops accepting jobs, runs the queued ones, joins the workers; the pool stays valid (submit then fails
 * with CG_EINVAL) until cg_http_pool_free. Call from one thread. */
void cg_http_pool_stop(cg_http_pool *p);
void cg_http_pool_free(cg_http_pool *p); /* stops if needed, then frees; NULL-safe */

#endif
