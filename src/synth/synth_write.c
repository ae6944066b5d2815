/* synth_write.c — the synth → .h5ad pipeline: X streamed in row blocks through the CSR writer (so the
 * matrix is never in memory: one block of rows plus the writer's bounded chunk ring), then obs (whose QC
 * columns the rows produced), var (per-gene means accumulated from the rows), obsm and uns.
 *
 *   cg_synth_create ─▶ writer_create ─▶ [rows → csr_append]* ─▶ obs, var, obsm, uns ─▶ writer_commit
 */
#include <stdio.h>

#include "base/mem.h"
#include "h5ad/h5ad_write.h"
#include "synth/synth_int.h"

#define BLOCK_NNZ ((int64_t)1 << 22) /* entries per generated block (~32 MB of idx + val) */

typedef struct gene_acc {
  double *sum;   /* n_genes: sum of X per gene */
  int64_t *cells; /* n_genes: cells with a stored entry */
} gene_acc;

static void accumulate(gene_acc *a, const cg_sparse_block *b) {
  for (int64_t j = 0; j < b->nnz; j++) {
    a->sum[b->idx[j]] += b->val[j];
    a->cells[b->idx[j]]++;
  }
}

static int write_matrix(cg_synth *s, cg_h5ad_writer *w, gene_acc *acc, cg_synth_progress_fn progress,
                        void *pctx, cg_err *err) {
  cg_h5ad_csr *c = NULL;
  cg_sparse_block blk;
  int64_t n = s->p.n_cells, rows = BLOCK_NNZ / (s->p.nnz_per_cell > 0 ? s->p.nnz_per_cell : 1);
  if (rows < 1) rows = 1;
  cg_sparse_block_init(&blk);
  int rc = cg_h5ad_csr_begin(w, "X", n, s->p.n_genes, s->nnz, &c, err);
  for (int64_t first = 0; first < n && !rc; first += rows) {
    int64_t count = n - first < rows ? n - first : rows;
    rc = cg_synth_rows(s, first, count, &blk, err);
    if (!rc) accumulate(acc, &blk);
    if (!rc) rc = cg_h5ad_csr_append(c, &blk, err);
    if (!rc && progress) progress(pctx, (double)(first + count) / (double)n);
  }
  if (c && !rc) rc = cg_h5ad_csr_finish(c, err);
  else cg_h5ad_csr_abort(c);
  cg_sparse_block_dispose(&blk);
  return rc;
}

static int write_frames(const cg_synth *s, cg_h5ad_writer *w, gene_acc *acc, cg_err *err) {
  cg_frame *obs = NULL, *var = NULL;
  for (int64_t g = 0; g < s->p.n_genes; g++) acc->sum[g] /= (double)s->p.n_cells; /* now the mean */
  int rc = cg_synth_obs(s, &obs, err);
  if (!rc) rc = cg_h5ad_write_frame(w, "obs", obs, err);
  cg_frame_free(obs);
  if (!rc) rc = cg_synth_var(s, acc->sum, acc->cells, &var, err);
  if (!rc) rc = cg_h5ad_write_frame(w, "var", var, err);
  cg_frame_free(var);
  return rc;
}

static int write_embedding(const cg_synth *s, cg_h5ad_writer *w, const char *path, int dims, cg_err *err) {
  float *e = NULL;
  int64_t shape[2] = {s->p.n_cells, dims};
  int rc = cg_synth_embedding(s, dims, &e, err);
  if (!rc) rc = cg_h5ad_write_array(w, path, CG_H5W_F32, 2, shape, e, err);
  cg_free(e);
  return rc;
}

static int write_uns(const cg_synth *s, cg_h5ad_writer *w, cg_err *err) {
  int K = s->p.n_clusters;
  char title[200];
  char(*colors)[8] = cg_calloc((size_t)K, sizeof *colors);
  const char **ptrs = cg_calloc((size_t)K, sizeof *ptrs);
  int rc = 0;
  if (!colors || !ptrs) {
    rc = cg_err_set(err, CG_ENOMEM, "uns colours");
    goto done;
  }
  for (int k = 0; k < K; k++) cg_synth_color(k, K, colors[k]), ptrs[k] = colors[k];
  snprintf(title, sizeof title, "Synthetic dataset: %lld cells × %lld genes, %d clusters (seed %llu)",
           (long long)s->p.n_cells, (long long)s->p.n_genes, K, (unsigned long long)s->p.seed);
  rc = cg_h5ad_write_string(w, "uns/title", title, err);
  if (!rc) rc = cg_h5ad_write_strings(w, "uns/cell_type_colors", ptrs, K, err);
  if (!rc) rc = cg_h5ad_write_strings(w, "uns/louvain_colors", ptrs, K, err);
  if (!rc) rc = cg_h5ad_write_string(w, "uns/default_embedding", "X_umap", err);
done:
  cg_free(ptrs);
  cg_free(colors);
  return rc;
}

int cg_synth_write(const cg_synth_params *p, const char *path, const cg_h5ad_write_opts *opts,
                   cg_synth_progress_fn progress, void *progress_ctx, cg_err *err) {
  cg_synth *s = NULL;
  cg_h5ad_writer *w = NULL;
  gene_acc acc = {NULL, NULL};
  int rc = cg_synth_create(p, &s, err);
  if (rc) return rc;
  acc.sum = cg_calloc((size_t)p->n_genes, sizeof *acc.sum);
  acc.cells = cg_calloc((size_t)p->n_genes, sizeof *acc.cells);
  if (!acc.sum || !acc.cells) {
    rc = cg_err_set(err, CG_ENOMEM, "per-gene sums");
    goto done;
  }
  rc = cg_h5ad_writer_create(path, opts, &w, err);
  if (!rc) rc = write_matrix(s, w, &acc, progress, progress_ctx, err);
  if (!rc) rc = write_frames(s, w, &acc, err);
  if (!rc) rc = write_embedding(s, w, "obsm/X_umap", 2, err);
  if (!rc) rc = write_embedding(s, w, "obsm/X_pca", CG_SYNTH_PCA_DIMS, err);
  if (!rc) rc = write_uns(s, w, err);
  if (!rc) {
    rc = cg_h5ad_writer_commit(w, err);
    w = NULL;
  }
done:
  cg_h5ad_writer_abort(w);
  cg_free(acc.cells);
  cg_free(acc.sum);
  cg_synth_free(s);
  return rc;
}
