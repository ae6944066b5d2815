/* test_h5ad.c — the h5ad reader against every real file in shared/data.
 *
 * Two kinds of checks, both with python3-anndata 0.8 (Debian's /usr/bin/python3) as the oracle:
 *  - test_oracle_every_file: tests/unit/h5ad_oracle.py prints, for each file, every obs/var/raw.var column
 *    (type, dtype, categories, codes, sums, NaN/NA counts, string hashes), the embeddings, uns keys/title/
 *    colors and every matrix (format, shape, stored entries, sum, NaNs); the same lines are computed from our
 *    reader (h5ad_facts.h) and compared.
 *  - hand-written facts per file (values looked up with anndata, written down here), the legacy/modern
 *    pbmc68k equality, block-size independence, and API error cases.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "h5ad_facts.h"

#define DATA CG_SHARED_DATA "/"

static char g_oracle_dir[1024];

static const char *tmpdir(void) {
  const char *t = getenv("CG_TMPDIR");
  return t && t[0] ? t : "/tmp";
}

static int setup_oracle(void **state) {
  char cmd[4096];
  mkdir(tmpdir(), 0777);
  snprintf(g_oracle_dir, sizeof g_oracle_dir, "%s/h5ad_oracle", tmpdir());
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/unit/h5ad_oracle.py %s %s*.h5ad", CG_SOURCE_DIR, g_oracle_dir,
           DATA);
  return system(cmd) == 0 ? 0 : -1;
}

static cg_h5ad *open_ok(const char *name) {
  char path[1024];
  cg_err e = {0};
  cg_h5ad *h = NULL;
  snprintf(path, sizeof path, DATA "%s", name);
  int rc = cg_h5ad_open(path, &h, &e);
  if (rc) fail_msg("open %s: %s", name, e.msg);
  return h;
}

static cg_frame *frame_ok(cg_h5ad *h, cg_axis ax, int raw) {
  cg_err e = {0};
  cg_frame *f = NULL;
  if (cg_h5ad_read_frame(h, ax, raw, &f, &e)) fail_msg("read_frame: %s", e.msg);
  return f;
}

static const cg_column *col(const cg_frame *f, const char *name) {
  int i = cg_frame_find(f, name);
  if (i < 0) fail_msg("no column %s", name);
  return &f->cols[i];
}

/* ---- every file against the oracle ---- */

static void compare_file(const char *name, int *bad) {
  char path[1024], fpath[2200];
  facts mine = {0}, theirs = {0};
  cg_err e = {0};
  snprintf(path, sizeof path, DATA "%s", name);
  snprintf(fpath, sizeof fpath, "%s/%s.facts", g_oracle_dir, name);
  assert_int_equal(facts_load(fpath, &theirs), 0);
  int rc = h5ad_facts(path, &mine, &e);
  if (rc) print_error("%s: reader failed: %s\n", name, e.msg), (*bad)++;
  for (int i = 0; rc == 0 && i < theirs.n; i++) {
    if (i >= mine.n || !facts_line_equal(mine.line[i], theirs.line[i])) {
      print_error("%s line %d\n  anndata: %s\n  ours:    %s\n", name, i + 1, theirs.line[i], i < mine.n ? mine.line[i] : "(none)");
      (*bad)++;
      break;
    }
  }
  if (rc == 0 && mine.n != theirs.n) print_error("%s: %d lines vs anndata's %d\n", name, mine.n, theirs.n), (*bad)++;
  facts_free(&mine);
  facts_free(&theirs);
}

static void test_oracle_every_file(void **state) {
  DIR *d = opendir(CG_SHARED_DATA);
  assert_non_null(d);
  struct dirent *de;
  int files = 0, bad = 0;
  while ((de = readdir(d))) {
    size_t n = strlen(de->d_name);
    if (n < 6 || strcmp(de->d_name + n - 5, ".h5ad") != 0) continue;
    compare_file(de->d_name, &bad);
    files++;
  }
  closedir(d);
  assert_true(files >= 23);
  assert_int_equal(bad, 0);
}

/* ---- hand-written facts (values from anndata 0.8) ---- */

