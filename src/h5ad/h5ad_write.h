/* h5ad_write.h — a minimal AnnData (>= 0.8 encoding) writer over libhdf5: what `cellgate synth` and export
 * need, written so that Debian's python3-anndata 0.8 (and any HDF5 reader) opens the result.
 *
 * What it writes (every element carries encoding-type / encoding-version attributes, as anndata 0.8 does):
 *   /                  "anndata" 0.1.0
 *   dataframes         "dataframe" 0.2.0 with `_index` and `column-order` attributes (cg_h5ad_write_frame)
 *   categoricals       "categorical" 0.2.0: codes (int8/16/32, smallest that fits, like pandas) + categories
 *   string arrays      "string-array" 0.2.0: variable-length UTF-8 strings
 *   numeric arrays     "array" 0.2.0 (bool as h5py's enum {FALSE, TRUE} over int8)
 *   groups             "dict" 0.1.0;  scalar strings "string" 0.2.0
 *   CSR matrices       "csr_matrix" 0.1.0 with a `shape` attribute; data float32, indices/indptr int32, or
 *                      int64 when nnz or a dimension exceeds 2^31-1 (scipy's rule)
 *
 * Streaming matrices (the design note)
 *   The matrix never has to be in memory: cg_h5ad_csr_append takes row blocks in order. With gzip or lzf the
 *   writer fills fixed-size chunk buffers, compresses full chunks on `threads` worker threads and writes
 *   them with H5Dwrite_chunk (direct chunk write) in submission order; the datasets still declare the
 *   deflate (or LZF, id 32000) filter, so every HDF5 reader decompresses them normally.
 *
 *     append ─▶ chunk buffer ─full─▶ job ring (bounded) ─▶ workers compress ─▶ main thread H5Dwrite_chunk
 *
 *   Invariants: 1. only the calling thread touches HDF5 (Debian's HDF5 serialises everything anyway);
 *   2. chunks reach the file in the order they were filled, so output bytes do not depend on thread timing;
 *   3. at most CG_H5W_RING chunk jobs are in flight, so memory is bounded whatever nnz is;
 *   4. the tail chunk of each dataset is zero-padded to the full chunk size before compression.
 *   With compression "none" datasets are contiguous and written with plain H5Dwrite.
 *
 * Lifetime and atomicity: cg_h5ad_writer_create opens "<path>.tmp.<pid>"; cg_h5ad_writer_commit closes and
 * renames it to path; cg_h5ad_writer_abort closes and removes it. Either call frees the writer, so no
 * partial file is ever left at path. Output is deterministic: same calls, same bytes (object timestamps off).
 *
 * Threads: a writer and its CSR stream belong to one thread; the worker threads are internal.
 * Errors: negative cg_errcode + cg_err naming the HDF5 path at fault. Nothing is printed (HDF5's automatic
 * error printing is switched off by cg_h5ad_writer_create).
 * Paths: element paths are relative to the root ("obs", "uns/title"); parent groups must exist already
 * (the standard top-level groups are created by cg_h5ad_writer_create as empty dicts).
 */
#ifndef CG_H5AD_H5AD_WRITE_H
#define CG_H5AD_H5AD_WRITE_H

#include <stdint.h>

#include "base/err.h"
#include "base/frame.h"
#include "base/sparse.h"

typedef struct cg_h5ad_writer cg_h5ad_writer;
typedef struct cg_h5ad_csr cg_h5ad_csr;

typedef enum { CG_H5W_NONE = 0, CG_H5W_GZIP = 1, CG_H5W_LZF = 2 } cg_h5w_codec;

typedef struct cg_h5ad_write_opts {
  cg_h5w_codec codec; /* compression of every dataset (default gzip) */
  int level;          /* gzip level 1..9 (0 = default 4, h5py's default) */
  int threads;        /* compression threads for CSR streams (0 = 2) */
} cg_h5ad_write_opts;

