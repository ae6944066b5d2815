/* h5ad_internal.h — what the files of src/h5ad/ share and nothing else includes.
 *
 * Files of the module (each has its own design note):
 *   h5ad.c         open/close, era detection, warnings, layer names
 *   h5ad_lzf.c     HDF5 filter 32000 (LZF) over liblzf, registered once per process
 *   h5ad_h5.c      small HDF5 helpers: object kinds, string/number attributes, dtype names, error text
 *   h5ad_str.c     string datasets (vlen and fixed, UTF-8 checked), Python-style number text
 *   h5ad_column.c  one dataframe column (categorical, numeric, bool, string, nullable-*) -> cg_column
 *   h5ad_frame.c   obs / var / raw.var: modern dataframes (0.7, >= 0.8) and the uns/<col>_categories compat
 *   h5ad_legacy.c  pre-0.7 compound datasets: dataframes
 *   h5ad_cats.c    uns/<col>_categories applied to obs/var columns (anndata's _clean_uns)
 *   h5ad_embed.c   obsm embeddings
 *   h5ad_uns.c     uns title, default_embedding, *_colors, keys
 *   h5ad_matrix.c  X / raw / layers: open, shape checks, sparse blocks
 *   h5ad_dense.c   dense blocks (rows of a 2-D dataset, zeros dropped)
 *   h5ad_chunks.c  fast path for sparse data/indices: raw chunk reads, inflated outside HDF5 on 2 threads
 *
 * Errors: helpers return 0 or a negative cg_errcode and fill err with "<hdf5 path>: <what> (<why>)".
 * Helpers never print: cg__h5_quiet() turns HDF5's automatic error printing off for the calling thread
 * (HDF5 keeps the default error stack per thread), and every public entry point calls it.
 */
#ifndef CG_H5AD_H5AD_INTERNAL_H
#define CG_H5AD_H5AD_INTERNAL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/frame.h"
#include "h5ad/h5ad.h"

#define CG__PATH_MAX 512

typedef struct cg__chunked cg__chunked;

struct cg_h5ad {
  hid_t file;
  const char *era; /* "legacy", "0.7", "0.8" (static) */
  int legacy;      /* obs is a compound dataset */
  int64_t n_obs, n_vars;
  char **warnings;
  int n_warnings, cap_warnings;
};

struct cg_h5ad_matrix {
  cg_h5ad *h;
  cg_matrix_info info;
  hid_t obj;                     /* the matrix group (sparse) or dataset (dense) */
  hid_t data, indices, indptr;   /* sparse datasets, -1 for dense */
  hid_t idx_mem_type;            /* how indices are read into uint32 (see h5ad_matrix.c note 3) */
  hid_t idx_dxpl;                /* transfer list whose conversion exceptions mark bad indices */
  cg__chunked *fast[2];          /* data, indices: the chunk fast path (h5ad_chunks.c), NULL if ineligible */
  int idx_signed32;              /* indices stored as int32: values >= 2^31 are negative numbers */
  int64_t n_major, n_minor;      /* lines and their length: rows x cols (CSR, dense) or cols x rows (CSC) */
  int64_t data_len;              /* length of data/indices */
  int64_t chunk_rows;            /* dense: rows per chunk (0 if contiguous) */
  float *scratch;                /* dense: rows read before zeros are dropped */
  size_t scratch_cap;
  int sort_lines;                /* cg_h5ad_matrix_sort_lines: sort unsorted lines instead of failing */
  uint64_t *sort_tmp;            /* (index << 32 | value bits) pairs of the line being sorted */
  size_t sort_cap;
};

