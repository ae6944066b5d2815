/* stats.h — distribution tails in log space and multiple-testing corrections for differential expression.
 *
 * What it does
 *  - Log of the regularised incomplete beta function I_x(a, b), by the continued fraction of Numerical Recipes
 *    (Press et al., 3rd ed., §6.4, "betacf") evaluated with the modified Lentz method (Lentz 1976; Thompson &
 *    Barnett 1986) and the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) where the fraction converges slowly. The
 *    prefactor x^a (1-x)^b / B(a,b) is formed in logs, with log B(a,b) from a Stirling-series difference for
 *    large arguments, so the result stays accurate far below the smallest double (log p of -10^6 is fine).
 *  - Student's t two-sided tail p = 2 P(T > |t|) = I_{df/(df+t^2)}(df/2, 1/2) as log p.
 *  - Standard normal upper tail: erfc for moderate z, the Laplace continued fraction of the Mills ratio
 *    (Abramowitz & Stegun 26.2.14) in logs for z >= 30.
 *  - Bonferroni and Benjamini–Hochberg adjusted p-values computed from log p.
 *  All code here is our own; the formulas are textbook. Natural logarithms throughout.
 *
 * Threads: every function is pure and reentrant (no globals; lgamma_r, not lgamma).
 * Errors: domain errors give NaN (like scipy); only cg_stats_bh, which allocates, returns an error code.
 */
#ifndef CG_STATS_STATS_H
#define CG_STATS_STATS_H

#include <stdint.h>

#include "base/err.h"

/* log I_x(a, b) for a, b > 0, 0 <= x <= 1. NaN for bad arguments. */
double cg_stats_log_betai(double a, double b, double x);

/* Same with x and y = 1 - x and their logs supplied by a caller that knows them more accurately than
 * 1 - x (e.g. x = df/(df+t^2), y = t^2/(df+t^2)). */
double cg_stats_log_betai_xy(double a, double b, double x, double y, double lx, double ly);

/* log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a+b), accurate for large a or b. */
double cg_stats_log_beta(double a, double b);

/* log of the two-sided p-value of Student's t: log(2 * sf(|t|, df)). df may be +inf (normal). NaN t or df,
 * or df <= 0, give NaN; t = +-inf gives -inf. */
double cg_stats_t_logp2(double t, double df);

/* log of the standard normal upper tail, log P(Z > z); -inf at +inf, 0 at -inf, NaN for NaN. */
double cg_stats_norm_logsf(double z);

/* log of the two-sided normal p-value, min(0, log 2 + log sf(|z|)). */
double cg_stats_norm_logp2(double z);

/* Bonferroni: log min(1, p * m). NaN stays NaN. */
double cg_stats_bonferroni_log(double log_p, int64_t m);

/* Benjamini–Hochberg step-up over the n log p-values: out[i] = log of the adjusted p-value of i
 * (min over j with rank >= rank(i) of p_j * m / rank(j), capped at 1), where m = the number of non-NaN
 * inputs; NaN inputs give NaN. out may alias log_p. 0 or CG_ENOMEM (err filled). */
int cg_stats_bh_log(const double *log_p, int64_t n, double *out, cg_err *err);

#endif
