/* de.c — differential expression: sets, scale detection, the moment pass, the tests, the result (de.h).
 *
 *   sets ──to_label──> label[n_obs] (1 = set 1, 2 = set 2) + row lists
 *     │  scan_sets: moment pass over the smaller side when set 2 is "rest" (the other side = bundle totals
 *     │             minus it), else over both sets
 *     v
 *   moments ──fill_gene──> n, mean, var, frac, effect ──welch | cellxgene | wilcoxon──> log p
 *     └──cg__de_finish──> p, Bonferroni, BH, ranks, order
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "query/de_int.h"

struct cg_de_result {
  cg_de_method method;
  cg_de_lfc_kind kind;
  int log1p;
  int64_t n_genes, n1, n2;
  cg_de_gene *genes;
  int64_t *order;
};

static const char *const METHODS[] = {"welch", "cellxgene", "wilcoxon"};

const char *cg_de_method_name(cg_de_method m) { return (unsigned)m < 3 ? METHODS[m] : NULL; }

int cg_de_method_parse(const char *name, cg_de_method *out) {
  for (int i = 0; name && i < 3; i++)
    if (strcmp(name, METHODS[i]) == 0) return *out = (cg_de_method)i, 0;
  return CG_EINVAL;
}

const char *cg_de_lfc_kind_name(cg_de_lfc_kind k) {
  return k == CG_DE_LFC_EXPM1    ? "log2_fold_change_of_expm1_means"
         : k == CG_DE_LFC_COUNTS ? "log2_fold_change_of_means"
                                 : "mean_difference";
}

/* --- sets ------------------------------------------------------------------------------------------------ */

/* Marks the cells of s with value v in label; CG_EINVAL for an out-of-range, unsorted or overlapping cell. */
static int mark(const cg_de_set *s, int64_t n_obs, uint8_t v, uint8_t *label, int64_t *count, cg_err *err) {
  const char *name = v == 1 ? "set1" : "set2";
  int64_t c = 0;
  if (s->bits && s->bits->n != n_obs)
    return cg_err_set(err, CG_EINVAL, "%s: a bitset of %lld cells for %lld", name, (long long)s->bits->n,
                      (long long)n_obs);
  int64_t n = s->bits ? n_obs : s->n_idx;
  for (int64_t k = 0; k < n; k++) {
    int64_t i = s->bits ? k : s->idx[k];
    if (s->bits && !cg_bitset_test(s->bits, k)) continue;
    if (!s->bits && (i < 0 || i >= n_obs || (k && i <= s->idx[k - 1])))
      return cg_err_set(err, CG_EINVAL, "%s: cell %lld out of range or not sorted/unique", name, (long long)i);
    if (label[i]) return cg_err_set(err, CG_EINVAL, "the cell sets overlap (cell %lld)", (long long)i);
    label[i] = v, c++;
  }
  *count = c;
  return c ? 0 : cg_err_set(err, CG_EINVAL, "%s is empty", name);
}

/* The sorted list of cells whose label is v (caller frees). */
static int64_t *rows_of(const uint8_t *label, int64_t n_obs, uint8_t v, int64_t count) {
  int64_t *r = cg_malloc_array((size_t)(count > 0 ? count : 1), sizeof *r), k = 0;
  for (int64_t i = 0; r && i < n_obs; i++)
    if (label[i] == v) r[k++] = i;
  return r;
}

/* --- scale detection ------------------------------------------------------------------------------------- */

static void data_range(const cg_bundle_gene_stats *gs, double *lo, double *hi) {
  double a = INFINITY, b = -INFINITY;
  for (int64_t g = 0; g < gs->n; g++) {
    if (gs->min[g] < a) a = gs->min[g];
    if (gs->max[g] > b) b = gs->max[g];
  }
  *lo = gs->n ? a : 0, *hi = gs->n ? b : 0;
}

/* --- the expm1 totals cache ------------------------------------------------------------------------------ */

#define CACHE_SLOTS 4
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER; /* guards cache[] and cache_next */
static struct {
  char id[CG_BUNDLE_ID_LEN + 1];
  int64_t n;
  double *tot;
} cache[CACHE_SLOTS];
static int cache_next;

static double *cache_get(const cg_bundle *b, int64_t n) {
  double *out = NULL;
  pthread_mutex_lock(&cache_mu);
  for (int i = 0; i < CACHE_SLOTS; i++)
    if (cache[i].tot && cache[i].n == n && strcmp(cache[i].id, cg_bundle_id(b)) == 0 &&
        (out = cg_malloc_array((size_t)n + 1, sizeof *out)))
      memcpy(out, cache[i].tot, (size_t)n * sizeof *out);
  pthread_mutex_unlock(&cache_mu);
  return out;
}

