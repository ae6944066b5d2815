/* test_wire_fbs.c — the NetEncoding Matrix encoder (src/wire/fbs.h).
 *
 * Every buffer is read back by an independent little FlatBuffers reader written here from the format spec
 * (root uoffset, soffset to vtable, vtable slots, vectors = u32 count + elements), which also checks that every
 * offset stays inside the buffer and every vector is aligned to its element size. test_python_oracle writes
 * the same cases to disk and has python3-flatbuffers (and flatc's verifier, when installed) read them.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/mem.h"
#include "wire/fbs.h"

/* --- an independent reader ------------------------------------------------------------------------------- */

typedef struct {
  const uint8_t *b;
  size_t len;
} fb;

static uint32_t rd32(fb f, uint64_t p) {
  assert_true(p + 4 <= f.len);
  uint32_t v;
  memcpy(&v, f.b + p, 4);
  return v;
}
static uint16_t rd16(fb f, uint64_t p) {
  assert_true(p + 2 <= f.len);
  uint16_t v;
  memcpy(&v, f.b + p, 2);
  return v;
}

/* Position of field `slot` of the table at t, or 0 when absent. */
static uint64_t field(fb f, uint64_t t, int slot) {
  int32_t so = (int32_t)rd32(f, t);
  int64_t vt = (int64_t)t - so;
  assert_true(vt >= 0 && (vt & 1) == 0);
  uint16_t vsize = rd16(f, (uint64_t)vt), tsize = rd16(f, (uint64_t)vt + 2);
  assert_true(vsize >= 4 && (vsize & 1) == 0);
  assert_true(t + tsize <= f.len);
  if (4u + 2u * (unsigned)slot >= vsize) return 0;
  uint16_t off = rd16(f, (uint64_t)vt + 4 + 2 * (uint64_t)slot);
  if (!off) return 0;
  assert_true(off < tsize);
  return t + off;
}

static uint64_t deref(fb f, uint64_t p) {
  uint32_t o = rd32(f, p);
  assert_true(o > 0);
  assert_true(p + o < f.len);
  return p + o;
}

/* A vector referenced from field position p: element pointer, count; checks bounds and alignment. */
static const void *vec(fb f, uint64_t p, size_t es, uint32_t *n) {
  uint64_t v = deref(f, p);
  *n = rd32(f, v);
  uint64_t e = v + 4;
  assert_true(e + (uint64_t)*n * es <= f.len);
  size_t al = es < 4 ? 4 : es;
  assert_int_equal(e % al, 0);
  return f.b + e;
}

typedef struct {
  uint32_t n_rows, n_cols;
  uint64_t cols; /* field position of columns */
  uint8_t ci_tag;
  uint64_t ci; /* table of col_index */
} mview;

static mview read_matrix(fb f) {
  mview m = {0};
  assert_true(f.len % 8 == 0);
  assert_int_equal((uintptr_t)f.b % 8, 0);
  uint64_t root = deref(f, 0);
  m.n_rows = rd32(f, field(f, root, 0));
  m.n_cols = rd32(f, field(f, root, 1));
  m.cols = field(f, root, 2);
  uint64_t tp = field(f, root, 3);
  m.ci_tag = tp ? f.b[tp] : 0;
  if (m.ci_tag) m.ci = deref(f, field(f, root, 4));
  assert_int_equal(field(f, root, 5), 0); /* row_index unset */
  assert_int_equal(field(f, root, 6), 0);
  uint32_t n;
  vec(f, m.cols, 4, &n);
  assert_int_equal(n, m.n_cols);
  return m;
}

/* Column i: its union tag and the array table position. */
static uint8_t column(fb f, mview m, uint32_t i, uint64_t *arr) {
  uint32_t n;
  vec(f, m.cols, 4, &n);
  assert_true(i < n);
  uint64_t colp = deref(f, m.cols) + 4 + 4 * (uint64_t)i;
  uint64_t ct = deref(f, colp);
  uint64_t tp = field(f, ct, 0);
  assert_true(tp != 0);
  *arr = deref(f, field(f, ct, 1));
  return f.b[tp];
}

