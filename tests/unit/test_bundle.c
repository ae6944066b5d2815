/* test_bundle.c — bundle writer + reader: round trips from CSR and CSC sources, determinism, corruption,
 * write failures and allocation-failure injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "test_bundle_util.h"

static char dir[512];

static const char *tpath(const char *name) {
  static char p[4][1024];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

static int count_files(void) {
  int n = 0;
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

static void clean_dir(void) {
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));)
    if (e->d_name[0] != '.') unlink(tpath(e->d_name));
  if (d) closedir(d);
}

static int setup(void **state) {
  const char *base = getenv("CG_TMPDIR");
  snprintf(dir, sizeof dir, "%s/test_bundle.%ld", base ? base : "/tmp", (long)getpid());
  mkdir(base ? base : "/tmp", 0755);
  mkdir(dir, 0755);
  clean_dir();
  return 0;
}

static int teardown(void **state) {
  clean_dir();
  rmdir(dir);
  return 0;
}

static cg_bundle *write_open(tds *d, const char *name) {
  cg_err err = {0};
  int rc = cg_bundle_write(&d->in, tpath(name), &err);
  if (rc) fprintf(stderr, "write: %s\n", err.msg);
  assert_int_equal(rc, 0);
  cg_bundle *b = NULL;
  rc = cg_bundle_open(tpath(name), &b, &err);
  if (rc) fprintf(stderr, "open: %s\n", err.msg);
  assert_int_equal(rc, 0);
  rc = cg_bundle_verify(b, &err);
  if (rc) fprintf(stderr, "verify: %s\n", err.msg);
  assert_int_equal(rc, 0);
  return b;
}

static void check_matrix(const tds *d, cg_bundle *b) {
  cg_bundle_csx r, c;
  assert_int_equal(cg_bundle_csr(b, &r), 0);
  assert_int_equal(cg_bundle_csc(b, &c), 0);
  assert_int_equal(r.nnz, tds_nnz(d));
  assert_int_equal(c.nnz, r.nnz);
  float *seen = calloc((size_t)(d->n_obs * d->n_vars) + 1, 4);
  for (int64_t i = 0; i < d->n_obs; i++)
    for (uint64_t k = r.indptr[i]; k < r.indptr[i + 1]; k++) {
      assert_true(r.indices[k] < d->n_vars);
      assert_true(r.data[k] == d->dense[i * d->n_vars + r.indices[k]]);
      seen[i * d->n_vars + r.indices[k]] = r.data[k];
    }
  assert_memory_equal(seen, d->dense, (size_t)(d->n_obs * d->n_vars) * 4);
  cg_bundle_gene_stats gs;
  assert_int_equal(cg_bundle_gene_stats_get(b, &gs), 0);
  for (int64_t g = 0; g < d->n_vars; g++) {
    double s = 0, q = 0;
    float lo = 0, hi = 0;
    uint64_t n = 0;
    for (uint64_t k = c.indptr[g]; k < c.indptr[g + 1]; k++) {
      int64_t i = c.indices[k];
      assert_true(k == c.indptr[g] || c.indices[k] > c.indices[k - 1]);
      assert_true(c.data[k] == d->dense[i * d->n_vars + g]);
    }
    for (int64_t i = 0; i < d->n_obs; i++) {
      float v = d->dense[i * d->n_vars + g];
      if (v != 0) n++, s += v, q += (double)v * v;
      lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
    assert_int_equal(gs.nnz[g], n);
    assert_int_equal(c.indptr[g + 1] - c.indptr[g], n);
    assert_true(gs.sum[g] == s && gs.sumsq[g] == q && gs.min[g] == lo && gs.max[g] == hi);
  }
  free(seen);
}

static void check_annotations(const tds *d, cg_bundle *b) {
  assert_int_equal(cg_bundle_n_obs(b), d->n_obs);
  assert_int_equal(cg_bundle_n_vars(b), d->n_vars);
  assert_string_equal(cg_bundle_matrix_name(b), "X");
  assert_string_equal(cg_bundle_matrix_dtype(b), "float32");
  assert_string_equal(cg_bundle_title(b), "Synthetic test atlas");
  assert_string_equal(cg_bundle_default_embedding(b), "X_umap");
  assert_int_equal(strlen(cg_bundle_id(b)), 32);
  assert_string_equal(cg_bundle_index_name(b, CG_BUNDLE_OBS), "_index");
  const cg_bundle_strings *ix = cg_bundle_index(b, CG_BUNDLE_VAR);
  size_t len;
  assert_string_equal(cg_bundle_str(ix, 7, &len), "GENE7");
  assert_int_equal(len, 5);
  assert_null(cg_bundle_str(ix, d->n_vars, NULL));
  assert_int_equal(cg_bundle_n_columns(b, CG_BUNDLE_OBS), 7);
  assert_int_equal(cg_bundle_n_columns(b, CG_BUNDLE_VAR), 1);
  const cg_bundle_column *c = cg_bundle_column_at(b, CG_BUNDLE_OBS, cg_bundle_column_find(b, CG_BUNDLE_OBS, "cell_type"));
  assert_int_equal(c->type, CG_BCOL_CATEGORICAL);
  assert_int_equal(c->ordered, 1);
  assert_string_equal(c->cat_dtype, "object");
  assert_int_equal(c->categories.count, 3);
  assert_string_equal(cg_bundle_str(&c->categories, c->v.codes[1], NULL), "T cell");
  assert_int_equal(c->v.codes[4], -1);
  c = cg_bundle_column_at(b, CG_BUNDLE_OBS, 0);
  assert_int_equal(c->type, CG_BCOL_F32);
  assert_true(isnan(c->v.f32[3]) && c->v.f32[2] == 0.5f);
  c = cg_bundle_column_at(b, CG_BUNDLE_OBS, cg_bundle_column_find(b, CG_BUNDLE_OBS, "n_genes"));
  assert_int_equal(c->type, CG_BCOL_I32);
  assert_int_equal(c->v.i32[9], 109);
  c = cg_bundle_column_at(b, CG_BUNDLE_OBS, cg_bundle_column_find(b, CG_BUNDLE_OBS, "big"));
  assert_int_equal(c->type, CG_BCOL_F32);
  assert_string_equal(c->dtype, "int64");
  assert_true(c->v.f32[0] == (float)((int64_t)1 << 40));
  c = cg_bundle_column_at(b, CG_BUNDLE_OBS, cg_bundle_column_find(b, CG_BUNDLE_OBS, "is_doublet"));
  assert_int_equal(c->type, CG_BCOL_BOOL);
  assert_int_equal(c->v.b[3], 1);
  c = cg_bundle_column_at(b, CG_BUNDLE_OBS, cg_bundle_column_find(b, CG_BUNDLE_OBS, "donor"));
  assert_int_equal(c->type, CG_BCOL_STRING);
  assert_non_null(c->valid);
  assert_int_equal(c->valid[5], 0);
  assert_string_equal(cg_bundle_str(&c->str, 5, NULL), "");
  assert_string_equal(cg_bundle_str(&c->str, 6, NULL), "donor-2");
  c = cg_bundle_column_at(b, CG_BUNDLE_OBS, cg_bundle_column_find(b, CG_BUNDLE_OBS, "batch"));
  assert_string_equal(c->dtype, "Int64");
  assert_int_equal(c->valid[1], 0);
  assert_int_equal(c->valid[2], 1);
  assert_int_equal(c->v.i32[2], 2);
  assert_null(cg_bundle_column_at(b, CG_BUNDLE_OBS, 7));
  assert_int_equal(cg_bundle_n_embeddings(b), 2);
  const cg_bundle_embedding *e = cg_bundle_embedding_at(b, cg_bundle_embedding_find(b, "X_pca"));
  assert_int_equal(e->dims, 50);
  assert_memory_equal(e->xy, d->xy[1], (size_t)d->n_obs * 8);
  const cg_bundle_colors *k = cg_bundle_colors_find(b, "cell_type");
  assert_int_equal(k->n, 3);
  assert_string_equal(k->colors[2], "#2ca02c");
  cg_bundle_section s;
  for (int i = 0; i < cg_bundle_n_sections(b); i++) assert_int_equal(cg_bundle_section_at(b, i, &s), 0);
  assert_int_equal(cg_bundle_section_at(b, cg_bundle_n_sections(b), &s), CG_ERANGE);
}

static void test_roundtrip(void **state) {
  tds d, e;
  tds_init(&d, 57, 31, 0, 7);
  tds_init(&e, 57, 31, 1, 7);
  cg_bundle *b = write_open(&d, "csr.cgb");
  check_annotations(&d, b);
  check_matrix(&d, b);
  cg_bundle *c = write_open(&e, "csc.cgb");
  check_matrix(&e, c);
  assert_string_equal(cg_bundle_id(b), cg_bundle_id(c)); /* orientation of the source does not matter */
  cg_bundle_release(cg_bundle_retain(c));
  cg_bundle_release(c);
  e.in.nnz = e.n_obs * e.n_vars; /* dense-style hint: exercises relocation */
  c = write_open(&e, "dense.cgb");
  assert_string_equal(cg_bundle_id(b), cg_bundle_id(c));
  cg_bundle_release(c);
  d.in.nnz += 100;
  c = write_open(&d, "hint.cgb");
  assert_string_equal(cg_bundle_id(b), cg_bundle_id(c));
  cg_bundle_release(c);
  d.dense[5] += 1.0f; /* one value changes -> the id changes */
  d.in.nnz = tds_nnz(&d);
  c = write_open(&d, "changed.cgb");
  assert_string_not_equal(cg_bundle_id(b), cg_bundle_id(c));
  cg_bundle_release(c);
  cg_bundle_release(b);
  tds_free(&d), tds_free(&e);
  clean_dir();
}

