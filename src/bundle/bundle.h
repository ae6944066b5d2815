/* bundle.h — the immutable dataset bundle (.cgb; byte-level spec in docs/FORMAT.md): mmap reader.
 *
 * What it is
 *  A bundle is one read-only file per dataset: the expression matrix twice (cell-major CSR and gene-major CSC,
 *  float32 values, uint32 indices, uint64 offsets), per-gene statistics over all cells, typed obs/var columns,
 *  the obs/var index names, 2-D embeddings, and a little dataset-level metadata (matrix choice, title, default
 *  embedding, colours). Its id is a 128-bit hash of its contents, so anything computed from a bundle can be
 *  cached forever under that id.
 *
 * Ownership and threads
 *  - cg_bundle_open maps the file read-only (MAP_SHARED, PROT_READ) and returns a bundle with one reference.
 *    cg_bundle_retain adds a reference, cg_bundle_release drops one; the last release unmaps. Reference counting
 *    is atomic; everything else is immutable after open, so a bundle is used from any thread without locks.
 *  - Every pointer an accessor returns (arrays, strings, column/embedding descriptors) points into the mapping
 *    or into the bundle's own small tables and stays valid until the last release. Callers never free them.
 *  - Errors: negative cg_errcode + message in cg_err ("<path>: section 7 (obs 'cell_type' codes): ...").
 *
 * What cg_bundle_open guarantees (so accessors never read out of bounds)
 *  1. magic, format version, header/TOC checksum, file size == size recorded in the header;
 *  2. every section lies inside the file, is 64-byte aligned, sections do not overlap, and each section's size
 *     matches its element count and the shape it claims (n_obs, n_vars, nnz, column lengths);
 *  3. the META section (schema, names, metadata) checksums correctly and every reference in it is in range;
 *  4. indptr arrays (CSR and CSC) start at 0, are non-decreasing and end at nnz;
 *  5. every string table (index names, string columns, category dictionaries): offsets non-decreasing, inside
 *     the blob, and each string is NUL-terminated inside the blob (so cg_bundle_str is safe and O(1));
 *  6. categorical codes are -1 (missing) or < the number of categories; bool bytes and validity bytes are 0/1.
 *  What open does NOT check (cg_bundle_verify does, reading every byte):
 *  7. the XXH3-64 checksum of the large sections (matrix, gene stats, columns, embeddings);
 *  8. matrix indices < the minor dimension and strictly increasing within a line.
 *  So before verify, a caller using CSR/CSC indices to index an array of n_vars (or n_obs) must either have
 *  run cg_bundle_verify once for this file, or bounds-check the index. Cellgate verifies a bundle once when it
 *  is published (ingest) and trusts files in its own store afterwards; untrusted files must be verified.
 */
#ifndef CG_BUNDLE_BUNDLE_H
#define CG_BUNDLE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CG_BUNDLE_FORMAT_VERSION 1
#define CG_BUNDLE_ID_LEN 32 /* hex characters in an id (128-bit hash), not counting the NUL */

typedef struct cg_bundle cg_bundle;

/* --- open / lifetime ------------------------------------------------------------------------------------- */

/* Flags for cg_bundle_open_ex / cg_bundle_open_mem. */
#define CG_BUNDLE_OPEN_NOCHECKSUM 1u /* testing/fuzzing only: skip checksum comparisons (structure still checked) */

/* Opens and validates path (guarantees 1-6 above). On success *out holds one reference. */
int cg_bundle_open(const char *path, cg_bundle **out, cg_err *err);
int cg_bundle_open_ex(const char *path, unsigned flags, cg_bundle **out, cg_err *err);

/* Opens a bundle held in memory (tests, fuzzing). The bytes are not copied: the caller keeps them alive and
 * unchanged until the last release. data should be 8-byte aligned (sections are accessed in place). */
int cg_bundle_open_mem(const void *data, size_t size, unsigned flags, cg_bundle **out, cg_err *err);

/* Adds a reference; returns b. NULL-safe. */
cg_bundle *cg_bundle_retain(cg_bundle *b);

/* Drops a reference; the last one unmaps and frees. NULL is a no-op. */
void cg_bundle_release(cg_bundle *b);

/* Full verification: the checksum of every section and guarantees 7-8 above. Reads the whole file (about
 * 1-2 s per 10 GB when cached). 0 or CG_ECORRUPT naming the section at fault. Any thread. */
