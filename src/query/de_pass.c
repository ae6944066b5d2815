/* de_pass.c — the moment pass of differential expression: one sweep over the CSR rows of a cell list.
 *
 * Design notes
 *  1. Threads claim chunks of CHUNK rows of the (sorted) row list, so each thread streams contiguous runs of
 *     the CSR data/indices arrays; the per-gene accumulators of a thread ({count, sum, shifted sum of squares,
 *     sum of expm1} as four doubles = 32 bytes a gene, 64-byte aligned: 160 KB at 5 k genes, 640 KB at 20 k)
 *     stay L2-resident while the matrix streams past.
 *  2. Within a row the gene indices are strictly increasing, so the scattered updates of one row never alias
 *     and the CPU overlaps them; there is no loop-carried dependency through one accumulator.
 *  3. Sums of squares are shifted by the gene's global mean c (sum (x-c)^2) so the variance is not a small
 *     difference of large numbers; the implicit zeros of the scanned cells add (n - cnt) c^2 at the merge.
 *  4. The per-value work is split in two (measured: the old one-loop form, four scalar read-modify-writes and
 *     an inlined scalar exp per value, ran at ~9 cycles a value): a vector step turns four values into four
 *     32-byte records {1, x, (x - c[g])^2, expm1(x)} (c loaded from the centre array, expm1 by the
 *     polynomial below, a 4x4 transpose), and the scatter is then one 256-bit load-add-store per value into
 *     the gene's accumulator. That kernel is built for AVX2+FMA with a target attribute and chosen at run
 *     time (__builtin_cpu_supports); the portable kernel (any CPU; also forced by the unit tests) does the
 *     same arithmetic with GCC vector extensions and scalar adds. (Tried, no gain: the same kernel built for
 *     AVX-512VL, 32 registers so no spills; vgatherdps for the centres, 0.6 ns a value slower than 4 loads.)
 *  5. expm1(x) (the fold change on log1p data) is inlined, four lanes at a time: libm's expm1 costs ~20 ns a
 *     call and made the log1p-data pass 6x slower. See vexpm1 for the error bound.
 *  6. The mode (log1p first, expm1 sums or not) is a compile-time constant of each kernel instance.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX2_KERNEL 1
#endif

#include "base/mem.h"
#include "query/de_int.h"

#define CHUNK 2048
/* Software prefetch, in values: PF ahead within a row (every 16th value, i.e. once per 64-byte line of each
 * array) and the first PF values of the next row of the list. Rows of a cell set are not adjacent and about
 * 2 KB long, so each one starts a stream the hardware prefetcher has not seen (often on a new 4 KB page);
 * measured: 2.56 -> 2.2 ns a value on one thread (no gain from 128 or 1024, less from the next row alone). */
#define PF 256

/* --- expm1, four lanes at a time -------------------------------------------------------------------------
 * x = k ln2 + r, |r| <= ln2/2 (k = round(x / ln2) by the 1.5*2^52 shift; ln2 split hi + lo as in fdlibm so
 * k * hi is exact); q(r) = e^r - 1 by its degree-12 Taylor polynomial without the constant term (truncation
 * < 1.8e-16 absolute, so q is accurate to ~5e-16 relative even for tiny r); expm1(x) = 2^k q + (2^k - 1):
 * exactly q when |x| < ln2/2, no cancellation otherwise. Checked against long-double expm1l on 4 M float
 * inputs in each of [-700, 700], [0, 24], +-[1e-12, 1e-3]: at most 8 ulp (the worst near |x| = ln2/2), 1 ulp
 * for tiny |x|. Valid for -700 < x < 700; callers recompute lanes
 * outside (or NaN) with libm. Written once as a macro over a vector type so the AVX2 kernel (__m256d) and
 * the portable kernel (GCC vector extension) share the arithmetic. */
typedef double v4d __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
typedef uint64_t v4u __attribute__((vector_size(32)));
typedef int64_t v4l __attribute__((vector_size(32)));