static void cache_put(const cg_bundle *b, const double *tot, int64_t n) {
  double *copy = cg_malloc_array((size_t)n + 1, sizeof *copy);
  if (!copy) return; /* the cache is an optimisation */
  memcpy(copy, tot, (size_t)n * sizeof *copy);
  pthread_mutex_lock(&cache_mu);
  int i = cache_next++ % CACHE_SLOTS;
  cg_free(cache[i].tot);
  snprintf(cache[i].id, sizeof cache[i].id, "%s", cg_bundle_id(b));
  cache[i].n = n, cache[i].tot = copy;
  pthread_mutex_unlock(&cache_mu);
}

int cg__de_expm1_totals(const cg_bundle *b, const cg_de_opts *o, double **out, cg_err *err) {
  cg_bundle_csx csr;
  cg_bundle_csr(b, &csr);
  int64_t n = csr.n_minor, n_obs = csr.n_major;
  if ((*out = cache_get(b, n))) return 0;
  int64_t *rows = cg_malloc_array((size_t)n_obs + 1, sizeof *rows);
  float *c = cg_calloc((size_t)n + 1, sizeof *c);
  cg__de_moments *m = cg_malloc_array((size_t)n + 1, sizeof *m);
  double *tot = cg_malloc_array((size_t)n + 1, sizeof *tot);
  int rc = rows && c && m && tot ? 0 : cg_err_set(err, CG_ENOMEM, "diffexp: expm1 totals");
  for (int64_t i = 0; !rc && i < n_obs; i++) rows[i] = i;
  if (!rc) rc = cg__de_pass(&csr, c, rows, NULL, n_obs, CG__DE_EXPM1, o, &m, err);
  for (int64_t g = 0; !rc && g < n; g++) tot[g] = m[g].se;
  if (!rc) cache_put(b, tot, n), *out = tot, tot = NULL;
  cg_free(tot), cg_free(m), cg_free(c), cg_free(rows);
  return rc;
}

/* --- the run --------------------------------------------------------------------------------------------- */

typedef struct run {
  const cg_bundle *b;
  cg_bundle_csx csr;
  cg_bundle_gene_stats gs;
  cg_de_method method;
  const cg_de_opts *o;
  unsigned mode;
  int rest;
  int64_t n_obs, n_genes, n[3];
  uint8_t *label;
  float *center;
  cg__de_moments *mom[2];
  double pc;
} run;

/* Moments of "all cells" minus m (the other side of a complement). */
static void complement(const run *r, const double *se_tot, const cg__de_moments *m, cg__de_moments *out) {
  for (int64_t g = 0; g < r->n_genes; g++) {
    double c = r->center[g], N = (double)r->n_obs, sum = r->gs.sum[g];
    double s2 = r->gs.sumsq[g] - 2 * c * sum + N * c * c;
    out[g] = (cg__de_moments){N - m[g].n, (double)r->gs.nnz[g] - m[g].cnt, sum - m[g].s1, s2 - m[g].s2,
                              se_tot ? se_tot[g] - m[g].se : 0};
  }
}

static int scan(run *r, int which, cg_err *err) {
  int64_t *rows = rows_of(r->label, r->n_obs, (uint8_t)(which + 1), r->n[which + 1]);
  int rc = rows ? 0 : cg_err_set(err, CG_ENOMEM, "diffexp: row list");
  if (!rc) rc = cg__de_pass(&r->csr, r->center, rows, NULL, r->n[which + 1], r->mode, r->o, &r->mom[which], err);
  cg_free(rows);
  return rc;
}

/* Both sets in one sweep over their union (rows in order, side = set - 1). */
static int scan_both(run *r, cg_err *err) {
  int64_t n = r->n[1] + r->n[2], k = 0;
  int64_t *rows = cg_malloc_array((size_t)n + 1, sizeof *rows);
  uint8_t *side = cg_malloc((size_t)n + 1);
  int rc = rows && side ? 0 : cg_err_set(err, CG_ENOMEM, "diffexp: row list");
  for (int64_t i = 0; !rc && i < r->n_obs; i++)
    if (r->label[i]) rows[k] = i, side[k++] = (uint8_t)(r->label[i] - 1);
  if (!rc) rc = cg__de_pass(&r->csr, r->center, rows, side, n, r->mode, r->o, r->mom, err);
  cg_free(side), cg_free(rows);
  return rc;
}

/* Set 2 is "rest" (or, given explicitly, holds every cell not in set 1): scan the smaller side and take the
 * other from the bundle's totals. cellxgene's log1p of counts has no totals: scan both. */
