/* fbs.c — the NetEncoding Matrix encoder (contract in fbs.h).
 *
 * Design note
 *
 *  FlatBuffers facts this relies on (flatbuffers.dev "Internals" / format spec; NetEncoding schema from
 *  cellxgene fbs/matrix.fbs and single-cell-explorer fbs/matrix.fbs):
 *   F1. A buffer starts with a uoffset_t (u32) to the root table. A uoffset is relative to where it is stored
 *       and unsigned, so every referenced object lies at a HIGHER address than the reference.
 *   F2. A table starts with an soffset_t (i32); its vtable is at table_pos - soffset (either side).
 *       A vtable is u16s: [vtable bytes][table inline bytes][field offset from table start, 0 = absent]...,
 *       one per field slot in schema order; trailing absent slots may be left out. Vtables can be shared.
 *   F3. A union field takes two slots: the type (u8) then the value (uoffset to a table).
 *   F4. A vector is a u32 element count followed by the elements; scalars are aligned to their size.
 *   F5. Matrix slots: 0 n_rows u32, 1 n_cols u32, 2 columns [Column], 3/4 col_index type/value,
 *       5/6 row_index (never written). Column: 0/1 u type/value. Float32/Int32/Uint32/Float64/JSONEncoded:
 *       0 data. DictEncoded*: 0 codes, 1 dict [u8]. Int16EncodedX: 0 codes [i16], 1 max f32, 2 min f32,
 *       3 nbins i32. Union tags: 1 Float32 2 Int32 3 Uint32 4 Float64 5 JSON 6/7/8 Dict8/16/32 9 Int16X.
 *
 *  Instead of building back to front like the reference builders, finish() computes every position first
 *  (layout) and then writes front to back into one allocation of the exact size (write). Because of F1 the
 *  order is: small things that refer, then what they refer to:
 *
 *   0    root uoffset ─────────────────────────────┐
 *   4    vtables: Matrix │ one-field │ Column │ Dict │ Int16X   (shared by every table of that shape)
 *   HDR  Matrix table: soffset n_rows n_cols columns col_index col_index_type   <┘
 *        columns vector: count, n_cols uoffsets ──> Column tables (soffset, u, u_type) ──> array tables
 *        array tables, one per column, then col_index's ──> data vectors
 *        data vectors in column order (dict: codes then dict), col_index's last; each [count][elements]
 *        with the elements aligned to max(4, element size); zero padding between; length rounded up to 8.
 *
 *  Invariants
 *   I1. Every uoffset points forward (table area before vector area; each table area in reference order).
 *   I2. Vector elements are aligned to max(4, element size) from the buffer start; malloc'd buffers are
 *       16-aligned, so in-place typed views work in any consumer that keeps the buffer's alignment.
 *   I3. The total is computed in 64 bits and checked against CG_FBS_MAX_SIZE after each column (each term is
 *       < 2^36, so the running sum cannot overflow) before the one allocation.
 *   I4. Every byte is written: tables are zeroed first, padding between vectors is zeroed when written.
 *
 *  Functions: cg_fbs_add_* record a descriptor (col); layout() assigns positions; write_*() fill the buffer.
 */
#include "wire/fbs.h"

#include <math.h>
#include <string.h>

#include "base/mem.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fbs.c writes FlatBuffers by memcpy of host scalars: little-endian hosts only"
#endif

enum { SRC_PTR, SRC_BOOL, SRC_FILL, SRC_JSON, SRC_DICT, SRC_I16X };

typedef struct col {
  uint8_t tag, src;
  const void *data; /* borrowed numbers / codes */
  const char *json; /* JSON text (data vector for JSON, dict for DICT) */
  size_t json_len;
  char *owned; /* the text when we own it */
  cg_fbs_fill_fn fill;
  void *ctx;
  int32_t nbins;
  int64_t n;         /* elements in the first vector */
  uint64_t tbl, vec, vec2; /* positions assigned by layout() */
} col;

struct cg_fbs {
  int64_t n_rows, n_cols, n_added;
  col *cols;    /* n_cols */
  col colindex; /* tag NONE when unset */
  int code;     /* sticky error */
  cg_err err;
  int finished;
  uint64_t tables_end; /* end of the table area (layout) */
};

