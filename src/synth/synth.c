/* synth.c — the generator's model (genes, markers, clusters, alias table) and row generation.
 *
 * Row generation, for cell i of cluster k with m_i entries (all draws from stream (seed, ST_ROW, i)):
 *   1. each marker of k is expressed with p = 0.9;
 *   2. further genes are drawn from the base-weight alias table, skipping repeats (bitmap), at most 8·m_i
 *      draws; a still-short row is topped up with the next unused genes after a random start, so every row
 *      has exactly m_i entries and cg_synth_create knows nnz before a single row is generated;
 *   3. indices are sorted (bitmap scan when the bitmap is small next to m_i, else qsort);
 *   4. count = 1 + floor(Exp(1) · lambda_g · lib_i · boost), boost = MARKER_BOOST for k's markers;
 *      value = log1p(count · 10^4 / total_counts) as float32.
 */
#include "synth/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "synth/synth_int.h"

#define MARKER_P 0.9
#define MARKER_BOOST 4.0f
#define LUT_N 64

static const char *const mito_names[CG_SYNTH_N_MITO] = {
    "MT-ND1", "MT-ND2", "MT-CO1", "MT-CO2", "MT-ATP8", "MT-ATP6", "MT-CO3",
    "MT-ND3", "MT-ND4L", "MT-ND4", "MT-ND5", "MT-ND6", "MT-CYB"};

static const char *const type_table[CG_SYNTH_NAMED_TYPES][4] = {
    {"CD4 T cell", "CD3E", "CD4", "IL7R"},
    {"CD8 T cell", "CD8A", "CD8B", "GZMK"},
    {"natural killer cell", "NKG7", "GNLY", "KLRD1"},
    {"B cell", "MS4A1", "CD79A", "CD19"},
    {"CD14 monocyte", "CD14", "LYZ", "S100A8"},
    {"FCGR3A monocyte", "FCGR3A", "MS4A7", "LST1"},
    {"dendritic cell", "FCER1A", "CST3", "CLEC10A"},
    {"plasmacytoid dendritic cell", "LILRA4", "IL3RA", "CLEC4C"},
    {"megakaryocyte", "PPBP", "PF4", "ITGA2B"},
    {"plasma cell", "JCHAIN", "MZB1", "SDC1"},
    {"regulatory T cell", "FOXP3", "IL2RA", "CTLA4"},
    {"gamma-delta T cell", "TRDC", "TRGC1", "TRGC2"},
    {"erythrocyte", "HBB", "HBA1", "HBA2"},
    {"hematopoietic stem cell", "CD34", "KIT", "PROM1"},
    {"mast cell", "TPSAB1", "CPA3", "MS4A2"},
    {"neutrophil", "CSF3R", "FCGR3B", "CXCR2"},
    {"endothelial cell", "PECAM1", "VWF", "CDH5"},
    {"fibroblast", "COL1A1", "COL1A2", "DCN"},
    {"epithelial cell", "EPCAM", "KRT8", "KRT18"},
    {"smooth muscle cell", "ACTA2", "MYH11", "TAGLN"},
};

/* ---- parameters and accessors --------------------------------------------------------------------- */

static int check_params(const cg_synth_params *p, cg_err *err) {
  if (p->n_cells < 1 || p->n_cells > INT32_MAX)
    return cg_err_set(err, CG_EINVAL, "cells must be in 1..%d (got %lld)", INT32_MAX, (long long)p->n_cells);
  if (p->n_genes < 1 || p->n_genes > INT32_MAX)
    return cg_err_set(err, CG_EINVAL, "genes must be in 1..%d (got %lld)", INT32_MAX, (long long)p->n_genes);
  if (p->n_clusters < 1 || p->n_clusters > CG_SYNTH_MAX_CLUSTERS)
    return cg_err_set(err, CG_EINVAL, "clusters must be in 1..%d (got %d)", CG_SYNTH_MAX_CLUSTERS,
                      p->n_clusters);
  if (p->nnz_per_cell < 0 || p->nnz_per_cell > p->n_genes)
    return cg_err_set(err, CG_EINVAL, "nnz-per-cell must be in 0..genes (%lld) (got %d)",
                      (long long)p->n_genes, p->nnz_per_cell);
  return 0;
}