#define SPLAT(x) ((v4d){(x), (x), (x), (x)})
#define EXPM1_BODY(x, out)                                                                                      \
  do {                                                                                                          \
    v4d kd_ = (x) * SPLAT(1.4426950408889634074) + SPLAT(0x1.8p52);                                            \
    v4u kb_ = (v4u)kd_;                                                                                         \
    kd_ -= SPLAT(0x1.8p52);                                                                                     \
    v4d r_ = ((x) - kd_ * SPLAT(6.93147180369123816490e-01)) - kd_ * SPLAT(1.90821492927058770002e-10);       \
    v4d q_ = SPLAT(1.0 / 479001600);                                                                            \
    q_ = q_ * r_ + SPLAT(1.0 / 39916800), q_ = q_ * r_ + SPLAT(1.0 / 3628800);                                  \
    q_ = q_ * r_ + SPLAT(1.0 / 362880), q_ = q_ * r_ + SPLAT(1.0 / 40320), q_ = q_ * r_ + SPLAT(1.0 / 5040);    \
    q_ = q_ * r_ + SPLAT(1.0 / 720), q_ = q_ * r_ + SPLAT(1.0 / 120), q_ = q_ * r_ + SPLAT(1.0 / 24);          \
    q_ = q_ * r_ + SPLAT(1.0 / 6), q_ = q_ * r_ + SPLAT(0.5), q_ = q_ * r_ + SPLAT(1.0), q_ = q_ * r_;         \
    v4u one_ = {1, 1, 1, 1};                                                                                    \
    v4d s_ = (v4d)((kb_ - one_ * 0x4338000000000000u + one_ * 1023u) << 52);                                   \
    (out) = s_ * q_ + (s_ - SPLAT(1.0));                                                                        \
  } while (0)

/* The same for one value (tails, the portable kernel's scalar check): libm for the rare out-of-range value. */
static inline int in_range(double x) { return x > -700 && x < 700; }

/* --- the portable kernel ---------------------------------------------------------------------------------- */

#define BLK 512 /* values per block of the portable kernel (one double buffer of 4 KB) */

static inline __attribute__((always_inline)) void block_portable(cg__de_acc *restrict a, const float *restrict c,
                                                                const uint32_t *restrict ix,
                                                                const float *restrict v, int64_t n, unsigned mode) {
  double te[BLK] __attribute__((aligned(32)));
  int64_t n4 = (mode & CG__DE_EXPM1) ? n & ~(int64_t)3 : 0;
  for (int64_t k = 0; k < n4; k += 4) {
    v4d x, e;
    for (int l = 0; l < 4; l++) x[l] = (mode & CG__DE_LOG1P) ? log1p((double)v[k + l]) : (double)v[k + l];
    EXPM1_BODY(x, e);
    for (int l = 0; l < 4; l++) te[k + l] = in_range(x[l]) ? e[l] : expm1(x[l]);
  }
  for (int64_t k = n4; (mode & CG__DE_EXPM1) && k < n; k++)
    te[k] = expm1((mode & CG__DE_LOG1P) ? log1p((double)v[k]) : (double)v[k]);
  for (int64_t k = 0; k < n; k++) {
    cg__de_acc *g = &a[ix[k]];
    double x = (mode & CG__DE_LOG1P) ? log1p((double)v[k]) : (double)v[k], d = x - c[ix[k]];
    g->cnt += 1;
    g->s1 += x;
    g->s2 += d * d;
    if (mode & CG__DE_EXPM1) g->se += te[k];
  }
}

static void row_portable(cg__de_acc *restrict a, const float *restrict c, const uint32_t *restrict ix,
                         const float *restrict v, int64_t n, unsigned mode) {
  for (int64_t k = 0; k < n; k += BLK) {
    int64_t m = n - k < BLK ? n - k : BLK;
    switch (mode) {
    case 0: block_portable(a, c, ix + k, v + k, m, 0); break;
    case CG__DE_LOG1P: block_portable(a, c, ix + k, v + k, m, CG__DE_LOG1P); break;
    case CG__DE_EXPM1: block_portable(a, c, ix + k, v + k, m, CG__DE_EXPM1); break;
    default: block_portable(a, c, ix + k, v + k, m, CG__DE_LOG1P | CG__DE_EXPM1); break;
    }
  }
}

/* --- the AVX2 kernel -------------------------------------------------------------------------------------- */

#ifdef HAVE_AVX2_KERNEL
#define AVX2 __attribute__((target("avx2,fma"), always_inline)) inline

