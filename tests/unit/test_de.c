/* test_de.c — src/query/de.h on bundles written from in-test dense matrices: every method against a
 * brute-force reference computed here (two-pass means/variances, Welch t, O(n1 n2) Mann–Whitney U with the
 * tie term from explicit tie groups, the log1p/expm1 effect sizes), set 2 = rest through both the scan-set-1
 * and scan-the-complement paths and through an explicit complement, index lists = bitsets, 1 thread = 2
 * threads, the portable moment kernel = the AVX2 one (and both = the reference), cancellation, progress, bad
 * sets, cellxgene top lists, JSON/CSV, allocation failures. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "query/de.h"
#include "query/de_int.h" /* cg__de_pass_force_portable */
#include "stats/stats.h"
#include "test_bundle_util.h"

static char dir[512];

static const char *tpath(const char *name) {
  static char p[1024];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return p;
}

enum { NO = 300, NV = 40 };

/* shape 0: tds values (negative too: mean difference); 1: log1p-like values in [0, 6) with many zeros and
 * ties; gene 0 is all zero, gene 1 constant 2.5 in every cell, gene 2 has one non-zero. */
static cg_bundle *make(tds *d, int shape, const char *name) {
  tds_init(d, NO, NV, 0, 42u + (uint32_t)shape);
  uint32_t s = 7;
  for (int64_t i = 0; shape == 1 && i < NO * NV; i++)
    d->dense[i] = tds_rng(&s) % 3 ? 0.0f : (float)(tds_rng(&s) % 24) * 0.25f;
  for (int64_t i = 0; i < NO; i++) d->dense[i * NV] = 0, d->dense[i * NV + 1] = 2.5f, d->dense[i * NV + 2] = 0;
  d->dense[17 * NV + 2] = 1.0f;
  d->in.nnz = tds_nnz(d);
  cg_err err = {0};
  int rc = cg_bundle_write(&d->in, tpath(name), &err);
  if (rc) fail_msg("write: %s", err.msg);
  cg_bundle *b = NULL;
  assert_int_equal(cg_bundle_open(tpath(name), &b, &err), 0);
  return b;
}

/* --- the reference -------------------------------------------------------------------------------------- */

typedef struct ref {
  double mean[2], var[2], frac[2], t, u1, logp_w, logp_u, lfc_expm1;
} ref;

static void ref_gene(const tds *d, const uint8_t *lab, int64_t g, ref *r) {
  double n[2] = {0}, s[2] = {0}, e[2] = {0}, nz[2] = {0};
  for (int64_t i = 0; i < NO; i++)
    if (lab[i]) {
      double x = d->dense[i * NV + g];
      n[lab[i] - 1]++, s[lab[i] - 1] += x, e[lab[i] - 1] += expm1(x), nz[lab[i] - 1] += x != 0;
    }
  double q[2] = {0};
  for (int k = 0; k < 2; k++) r->mean[k] = s[k] / n[k], r->frac[k] = nz[k] / n[k];
  for (int64_t i = 0; i < NO; i++)
    if (lab[i]) q[lab[i] - 1] += pow(d->dense[i * NV + g] - r->mean[lab[i] - 1], 2);
  for (int k = 0; k < 2; k++) r->var[k] = q[k] / (n[k] - 1);
  double a = r->var[0] / n[0], b = r->var[1] / n[1], df = (a + b) * (a + b) / (a * a / (n[0] - 1) + b * b / (n[1] - 1));
  r->t = (r->mean[0] - r->mean[1]) / sqrt(a + b);
  r->logp_w = cg_stats_t_logp2(r->t, isnan(df) ? 1 : df);
  r->lfc_expm1 = log2((e[0] / n[0] + 1e-9) / (e[1] / n[1] + 1e-9));
  double u = 0, ties = 0;
  for (int64_t i = 0; i < NO; i++)
    for (int64_t j = 0; lab[i] == 1 && j < NO; j++)
      if (lab[j] == 2) {
        double x = d->dense[i * NV + g], y = d->dense[j * NV + g];
        u += x > y ? 1 : x == y ? 0.5 : 0;
      }
  for (int64_t i = 0; i < NO; i++) { /* tie groups: count each value once, at its first occurrence */
    if (!lab[i]) continue;
    double x = d->dense[i * NV + g], t = 0;
    int first = 1;
    for (int64_t j = 0; j < NO; j++)
      if (lab[j] && d->dense[j * NV + g] == x) t++, first &= j >= i;
    if (first) ties += t * t * t - t;
  }
  double nn = n[0] + n[1], mu = n[0] * n[1] / 2, big = u > n[0] * n[1] - u ? u : n[0] * n[1] - u;
  double sd = sqrt(n[0] * n[1] / 12 * ((nn + 1) - ties / (nn * (nn - 1))));
  double lp = M_LN2 + cg_stats_norm_logsf((big - mu - 0.5) / sd);
  r->u1 = u, r->logp_u = lp > 0 ? 0 : lp;
}

