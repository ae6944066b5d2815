/* de_int.h — internals shared by de*.c (not part of the contract; see de.h). */
#ifndef CG_QUERY_DE_INT_H
#define CG_QUERY_DE_INT_H

#include "query/de.h"

/* --- a small parallel-for over chunks (de_pool.c) ----------------------------------------------------------
 * Runs fn(ctx, tid, chunk) for chunk = 0..n_chunks-1 on `threads` threads (tid 0 is the calling thread, which
 * also reports progress); chunks are claimed from an atomic counter. Stops early when *cancel becomes non-zero
 * or a chunk returns non-zero. Returns 0, the first non-zero chunk result, or CG_EINVAL when cancelled. */
typedef int (*cg__de_chunk_fn)(void *ctx, int tid, int64_t chunk);
int cg__de_parallel(int threads, int64_t n_chunks, cg__de_chunk_fn fn, void *ctx, const cg_de_opts *o, cg_err *err);
int cg__de_threads(const cg_de_opts *o);

/* --- the moment pass (de_pass.c) ---------------------------------------------------------------------------
 * Per gene, over the stored entries of the scanned rows: count, sum of x, sum of (x - c)^2 with c the gene's
 * global mean (float), sum of expm1(x). Implicit zeros are added analytically by the caller. */
typedef struct cg__de_acc { /* per thread and gene, 32 bytes, updated as one 256-bit vector */
  double cnt, s1, s2, se;
} cg__de_acc;

typedef struct cg__de_moments {
  double n, cnt, s1, s2, se; /* cells; stored entries; sum; sum (x-c)^2 over ALL n cells; sum expm1 */
} cg__de_moments;

#define CG__DE_LOG1P 1u /* transform values with log1p before accumulating (cellxgene on counts) */
#define CG__DE_EXPM1 2u /* accumulate expm1(x) too */

/* Scans the n_rows rows (sorted indices), centred on center[] (float per gene). side == NULL: all rows go to
 * mom[0][0..n_genes); else side[i] (0 or 1) says whether row i goes to mom[0] or mom[1] (one sweep over the
 * union of two sets: adjacent rows of the two sets stream together). */
int cg__de_pass(const cg_bundle_csx *csr, const float *center, const int64_t *rows, const uint8_t *side,
                int64_t n_rows, unsigned mode, const cg_de_opts *o, cg__de_moments *const *mom, cg_err *err);
/* Test hook: non-zero makes later passes use the portable kernel even where the AVX2 one runs. */
void cg__de_pass_force_portable(int on);

/* --- Wilcoxon (de_wilcox.c) --------------------------------------------------------------------------------
 * label[cell]: 0 = in neither set, 1 = set 1, 2 = set 2. Fills statistic (U1), z, auroc, log_p of genes[]. */
int cg__de_wilcoxon(const cg_bundle_csx *csc, const uint8_t *label, int64_t n1, int64_t n2,
                    const cg_de_opts *o, cg_de_gene *genes, cg_err *err);

/* --- per-gene tests and the result table (de_tests.c) --------------------------------------------------- */
void cg__de_welch(cg_de_gene *g);
void cg__de_cellxgene(cg_de_gene *g);
/* Fills p, adjusted p (Bonferroni; BH unless cellxgene) and rank, and writes the order. */
int cg__de_finish(cg_de_gene *genes, int64_t n, cg_de_method m, int64_t *order, cg_err *err);

/* --- per-bundle sums of expm1(x) over all cells (de.c) ------------------------------------------------- */
int cg__de_expm1_totals(const cg_bundle *b, const cg_de_opts *o, double **out, cg_err *err);

#endif