static const void *arr_data(fb f, uint64_t arr, int slot, size_t es, uint32_t *n) {
  uint64_t p = field(f, arr, slot);
  assert_true(p != 0);
  return vec(f, p, es, n);
}

static float arr_f32(fb f, uint64_t arr, int slot) {
  float v;
  uint32_t u = rd32(f, field(f, arr, slot));
  memcpy(&v, &u, 4);
  return v;
}

static void check_json(fb f, uint64_t arr, int slot, const char *want) {
  uint32_t n;
  const char *s = arr_data(f, arr, slot, 1, &n);
  assert_int_equal(n, strlen(want));
  assert_memory_equal(s, want, n);
}

/* --- fixtures -------------------------------------------------------------------------------------------- */

enum { NR = 5 };
static const float F32[NR] = {1.5f, -2.0f, 0.0f, 3.25f, 1e30f};
static const int32_t I32[NR] = {1, -2, 3, INT32_MAX, INT32_MIN};
static const uint32_t U32[NR] = {0, 1, 2, UINT32_MAX, 7};
static const double F64[NR] = {1.0 / 3, -1e300, 0, 2.5, 1e-300};
static const uint8_t BOOLS[NR] = {0, 1, 2, 0, 1};
static const int32_t CODES[NR] = {0, 1, -1, 2, 1};
static const float LOSSY[NR] = {0.0f, 1.0f, 0.5f, NAN, 0.25f};
static const char *JSON_COL = "[\"a\",\"b\",null,\"d\",\"\\u00e9\"]";
static const char *DICT = "{\"0\":\"B cell\",\"1\":\"T cell\",\"2\":\"NK\"}";

static int fill_seq(void *ctx, void *dst, int64_t n, cg_err *err) {
  float *d = dst;
  for (int64_t i = 0; i < n; i++) d[i] = (float)i * *(const float *)ctx;
  return 0;
}

/* Builds the matrix with every column type; caller cg_frees *buf. */
static void build_all(uint8_t **buf, size_t *len) {
  cg_fbs *b;
  cg_err err;
  static const float mult = 0.5f;
  assert_int_equal(cg_fbs_matrix_begin(NR, 12, &b, &err), 0);
  assert_int_equal(cg_fbs_add_float32(b, F32), 0);
  assert_int_equal(cg_fbs_add_int32(b, I32), 0);
  assert_int_equal(cg_fbs_add_uint32(b, U32), 0);
  assert_int_equal(cg_fbs_add_float64(b, F64), 0);
  assert_int_equal(cg_fbs_add_bool(b, BOOLS), 0);
  assert_int_equal(cg_fbs_add_json(b, JSON_COL, strlen(JSON_COL), CG_FBS_STATIC), 0);
  assert_int_equal(cg_fbs_add_dict(b, CODES, 8, DICT, strlen(DICT), CG_FBS_COPY), 0);
  assert_int_equal(cg_fbs_add_dict(b, CODES, 16, cg_strdup(DICT), strlen(DICT), CG_FBS_TAKE), 0);
  assert_int_equal(cg_fbs_add_dict(b, CODES, 32, DICT, strlen(DICT), CG_FBS_STATIC), 0);
  assert_int_equal(cg_fbs_add_int16_encoded(b, LOSSY, 500), 0);
  assert_int_equal(cg_fbs_add_fill(b, CG_FBS_FLOAT32, fill_seq, (void *)&mult), 0);
  assert_int_equal(cg_fbs_add_float64(b, F64), 0);
  const char *names = "[\"f32\",\"i32\",\"u32\",\"f64\",\"bool\",\"json\",\"d8\",\"d16\",\"d32\",\"x16\",\"fill\",\"f64b\"]";
  assert_int_equal(cg_fbs_set_col_index_json(b, names, strlen(names), CG_FBS_COPY), 0);
  assert_int_equal(cg_fbs_finish(b, buf, len, &err), 0);
  cg_fbs_free(b);
}

