/* adjust.c — multiple-testing corrections on log p-values (contract in stats.h).
 *
 * Benjamini–Hochberg (1995) step-up: sort the m finite p-values ascending, q_(k) = p_(k) * m / k, then take the
 * running minimum from the largest rank down and cap at 1. In logs: log q_(k) = log p_(k) + log m - log k.
 * Ties in p get the same adjusted value because of the running minimum. Same as
 * scipy.stats.false_discovery_control(method='bh') and statsmodels' fdr_bh.
 */
#include <math.h>
#include <stdlib.h>

#include "base/mem.h"
#include "stats/stats.h"

double cg_stats_bonferroni_log(double log_p, int64_t m) {
  if (isnan(log_p)) return NAN;
  double l = log_p + log((double)(m > 0 ? m : 1));
  return l > 0 ? 0 : l;
}

typedef struct lp_item {
  double lp;
  int64_t i;
} lp_item;

static int cmp_lp(const void *a, const void *b) {
  const lp_item *x = a, *y = b;
  if (x->lp < y->lp) return -1;
  if (x->lp > y->lp) return 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

int cg_stats_bh_log(const double *log_p, int64_t n, double *out, cg_err *err) {
  lp_item *it = cg_malloc_array((size_t)(n > 0 ? n : 1), sizeof *it);
  if (!it) return cg_err_set(err, CG_ENOMEM, "Benjamini-Hochberg: %lld p-values", (long long)n);
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (!isnan(log_p[i])) it[m++] = (lp_item){log_p[i], i};
  for (int64_t i = 0; i < n; i++)
    if (isnan(log_p[i])) out[i] = NAN;
  qsort(it, (size_t)m, sizeof *it, cmp_lp);
  double lm = log((double)m), run = 0;
  for (int64_t k = m; k >= 1; k--) {
    double q = it[k - 1].lp + lm - log((double)k);
    if (q < run) run = q;
    out[it[k - 1].i] = run;
  }
  cg_free(it);
  return 0;
}