static void close_to(double got, double want, double rtol, const char *what, int64_t g) {
  if (isnan(got) && isnan(want)) return;
  if (got == want) return;
  if (!(fabs(got - want) <= rtol * fabs(want) + 1e-12)) fail_msg("%s gene %lld: got %.17g want %.17g", what, (long long)g, got, want);
}

static void check(const tds *d, const uint8_t *lab, const cg_de_result *r, cg_de_method m, int log1p_data) {
  const cg_de_gene *G = cg_de_result_genes(r);
  for (int64_t g = 0; g < NV; g++) {
    ref f;
    ref_gene(d, lab, g, &f);
    close_to(G[g].mean1, f.mean[0], 1e-12, "mean1", g);
    close_to(G[g].mean2, f.mean[1], 1e-12, "mean2", g);
    close_to(G[g].var1, f.var[0], 1e-9, "var1", g);
    close_to(G[g].var2, f.var[1], 1e-9, "var2", g);
    close_to(G[g].frac1, f.frac[0], 1e-15, "frac1", g);
    close_to(G[g].frac2, f.frac[1], 1e-15, "frac2", g);
    if (log1p_data) close_to(G[g].lfc, f.lfc_expm1, 1e-9, "lfc", g);
    else close_to(G[g].lfc, f.mean[0] - f.mean[1], 1e-9, "lfc", g);
    if (m == CG_DE_WELCH) close_to(G[g].statistic, f.t, 1e-9, "t", g), close_to(G[g].log_p, f.logp_w, 1e-9, "log p", g);
    if (m == CG_DE_WILCOXON) {
      close_to(G[g].statistic, f.u1, 1e-12, "U1", g), close_to(G[g].log_p, f.logp_u, 1e-9, "log p", g);
      close_to(G[g].auroc, f.u1 / ((double)G[g].n1 * (double)G[g].n2), 1e-12, "auroc", g);
    }
  }
  /* gene 0 (all zero): Welch NaN, Wilcoxon p = 1; gene 1 (constant 2.5): Welch NaN (both variances exactly 0) */
  if (m == CG_DE_WELCH) assert_true(isnan(G[0].statistic) && isnan(G[0].p) && isnan(G[1].p));
  if (m == CG_DE_WILCOXON) assert_true(G[0].p == 1);
  /* ranks are a permutation in log p order */
  const int64_t *o = cg_de_result_order(r);
  for (int64_t k = 1; k < NV; k++) {
    double a = G[o[k - 1]].log_p, b = G[o[k]].log_p;
    assert_true(isnan(b) || a <= b);
    assert_int_equal(G[o[k]].rank, k + 1);
  }
}

static cg_de_result *run_ok(const cg_bundle *b, const cg_de_set *s1, const cg_de_set *s2, cg_de_method m, int threads) {
  cg_de_opts o = {.threads = threads};
  cg_de_result *r = NULL;
  cg_err err = {0};
  int rc = cg_de_run(b, s1, s2, m, &o, &r, &err);
  if (rc) fail_msg("cg_de_run: %s", err.msg);
  return r;
}