static void check_dict(fb f, mview m, uint32_t i, uint8_t tag, size_t es) {
  uint64_t a;
  uint32_t n;
  assert_int_equal(column(f, m, i, &a), tag);
  const uint8_t *c = arr_data(f, a, 0, es, &n);
  assert_int_equal(n, NR);
  for (int r = 0; r < NR; r++) {
    int32_t v = es == 1 ? (int8_t)c[r] : es == 2 ? ((const int16_t *)(const void *)c)[r]
                                                 : ((const int32_t *)(const void *)c)[r];
    assert_int_equal(v, CODES[r]);
  }
  check_json(f, a, 1, DICT);
}

static void check_numeric(fb f, mview m, uint32_t i, uint8_t tag, const void *want, size_t es) {
  uint64_t a;
  uint32_t n;
  assert_int_equal(column(f, m, i, &a), tag);
  const void *d = arr_data(f, a, 0, es, &n);
  assert_int_equal(n, NR);
  assert_memory_equal(d, want, NR * es);
}

static void test_all_types(void **state) {
  uint8_t *buf;
  size_t len;
  build_all(&buf, &len);
  fb f = {buf, len};
  mview m = read_matrix(f);
  assert_int_equal(m.n_rows, NR);
  assert_int_equal(m.n_cols, 12);
  check_numeric(f, m, 0, CG_FBS_FLOAT32, F32, 4);
  check_numeric(f, m, 1, CG_FBS_INT32, I32, 4);
  check_numeric(f, m, 2, CG_FBS_UINT32, U32, 4);
  check_numeric(f, m, 3, CG_FBS_FLOAT64, F64, 8);
  const uint32_t b01[NR] = {0, 1, 1, 0, 1};
  check_numeric(f, m, 4, CG_FBS_UINT32, b01, 4);
  uint64_t a;
  assert_int_equal(column(f, m, 5, &a), CG_FBS_JSON);
  check_json(f, a, 0, JSON_COL);
  check_dict(f, m, 6, CG_FBS_DICT8, 1);
  check_dict(f, m, 7, CG_FBS_DICT16, 2);
  check_dict(f, m, 8, CG_FBS_DICT32, 4);
  assert_int_equal(column(f, m, 9, &a), CG_FBS_INT16X);
  uint32_t n;
  const int16_t *codes = arr_data(f, a, 0, 2, &n);
  const int16_t want[NR] = {0, 500, 250, 0, 125};
  assert_memory_equal(codes, want, sizeof want);
  assert_true(arr_f32(f, a, 1) == 1.0f); /* max */
  assert_true(arr_f32(f, a, 2) == 0.0f); /* min */
  assert_int_equal(rd32(f, field(f, a, 3)), 500);
  const float seq[NR] = {0, 0.5f, 1, 1.5f, 2};
  check_numeric(f, m, 10, CG_FBS_FLOAT32, seq, 4);
  check_numeric(f, m, 11, CG_FBS_FLOAT64, F64, 8); /* a second 8-byte vector after odd-sized ones */
  assert_int_equal(m.ci_tag, CG_FBS_JSON);
  uint32_t cn;
  const char *ci = vec(f, field(f, m.ci, 0), 1, &cn);
  assert_true(cn > 10 && memcmp(ci, "[\"f32\"", 6) == 0);
  cg_free(buf);
}

static void test_col_index_int32(void **state) {
  cg_fbs *b;
  cg_err err;
  uint8_t *buf;
  size_t len;
  const int32_t idx[3] = {7, 3, 12};
  float x[2] = {1, 2}, y[2] = {3, 4}, z[2] = {5, 6};
  assert_int_equal(cg_fbs_matrix_begin(2, 3, &b, &err), 0);
  cg_fbs_add_float32(b, x);
  cg_fbs_add_float32(b, y);
  cg_fbs_add_float32(b, z);
  assert_int_equal(cg_fbs_set_col_index_json(b, cg_strdup("[1]"), 3, CG_FBS_TAKE), 0); /* replaced below */
  assert_int_equal(cg_fbs_set_col_index_int32(b, idx), 0);
  assert_int_equal(cg_fbs_finish(b, &buf, &len, &err), 0);
  uint8_t *again;
  size_t again_len;
  assert_int_equal(cg_fbs_finish(b, &again, &again_len, &err), CG_EINVAL); /* once only */
  assert_null(again);
  cg_fbs_free(b);
  fb f = {buf, len};
  mview m = read_matrix(f);
  assert_int_equal(m.ci_tag, CG_FBS_INT32);
  uint32_t n;
  const int32_t *d = vec(f, field(f, m.ci, 0), 4, &n);
  assert_int_equal(n, 3);
  assert_memory_equal(d, idx, sizeof idx);
  uint64_t a;
  assert_int_equal(column(f, m, 2, &a), CG_FBS_FLOAT32);
  const float *zz = arr_data(f, a, 0, 4, &n);
  assert_int_equal(n, 2);
  assert_memory_equal(zz, z, sizeof z);
  cg_free(buf);
}