int cg_bundle_verify(const cg_bundle *b, cg_err *err);

/* --- identity and shape ---------------------------------------------------------------------------------- */

const char *cg_bundle_id(const cg_bundle *b); /* 32 lowercase hex chars, NUL-terminated */
uint32_t cg_bundle_format_version(const cg_bundle *b);
uint64_t cg_bundle_file_size(const cg_bundle *b);
int64_t cg_bundle_n_obs(const cg_bundle *b);
int64_t cg_bundle_n_vars(const cg_bundle *b);

/* --- the matrix ------------------------------------------------------------------------------------------ */

/* 1 if the bundle has a matrix; 0 for "no matrix" (then the name/dtype are NULL and nnz is 0). */
int cg_bundle_has_matrix(const cg_bundle *b);
const char *cg_bundle_matrix_name(const cg_bundle *b);  /* "X", "raw" or "layer:NAME"; NULL if none */
const char *cg_bundle_matrix_dtype(const cg_bundle *b); /* source value dtype, e.g. "float64"; NULL if none */
int64_t cg_bundle_nnz(const cg_bundle *b);

/* One orientation of the matrix. CSR: major = obs (cells), minor = vars (genes). CSC: the transpose.
 * Line i's entries are indices[indptr[i] .. indptr[i+1]) (strictly increasing minor indices) and the same
 * range of data. n_major+1 offsets. Explicit zeros stored by the source are kept. */
typedef struct cg_bundle_csx {
  int64_t n_major, n_minor, nnz;
  const uint64_t *indptr;
  const uint32_t *indices;
  const float *data;
} cg_bundle_csx;

/* Fill *out; 0, or CG_ENOTFOUND when the bundle has no matrix (out zeroed). */
int cg_bundle_csr(const cg_bundle *b, cg_bundle_csx *out);
int cg_bundle_csc(const cg_bundle *b, cg_bundle_csx *out);

/* Per-gene statistics over all n_obs cells (implicit zeros included), each array n_vars long.
 * sum and sumsq are accumulated in float64 in cell order; min/max include the implicit zeros, so for a gene
 * with nnz < n_obs, min <= 0 <= max. A gene with no cells at all (n_obs == 0) has min = max = 0. */
typedef struct cg_bundle_gene_stats {
  int64_t n;            /* n_vars */
  const uint64_t *nnz;  /* stored entries per gene (== CSC indptr[g+1] - indptr[g]) */
  const double *sum;
  const double *sumsq;
  const float *min;
  const float *max;
} cg_bundle_gene_stats;

int cg_bundle_gene_stats_get(const cg_bundle *b, cg_bundle_gene_stats *out); /* 0 or CG_ENOTFOUND (no matrix) */

/* --- strings --------------------------------------------------------------------------------------------- */

/* A table of count strings: string i is blob + offsets[i], length offsets[i+1] - offsets[i] - 1 bytes,
 * followed by a NUL inside the blob. Strings are UTF-8 as given to the writer and may contain no NUL. */
typedef struct cg_bundle_strings {
  int64_t count;
  const uint64_t *offsets; /* count+1 */
  const char *blob;
} cg_bundle_strings;

/* String i (NUL-terminated, zero-copy) and its length in *len (len may be NULL); NULL when i is out of range. */
static inline const char *cg_bundle_str(const cg_bundle_strings *s, int64_t i, size_t *len) {
  if (i < 0 || i >= s->count) return NULL;
  if (len) *len = (size_t)(s->offsets[i + 1] - s->offsets[i] - 1);
  return s->blob + s->offsets[i];
}

/* --- obs / var columns ----------------------------------------------------------------------------------- */

typedef enum { CG_BUNDLE_OBS = 0, CG_BUNDLE_VAR = 1 } cg_bundle_axis;

/* Stored column types. Mapping from cg_frame (base/frame.h): FLOAT (double) -> F32; INT (int64) -> I32 when
 * every value fits in int32, else F32 (dtype keeps the original name, e.g. "int64"); BOOL -> BOOL;
 * STRING -> STRING; CATEGORICAL -> CATEGORICAL. */