static void same_result(const cg_de_result *a, const cg_de_result *b, double rtol) {
  const cg_de_gene *x = cg_de_result_genes(a), *y = cg_de_result_genes(b);
  for (int64_t g = 0; g < cg_de_result_n_genes(a); g++) {
    close_to(x[g].statistic, y[g].statistic, rtol, "same statistic", g);
    close_to(x[g].log_p, y[g].log_p, rtol, "same log p", g);
    close_to(x[g].var1, y[g].var1, rtol, "same var1", g);
    close_to(x[g].var2, y[g].var2, rtol, "same var2", g);
    close_to(x[g].lfc, y[g].lfc, rtol, "same lfc", g);
  }
}

/* set 1 = every third cell (or every cell but every seventh when big), set 2 = cells with i % 3 == 1 */
static void sets(int big, cg_bitset *s1, cg_bitset *s2, uint8_t *lab2, uint8_t *lab_rest) {
  cg_bitset_init(s1, NO), cg_bitset_init(s2, NO);
  for (int64_t i = 0; i < NO; i++) {
    int in1 = big ? i % 7 != 0 : i % 3 == 0, in2 = !big && i % 3 == 1;
    if (in1) cg_bitset_set(s1, i);
    if (in2) cg_bitset_set(s2, i);
    lab2[i] = in1 ? 1 : in2 ? 2 : 0, lab_rest[i] = in1 ? 1 : 2;
  }
}

static void test_methods(void **state) {
  for (int shape = 0; shape < 2; shape++) {
    tds d;
    cg_bundle *b = make(&d, shape, shape ? "log.cgb" : "neg.cgb");
    for (int big = 0; big < 2; big++) {
      cg_bitset s1, s2;
      uint8_t lab2[NO], labr[NO];
      sets(big, &s1, &s2, lab2, labr);
      cg_de_set a = {.bits = &s1}, c = {.bits = &s2};
      for (int m = CG_DE_WELCH; m <= CG_DE_WILCOXON; m += 2) {
        cg_de_result *r = run_ok(b, &a, big ? NULL : &c, (cg_de_method)m, 2);
        check(&d, big ? labr : lab2, r, (cg_de_method)m, shape);
        assert_int_equal(cg_de_result_lfc_kind(r), shape ? CG_DE_LFC_EXPM1 : CG_DE_LFC_DIFF);
        cg_de_result_free(r);
        r = run_ok(b, &a, NULL, (cg_de_method)m, 1); /* rest, whichever side is scanned */
        check(&d, labr, r, (cg_de_method)m, shape);
        /* the same as an explicit complement */
        cg_bitset comp;
        cg_bitset_init(&comp, NO);
        for (int64_t i = 0; i < NO; i++)
          if (!cg_bitset_test(&s1, i)) cg_bitset_set(&comp, i);
        cg_de_set cs = {.bits = &comp};
        cg_de_result *r2 = run_ok(b, &a, &cs, (cg_de_method)m, 3);
        same_result(r, r2, 1e-9);
        cg_de_result_free(r2), cg_de_result_free(r);
        cg_bitset_dispose(&comp);
      }
      cg_bitset_dispose(&s1), cg_bitset_dispose(&s2);
    }
    cg_bundle_release(b);
    tds_free(&d);
  }
}

static void test_index_lists_and_threads(void **state) {
  tds d;
  cg_bundle *b = make(&d, 1, "log.cgb");
  int64_t i1[NO], i2[NO], n1 = 0, n2 = 0;
  cg_bitset s1, s2;
  cg_bitset_init(&s1, NO), cg_bitset_init(&s2, NO);
  for (int64_t i = 0; i < NO; i++) {
    if (i % 5 == 2) i1[n1++] = i, cg_bitset_set(&s1, i);
    if (i % 5 == 4) i2[n2++] = i, cg_bitset_set(&s2, i);
  }
  cg_de_set a = {.idx = i1, .n_idx = n1}, c = {.idx = i2, .n_idx = n2}, ab = {.bits = &s1}, cb = {.bits = &s2};
  for (int m = 0; m < 3; m++) {
    cg_de_result *x = run_ok(b, &a, &c, (cg_de_method)m, 1), *y = run_ok(b, &ab, &cb, (cg_de_method)m, 2);
    same_result(x, y, 1e-12);
    assert_memory_equal(cg_de_result_order(x), cg_de_result_order(y), NV * sizeof(int64_t));
    cg_de_result_free(x), cg_de_result_free(y);
  }
  cg_bitset_dispose(&s1), cg_bitset_dispose(&s2);
  cg_bundle_release(b);
  tds_free(&d);
}