static void test_empty(void **state) {
  cg_fbs *b;
  cg_err err;
  uint8_t *buf;
  size_t len;
  assert_int_equal(cg_fbs_matrix_begin(0, 0, &b, &err), 0);
  assert_int_equal(cg_fbs_finish(b, &buf, &len, &err), 0);
  cg_fbs_free(b);
  mview m = read_matrix((fb){buf, len});
  assert_int_equal(m.n_rows, 0);
  assert_int_equal(m.n_cols, 0);
  assert_int_equal(m.ci_tag, 0);
  cg_free(buf);

  assert_int_equal(cg_fbs_matrix_begin(0, 3, &b, &err), 0);
  assert_int_equal(cg_fbs_add_float32(b, NULL), 0); /* no rows: no data needed */
  assert_int_equal(cg_fbs_add_int16_encoded(b, NULL, 10), 0);
  assert_int_equal(cg_fbs_add_dict(b, NULL, 8, "{}", 2, CG_FBS_STATIC), 0);
  assert_int_equal(cg_fbs_finish(b, &buf, &len, &err), 0);
  cg_fbs_free(b);
  fb f = {buf, len};
  m = read_matrix(f);
  uint64_t a;
  uint32_t n;
  assert_int_equal(column(f, m, 1, &a), CG_FBS_INT16X);
  arr_data(f, a, 0, 2, &n);
  assert_int_equal(n, 0);
  cg_free(buf);
}

/* --- the lossy encoding ---------------------------------------------------------------------------------- */

static void test_int16_encode(void **state) {
  int16_t c[8];
  float mn, mx;
  const float cst[4] = {2.5f, 2.5f, NAN, 2.5f};
  cg_fbs_int16_encode(cst, 4, 500, c, &mn, &mx); /* max == min guard */
  assert_true(mn == 2.5f && mx == 2.5f);
  for (int i = 0; i < 4; i++) assert_int_equal(c[i], 0);
  const float nan3[3] = {NAN, NAN, INFINITY};
  cg_fbs_int16_encode(nan3, 3, 500, c, &mn, &mx); /* no finite value */
  assert_true(mn == 0.0f && mx == 0.0f);
  const float inf[5] = {-INFINITY, 1, 3, INFINITY, NAN};
  cg_fbs_int16_encode(inf, 5, 100, c, &mn, &mx);
  assert_true(mn == 1.0f && mx == 3.0f);
  const int16_t want[5] = {0, 0, 100, 100, 0};
  assert_memory_equal(c, want, sizeof want);
  const float huge[2] = {-3e38f, 3e38f}; /* max - min overflows float: all 0, no UB */
  cg_fbs_int16_encode(huge, 2, 10, c, &mn, &mx);
  assert_int_equal(c[0], 0);
  assert_int_equal(c[1], 0);
  /* Upstream arithmetic: float32 (x - min) / (max - min) * nbins, truncated; decode error < one bin. */
  float x[1000];
  int16_t cc[1000];
  for (int i = 0; i < 1000; i++) x[i] = sinf((float)i) * 7.0f + 1.0f;
  cg_fbs_int16_encode(x, 1000, 500, cc, &mn, &mx);
  for (int i = 0; i < 1000; i++) {
    float q = (x[i] - mn) / (mx - mn) * 500.0f;
    assert_int_equal(cc[i], (int16_t)q);
    float dec = (float)cc[i] / 500.0f * (mx - mn) + mn;
    assert_true(fabsf(dec - x[i]) <= (mx - mn) / 500.0f * 1.0001f);
  }
  assert_int_equal(cg_fbs_dict_width(3), 8);
  assert_int_equal(cg_fbs_dict_width(126), 8);
  assert_int_equal(cg_fbs_dict_width(127), 16);
  assert_int_equal(cg_fbs_dict_width(40000), 32);
}