/* Positions of the fixed header (F2): vtables then the Matrix table. */
enum {
  VT_MATRIX = 4,  /* 7 u16: 14 bytes */
  VT_ONE = 18,    /* 3 u16 */
  VT_COLUMN = 24, /* 4 u16 */
  VT_DICT = 32,   /* 4 u16 */
  VT_I16X = 40,   /* 6 u16 */
  T_MATRIX = 52,  /* 24 bytes: soffset, n_rows, n_cols, columns, col_index, col_index_type, pad */
  T_MATRIX_SIZE = 24,
  T_COLUMN_SIZE = 12, /* soffset, u, u_type, pad */
};

/* --- recording ------------------------------------------------------------------------------------------- */

static int fail(cg_fbs *b, int code, const char *what) {
  if (!b->code) {
    b->code = code;
    cg_err_set(&b->err, code, "fbs: %s", what);
  }
  return b->code;
}

int cg_fbs_matrix_begin(int64_t n_rows, int64_t n_cols, cg_fbs **out, cg_err *err) {
  *out = NULL;
  if (n_rows < 0 || n_cols < 0 || n_rows > UINT32_MAX || n_cols > UINT32_MAX)
    return cg_err_set(err, CG_ERANGE, "fbs: matrix %lld x %lld does not fit a FlatBuffer", (long long)n_rows,
                      (long long)n_cols);
  cg_fbs *b = cg_calloc(1, sizeof *b);
  col *cols = n_cols ? cg_calloc((size_t)n_cols, sizeof *cols) : NULL;
  if (!b || (n_cols && !cols)) {
    cg_free(b);
    cg_free(cols);
    return cg_err_set(err, CG_ENOMEM, "fbs: builder for %lld columns", (long long)n_cols);
  }
  b->n_rows = n_rows;
  b->n_cols = n_cols;
  b->cols = cols;
  *out = b;
  return 0;
}

static void col_dispose(col *c) {
  cg_free(c->owned);
  memset(c, 0, sizeof *c);
}

void cg_fbs_free(cg_fbs *b) {
  if (!b) return;
  for (int64_t i = 0; i < b->n_added; i++) col_dispose(&b->cols[i]);
  col_dispose(&b->colindex);
  cg_free(b->cols);
  cg_free(b);
}

/* Takes the next column slot, or NULL (and the builder fails) when all n_cols are taken. */
static col *next_col(cg_fbs *b) {
  if (b->code) return NULL;
  if (b->finished) return fail(b, CG_EINVAL, "column added after finish"), NULL;
  if (b->n_added >= b->n_cols) return fail(b, CG_EINVAL, "more columns added than n_cols"), NULL;
  col *c = &b->cols[b->n_added++];
  c->n = b->n_rows;
  return c;
}

static int add_ptr(cg_fbs *b, uint8_t tag, const void *data) {
  if (!data && b->n_rows) return fail(b, CG_EINVAL, "NULL column data");
  col *c = next_col(b);
  if (!c) return b->code;
  c->tag = tag;
  c->src = SRC_PTR;
  c->data = data;
  return 0;
}

int cg_fbs_add_float32(cg_fbs *b, const float *data) { return add_ptr(b, CG_FBS_FLOAT32, data); }
int cg_fbs_add_int32(cg_fbs *b, const int32_t *data) { return add_ptr(b, CG_FBS_INT32, data); }
int cg_fbs_add_uint32(cg_fbs *b, const uint32_t *data) { return add_ptr(b, CG_FBS_UINT32, data); }
int cg_fbs_add_float64(cg_fbs *b, const double *data) { return add_ptr(b, CG_FBS_FLOAT64, data); }

int cg_fbs_add_bool(cg_fbs *b, const uint8_t *bytes) {
  int rc = add_ptr(b, CG_FBS_UINT32, bytes);
  if (rc == 0) b->cols[b->n_added - 1].src = SRC_BOOL;
  return rc;
}

