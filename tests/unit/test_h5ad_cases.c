/* test_h5ad_cases.c — the h5ad reader on files written by tests/unit/h5ad_cases.py (h5py) into $CG_TMPDIR:
 * encodings no shared file has (null, nullable-string-array, numeric and bool categories), a hand-made legacy
 * file, LZF + int64 indices, and one file per bad-input case, each expected to fail with a precise message
 * (what, where = HDF5 path, which row). Files anndata can read are also compared with h5ad_oracle.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "h5ad_facts.h"

static char g_dir[1024], g_oracle[1100];

static int setup(void **state) {
  const char *t = getenv("CG_TMPDIR");
  char cmd[8192];
  t = t && t[0] ? t : "/tmp";
  mkdir(t, 0777);
  snprintf(g_dir, sizeof g_dir, "%s/h5ad_cases", t);
  snprintf(g_oracle, sizeof g_oracle, "%s/oracle", g_dir);
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 %s/tests/unit/h5ad_cases.py %s && /usr/bin/python3 %s/tests/unit/h5ad_oracle.py %s "
           "%s/numeric_cats.h5ad %s/legacy_custom.h5ad %s/lzf_int64.h5ad",
           CG_SOURCE_DIR, g_dir, CG_SOURCE_DIR, g_oracle, g_dir, g_dir, g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

static cg_h5ad *open_case(const char *name) {
  char path[1200];
  cg_err e = {0};
  cg_h5ad *h = NULL;
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  if (cg_h5ad_open(path, &h, &e)) fail_msg("open %s: %s", name, e.msg);
  return h;
}

typedef enum { OP_OPEN, OP_OBS, OP_EMB, OP_XOPEN, OP_XREAD, OP_XREAD_SORTED } op;

typedef struct {
  const char *file;
  op what;
  int code;
  const char *msg; /* substring of the error message */
} bad_case;

static const bad_case BAD[] = {
    {"truncated.h5ad", OP_OPEN, CG_ECORRUPT, "truncated.h5ad: not a readable HDF5 file"},
    {"not_hdf5.h5ad", OP_OPEN, CG_ECORRUPT, "not_hdf5.h5ad: not a readable HDF5 file"},
    {"bad_utf8_obs.h5ad", OP_OBS, CG_EFORMAT, "/obs/name: row 2: string is not valid UTF-8"},
    {"bad_utf8_cats.h5ad", OP_OBS, CG_EFORMAT, "/obs/cat/categories: row 1: string is not valid UTF-8"},
    {"bad_duplicate_columns.h5ad", OP_OBS, CG_EFORMAT, "/obs: duplicate column name 'a'"},
    {"bad_codes.h5ad", OP_OBS, CG_EFORMAT, "/obs/cat/codes: row 3: code 5 out of range (2 categories)"},
    {"bad_obs_len.h5ad", OP_OBS, CG_EFORMAT, "/obs/x: length 3, expected 4 rows"},
    {"bad_emb_rows.h5ad", OP_EMB, CG_EFORMAT, "/obsm/X_umap: 3 rows, expected n_obs = 4"},
    {"bad_emb_inf.h5ad", OP_EMB, CG_EFORMAT, "/obsm/X_umap: row 1, dimension 0: +Inf"},
    {"bad_emb_allnan.h5ad", OP_EMB, CG_EFORMAT, "/obsm/X_umap: every value is NaN"},
    {"bad_indptr_len.h5ad", OP_XOPEN, CG_EFORMAT, "/X/indptr: length 4, expected 5 (shape 4 x 3)"},
    {"bad_lengths.h5ad", OP_XOPEN, CG_EFORMAT, "/X: indices has 5 entries but data has 6"},
    {"bad_shape.h5ad", OP_XOPEN, CG_EFORMAT, "/X: 5 rows but obs has 4"},
    {"bad_index_range.h5ad", OP_XREAD, CG_EFORMAT, "/X/indices: row 1: column index 7 out of range (3 columns)"},
    {"bad_unsorted.h5ad", OP_XREAD, CG_EFORMAT, "/X/indices: row 1: column indices not sorted (0 after 2)"},
    {"bad_duplicate_index.h5ad", OP_XREAD, CG_EFORMAT, "/X/indices: row 1: duplicate column index 1"},
    {"bad_duplicate_index.h5ad", OP_XREAD_SORTED, CG_EFORMAT, "/X/indices: row 1: duplicate column index 1"},
    {"bad_negative_index.h5ad", OP_XREAD, CG_EFORMAT, "/X/indices: row 3: negative column index -1"},
    {"bad_int64_index.h5ad", OP_XREAD, CG_EFORMAT, "/X/indices: row 3: column index negative or beyond 32 bits"},
    {"bad_indptr_decreasing.h5ad", OP_XREAD, CG_EFORMAT, "/X/indptr: row 1: offsets decrease (3 > 2)"},
    {"bad_inf_sparse.h5ad", OP_XREAD, CG_EFORMAT, "/X/data: row 3, column 1: +Inf"},
    {"bad_inf_dense.h5ad", OP_XREAD, CG_EFORMAT, "/X: row 2, column 0: -Inf"},
};

