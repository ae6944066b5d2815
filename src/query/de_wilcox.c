/* de_wilcox.c — Mann–Whitney U per gene from the CSC orientation (contract in de.h, CG_DE_WILCOXON).
 *
 * Design notes
 *  1. For gene g, the column's stored entries are split by label[cell] into the non-zero values of set 1 and
 *     of set 2, as order-preserving uint32 keys (sign-magnitude float -> unsigned). Zeros, implicit or stored,
 *     are one tie block of z1 = n1 - m1 and z2 = n2 - m2 cells; it is never materialised.
 *  2. Each run is sorted by an LSD radix sort (11/11/10-bit digits, passes whose digit is constant skipped;
 *     insertion sort below 64 keys), then the two sorted runs are merged group by group of equal keys,
 *     the zero block entering where the keys cross zero. A group of t = c1 + c2 ties at ranks r+1..r+t adds
 *     c1 * (r + (t+1)/2) to R1 and t^3 - t to the tie term.
 *  3. U1 = R1 - n1(n1+1)/2; U = max(U1, n1 n2 - U1); z = (U - n1 n2/2 - 1/2) / s with
 *     s = sqrt(n1 n2 / 12 * ((n+1) - ties / (n(n-1)))); p = min(1, 2 sf(z)) — scipy 1.10's
 *     _mannwhitneyu asymptotic path, line for line (s = 0 gives z = -inf and p = 1). A NaN value gives NaN.
 *  4. Threads take chunks of CHUNK genes and own their sort buffers (sized by the longest column).
 */
#include <math.h>
#include <string.h>

#include "base/mem.h"
#include "query/de_int.h"
#include "stats/stats.h"

#define CHUNK 16
#define ZERO_KEY 0x80000000u

typedef struct wbuf {
  uint32_t *k[2], *tmp;
} wbuf;

typedef struct wctx {
  const cg_bundle_csx *csc;
  const uint8_t *label;
  int64_t n1, n2;
  cg_de_gene *genes;
  wbuf *buf; /* per thread */
} wctx;