typedef struct {
  const char *file, *era;
  int64_t n_obs, n_vars;
  cg_matfmt x;
  const char *x_dtype, *x_compression;
  int64_t x_nnz;
} file_fact;

static const file_fact FACTS[] = {
    {"pbmc68k_reduced.h5ad", "0.8", 700, 765, CG_MAT_DENSE, "float32", "gzip", 535500},
    {"pbmc68k_reduced.legacy-2018.h5ad", "legacy", 700, 765, CG_MAT_DENSE, "float32", "gzip", 535500},
    {"anndata-archive-v0.7.0.h5ad", "0.7", 30, 20, CG_MAT_CSR, "float32", "lzf", 228},
    {"anndata-archive-v0.11.4-no-X.h5ad", "0.8", 10, 20, CG_MAT_ABSENT, "", "none", 0},
    {"anndataR-example.h5ad", "0.8", 50, 100, CG_MAT_CSR, "float32", "gzip", 4317},
    {"krumsiek11-augmented.h5ad", "0.8", 640, 11, CG_MAT_DENSE, "float32", "none", 7040},
    {"pbmc3k-subset-nan.h5ad", "legacy", 100, 100, CG_MAT_DENSE, "float32", "gzip", 10000},
    {"tiny-0.7-float32.h5ad", "0.7", 3, 4, CG_MAT_DENSE, "float32", "none", 12},
    {"pbmc-small-X-csc.h5ad", "0.8", 80, 20, CG_MAT_CSC, "float64", "none", 1600},
    {"pbmc3k-meta-X-absent.h5ad", "0.8", 2638, 1838, CG_MAT_ABSENT, "", "none", 0},
    {"pbmc3k-meta-X-all-zero.h5ad", "0.8", 2638, 1838, CG_MAT_CSR, "float32", "none", 0},
    {"categorical-int-nan.h5ad", "0.8", 80, 20, CG_MAT_CSR, "float64", "none", 1600},
    {"t-cells-zero-level-categorical.h5ad", "0.8", 8, 4, CG_MAT_DENSE, "float32", "none", 32},
    {"legacy-sparse-compound.h5ad", "legacy", 47, 10, CG_MAT_CSR, "float32", "gzip", 470},
    {"pbmc5k-protein-dense-lzf.h5ad", "0.7", 200, 16581, CG_MAT_DENSE, "float32", "lzf", 200 * 16581},
    {"schema6-valid-heart.h5ad", "0.8", 320, 136, CG_MAT_CSR, "float32", "gzip", 20991},
    {"schema1-valid-heart-0.7.h5ad", "0.7", 320, 158, CG_MAT_CSR, "float32", "gzip", 24746},
    {"schema-invalid-cell-type-term.h5ad", "0.8", 320, 136, CG_MAT_CSR, "float32", "none", 21311},
    {"schema-invalid-obsm.h5ad", "0.7", 320, 140, CG_MAT_CSR, "float32", "gzip", 21933},
    {"schema-invalid-var.h5ad", "0.7", 320, 140, CG_MAT_CSR, "float32", "gzip", 21933},
    {"osmfish-cortex-6471.h5ad", "legacy", 6471, 33, CG_MAT_CSR, "float32", "gzip", 146550},
    {"visium-mouse-2898x19465.h5ad", "0.8", 2898, 19465, CG_MAT_CSR, "float32", "gzip", 1069459},
    {"visium-brain-49-spots.h5ad", "0.8", 49, 1999, CG_MAT_CSR, "float32", "gzip", 22372},
};

static void test_file_shapes(void **state) {
  for (size_t i = 0; i < sizeof FACTS / sizeof *FACTS; i++) {
    const file_fact *f = &FACTS[i];
    cg_h5ad *h = open_ok(f->file);
    cg_h5ad_matrix *m = NULL;
    cg_err e = {0};
    assert_string_equal(cg_h5ad_era(h), f->era);
    assert_int_equal(cg_h5ad_n_obs(h), f->n_obs);
    assert_int_equal(cg_h5ad_n_vars(h), f->n_vars);
    if (cg_h5ad_matrix_open(h, "X", &m, &e)) fail_msg("%s: %s", f->file, e.msg);
    const cg_matrix_info *mi = cg_h5ad_matrix_info(m);
    assert_int_equal(mi->format, f->x);
    assert_string_equal(mi->dtype, f->x_dtype);
    assert_string_equal(mi->compression, f->x_compression);
    assert_int_equal(mi->nnz, f->x_nnz);
    cg_h5ad_matrix_close(m);
    cg_h5ad_close(h);
  }
}

