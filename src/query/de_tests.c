/* de_tests.c — per-gene Welch and cellxgene t statistics, adjusted p-values and ranking (contract in de.h). */
#include <math.h>
#include <stdlib.h>

#include "base/mem.h"
#include "query/de_int.h"
#include "stats/stats.h"

/* scipy 1.10 _unequal_var_ttest_denom + _ttest_ind_from_stats: NaN dof -> 1; t = d / denom (NaN or +-inf
 * when both variances are 0); p = 2 * stdtr tail. */
void cg__de_welch(cg_de_gene *g) {
  double n1 = (double)g->n1, n2 = (double)g->n2, a = g->var1 / n1, b = g->var2 / n2, se2 = a + b;
  double dof = se2 * se2 / (a * a / (n1 - 1) + b * b / (n2 - 1));
  if (isnan(dof)) dof = 1;
  g->statistic = (g->mean1 - g->mean2) / sqrt(se2);
  g->dof = dof;
  g->log_p = cg_stats_t_logp2(g->statistic, dof);
}

/* reference/cellxgene-compat.md §5: both variances over min(n1, n2); NaN t -> 0, NaN dof -> 1. */
void cg__de_cellxgene(cg_de_gene *g) {
  double n1 = (double)g->n1, n2 = (double)g->n2, nm = n1 < n2 ? n1 : n2;
  double a = g->var1 / nm, b = g->var2 / nm, se2 = a + b;
  double t = (g->mean1 - g->mean2) / sqrt(se2), dof = se2 * se2 / (a * a / (n1 - 1) + b * b / (n2 - 1));
  if (isnan(t)) t = 0;
  if (isnan(dof)) dof = 1;
  g->statistic = t, g->dof = dof;
  g->log_p = cg_stats_t_logp2(t, dof);
  g->lfc = g->mean_diff;
}

typedef struct rk {
  double lp, key;
  int64_t i;
} rk;

static int cmp_rk(const void *pa, const void *pb) {
  const rk *a = pa, *b = pb;
  int na = isnan(a->lp), nb = isnan(b->lp);
  if (na != nb) return na - nb;
  if (!na && a->lp != b->lp) return a->lp < b->lp ? -1 : 1;
  if (a->key != b->key) return a->key > b->key ? -1 : 1;
  return a->i < b->i ? -1 : a->i > b->i;
}

static double rank_key(const cg_de_gene *g, cg_de_method m) {
  double k = m == CG_DE_WILCOXON ? fabs(g->auroc - 0.5) : fabs(g->statistic);
  return isnan(k) ? -1 : k;
}

static int rank_genes(cg_de_gene *genes, int64_t n, cg_de_method m, int64_t *order, cg_err *err) {
  rk *r = cg_malloc_array((size_t)(n > 0 ? n : 1), sizeof *r);
  if (!r) return cg_err_set(err, CG_ENOMEM, "diffexp: ranking %lld genes", (long long)n);
  for (int64_t i = 0; i < n; i++) r[i] = (rk){genes[i].log_p, rank_key(&genes[i], m), i};
  qsort(r, (size_t)n, sizeof *r, cmp_rk);
  for (int64_t k = 0; k < n; k++) order[k] = r[k].i, genes[r[k].i].rank = k + 1;
  cg_free(r);
  return 0;
}

int cg__de_finish(cg_de_gene *genes, int64_t n, cg_de_method m, int64_t *order, cg_err *err) {
  double *lp = cg_malloc_array((size_t)(n > 0 ? n : 1), sizeof *lp);
  if (!lp) return cg_err_set(err, CG_ENOMEM, "diffexp: %lld p-values", (long long)n);
  int64_t valid = 0;
  for (int64_t i = 0; i < n; i++) lp[i] = genes[i].log_p, valid += !isnan(lp[i]);
  int rc = cg_stats_bh_log(lp, n, lp, err);
  for (int64_t i = 0; !rc && i < n; i++) {
    cg_de_gene *g = &genes[i];
    g->p = exp(g->log_p);
    g->log_p_adj_bonferroni = cg_stats_bonferroni_log(g->log_p, valid);
    g->p_adj_bonferroni = exp(g->log_p_adj_bonferroni);
    g->log_p_adj_bh = lp[i], g->p_adj_bh = exp(lp[i]);
  }
  cg_free(lp);
  return rc ? rc : rank_genes(genes, n, m, order, err);
}

/* --- cellxgene's top-N lists (compat §5) ----------------------------------------------------------------- */

typedef struct st {
  double t;
  int64_t i;
} st;

static int cmp_st_desc(const void *pa, const void *pb) {
  const st *a = pa, *b = pb;
  if (a->t != b->t) return a->t > b->t ? -1 : 1;
  return a->i < b->i ? -1 : a->i > b->i;
}

int64_t cg_de_result_top_signed(const cg_de_result *r, int64_t n, int positive, int64_t *idx) {
  int64_t ng = cg_de_result_n_genes(r), pass = 0, k = 0;
  const cg_de_gene *g = cg_de_result_genes(r);
  st *s = cg_malloc_array((size_t)(ng > 0 ? ng : 1), sizeof *s);
  if (!s || n <= 0) return cg_free(s), 0;
  for (int64_t i = 0; i < ng; i++) pass += fabs(g[i].mean_diff) > 0.01;
  for (int64_t i = 0; i < ng; i++) {
    if (pass > 2 * n && !(fabs(g[i].mean_diff) > 0.01)) continue;
    double t = isnan(g[i].statistic) ? 0 : g[i].statistic;
    s[k++] = (st){positive ? t : -t, i};
  }
  qsort(s, (size_t)k, sizeof *s, cmp_st_desc);
  if (k > n) k = n;
  for (int64_t i = 0; i < k; i++) idx[i] = s[i].i;
  cg_free(s);
  return k;
}
