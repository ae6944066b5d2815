/* explorer_de.c — the diffexp routes' engine seam and the v0.3 diffexp/obs2 route.
 *
 *  cg_explorer_de_run: cg_de_run with cellxgene's method (query/de.h) and its top-N lists as cellxgene's JSON,
 *  {"positive":[[var_idx,lfc,pval,pval_adj],...],"negative":[...]}; used by diffexp/obs (explorer_fbs.c) and
 *  diffexp/obs2 (here).
 *
 *  diffexp/obs2 (compat §2; upstream rest.py diffex_binary_post): the body is a diffex PDU (wire/pdu.h). The
 *  connection thread checks Content-Length (411) and Content-Type (415) and the 100 MiB limit (413, http.c);
 *  on a worker the canon step decodes it (any decode error, including the never-implemented VarFilter mode,
 *  is a 400 as upstream), refuses empty or overlapping sets (400, naming which), and keys the response by the
 *  decoded sets, so two encodings of the same sets share one ETag and one cached body. The build runs the
 *  same path as diffexp/obs with N = the PDU's N.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "base/mem.h"
#include "explorer/explorer_de.h"
#include "explorer/explorer_int.h"
#include "query/de.h"
#include "wire/pdu.h"

#define ROW_MAX 100 /* one [idx,lfc,p,p_adj] row: 4 numbers of <= 24 chars + punctuation */

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

/* Rows per direction: count (< 0 = 50), at most the number of genes. */
static int64_t rows(const cg_bundle *b, int count) {
  int64_t n = count < 0 ? 50 : count, nv = cg_bundle_n_vars(b);
  return n < nv ? n : nv > 0 ? nv : 0;
}

int cg_explorer_de_run(const cg_explorer_de_req *r, char **json, size_t *len, cg_err *err) {
  *json = NULL, *len = 0;
  cg_de_set a = {.bits = r->set1}, b = {.bits = r->set2};
  cg_de_result *res = NULL;
  int64_t n = rows(r->b, r->count);
  int64_t *pos = cg_malloc_array((size_t)n + 1, 8), *neg = cg_malloc_array((size_t)n + 1, 8);
  char *buf = cg_malloc((size_t)(2 * n) * ROW_MAX + 64);
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

/* --- helpers shared with the native route (explorer_v1.c) --------------------------------------------------- */

void cg__x_set_digest(const cg_bitset *s, char out[64]) {
  XXH128_hash_t h = XXH3_128bits(s->w, (size_t)cg_bitset_words(s) * sizeof *s->w);
  snprintf(out, 64, "%lld:%016llx%016llx", (long long)cg_bitset_count(s), (unsigned long long)h.high64,
           (unsigned long long)h.low64);
}

int cg__x_check_sets(int64_t n1, int64_t n2, int64_t overlap, cg_err *err) {
  if (n1 == 0 && n2 == 0) return cg_err_set(err, CG_EINVAL, "set1 and set2 are both empty");
  if (n1 == 0) return cg_err_set(err, CG_EINVAL, "set1 is empty: it selects no cells");
  if (n2 == 0) return cg_err_set(err, CG_EINVAL, "set2 is empty: it selects no cells");
  if (overlap > 0)
    return cg_err_set(err, CG_EINVAL, "set1 and set2 overlap: %lld cells are in both (the sets must be disjoint)",
                      (long long)overlap);
  return 0;
}

/* --- diffexp/obs2 ---------------------------------------------------------------------------------------- */

static void pdu_free(void *p) {
  cg_pdu_dispose(p);
  cg_free(p);
}

int cg__x_diffexp_obs2_canon(cg__xq *q, cg_err *err) {
  cg_pdu *p = cg_calloc(1, sizeof *p);
  if (!p) return cg_err_set(err, CG_ENOMEM, "diffexp/obs2");
  q->state = p, q->state_free = pdu_free;
  int rc = cg_pdu_decode(q->body, q->blen, cg_bundle_n_obs(q->b), p, err);
  if (rc == CG_EUNSUPPORTED) rc = CG_EFORMAT; /* upstream's decoder refuses every mode but TopN with a 400 */
  if (rc) return cg_err_prefix(err, "diffex PDU"), rc;
  rc = cg__x_check_sets(p->count[0], p->count[1], p->n_overlap, err);
  if (rc) return rc;
  char d1[64], d2[64];
  cg__x_set_digest(&p->set[0], d1);
  cg__x_set_digest(&p->set[1], d2);
  snprintf(q->canon, sizeof q->canon, "pdu|%u|%s|%s", p->top_n, d1, d2);
  return 0;
}

/* The two lists (N from the PDU header when readable), the decoded bitsets and the engine's per-gene table. */
cg__xcost cg__x_diffexp_obs2_cost(const cg__xq *q) {
  const uint8_t *b = (const uint8_t *)q->body;
  int count = q->blen >= 4 ? b[2] | b[3] << 8 : 50;
  size_t n = (size_t)rows(q->b, count), n_obs = (size_t)cg_bundle_n_obs(q->b);
  size_t genes = (size_t)cg_bundle_n_vars(q->b);
  return (cg__xcost){2 * n * ROW_MAX + 64, n_obs / 4 + genes * (sizeof(cg_de_gene) + 16)};
}

int cg__x_diffexp_obs2(cg__xq *q, cg__xout *o, cg_err *err) {
  const cg_pdu *p = q->state;
  cg_explorer_de_req dr = {q->b, &p->set[0], &p->set[1], (int)p->top_n, 3};
  char *json = NULL;
  int rc = cg_explorer_de_run(&dr, &json, &o->len, err);
  if (!rc) o->buf = (uint8_t *)json, o->ctype = "application/json";
  return rc;
}
