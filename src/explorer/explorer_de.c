/* explorer_de.c — the diffexp/obs routes' engine: cg_de_run with cellxgene's method (query/de.h) and its
 * top-N lists as cellxgene's JSON, {"positive":[[var_idx,lfc,pval,pval_adj],...],"negative":[...]}. */
#include <math.h>
#include <stdio.h>

#include "base/mem.h"
#include "explorer/explorer_de.h"
#include "query/de.h"

int cg_explorer_de_available(void) { return 1; }

static size_t put_num(char *p, double v) {
  return isfinite(v) ? (size_t)sprintf(p, "%.17g", v) : (size_t)sprintf(p, "null");
}

/* Appends one list to p; returns the bytes written. */
static size_t put_list(char *p, const cg_de_result *r, const int64_t *idx, int64_t n) {
  const cg_de_gene *g = cg_de_result_genes(r);
  size_t o = 0;
  p[o++] = '[';
  for (int64_t k = 0; k < n; k++) {
    const cg_de_gene *x = &g[idx[k]];
    o += (size_t)sprintf(p + o, "%s[%lld,", k ? "," : "", (long long)idx[k]);
    o += put_num(p + o, x->lfc), p[o++] = ',';
    o += put_num(p + o, x->p), p[o++] = ',';
    o += put_num(p + o, x->p_adj_bonferroni), p[o++] = ']';
  }
  p[o++] = ']';
  return o;
}

int cg_explorer_de_run(const cg_explorer_de_req *r, char **json, size_t *len, cg_err *err) {
  *json = NULL, *len = 0;
  cg_de_set a = {.bits = r->set1}, b = {.bits = r->set2};
  cg_de_result *res = NULL;
  int64_t n = r->count > 0 ? r->count : 50, *pos = cg_malloc_array((size_t)n, 8), *neg = cg_malloc_array((size_t)n, 8);
  char *buf = cg_malloc((size_t)(2 * n) * 100 + 64); /* 4 numbers of <= 24 chars + punctuation per row */
  int rc = pos && neg && buf ? 0 : cg_err_set(err, CG_ENOMEM, "diffexp: response");
  if (!rc) rc = cg_de_run(r->b, &a, &b, CG_DE_CELLXGENE, NULL, &res, err);
  if (!rc) {
    int64_t np = cg_de_result_top_signed(res, n, 1, pos), nn = cg_de_result_top_signed(res, n, 0, neg);
    size_t o = (size_t)sprintf(buf, "{\"positive\":");
    o += put_list(buf + o, res, pos, np);
    o += (size_t)sprintf(buf + o, ",\"negative\":");
    o += put_list(buf + o, res, neg, nn);
    o += (size_t)sprintf(buf + o, "}");
    *json = buf, *len = o, buf = NULL;
  }
  cg_de_result_free(res);
  cg_free(buf), cg_free(pos), cg_free(neg);
  return rc;
}
