/* h5ad.h — AnnData .h5ad reader over libhdf5, for every layout era:
 *   legacy (< 0.7): compound obs/var/obsm datasets, uns/<col>_categories, raw.X / raw.var, h5sparse_format;
 *   0.7: categories by HDF5 object reference, _index attribute, column-order;
 *   >= 0.8: encoding-type attributes (dataframe, categorical, string-array, array, dict, string, numeric-scalar,
 *           rec-array, nullable-integer/boolean/string-array, null, csr_matrix, csc_matrix, raw).
 * Values read are the values Debian's python3-anndata 0.8 reads from the same file.
 *
 * Threads: HDF5 (Debian's build) serialises every call behind one global lock, so a cg_h5ad handle and
 * everything opened from it is used by one thread at a time. Readers pull big blocks per call.
 * Errors: negative cg_errcode + cg_err whose message names the HDF5 path at fault ("/obs/cell_type/codes: ...").
 * Ownership: every out-pointer is owned by the caller and freed with the matching free function.
 * Filters: LZF (HDF5 filter 32000) is registered by cg_h5ad_open through liblzf (Debian's plugin is not
 * linked against liblzf); gzip is built into HDF5.
 */
#ifndef CG_H5AD_H5AD_H
#define CG_H5AD_H5AD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/frame.h"
#include "base/sparse.h"

typedef struct cg_h5ad cg_h5ad;
typedef struct cg_h5ad_matrix cg_h5ad_matrix;

typedef enum { CG_AXIS_OBS = 0, CG_AXIS_VAR = 1 } cg_axis;

typedef enum { CG_MAT_ABSENT = 0, CG_MAT_DENSE, CG_MAT_CSR, CG_MAT_CSC } cg_matfmt;

/* Which matrix to read: "X", "raw" (raw/X with raw/var), or "layer:NAME" (layers/NAME). */
typedef struct cg_matrix_info {
  cg_matfmt format;
  char path[256];       /* HDF5 path of the matrix group/dataset, "" when absent */
  char dtype[16];       /* source value dtype: "float32", "float64", "int32", "int64", ... */
  char index_dtype[16]; /* sparse: "int32" or "int64"; dense: "" */
  char compression[16]; /* "none", "gzip", "lzf", or another filter name */
  int64_t n_rows, n_cols; /* n_obs x n_vars of this matrix (raw may have another n_vars than X) */
  int64_t nnz;            /* stored entries for sparse; n_rows*n_cols for dense; 0 when absent */
} cg_matrix_info;

/* Opens path read-only. Fails with a clear message if it is not HDF5 or has no obs/var. */
int cg_h5ad_open(const char *path, cg_h5ad **out, cg_err *err);
void cg_h5ad_close(cg_h5ad *h);

/* Same as cg_h5ad_open for a file image held in memory (HDF5 core driver; the image is copied, so the caller
 * may free it after the call). Used by the fuzzer and by tests that build files in memory. */
int cg_h5ad_open_image(const void *image, size_t size, cg_h5ad **out, cg_err *err);

int64_t cg_h5ad_n_obs(const cg_h5ad *h);
int64_t cg_h5ad_n_vars(const cg_h5ad *h); /* of var (X's axis) */

/* "legacy", "0.7" or "0.8" — the layout era detected on open. Static string. */
const char *cg_h5ad_era(const cg_h5ad *h);

/* Warnings collected so far (skipped obsm entries, unsupported columns, ...): static until close. */
int cg_h5ad_n_warnings(const cg_h5ad *h);
const char *cg_h5ad_warning(const cg_h5ad *h, int i);

/* Reads obs, var, or raw/var (raw = 1 with CG_AXIS_VAR) as a frame. Column order follows column-order (or the
 * compound's field order in the legacy layout). Columns of unsupported encodings are skipped with a warning.
 * Returns CG_ENOTFOUND for raw=1 when the file has no raw. */
int cg_h5ad_read_frame(cg_h5ad *h, cg_axis axis, int raw, cg_frame **out, cg_err *err);

typedef struct cg_embedding {
  char *name;     /* obsm key as stored ("X_umap") */
  int64_t n_rows; /* == n_obs */
  int dims;       /* original dimensionality (>= 2) */
  float *xy;      /* n_rows x 2, row-major: the first two dimensions as float32 */
} cg_embedding;

/* Reads every obsm entry that is a dense numeric 2-D array with n_obs rows and >= 2 columns. Dataframes,
 * sparse matrices and 1-column arrays are skipped with a warning; a wrong row count, or +-Inf, or all-NaN
 * is an error (CG_EFORMAT naming the path). */
int cg_h5ad_read_embeddings(cg_h5ad *h, cg_embedding **out, int *n_out, cg_err *err);
void cg_embeddings_free(cg_embedding *e, int n);

typedef struct cg_colors {
  char *column;  /* obs column ("louvain" from uns/louvain_colors) */
  char **colors; /* n colour strings as stored ("#1f77b4", or a named colour) */
  int n;
} cg_colors;

typedef struct cg_uns {
  char *title;             /* uns/title or NULL */
  char *default_embedding; /* uns/default_embedding or NULL */
  cg_colors *colors;
  int n_colors;
  char **keys; /* every top-level uns key, sorted */
  int n_keys;
} cg_uns;

int cg_h5ad_read_uns(cg_h5ad *h, cg_uns **out, cg_err *err);
void cg_uns_free(cg_uns *u);

/* Opens a matrix: which = "X", "raw" or "layer:NAME". An absent X opens with format CG_MAT_ABSENT (not an
 * error); an absent raw or layer is CG_ENOTFOUND. Validates shapes against obs/var (or raw/var). */
int cg_h5ad_matrix_open(cg_h5ad *h, const char *which, cg_h5ad_matrix **out, cg_err *err);
const cg_matrix_info *cg_h5ad_matrix_info(const cg_h5ad_matrix *m);

/* Major axis of the matrix: CG_AXIS_OBS for CSR and dense (blocks are rows), CG_AXIS_VAR for CSC. */
cg_axis cg_h5ad_matrix_major(const cg_h5ad_matrix *m);

/* Reads `count` major-axis lines starting at `first` into blk (reused across calls; grown as needed), as
 * float32, dropping the zeros of dense input. Checks every line: offsets within bounds and non-decreasing,
 * indices in range and strictly increasing, no +-Inf values (NaN is kept); a violation is CG_EFORMAT naming
 * the path and the line. Satisfies the cg_sparse_block invariants. */
int cg_h5ad_matrix_read_block(cg_h5ad_matrix *m, int64_t first, int64_t count, cg_sparse_block *blk,
                              cg_err *err);
void cg_h5ad_matrix_close(cg_h5ad_matrix *m);

/* Off by default: a line whose indices are not increasing is CG_EFORMAT. On: such a line is sorted by index
 * (values follow) before the checks, so files written with unsorted indices (scipy allows them; the raw/X of
 * pbmc68k_reduced.h5ad has every row in descending order) can be read; duplicate indices stay an error. */
void cg_h5ad_matrix_sort_lines(cg_h5ad_matrix *m, int on);

/* Layer names (sorted) present in the file; caller frees with cg_h5ad_names_free. */
int cg_h5ad_layers(cg_h5ad *h, char ***names, int *n, cg_err *err);
void cg_h5ad_names_free(char **names, int n);

#endif
