/* fbs.h — encoder for the cellxgene "NetEncoding" FlatBuffers Matrix (the Explorer's binary wire format,
 * reference/cellxgene-compat.md §3), written in C without a schema compiler.
 *
 * What it builds
 *  One Matrix: n_rows, n_cols, `columns` (one Column per added array, in the order added) and optionally
 *  `col_index`; row_index is never set. Column types are the union members of both API versions:
 *    v0.2 (TypedArray)   : Float32Array, Int32Array, Uint32Array, Float64Array, JSONEncodedArray
 *    v0.3 (TypedFBArray) : the same five (same tags), DictEncoded8/16/32FBArray, Int16EncodedXFBArray
 *  The output is a valid FlatBuffer (little-endian, every vector's elements aligned to their size, at least 4;
 *  total length a multiple of 8), so a browser can take typed-array views in place. See fbs.c for the layout.
 *
 * Usage and ownership
 *    cg_fbs *b; cg_fbs_matrix_begin(n_rows, n_cols, &b, err);
 *    cg_fbs_add_float32(b, col);  ... exactly n_cols adds ...
 *    cg_fbs_set_col_index_json(b, names_json, len, CG_FBS_COPY);   (optional)
 *    cg_fbs_finish(b, &buf, &len, err);  ... send buf ...  cg_free(buf); cg_fbs_free(b);
 *  - Numeric arrays are BORROWED: the builder keeps the pointer (typically into a mmapped bundle) and reads
 *    it only in cg_fbs_finish, which copies it into the output once. It must stay valid until finish returns.
 *    Every numeric array holds n_rows elements (col_index arrays: n_cols).
 *  - JSON texts take an explicit ownership flag (cg_fbs_own): STATIC = borrowed like the numeric arrays,
 *    COPY = copied now, TAKE = the builder owns the cg_malloc'd text from now on (also when the call fails).
 *  - cg_fbs_finish allocates the output once, with its exact size, through base/mem.h; the caller releases it
 *    with cg_free. The builder is released with cg_fbs_free whether or not finish was called or succeeded.
 *
 * Errors
 *  Add/set calls return 0 or a negative cg_errcode. Errors are sticky: after a failed call the builder stays
 *  failed and cg_fbs_finish returns the first error, with its detail in err. Sizes are checked against the
 *  FlatBuffers limit (CG_FBS_MAX_SIZE, 2 GiB - 1) before anything large is allocated: CG_ERANGE.
 *
 * Threads: a builder belongs to one thread. cg_fbs_int16_encode and cg_fbs_dict_width are pure functions.
 */
#ifndef CG_WIRE_FBS_H
#define CG_WIRE_FBS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Union tags (identical in v0.2 TypedArray and v0.3 TypedFBArray for 1..5). */
typedef enum {
  CG_FBS_NONE = 0,
  CG_FBS_FLOAT32 = 1,
  CG_FBS_INT32 = 2,
  CG_FBS_UINT32 = 3,
  CG_FBS_FLOAT64 = 4,
  CG_FBS_JSON = 5,
  CG_FBS_DICT8 = 6,
  CG_FBS_DICT16 = 7,
  CG_FBS_DICT32 = 8,
  CG_FBS_INT16X = 9,
} cg_fbs_type;

typedef enum { CG_FBS_STATIC = 0, CG_FBS_COPY = 1, CG_FBS_TAKE = 2 } cg_fbs_own;

#define CG_FBS_MAX_SIZE 0x7fffffffu /* FlatBuffers' largest buffer (offsets are 32-bit, signed for vtables) */
#define CG_FBS_MAX_NBINS 32767      /* the largest code must fit an int16 */

typedef struct cg_fbs cg_fbs;

/* Fills dst (n elements of the column's type, aligned for it) in place; 0 or a negative code + err. */
typedef int (*cg_fbs_fill_fn)(void *ctx, void *dst, int64_t n, cg_err *err);