int cg_fbs_add_fill(cg_fbs *b, cg_fbs_type type, cg_fbs_fill_fn fill, void *ctx) {
  if (type < CG_FBS_FLOAT32 || type > CG_FBS_FLOAT64 || !fill)
    return fail(b, CG_EINVAL, "fill column: type must be FLOAT32, INT32, UINT32 or FLOAT64");
  col *c = next_col(b);
  if (!c) return b->code;
  c->tag = (uint8_t)type;
  c->src = SRC_FILL;
  c->fill = fill;
  c->ctx = ctx;
  return 0;
}

/* Stores json in c according to own. On failure a TAKEn text is released. */
static int keep_json(cg_fbs *b, col *c, const char *json, size_t len, cg_fbs_own own) {
  if (!json && len) return fail(b, CG_EINVAL, "NULL JSON text");
  if (own == CG_FBS_COPY) {
    c->owned = cg_malloc(len ? len : 1);
    if (!c->owned) return fail(b, CG_ENOMEM, "copy of a JSON text");
    if (len) memcpy(c->owned, json, len);
    json = c->owned;
  } else if (own == CG_FBS_TAKE) {
    c->owned = (char *)json;
  }
  c->json = json;
  c->json_len = len;
  return 0;
}

static void drop_taken(const char *json, cg_fbs_own own) {
  if (own == CG_FBS_TAKE) cg_free((void *)json);
}

int cg_fbs_add_json(cg_fbs *b, const char *json, size_t len, cg_fbs_own own) {
  col *c = next_col(b);
  if (!c) return drop_taken(json, own), b->code;
  c->tag = CG_FBS_JSON;
  c->src = SRC_JSON;
  int rc = keep_json(b, c, json, len, own);
  c->n = (int64_t)len;
  return rc;
}

int cg_fbs_add_dict(cg_fbs *b, const int32_t *codes, int width, const char *dict_json, size_t dict_len,
                    cg_fbs_own own) {
  if (width != 8 && width != 16 && width != 32) {
    drop_taken(dict_json, own);
    return fail(b, CG_EINVAL, "dict code width must be 8, 16 or 32");
  }
  if (!codes && b->n_rows) return drop_taken(dict_json, own), fail(b, CG_EINVAL, "NULL dict codes");
  col *c = next_col(b);
  if (!c) return drop_taken(dict_json, own), b->code;
  c->tag = width == 8 ? CG_FBS_DICT8 : width == 16 ? CG_FBS_DICT16 : CG_FBS_DICT32;
  c->src = SRC_DICT;
  c->data = codes;
  return keep_json(b, c, dict_json, dict_len, own);
}

int cg_fbs_add_int16_encoded(cg_fbs *b, const float *data, int32_t nbins) {
  if (nbins < 1 || nbins > CG_FBS_MAX_NBINS) return fail(b, CG_EINVAL, "nbins must be in 1..32767");
  int rc = add_ptr(b, CG_FBS_INT16X, data);
  if (rc == 0) {
    b->cols[b->n_added - 1].src = SRC_I16X;
    b->cols[b->n_added - 1].nbins = nbins;
  }
  return rc;
}

int cg_fbs_set_col_index_json(cg_fbs *b, const char *json, size_t len, cg_fbs_own own) {
  if (b->code) return drop_taken(json, own), b->code;
  col_dispose(&b->colindex);
  b->colindex.tag = CG_FBS_JSON;
  b->colindex.src = SRC_JSON;
  b->colindex.n = (int64_t)len;
  return keep_json(b, &b->colindex, json, len, own);
}

int cg_fbs_set_col_index_int32(cg_fbs *b, const int32_t *indices) {
  if (b->code) return b->code;
  if (!indices && b->n_cols) return fail(b, CG_EINVAL, "NULL col_index");
  col_dispose(&b->colindex);
  b->colindex.tag = CG_FBS_INT32;
  b->colindex.src = SRC_PTR;
  b->colindex.data = indices;
  b->colindex.n = b->n_cols;
  return 0;
}

/* --- pure encoders --------------------------------------------------------------------------------------- */

int cg_fbs_dict_width(int64_t n_categories) {
  if (n_categories < 127) return 8;
  if (n_categories < 32767) return 16;
  return 32;
}

static void finite_min_max(const float *x, int64_t n, float *min, float *max) {
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    if (v < lo && v != -INFINITY) lo = v; /* NaN compares false */
    if (v > hi && v != INFINITY) hi = v;
  }
  if (lo > hi) lo = hi = 0.0f; /* no finite value */
  *min = lo;
  *max = hi;
}