/* The moment pass has an AVX2 kernel (chosen at run time) and a portable one: both must match the reference
 * and each other, on plain and log1p-like data, rows with any tail length (NV = 40 genes, rows of 0..40 values),
 * set 2 explicit and rest. */
static void test_portable_kernel(void **state) {
  for (int shape = 0; shape < 2; shape++) {
    tds d;
    cg_bundle *b = make(&d, shape, shape ? "log.cgb" : "neg.cgb");
    cg_bitset s1, s2;
    uint8_t lab2[NO], labr[NO];
    sets(0, &s1, &s2, lab2, labr);
    cg_de_set a = {.bits = &s1}, c = {.bits = &s2};
    for (int rest = 0; rest < 2; rest++) {
      cg_de_result *x = run_ok(b, &a, rest ? NULL : &c, CG_DE_WELCH, 2);
      cg__de_pass_force_portable(1);
      cg_de_result *y = run_ok(b, &a, rest ? NULL : &c, CG_DE_WELCH, 2);
      cg__de_pass_force_portable(0);
      check(&d, rest ? labr : lab2, y, CG_DE_WELCH, shape);
      same_result(x, y, 1e-12);
      cg_de_result_free(x), cg_de_result_free(y);
    }
    cg_bitset_dispose(&s1), cg_bitset_dispose(&s2);
    cg_bundle_release(b);
    tds_free(&d);
  }
}

static void on_progress(void *ctx, double f) {
  double *last = ctx;
  assert_true(f >= 0 && f <= 1);
  *last = f;
}

static void test_cancel_progress_errors(void **state) {
  tds d;
  cg_bundle *b = make(&d, 0, "neg.cgb");
  int64_t i1[] = {1, 2, 3}, i2[] = {3, 4, 5}, bad[] = {5, 4}, out[] = {NO};
  cg_de_set a = {.idx = i1, .n_idx = 3}, c = {.idx = i2, .n_idx = 3}, e = {.idx = i1, .n_idx = 0};
  cg_de_set u = {.idx = bad, .n_idx = 2}, o = {.idx = out, .n_idx = 1};
  cg_de_result *r = (cg_de_result *)1;
  cg_err err = {0};
  assert_int_equal(cg_de_run(b, &a, &c, CG_DE_WELCH, NULL, &r, &err), CG_EINVAL); /* overlap */
  assert_null(r);
  assert_non_null(strstr(err.msg, "overlap"));
  assert_int_equal(cg_de_run(b, &e, NULL, CG_DE_WELCH, NULL, &r, &err), CG_EINVAL);     /* empty */
  assert_int_equal(cg_de_run(b, &u, NULL, CG_DE_WELCH, NULL, &r, &err), CG_EINVAL);     /* unsorted */
  assert_int_equal(cg_de_run(b, &o, NULL, CG_DE_WELCH, NULL, &r, &err), CG_EINVAL);     /* out of range */
  assert_int_equal(cg_de_run(b, &a, NULL, (cg_de_method)7, NULL, &r, &err), CG_EINVAL); /* method */
  cg_bitset all;
  cg_bitset_init(&all, NO);
  cg_bitset_fill(&all, 1);
  cg_de_set as = {.bits = &all};
  assert_int_equal(cg_de_run(b, &as, NULL, CG_DE_WELCH, NULL, &r, &err), CG_EINVAL); /* rest is empty */
  atomic_int cancel = 1;
  cg_de_opts opt = {.cancel = &cancel};
  assert_int_equal(cg_de_run(b, &a, NULL, CG_DE_WILCOXON, &opt, &r, &err), CG_EINVAL);
  assert_non_null(strstr(err.msg, "cancel"));
  assert_null(r);
  double last = -1;
  cancel = 0;
  opt.on_progress = on_progress, opt.progress_ctx = &last;
  assert_int_equal(cg_de_run(b, &a, NULL, CG_DE_WILCOXON, &opt, &r, &err), 0);
  assert_true(last == 1.0);
  cg_de_result_free(r);
  cg_bitset_dispose(&all);
  cg_bundle_release(b);
  tds_free(&d);
}