static void test_pbmc68k(void **state) {
  cg_h5ad *h = open_ok("pbmc68k_reduced.h5ad");
  cg_frame *obs = frame_ok(h, CG_AXIS_OBS, 0), *var = frame_ok(h, CG_AXIS_VAR, 0);
  assert_string_equal(obs->index_name, "index");
  assert_string_equal(obs->index[0], "AAAGCCTGGCTAAC-1");
  assert_int_equal(obs->n_cols, 8);
  const cg_column *bl = col(obs, "bulk_labels"), *lv = col(obs, "louvain"), *ng = col(obs, "n_genes");
  assert_int_equal(bl->type, CG_COL_CATEGORICAL);
  assert_int_equal(bl->n_categories, 10);
  assert_string_equal(bl->categories[0], "CD4+/CD25 T Reg");
  assert_int_equal(lv->n_categories, 11);
  assert_string_equal(lv->categories[10], "10");
  assert_int_equal(ng->type, CG_COL_INT);
  assert_int_equal(ng->v.i64[0], 1003);
  assert_float_equal(col(obs, "percent_mito")->v.f64[0], 0.023856081, 1e-9);
  int64_t hv = 0;
  for (int64_t i = 0; i < var->n_rows; i++) hv += col(var, "highly_variable")->v.b[i];
  assert_int_equal(hv, 309);
  cg_uns *u = NULL;
  cg_err e = {0};
  assert_int_equal(cg_h5ad_read_uns(h, &u, &e), 0);
  assert_int_equal(u->n_keys, 6);
  assert_string_equal(u->keys[0], "bulk_labels_colors");
  assert_int_equal(u->n_colors, 2);
  assert_string_equal(u->colors[0].column, "bulk_labels");
  assert_string_equal(u->colors[0].colors[0], "#1f77b4");
  assert_null(u->title);
  char **ln = NULL;
  int nl = 0;
  assert_int_equal(cg_h5ad_layers(h, &ln, &nl, &e), 0);
  assert_int_equal(nl, 1);
  assert_string_equal(ln[0], "counts");
  cg_h5ad_names_free(ln, nl);
  cg_uns_free(u);
  cg_frame_free(obs);
  cg_frame_free(var);
  cg_h5ad_close(h);
}

static void test_categorical_edge_cases(void **state) {
  cg_h5ad *h = open_ok("categorical-int-nan.h5ad");
  cg_frame *obs = frame_ok(h, CG_AXIS_OBS, 0);
  const cg_column *c = col(obs, "categ_int_nan");
  assert_int_equal(c->n_categories, 80);
  assert_string_equal(c->cat_dtype, "int64");
  assert_string_equal(c->categories[1], "1");
  for (int64_t i = 0; i < c->n; i++) assert_int_equal(c->v.codes[i], -1);
  cg_frame_free(obs);
  cg_h5ad_close(h);

  h = open_ok("t-cells-zero-level-categorical.h5ad");
  obs = frame_ok(h, CG_AXIS_OBS, 0);
  c = col(obs, "IR_VDJ_2_c_call");
  assert_int_equal(c->type, CG_COL_CATEGORICAL);
  assert_int_equal(c->n_categories, 0);
  for (int64_t i = 0; i < c->n; i++) assert_int_equal(c->v.codes[i], -1);
  assert_string_equal(col(obs, "is_cell")->categories[0], "True");
  assert_int_equal(obs->n_cols, 79);
  cg_frame *var = frame_ok(h, CG_AXIS_VAR, 0);
  assert_string_equal(var->index_name, "gene_ids");
  assert_string_equal(var->index[0], "ENSMUSG00000033845");
  cg_frame_free(var);
  cg_frame_free(obs);
  cg_h5ad_close(h);

  h = open_ok("anndata-archive-v0.7.0.h5ad");
  obs = frame_ok(h, CG_AXIS_OBS, 0);
  assert_int_equal(col(obs, "cat_ordered")->ordered, 1);
  assert_int_equal(col(obs, "obs_cat")->ordered, 0);
  assert_string_equal(col(obs, "uint8")->dtype, "uint8");
  assert_int_equal(col(obs, "uint8")->v.i64[0], 226);
  cg_frame_free(obs);
  cg_h5ad_close(h);
}