static int scan_sets(run *r, cg_err *err) {
  int rest = r->rest || r->n[1] + r->n[2] == r->n_obs;
  if (!rest || (r->mode & CG__DE_LOG1P)) return scan_both(r, err);
  int small = r->n[1] <= r->n[2] ? 0 : 1;
  double *se_tot = NULL;
  int rc = (r->mode & CG__DE_EXPM1) ? cg__de_expm1_totals(r->b, r->o, &se_tot, err) : 0;
  if (!rc) rc = scan(r, small, err);
  if (!rc) complement(r, se_tot, r->mom[small], r->mom[1 - small]);
  cg_free(se_tot);
  return rc;
}

static void set_stats(const cg__de_moments *m, double c, int64_t *n, int64_t *nnz, double *mean, double *var,
                      double *frac) {
  double mu = m->s1 / m->n, v = (m->s2 - m->n * (mu - c) * (mu - c)) / (m->n - 1);
  *n = (int64_t)m->n, *nnz = (int64_t)m->cnt, *mean = mu, *frac = m->cnt / m->n;
  *var = m->n < 2 ? NAN : m->cnt == 0 ? 0 : v < 0 ? 0 : v;
}

static double lfc(const run *r, cg_de_lfc_kind k, const cg_de_gene *g, const cg__de_moments *a,
                  const cg__de_moments *b) {
  if (k == CG_DE_LFC_EXPM1) return log2((a->se / a->n + r->pc) / (b->se / b->n + r->pc));
  if (k == CG_DE_LFC_COUNTS) return log2((g->mean1 + r->pc) / (g->mean2 + r->pc));
  return g->mean1 - g->mean2;
}

/* 1 if every cell of set `which` (1 or 2) has the same value in gene g (then *v = it), by walking the gene's
 * CSC column. Used only when the moment pass left a variance within rounding of 0, so that a constant set
 * gets exactly var = 0 and mean = the value (as a two-pass computation would), not rounding noise. */
static int constant_in_set(const run *r, int64_t g, uint8_t which, double *v) {
  cg_bundle_csx c;
  cg_bundle_csc(r->b, &c);
  int64_t stored = 0;
  double first = 0;
  for (uint64_t e = c.indptr[g]; e < c.indptr[g + 1]; e++) {
    if (r->label[c.indices[e]] != which) continue;
    double x = (r->mode & CG__DE_LOG1P) ? log1p((double)c.data[e]) : (double)c.data[e];
    if (stored++ == 0) first = x;
    else if (x != first) return 0;
  }
  if (stored && stored < r->n[which] && first != 0) return 0;
  *v = stored ? first : 0;
  return 1;
}

static void exact_if_constant(const run *r, int64_t g, uint8_t which, const cg__de_moments *m, double *mean,
                              double *var) {
  double spread = m->s2 / (m->n - 1), v;
  if (!(m->n >= 2) || isnan(*var) || *var > 1e-9 * spread) return;
  if (constant_in_set(r, g, which, &v)) *mean = v, *var = 0;
}

static void fill_genes(const run *r, cg_de_lfc_kind k, cg_de_gene *genes) {
  for (int64_t i = 0; i < r->n_genes; i++) {
    cg_de_gene *g = &genes[i];
    const cg__de_moments *a = &r->mom[0][i], *b = &r->mom[1][i];
    *g = (cg_de_gene){.dof = NAN, .z = NAN, .auroc = NAN};
    set_stats(a, r->center[i], &g->n1, &g->nnz1, &g->mean1, &g->var1, &g->frac1);
    set_stats(b, r->center[i], &g->n2, &g->nnz2, &g->mean2, &g->var2, &g->frac2);
    exact_if_constant(r, i, 1, a, &g->mean1, &g->var1);
    exact_if_constant(r, i, 2, b, &g->mean2, &g->var2);
    g->mean_diff = g->mean1 - g->mean2;
    g->lfc = lfc(r, k, g, a, b);
    if (r->method == CG_DE_WELCH) cg__de_welch(g);
    if (r->method == CG_DE_CELLXGENE) cg__de_cellxgene(g);
  }
}