/* Starts a matrix of n_rows x n_cols (each at most UINT32_MAX). *out is freed with cg_fbs_free. */
int cg_fbs_matrix_begin(int64_t n_rows, int64_t n_cols, cg_fbs **out, cg_err *err);

/* Releases the builder and any text it owns. NULL is a no-op. */
void cg_fbs_free(cg_fbs *b);

/* Dense numeric columns (borrowed, n_rows elements). */
int cg_fbs_add_float32(cg_fbs *b, const float *data);
int cg_fbs_add_int32(cg_fbs *b, const int32_t *data);
int cg_fbs_add_uint32(cg_fbs *b, const uint32_t *data);
int cg_fbs_add_float64(cg_fbs *b, const double *data);

/* A boolean column as v0.2 sends it: Uint32Array of 0/1 from n_rows bytes (non-zero = 1). Borrowed. */
int cg_fbs_add_bool(cg_fbs *b, const uint8_t *bytes);

/* A numeric column (FLOAT32, INT32, UINT32 or FLOAT64) computed straight into the output by fill during
 * cg_fbs_finish (no temporary array): e.g. a gene densified from CSC, a per-cell mean. */
int cg_fbs_add_fill(cg_fbs *b, cg_fbs_type type, cg_fbs_fill_fn fill, void *ctx);

/* JSONEncodedArray: json is a UTF-8 JSON array of n_rows values (not checked). */
int cg_fbs_add_json(cg_fbs *b, const char *json, size_t len, cg_fbs_own own);

/* DictEncoded{8,16,32}FBArray (v0.3 categorical): n_rows int32 codes (borrowed; -1 = missing) narrowed to
 * width bits (8, 16 or 32; a code that does not fit fails finish with CG_ERANGE), and dict_json, the JSON
 * object {"0":"label",...} (ownership by own). */
int cg_fbs_add_dict(cg_fbs *b, const int32_t *codes, int width, const char *dict_json, size_t dict_len,
                    cg_fbs_own own);

/* Int16EncodedXFBArray (v0.3 lossy floats, `nbins=`): n_rows floats (borrowed), nbins in 1..CG_FBS_MAX_NBINS.
 * Codes as cg_fbs_int16_encode computes them. */
int cg_fbs_add_int16_encoded(cg_fbs *b, const float *data, int32_t nbins);

/* col_index: a JSON array of n_cols names, or n_cols int32 indices (borrowed). Setting it twice replaces it. */
int cg_fbs_set_col_index_json(cg_fbs *b, const char *json, size_t len, cg_fbs_own own);
int cg_fbs_set_col_index_int32(cg_fbs *b, const int32_t *indices);

/* Builds the buffer: *buf (cg_malloc'd, caller cg_frees) of *len bytes. Fails with CG_EINVAL if fewer or
 * more than n_cols columns were added, CG_ERANGE over the size limit, or whatever a fill callback returned.
 * On failure *buf is NULL and *len 0. May be called once per builder. */
int cg_fbs_finish(cg_fbs *b, uint8_t **buf, size_t *len, cg_err *err);

/* The lossy v0.3 float encoding, in one pass for min/max and one for the codes:
 *   min/max are taken over the finite values only;
 *   code = (int16)((x - min) / (max - min) * nbins), computed in float32 and truncated like upstream's
 *          numpy `np.int16(...)`, clamped to [0, nbins];
 *   max == min (including a column with no finite value, then min = max = 0): every code is 0;
 *   NaN -> 0 (decodes to min: the format has no missing value), +Inf -> nbins, -Inf -> 0.
 * The client decodes code / nbins * (max - min) + min. */
void cg_fbs_int16_encode(const float *x, int64_t n, int32_t nbins, int16_t *codes, float *min, float *max);

/* Code width pandas would pick for n categories (so -1 fits): 8 if n < 127, 16 if n < 32767, else 32. */
int cg_fbs_dict_width(int64_t n_categories);

#endif
