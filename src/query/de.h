/* de.h — differential expression between two cell sets of a bundle: Welch's t, cellxgene's variant, Wilcoxon.
 *
 * What it does
 *  cg_de_run compares set 1 with set 2 (or with every other cell) for every gene of the bundle's matrix and
 *  returns a table: per gene n / mean / variance / fraction of cells with a stored value in each set, the
 *  effect size, the statistic, p and log p (natural log, accurate far below 1e-308), Bonferroni and
 *  Benjamini–Hochberg adjusted p, and the gene's rank.
 *
 *  Methods
 *   CG_DE_WELCH      Welch's unequal-variance t-test = scipy.stats.ttest_ind(a, b, equal_var=False).
 *                    statistic = t, dof = Welch–Satterthwaite. Fewer than 2 cells in a set, or zero
 *                    variance in both, give NaN t and p (as scipy); +-inf t gives p = 0, log p = -inf.
 *   CG_DE_CELLXGENE  cellxgene's computation (reference/cellxgene-compat.md §5): values are log1p'd first when
 *                    max - min over the matrix > 24 ("looks like counts", from the bundle's per-gene min/max);
 *                    both variances are divided by min(n1, n2); NaN t -> 0, NaN dof -> 1; lfc = mean1 - mean2
 *                    on the (transformed) values; adjusted p = Bonferroni over all genes.
 *   CG_DE_WILCOXON   Mann–Whitney U = scipy.stats.mannwhitneyu(a, b, alternative='two-sided',
 *                    method='asymptotic', use_continuity=True): statistic = U1 (for set 1), z with the tie
 *                    correction, auroc = U1 / (n1 n2). Zeros (implicit and stored) form one tie block.
 *
 *  Effect size (cg_de_result_lfc_kind): mean_diff = mean1 - mean2 on the stored scale is always reported.
 *  `lfc` is, by what the stored data look like (from the bundle's per-gene min/max):
 *   CG_DE_LFC_EXPM1   min >= 0 and max <= 24 (log1p-normalised): log2((mean expm1(x) in 1 + pc) /
 *                     (mean expm1(x) in 2 + pc)), pc = opts.pseudocount (default 1e-9, as scanpy);
 *   CG_DE_LFC_COUNTS  min >= 0 and max > 24 (counts): log2((mean1 + pc) / (mean2 + pc));
 *   CG_DE_LFC_DIFF    negative values (scaled data): lfc = mean1 - mean2.
 *  For CG_DE_CELLXGENE lfc is always cellxgene's mean difference (kind CG_DE_LFC_DIFF).
 *
 *  Ranking: genes ordered by log p ascending, then |statistic - null| descending (|t|, |z|), then index;
 *  NaN p last. rank = 1-based position. Adjustments count m = genes with a non-NaN p.
 *
 * How (design notes)
 *  1. One pass over the CSR rows of the selected cells (de_pass.c): threads take chunks of 2048 rows; each
 *     keeps per-gene float64 accumulators {stored count, sum, sum of squares of (x - c_g), sum of expm1(x)}
 *     with c_g the gene's mean over all cells (free from the bundle's gene stats), merged at the end. A
 *     vector step turns four stored values into four such records, then each is one 256-bit add into its
 *     gene's accumulator (AVX2 kernel chosen at run time; a portable kernel elsewhere). Two explicit sets
 *     are scanned in one sweep over their union.
 *  2. When set 2 is "rest" (or an explicit set holding every cell not in set 1), only the smaller of set 1
 *     and its complement is scanned; the other side comes from the bundle's per-gene totals (the sum of
 *     expm1 over all cells is computed once per bundle and kept in a small process-wide cache keyed by the
 *     bundle id).
 *  3. Wilcoxon walks each gene's CSC column once (de_wilcox.c): it gathers the non-zero values of each set,
 *     radix-sorts them, merges the two sorted runs with the zero block inserted analytically, and sums
 *     ranks and tie terms: O(nnz log nnz) per gene, threads over gene chunks.
 *
 * Ownership and threads
 *  cg_de_run may be called from any thread, concurrently; it reads the bundle only. It starts opts.threads
 *  worker threads (0 = the number of online CPUs) for the duration of the call and joins them before
 *  returning. The progress callback is called on the calling thread only, between chunks, with a fraction in
 *  [0, 1]; the cancel flag (if given) is read by every worker between chunks, and a set flag makes cg_de_run
 *  return CG_EINVAL ("cancelled") with no result. The result is immutable, owned by the caller, freed with
 *  cg_de_result_free; pointers its accessors return live until then.
 *  Errors: negative cg_errcode + message in err (CG_EINVAL for bad sets / options, CG_ENOTFOUND for a bundle
 *  without a matrix, CG_ENOMEM).
 *  The CSR/CSC indices are trusted (bundles are verified once when published, see bundle.h).
 */
#ifndef CG_QUERY_DE_H
#define CG_QUERY_DE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "bundle/bundle.h"
#include "query/bitset.h"

typedef enum { CG_DE_WELCH = 0, CG_DE_CELLXGENE = 1, CG_DE_WILCOXON = 2 } cg_de_method;
typedef enum { CG_DE_LFC_DIFF = 0, CG_DE_LFC_EXPM1 = 1, CG_DE_LFC_COUNTS = 2 } cg_de_lfc_kind;