static void test_nullable_columns(void **state) {
  cg_h5ad *h = open_ok("anndataR-example.h5ad");
  cg_frame *obs = frame_ok(h, CG_AXIS_OBS, 0);
  const cg_column *in = col(obs, "IntNA"), *bn = col(obs, "BoolNA");
  assert_string_equal(in->dtype, "Int64");
  assert_non_null(in->valid);
  assert_int_equal(in->valid[0], 0);
  assert_string_equal(bn->dtype, "boolean");
  assert_int_equal(bn->type, CG_COL_BOOL);
  assert_string_equal(col(obs, "Int")->dtype, "int64");
  assert_null(col(obs, "Int")->valid);
  cg_frame_free(obs);
  cg_h5ad_close(h);

  h = open_ok("krumsiek11-augmented.h5ad");
  obs = frame_ok(h, CG_AXIS_OBS, 0);
  int64_t na = 0;
  for (int64_t i = 0; i < obs->n_rows; i++) na += !col(obs, "dummy_int2")->valid[i];
  assert_int_equal(na, 1);
  cg_frame_free(obs);
  cg_h5ad_close(h);
}

static void test_legacy_categories_and_uns(void **state) {
  cg_h5ad *h = open_ok("osmfish-cortex-6471.h5ad");
  cg_frame *obs = frame_ok(h, CG_AXIS_OBS, 0), *var = frame_ok(h, CG_AXIS_VAR, 0);
  assert_int_equal(col(obs, "CellType")->n_categories, 32);
  assert_string_equal(col(obs, "CellType")->categories[0], "Astrocyte Gfap");
  assert_string_equal(col(obs, "Valid")->categories[1], "1");
  assert_string_equal(col(var, "Fluorophore")->categories[1], "Cy3");
  assert_string_equal(obs->index[0], "778");
  cg_uns *u = NULL;
  cg_err e = {0};
  assert_int_equal(cg_h5ad_read_uns(h, &u, &e), 0);
  assert_int_equal(u->n_keys, 3); /* leiden, louvain, neighbors: the *_categories keys moved into obs/var */
  assert_string_equal(u->keys[2], "neighbors");
  cg_uns_free(u);
  cg_frame_free(obs);
  cg_frame_free(var);
  cg_h5ad_close(h);
}

static void test_uns_title(void **state) {
  cg_h5ad *h = open_ok("schema6-valid-heart.h5ad");
  cg_uns *u = NULL;
  cg_err e = {0};
  assert_int_equal(cg_h5ad_read_uns(h, &u, &e), 0);
  assert_string_equal(u->title, "All \xe2\x80\x94 Cells of the adult human heart");
  assert_string_equal(u->default_embedding, "X_umap");
  cg_uns_free(u);
  cg_h5ad_close(h);
  h = open_ok("tiny-0.7-float32.h5ad");
  assert_int_equal(cg_h5ad_read_uns(h, &u, &e), 0);
  assert_string_equal(u->title, "random");
  cg_uns_free(u);
  cg_h5ad_close(h);
}

