/* test_stats.c — src/stats: log incomplete beta, t and normal tails, Bonferroni, Benjamini–Hochberg, against
 * constants computed with scipy 1.10.1 / mpmath 1.2.1 (Debian 12 /usr/bin/python3). Generating commands:
 *   betai:  np.log(scipy.special.betainc(a, b, x))
 *   t:      np.log(2 * scipy.stats.t.sf(abs(t), df)); underflowing cases:
 *           mpmath (dps 40): log(betainc(df/2, 1/2, 0, df/(df+t^2), regularized=True))
 *   normal: scipy.stats.norm.logsf(z); z >= 40: mpmath log(erfc(z/sqrt(2))/2)
 *   BH:     p[order] * m / rank, reversed running minimum, capped at 1 (statsmodels fdr_bh)
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/mem.h"
#include "stats/stats.h"

static void near(double got, double want, double rtol, double atol, const char *what, double arg) {
  double tol = fmax(atol, rtol * fabs(want));
  if (!(fabs(got - want) <= tol)) fail_msg("%s(%g): got %.17g want %.17g", what, arg, got, want);
}

static void test_betai(void **state) {
  static const double c[][4] = {
      {0.5, 0.5, 0.3, -0.996931211020778},  {2, 3, 0.4, -0.6447380413522579},
      {10, 0.5, 0.9, -1.8862399897057933},  {50, 0.5, 0.999, -0.28452835735595483},
      {5000, 0.5, 0.9, -530.4831700865212}, {1.5, 20, 0.01, -2.793547392229843},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    near(cg_stats_log_betai(c[i][0], c[i][1], c[i][2]), c[i][3], 1e-12, 1e-14, "log_betai", c[i][0]);
  assert_true(cg_stats_log_betai(2, 3, 0) == -INFINITY);
  assert_true(cg_stats_log_betai(2, 3, 1) == 0);
  assert_true(isnan(cg_stats_log_betai(-1, 3, 0.5)));
  assert_true(isnan(cg_stats_log_betai(2, 3, 1.5)));
  /* log B against lgamma where that is exact enough, and the symmetric case */
  near(cg_stats_log_beta(3, 4), lgamma(3) + lgamma(4) - lgamma(7), 1e-14, 0, "log_beta", 3);
  near(cg_stats_log_beta(4, 3), cg_stats_log_beta(3, 4), 1e-15, 0, "log_beta sym", 4);
  near(cg_stats_log_beta(1e6, 0.5), lgamma(0.5) + lgamma(1e6) - lgamma(1e6 + 0.5), 1e-8, 0, "log_beta big", 1e6);
}

static void test_t_tail(void **state) {
  static const double c[][3] = {
      {0.5, 3, -0.42855775537192226},     {2.0, 10, -2.6119943706725075},
      {-3.5, 7.5, -4.71622779038387},     {10, 100, -36.85124123380507},
      {40, 1000, -481.1935103830333},     {5, 123456.7, -14.37048604635229},
      {1.2, 2e6, -1.469069707840026},
      /* p far below the smallest double (mpmath) */
      {60, 1000, -766.5857865425212},     {200, 5000, -5497.487014759517},
      {1e4, 30, -227.22697662937748},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    near(cg_stats_t_logp2(c[i][0], c[i][1]), c[i][2], 1e-10, 1e-12, "t_logp2", c[i][0]);
  assert_true(cg_stats_t_logp2(0, 5) == 0);
  assert_true(cg_stats_t_logp2(INFINITY, 5) == -INFINITY);
  assert_true(isnan(cg_stats_t_logp2(NAN, 5)));
  assert_true(isnan(cg_stats_t_logp2(1, 0)));
  near(cg_stats_t_logp2(3, INFINITY), cg_stats_norm_logp2(3), 1e-15, 0, "t_logp2 df=inf", 3);
}

static void test_normal_tail(void **state) {
  static const double c[][2] = {
      {-5, -2.8665161296376305e-07}, {-1, -0.17275377902344985}, {0, -0.6931471805599453},
      {1.5, -2.7059444008238898},    {8, -35.01343715991456},     {25, -316.63940800802027},
      {37.5, -707.6689893175072},    {40, -804.6084420137538},    {100, -5005.524208694205},
      {1e3, -500007.82669481216},    {1e5, -5000000012.431864},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    near(cg_stats_norm_logsf(c[i][0]), c[i][1], 1e-12, 1e-20, "norm_logsf", c[i][0]);
  /* continuity across the switch from erfc to the continued fraction at z = 30 */
  /* (d/dz log sf = -z - ... ~ -30.03 there, so the two sides differ by ~ -30.03 * 2e-6) */
  near(cg_stats_norm_logsf(30 + 1e-6) - cg_stats_norm_logsf(30 - 1e-6), -30.0332 * 2e-6, 1e-4, 0, "norm_logsf at 30", 30);
  assert_true(cg_stats_norm_logsf(INFINITY) == -INFINITY);
  assert_true(cg_stats_norm_logsf(-INFINITY) == 0);
  near(cg_stats_norm_logp2(-1.5), M_LN2 - 2.7059444008238898, 1e-12, 0, "norm_logp2", -1.5);
  assert_true(cg_stats_norm_logp2(0) == 0);
}

static void test_adjust(void **state) {
  double p[] = {0.01, 0.04, 0.03, 0.2, 0.5, 0.04, 1e-5, 0.9};
  double want[] = {0.04, 0.064, 0.064, 0.26666666666666666, 0.5714285714285714, 0.064, 8e-05, 0.9};
  double lp[9], out[9];
  for (int i = 0; i < 8; i++) lp[i] = log(p[i]);
  lp[8] = NAN; /* NaN is not counted in m and stays NaN */
  assert_int_equal(cg_stats_bh_log(lp, 9, out, NULL), 0);
  for (int i = 0; i < 8; i++) near(exp(out[i]), want[i], 1e-12, 0, "bh", i);
  assert_true(isnan(out[8]));
  assert_int_equal(cg_stats_bh_log(lp, 9, lp, NULL), 0); /* in place */
  for (int i = 0; i < 8; i++) near(exp(lp[i]), want[i], 1e-12, 0, "bh in place", i);
  near(exp(cg_stats_bonferroni_log(log(0.01), 8)), 0.08, 1e-12, 0, "bonferroni", 8);
  assert_true(cg_stats_bonferroni_log(log(0.5), 8) == 0);
  assert_true(isnan(cg_stats_bonferroni_log(NAN, 8)));
  near(cg_stats_bonferroni_log(-2000, 100), -2000 + log(100), 1e-15, 0, "bonferroni log", 100);
  cg_err e = {0};
  cg_mem_fail_after(0);
  assert_int_equal(cg_stats_bh_log(p, 8, out, &e), CG_ENOMEM);
  cg_mem_fail_after(-1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_betai),
      cmocka_unit_test(test_t_tail),
      cmocka_unit_test(test_normal_tail),
      cmocka_unit_test(test_adjust),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