static inline uint32_t fkey(float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static void insertion_sort(uint32_t *a, int64_t n) {
  for (int64_t i = 1; i < n; i++) {
    uint32_t v = a[i];
    int64_t j = i;
    for (; j > 0 && a[j - 1] > v; j--) a[j] = a[j - 1];
    a[j] = v;
  }
}

/* One LSD pass on digit (shift, bits) from src to dst; returns 0 if skipped (constant digit). */
static int radix_pass(const uint32_t *src, uint32_t *dst, int64_t n, int shift, int bits) {
  int64_t cnt[2048] = {0};
  uint32_t mask = (1u << bits) - 1;
  for (int64_t i = 0; i < n; i++) cnt[(src[i] >> shift) & mask]++;
  if (cnt[(src[0] >> shift) & mask] == n) return 0;
  int64_t sum = 0;
  for (uint32_t d = 0; d <= mask; d++) {
    int64_t c = cnt[d];
    cnt[d] = sum, sum += c;
  }
  for (int64_t i = 0; i < n; i++) dst[cnt[(src[i] >> shift) & mask]++] = src[i];
  return 1;
}

/* Sorts a[0..n); tmp has room for n. The result is in a. */
static void sort_keys(uint32_t *a, uint32_t *tmp, int64_t n) {
  if (n < 64) {
    insertion_sort(a, n);
    return;
  }
  static const int shift[3] = {0, 11, 22}, bits[3] = {11, 11, 10};
  uint32_t *src = a, *dst = tmp;
  for (int d = 0; d < 3; d++)
    if (radix_pass(src, dst, n, shift[d], bits[d])) {
      uint32_t *t = src;
      src = dst, dst = t;
    }
  if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

typedef struct ranksum {
  double r, r1, ties;
} ranksum;

static inline void group(ranksum *s, double c1, double c2) {
  double t = c1 + c2;
  if (t == 0) return;
  s->r1 += c1 * (s->r + (t + 1) / 2);
  s->ties += t * t * t - t;
  s->r += t;
}

/* Merges the sorted runs k1[0..m1), k2[0..m2) with the zero block (z1, z2); fills *s. */
static void merge_ranks(const uint32_t *k1, int64_t m1, const uint32_t *k2, int64_t m2, double z1, double z2,
                        ranksum *s) {
  int64_t i = 0, j = 0;
  int zero_done = 0;
  while (i < m1 || j < m2) {
    uint32_t a = i < m1 ? k1[i] : UINT32_MAX, b = j < m2 ? k2[j] : UINT32_MAX, k = a < b ? a : b;
    if (!zero_done && k > ZERO_KEY) group(s, z1, z2), zero_done = 1;
    int64_t c1 = 0, c2 = 0;
    while (i < m1 && k1[i] == k) i++, c1++;
    while (j < m2 && k2[j] == k) j++, c2++;
    group(s, (double)c1, (double)c2);
  }
  if (!zero_done) group(s, z1, z2);
}

static void u_test(cg_de_gene *g, double n1, double n2, const ranksum *s) {
  double u1 = s->r1 - n1 * (n1 + 1) / 2, u2 = n1 * n2 - u1, u = u1 > u2 ? u1 : u2;
  double n = n1 + n2, mu = n1 * n2 / 2;
  double sd = sqrt(n1 * n2 / 12 * ((n + 1) - s->ties / (n * (n - 1))));
  double z = (u - mu - 0.5) / sd;
  double lp = M_LN2 + cg_stats_norm_logsf(z);
  g->statistic = u1, g->z = z, g->auroc = u1 / (n1 * n2);
  g->log_p = isnan(lp) ? NAN : lp > 0 ? 0 : lp;
}

static void one_gene(wctx *w, wbuf *b, int64_t gi) {
  const cg_bundle_csx *c = w->csc;
  int64_t lo = (int64_t)c->indptr[gi], hi = (int64_t)c->indptr[gi + 1], m[3] = {0, 0, 0};
  int nan = 0;
  for (int64_t e = lo; e < hi; e++) {
    uint8_t l = w->label[c->indices[e]];
    float v = c->data[e];
    if (!l || v == 0) continue;
    nan |= v != v;
    b->k[l - 1][m[l]++] = fkey(v);
  }
  cg_de_gene *g = &w->genes[gi];
  if (nan) {
    g->statistic = g->z = g->auroc = g->log_p = NAN;
    return;
  }
  sort_keys(b->k[0], b->tmp, m[1]);
  sort_keys(b->k[1], b->tmp, m[2]);
  ranksum s = {0, 0, 0};
  merge_ranks(b->k[0], m[1], b->k[1], m[2], (double)(w->n1 - m[1]), (double)(w->n2 - m[2]), &s);
  u_test(g, (double)w->n1, (double)w->n2, &s);
}

static int on_chunk(void *ctx, int tid, int64_t chunk) {
  wctx *w = ctx;
  int64_t lo = chunk * CHUNK, hi = lo + CHUNK < w->csc->n_major ? lo + CHUNK : w->csc->n_major;
  for (int64_t g = lo; g < hi; g++) one_gene(w, &w->buf[tid], g);
  return 0;
}

static int64_t longest_column(const cg_bundle_csx *c) {
  uint64_t m = 0;
  for (int64_t g = 0; g < c->n_major; g++)
    if (c->indptr[g + 1] - c->indptr[g] > m) m = c->indptr[g + 1] - c->indptr[g];
  return (int64_t)m;
}

int cg__de_wilcoxon(const cg_bundle_csx *csc, const uint8_t *label, int64_t n1, int64_t n2,
                    const cg_de_opts *o, cg_de_gene *genes, cg_err *err) {
  int threads = cg__de_threads(o), rc = 0;
  int64_t n_chunks = (csc->n_major + CHUNK - 1) / CHUNK, len = longest_column(csc) + 1;
  if (threads > n_chunks) threads = n_chunks > 0 ? (int)n_chunks : 1;
  wctx w = {csc, label, n1, n2, genes, cg_calloc((size_t)threads, sizeof(wbuf))};
  if (!w.buf) return cg_err_set(err, CG_ENOMEM, "wilcoxon: buffers");
  for (int t = 0; t < threads && !rc; t++) {
    wbuf *b = &w.buf[t];
    b->k[0] = cg_malloc_array((size_t)len, 4), b->k[1] = cg_malloc_array((size_t)len, 4);
    b->tmp = cg_malloc_array((size_t)len, 4);
    if (!b->k[0] || !b->k[1] || !b->tmp) rc = cg_err_set(err, CG_ENOMEM, "wilcoxon: sort buffers of %lld", (long long)len);
  }
  if (!rc) rc = cg__de_parallel(threads, n_chunks, on_chunk, &w, o, err);
  for (int t = 0; t < threads; t++) cg_free(w.buf[t].k[0]), cg_free(w.buf[t].k[1]), cg_free(w.buf[t].tmp);
  cg_free(w.buf);
  return rc;
}
