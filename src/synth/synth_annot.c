/* synth_annot.c — the annotations of a synthetic dataset: obs and var frames, embeddings, colours.
 * Everything is derived from the model and seeded streams (ST_META per cell/gene, ST_EMBED per cell), so
 * the same parameters give the same annotations whatever order they are asked for in. */
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "synth/synth_int.h"

#define N_DONORS 8
#define N_BATCHES 4

static const char *const palette20[20] = {
    "#1f77b4", "#ff7f0e", "#279e68", "#d62728", "#aa40fc", "#8c564b", "#e377c2",
    "#b5bd61", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5", "#ad494a", "#8c6d31"}; /* scanpy's default_20 */

void cg_synth_color(int k, int n_clusters, char out[8]) {
  if (n_clusters <= 20 && k >= 0 && k < 20) {
    memcpy(out, palette20[k], 8);
    return;
  }
  double h = 6.0 * k / (n_clusters > 0 ? n_clusters : 1), s = 0.65, v = 0.85; /* evenly spaced hues */
  int i = (int)h % 6;
  double f = h - (int)h, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
  snprintf(out, 8, "#%02x%02x%02x", (int)(rgb[i][0] * 255 + 0.5), (int)(rgb[i][1] * 255 + 0.5),
           (int)(rgb[i][2] * 255 + 0.5));
}

/* ---- frame building ------------------------------------------------------------------------------- */

static cg_frame *frame_new(int64_t n_rows, int n_cols) {
  cg_frame *f = cg_calloc(1, sizeof *f);
  if (!f) return NULL;
  f->n_rows = n_rows;
  f->index_name = cg_strdup("_index");
  f->index = cg_calloc((size_t)n_rows + 1, sizeof *f->index);
  f->cols = cg_calloc((size_t)n_cols, sizeof *f->cols);
  if (!f->index_name || !f->index || !f->cols) {
    cg_frame_free(f);
    return NULL;
  }
  return f;
}

/* Adds a column of type t (values allocated zeroed, elem bytes each); returns it or NULL. */
static cg_column *add_col(cg_frame *f, const char *name, cg_coltype t, const char *dtype, size_t elem) {
  cg_column *c = &f->cols[f->n_cols];
  c->name = cg_strdup(name);
  c->type = t;
  c->n = f->n_rows;
  snprintf(c->dtype, sizeof c->dtype, "%s", dtype);
  c->v.codes = cg_calloc((size_t)f->n_rows + 1, elem);
  f->n_cols++; /* counted even on failure so cg_frame_free releases it */
  return c->name && c->v.codes ? c : NULL;
}

/* Categories are names[k], or fmt formatted with k + base. */
static cg_column *add_categorical(cg_frame *f, const char *name, int n_cat, const char *fmt, int base,
                                  const char *const *names) {
  cg_column *c = add_col(f, name, CG_COL_CATEGORICAL, "category", sizeof(int32_t));
  if (!c) return NULL;
  snprintf(c->cat_dtype, sizeof c->cat_dtype, "object");
  c->categories = cg_calloc((size_t)n_cat, sizeof *c->categories);
  if (!c->categories) return NULL;
  c->n_categories = n_cat;
  for (int k = 0; k < n_cat; k++) {
    char buf[64];
    snprintf(buf, sizeof buf, fmt, k + base);
    if (!(c->categories[k] = cg_strdup(names ? names[k] : buf))) return NULL;
  }
  return c;
}

/* A 10x-like barcode: 16 nucleotides from a bijective 32-bit mix of the cell index, so names are unique. */
static void barcode(uint64_t seed, int64_t i, char out[20]) {
  uint32_t x = (uint32_t)i ^ (uint32_t)(seed * 0x9E3779B97F4A7C15ull >> 32);
  x ^= x >> 16, x *= 0x7feb352dU, x ^= x >> 15, x *= 0x846ca68bU, x ^= x >> 16;
  for (int j = 0; j < 16; j++) out[j] = "ACGT"[(x >> (2 * j)) & 3];
  memcpy(out + 16, "-1", 3);
}

/* ---- obs ------------------------------------------------------------------------------------------ */

static int obs_columns(const cg_synth *s, cg_frame *f) {
  int K = s->p.n_clusters;
  cg_column *ct = add_categorical(f, "cell_type", K, "", 0, (const char *const *)s->type_names);
  cg_column *lv = ct ? add_categorical(f, "louvain", K, "%d", 0, NULL) : NULL; /* "0".."K-1" like scanpy */
  cg_column *bt = lv ? add_categorical(f, "batch", N_BATCHES, "batch_%d", 1, NULL) : NULL;
  cg_column *dn = bt ? add_categorical(f, "donor", N_DONORS, "donor_%02d", 1, NULL) : NULL;
  cg_column *ng = dn ? add_col(f, "n_genes", CG_COL_INT, "int32", sizeof(int64_t)) : NULL;
  cg_column *tc = ng ? add_col(f, "total_counts", CG_COL_FLOAT, "float32", sizeof(double)) : NULL;
  cg_column *pm = tc ? add_col(f, "pct_mito", CG_COL_FLOAT, "float32", sizeof(double)) : NULL;
  cg_column *qc = pm ? add_col(f, "passed_qc", CG_COL_BOOL, "bool", 1) : NULL;
  if (!qc) return CG_ENOMEM;
  for (int64_t i = 0; i < s->p.n_cells; i++) {
    cg__rng r;
    cg__rng_seed(&r, s->p.seed, ST_META, (uint64_t)i);
    int donor = (int)(cg__rng_next(&r) % N_DONORS);
    ct->v.codes[i] = lv->v.codes[i] = s->cluster[i];
    dn->v.codes[i] = donor;
    bt->v.codes[i] = donor % N_BATCHES;
    ng->v.i64[i] = s->qc_genes[i];
    tc->v.f64[i] = s->qc_total[i];
    pm->v.f64[i] = s->qc_mito[i];
    qc->v.b[i] = s->qc_mito[i] < 20.0f && s->qc_genes[i] >= s->p.nnz_per_cell / 2;
  }
  return 0;
}

int cg_synth_obs(const cg_synth *s, cg_frame **out, cg_err *err) {
  cg_frame *f = frame_new(s->p.n_cells, 8);
  int rc = f ? 0 : CG_ENOMEM;
  for (int64_t i = 0; i < s->p.n_cells && !rc; i++) {
    char b[20];
    barcode(s->p.seed, i, b);
    if (!(f->index[i] = cg_strdup(b))) rc = CG_ENOMEM;
  }
  if (!rc) rc = obs_columns(s, f);
  if (rc) {
    cg_frame_free(f);
    return cg_err_set(err, rc, "synth obs for %lld cells", (long long)s->p.n_cells);
  }
  *out = f;
  return 0;
}

/* ---- var ------------------------------------------------------------------------------------------ */

static int var_columns(const cg_synth *s, const double *mean, const int64_t *cells, cg_frame *f) {
  cg_column *id = add_col(f, "gene_ids", CG_COL_STRING, "object", sizeof(char *));
  cg_column *hv = id ? add_col(f, "highly_variable", CG_COL_BOOL, "bool", 1) : NULL;
  cg_column *mn = hv ? add_col(f, "mean", CG_COL_FLOAT, "float64", sizeof(double)) : NULL;
  cg_column *nc = mn ? add_col(f, "n_cells", CG_COL_INT, "int32", sizeof(int64_t)) : NULL;
  if (!nc) return CG_ENOMEM;
  cg__rng r;
  cg__rng_seed(&r, s->p.seed, ST_META, UINT64_MAX);
  for (int64_t g = 0; g < s->p.n_genes; g++) {
    char buf[32];
    snprintf(buf, sizeof buf, "ENSG%011lld", (long long)g + 1);
    if (!(f->index[g] = cg_strdup(s->gene_names[g])) || !(id->v.str[g] = cg_strdup(buf))) return CG_ENOMEM;
    double u = cg__rng_unif(&r);
    hv->v.b[g] = s->role[g] >= 0 || (s->role[g] == ROLE_PLAIN && u < 0.1);
    mn->v.f64[g] = mean ? mean[g] : 0;
    nc->v.i64[g] = cells ? cells[g] : 0;
  }
  return 0;
}

int cg_synth_var(const cg_synth *s, const double *gene_mean, const int64_t *gene_cells, cg_frame **out,
                 cg_err *err) {
  cg_frame *f = frame_new(s->p.n_genes, 4);
  int rc = f ? var_columns(s, gene_mean, gene_cells, f) : CG_ENOMEM;
  if (rc) {
    cg_frame_free(f);
    return cg_err_set(err, rc, "synth var for %lld genes", (long long)s->p.n_genes);
  }
  *out = f;
  return 0;
}

/* ---- embeddings ----------------------------------------------------------------------------------- */

int cg_synth_embedding(const cg_synth *s, int dims, float **out, cg_err *err) {
  const int D = 2 + CG_SYNTH_PCA_DIMS;
  float *e = dims >= 1 ? cg_malloc_array((size_t)s->p.n_cells * (size_t)dims, sizeof *e) : NULL;
  *out = NULL;
  if (!e) return cg_err_set(err, dims >= 1 ? CG_ENOMEM : CG_EINVAL, "embedding of %d dims", dims);
  for (int64_t i = 0; i < s->p.n_cells; i++) {
    cg__rng r;
    cg__rng_seed(&r, s->p.seed, ST_EMBED, (uint64_t)i * 64 + (uint64_t)(dims & 63));
    int k = s->cluster[i];
    const float *c = s->center + (size_t)k * D;
    for (int d = 0; d < dims; d++) {
      double mu = dims == 2 ? c[d] : d < CG_SYNTH_PCA_DIMS ? c[2 + d] / (1 + 0.5 * d) : 0;
      double sd = dims == 2 ? s->spread[k] : s->spread[k] / (1 + 0.3 * d);
      e[(size_t)i * dims + d] = (float)(mu + sd * cg__rng_normal(&r));
    }
  }
  *out = e;
  return 0;
}
