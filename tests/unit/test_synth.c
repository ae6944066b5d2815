/* test_synth.c — the synthetic-data generator (determinism, row invariants, cluster markers, parameter
 * checks, allocation failures) and the h5ad writer it feeds (file structure read back with libhdf5,
 * atomic output, CSR stream misuse). python-anndata checks the files in tests/cli/test_synth.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"
#include "h5ad/h5ad_write.h"
#include "synth/synth.h"

static char dir[512];

static const char *tpath(const char *name) {
  static char p[4][1024];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

static int setup(void **state) {
  const char *base = getenv("CG_TMPDIR");
  snprintf(dir, sizeof dir, "%s/test_synth.%ld", base ? base : "/tmp", (long)getpid());
  mkdir(base ? base : "/tmp", 0755);
  mkdir(dir, 0755);
  return 0;
}

static int teardown(void **state) {
  char cmd[1100];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static cg_synth *model(int64_t cells, int64_t genes, uint64_t seed, int k, int m) {
  cg_synth_params p = {cells, genes, seed, k, m};
  cg_synth *s = NULL;
  cg_err err = {0};
  int rc = cg_synth_create(&p, &s, &err);
  if (rc) fprintf(stderr, "create: %s\n", err.msg);
  assert_int_equal(rc, 0);
  return s;
}

static void rows(cg_synth *s, int64_t first, int64_t count, cg_sparse_block *b) {
  cg_err err = {0};
  assert_int_equal(cg_synth_rows(s, first, count, b, &err), 0);
}

/* ---- generator ------------------------------------------------------------------------------------ */

static void test_deterministic(void **state) {
  cg_synth *a = model(500, 300, 42, 7, 60), *b = model(500, 300, 42, 7, 60), *c = model(500, 300, 43, 7, 60);
  cg_sparse_block x, y, z;
  cg_sparse_block_init(&x), cg_sparse_block_init(&y), cg_sparse_block_init(&z);
  rows(a, 0, 500, &x);
  rows(c, 0, 500, &z);
  assert_int_equal(cg_synth_nnz(a), cg_synth_nnz(b));
  /* same rows whatever the block boundaries */
  for (int64_t first = 0; first < 500; first += 37) {
    int64_t n = 500 - first < 37 ? 500 - first : 37;
    rows(b, first, n, &y);
    int64_t o = x.ptr[first];
    assert_int_equal(y.nnz, x.ptr[first + n] - o);
    assert_memory_equal(y.idx, x.idx + o, (size_t)y.nnz * sizeof *y.idx);
    assert_memory_equal(y.val, x.val + o, (size_t)y.nnz * sizeof *y.val);
  }
  assert_true(x.nnz != z.nnz || memcmp(x.idx, z.idx, (size_t)x.nnz * sizeof *x.idx) != 0);
  cg_sparse_block_dispose(&x), cg_sparse_block_dispose(&y), cg_sparse_block_dispose(&z);
  cg_synth_free(a), cg_synth_free(b), cg_synth_free(c);
}

static void test_row_invariants(void **state) {
  const int64_t N = 2000, G = 2000;
  const int M = 200;
  cg_synth *s = model(N, G, 3, 12, M);
  cg_sparse_block b;
  cg_err err = {0};
  cg_sparse_block_init(&b);
  rows(s, 0, N, &b);
  assert_int_equal(b.first, 0);
  assert_int_equal(b.count, N);
  assert_int_equal(b.nnz, cg_synth_nnz(s));
  assert_int_equal(cg_sparse_block_check(&b, G, &err), 0); /* sorted unique in-range indices */
  int64_t lo = INT64_MAX, hi = 0;
  for (int64_t i = 0; i < N; i++) {
    int64_t n = b.ptr[i + 1] - b.ptr[i];
    lo = n < lo ? n : lo, hi = n > hi ? n : hi;
  }
  double mean = (double)b.nnz / (double)N;
  assert_true(fabs(mean - M) < 0.1 * M); /* ~M per cell on average ... */
  assert_true(lo < M && hi > M);          /* ... varying per cell */
  assert_true(lo >= 1 && hi <= G);
  for (int64_t j = 0; j < b.nnz; j++) assert_true(b.val[j] > 0 && isfinite(b.val[j]));
  cg_sparse_block_dispose(&b);
  cg_synth_free(s);
}

