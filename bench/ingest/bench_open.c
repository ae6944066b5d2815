/* bench_open.c — times cg_bundle_open + cg_bundle_release of one bundle, RUNS times (default 20).
 *
 * usage: bench_open BUNDLE.cgb [RUNS]
 * Prints one JSON line: {"first_ms": ..., "min_ms": ..., "median_ms": ..., "runs": N, "n_obs": ..., "n_vars": ...}
 * `first` is the first open in this process (the file's pages may or may not be in the page cache, which the
 * harness arranges); min/median are over all runs. Open validates structure (bundle.h guarantees 1-6) but does
 * not read the matrix, so its cost should not grow with nnz. Exit 1 if the bundle does not open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bundle/bundle.h"

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_open BUNDLE.cgb [RUNS]\n");
    return 2;
  }
  int runs = argc > 2 ? atoi(argv[2]) : 20;
  if (runs < 1 || runs > 100000) runs = 20;
  double *ms = calloc((size_t)runs, sizeof *ms);
  int64_t n_obs = 0, n_vars = 0;
  if (!ms) return 1;
  for (int i = 0; i < runs; i++) {
    cg_bundle *b = NULL;
    cg_err err = {0};
    double t = now_ms();
    if (cg_bundle_open(argv[1], &b, &err) != 0) {
      fprintf(stderr, "bench_open: %s\n", err.msg);
      free(ms);
      return 1;
    }
    n_obs = cg_bundle_n_obs(b), n_vars = cg_bundle_n_vars(b);
    cg_bundle_release(b);
    ms[i] = now_ms() - t;
  }
  double first = ms[0];
  qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
  printf("{\"first_ms\": %.3f, \"min_ms\": %.3f, \"median_ms\": %.3f, \"runs\": %d, \"n_obs\": %lld, "
         "\"n_vars\": %lld}\n",
         first, ms[0], ms[runs / 2], runs, (long long)n_obs, (long long)n_vars);
  free(ms);
  return 0;
}
