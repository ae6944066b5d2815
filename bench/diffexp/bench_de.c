/* bench_de.c — times cg_de_run on one bundle beside the memory-bandwidth floor measured in the same run.
 *
 * usage: bench_de BUNDLE CASE METHOD RUNS THREADS
 *   CASE: half (even cells vs the rest), tenth (every 10th cell vs the rest), two50k (two disjoint sets of
 *         50,000 cells spread over the dataset). METHOD: welch | wilcoxon | cellxgene.
 * Prints one JSON line: {"case","method","n1","n2","rows_read","bytes_read","floor_s","de_s"} with the best of
 * RUNS for both. The floor is a vectorised sum over the CSR data + indices of the rows the engine reads
 * (the smaller side for "vs rest", both sets otherwise), on THREADS threads; for wilcoxon also of the whole
 * CSC data + indices, which the rank test walks.
 * Built by bench/diffexp/run.sh against the build's libcgcore.a. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query/de.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct fl {
  const cg_bundle_csx *m;
  const int64_t *rows;
  int64_t lo, hi;
  double out;
} fl;

/* The floor: 16 float + 16 uint32 lanes in explicit vectors (GCC/clang vector extensions; the plain-array
 * form of this loop was vectorised badly by gcc 12, with lane spills and scalar adds, and ran at ~5 GB/s where
 * this one streams at memory speed), unaligned loads, a scalar tail per row. */
typedef float v16f __attribute__((vector_size(64)));
typedef uint32_t v16u __attribute__((vector_size(64)));
static void *floor_worker(void *arg) {
  fl *f = arg;
  v16f acc = {0};
  v16u iacc = {0};
  float tail = 0;
  uint32_t itail = 0;
  const float *d = f->m->data;
  const uint32_t *ix = f->m->indices;
  for (int64_t k = f->lo; k < f->hi; k++) {
    int64_t r = f->rows ? f->rows[k] : k, s = (int64_t)f->m->indptr[r], e = (int64_t)f->m->indptr[r + 1];
    int64_t j = s;
    for (; j + 16 <= e; j += 16) {
      v16f x;
      v16u y;
      memcpy(&x, d + j, sizeof x), memcpy(&y, ix + j, sizeof y);
      acc += x, iacc += y;
    }
    for (; j < e; j++) tail += d[j], itail += ix[j];
  }
  double t = tail + itail;
  for (int l = 0; l < 16; l++) t += acc[l] + iacc[l];
  f->out = t;
  return NULL;
}

static double stream(const cg_bundle_csx *m, const int64_t *rows, int64_t n, int threads) {
  pthread_t th[64];
  fl f[64];
  double t0 = now();
  for (int i = 0; i < threads; i++) {
    f[i] = (fl){m, rows, n * i / threads, n * (i + 1) / threads, 0};
    pthread_create(&th[i], NULL, floor_worker, &f[i]);
  }
  double sink = 0;
  for (int i = 0; i < threads; i++) pthread_join(th[i], NULL), sink += f[i].out;
  double t = now() - t0;
  if (sink == 1.2345) fprintf(stderr, "!");
  return t;
}

static int64_t bytes_of(const cg_bundle_csx *m, const int64_t *rows, int64_t n) {
  int64_t b = 0;
  for (int64_t k = 0; k < n; k++) b += (int64_t)(m->indptr[rows[k] + 1] - m->indptr[rows[k]]) * 8;
  return b;
}

int main(int argc, char **argv) {
  if (argc < 6) return fprintf(stderr, "usage: bench_de BUNDLE CASE METHOD RUNS THREADS\n"), 2;
  const char *cs = argv[2];
  int runs = atoi(argv[4]), threads = atoi(argv[5]);
  cg_de_method m;
  cg_err err = {0};
  cg_bundle *b;
  if (cg_de_method_parse(argv[3], &m) || cg_bundle_open(argv[1], &b, &err))
    return fprintf(stderr, "bench_de: %s\n", err.msg), 1;
  int64_t n = cg_bundle_n_obs(b), *s1 = malloc(8 * (size_t)n), *s2 = malloc(8 * (size_t)n), n1 = 0, n2 = 0;
  int rest = strcmp(cs, "two50k") != 0;
  int64_t k = n / 50000 > 2 ? n / 50000 : 2;
  for (int64_t i = 0; i < n; i++) {
    int in1 = !strcmp(cs, "half") ? i % 2 == 0 : !strcmp(cs, "tenth") ? i % 10 == 0 : i % k == 0 && n1 < 50000;
    int in2 = rest ? !in1 : i % k == 1 && n2 < 50000;
    if (in1) s1[n1++] = i;
    else if (in2) s2[n2++] = i;
  }
  cg_bundle_csx csr, csc;
  cg_bundle_csr(b, &csr), cg_bundle_csc(b, &csc);
  /* rows the engine reads: the smaller side when vs rest, both sets otherwise */
  int64_t *rr = malloc(8 * (size_t)n), nr = 0;
  if (rest) {
    const int64_t *sm = n1 <= n2 ? s1 : s2;
    nr = n1 <= n2 ? n1 : n2;
    memcpy(rr, sm, 8 * (size_t)nr);
  } else {
    int64_t i = 0, j = 0;
    while (i < n1 || j < n2) rr[nr++] = (j >= n2 || (i < n1 && s1[i] < s2[j])) ? s1[i++] : s2[j++];
  }
  int64_t bytes = bytes_of(&csr, rr, nr);
  double fbest = 1e30, dbest = 1e30, cscfloor = 0;
  stream(&csr, rr, nr, threads); /* warm the page cache */
  for (int r = 0; r < runs; r++) {
    double t = stream(&csr, rr, nr, threads);
    fbest = t < fbest ? t : fbest;
  }
  if (m == CG_DE_WILCOXON) {
    cscfloor = 1e30;
    stream(&csc, NULL, csc.n_major, threads);
    for (int r = 0; r < runs; r++) {
      double t = stream(&csc, NULL, csc.n_major, threads);
      cscfloor = t < cscfloor ? t : cscfloor;
    }
  }
  cg_de_set a = {.idx = s1, .n_idx = n1}, c = {.idx = s2, .n_idx = n2};
  cg_de_opts o = {.threads = threads};
  for (int r = 0; r <= runs; r++) { /* run 0 warms up (and fills the expm1-totals cache) */
    cg_de_result *res;
    double t0 = now();
    if (cg_de_run(b, &a, rest ? NULL : &c, m, &o, &res, &err)) return fprintf(stderr, "bench_de: %s\n", err.msg), 1;
    double t = now() - t0;
    if (r) dbest = t < dbest ? t : dbest;
    cg_de_result_free(res);
  }
  printf("{\"case\":\"%s\",\"method\":\"%s\",\"n_obs\":%lld,\"n_vars\":%lld,\"n1\":%lld,\"n2\":%lld,\"rows_read\":%lld,"
         "\"bytes_read\":%lld,\"floor_s\":%.6f,\"csc_floor_s\":%.6f,\"csc_bytes\":%lld,\"de_s\":%.6f}\n",
         cs, argv[3], (long long)n, (long long)cg_bundle_n_vars(b), (long long)n1, (long long)n2, (long long)nr,
         (long long)bytes, fbest, cscfloor, (long long)csc.nnz * 8, dbest);
  cg_bundle_release(b);
  free(s1), free(s2), free(rr);
  return 0;
}