void cg_fbs_int16_encode(const float *x, int64_t n, int32_t nbins, int16_t *codes, float *min, float *max) {
  float lo, hi;
  finite_min_max(x, n, &lo, &hi);
  *min = lo;
  *max = hi;
  float range = hi - lo, fb = (float)nbins;
  if (!(range > 0.0f) || !isfinite(range)) { /* max == min, or a range beyond float */
    memset(codes, 0, (size_t)n * sizeof *codes);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    float q = (x[i] - lo) / range * fb;
    int16_t c = 0;
    if (q >= fb) c = (int16_t)nbins; /* also +Inf */
    else if (q > 0.0f) c = (int16_t)q; /* truncation; NaN and -Inf stay 0 */
    codes[i] = c;
  }
}

/* --- layout ---------------------------------------------------------------------------------------------- */

static size_t elem_size(uint8_t tag) {
  switch (tag) {
  case CG_FBS_FLOAT64: return 8;
  case CG_FBS_JSON: case CG_FBS_DICT8: return 1;
  case CG_FBS_DICT16: case CG_FBS_INT16X: return 2;
  default: return 4;
  }
}

static uint64_t tbl_size(uint8_t tag) {
  if (tag >= CG_FBS_DICT8 && tag <= CG_FBS_DICT32) return 12; /* soffset, codes, dict */
  if (tag == CG_FBS_INT16X) return 20;                          /* soffset, codes, max, min, nbins */
  return 8;                                                     /* soffset, data */
}

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

/* Places a vector of n elements of size es at or after *pos; returns the position of its count (F4, I2). */
static uint64_t place_vec(uint64_t *pos, int64_t n, size_t es) {
  uint64_t a = es > 4 ? es : 4;
  uint64_t p = align_up(*pos + 4, a) - 4;
  *pos = p + 4 + (uint64_t)n * es;
  return p;
}

static int too_big(cg_fbs *b, uint64_t pos, cg_err *err) {
  if (pos <= CG_FBS_MAX_SIZE) return 0;
  return cg_err_set(err, CG_ERANGE, "fbs: %lld x %lld matrix needs more than the 2 GiB FlatBuffers limit",
                    (long long)b->n_rows, (long long)b->n_cols);
}

static void place_vectors(col *c, uint64_t *pos) {
  c->vec = place_vec(pos, c->n, elem_size(c->tag));
  if (c->src == SRC_DICT) c->vec2 = place_vec(pos, (int64_t)c->json_len, 1);
}

/* Assigns every position; *size is the total length. */
static int layout(cg_fbs *b, uint64_t *size, cg_err *err) {
  uint64_t pos = T_MATRIX + T_MATRIX_SIZE + 4 + 4 * (uint64_t)b->n_cols + T_COLUMN_SIZE * (uint64_t)b->n_cols;
  for (int64_t i = 0; i < b->n_cols; i++) {
    b->cols[i].tbl = pos;
    pos += tbl_size(b->cols[i].tag);
  }
  if (b->colindex.tag) {
    b->colindex.tbl = pos;
    pos += tbl_size(b->colindex.tag);
  }
  if (too_big(b, pos, err)) return CG_ERANGE;
  b->tables_end = pos;
  for (int64_t i = 0; i < b->n_cols; i++) {
    place_vectors(&b->cols[i], &pos);
    if (too_big(b, pos, err)) return CG_ERANGE;
  }
  if (b->colindex.tag) place_vectors(&b->colindex, &pos);
  pos = align_up(pos, 8);
  if (too_big(b, pos, err)) return CG_ERANGE;
  *size = pos;
  return 0;
}

/* --- writing --------------------------------------------------------------------------------------------- */

static void put16(uint8_t *o, uint64_t p, uint16_t v) { memcpy(o + p, &v, 2); }
static void put32(uint8_t *o, uint64_t p, uint32_t v) { memcpy(o + p, &v, 4); }
static void putf(uint8_t *o, uint64_t p, float v) { memcpy(o + p, &v, 4); }
static void put_uoff(uint8_t *o, uint64_t at, uint64_t target) { put32(o, at, (uint32_t)(target - at)); }
static void put_soff(uint8_t *o, uint64_t tbl, uint64_t vt) { put32(o, tbl, (uint32_t)(int32_t)(tbl - vt)); }