typedef enum {
  CG_BCOL_CATEGORICAL = 1, /* v.codes: int32, -1 = missing; categories: the dictionary */
  CG_BCOL_F32 = 2,         /* v.f32: NaN = missing (plus `valid` when the source was nullable) */
  CG_BCOL_I32 = 3,         /* v.i32 */
  CG_BCOL_BOOL = 4,        /* v.b: bytes 0/1 */
  CG_BCOL_STRING = 5,      /* str: a string table of n entries; "" at missing positions (see valid) */
} cg_bundle_coltype;

typedef struct cg_bundle_column {
  const char *name;
  cg_bundle_coltype type;
  const char *dtype;     /* the dtype pandas reported for the source column ("category", "int64", "Int64", ...) */
  int64_t n;             /* n_obs or n_vars */
  union {
    const int32_t *codes; /* CATEGORICAL */
    const float *f32;     /* F32 */
    const int32_t *i32;   /* I32 */
    const uint8_t *b;     /* BOOL */
  } v;                    /* unused (NULL) for STRING */
  cg_bundle_strings str;  /* STRING: n strings; otherwise zeroed */
  cg_bundle_strings categories; /* CATEGORICAL: the dictionary (count = number of categories); else zeroed */
  int ordered;                  /* CATEGORICAL: ordered categorical */
  const char *cat_dtype;        /* CATEGORICAL: dtype of the categories ("object", "int64", ...); else "" */
  const uint8_t *valid;         /* NULL (all present) or n bytes 0/1, 0 = missing */
} cg_bundle_column;

int cg_bundle_n_columns(const cg_bundle *b, cg_bundle_axis axis);
/* Column i of axis in source order, or NULL when out of range. */
const cg_bundle_column *cg_bundle_column_at(const cg_bundle *b, cg_bundle_axis axis, int i);
/* Position of the column called name, or -1. */
int cg_bundle_column_find(const cg_bundle *b, cg_bundle_axis axis, const char *name);

/* Row names of axis (n_obs or n_vars strings) and the index column's name in the source (NULL if none). */
const cg_bundle_strings *cg_bundle_index(const cg_bundle *b, cg_bundle_axis axis);
const char *cg_bundle_index_name(const cg_bundle *b, cg_bundle_axis axis);

/* --- embeddings, colours, metadata ----------------------------------------------------------------------- */

/* An embedding: n_obs x 2 float32, row-major; dims = the original dimensionality in the source. */
typedef struct cg_bundle_embedding {
  const char *name; /* obsm key as stored, e.g. "X_umap" */
  int dims;         /* original dimensionality */
  const float *xy;  /* n_obs x 2 row-major */
} cg_bundle_embedding;

int cg_bundle_n_embeddings(const cg_bundle *b);
const cg_bundle_embedding *cg_bundle_embedding_at(const cg_bundle *b, int i); /* NULL when out of range */
int cg_bundle_embedding_find(const cg_bundle *b, const char *name);          /* index or -1 */

/* Colours for one obs column (from uns["<col>_colors"]): n strings such as "#1f77b4". */
typedef struct cg_bundle_colors {
  const char *column; /* obs column */
  const char *const *colors;
  int n;
} cg_bundle_colors;

int cg_bundle_n_colors(const cg_bundle *b);
const cg_bundle_colors *cg_bundle_colors_at(const cg_bundle *b, int i);               /* NULL if out of range */
const cg_bundle_colors *cg_bundle_colors_find(const cg_bundle *b, const char *column); /* NULL if none */

const char *cg_bundle_title(const cg_bundle *b);             /* NULL when the source had none */
const char *cg_bundle_default_embedding(const cg_bundle *b); /* NULL when the source had none */

/* --- sections (for inspect) ------------------------------------------------------------------------------ */

typedef struct cg_bundle_section {
  uint32_t kind;        /* CG_BSEC_* in docs/FORMAT.md */
  const char *kind_name; /* "meta", "csr.indptr", "column.codes", ... (static) */
  char label[160];      /* what it holds, e.g. "obs 'cell_type' codes", "embedding 'X_umap'" */
  uint64_t offset, length, count;
  uint64_t checksum;    /* XXH3-64 of the section's bytes */
} cg_bundle_section;

int cg_bundle_n_sections(const cg_bundle *b);
/* Fills *out for section i; 0 or CG_ERANGE. */
int cg_bundle_section_at(const cg_bundle *b, int i, cg_bundle_section *out);

#endif