/* Mean expression of each cluster's markers is far higher in that cluster's cells than elsewhere. */
static void test_markers(void **state) {
  const int64_t N = 3000, G = 1000;
  const int K = 5;
  cg_synth *s = model(N, G, 9, K, 150);
  cg_sparse_block b;
  cg_sparse_block_init(&b);
  rows(s, 0, N, &b);
  for (int k = 0; k < K; k++) {
    int nm;
    const int64_t *mk = cg_synth_markers(s, k, &nm);
    assert_int_equal(nm, CG_SYNTH_MAX_MARKERS);
    for (int j = 1; j < nm; j++) assert_true(mk[j - 1] < mk[j]);
    double in = 0, out = 0;
    int64_t n_in = 0;
    for (int64_t i = 0; i < N; i++) {
      int mine = cg_synth_cluster(s, i) == k;
      n_in += mine;
      for (int64_t e = b.ptr[i]; e < b.ptr[i + 1]; e++)
        for (int j = 0; j < nm; j++)
          if (b.idx[e] == (uint32_t)mk[j]) *(mine ? &in : &out) += b.val[e];
    }
    assert_true(n_in > 0 && n_in < N);
    in /= (double)n_in, out /= (double)(N - n_in);
    assert_true(in > 5 * out);
  }
  /* markers of different clusters are different genes */
  int n0, n1;
  const int64_t *m0 = cg_synth_markers(s, 0, &n0), *m1 = cg_synth_markers(s, 1, &n1);
  for (int i = 0; i < n0; i++)
    for (int j = 0; j < n1; j++) assert_true(m0[i] != m1[j]);
  cg_sparse_block_dispose(&b);
  cg_synth_free(s);
}

static void test_annotations(void **state) {
  cg_synth *s = model(400, 300, 5, 25, 50);
  cg_frame *obs = NULL, *var = NULL;
  cg_err err = {0};
  float *umap = NULL;
  assert_int_equal(cg_synth_obs(s, &obs, &err), 0);
  assert_int_equal(cg_synth_var(s, NULL, NULL, &var, &err), 0);
  assert_int_equal(obs->n_rows, 400);
  int ct = cg_frame_find(obs, "cell_type");
  assert_true(ct >= 0);
  assert_int_equal(obs->cols[ct].n_categories, 25);
  assert_string_equal(obs->cols[ct].categories[0], "CD4 T cell");
  assert_string_equal(obs->cols[ct].categories[24], "cell type 25");
  for (int64_t i = 0; i < 400; i++) assert_int_equal(obs->cols[ct].v.codes[i], cg_synth_cluster(s, i));
  for (int64_t i = 1; i < 400; i++) assert_string_not_equal(obs->index[i - 1], obs->index[i]);
  assert_int_equal(strlen(obs->index[0]), 18); /* 16 nt + "-1" */
  assert_string_equal(var->index[299], "MT-CYB");
  assert_true(cg_frame_find(var, "highly_variable") >= 0);
  char c[8];
  cg_synth_color(0, 20, c);
  assert_string_equal(c, "#1f77b4");
  cg_synth_color(30, 40, c);
  assert_int_equal(strlen(c), 7);
  assert_int_equal(cg_synth_embedding(s, 2, &umap, &err), 0);
  for (int i = 0; i < 800; i++) assert_true(isfinite(umap[i]));
  cg_free(umap);
  cg_frame_free(obs), cg_frame_free(var);
  cg_synth_free(s);
}