static int run_case(const bad_case *c, cg_err *e) {
  char path[1200];
  cg_h5ad *h = NULL;
  snprintf(path, sizeof path, "%s/%s", g_dir, c->file);
  int rc = cg_h5ad_open(path, &h, e);
  if (rc || c->what == OP_OPEN) return cg_h5ad_close(h), rc;
  if (c->what == OP_OBS) {
    cg_frame *f = NULL;
    rc = cg_h5ad_read_frame(h, CG_AXIS_OBS, 0, &f, e);
    cg_frame_free(f);
  } else if (c->what == OP_EMB) {
    cg_embedding *em = NULL;
    int n = 0;
    rc = cg_h5ad_read_embeddings(h, &em, &n, e);
    cg_embeddings_free(em, n);
  } else {
    cg_h5ad_matrix *m = NULL;
    rc = cg_h5ad_matrix_open(h, "X", &m, e);
    if (rc == 0 && c->what != OP_XOPEN) {
      cg_sparse_block b;
      cg_sparse_block_init(&b);
      cg_h5ad_matrix_sort_lines(m, c->what == OP_XREAD_SORTED);
      rc = cg_h5ad_matrix_read_block(m, 0, cg_h5ad_n_obs(h), &b, e);
      cg_sparse_block_dispose(&b);
    }
    cg_h5ad_matrix_close(m);
  }
  cg_h5ad_close(h);
  return rc;
}

static void test_bad_inputs(void **state) {
  int bad = 0;
  for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
    cg_err e = {0};
    int rc = run_case(&BAD[i], &e);
    if (rc != BAD[i].code || !strstr(e.msg, BAD[i].msg)) {
      print_error("%s: got %d \"%s\", want %d \"%s\"\n", BAD[i].file, rc, e.msg, BAD[i].code, BAD[i].msg);
      bad++;
    }
  }
  assert_int_equal(bad, 0);
}

static void test_unsorted_line_sorted_on_request(void **state) {
  cg_h5ad *h = open_case("bad_unsorted.h5ad");
  cg_h5ad_matrix *m = NULL;
  cg_err e = {0};
  cg_sparse_block b;
  cg_sparse_block_init(&b);
  assert_int_equal(cg_h5ad_matrix_open(h, "X", &m, &e), 0);
  cg_h5ad_matrix_sort_lines(m, 1);
  assert_int_equal(cg_h5ad_matrix_read_block(m, 1, 1, &b, &e), 0);
  assert_int_equal(b.nnz, 2); /* row 1 stored (2 -> 2.0, 0 -> 3.0) */
  assert_int_equal(b.idx[0], 0);
  assert_float_equal(b.val[0], 3.0, 0);
  assert_int_equal(b.idx[1], 2);
  assert_float_equal(b.val[1], 2.0, 0);
  cg_sparse_block_dispose(&b);
  cg_h5ad_matrix_close(m);
  cg_h5ad_close(h);
}