int64_t cg_synth_nnz(const cg_synth *s) { return s->nnz; }
int cg_synth_cluster(const cg_synth *s, int64_t cell) { return s->cluster[cell]; }
const char *cg_synth_gene_name(const cg_synth *s, int64_t gene) { return s->gene_names[gene]; }
const char *cg_synth_cell_type(const cg_synth *s, int k) { return s->type_names[k]; }

const int64_t *cg_synth_markers(const cg_synth *s, int k, int *n) {
  *n = s->n_markers;
  return s->markers + (size_t)k * (size_t)s->n_markers;
}

void cg__synth_cell(const cg_synth *s, int64_t i, int *k, int *m, float *lib) {
  cg__rng r;
  cg__rng_seed(&r, s->p.seed, ST_CELL, (uint64_t)i);
  double u = cg__rng_unif(&r), z = cg__rng_normal(&r);
  int lo = 0, hi = s->p.n_clusters - 1;
  while (lo < hi) { /* first cluster whose cumulative proportion reaches u */
    int mid = (lo + hi) / 2;
    if (s->cluster_cum[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  double mm = s->p.nnz_per_cell * exp(0.3 * z);
  if (mm < 1) mm = 1;
  if (mm > (double)s->p.n_genes) mm = (double)s->p.n_genes;
  *k = lo;
  *m = s->p.nnz_per_cell == 0 ? 0 : (int)(mm + 0.5);
  *lib = (float)(exp(0.35 * cg__rng_normal(&r)) * (s->p.nnz_per_cell ? mm / s->p.nnz_per_cell : 1.0));
}

/* ---- the model ------------------------------------------------------------------------------------ */

/* Vose's alias method over weights w (n entries). */
static int build_alias(cg_synth *s, const double *w, cg_err *err) {
  int64_t n = s->p.n_genes, ns = 0, nl = 0;
  int64_t *small = cg_malloc_array((size_t)n, sizeof *small), *large = cg_malloc_array((size_t)n, sizeof *large);
  double *q = cg_malloc_array((size_t)n, sizeof *q), sum = 0;
  int rc = 0;
  if (!small || !large || !q) {
    rc = cg_err_set(err, CG_ENOMEM, "alias table");
    goto done;
  }
  for (int64_t g = 0; g < n; g++) sum += w[g];
  for (int64_t g = 0; g < n; g++) {
    q[g] = w[g] * (double)n / sum;
    if (q[g] < 1.0) small[ns++] = g;
    else large[nl++] = g;
  }
  while (ns && nl) {
    int64_t a = small[--ns], b = large[nl - 1];
    s->alias_p[a] = (uint32_t)(q[a] * 4294967296.0);
    s->alias_i[a] = (uint32_t)b;
    q[b] -= 1.0 - q[a];
    if (q[b] < 1.0) nl--, small[ns++] = b;
  }
  while (nl) s->alias_p[large[--nl]] = UINT32_MAX, s->alias_i[large[nl]] = (uint32_t)large[nl];
  while (ns) s->alias_p[small[--ns]] = UINT32_MAX, s->alias_i[small[ns]] = (uint32_t)small[ns];
done:
  cg_free(q);
  cg_free(large);
  cg_free(small);
  return rc;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Assigns mito genes (the last 13 when there are >= 200 genes) and per-cluster markers (a seeded sample of
 * the other genes, disjoint between clusters). */
static int assign_roles(cg_synth *s, cg__rng *r, cg_err *err) {
  int64_t G = s->p.n_genes, n_mito = G >= 200 ? CG_SYNTH_N_MITO : 0, n_plain = G - n_mito;
  int K = s->p.n_clusters;
  for (int64_t g = 0; g < G; g++) s->role[g] = g >= n_plain ? ROLE_MITO : ROLE_PLAIN;
  int64_t nm = n_plain / (2 * K);
  s->n_markers = (int)(nm > CG_SYNTH_MAX_MARKERS ? CG_SYNTH_MAX_MARKERS : nm);
  int64_t need = (int64_t)K * s->n_markers;
  s->markers = cg_malloc_array((size_t)need + 1, sizeof *s->markers);
  int64_t *perm = cg_malloc_array((size_t)n_plain + 1, sizeof *perm);
  if (!s->markers || !perm) {
    cg_free(perm);
    return cg_err_set(err, CG_ENOMEM, "marker genes");
  }
  for (int64_t g = 0; g < n_plain; g++) perm[g] = g;
  for (int64_t j = 0; j < need; j++) { /* partial Fisher–Yates */
    int64_t t = j + (int64_t)(cg__rng_next(r) % (uint64_t)(n_plain - j)), x = perm[t];
    perm[t] = perm[j], perm[j] = x;
    s->markers[j] = x;
    s->role[x] = (int32_t)(j / s->n_markers);
  }
  for (int k = 0; k < K && s->n_markers; k++)
    qsort(s->markers + (size_t)k * s->n_markers, (size_t)s->n_markers, sizeof *s->markers, cmp_i64);
  cg_free(perm);
  return 0;
}

static char *gene_name(const cg_synth *s, int64_t g) {
  char buf[32];
  int64_t n_plain = s->p.n_genes - (s->p.n_genes >= 200 ? CG_SYNTH_N_MITO : 0);
  if (s->role[g] == ROLE_MITO) return cg_strdup(mito_names[g - n_plain]);
  int k = s->role[g];
  if (k >= 0 && k < CG_SYNTH_NAMED_TYPES)
    for (int j = 0; j < 3 && j < s->n_markers; j++)
      if (s->markers[(size_t)k * s->n_markers + j] == g) return cg_strdup(type_table[k][1 + j]);
  snprintf(buf, sizeof buf, "GENE%05lld", (long long)g + 1);
  return cg_strdup(buf);
}

static int build_names(cg_synth *s, cg_err *err) {
  char buf[32];
  for (int64_t g = 0; g < s->p.n_genes; g++)
    if (!(s->gene_names[g] = gene_name(s, g))) return cg_err_set(err, CG_ENOMEM, "gene names");
  for (int k = 0; k < s->p.n_clusters; k++) {
    snprintf(buf, sizeof buf, "cell type %d", k + 1);
    s->type_names[k] = cg_strdup(k < CG_SYNTH_NAMED_TYPES ? type_table[k][0] : buf);
    if (!s->type_names[k]) return cg_err_set(err, CG_ENOMEM, "cell type names");
  }
  return 0;
}

/* Gene weights and means: log-normal for plain genes, high for mito, low base for markers (which their own
 * cluster switches on in gen_row). */
static int build_genes(cg_synth *s, cg__rng *r, cg_err *err) {
  double *w = cg_malloc_array((size_t)s->p.n_genes, sizeof *w);
  if (!w) return cg_err_set(err, CG_ENOMEM, "gene weights");
  for (int64_t g = 0; g < s->p.n_genes; g++) {
    double x = exp(cg__rng_normal(r));
    if (x < 0.05) x = 0.05;
    if (x > 12) x = 12;
    if (s->role[g] == ROLE_MITO) x = 15;
    else if (s->role[g] >= 0) x = 0.05;
    w[g] = x;
    s->lambda[g] = (float)(s->role[g] == ROLE_MITO ? 6.0 : s->role[g] >= 0 ? 2.0 : 0.6 * x);
  }
  int rc = build_alias(s, w, err);
  cg_free(w);
  return rc;
}

static void build_clusters(cg_synth *s, cg__rng *r) {
  int K = s->p.n_clusters, D = 2 + CG_SYNTH_PCA_DIMS;
  double sum = 0;
  for (int k = 0; k < K; k++) sum += s->cluster_cum[k] = exp(0.7 * cg__rng_normal(r));
  double c = 0;
  for (int k = 0; k < K; k++) s->cluster_cum[k] = (c += s->cluster_cum[k]) / sum;
  s->cluster_cum[K - 1] = 1.0;
  for (int k = 0; k < K; k++) {
    double a = 6.283185307179586 * cg__rng_unif(r), rad = 4 + 12 * sqrt(cg__rng_unif(r));
    s->center[k * D] = (float)(rad * cos(a)), s->center[k * D + 1] = (float)(rad * sin(a));
    for (int d = 2; d < D; d++) s->center[k * D + d] = (float)(6 * cg__rng_normal(r));
    s->spread[k] = (float)(0.6 + 1.2 * cg__rng_unif(r));
  }
}

static int alloc_model(cg_synth *s) {
  size_t N = (size_t)s->p.n_cells, G = (size_t)s->p.n_genes, K = (size_t)s->p.n_clusters;
  s->cluster = cg_calloc(N, sizeof *s->cluster);
  s->qc_genes = cg_calloc(N, sizeof *s->qc_genes);
  s->qc_total = cg_calloc(N, sizeof *s->qc_total);
  s->qc_mito = cg_calloc(N, sizeof *s->qc_mito);
  s->lambda = cg_calloc(G, sizeof *s->lambda);
  s->role = cg_calloc(G, sizeof *s->role);
  s->alias_p = cg_calloc(G, sizeof *s->alias_p);
  s->alias_i = cg_calloc(G, sizeof *s->alias_i);
  s->gene_names = cg_calloc(G, sizeof *s->gene_names);
  s->type_names = cg_calloc(K, sizeof *s->type_names);
  s->cluster_cum = cg_calloc(K, sizeof *s->cluster_cum);
  s->center = cg_calloc(K * (2 + CG_SYNTH_PCA_DIMS), sizeof *s->center);
  s->spread = cg_calloc(K, sizeof *s->spread);
  return s->cluster && s->qc_genes && s->qc_total && s->qc_mito && s->lambda && s->role && s->alias_p &&
                 s->alias_i && s->gene_names && s->type_names && s->cluster_cum && s->center && s->spread
             ? 0
             : CG_ENOMEM;
}

int cg_synth_create(const cg_synth_params *p, cg_synth **out, cg_err *err) {
  cg__rng r;
  *out = NULL;
  int rc = check_params(p, err);
  if (rc) return rc;
  cg_synth *s = cg_calloc(1, sizeof *s);
  if (!s) return cg_err_set(err, CG_ENOMEM, "synth model");
  s->p = *p;
  if (alloc_model(s)) {
    rc = cg_err_set(err, CG_ENOMEM, "synth model for %lld cells", (long long)p->n_cells);
    goto done;
  }
  cg__rng_seed(&r, p->seed, ST_MODEL, 0);
  rc = assign_roles(s, &r, err);
  if (!rc) rc = build_genes(s, &r, err);
  if (!rc) rc = build_names(s, err);
  if (rc) goto done;
  build_clusters(s, &r);
  for (int64_t i = 0; i < p->n_cells; i++) {
    int k, m;
    float lib;
    cg__synth_cell(s, i, &k, &m, &lib);
    s->cluster[i] = k;
    s->nnz += m;
  }
done:
  if (rc) cg_synth_free(s);
  else *out = s;
  return rc;
}

void cg_synth_free(cg_synth *s) {
  if (!s) return;
  for (int64_t g = 0; s->gene_names && g < s->p.n_genes; g++) cg_free(s->gene_names[g]);
  for (int k = 0; s->type_names && k < s->p.n_clusters; k++) cg_free(s->type_names[k]);
  void *arrays[] = {s->cluster, s->qc_genes, s->qc_total, s->qc_mito, s->lambda, s->role, s->alias_p,
                    s->alias_i, s->markers, s->gene_names, s->type_names, s->cluster_cum, s->center,
                    s->spread};
  for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++) cg_free(arrays[i]);
  cg_free(s);
}

/* ---- rows ----------------------------------------------------------------------------------------- */

typedef struct scratch {
  uint64_t *bits;  /* n_genes bits, all clear between rows */
  uint32_t *list;  /* chosen genes in draw order */
  uint32_t *count; /* counts in index order */
} scratch;

static inline int take(scratch *w, uint32_t g, int n) {
  uint64_t bit = 1ull << (g & 63);
  if (w->bits[g >> 6] & bit) return n;
  w->bits[g >> 6] |= bit;
  w->list[n] = g;
  return n + 1;
}

static inline uint32_t alias_draw(const cg_synth *s, cg__rng *r) {
  uint64_t x = cg__rng_next(r);
  uint32_t j = (uint32_t)(((x >> 32) * (uint64_t)s->p.n_genes) >> 32);
  return (uint32_t)x < s->alias_p[j] ? j : s->alias_i[j];
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Steps 1-3: chooses m sorted unique genes for a cell of cluster k into idx; clears w->bits again. */
static void choose_genes(const cg_synth *s, int k, int m, cg__rng *r, scratch *w, uint32_t *idx) {
  uint32_t G = (uint32_t)s->p.n_genes;
  const int64_t *mk = s->markers + (size_t)k * s->n_markers;
  int n = 0;
  for (int j = 0; j < s->n_markers; j++)
    if (cg__rng_unif(r) < MARKER_P && n < m) n = take(w, (uint32_t)mk[j], n);
  for (int64_t draws = 0; n < m && draws < 8 * (int64_t)m; draws++) n = take(w, alias_draw(s, r), n);
  for (uint32_t g = (uint32_t)(cg__rng_next(r) % G); n < m; g = g + 1 == G ? 0 : g + 1) n = take(w, g, n);
  size_t words = ((size_t)G + 63) / 64;
  if (words <= 8 * (size_t)m) { /* scan the bitmap, clearing it as we go */
    int o = 0;
    for (size_t i = 0; i < words; i++)
      for (uint64_t b = w->bits[i]; b; b &= b - 1) idx[o++] = (uint32_t)(i * 64 + (unsigned)__builtin_ctzll(b));
    for (int j = 0; j < m; j++) w->bits[idx[j] >> 6] = 0;
  } else {
    memcpy(idx, w->list, (size_t)m * sizeof *idx);
    qsort(idx, (size_t)m, sizeof *idx, cmp_u32);
    for (int j = 0; j < m; j++) w->bits[idx[j] >> 6] = 0;
  }
}

/* Step 4 for one cell; records its QC. */
static void fill_values(cg_synth *s, int64_t i, int k, int m, float lib, cg__rng *r, scratch *w,
                        const uint32_t *idx, float *val) {
  uint64_t total = 0, mito = 0;
  float lut[LUT_N];
  for (int j = 0; j < m; j++) {
    uint32_t g = idx[j];
    float mean = s->lambda[g] * lib * (s->role[g] == k ? MARKER_BOOST : 1.0f);
    float e = -logf((float)cg__rng_unif(r));
    uint32_t c = 1 + (uint32_t)(e * mean);
    w->count[j] = c;
    total += c;
    if (s->role[g] == ROLE_MITO) mito += c;
  }
  float scale = total ? 1e4f / (float)total : 0;
  for (int c = 1; c < LUT_N; c++) lut[c] = log1pf((float)c * scale);
  for (int j = 0; j < m; j++) {
    uint32_t c = w->count[j];
    val[j] = c < LUT_N ? lut[c] : log1pf((float)c * scale);
  }
  s->qc_genes[i] = m;
  s->qc_total[i] = (float)total;
  s->qc_mito[i] = total ? (float)(100.0 * (double)mito / (double)total) : 0.0f;
}

static int64_t gen_row(cg_synth *s, int64_t i, scratch *w, uint32_t *idx, float *val) {
  int k, m;
  float lib;
  cg__rng r;
  cg__synth_cell(s, i, &k, &m, &lib);
  cg__rng_seed(&r, s->p.seed, ST_ROW, (uint64_t)i);
  choose_genes(s, k, m, &r, w, idx);
  fill_values(s, i, k, m, lib, &r, w, idx, val);
  return m;
}

int cg_synth_rows(cg_synth *s, int64_t first, int64_t count, cg_sparse_block *blk, cg_err *err) {
  scratch w = {0};
  int64_t need = 0;
  int rc = 0;
  if (first < 0 || count < 0 || count > s->p.n_cells - first)
    return cg_err_set(err, CG_ERANGE, "rows %lld+%lld of %lld", (long long)first, (long long)count,
                      (long long)s->p.n_cells);
  for (int64_t i = first; i < first + count; i++) {
    int k, m;
    float lib;
    cg__synth_cell(s, i, &k, &m, &lib);
    need += m;
  }
  size_t G = (size_t)s->p.n_genes;
  w.bits = cg_calloc((G + 63) / 64, sizeof *w.bits);
  w.list = cg_malloc_array(G, sizeof *w.list);
  w.count = cg_malloc_array(G, sizeof *w.count);
  if (!w.bits || !w.list || !w.count || cg_sparse_block_reserve(blk, count, need)) {
    rc = cg_err_set(err, CG_ENOMEM, "synth rows %lld+%lld", (long long)first, (long long)count);
    goto done;
  }
  blk->first = first, blk->count = count, blk->ptr[0] = 0;
  for (int64_t i = 0; i < count; i++) {
    int64_t o = blk->ptr[i];
    blk->ptr[i + 1] = o + gen_row(s, first + i, &w, blk->idx + o, blk->val + o);
  }
  blk->nnz = blk->ptr[count];
done:
  cg_free(w.count);
  cg_free(w.list);
  cg_free(w.bits);
  return rc;
}