/* --- errors ---------------------------------------------------------------------------------------------- */

static int fill_fail(void *ctx, void *dst, int64_t n, cg_err *err) {
  return cg_err_set(err, CG_EIO, "fill failed on purpose");
}

static int finish_rc(cg_fbs *b, cg_err *err) {
  uint8_t *buf = (uint8_t *)1;
  size_t len = 1;
  int rc = cg_fbs_finish(b, &buf, &len, err);
  if (rc) {
    assert_null(buf);
    assert_int_equal(len, 0);
  }
  cg_free(buf);
  cg_fbs_free(b);
  return rc;
}

static void test_errors(void **state) {
  cg_fbs *b;
  cg_err err;
  float x[2] = {1, 2};
  int32_t bad_codes[2] = {0, 200};
  assert_int_equal(cg_fbs_matrix_begin(-1, 1, &b, &err), CG_ERANGE);
  assert_null(b);
  assert_int_equal(cg_fbs_matrix_begin(1, (int64_t)UINT32_MAX + 1, &b, &err), CG_ERANGE);

  cg_fbs_matrix_begin(2, 1, &b, &err); /* too many columns; sticky; TAKEn text released */
  cg_fbs_add_float32(b, x);
  assert_int_equal(cg_fbs_add_json(b, cg_strdup("[1,2]"), 5, CG_FBS_TAKE), CG_EINVAL);
  assert_int_equal(cg_fbs_add_float32(b, x), CG_EINVAL);
  assert_int_equal(finish_rc(b, &err), CG_EINVAL);
  assert_non_null(strstr(err.msg, "more columns"));

  cg_fbs_matrix_begin(2, 2, &b, &err); /* too few */
  cg_fbs_add_float32(b, x);
  assert_int_equal(finish_rc(b, &err), CG_EINVAL);
  assert_non_null(strstr(err.msg, "1 of 2"));

  cg_fbs_matrix_begin(2, 1, &b, &err);
  assert_int_equal(cg_fbs_add_dict(b, bad_codes, 12, cg_strdup("{}"), 2, CG_FBS_TAKE), CG_EINVAL);
  assert_int_equal(finish_rc(b, &err), CG_EINVAL);

  cg_fbs_matrix_begin(2, 1, &b, &err);
  assert_int_equal(cg_fbs_add_dict(b, bad_codes, 8, "{}", 2, CG_FBS_STATIC), 0);
  assert_int_equal(finish_rc(b, &err), CG_ERANGE); /* 200 does not fit int8 */
  assert_non_null(strstr(err.msg, "row 1"));

  cg_fbs_matrix_begin(2, 1, &b, &err);
  assert_int_equal(cg_fbs_add_int16_encoded(b, x, 0), CG_EINVAL);
  assert_int_equal(finish_rc(b, &err), CG_EINVAL);
  cg_fbs_matrix_begin(2, 1, &b, &err);
  assert_int_equal(cg_fbs_add_int16_encoded(b, x, 32768), CG_EINVAL);
  cg_fbs_free(b);

  cg_fbs_matrix_begin(2, 1, &b, &err);
  assert_int_equal(cg_fbs_add_fill(b, CG_FBS_JSON, fill_seq, NULL), CG_EINVAL);
  cg_fbs_free(b);
  cg_fbs_matrix_begin(2, 1, &b, &err);
  assert_int_equal(cg_fbs_add_fill(b, CG_FBS_INT32, fill_fail, NULL), 0);
  assert_int_equal(finish_rc(b, &err), CG_EIO);
  assert_string_equal(err.msg, "fill failed on purpose");

  cg_fbs_matrix_begin(2, 1, &b, &err);
  assert_int_equal(cg_fbs_add_float32(b, NULL), CG_EINVAL);
  assert_int_equal(finish_rc(b, &err), CG_EINVAL);
}

