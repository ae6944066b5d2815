/* http_budget.h — one byte budget for response bodies held in memory: the bodies being built (reservations),
 * and the encoded bodies alive afterwards (in the body cache, being sent, or both). It is what keeps the
 * server's anonymous memory bounded under concurrent large requests: a build that would go over the budget
 * waits (bounded) for memory to come back instead of allocating.
 *
 * Design notes
 *  1. used = Σ reservations of builds in progress + Σ charges of alive charged blobs. A reservation is taken
 *     before a build (cg_http_budget_acquire, an estimate of the build's peak) and either released (the build
 *     failed) or converted into the charge of the blob it produced (cg_http_budget_charge: the blob's
 * length). The blob's last release returns its charge (http_cache.c), whoever holds it last (cache, a
 * response).
 *  2. acquire admits `bytes` when used + bytes <= limit, or when used == 0: a body larger than the whole
 * budget is never refused for its size, it runs alone.
 *  3. No barging, FIFO: waiters queue in arrival order and only the oldest waiter may be admitted; a new
 * acquire joins the queue whenever it is not empty. So a big build is not starved by a stream of small ones.
 *  4. Before each wait, acquire calls make_room(ctx, shortfall) with no lock held (the explorer evicts cold
 *     body-cache entries; blobs freed by that come back through release → note 1).
 *  5. One mutex + one condition variable; it is a leaf lock (no callback runs under it). Any thread may call
 *     anything; acquire blocks and must run on a worker thread, never on an HTTP connection thread.
 *
 *      acquire ──fits──> reserved ──charge(blob)──> blob alive ──last release──> returned
 *         └─full─> [FIFO wait, make_room] ──deadline──> CG_ENOMEM ("busy"; the caller answers 503)
 */
#ifndef CG_HTTP_HTTP_BUDGET_H
#define CG_HTTP_HTTP_BUDGET_H

#include "http/http_cache.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cg_http_budget cg_http_budget;

typedef struct cg_http_budget_stats {
  size_t limit, used, peak; /* bytes; peak = highest `used` since creation */
  int waiting;              /* acquires waiting now */
  uint64_t waits, timeouts; /* acquires that had to wait; that gave up at their deadline */
} cg_http_budget_stats;

/* limit in bytes (0 = unlimited: acquire never waits). NULL on ENOMEM. */
cg_http_budget *cg_http_budget_create(size_t limit);
void cg_http_budget_free(cg_http_budget *b); /* NULL-safe; charged blobs must be gone */

/* Reserves bytes, waiting until they fit (note 2, 3) or until the CLOCK_MONOTONIC time `deadline` (seconds,
 * as from cg_http_now) passes. 0 = reserved; CG_ENOMEM = deadline passed, nothing reserved. make_room may be
 * NULL. */
int cg_http_budget_acquire(cg_http_budget *b, size_t bytes, double deadline,
                           void (*make_room)(void *ctx, size_t shortfall), void *ctx);
/* Returns a reservation (or part of one). */
void cg_http_budget_release(cg_http_budget *b, size_t bytes);
/* Converts a reservation of `reserved` bytes into blob's charge (its length): the blob returns it when freed.
 * A blob is charged at most once (a second call only releases the reservation). NULL blob = release. */
void cg_http_budget_charge(cg_http_budget *b, cg_http_blob *blob, size_t reserved);
void cg_http_budget_get_stats(cg_http_budget *b, cg_http_budget_stats *out);

/* CLOCK_MONOTONIC in seconds. */
double cg_http_now(void);

#endif
