/* synth.h — a generator of realistic synthetic single-cell datasets, and the pipeline that streams one into
 * an .h5ad file (`cellgate synth`, benchmarks, tests).
 *
 * The model (deterministic given the parameters; every random draw comes from a seeded stream)
 *  - K clusters with uneven sizes; cluster k is cell type k ("CD4 T cell", "B cell", ...). Each cluster has
 *    up to CG_SYNTH_MAX_MARKERS marker genes that its cells express often and highly, other cells rarely.
 *  - Genes have log-normal base means; 13 mitochondrial genes ("MT-...") are highly expressed everywhere.
 *  - Cell i expresses exactly m_i genes, m_i ≈ nnz_per_cell · LogNormal(0, 0.3) (clamped to [1, n_genes]):
 *    its markers (each with p = 0.9), then genes drawn by base weight (alias table) without replacement.
 *  - Counts of expressed genes are 1 + Geometric (a gamma–Poisson / negative binomial with shape 1, zero-
 *    truncated) with mean scaled by gene mean, cell library size and a marker boost; X stores
 *    log1p(count / total_counts · 10^4) as float32, like typical cellxgene data.
 *  - Embeddings are Gaussian blobs around per-cluster centres (X_umap 2-D, X_pca 10-D).
 *
 * Determinism and threads: row i depends only on (params, i), never on block boundaries or thread count.
 * cg_synth_rows may run concurrently on disjoint row ranges (it writes only that range's per-cell QC);
 * everything else is single-threaded. Errors: negative cg_errcode + cg_err; nothing is printed.
 * Ownership: cg_synth_create → cg_synth_free; frames and arrays returned are the caller's.
 */
#ifndef CG_SYNTH_SYNTH_H
#define CG_SYNTH_SYNTH_H

#include <stdint.h>

#include "base/err.h"
#include "base/frame.h"
#include "base/sparse.h"
#include "h5ad/h5ad_write.h"

#define CG_SYNTH_MAX_MARKERS 10
#define CG_SYNTH_MAX_CLUSTERS 1000
#define CG_SYNTH_PCA_DIMS 10

typedef struct cg_synth_params {
  int64_t n_cells, n_genes; /* >= 1; n_cells, n_genes <= 2^31-1 */
  uint64_t seed;
  int n_clusters;   /* 1..CG_SYNTH_MAX_CLUSTERS (the CLI's default is 20) */
  int nnz_per_cell; /* 0..n_genes, mean stored entries per cell (the CLI's default is 1000) */
} cg_synth_params;

typedef struct cg_synth cg_synth;

/* Validates p (CG_EINVAL with the offending field) and builds the model, including each cell's cluster and
 * stored-entry count, hence the exact nnz. */
int cg_synth_create(const cg_synth_params *p, cg_synth **out, cg_err *err);
void cg_synth_free(cg_synth *s);

int64_t cg_synth_nnz(const cg_synth *s); /* exact total stored entries of X */
int cg_synth_cluster(const cg_synth *s, int64_t cell);
/* The marker genes of cluster k (sorted gene indices; *n may be 0 when genes are too few). Static. */
const int64_t *cg_synth_markers(const cg_synth *s, int k, int *n);
const char *cg_synth_gene_name(const cg_synth *s, int64_t gene); /* static until cg_synth_free */
const char *cg_synth_cell_type(const cg_synth *s, int k);        /* static until cg_synth_free */

/* Fills blk (reset, then reserved as needed) with rows [first, first + count): sorted unique indices,
 * float32 values > 0. Also records those cells' QC (n_genes, total_counts, pct_mito) for cg_synth_obs. */
int cg_synth_rows(cg_synth *s, int64_t first, int64_t count, cg_sparse_block *blk, cg_err *err);

/* obs: barcode-like index; cell_type, louvain, batch, donor (categorical), n_genes (int32), total_counts,
 * pct_mito (float32), passed_qc (bool). QC columns are those recorded by cg_synth_rows (0 for rows never
 * generated). */
int cg_synth_obs(const cg_synth *s, cg_frame **out, cg_err *err);

/* var: gene names index; gene_ids, highly_variable (bool), mean (float64, from gene_mean — n_genes values —
 * or 0 when NULL), n_cells (int32, from gene_cells or 0 when NULL). */
int cg_synth_var(const cg_synth *s, const double *gene_mean, const int64_t *gene_cells, cg_frame **out,
                 cg_err *err);

/* n_cells x dims row-major float32 (dims 2 → X_umap blobs, else X_pca-like); caller frees with cg_free. */
int cg_synth_embedding(const cg_synth *s, int dims, float **out, cg_err *err);

/* "#rrggbb" colour of cluster k (scanpy's default palette for K <= 20, evenly spaced hues beyond). */
void cg_synth_color(int k, int n_clusters, char out[8]);

typedef void (*cg_synth_progress_fn)(void *ctx, double fraction);

/* Generates the dataset and writes it to path as .h5ad (atomically: temporary name, then rename; nothing
 * is left at path on error). progress may be NULL. */
int cg_synth_write(const cg_synth_params *p, const char *path, const cg_h5ad_write_opts *opts,
                   cg_synth_progress_fn progress, void *progress_ctx, cg_err *err);

#endif