static void put_vtable(uint8_t *o, uint64_t p, const uint16_t *v, int n) {
  for (int i = 0; i < n; i++) put16(o, p + 2 * (uint64_t)i, v[i]);
}

static void write_vtables(cg_fbs *b, uint8_t *o) {
  uint16_t ci = b->colindex.tag ? 20 : 0, cv = b->colindex.tag ? 16 : 0;
  const uint16_t matrix[7] = {14, T_MATRIX_SIZE, 4, 8, 12, ci, cv}; /* slots 0..4 (F5) */
  const uint16_t one[3] = {6, 8, 4};
  const uint16_t column[4] = {8, T_COLUMN_SIZE, 8, 4}; /* u_type at +8, u at +4 */
  const uint16_t dict[4] = {8, 12, 4, 8};
  const uint16_t i16x[6] = {12, 20, 4, 8, 12, 16};
  put_vtable(o, VT_MATRIX, matrix, 7);
  put_vtable(o, VT_ONE, one, 3);
  put_vtable(o, VT_COLUMN, column, 4);
  put_vtable(o, VT_DICT, dict, 4);
  put_vtable(o, VT_I16X, i16x, 6);
}

static void write_matrix(cg_fbs *b, uint8_t *o) {
  uint64_t t = T_MATRIX, colvec = T_MATRIX + T_MATRIX_SIZE;
  put32(o, 0, T_MATRIX); /* root (F1) */
  put_soff(o, t, VT_MATRIX);
  put32(o, t + 4, (uint32_t)b->n_rows);
  put32(o, t + 8, (uint32_t)b->n_cols);
  put_uoff(o, t + 12, colvec);
  if (b->colindex.tag) {
    put_uoff(o, t + 16, b->colindex.tbl);
    o[t + 20] = b->colindex.tag;
  }
  put32(o, colvec, (uint32_t)b->n_cols);
}

static uint64_t vt_for(uint8_t tag) {
  if (tag >= CG_FBS_DICT8 && tag <= CG_FBS_DICT32) return VT_DICT;
  return tag == CG_FBS_INT16X ? VT_I16X : VT_ONE;
}

/* The array table of c (its nbins/min/max are filled in by write_data for Int16X). */
static void write_array_table(uint8_t *o, const col *c) {
  put_soff(o, c->tbl, vt_for(c->tag));
  put_uoff(o, c->tbl + 4, c->vec);
  if (c->src == SRC_DICT) put_uoff(o, c->tbl + 8, c->vec2);
  if (c->tag == CG_FBS_INT16X) put32(o, c->tbl + 16, (uint32_t)c->nbins);
}

static void write_tables(cg_fbs *b, uint8_t *o) {
  uint64_t colvec = T_MATRIX + T_MATRIX_SIZE, coltbl = colvec + 4 + 4 * (uint64_t)b->n_cols;
  write_vtables(b, o);
  write_matrix(b, o);
  for (int64_t i = 0; i < b->n_cols; i++) {
    uint64_t t = coltbl + T_COLUMN_SIZE * (uint64_t)i;
    put_uoff(o, colvec + 4 + 4 * (uint64_t)i, t);
    put_soff(o, t, VT_COLUMN);
    put_uoff(o, t + 4, b->cols[i].tbl);
    o[t + 8] = b->cols[i].tag;
    write_array_table(o, &b->cols[i]);
  }
  if (b->colindex.tag) write_array_table(o, &b->colindex);
}

static int narrow_codes(const int32_t *in, int64_t n, int width, uint8_t *out, cg_err *err) {
  int32_t lim = width == 8 ? INT8_MAX : INT16_MAX;
  for (int64_t i = 0; i < n; i++) {
    if (in[i] < -1 || in[i] > lim)
      return cg_err_set(err, CG_ERANGE, "fbs: category code %d at row %lld does not fit %d bits", (int)in[i],
                        (long long)i, width);
    if (width == 8) out[i] = (uint8_t)(int8_t)in[i];
    else {
      int16_t v = (int16_t)in[i];
      memcpy(out + 2 * i, &v, 2);
    }
  }
  return 0;
}

