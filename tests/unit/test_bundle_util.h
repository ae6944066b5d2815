/* test_bundle_util.h — a synthetic dataset for the bundle tests (and the fuzz seed generator): frames with
 * every column type, two embeddings, colours, and a deterministic sparse matrix served as CSR or CSC blocks.
 * Header-only so each test program (and tests/fuzz/gen_bundle_seeds.c) can include it. */
#ifndef CG_TEST_BUNDLE_UTIL_H
#define CG_TEST_BUNDLE_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/sparse.h"
#include "bundle/bundle_write.h"

typedef struct tds {
  int64_t n_obs, n_vars;
  float *dense; /* n_obs x n_vars */
  cg_frame *obs, *var;
  float *xy[2];
  cg_bundle_embedding emb[2];
  const char *pal[3];
  cg_bundle_colors colors[1];
  int64_t fail_at;  /* read_block fails when asked for this line (-1: never) */
  int64_t hint_add; /* added to the nnz hint */
  cg_bundle_input in;
} tds;

static uint32_t tds_rng(uint32_t *s) {
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

static char *tds_fmt(const char *f, long v) {
  char b[64];
  snprintf(b, sizeof b, f, v);
  return strdup(b);
}

static cg_column *tds_col(cg_frame *f, const char *name, cg_coltype t, const char *dtype) {
  cg_column *c = &f->cols[f->n_cols++];
  c->name = strdup(name);
  c->type = t;
  snprintf(c->dtype, sizeof c->dtype, "%s", dtype);
  c->n = f->n_rows;
  return c;
}

static cg_frame *tds_frame(int64_t n, const char *prefix, int full) {
  cg_frame *f = calloc(1, sizeof *f);
  f->n_rows = n;
  f->index_name = strdup("_index");
  f->index = calloc((size_t)n + 1, sizeof(char *));
  for (int64_t i = 0; i < n; i++) f->index[i] = tds_fmt(prefix, (long)i);
  f->cols = calloc(8, sizeof(cg_column));
  cg_column *c = tds_col(f, "score", CG_COL_FLOAT, "float64");
  c->v.f64 = calloc((size_t)n + 1, 8);
  for (int64_t i = 0; i < n; i++) c->v.f64[i] = i % 7 == 3 ? NAN : (double)i * 0.25;
  if (!full) return f;
  c = tds_col(f, "cell_type", CG_COL_CATEGORICAL, "category");
  c->v.codes = calloc((size_t)n + 1, 4);
  for (int64_t i = 0; i < n; i++) c->v.codes[i] = i % 5 == 4 ? -1 : (int32_t)(i % 3);
  c->n_categories = 3, c->ordered = 1;
  snprintf(c->cat_dtype, sizeof c->cat_dtype, "object");
  c->categories = calloc(3, sizeof(char *));
  c->categories[0] = strdup("B cell"), c->categories[1] = strdup("T cell"), c->categories[2] = strdup("NK");
  c = tds_col(f, "n_genes", CG_COL_INT, "int64");
  c->v.i64 = calloc((size_t)n + 1, 8);
  for (int64_t i = 0; i < n; i++) c->v.i64[i] = 100 + i;
  c = tds_col(f, "big", CG_COL_INT, "int64");
  c->v.i64 = calloc((size_t)n + 1, 8);
  for (int64_t i = 0; i < n; i++) c->v.i64[i] = (int64_t)1 << 40 | i;
  c = tds_col(f, "is_doublet", CG_COL_BOOL, "bool");
  c->v.b = calloc((size_t)n + 1, 1);
  for (int64_t i = 0; i < n; i++) c->v.b[i] = i % 2;
  c = tds_col(f, "donor", CG_COL_STRING, "object");
  c->v.str = calloc((size_t)n + 1, sizeof(char *));
  for (int64_t i = 0; i < n; i++) c->v.str[i] = i % 6 == 5 ? NULL : tds_fmt("donor-%ld", i % 4);
  c = tds_col(f, "batch", CG_COL_INT, "Int64");
  c->v.i64 = calloc((size_t)n + 1, 8);
  c->valid = calloc((size_t)n + 1, 1);
  for (int64_t i = 0; i < n; i++) c->valid[i] = i % 4 != 1, c->v.i64[i] = c->valid[i] ? i % 3 : 0;
  return f;
}

static int tds_read(void *ctx, int64_t first, int64_t count, cg_sparse_block *b, cg_err *err) {
  tds *d = ctx;
  int csc = d->in.major_axis;
  int64_t nmin = csc ? d->n_obs : d->n_vars;
  if (d->fail_at >= first && d->fail_at < first + count)
    return cg_err_set(err, CG_EIO, "synthetic read failure at line %lld", (long long)d->fail_at);
  if (cg_sparse_block_reserve(b, count, count * nmin)) return cg_err_set(err, CG_ENOMEM, "block");
  b->first = first, b->count = count, b->nnz = 0;
  b->ptr[0] = 0;
  for (int64_t l = 0; l < count; l++) {
    for (int64_t j = 0; j < nmin; j++) {
      float v = csc ? d->dense[j * d->n_vars + first + l] : d->dense[(first + l) * d->n_vars + j];
      if (v != 0) b->idx[b->nnz] = (uint32_t)j, b->val[b->nnz++] = v;
    }
    b->ptr[l + 1] = b->nnz;
  }
  return 0;
}

static int64_t tds_nnz(const tds *d) {
  int64_t n = 0;
  for (int64_t i = 0; i < d->n_obs * d->n_vars; i++) n += d->dense[i] != 0;
  return n;
}

static void tds_init(tds *d, int64_t n_obs, int64_t n_vars, int csc, uint32_t seed) {
  memset(d, 0, sizeof *d);
  d->n_obs = n_obs, d->n_vars = n_vars, d->fail_at = -1;
  d->dense = calloc((size_t)(n_obs * n_vars) + 1, 4);
  for (int64_t i = 0; i < n_obs * n_vars; i++)
    if (tds_rng(&seed) % 4 == 0) d->dense[i] = (float)(tds_rng(&seed) % 1000) / 8.0f - 20.0f;
  d->obs = tds_frame(n_obs, "cell-%ld", 1);
  d->var = tds_frame(n_vars, "GENE%ld", 0);
  for (int e = 0; e < 2; e++) {
    d->xy[e] = calloc((size_t)n_obs * 2 + 1, 4);
    for (int64_t i = 0; i < 2 * n_obs; i++) d->xy[e][i] = (float)i * (e ? -1.5f : 0.5f);
    d->emb[e] = (cg_bundle_embedding){e ? "X_pca" : "X_umap", e ? 50 : 2, d->xy[e]};
  }
  d->pal[0] = "#1f77b4", d->pal[1] = "#ff7f0e", d->pal[2] = "#2ca02c";
  d->colors[0] = (cg_bundle_colors){"cell_type", d->pal, 3};
  cg_bundle_input *in = &d->in;
  in->n_obs = n_obs, in->n_vars = n_vars, in->obs = d->obs, in->var = d->var;
  in->emb = d->emb, in->n_emb = 2, in->colors = d->colors, in->n_colors = 1;
  in->title = "Synthetic test atlas", in->default_embedding = "X_umap";
  in->matrix_name = "X", in->source_dtype = "float32", in->major_axis = csc;
  in->nnz = tds_nnz(d), in->read_block = tds_read, in->ctx = d;
}

static void tds_frame_free(cg_frame *f) { /* allocated with libc in this file */
  for (int i = 0; i < f->n_cols; i++) {
    cg_column *c = &f->cols[i];
    if (c->type == CG_COL_STRING)
      for (int64_t k = 0; k < c->n; k++) free(c->v.str[k]);
    for (int k = 0; k < c->n_categories; k++) free(c->categories[k]);
    free(c->v.codes), free(c->categories), free(c->valid), free(c->name);
  }
  for (int64_t i = 0; i < f->n_rows; i++) free(f->index[i]);
  free(f->index), free(f->cols), free(f->index_name), free(f);
}

static void tds_free(tds *d) {
  tds_frame_free(d->obs), tds_frame_free(d->var);
  free(d->xy[0]), free(d->xy[1]), free(d->dense);
}

#endif