static int setup(run *r, const cg_de_set *s1, const cg_de_set *s2, cg_err *err) {
  if (cg_bundle_csr(r->b, &r->csr) || cg_bundle_gene_stats_get(r->b, &r->gs))
    return cg_err_set(err, CG_ENOTFOUND, "diffexp: the dataset has no expression matrix");
  r->n_obs = r->csr.n_major, r->n_genes = r->csr.n_minor;
  r->label = cg_calloc((size_t)r->n_obs + 1, 1);
  r->center = cg_malloc_array((size_t)r->n_genes + 1, sizeof *r->center);
  r->mom[0] = cg_calloc((size_t)r->n_genes + 1, sizeof(cg__de_moments));
  r->mom[1] = cg_calloc((size_t)r->n_genes + 1, sizeof(cg__de_moments));
  if (!r->label || !r->center || !r->mom[0] || !r->mom[1]) return cg_err_set(err, CG_ENOMEM, "diffexp: setup");
  int rc = mark(s1, r->n_obs, 1, r->label, &r->n[1], err);
  if (!rc && s2) rc = mark(s2, r->n_obs, 2, r->label, &r->n[2], err);
  if (!rc && !s2) {
    for (int64_t i = 0; i < r->n_obs; i++) r->label[i] = r->label[i] ? 1 : 2;
    r->n[2] = r->n_obs - r->n[1];
    if (!r->n[2]) rc = cg_err_set(err, CG_EINVAL, "set2 (the rest) is empty");
  }
  for (int64_t g = 0; g < r->n_genes; g++) {
    double mu = r->n_obs ? r->gs.sum[g] / (double)r->n_obs : 0;
    r->center[g] = (float)((r->mode & CG__DE_LOG1P) ? log1p(mu) : mu);
  }
  return rc;
}

static void run_dispose(run *r) {
  cg_free(r->label), cg_free(r->center), cg_free(r->mom[0]), cg_free(r->mom[1]);
}

void cg_de_result_free(cg_de_result *r) {
  if (!r) return;
  cg_free(r->genes), cg_free(r->order), cg_free(r);
}

static int compute(run *r, cg_de_result *res, cg_err *err) {
  int rc = scan_sets(r, err);
  if (!rc) fill_genes(r, res->kind, res->genes);
  if (!rc && r->method == CG_DE_WILCOXON) {
    cg_bundle_csx csc;
    cg_bundle_csc(r->b, &csc);
    rc = cg__de_wilcoxon(&csc, r->label, r->n[1], r->n[2], r->o, res->genes, err);
  }
  return rc ? rc : cg__de_finish(res->genes, r->n_genes, r->method, res->order, err);
}

int cg_de_run(const cg_bundle *b, const cg_de_set *set1, const cg_de_set *set2, cg_de_method method,
              const cg_de_opts *opts, cg_de_result **out, cg_err *err) {
  *out = NULL;
  if (!set1 || !cg_de_method_name(method)) return cg_err_set(err, CG_EINVAL, "diffexp: bad arguments");
  run r = {.b = b, .method = method, .o = opts, .rest = set2 == NULL};
  r.pc = opts && opts->pseudocount > 0 ? opts->pseudocount : 1e-9;
  cg_de_result *res = cg_calloc(1, sizeof *res);
  int rc = res ? 0 : cg_err_set(err, CG_ENOMEM, "diffexp: result");
  double lo = 0, hi = 0;
  if (!rc && cg_bundle_gene_stats_get(b, &r.gs) == 0) data_range(&r.gs, &lo, &hi);
  if (!rc) {
    res->method = method, res->log1p = method == CG_DE_CELLXGENE && hi - lo > 24;
    res->kind = method == CG_DE_CELLXGENE || lo < 0 ? CG_DE_LFC_DIFF : hi > 24 ? CG_DE_LFC_COUNTS : CG_DE_LFC_EXPM1;
    r.mode = (res->log1p ? CG__DE_LOG1P : 0) | (res->kind == CG_DE_LFC_EXPM1 ? CG__DE_EXPM1 : 0);
    rc = setup(&r, set1, set2, err);
  }
  if (!rc) {
    res->n_genes = r.n_genes, res->n1 = r.n[1], res->n2 = r.n[2];
    res->genes = cg_calloc((size_t)r.n_genes + 1, sizeof *res->genes);
    res->order = cg_calloc((size_t)r.n_genes + 1, sizeof *res->order);
    if (!res->genes || !res->order) rc = cg_err_set(err, CG_ENOMEM, "diffexp: result for %lld genes", (long long)r.n_genes);
  }
  if (!rc) rc = compute(&r, res, err);
  run_dispose(&r);
  if (rc) cg_de_result_free(res);
  else *out = res;
  return rc;
}

/* --- accessors ------------------------------------------------------------------------------------------- */

cg_de_method cg_de_result_method(const cg_de_result *r) { return r->method; }
cg_de_lfc_kind cg_de_result_lfc_kind(const cg_de_result *r) { return r->kind; }
int cg_de_result_log1p_applied(const cg_de_result *r) { return r->log1p; }
int64_t cg_de_result_n_genes(const cg_de_result *r) { return r->n_genes; }
int64_t cg_de_result_n1(const cg_de_result *r) { return r->n1; }
int64_t cg_de_result_n2(const cg_de_result *r) { return r->n2; }
const cg_de_gene *cg_de_result_genes(const cg_de_result *r) { return r->genes; }
const int64_t *cg_de_result_order(const cg_de_result *r) { return r->order; }