static void test_bad_params(void **state) {
  cg_synth_params bad[] = {{0, 10, 1, 2, 5}, {10, 0, 1, 2, 0}, {10, 10, 1, 0, 5},
                           {10, 10, 1, CG_SYNTH_MAX_CLUSTERS + 1, 5}, {10, 10, 1, 2, 11}, {10, 10, 1, 2, -1}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cg_synth *s = (cg_synth *)1;
    cg_err err = {0};
    assert_int_equal(cg_synth_create(&bad[i], &s, &err), CG_EINVAL);
    assert_null(s);
    assert_true(err.msg[0] != 0);
  }
}

static void test_alloc_failures(void **state) {
  cg_synth_params p = {300, 400, 1, 6, 40};
  int failed = 0;
  for (long n = 0; n < 200; n++) {
    cg_synth *s = NULL;
    cg_sparse_block b;
    cg_err err = {0};
    cg_sparse_block_init(&b);
    cg_mem_fail_after(n);
    int rc = cg_synth_create(&p, &s, &err);
    if (!rc) rc = cg_synth_rows(s, 0, 300, &b, &err);
    cg_mem_fail_after(-1);
    if (rc) assert_int_equal(rc, CG_ENOMEM), failed++;
    cg_sparse_block_dispose(&b);
    cg_synth_free(s);
  }
  assert_true(failed > 10);
}

/* ---- writer --------------------------------------------------------------------------------------- */

static char *read_attr_str(hid_t obj, const char *name) {
  static char buf[64];
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5Aget_type(a), mt = H5Tcopy(H5T_C_S1);
  char *v = NULL;
  H5Tset_size(mt, H5T_VARIABLE);
  H5Tset_cset(mt, H5T_CSET_UTF8);
  assert_true(H5Tis_variable_str(t) > 0);
  assert_int_equal(H5Aread(a, mt, &v), 0);
  snprintf(buf, sizeof buf, "%s", v);
  H5free_memory(v);
  H5Tclose(mt), H5Tclose(t), H5Aclose(a);
  return buf;
}

static void check_file(const char *path, cg_synth *s, int64_t N, int64_t G) {
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(f >= 0);
  assert_string_equal(read_attr_str(f, "encoding-type"), "anndata");
  const char *groups[][3] = {{"X", "csr_matrix", "0.1.0"}, {"obs", "dataframe", "0.2.0"},
                             {"var", "dataframe", "0.2.0"}, {"obsm", "dict", "0.1.0"},
                             {"uns", "dict", "0.1.0"}, {"obs/cell_type", "categorical", "0.2.0"}};
  for (size_t i = 0; i < sizeof groups / sizeof *groups; i++) {
    hid_t g = H5Oopen(f, groups[i][0], H5P_DEFAULT);
    assert_true(g >= 0);
    assert_string_equal(read_attr_str(g, "encoding-type"), groups[i][1]);
    assert_string_equal(read_attr_str(g, "encoding-version"), groups[i][2]);
    H5Oclose(g);
  }
  int64_t shape[2];
  hid_t x = H5Gopen2(f, "X", H5P_DEFAULT), a = H5Aopen(x, "shape", H5P_DEFAULT);
  H5Aread(a, H5T_NATIVE_INT64, shape);
  assert_int_equal(shape[0], N);
  assert_int_equal(shape[1], G);
  cg_sparse_block b;
  cg_sparse_block_init(&b);
  rows(s, 0, N, &b);
  hid_t d = H5Dopen2(x, "data", H5P_DEFAULT), ix = H5Dopen2(x, "indices", H5P_DEFAULT);
  hid_t sp = H5Dget_space(d);
  assert_int_equal(H5Sget_simple_extent_npoints(sp), b.nnz);
  float *val = malloc((size_t)b.nnz * sizeof *val);
  uint32_t *idx = malloc((size_t)b.nnz * sizeof *idx);
  assert_int_equal(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, val), 0);
  assert_int_equal(H5Dread(ix, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, idx), 0);
  assert_memory_equal(val, b.val, (size_t)b.nnz * sizeof *val);
  assert_memory_equal(idx, b.idx, (size_t)b.nnz * sizeof *idx);
  free(val), free(idx);
  cg_sparse_block_dispose(&b);
  H5Sclose(sp), H5Dclose(d), H5Dclose(ix), H5Aclose(a), H5Gclose(x), H5Fclose(f);
}