static void bool_to_u32(const uint8_t *in, int64_t n, uint32_t *out) {
  for (int64_t i = 0; i < n; i++) out[i] = in[i] != 0;
}

/* Writes c's elements at dst (aligned for them). */
static int write_elems(uint8_t *o, const col *c, cg_err *err) {
  uint8_t *dst = o + c->vec + 4;
  size_t bytes = (size_t)c->n * elem_size(c->tag);
  switch (c->src) {
  case SRC_PTR: if (bytes) memcpy(dst, c->data, bytes); return 0;
  case SRC_JSON: if (bytes) memcpy(dst, c->json, bytes); return 0;
  case SRC_BOOL: bool_to_u32(c->data, c->n, (uint32_t *)(void *)dst); return 0;
  case SRC_FILL: return c->fill(c->ctx, dst, c->n, err);
  case SRC_DICT:
    if (c->tag != CG_FBS_DICT32) return narrow_codes(c->data, c->n, c->tag == CG_FBS_DICT8 ? 8 : 16, dst, err);
    if (bytes) memcpy(dst, c->data, bytes);
    return 0;
  case SRC_I16X: {
    float mn, mx;
    cg_fbs_int16_encode(c->data, c->n, c->nbins, (int16_t *)(void *)dst, &mn, &mx);
    putf(o, c->tbl + 8, mx);
    putf(o, c->tbl + 12, mn);
    return 0;
  }
  }
  return CG_EINVAL;
}

/* Writes one vector at pos (count + bytes), zeroing the gap from *w; advances *w past it. */
static void write_vec_head(uint8_t *o, uint64_t *w, uint64_t pos, int64_t n) {
  memset(o + *w, 0, pos - *w);
  put32(o, pos, (uint32_t)n);
}

static int write_data(uint8_t *o, const col *c, uint64_t *w, cg_err *err) {
  write_vec_head(o, w, c->vec, c->n);
  int rc = write_elems(o, c, err);
  if (rc) return rc;
  *w = c->vec + 4 + (uint64_t)c->n * elem_size(c->tag);
  if (c->src != SRC_DICT) return 0;
  write_vec_head(o, w, c->vec2, (int64_t)c->json_len);
  if (c->json_len) memcpy(o + c->vec2 + 4, c->json, c->json_len);
  *w = c->vec2 + 4 + c->json_len;
  return 0;
}

static int write_all(cg_fbs *b, uint8_t *o, uint64_t size, cg_err *err) {
  uint64_t w = b->tables_end;
  memset(o, 0, w); /* I4: the whole table area */
  write_tables(b, o);
  for (int64_t i = 0; i < b->n_cols; i++) {
    int rc = write_data(o, &b->cols[i], &w, err);
    if (rc) return rc;
  }
  if (b->colindex.tag) {
    int rc = write_data(o, &b->colindex, &w, err);
    if (rc) return rc;
  }
  memset(o + w, 0, size - w);
  return 0;
}

static int check_ready(cg_fbs *b, cg_err *err) {
  if (b->code) return cg_err_set(err, b->code, "%s", b->err.msg);
  if (b->finished) return cg_err_set(err, CG_EINVAL, "fbs: finish called twice");
  if (b->n_added != b->n_cols)
    return cg_err_set(err, CG_EINVAL, "fbs: %lld of %lld columns added", (long long)b->n_added,
                      (long long)b->n_cols);
  return 0;
}

int cg_fbs_finish(cg_fbs *b, uint8_t **buf, size_t *len, cg_err *err) {
  *buf = NULL;
  *len = 0;
  uint64_t size = 0;
  uint8_t *o = NULL;
  int rc = check_ready(b, err);
  if (rc) goto done;
  b->finished = 1;
  rc = layout(b, &size, err);
  if (rc) goto done;
  o = cg_malloc((size_t)size);
  if (!o) {
    rc = cg_err_set(err, CG_ENOMEM, "fbs: %llu-byte buffer", (unsigned long long)size);
    goto done;
  }
  rc = write_all(b, o, size, err);
  if (rc) goto done;
  *buf = o;
  *len = (size_t)size;
  o = NULL;
done:
  cg_free(o);
  return rc;
}