static void test_top_signed_and_text(void **state) {
  tds d;
  cg_bundle *b = make(&d, 0, "neg.cgb");
  int64_t i1[NO / 2], n1 = 0;
  for (int64_t i = 0; i < NO; i += 2) i1[n1++] = i;
  cg_de_set a = {.idx = i1, .n_idx = n1};
  cg_de_result *r = run_ok(b, &a, NULL, CG_DE_CELLXGENE, 2);
  const cg_de_gene *G = cg_de_result_genes(r);
  int64_t pos[5], neg[5];
  assert_int_equal(cg_de_result_top_signed(r, 5, 1, pos), 5);
  assert_int_equal(cg_de_result_top_signed(r, 5, 0, neg), 5);
  for (int k = 1; k < 5; k++) assert_true(G[pos[k - 1]].statistic >= G[pos[k]].statistic);
  for (int k = 1; k < 5; k++) assert_true(G[neg[k - 1]].statistic <= G[neg[k]].statistic);
  for (int64_t g = 0; g < NV; g++) { /* nothing left out beats the last one taken (all pass |lfc| > 0.01?) */
    int in = 0;
    for (int k = 0; k < 5; k++) in |= pos[k] == g;
    if (!in && fabs(G[g].mean_diff) > 0.01) assert_true(G[g].statistic <= G[pos[4]].statistic);
  }
  assert_true(G[0].statistic == 0 && G[0].p == 1); /* all-zero gene: NaN t -> 0 */
  char *txt;
  size_t len;
  assert_int_equal(cg_de_result_json(r, b, 3, &txt, &len, NULL), 0);
  assert_int_equal(strlen(txt), len);
  assert_non_null(strstr(txt, "\"method\":\"cellxgene\""));
  assert_non_null(strstr(txt, "\"name\":\"GENE"));
  cg_free(txt);
  assert_int_equal(cg_de_result_csv(r, b, -1, &txt, &len, NULL), 0);
  int lines = 0;
  for (size_t i = 0; i < len; i++) lines += txt[i] == '\n';
  assert_int_equal(lines, NV + 1);
  cg_free(txt);
  cg_de_result_free(r);
  cg_bundle_release(b);
  tds_free(&d);
}

static void test_alloc_failures(void **state) {
  tds d;
  cg_bundle *b = make(&d, 1, "log.cgb");
  int64_t i1[] = {0, 5, 9, 100, 200};
  cg_de_set a = {.idx = i1, .n_idx = 5};
  cg_de_opts o = {.threads = 1};
  for (int m = 0; m < 3; m++) {
    int ok = 0;
    for (long k = 0; k < 200 && !ok; k++) {
      cg_de_result *r = NULL;
      cg_err err = {0};
      cg_mem_fail_after(k);
      int rc = cg_de_run(b, &a, NULL, (cg_de_method)m, &o, &r, &err);
      cg_mem_fail_after(-1);
      if (rc) assert_int_equal(rc, CG_ENOMEM), assert_null(r);
      else ok = 1, cg_de_result_free(r);
    }
    assert_true(ok);
  }
  cg_bundle_release(b);
  tds_free(&d);
}

static int setup(void **state) {
  const char *base = getenv("CG_TMPDIR");
  snprintf(dir, sizeof dir, "%s/test_de.%d", base && *base ? base : "/tmp", (int)getpid());
  if (base) mkdir(base, 0755);
  return mkdir(dir, 0755);
}

static int teardown(void **state) {
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));)
    if (e->d_name[0] != '.') unlink(tpath(e->d_name));
  if (d) closedir(d);
  return rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_methods),
      cmocka_unit_test(test_index_lists_and_threads),
      cmocka_unit_test(test_portable_kernel),
      cmocka_unit_test(test_cancel_progress_errors),
      cmocka_unit_test(test_top_signed_and_text),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
