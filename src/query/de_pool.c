/* de_pool.c — a parallel-for over chunks for the DE engine: pthreads started per call and joined before
 * return (a DE run is long enough that thread start-up, ~20 us, does not matter).
 *
 * Invariants
 *  1. Chunks are claimed with atomic_fetch_add on `next`; each chunk runs exactly once unless the run stops.
 *  2. `stop` is set (relaxed is enough: it only makes workers skip remaining chunks) on cancellation or on the
 *     first failing chunk; the first failure's code is kept in `rc` by compare-exchange.
 *  3. Only the calling thread (tid 0) calls the progress callback, after each of its chunks and at the end.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "base/mem.h"
#include "query/de_int.h"

#define MAX_THREADS 256

typedef struct pool {
  cg__de_chunk_fn fn;
  void *ctx;
  const cg_de_opts *o;
  int64_t n_chunks;
  atomic_llong next, done;
  atomic_int stop, rc;
} pool;

typedef struct worker {
  pool *p;
  int tid;
} worker;

static int cancelled(const pool *p) { return p->o && p->o->cancel && atomic_load(p->o->cancel); }

static void progress(pool *p) {
  if (p->o && p->o->on_progress && p->n_chunks > 0)
    p->o->on_progress(p->o->progress_ctx, (double)atomic_load(&p->done) / (double)p->n_chunks);
}

static void *run(void *arg) {
  worker *w = arg;
  pool *p = w->p;
  for (;;) {
    if (atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
    if (cancelled(p)) {
      int zero = 0;
      atomic_compare_exchange_strong(&p->rc, &zero, CG_EINVAL);
      atomic_store(&p->stop, 1);
      break;
    }
    int64_t c = atomic_fetch_add(&p->next, 1);
    if (c >= p->n_chunks) break;
    int rc = p->fn(p->ctx, w->tid, c);
    if (rc) {
      int zero = 0;
      atomic_compare_exchange_strong(&p->rc, &zero, rc);
      atomic_store(&p->stop, 1);
    }
    atomic_fetch_add(&p->done, 1);
    if (w->tid == 0) progress(p);
  }
  return NULL;
}

int cg__de_threads(const cg_de_opts *o) {
  int t = o && o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
  return t < 1 ? 1 : t > MAX_THREADS ? MAX_THREADS : t;
}

int cg__de_parallel(int threads, int64_t n_chunks, cg__de_chunk_fn fn, void *ctx, const cg_de_opts *o, cg_err *err) {
  pool p = {.fn = fn, .ctx = ctx, .o = o, .n_chunks = n_chunks};
  worker w[MAX_THREADS];
  pthread_t th[MAX_THREADS];
  int started = 0;
  if (threads > n_chunks) threads = n_chunks > 0 ? (int)n_chunks : 1;
  for (int i = 0; i < threads; i++) w[i] = (worker){&p, i};
  for (int i = 1; i < threads; i++, started++)
    if (pthread_create(&th[i], NULL, run, &w[i])) break; /* fewer threads is still correct */
  run(&w[0]);
  for (int i = 1; i <= started; i++) pthread_join(th[i], NULL);
  int rc = atomic_load(&p.rc);
  if (!rc) progress(&p); /* the last chunk may have been another thread's */
  if (rc == CG_EINVAL && cancelled(&p)) return cg_err_set(err, CG_EINVAL, "differential expression cancelled");
  return rc;
}