/* ---- h5ad.c ---- */
void cg__warn(cg_h5ad *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- h5ad_lzf.c ---- */
int cg__lzf_register(cg_err *err); /* idempotent, thread-safe */

/* ---- h5ad_h5.c ---- */
typedef enum { CG__H5_ABSENT = 0, CG__H5_GROUP = 1, CG__H5_DATASET = 2, CG__H5_OTHER = 3 } cg__h5kind;

void cg__h5_quiet(void);
/* Sets err to "<path>: <what>" and appends the innermost HDF5 error description when there is one. */
int cg__h5_fail(cg_err *err, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Kind of the object at `name` relative to loc (a multi-component path is checked link by link). */
cg__h5kind cg__h5_kind(hid_t loc, const char *name);
/* String attribute (vlen or fixed, scalar or one-element): 0, CG_ENOTFOUND, CG_EFORMAT or CG_ENOMEM. */
int cg__attr_string(hid_t obj, const char *name, char **out);
/* 1-D string-array attribute (an empty numeric array counts as no strings; a scalar string as one). */
int cg__attr_strings(hid_t obj, const char *name, char ***out, int *n);
/* Integer attribute values (up to max); 0, CG_ENOTFOUND or CG_EFORMAT. */
int cg__attr_ints(hid_t obj, const char *name, int64_t *out, int max, int *n);
/* Boolean-ish attribute (bool enum, integer): 0 and *out set, or CG_ENOTFOUND / CG_EFORMAT. */
int cg__attr_bool(hid_t obj, const char *name, int *out);
/* encoding-type attribute into buf ("" when absent or unreadable). */
void cg__encoding(hid_t obj, char *buf, size_t n);
/* numpy-style dtype name of an HDF5 type: "float32", "int8", "uint64", "bool", "str", "compound", ... */
void cg__dtype_name(hid_t type, char *buf, size_t n);
int cg__type_is_bool(hid_t type);   /* h5py's bool: an 8-bit enum FALSE=0, TRUE=1 */
int cg__type_is_string(hid_t type); /* H5T_STRING, vlen or fixed */
/* 1-D dataset length; -1 if not 1-D (rank in *rank when rank != NULL). */
int64_t cg__dset_len(hid_t dset, int *rank);
/* Reads all n values of a 1-D numeric (or bool) dataset converted to mem_type into buf. */
int cg__read_all(hid_t dset, hid_t mem_type, void *buf, const char *path, cg_err *err);
void cg__path_join(char *out, size_t n, const char *a, const char *b);
void cg__free_strings(char **s, int64_t n);

/* ---- h5ad_str.c ---- */
int cg__utf8_valid(const char *s, size_t n);
/* Reads a 1-D string dataset of length n (vlen or fixed) into n owned UTF-8 strings. */
int cg__read_strings(hid_t dset, const char *path, int64_t n, char ***out, cg_err *err);
/* Reads a string dataset that is a scalar or has one element (uns/title). */
int cg__read_string_scalar(hid_t dset, const char *path, char **out, cg_err *err);
/* Python str() of a number: "2.0", "1e-05", "3", "True". */
void cg__fmt_double(double v, char *buf, size_t n);
/* Text for the n elements of a numeric/bool dataset (categories); cat_dtype gets the pandas dtype. */
int cg__read_number_texts(hid_t dset, const char *path, int64_t n, char ***out, char *cat_dtype,
                          size_t cat_dtype_n, cg_err *err);

/* ---- h5ad_column.c ---- */
/* Reads child `name` of group `parent` (at parent_path) as a column of n rows. CG_EUNSUPPORTED means
 * "skip with a warning" (err says why); other negative codes are errors. */
int cg__read_column(hid_t parent, const char *parent_path, const char *name, int64_t n, cg_column *col,
                    cg_err *err);
/* Checks codes against n_categories: every code in [-1, n_categories). */
int cg__check_codes(const int32_t *codes, int64_t n, int32_t n_categories, const char *path, cg_err *err);
/* A column from numeric/bool/string data already in a 1-D dataset (no encoding group). */
int cg__column_from_dataset(hid_t dset, const char *path, int64_t n, cg_column *col, cg_err *err);

/* ---- h5ad_frame.c ---- */
int cg__frame_add_col(cg_frame *f, cg_column *col, int *cap, const char *path, cg_err *err);
/* Rows of the frame at path (obs/var, any layout): the length of its index. */
int cg__frame_len(hid_t file, const char *path, int64_t *n, cg_err *err);

/* ---- h5ad_legacy.c ---- */
int cg__legacy_read_frame(hid_t dset, const char *path, cg_frame **out, cg_h5ad *h, cg_err *err);
/* Just one non-index field of a legacy dataframe as a column; CG_ENOTFOUND when there is no such field. */
int cg__legacy_read_field(hid_t dset, const char *path, const char *field, cg_column *col, cg_err *err);

/* ---- h5ad_cats.c ---- */
/* Applies uns/<col>_categories (anndata's _clean_uns) to integer columns of f. */
int cg__apply_uns_categories(cg_h5ad *h, cg_frame *f, cg_err *err);
/* Whether uns/<key> is a `<col>_categories` entry consumed by obs or var (hidden from uns keys). */
int cg__uns_key_consumed(cg_h5ad *h, const char *key);

/* ---- h5ad_matrix.c ---- */
/* Dataset access list with a chunk cache of `bytes` (consecutive blocks reuse partly read chunks). */
hid_t cg__dapl_cache(size_t bytes);
/* "gzip", "lzf", "none", or the filter's name, from a dataset's creation list. */
void cg__compression_name(hid_t dset, char *buf, size_t n);

/* ---- h5ad_chunks.c ---- */
/* The fast path for a 1-D dataset read into mem_type without conversion, or NULL when it is not eligible
 * (h5ad_chunks.c note 1) or memory is short. dset is borrowed and must outlive the handle. */
cg__chunked *cg__chunked_open(hid_t dset, hid_t mem_type);
/* Reads elements [start, start+count) of n such datasets into buf[i] (calling thread + one helper thread).
 * 0, or -1 when anything is off (unallocated or implausible chunk, inflate error, memory): the caller then
 * reads the same range through HDF5, which gives the reference result or error. */
int cg__chunked_read(cg__chunked *const *c, void *const *buf, int n, int64_t start, int64_t count);
void cg__chunked_free(cg__chunked *c);

/* ---- h5ad_dense.c ---- */
int cg__dense_open(cg_h5ad_matrix *m, cg_err *err);
int cg__dense_read_block(cg_h5ad_matrix *m, int64_t first, int64_t count, cg_sparse_block *blk, cg_err *err);

#endif