static void test_embeddings(void **state) {
  cg_embedding *em = NULL;
  int ne = 0;
  cg_err e = {0};
  cg_h5ad *h = open_ok("visium-brain-49-spots.h5ad");
  assert_int_equal(cg_h5ad_read_embeddings(h, &em, &ne, &e), 0);
  assert_int_equal(ne, 3);
  assert_string_equal(em[2].name, "spatial"); /* int64 in the file */
  assert_float_equal(em[2].xy[0], 337, 0);
  assert_float_equal(em[2].xy[1], 439, 0);
  cg_embeddings_free(em, ne);
  cg_h5ad_close(h);

  h = open_ok("schema-invalid-obsm.h5ad"); /* X_umap is (320, 1): skipped with a warning */
  assert_int_equal(cg_h5ad_read_embeddings(h, &em, &ne, &e), 0);
  assert_int_equal(ne, 1);
  assert_string_equal(em[0].name, "X_pca");
  assert_int_equal(em[0].dims, 50);
  assert_true(cg_h5ad_n_warnings(h) >= 1);
  assert_non_null(strstr(cg_h5ad_warning(h, 0), "/obsm/X_umap"));
  cg_embeddings_free(em, ne);
  cg_h5ad_close(h);

  h = open_ok("anndata-archive-v0.7.0.h5ad"); /* dataframe and sparse obsm entries: skipped */
  assert_int_equal(cg_h5ad_read_embeddings(h, &em, &ne, &e), 0);
  assert_int_equal(ne, 1);
  assert_string_equal(em[0].name, "array");
  assert_int_equal(cg_h5ad_n_warnings(h), 2);
  cg_embeddings_free(em, ne);
  cg_h5ad_close(h);
}

/* Reads a whole matrix in blocks of `bs` lines into one CSR (ptr, idx, val). */
typedef struct {
  int64_t lines, nnz;
  int64_t *ptr;
  uint32_t *idx;
  float *val;
} whole;

static whole read_whole(cg_h5ad *h, const char *which, int64_t bs, int sort) {
  cg_h5ad_matrix *m = NULL;
  cg_err e = {0};
  if (cg_h5ad_matrix_open(h, which, &m, &e)) fail_msg("%s: %s", which, e.msg);
  cg_h5ad_matrix_sort_lines(m, sort);
  const cg_matrix_info *mi = cg_h5ad_matrix_info(m);
  whole w = {cg_h5ad_matrix_major(m) == CG_AXIS_OBS ? mi->n_rows : mi->n_cols, 0, NULL, NULL, NULL};
  w.ptr = calloc((size_t)w.lines + 1, sizeof *w.ptr);
  cg_sparse_block b;
  cg_sparse_block_init(&b);
  for (int64_t f = 0; f < w.lines; f += bs) {
    int64_t c = w.lines - f < bs ? w.lines - f : bs;
    if (cg_h5ad_matrix_read_block(m, f, c, &b, &e)) fail_msg("%s: %s", which, e.msg);
    assert_int_equal(cg_sparse_block_check(&b, cg_h5ad_matrix_major(m) == CG_AXIS_OBS ? mi->n_cols : mi->n_rows, &e), 0);
    w.idx = realloc(w.idx, (size_t)(w.nnz + b.nnz + 1) * sizeof *w.idx);
    w.val = realloc(w.val, (size_t)(w.nnz + b.nnz + 1) * sizeof *w.val);
    if (b.nnz) memcpy(w.idx + w.nnz, b.idx, (size_t)b.nnz * sizeof *w.idx);
    if (b.nnz) memcpy(w.val + w.nnz, b.val, (size_t)b.nnz * sizeof *w.val);
    for (int64_t l = 0; l < c; l++) w.ptr[f + l + 1] = w.nnz + b.ptr[l + 1];
    w.nnz += b.nnz;
  }
  cg_sparse_block_dispose(&b);
  cg_h5ad_matrix_close(m);
  return w;
}

static void whole_free(whole *w) { free(w->ptr), free(w->idx), free(w->val); }

static void assert_whole_equal(const whole *a, const whole *b) {
  assert_int_equal(a->lines, b->lines);
  assert_int_equal(a->nnz, b->nnz);
  assert_memory_equal(a->ptr, b->ptr, (size_t)(a->lines + 1) * sizeof *a->ptr);
  assert_memory_equal(a->idx, b->idx, (size_t)a->nnz * sizeof *a->idx);
  assert_memory_equal(a->val, b->val, (size_t)a->nnz * sizeof *a->val);
}

static void test_block_sizes_agree(void **state) {
  const char *files[] = {"visium-brain-49-spots.h5ad", "pbmc5k-protein-dense-lzf.h5ad", "pbmc-small-X-csc.h5ad",
                         "schema6-valid-heart.h5ad"};
  for (size_t i = 0; i < 4; i++) {
    cg_h5ad *h = open_ok(files[i]);
    whole all = read_whole(h, "X", 1 << 20, 0);
    int64_t sizes[] = {1, 3, 7, 64};
    for (int k = 0; k < 4; k++) {
      whole w = read_whole(h, "X", sizes[k], 0);
      assert_whole_equal(&all, &w);
      whole_free(&w);
    }
    whole_free(&all);
    cg_h5ad_close(h);
  }
}