/* Requests beyond 2 GiB fail cleanly, before any large allocation or any read of the (fake) data. */
static void test_too_big(void **state) {
  cg_fbs *b;
  cg_err err;
  const float *fake = (const float *)(uintptr_t)0x1000; /* never dereferenced */
  assert_int_equal(cg_fbs_matrix_begin(300000000, 2, &b, &err), 0);
  cg_fbs_add_float32(b, fake);
  cg_fbs_add_float32(b, fake);
  assert_int_equal(finish_rc(b, &err), CG_ERANGE);
  assert_non_null(strstr(err.msg, "2 GiB"));

  assert_int_equal(cg_fbs_matrix_begin(268435456, 1, &b, &err), 0); /* 2^28 doubles = exactly 2 GiB */
  cg_fbs_add_float64(b, (const double *)fake);
  assert_int_equal(finish_rc(b, &err), CG_ERANGE);

  assert_int_equal(cg_fbs_matrix_begin(UINT32_MAX, 4, &b, &err), 0); /* 4 x 16 GiB: no overflow either */
  for (int i = 0; i < 4; i++) cg_fbs_add_float64(b, (const double *)fake);
  assert_int_equal(finish_rc(b, &err), CG_ERANGE);

  assert_int_equal(cg_fbs_matrix_begin(1, 1, &b, &err), 0); /* a 2 GiB JSON text */
  cg_fbs_add_json(b, (const char *)fake, (size_t)CG_FBS_MAX_SIZE, CG_FBS_STATIC);
  assert_int_equal(finish_rc(b, &err), CG_ERANGE);
}

/* Every allocation failure is reported, nothing leaks (run under ASan/LSan). */
static void test_alloc_failures(void **state) {
  int ok = 0;
  for (long k = 0; k < 20 && !ok; k++) {
    cg_fbs *b = NULL;
    cg_err err;
    uint8_t *buf = NULL;
    size_t len;
    cg_mem_fail_after(k);
    int rc = cg_fbs_matrix_begin(NR, 2, &b, &err);
    if (rc == 0) {
      cg_fbs_add_json(b, JSON_COL, strlen(JSON_COL), CG_FBS_COPY);
      cg_fbs_add_dict(b, CODES, 8, DICT, strlen(DICT), CG_FBS_COPY);
      cg_fbs_set_col_index_json(b, "[\"a\",\"b\"]", 9, CG_FBS_COPY);
      rc = cg_fbs_finish(b, &buf, &len, &err);
      cg_fbs_free(b);
    }
    cg_mem_fail_after(-1);
    if (rc == 0) {
      ok = 1;
      read_matrix((fb){buf, len});
    } else {
      assert_int_equal(rc, CG_ENOMEM);
    }
    cg_free(buf);
  }
  assert_true(ok);
}

/* --- performance: one float32 column of 10^6 values is one copy ----------------------------------------- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_perf_1m(void **state) {
  enum { N = 1000000 };
  float *x = cg_malloc(N * sizeof *x);
  for (int i = 0; i < N; i++) x[i] = (float)i;
  double best = 1e9, best16 = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    cg_fbs *b;
    cg_err err;
    uint8_t *buf;
    size_t len;
    double t0 = now();
    cg_fbs_matrix_begin(N, 1, &b, &err);
    cg_fbs_add_float32(b, x);
    assert_int_equal(cg_fbs_finish(b, &buf, &len, &err), 0);
    double t1 = now();
    if (t1 - t0 < best) best = t1 - t0;
    assert_true(len < N * 4 + 128);
    cg_fbs_free(b);
    cg_free(buf);
    t0 = now();
    cg_fbs_matrix_begin(N, 1, &b, &err);
    cg_fbs_add_int16_encoded(b, x, 500);
    assert_int_equal(cg_fbs_finish(b, &buf, &len, &err), 0);
    t1 = now();
    if (t1 - t0 < best16) best16 = t1 - t0;
    cg_fbs_free(b);
    cg_free(buf);
  }
  print_message("float32 column, 1e6 values: %.2f ms (%.1f GB/s); int16-encoded: %.2f ms\n", best * 1e3,
                4e6 / best / 1e9, best16 * 1e3);
  assert_true(best < 0.05); /* ~1 ms expected; generous for sanitizer builds */
  cg_free(x);
}