/* Four values (lanes < 4: a row's tail; missing lanes are 0, use lane 0's centre and are not stored). */
static AVX2 void quad_avx2(cg__de_acc *restrict a, const float *restrict c, const uint32_t *restrict ix,
                           const float *restrict v, int lanes, unsigned mode) {
  __m128 f4;
  if (lanes == 4) {
    f4 = _mm_loadu_ps(v);
  } else {
    float fb[4] = {0};
    for (int l = 0; l < lanes; l++) fb[l] = v[l];
    f4 = _mm_loadu_ps(fb);
  }
  __m256d x = _mm256_cvtps_pd(f4);
  if (mode & CG__DE_LOG1P) {
    double t[4];
    _mm256_storeu_pd(t, x);
    x = _mm256_setr_pd(log1p(t[0]), log1p(t[1]), log1p(t[2]), log1p(t[3]));
  }
  /* the four centres by scalar loads: vgatherdps measured 0.6 ns a value slower here */
  __m128 c4 = _mm_setr_ps(c[ix[0]], c[ix[lanes > 1]], c[ix[lanes > 2 ? 2 : 0]], c[ix[lanes > 3 ? 3 : 0]]);
  __m256d d = _mm256_sub_pd(x, _mm256_cvtps_pd(c4));
  __m256d d2 = _mm256_mul_pd(d, d), e = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
  if (mode & CG__DE_EXPM1) {
    v4d xv = (v4d)x, ev;
    EXPM1_BODY(xv, ev);
    e = (__m256d)ev;
    __m256d ok = _mm256_and_pd(_mm256_cmp_pd(x, _mm256_set1_pd(-700), _CMP_GT_OQ),
                               _mm256_cmp_pd(x, _mm256_set1_pd(700), _CMP_LT_OQ));
    if (__builtin_expect(_mm256_movemask_pd(ok) != 15, 0)) {
      double t[4], u[4];
      _mm256_storeu_pd(t, x), _mm256_storeu_pd(u, e);
      for (int l = 0; l < 4; l++) u[l] = in_range(t[l]) ? u[l] : expm1(t[l]);
      e = _mm256_loadu_pd(u);
    }
  }
  /* columns {1, x, d2, e} -> one record per value */
  __m256d t0 = _mm256_unpacklo_pd(one, x), t1 = _mm256_unpackhi_pd(one, x);
  __m256d t2 = _mm256_unpacklo_pd(d2, e), t3 = _mm256_unpackhi_pd(d2, e);
#define ADD_REC(l, rec)                                                                                         \
  do {                                                                                                          \
    double *g_ = (double *)&a[ix[l]];                                                                           \
    _mm256_store_pd(g_, _mm256_add_pd(_mm256_load_pd(g_), (rec)));                                              \
  } while (0)
  ADD_REC(0, _mm256_permute2f128_pd(t0, t2, 0x20));
  if (lanes > 1) ADD_REC(1, _mm256_permute2f128_pd(t1, t3, 0x20));
  if (lanes > 2) ADD_REC(2, _mm256_permute2f128_pd(t0, t2, 0x31));
  if (lanes > 3) ADD_REC(3, _mm256_permute2f128_pd(t1, t3, 0x31));
#undef ADD_REC
}

static AVX2 void rowm_avx2(cg__de_acc *restrict a, const float *restrict c, const uint32_t *restrict ix,
                           const float *restrict v, int64_t n, unsigned mode) {
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    if ((k & 15) == 0) __builtin_prefetch(v + k + PF), __builtin_prefetch(ix + k + PF);
    quad_avx2(a, c, ix + k, v + k, 4, mode);
  }
  if (k < n) quad_avx2(a, c, ix + k, v + k, (int)(n - k), mode);
}

static __attribute__((target("avx2,fma"))) void row_avx2(cg__de_acc *restrict a, const float *restrict c,
                                                          const uint32_t *restrict ix, const float *restrict v,
                                                          int64_t n, unsigned mode) {
  switch (mode) {
  case 0: rowm_avx2(a, c, ix, v, n, 0); break;
  case CG__DE_LOG1P: rowm_avx2(a, c, ix, v, n, CG__DE_LOG1P); break;
  case CG__DE_EXPM1: rowm_avx2(a, c, ix, v, n, CG__DE_EXPM1); break;
  default: rowm_avx2(a, c, ix, v, n, CG__DE_LOG1P | CG__DE_EXPM1); break;
  }
}
#endif

typedef void (*row_fn)(cg__de_acc *restrict, const float *restrict, const uint32_t *restrict,
                       const float *restrict, int64_t, unsigned);