static void assert_frames_equal(const cg_frame *a, const cg_frame *b) {
  assert_int_equal(a->n_rows, b->n_rows);
  assert_int_equal(a->n_cols, b->n_cols);
  for (int64_t i = 0; i < a->n_rows; i++) assert_string_equal(a->index[i], b->index[i]);
  for (int c = 0; c < a->n_cols; c++) {
    const cg_column *x = &a->cols[c], *y = &b->cols[c];
    assert_string_equal(x->name, y->name);
    assert_int_equal(x->type, y->type);
    assert_string_equal(x->dtype, y->dtype);
    if (x->type == CG_COL_CATEGORICAL) {
      assert_int_equal(x->n_categories, y->n_categories);
      for (int k = 0; k < x->n_categories; k++) assert_string_equal(x->categories[k], y->categories[k]);
      assert_memory_equal(x->v.codes, y->v.codes, (size_t)x->n * sizeof(int32_t));
    } else if (x->type == CG_COL_BOOL) {
      assert_memory_equal(x->v.b, y->v.b, (size_t)x->n);
    } else if (x->type != CG_COL_STRING) {
      assert_memory_equal(x->v.i64, y->v.i64, (size_t)x->n * 8);
    }
  }
}

static void test_legacy_equals_modern(void **state) {
  cg_h5ad *a = open_ok("pbmc68k_reduced.h5ad"), *b = open_ok("pbmc68k_reduced.legacy-2018.h5ad");
  for (int k = 0; k < 3; k++) {
    cg_frame *fa = frame_ok(a, k == 0 ? CG_AXIS_OBS : CG_AXIS_VAR, k == 2);
    cg_frame *fb = frame_ok(b, k == 0 ? CG_AXIS_OBS : CG_AXIS_VAR, k == 2);
    assert_frames_equal(fa, fb);
    cg_frame_free(fa);
    cg_frame_free(fb);
  }
  cg_embedding *ea, *eb;
  int na, nb;
  cg_err e = {0};
  assert_int_equal(cg_h5ad_read_embeddings(a, &ea, &na, &e), 0);
  assert_int_equal(cg_h5ad_read_embeddings(b, &eb, &nb, &e), 0);
  assert_int_equal(na, 2);
  assert_int_equal(nb, 2);
  for (int i = 0; i < 2; i++) {
    assert_string_equal(ea[i].name, eb[i].name);
    assert_int_equal(ea[i].dims, eb[i].dims);
    assert_memory_equal(ea[i].xy, eb[i].xy, (size_t)ea[i].n_rows * 2 * sizeof(float));
  }
  cg_embeddings_free(ea, na);
  cg_embeddings_free(eb, nb);
  whole ra = read_whole(a, "raw", 100, 1), rb = read_whole(b, "raw", 64, 1), xa = read_whole(a, "X", 50, 0),
        xb = read_whole(b, "X", 700, 0);
  assert_whole_equal(&ra, &rb);
  assert_whole_equal(&xa, &xb);
  whole_free(&ra), whole_free(&rb), whole_free(&xa), whole_free(&xb);
  cg_h5ad_close(a);
  cg_h5ad_close(b);
}

static void test_unsorted_raw_is_an_error_by_default(void **state) {
  cg_h5ad *h = open_ok("pbmc68k_reduced.h5ad");
  cg_h5ad_matrix *m = NULL;
  cg_err e = {0};
  cg_sparse_block b;
  cg_sparse_block_init(&b);
  assert_int_equal(cg_h5ad_matrix_open(h, "raw", &m, &e), 0);
  assert_string_equal(cg_h5ad_matrix_info(m)->path, "/raw/X");
  assert_int_equal(cg_h5ad_matrix_read_block(m, 0, 10, &b, &e), CG_EFORMAT);
  assert_non_null(strstr(e.msg, "/raw/X/indices: row 0: column indices not sorted (761 after 764)"));
  cg_h5ad_matrix_sort_lines(m, 1);
  assert_int_equal(cg_h5ad_matrix_read_block(m, 0, 10, &b, &e), 0);
  assert_int_equal(b.idx[0], 3); /* anndata: raw.X[0] sorted by column starts 3, 4, 6 with 1.591 each */
  assert_int_equal(b.idx[1], 4);
  assert_float_equal(b.val[0], 1.591, 1e-3);
  cg_sparse_block_dispose(&b);
  cg_h5ad_matrix_close(m);
  cg_h5ad_close(h);
}