static void test_no_matrix_and_empty(void **state) {
  tds d;
  tds_init(&d, 5, 3, 0, 1);
  d.in.matrix_name = NULL;
  cg_bundle *b = write_open(&d, "nomatrix.cgb");
  cg_bundle_csx m;
  assert_int_equal(cg_bundle_has_matrix(b), 0);
  assert_null(cg_bundle_matrix_name(b));
  assert_int_equal(cg_bundle_csr(b, &m), CG_ENOTFOUND);
  cg_bundle_release(b);
  tds_free(&d);
  tds_init(&d, 0, 0, 0, 1);
  d.in.n_emb = 0;
  b = write_open(&d, "empty.cgb");
  assert_int_equal(cg_bundle_nnz(b), 0);
  cg_bundle_release(b);
  tds_free(&d);
  clean_dir();
}

static uint8_t *slurp(const char *p, size_t *n) {
  FILE *f = fopen(p, "rb");
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n);
  assert_int_equal(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

static void spit(const char *p, const uint8_t *b, size_t n) {
  FILE *f = fopen(p, "wb");
  assert_int_equal(fwrite(b, 1, n, f), n);
  fclose(f);
}

/* 0: opened and verified, 1: open rejected, 2: verify rejected */
static int outcome(const char *p) {
  cg_bundle *b;
  cg_err err = {0};
  if (cg_bundle_open(p, &b, &err)) return assert_true(err.msg[0] != 0), 1;
  int rc = cg_bundle_verify(b, &err);
  cg_bundle_release(b);
  return rc ? 2 : 0;
}

static void test_corruption(void **state) {
  tds d;
  tds_init(&d, 40, 20, 0, 3);
  cg_bundle_release(write_open(&d, "good.cgb"));
  size_t n;
  uint8_t *buf = slurp(tpath("good.cgb"), &n);
  const size_t cuts[] = {0, 7, 127, 128, 200, n / 3, n / 2, n - 64, n - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    spit(tpath("cut.cgb"), buf, cuts[i]);
    assert_int_equal(outcome(tpath("cut.cgb")), 1);
  }
  int opened = 0, verified = 0;
  for (size_t off = 0; off < n; off += 1 + off / 64) {
    buf[off] ^= 0x5a;
    spit(tpath("flip.cgb"), buf, n);
    int o = outcome(tpath("flip.cgb"));
    assert_int_not_equal(o, 0);
    opened += o == 1, verified += o == 2;
    buf[off] ^= 0x5a;
  }
  assert_true(opened > 0 && verified > 0);
  cg_bundle *b;
  cg_err err;
  assert_int_equal(cg_bundle_open_mem(buf, n, 0, &b, &err), 0);
  assert_int_equal(cg_bundle_verify(b, &err), 0);
  cg_bundle_release(b);
  free(buf);
  tds_free(&d);
  clean_dir();
}

static void test_write_failure(void **state) {
  tds d;
  tds_init(&d, 60, 20, 0, 5);
  d.fail_at = 33;
  cg_err err = {0};
  assert_int_not_equal(cg_bundle_write(&d.in, tpath("fail.cgb"), &err), 0);
  assert_non_null(strstr(err.msg, "line 33"));
  assert_int_equal(count_files(), 0);
  d.fail_at = -1;
  d.in.nnz -= 1; /* the source delivers more than announced */
  assert_int_not_equal(cg_bundle_write(&d.in, tpath("fail.cgb"), &err), 0);
  assert_int_equal(count_files(), 0);
  d.in.nnz += 1;
  d.obs->cols[1].v.codes[3] = 9; /* categorical code out of range */
  assert_int_equal(cg_bundle_write(&d.in, tpath("fail.cgb"), &err), CG_ERANGE);
  assert_non_null(strstr(err.msg, "cell_type"));
  assert_int_equal(count_files(), 0);
  tds_free(&d);
}

static void test_alloc_failures(void **state) {
  tds d;
  tds_init(&d, 30, 12, 0, 9);
  int ok = 0;
  for (long n = 0; n < 10000 && !ok; n++) {
    cg_err err = {0};
    cg_mem_fail_after(n);
    int rc = cg_bundle_write(&d.in, tpath("mem.cgb"), &err);
    cg_mem_fail_after(-1);
    if (rc == 0) {
      ok = 1;
      assert_int_equal(outcome(tpath("mem.cgb")), 0);
      unlink(tpath("mem.cgb"));
    }
    assert_int_equal(count_files(), 0);
  }
  assert_true(ok);
  cg_bundle_release(write_open(&d, "mem2.cgb"));
  for (long n = 0; n < 1000; n++) { /* and on open */
    cg_bundle *b = NULL;
    cg_mem_fail_after(n);
    int rc = cg_bundle_open(tpath("mem2.cgb"), &b, NULL);
    cg_mem_fail_after(-1);
    cg_bundle_release(b);
    if (rc == 0) break;
  }
  tds_free(&d);
  clean_dir();
}

/* CG_BUNDLE_WRITE_SEEDS=<dir>: also writes the fuzz seed corpus (small valid bundles) into dir. */
static void write_seeds(const char *out) {
  tds d;
  char p[1024];
  cg_err err;
  for (int k = 0; k < 4; k++) {
    tds_init(&d, k == 3 ? 0 : 9 + k, k == 3 ? 0 : 6, k == 1, 11u + (uint32_t)k);
    if (k == 2) d.in.matrix_name = NULL;
    if (k == 3) d.in.n_emb = 0;
    snprintf(p, sizeof p, "%s/seed-%d.cgb", out, k);
    if (cg_bundle_write(&d.in, p, &err)) fprintf(stderr, "seed %d: %s\n", k, err.msg);
    tds_free(&d);
  }
}

int main(void) {
  if (getenv("CG_BUNDLE_WRITE_SEEDS")) write_seeds(getenv("CG_BUNDLE_WRITE_SEEDS"));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_no_matrix_and_empty),
      cmocka_unit_test(test_corruption),     cmocka_unit_test(test_write_failure),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