/* --- python3-flatbuffers and flatc as oracles ------------------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t len) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(data, 1, len, fp), len);
  fclose(fp);
}

static json_t *f32_array(const float *x, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++) json_array_append_new(a, json_real((double)x[i]));
  return a;
}

static json_t *int_array(const int32_t *x, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++) json_array_append_new(a, json_integer(x[i]));
  return a;
}

/* The expected decoding of build_all(), for tests/tools/fbs_check.py. */
static json_t *expected_all(void) {
  const uint32_t b01[NR] = {0, 1, 1, 0, 1};
  const int16_t x16[NR] = {0, 500, 250, 0, 125};
  const float seq[NR] = {0, 0.5f, 1, 1.5f, 2};
  json_t *u = json_array(), *d = json_array(), *bo = json_array(), *x = json_array();
  for (int i = 0; i < NR; i++) {
    json_array_append_new(u, json_integer(U32[i]));
    json_array_append_new(d, json_real(F64[i]));
    json_array_append_new(bo, json_integer(b01[i]));
    json_array_append_new(x, json_integer(x16[i]));
  }
  json_t *cols = json_pack("[{si so} {si so} {si so} {si so} {si so} {si ss}]", "tag", 1, "data",
                           f32_array(F32, NR), "tag", 2, "data", int_array(I32, NR), "tag", 3, "data", u, "tag",
                           4, "data", d, "tag", 3, "data", bo, "tag", 5, "json", JSON_COL);
  for (int t = 6; t <= 8; t++)
    json_array_append_new(cols, json_pack("{si so ss}", "tag", t, "codes", int_array(CODES, NR), "dict", DICT));
  json_array_append_new(cols, json_pack("{si so sf sf si}", "tag", 9, "codes", x, "max", 1.0, "min", 0.0,
                                        "nbins", 500));
  json_array_append_new(cols, json_pack("{si so}", "tag", 1, "data", f32_array(seq, NR)));
  json_array_append_new(cols, json_pack("{si so}", "tag", 4, "data", json_deep_copy(d)));
  return json_pack("{si si so}", "n_rows", NR, "n_cols", 12, "columns", cols);
}

static void test_python_oracle(void **state) {
  /* python3-flatbuffers and flatbuffers-compiler are installed by scripts/install-deps.sh */
  const char *tmp = getenv("CG_TMPDIR") ? getenv("CG_TMPDIR") : "/tmp";
  char dir[512], path[600], cmd[2048];
  snprintf(dir, sizeof dir, "%s/test_wire_fbs.%d", tmp, (int)getpid());
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
  assert_int_equal(system(cmd), 0);
  uint8_t *buf;
  size_t len;
  build_all(&buf, &len);
  snprintf(path, sizeof path, "%s/all.bin", dir);
  write_file(path, buf, len);
  cg_free(buf);
  json_t *want = expected_all();
  snprintf(path, sizeof path, "%s/all.json", dir);
  assert_int_equal(json_dump_file(want, path, JSON_COMPACT), 0);
  json_decref(want);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/tools/fbs_check.py' '%s/all.bin' '%s/all.json' '%s'",
           CG_SOURCE_DIR, dir, dir, CG_SOURCE_DIR "/tests/tools/netencoding.fbs");
  assert_int_equal(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_types),     cmocka_unit_test(test_col_index_int32),
      cmocka_unit_test(test_empty),         cmocka_unit_test(test_int16_encode),
      cmocka_unit_test(test_errors),        cmocka_unit_test(test_too_big),
      cmocka_unit_test(test_alloc_failures), cmocka_unit_test(test_perf_1m),
      cmocka_unit_test(test_python_oracle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