static void test_api_errors(void **state) {
  cg_err e = {0};
  cg_h5ad *h = NULL;
  assert_int_equal(cg_h5ad_open(DATA "no-such-file.h5ad", &h, &e), CG_EIO);
  assert_null(h);
  assert_int_equal(cg_h5ad_open(DATA "MANIFEST.md", &h, &e), CG_ECORRUPT);
  assert_non_null(strstr(e.msg, "MANIFEST.md: not a readable HDF5 file"));
  h = open_ok("pbmc3k-meta-X-absent.h5ad");
  cg_h5ad_matrix *m = NULL;
  cg_frame *f = NULL;
  assert_int_equal(cg_h5ad_matrix_open(h, "raw", &m, &e), CG_ENOTFOUND);
  assert_int_equal(cg_h5ad_matrix_open(h, "layer:nope", &m, &e), CG_ENOTFOUND);
  assert_int_equal(cg_h5ad_matrix_open(h, "Y", &m, &e), CG_EINVAL);
  assert_int_equal(cg_h5ad_read_frame(h, CG_AXIS_VAR, 1, &f, &e), CG_ENOTFOUND);
  assert_int_equal(cg_h5ad_read_frame(h, CG_AXIS_OBS, 1, &f, &e), CG_EINVAL);
  assert_int_equal(cg_h5ad_matrix_open(h, "X", &m, &e), 0);
  assert_int_equal(cg_h5ad_matrix_info(m)->format, CG_MAT_ABSENT);
  cg_sparse_block b;
  cg_sparse_block_init(&b);
  assert_int_equal(cg_h5ad_matrix_read_block(m, 0, 1, &b, &e), CG_EINVAL);
  cg_h5ad_matrix_close(m);
  cg_h5ad_close(h);
  h = open_ok("visium-brain-49-spots.h5ad");
  assert_int_equal(cg_h5ad_matrix_open(h, "X", &m, &e), 0);
  assert_int_equal(cg_h5ad_matrix_read_block(m, 40, 10, &b, &e), CG_EINVAL);
  assert_int_equal(cg_h5ad_matrix_read_block(m, 49, 0, &b, &e), 0);
  assert_int_equal(b.nnz, 0);
  cg_sparse_block_dispose(&b);
  cg_h5ad_matrix_close(m);
  cg_h5ad_close(h);
}

static void test_open_image(void **state) {
  FILE *fp = fopen(DATA "tiny-0.7-float32.h5ad", "rb");
  assert_non_null(fp);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, fp);
  fclose(fp);
  cg_h5ad *h = NULL;
  cg_err e = {0};
  assert_int_equal(cg_h5ad_open_image(buf, n, &h, &e), 0);
  assert_int_equal(cg_h5ad_n_obs(h), 3);
  cg_h5ad_close(h);
  assert_int_equal(cg_h5ad_open_image(buf, 100, &h, &e), CG_ECORRUPT); /* truncated image */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oracle_every_file),
      cmocka_unit_test(test_file_shapes),
      cmocka_unit_test(test_pbmc68k),
      cmocka_unit_test(test_categorical_edge_cases),
      cmocka_unit_test(test_nullable_columns),
      cmocka_unit_test(test_legacy_categories_and_uns),
      cmocka_unit_test(test_uns_title),
      cmocka_unit_test(test_embeddings),
      cmocka_unit_test(test_block_sizes_agree),
      cmocka_unit_test(test_legacy_equals_modern),
      cmocka_unit_test(test_unsorted_raw_is_an_error_by_default),
      cmocka_unit_test(test_api_errors),
      cmocka_unit_test(test_open_image),
  };
  return cmocka_run_group_tests(tests, setup_oracle, NULL);
}