/* Numeric element types of cg_h5ad_write_array. */
typedef enum {
  CG_H5W_I8 = 1,
  CG_H5W_I16,
  CG_H5W_I32,
  CG_H5W_I64,
  CG_H5W_F32,
  CG_H5W_F64,
  CG_H5W_BOOL, /* uint8 0/1 in memory, h5py's bool enum in the file */
} cg_h5w_dtype;

/* Parses "gzip" | "lzf" | "none"; 0 or CG_EINVAL. */
int cg_h5ad_codec_parse(const char *s, cg_h5w_codec *out);
const char *cg_h5ad_codec_name(cg_h5w_codec c);

/* Creates the temporary file, the root attributes and the empty dict groups every AnnData has (obsm, obsp,
 * varm, varp, layers, uns). opts may be NULL (gzip, level 4, 2 threads). On success *out owns the writer. */
int cg_h5ad_writer_create(const char *path, const cg_h5ad_write_opts *opts, cg_h5ad_writer **out,
                          cg_err *err);

/* Closes the file and renames it into place; frees w whatever the outcome (on failure the temporary file is
 * removed). With a CSR stream still open it fails (CG_EINVAL) and removes the file. The data are not
 * fsynced: a crash may lose the file, never expose a partial one under path. */
int cg_h5ad_writer_commit(cg_h5ad_writer *w, cg_err *err);

/* Closes and removes the temporary file, frees w. NULL is a no-op. */
void cg_h5ad_writer_abort(cg_h5ad_writer *w);

/* A dataframe element: index + columns in order. Column types map as: CATEGORICAL → categorical (string
 * categories), FLOAT → float32 if col->dtype is "float32" else float64, INT → int32 if dtype is "int32" else
 * int64, BOOL → bool, STRING → string-array. `valid` masks (nullable columns) are not supported
 * (CG_EUNSUPPORTED). The index dataset is named f->index_name or "_index". */
int cg_h5ad_write_frame(cg_h5ad_writer *w, const char *path, const cg_frame *f, cg_err *err);

/* An empty group with dict encoding (a no-op if it exists already, e.g. the standard ones). */
int cg_h5ad_write_dict(cg_h5ad_writer *w, const char *path, cg_err *err);

/* A scalar string element ("string" 0.2.0). */
int cg_h5ad_write_string(cg_h5ad_writer *w, const char *path, const char *s, cg_err *err);

/* A 1-D string array element ("string-array" 0.2.0); NULL entries are written as "". */
int cg_h5ad_write_strings(cg_h5ad_writer *w, const char *path, const char *const *s, int64_t n,
                          cg_err *err);

/* A dense numeric array element of `rank` (1 or 2) dims, row-major data of type dtype. */
int cg_h5ad_write_array(cg_h5ad_writer *w, const char *path, cg_h5w_dtype dtype, int rank,
                        const int64_t *dims, const void *data, cg_err *err);

/* Starts a CSR matrix element at path (e.g. "X") of n_rows x n_cols with exactly nnz stored entries.
 * At most one stream per writer at a time. The stream belongs to the writer: finish or abort it. */
int cg_h5ad_csr_begin(cg_h5ad_writer *w, const char *path, int64_t n_rows, int64_t n_cols, int64_t nnz,
                      cg_h5ad_csr **out, cg_err *err);

/* Appends the rows of blk (blk->first must be the next row; base/sparse.h invariants hold, which is not
 * re-checked). Fails with CG_ERANGE if the rows or entries would exceed what begin announced. */
int cg_h5ad_csr_append(cg_h5ad_csr *c, const cg_sparse_block *blk, cg_err *err);

/* Checks that every row and entry arrived, flushes the remaining chunks and writes indptr tails; frees c. */
int cg_h5ad_csr_finish(cg_h5ad_csr *c, cg_err *err);

/* Drops the stream (waits for its workers); frees c. NULL is a no-op. */
void cg_h5ad_csr_abort(cg_h5ad_csr *c);

#endif
