/* de_out.c — a DE result as JSON or CSV text (contract in de.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "query/de.h"

typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void put(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *s, const char *fmt, ...) {
  for (int pass = 0; pass < 2 && !s->oom; pass++) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return (void)(s->oom = 1);
    if (s->p && s->len + (size_t)n < s->cap) return (void)(s->len += (size_t)n);
    size_t cap = (s->cap ? s->cap * 2 : 1 << 16) + (size_t)n + 1;
    char *q = cg_realloc(s->p, cap);
    if (!q) return (void)(s->oom = 1);
    s->p = q, s->cap = cap;
  }
}

static void num(sbuf *s, const char *key, double v, int json) {
  const char *sep = json ? "," : ",";
  if (json) put(s, "%s\"%s\":", sep, key);
  else put(s, "%s", sep);
  if (isfinite(v)) put(s, "%.17g", v);
  else put(s, "%s", json ? "null" : isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

static void json_str(sbuf *s, const char *str) {
  put(s, "\"");
  for (const unsigned char *c = (const unsigned char *)str; c && *c; c++) {
    if (*c == '"' || *c == '\\') put(s, "\\%c", *c);
    else if (*c < 0x20) put(s, "\\u%04x", *c);
    else put(s, "%c", *c);
  }
  put(s, "\"");
}

static void csv_str(sbuf *s, const char *str) {
  put(s, "\"");
  for (const char *c = str; c && *c; c++) put(s, *c == '"' ? "\"\"" : "%c", *c);
  put(s, "\"");
}

static const char *gene_name(const cg_bundle *b, int64_t i) {
  const char *n = cg_bundle_str(cg_bundle_index(b, CG_BUNDLE_VAR), i, NULL);
  return n ? n : "";
}

/* The numeric fields after "index","name","rank" (same order for JSON and CSV). */
static void fields(sbuf *s, const cg_de_gene *g, int json) {
  static const char *const K[] = {"statistic", "p", "log_p", "p_adj_bonferroni", "p_adj_bh",
                                  "log_p_adj_bonferroni", "log_p_adj_bh", "mean1", "mean2", "var1", "var2",
                                  "frac1", "frac2", "nnz1", "nnz2", "mean_diff", "lfc", "dof", "z", "auroc"};
  double v[] = {g->statistic, g->p, g->log_p, g->p_adj_bonferroni, g->p_adj_bh, g->log_p_adj_bonferroni,
                g->log_p_adj_bh, g->mean1, g->mean2, g->var1, g->var2, g->frac1, g->frac2, (double)g->nnz1,
                (double)g->nnz2, g->mean_diff, g->lfc, g->dof, g->z, g->auroc};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) num(s, K[i], v[i], json);
}

static int finish(sbuf *s, char **buf, size_t *len, cg_err *err) {
  if (s->oom || !s->p) {
    cg_free(s->p);
    *buf = NULL, *len = 0;
    return cg_err_set(err, CG_ENOMEM, "diffexp: output text");
  }
  *buf = s->p, *len = s->len;
  return 0;
}

static int64_t count(const cg_de_result *r, int64_t top) {
  int64_t n = cg_de_result_n_genes(r);
  return top < 0 || top > n ? n : top;
}

int cg_de_result_json(const cg_de_result *r, const cg_bundle *b, int64_t top, char **buf, size_t *len, cg_err *err) {
  sbuf s = {0};
  const cg_de_gene *g = cg_de_result_genes(r);
  const int64_t *o = cg_de_result_order(r);
  put(&s, "{\"method\":\"%s\",\"n1\":%lld,\"n2\":%lld,\"n_genes\":%lld,\"lfc_kind\":\"%s\",\"log1p_applied\":%s,"
      "\"genes\":[", cg_de_method_name(cg_de_result_method(r)), (long long)cg_de_result_n1(r),
      (long long)cg_de_result_n2(r), (long long)cg_de_result_n_genes(r),
      cg_de_lfc_kind_name(cg_de_result_lfc_kind(r)), cg_de_result_log1p_applied(r) ? "true" : "false");
  for (int64_t k = 0, n = count(r, top); k < n; k++) {
    put(&s, "%s{\"index\":%lld,\"name\":", k ? "," : "", (long long)o[k]);
    json_str(&s, gene_name(b, o[k]));
    put(&s, ",\"rank\":%lld", (long long)g[o[k]].rank);
    fields(&s, &g[o[k]], 1);
    put(&s, "}");
  }
  put(&s, "]}\n");
  return finish(&s, buf, len, err);
}

int cg_de_result_csv(const cg_de_result *r, const cg_bundle *b, int64_t top, char **buf, size_t *len, cg_err *err) {
  sbuf s = {0};
  const cg_de_gene *g = cg_de_result_genes(r);
  const int64_t *o = cg_de_result_order(r);
  put(&s, "index,name,rank,statistic,p,log_p,p_adj_bonferroni,p_adj_bh,log_p_adj_bonferroni,log_p_adj_bh,"
          "mean1,mean2,var1,var2,frac1,frac2,nnz1,nnz2,mean_diff,lfc,dof,z,auroc\n");
  for (int64_t k = 0, n = count(r, top); k < n; k++) {
    put(&s, "%lld,", (long long)o[k]);
    csv_str(&s, gene_name(b, o[k]));
    put(&s, ",%lld", (long long)g[o[k]].rank);
    fields(&s, &g[o[k]], 0);
    put(&s, "\n");
  }
  return finish(&s, buf, len, err);
}
