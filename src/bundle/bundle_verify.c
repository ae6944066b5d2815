/* bundle_verify.c — cg_bundle_verify: reads every byte of an opened bundle.
 *
 * Design note
 *  Work is a list of tasks: one checksum per section, one zero-padding check, and one index scan per matrix
 *  orientation (indices < minor dimension, strictly increasing within a line; CSC line lengths equal the
 *  gene-stats nnz). Two threads take tasks, largest first, from an atomic cursor; each task writes only its own
 *  result slot, so the only shared mutable state is the cursor. The first failing task in task order is
 *  reported, so the message does not depend on scheduling.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "base/mem.h"
#include "bundle/bundle_fmt.h"
#include "bundle/bundle_int.h"

#define VERIFY_THREADS 2

enum { T_SUM = 0, T_PAD = 1, T_CSR = 2, T_CSC = 3 };

typedef struct task {
  int what;
  uint32_t sec;
  uint64_t cost;
  int rc;
  cg_err err;
} task;

typedef struct job {
  const cg_bundle *b;
  task *t;
  int n;
  atomic_int next;
} job;

static int run_sum(const cg_bundle *b, uint32_t i, cg_err *err) {
  const cg__bsec *s = &b->sec[i];
  if (b->flags & CG_BUNDLE_OPEN_NOCHECKSUM) return 0;
  if (XXH3_64bits(cg__bsec_ptr(b, i), s->length) == s->checksum) return 0;
  char label[160];
  cg__bundle_label(b, i, label, sizeof label);
  return cg_err_set(err, CG_ECORRUPT, "section %u (%s, %s): checksum mismatch", i, cg__bundle_kind_name(s->kind),
                    label);
}

static int run_pad(const cg_bundle *b, cg_err *err) {
  uint64_t at = CG_BFMT_HEADER_SIZE + (uint64_t)b->n_sec * CG_BFMT_TOC_ENTRY;
  for (uint32_t i = 0; i <= b->n_sec; i++) {
    uint64_t end = i < b->n_sec ? b->sec[i].offset : b->size;
    for (uint64_t p = at; p < end; p++)
      if (b->base[p]) return cg_err_set(err, CG_ECORRUPT, "non-zero padding byte at offset %llu", (unsigned long long)p);
    if (i < b->n_sec) at = b->sec[i].offset + b->sec[i].length;
  }
  return 0;
}

/* Indices of one orientation: in range and strictly increasing within each line. */
static int run_indices(const cg_bundle *b, int csc, cg_err *err) {
  cg_bundle_csx m;
  if ((csc ? cg_bundle_csc(b, &m) : cg_bundle_csr(b, &m)) != 0) return 0;
  cg_bundle_gene_stats gs;
  cg_bundle_gene_stats_get(b, &gs);
  uint32_t lim = (uint32_t)m.n_minor;
  for (int64_t l = 0; l < m.n_major; l++) {
    uint64_t s = m.indptr[l], e = m.indptr[l + 1];
    uint32_t bad = 0;
    for (uint64_t k = s; k + 1 < e; k++) bad |= m.indices[k + 1] <= m.indices[k];
    if (e > s) bad |= m.indices[e - 1] >= lim;
    if (csc && gs.nnz[l] != e - s) bad = 1;
    if (bad)
      return cg_err_set(err, CG_ECORRUPT, "%s line %lld: indices not strictly increasing below %u%s",
                        csc ? "CSC" : "CSR", (long long)l, lim, csc ? " or gene nnz mismatch" : "");
  }
  return 0;
}

static void *worker(void *arg) {
  job *j = arg;
  for (;;) {
    int k = atomic_fetch_add(&j->next, 1);
    if (k >= j->n) break;
    task *t = &j->t[k];
    cg_err_clear(&t->err);
    switch (t->what) {
    case T_SUM: t->rc = run_sum(j->b, t->sec, &t->err); break;
    case T_PAD: t->rc = run_pad(j->b, &t->err); break;
    default: t->rc = run_indices(j->b, t->what == T_CSC, &t->err); break;
    }
  }
  return NULL;
}

static int by_cost(const void *a, const void *b) {
  const task *x = a, *y = b;
  return x->cost < y->cost ? 1 : x->cost > y->cost ? -1 : 0;
}

int cg_bundle_verify(const cg_bundle *b, cg_err *err) {
  int n = (int)b->n_sec + 3, rc = 0;
  job j = {b, cg_calloc((size_t)n, sizeof(task)), n, 0};
  if (!j.t) return cg_err_set(err, CG_ENOMEM, "out of memory for verification tasks");
  for (uint32_t i = 0; i < b->n_sec; i++) j.t[i] = (task){T_SUM, i, b->sec[i].length, 0, {0, ""}};
  uint64_t nnz4 = 4 * (uint64_t)b->nnz;
  j.t[b->n_sec] = (task){T_PAD, 0, b->n_sec, 0, {0, ""}};
  j.t[b->n_sec + 1] = (task){T_CSR, 0, nnz4, 0, {0, ""}};
  j.t[b->n_sec + 2] = (task){T_CSC, 0, nnz4, 0, {0, ""}};
  qsort(j.t, (size_t)n, sizeof *j.t, by_cost);
  pthread_t th[VERIFY_THREADS - 1];
  int started = 0;
  if (b->size >= (64u << 20))
    for (; started < VERIFY_THREADS - 1; started++)
      if (pthread_create(&th[started], NULL, worker, &j) != 0) break;
  worker(&j);
  for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < n && !rc; i++)
    if (j.t[i].rc) rc = cg_err_set(err, j.t[i].rc, "%s", j.t[i].err.msg);
  cg_free(j.t);
  return rc;
}
