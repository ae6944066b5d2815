/* test_fbs_read.c — the NetEncoding Matrix decoder (src/wire/fbs_read.h): what the encoder (wire/fbs.h) writes
 * decodes to the same columns; every truncation and many corruptions of a valid buffer fail cleanly (run it under
 * ASan for the bounds); v0.3 dictionary columns are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "wire/fbs.h"
#include "wire/fbs_read.h"

static const float F[3] = {1.5f, -2.0f, 3.25f};
static const int32_t I[3] = {7, -8, 9};
static const char J[] = "[\"a\",\"b\",null]", NAMES[] = "[\"f\",\"i\",\"j\"]";

static uint8_t *encode(size_t *len, int dict) {
  cg_fbs *b;
  cg_err err = {0};
  assert_int_equal(cg_fbs_matrix_begin(3, 3, &b, &err), 0);
  cg_fbs_add_float32(b, F);
  cg_fbs_add_int32(b, I);
  if (dict) cg_fbs_add_dict(b, I, 32, "{}", 2, CG_FBS_STATIC);
  else cg_fbs_add_json(b, J, strlen(J), CG_FBS_STATIC);
  cg_fbs_set_col_index_json(b, NAMES, strlen(NAMES), CG_FBS_STATIC);
  uint8_t *buf;
  assert_int_equal(cg_fbs_finish(b, &buf, len, &err), 0);
  cg_fbs_free(b);
  return buf;
}

static void test_round_trip(void **st) {
  size_t len;
  uint8_t *buf = encode(&len, 0);
  cg_fbs_matrix m;
  cg_err err = {0};
  assert_int_equal(cg_fbs_read(buf, len, &m, &err), 0);
  assert_int_equal(m.n_rows, 3);
  assert_int_equal(m.n_cols, 3);
  assert_int_equal(m.n_columns, 3);
  assert_int_equal(m.columns[0].type, CG_FBS_FLOAT32);
  assert_int_equal(m.columns[1].type, CG_FBS_INT32);
  assert_int_equal(m.columns[2].type, CG_FBS_JSON);
  for (uint32_t i = 0; i < 3; i++) {
    assert_true(cg_fbs_col_get(&m.columns[0], i) == F[i]);
    assert_true(cg_fbs_col_get(&m.columns[1], i) == I[i]);
  }
  assert_int_equal(m.columns[2].count, strlen(J));
  assert_memory_equal(m.columns[2].data, J, strlen(J));
  assert_int_equal(m.col_index.type, CG_FBS_JSON);
  assert_memory_equal(m.col_index.data, NAMES, strlen(NAMES));
  cg_fbs_matrix_dispose(&m);
  cg_free(buf);
}

static void test_truncations_and_corruptions(void **st) {
  size_t len;
  uint8_t *buf = encode(&len, 0);
  cg_fbs_matrix m;
  cg_err err = {0};
  for (size_t cut = 0; cut < len; cut++) { /* exact-size copies, so ASan sees any read past the end */
    uint8_t *p = cg_malloc(cut ? cut : 1);
    memcpy(p, buf, cut);
    if (cg_fbs_read(p, cut, &m, &err) == 0) cg_fbs_matrix_dispose(&m);
    cg_free(p);
  }
  srand(42);
  for (int round = 0; round < 20000; round++) {
    uint8_t *p = cg_malloc(len);
    memcpy(p, buf, len);
    for (int k = 0; k < 1 + rand() % 4; k++) p[rand() % len] = (uint8_t)rand();
    if (cg_fbs_read(p, len, &m, &err) == 0) {
      for (uint32_t c = 0; c < m.n_columns; c++) /* whatever decodes lies inside the buffer */
        if (m.columns[c].data) assert_true(m.columns[c].data >= p && m.columns[c].data <= p + len);
      cg_fbs_matrix_dispose(&m);
    }
    cg_free(p);
  }
  assert_int_equal(cg_fbs_read(NULL, 0, &m, &err), CG_EFORMAT);
  cg_free(buf);
}

static void test_dict_refused(void **st) {
  size_t len;
  uint8_t *buf = encode(&len, 1);
  cg_fbs_matrix m;
  cg_err err = {0};
  assert_int_equal(cg_fbs_read(buf, len, &m, &err), CG_EUNSUPPORTED);
  assert_null(m.columns);
  cg_free(buf);
}

/* A seed written by the Python writer of tests/api/test_annotations.py: vtables AFTER their tables. */
static void test_other_writer(void **st) {
  char path[1024];
  snprintf(path, sizeof path, "%s/tests/fuzz/corpus/fuzz_fbs_read/labels2", CG_SOURCE_DIR);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  uint8_t buf[4096];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  cg_fbs_matrix m;
  cg_err err = {0};
  assert_int_equal(cg_fbs_read(buf, len, &m, &err), 0);
  assert_int_equal(m.n_rows, 5);
  assert_int_equal(m.n_columns, 2);
  static const char a[] = "[\"x\", \"y\", \"x\", null, \"z\"]", names[] = "[\"a\", \"b\"]";
  assert_int_equal(m.columns[0].type, CG_FBS_JSON);
  assert_int_equal(m.columns[0].count, strlen(a));
  assert_memory_equal(m.columns[0].data, a, strlen(a));
  assert_int_equal(m.col_index.count, strlen(names));
  assert_memory_equal(m.col_index.data, names, strlen(names));
  cg_fbs_matrix_dispose(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_truncations_and_corruptions),
      cmocka_unit_test(test_dict_refused),
      cmocka_unit_test(test_other_writer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