/* "welch" / "cellxgene" / "wilcoxon"; NULL for an unknown value. */
const char *cg_de_method_name(cg_de_method m);
/* 0 and *out, or CG_EINVAL for an unknown name. */
int cg_de_method_parse(const char *name, cg_de_method *out);
/* "mean_difference", "log2_fold_change_of_expm1_means", "log2_fold_change_of_means". */
const char *cg_de_lfc_kind_name(cg_de_lfc_kind k);

/* A cell set: either a bitset over n_obs, or a sorted, duplicate-free list of cell indices. */
typedef struct cg_de_set {
  const cg_bitset *bits;  /* n_obs bits, or NULL */
  const int64_t *idx;     /* used when bits == NULL */
  int64_t n_idx;
} cg_de_set;

typedef void (*cg_de_progress_fn)(void *ctx, double fraction);

typedef struct cg_de_opts {
  int threads;                  /* 0 = online CPUs */
  double pseudocount;           /* for the log2 fold change; <= 0 or NaN = 1e-9 */
  const atomic_int *cancel;     /* NULL or a flag another thread sets to non-zero to stop the run */
  cg_de_progress_fn on_progress; /* NULL or called on the calling thread between chunks */
  void *progress_ctx;
} cg_de_opts;

/* One gene of a result. Fields that do not apply to the method are NaN. */
typedef struct cg_de_gene {
  int64_t n1, n2;          /* cells in each set */
  int64_t nnz1, nnz2;      /* cells with a stored value */
  double mean1, mean2;     /* on the stored scale (CG_DE_CELLXGENE: after its log1p when applied) */
  double var1, var2;       /* ddof = 1 */
  double frac1, frac2;     /* nnz / n */
  double mean_diff, lfc;   /* see the header notes */
  double statistic;        /* t (welch, cellxgene) or U1 (wilcoxon) */
  double dof;              /* welch / cellxgene */
  double z, auroc;         /* wilcoxon */
  double p, log_p;         /* p = exp(log_p); 0 when it underflows */
  double p_adj_bonferroni, log_p_adj_bonferroni;
  double p_adj_bh, log_p_adj_bh;
  int64_t rank;            /* 1-based */
} cg_de_gene;

typedef struct cg_de_result cg_de_result;

/* Runs the test. set2 == NULL means "every cell not in set1". The sets must be disjoint and each must hold at
 * least one cell (CG_EINVAL otherwise). opts may be NULL (defaults). On success *out is a new result. */
int cg_de_run(const cg_bundle *b, const cg_de_set *set1, const cg_de_set *set2, cg_de_method method,
              const cg_de_opts *opts, cg_de_result **out, cg_err *err);

void cg_de_result_free(cg_de_result *r); /* NULL is a no-op */

cg_de_method cg_de_result_method(const cg_de_result *r);
cg_de_lfc_kind cg_de_result_lfc_kind(const cg_de_result *r);
int cg_de_result_log1p_applied(const cg_de_result *r); /* CG_DE_CELLXGENE: 1 if values were log1p'd */
int64_t cg_de_result_n_genes(const cg_de_result *r);
int64_t cg_de_result_n1(const cg_de_result *r);
int64_t cg_de_result_n2(const cg_de_result *r);
/* All genes, indexed by gene (n_genes entries). */
const cg_de_gene *cg_de_result_genes(const cg_de_result *r);
/* Gene indices in rank order (n_genes entries). */
const int64_t *cg_de_result_order(const cg_de_result *r);

/* cellxgene's top-N selection (compat §5) on any result: among genes with |mean_diff| > 0.01 (if more than
 * 2n pass, else among all genes), the n largest statistics (positive, largest first) or the n most negative
 * (negative, most negative first); NaN statistics count as 0. Fills idx with up to n gene indices; returns
 * how many. */
int64_t cg_de_result_top_signed(const cg_de_result *r, int64_t n, int positive, int64_t *idx);

/* --- output (de_out.c) ------------------------------------------------------------------------------------
 * The table as text, genes in rank order, the first `top` (< 0 = all). b gives the gene names. *buf is
 * cg_malloc'd (caller cg_frees), NUL-terminated, *len bytes. 0 or CG_ENOMEM.
 *  JSON: {"method":..,"n1":..,"n2":..,"n_genes":..,"lfc_kind":..,"log1p_applied":..,"genes":[{"index","name",
 *        "rank","statistic","p","log_p","p_adj_bonferroni","p_adj_bh","log_p_adj_bonferroni","log_p_adj_bh",
 *        "mean1","mean2","var1","var2","frac1","frac2","nnz1","nnz2","mean_diff","lfc","dof","z","auroc"}]}
 *        (non-finite numbers are null; dof for t tests, z/auroc for wilcoxon only).
 *  CSV:  a header line with the same gene fields, then one line per gene; non-finite numbers as nan/inf/-inf. */
int cg_de_result_json(const cg_de_result *r, const cg_bundle *b, int64_t top, char **buf, size_t *len, cg_err *err);
int cg_de_result_csv(const cg_de_result *r, const cg_bundle *b, int64_t top, char **buf, size_t *len, cg_err *err);

#endif