static void test_null_and_nullable_string(void **state) {
  cg_h5ad *h = open_case("null_nullable_string.h5ad");
  cg_frame *f = NULL;
  cg_h5ad_matrix *m = NULL;
  cg_uns *u = NULL;
  cg_err e = {0};
  assert_int_equal(cg_h5ad_read_frame(h, CG_AXIS_OBS, 0, &f, &e), 0);
  const cg_column *c = &f->cols[cg_frame_find(f, "ns")];
  assert_int_equal(c->type, CG_COL_STRING);
  assert_string_equal(c->dtype, "string");
  assert_non_null(c->valid);
  assert_int_equal(c->valid[1], 0);
  assert_null(c->v.str[1]);
  assert_string_equal(c->v.str[0], "a");
  assert_string_equal(c->v.str[3], "d\xc3\xa9");
  cg_frame_free(f);
  assert_int_equal(cg_h5ad_matrix_open(h, "raw", &m, &e), CG_ENOTFOUND); /* raw written as `null` */
  assert_int_equal(cg_h5ad_read_frame(h, CG_AXIS_VAR, 1, &f, &e), CG_ENOTFOUND);
  assert_int_equal(cg_h5ad_read_uns(h, &u, &e), 0);
  assert_int_equal(u->n_keys, 1);
  assert_string_equal(u->keys[0], "nothing");
  cg_uns_free(u);
  cg_h5ad_close(h);
  h = open_case("x_null.h5ad");
  assert_int_equal(cg_h5ad_matrix_open(h, "X", &m, &e), 0);
  assert_int_equal(cg_h5ad_matrix_info(m)->format, CG_MAT_ABSENT);
  cg_h5ad_matrix_close(m);
  cg_h5ad_close(h);
}

static void test_numeric_categories(void **state) {
  cg_h5ad *h = open_case("numeric_cats.h5ad");
  cg_frame *f = NULL;
  cg_err e = {0};
  assert_int_equal(cg_h5ad_read_frame(h, CG_AXIS_OBS, 0, &f, &e), 0);
  const cg_column *fc = &f->cols[0], *ic = &f->cols[1], *bc = &f->cols[2];
  const char *want[] = {"0.5", "2.0", "1e-05", "1e+16"}; /* Python str() of the float categories */
  for (int i = 0; i < 4; i++) assert_string_equal(fc->categories[i], want[i]);
  assert_string_equal(fc->cat_dtype, "float64");
  assert_string_equal(ic->categories[0], "7");
  assert_string_equal(ic->cat_dtype, "int64");
  assert_int_equal(ic->v.codes[2], -1);
  assert_string_equal(bc->categories[0], "True");
  assert_string_equal(bc->cat_dtype, "bool");
  cg_frame_free(f);
  cg_h5ad_close(h);
}

static void test_legacy_custom(void **state) {
  cg_h5ad *h = open_case("legacy_custom.h5ad");
  cg_frame *f = NULL;
  cg_uns *u = NULL;
  cg_err e = {0};
  assert_string_equal(cg_h5ad_era(h), "legacy");
  assert_int_equal(cg_h5ad_read_frame(h, CG_AXIS_OBS, 0, &f, &e), 0);
  assert_int_equal(f->cols[0].type, CG_COL_CATEGORICAL); /* grp: uns/grp_categories applies */
  assert_int_equal(f->cols[1].type, CG_COL_INT);         /* big: value 5 >= 2 categories, stays int */
  assert_int_equal(f->cols[2].type, CG_COL_BOOL);
  cg_frame_free(f);
  assert_int_equal(cg_h5ad_read_uns(h, &u, &e), 0);
  assert_int_equal(u->n_keys, 2);
  assert_string_equal(u->keys[0], "big_categories");
  assert_string_equal(u->title, "legacy title");
  cg_uns_free(u);
  cg_h5ad_close(h);
}

static void test_against_oracle(void **state) {
  const char *files[] = {"numeric_cats.h5ad", "legacy_custom.h5ad", "lzf_int64.h5ad"};
  for (int i = 0; i < 3; i++) {
    char path[1200], fpath[1300];
    facts mine = {0}, theirs = {0};
    cg_err e = {0};
    snprintf(path, sizeof path, "%s/%s", g_dir, files[i]);
    snprintf(fpath, sizeof fpath, "%s/%s.facts", g_oracle, files[i]);
    assert_int_equal(facts_load(fpath, &theirs), 0);
    if (h5ad_facts(path, &mine, &e)) fail_msg("%s: %s", files[i], e.msg);
    assert_int_equal(mine.n, theirs.n);
    for (int k = 0; k < mine.n; k++)
      if (!facts_line_equal(mine.line[k], theirs.line[k]))
        fail_msg("%s\n  anndata: %s\n  ours:    %s", files[i], theirs.line[k], mine.line[k]);
    facts_free(&mine);
    facts_free(&theirs);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_inputs),
      cmocka_unit_test(test_unsorted_line_sorted_on_request),
      cmocka_unit_test(test_null_and_nullable_string),
      cmocka_unit_test(test_numeric_categories),
      cmocka_unit_test(test_legacy_custom),
      cmocka_unit_test(test_against_oracle),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