static void test_write_codecs(void **state) {
  /* 70,000 cells x 40 entries spans several 2^18-element chunks, so the ring and tail padding are used */
  const int64_t N = 70000, G = 300;
  cg_synth_params p = {N, G, 11, 8, 40};
  cg_synth *s = model(N, G, 11, 8, 40);
  const char *names[] = {"gzip", "lzf", "none"};
  for (int c = 0; c < 3; c++) {
    cg_h5ad_write_opts o = {0, 0, c + 1};
    cg_err err = {0};
    char file[64];
    assert_int_equal(cg_h5ad_codec_parse(names[c], &o.codec), 0);
    snprintf(file, sizeof file, "x_%s.h5ad", names[c]);
    int rc = cg_synth_write(&p, tpath(file), &o, NULL, NULL, &err);
    if (rc) fprintf(stderr, "write: %s\n", err.msg);
    assert_int_equal(rc, 0);
    check_file(tpath(file), s, N, G);
  }
  cg_synth_free(s);
}

static void test_write_atomic(void **state) {
  cg_synth_params p = {100, 50, 1, 3, 10};
  cg_err err = {0};
  struct stat st;
  assert_int_not_equal(cg_synth_write(&p, tpath("no/such/dir/x.h5ad"), NULL, NULL, NULL, &err), 0);
  assert_true(err.msg[0] != 0);
  /* a stream that gets fewer rows than announced fails and leaves nothing behind */
  cg_h5ad_writer *w = NULL;
  cg_h5ad_csr *c = NULL;
  cg_sparse_block b;
  cg_sparse_block_init(&b);
  assert_int_equal(cg_h5ad_writer_create(tpath("short.h5ad"), NULL, &w, &err), 0);
  assert_int_equal(cg_h5ad_csr_begin(w, "X", 10, 5, 0, &c, &err), 0);
  cg_h5ad_csr *c2 = NULL;
  assert_int_equal(cg_h5ad_csr_begin(w, "Y", 10, 5, 0, &c2, &err), CG_EINVAL); /* one at a time */
  assert_null(c2);
  assert_int_equal(cg_sparse_block_reserve(&b, 20, 0), 0);
  b.first = 0, b.count = 20, b.nnz = 0;
  memset(b.ptr, 0, 21 * sizeof *b.ptr);
  assert_int_equal(cg_h5ad_csr_append(c, &b, &err), CG_ERANGE); /* more rows than announced */
  assert_int_equal(cg_h5ad_csr_finish(c, &err), CG_ERANGE);
  cg_h5ad_writer_abort(w);
  assert_int_not_equal(stat(tpath("short.h5ad"), &st), 0);
  /* committing with a stream still open fails and removes the file */
  assert_int_equal(cg_h5ad_writer_create(tpath("open.h5ad"), NULL, &w, &err), 0);
  assert_int_equal(cg_h5ad_csr_begin(w, "X", 10, 5, 0, &c, &err), 0);
  assert_int_equal(cg_h5ad_writer_commit(w, &err), CG_EINVAL);
  assert_int_not_equal(stat(tpath("open.h5ad"), &st), 0);
  assert_int_equal(cg_h5ad_writer_create(tpath("aborted.h5ad"), NULL, &w, &err), 0);
  cg_h5ad_writer_abort(w);
  assert_int_not_equal(stat(tpath("aborted.h5ad"), &st), 0);
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", tpath("aborted.h5ad"), (long)getpid());
  assert_int_not_equal(stat(tmp, &st), 0);
  cg_sparse_block_dispose(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deterministic), cmocka_unit_test(test_row_invariants),
      cmocka_unit_test(test_markers),       cmocka_unit_test(test_annotations),
      cmocka_unit_test(test_bad_params),    cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_write_codecs),  cmocka_unit_test(test_write_atomic),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