static atomic_int force_portable;

void cg__de_pass_force_portable(int on) { atomic_store(&force_portable, on); }

static row_fn pick_kernel(void) {
#ifdef HAVE_AVX2_KERNEL
  __builtin_cpu_init();
  if (!atomic_load(&force_portable) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return row_avx2;
#endif
  return row_portable;
}

/* --- the pass --------------------------------------------------------------------------------------------- */

typedef struct pass {
  const cg_bundle_csx *csr;
  const float *center;
  const int64_t *rows;
  const uint8_t *side;
  int64_t n_rows, n_genes, stride; /* stride: accumulators between one side's array and the next */
  int n_sides;
  unsigned mode;
  row_fn row;
  cg__de_acc **acc; /* per thread: n_sides arrays of n_genes, each 64-byte aligned */
} pass;

static int on_chunk(void *ctx, int tid, int64_t chunk) {
  pass *p = ctx;
  cg__de_acc *a = p->acc[tid];
  int64_t lo = chunk * CHUNK, hi = lo + CHUNK < p->n_rows ? lo + CHUNK : p->n_rows;
  const uint64_t *ip = p->csr->indptr;
  for (int64_t i = lo; i < hi; i++) {
    int64_t r = p->rows[i], s = (int64_t)ip[r], n = (int64_t)ip[r + 1] - s;
    if (i + 1 < hi) {
      int64_t s2 = (int64_t)ip[p->rows[i + 1]];
      for (int64_t q = 0; q < PF; q += 16)
        __builtin_prefetch(p->csr->data + s2 + q), __builtin_prefetch(p->csr->indices + s2 + q);
    }
    p->row(p->side ? a + p->side[i] * p->stride : a, p->center, p->csr->indices + s, p->csr->data + s, n, p->mode);
  }
  return 0;
}

static void merge(const pass *p, int threads, const float *center, cg__de_moments *const *mom) {
  double n[2] = {0, 0};
  for (int64_t i = 0; i < p->n_rows; i++) n[p->side ? p->side[i] : 0]++;
  for (int sd = 0; sd < p->n_sides; sd++)
    for (int64_t g = 0; g < p->n_genes; g++) {
      cg__de_moments m = {.n = n[sd]};
      for (int t = 0; t < threads; t++) {
        const cg__de_acc *a = &p->acc[t][sd * p->stride + g];
        m.cnt += a->cnt, m.s1 += a->s1, m.s2 += a->s2, m.se += a->se;
      }
      double c = center[g];
      m.s2 += (m.n - m.cnt) * c * c; /* the implicit zeros */
      mom[sd][g] = m;
    }
}

int cg__de_pass(const cg_bundle_csx *csr, const float *center, const int64_t *rows, const uint8_t *side,
                int64_t n_rows, unsigned mode, const cg_de_opts *o, cg__de_moments *const *mom, cg_err *err) {
  int threads = cg__de_threads(o), rc = 0;
  int64_t n_chunks = (n_rows + CHUNK - 1) / CHUNK;
  if (threads > n_chunks) threads = n_chunks > 0 ? (int)n_chunks : 1;
  pass p = {csr, center, rows, side, n_rows, csr->n_minor, (csr->n_minor + 1) & ~(int64_t)1, side ? 2 : 1, mode,
            pick_kernel(), NULL};
  void **raw = cg_calloc((size_t)threads, sizeof *raw);
  if (!raw || !(p.acc = cg_calloc((size_t)threads, sizeof *p.acc)))
    return cg_free(raw), cg_err_set(err, CG_ENOMEM, "diffexp: threads");
  for (int t = 0; t < threads && !rc; t++) {
    if (!(raw[t] = cg_calloc((size_t)(p.n_sides * p.stride) * sizeof(cg__de_acc) + 64, 1)))
      rc = cg_err_set(err, CG_ENOMEM, "diffexp: accumulators for %lld genes", (long long)p.n_genes);
    else p.acc[t] = (cg__de_acc *)(((uintptr_t)raw[t] + 63) & ~(uintptr_t)63);
  }
  if (!rc) rc = cg__de_parallel(threads, n_chunks, on_chunk, &p, o, err);
  if (!rc) merge(&p, threads, center, mom);
  for (int t = 0; t < threads; t++) cg_free(raw[t]);
  cg_free(raw), cg_free(p.acc);
  return rc;
}
