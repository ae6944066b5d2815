/* test_wire_json.c — JSON texts for NetEncoding columns (src/wire/json_text.h), read back with jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/mem.h"
#include "wire/json_text.h"

static const char *const S[] = {"plain", "quo\"te", "back\\slash", "tab\tnl\ncr\r\b\f", "\x01\x1f", "\xc3\xa9t\xc3\xa9", ""};
enum { NS = 7 };

static cg_bundle_strings make(const char *const *s, int n) {
  cg_bundle_strings t = {.count = n};
  size_t total = 1;
  for (int i = 0; i < n; i++) total += strlen(s[i]) + 1;
  uint64_t *off = malloc((size_t)(n + 1) * sizeof *off);
  char *blob = malloc(total);
  off[0] = 0;
  for (int i = 0; i < n; i++) {
    memcpy(blob + off[i], s[i], strlen(s[i]) + 1);
    off[i + 1] = off[i] + strlen(s[i]) + 1;
  }
  t.offsets = off;
  t.blob = blob;
  return t;
}

static void unmake(cg_bundle_strings *t) {
  free((void *)t->offsets);
  free((void *)t->blob);
}

static json_t *load(char *text, size_t len) {
  json_error_t je;
  json_t *j = json_loadb(text, len, 0, &je);
  if (!j) fail_msg("not JSON (%s): %.*s", je.text, (int)len, text);
  cg_free(text);
  return j;
}

static void test_strings(void **state) {
  cg_bundle_strings t = make(S, NS);
  uint8_t valid[NS] = {1, 1, 1, 1, 1, 0, 1};
  char *out;
  size_t len;
  cg_err err;
  assert_int_equal(cg_json_strings(&t, NULL, &out, &len, &err), 0);
  json_t *j = load(out, len);
  assert_int_equal(json_array_size(j), NS);
  for (int i = 0; i < NS; i++) assert_string_equal(json_string_value(json_array_get(j, i)), S[i]);
  json_decref(j);
  assert_int_equal(cg_json_strings(&t, valid, &out, &len, &err), 0);
  j = load(out, len);
  assert_true(json_is_null(json_array_get(j, 5)));
  assert_string_equal(json_string_value(json_array_get(j, 6)), "");
  json_decref(j);
  cg_bundle_strings empty = make(S, 0);
  assert_int_equal(cg_json_strings(&empty, NULL, &out, &len, &err), 0);
  assert_int_equal(len, 2);
  assert_memory_equal(out, "[]", 2);
  cg_free(out);
  assert_int_equal(cg_json_dict(&empty, &out, &len, &err), 0);
  assert_memory_equal(out, "{}", 2);
  cg_free(out);
  unmake(&empty);
  unmake(&t);
}

static void test_codes_dict_names(void **state) {
  cg_bundle_strings cats = make(S, NS);
  const int32_t codes[6] = {1, -1, 6, 3, 99, 0};
  const uint8_t valid[6] = {1, 1, 1, 1, 1, 0};
  char *out;
  size_t len;
  cg_err err;
  assert_int_equal(cg_json_codes(codes, valid, 6, &cats, &out, &len, &err), 0);
  json_t *j = load(out, len);
  assert_int_equal(json_array_size(j), 6);
  assert_string_equal(json_string_value(json_array_get(j, 0)), S[1]);
  assert_true(json_is_null(json_array_get(j, 1)));
  assert_string_equal(json_string_value(json_array_get(j, 2)), "");
  assert_string_equal(json_string_value(json_array_get(j, 3)), S[3]);
  assert_true(json_is_null(json_array_get(j, 4))); /* out of range: missing */
  assert_true(json_is_null(json_array_get(j, 5)));
  json_decref(j);
  assert_int_equal(cg_json_dict(&cats, &out, &len, &err), 0);
  j = load(out, len);
  assert_int_equal(json_object_size(j), NS);
  assert_string_equal(json_string_value(json_object_get(j, "0")), S[0]);
  assert_string_equal(json_string_value(json_object_get(j, "4")), S[4]);
  json_decref(j);
  assert_int_equal(cg_json_names(S, NS, &out, &len, &err), 0);
  j = load(out, len);
  assert_string_equal(json_string_value(json_array_get(j, 1)), S[1]);
  json_decref(j);
  unmake(&cats);
}

static void test_alloc_failure(void **state) {
  cg_bundle_strings cats = make(S, NS);
  const int32_t codes[2] = {0, 1};
  char *out = (char *)1;
  size_t len = 1;
  cg_err err;
  cg_mem_fail_after(0);
  assert_int_equal(cg_json_codes(codes, NULL, 2, &cats, &out, &len, &err), CG_ENOMEM);
  assert_null(out);
  cg_mem_fail_after(1);
  assert_int_equal(cg_json_codes(codes, NULL, 2, &cats, &out, &len, &err), CG_ENOMEM);
  cg_mem_fail_after(0);
  assert_int_equal(cg_json_strings(&cats, NULL, &out, &len, &err), CG_ENOMEM);
  assert_int_equal(cg_json_dict(&cats, &out, &len, &err), CG_ENOMEM);
  assert_int_equal(cg_json_names(S, NS, &out, &len, &err), CG_ENOMEM);
  cg_mem_fail_after(-1);
  unmake(&cats);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_codes_dict_names),
      cmocka_unit_test(test_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
