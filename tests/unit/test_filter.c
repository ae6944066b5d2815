/* test_filter.c — cellxgene filters (src/query/filter.h): both syntaxes, every error, evaluation on every
 * column type through an in-test table, the same through a real bundle, allocation failures and a 10^6-row
 * categorical selection. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/frame.h"
#include "base/mem.h"
#include "bundle/bundle_write.h"
#include "query/filter.h"

/* --- an in-test table ------------------------------------------------------------------------------------ */

enum { NO = 10, NV = 4 };

static cg_bundle_strings make_strings(const char *const *s, int n) {
  cg_bundle_strings t = {.count = n};
  size_t total = 0;
  for (int i = 0; i < n; i++) total += strlen(s[i]) + 1;
  uint64_t *off = malloc((size_t)(n + 1) * sizeof *off);
  char *blob = malloc(total + 1);
  off[0] = 0;
  for (int i = 0; i < n; i++) {
    memcpy(blob + off[i], s[i], strlen(s[i]) + 1);
    off[i + 1] = off[i] + strlen(s[i]) + 1;
  }
  t.offsets = off;
  t.blob = blob;
  return t;
}

static void free_strings(cg_bundle_strings *t) {
  free((void *)t->offsets);
  free((void *)t->blob);
}

static const char *const CATS[] = {"B cell", "T cell", "NK", "1.5", "True"};
static const int32_t CODES[NO] = {0, 1, 2, 0, -1, 1, 3, 4, 0, 2};
static const int32_t NGENES[NO] = {5, 10, 15, 20, 25, 30, 35, 40, 45, 50};
static const float SCORE[NO] = {0.5f, NAN, 1.5f, 2.5f, -1, 3, 10, 0.5f, 7, 2};
static const uint8_t FLAG[NO] = {1, 0, 1, 0, 1, 0, 1, 0, 1, 0};
static const uint8_t VALID[NO] = {1, 1, 1, 0, 1, 1, 1, 1, 1, 0};
static const char *const DONOR[NO] = {"d0", "d1", "d2", "d3", "d4", "d0", "d1", "d2", "", "d4"};
static const char *const OBS_NAMES[NO] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"};
static const char *const VAR_NAMES[NV] = {"CD3E", "MS4A1", "B cell", "X,Y"};

static cg_bundle_column obs_cols[7];
static cg_bundle_strings obs_index, var_index;

static const cg_bundle_column *find_obs(void *ctx, const char *name) {
  for (size_t i = 0; i < sizeof obs_cols / sizeof *obs_cols; i++)
    if (obs_cols[i].name && strcmp(obs_cols[i].name, name) == 0) return &obs_cols[i];
  return NULL;
}
static const cg_bundle_column *find_none(void *ctx, const char *name) { return NULL; }

/* A table of the one column ctx points to. */
static const cg_bundle_column *one_col(void *ctx, const char *name) {
  const cg_bundle_column *c = ctx;
  return strcmp(c->name, name) == 0 ? c : NULL;
}

static int setup(void **state) {
  obs_cols[0] = (cg_bundle_column){.name = "cell_type", .type = CG_BCOL_CATEGORICAL, .n = NO, .v.codes = CODES,
                                   .categories = make_strings(CATS, 5)};
  obs_cols[1] = (cg_bundle_column){.name = "n_genes", .type = CG_BCOL_I32, .n = NO, .v.i32 = NGENES};
  obs_cols[2] = (cg_bundle_column){.name = "score", .type = CG_BCOL_F32, .n = NO, .v.f32 = SCORE};
  obs_cols[3] = (cg_bundle_column){.name = "flag", .type = CG_BCOL_BOOL, .n = NO, .v.b = FLAG};
  obs_cols[4] = (cg_bundle_column){.name = "donor", .type = CG_BCOL_STRING, .n = NO, .str = make_strings(DONOR, NO),
                                   .valid = VALID};
  obs_cols[5] = (cg_bundle_column){.name = "flag_v", .type = CG_BCOL_BOOL, .n = NO, .v.b = FLAG, .valid = VALID};
  obs_cols[6] = (cg_bundle_column){.name = "name_0", .type = CG_BCOL_I32, .n = NO, .v.i32 = NGENES};
  obs_index = make_strings(OBS_NAMES, NO);
  var_index = make_strings(VAR_NAMES, NV);
  return 0;
}

static int teardown(void **state) {
  free_strings(&obs_cols[0].categories);
  free_strings(&obs_cols[4].str);
  free_strings(&obs_index);
  free_strings(&var_index);
  return 0;
}

static const cg_filter_table OBS_T = {NO, &obs_index, find_obs, NULL};
static const cg_filter_table VAR_T = {NV, &var_index, find_none, NULL};

/* The selected rows as a string "0,2,3" ("" for none). */
static const char *rows(const cg_bitset *b) {
  static char s[1024];
  size_t o = 0;
  s[0] = '\0';
  for (int64_t i = cg_bitset_next(b, 0); i >= 0; i = cg_bitset_next(b, i + 1))
    o += (size_t)snprintf(s + o, sizeof s - o, o ? ",%lld" : "%lld", (long long)i);
  return s;
}

/* Parses qs (allowed axes), evaluates on axis, returns the rows; fails the test on any error. */
static const char *sel_q(const char *qs, unsigned allowed, cg_bundle_axis axis) {
  cg_filter *f;
  cg_err err = {0};
  cg_bitset b;
  int rc = cg_filter_parse_query(qs, strlen(qs), allowed, &f, &err);
  if (rc) fail_msg("parse %s: %s", qs, err.msg);
  rc = cg_filter_select_table(f, axis == CG_BUNDLE_OBS ? &OBS_T : &VAR_T, axis, &b, &err);
  if (rc) fail_msg("select %s: %s", qs, err.msg);
  const char *r = rows(&b);
  cg_bitset_dispose(&b);
  cg_filter_free(f);
  return r;
}

static const char *sel_j(const char *json, unsigned allowed, cg_bundle_axis axis) {
  cg_filter *f;
  cg_err err = {0};
  cg_bitset b;
  int rc = cg_filter_parse_json(json, strlen(json), allowed, &f, &err);
  if (rc) fail_msg("parse %s: %s", json, err.msg);
  rc = cg_filter_select_table(f, axis == CG_BUNDLE_OBS ? &OBS_T : &VAR_T, axis, &b, &err);
  if (rc) fail_msg("select %s: %s", json, err.msg);
  const char *r = rows(&b);
  cg_bitset_dispose(&b);
  cg_filter_free(f);
  return r;
}

#define OBS CG_FILTER_AXIS_OBS
#define VAR CG_FILTER_AXIS_VAR
#define ANY CG_FILTER_AXIS_ANY

/* Expects an error from parsing or selecting, with `part` in the message. */
static void expect_err(int json, const char *in, unsigned allowed, const char *part) {
  cg_filter *f = NULL;
  cg_err err = {0};
  cg_bitset b;
  int rc = json ? cg_filter_parse_json(in, strlen(in), allowed, &f, &err)
                : cg_filter_parse_query(in, strlen(in), allowed, &f, &err);
  if (rc == 0) {
    assert_non_null(f);
    rc = cg_filter_select_table(f, &OBS_T, CG_BUNDLE_OBS, &b, &err);
    if (rc == 0) cg_bitset_dispose(&b);
    else assert_null(b.w);
    cg_filter_free(f);
  } else {
    assert_null(f);
  }
  if (rc != CG_EINVAL || !strstr(err.msg, part))
    fail_msg("%s: want EINVAL with \"%s\", got %d \"%s\"", in, part, rc, err.msg);
}

/* --- query strings --------------------------------------------------------------------------------------- */

static void test_query_values(void **state) {
  assert_string_equal(sel_q("obs:cell_type=B%2520cell", OBS, CG_BUNDLE_OBS), "0,3,8");
  assert_string_equal(sel_q("obs:cell_type=B%2520cell&obs:cell_type=NK", OBS, CG_BUNDLE_OBS), "0,2,3,8,9");
  assert_string_equal(sel_q("obs:cell_type=B+cell", OBS, CG_BUNDLE_OBS), "0,3,8"); /* form '+' = space */
  assert_string_equal(sel_q("obs:cell_type=B%20cell", OBS, CG_BUNDLE_OBS), "0,3,8");
  assert_string_equal(sel_q("obs:cell_type=B%252Bcell", OBS, CG_BUNDLE_OBS), ""); /* a literal '+' */
  assert_string_equal(sel_q("obs:cell%255Ftype=NK", OBS, CG_BUNDLE_OBS), "2,9");   /* name decoded twice */
  assert_string_equal(sel_q("obs:cell_type=1.5&obs:cell_type=True", OBS, CG_BUNDLE_OBS), "6,7");
  assert_string_equal(sel_q("obs:cell_type=NK&obs:flag=True", OBS, CG_BUNDLE_OBS), "2");  /* AND */
  assert_string_equal(sel_q("obs:flag=false", OBS, CG_BUNDLE_OBS), "1,3,5,7,9");
  assert_string_equal(sel_q("obs:flag_v=False", OBS, CG_BUNDLE_OBS), "1,5,7"); /* 3, 9 are missing */
  assert_string_equal(sel_q("obs:n_genes=20&obs:n_genes=45", OBS, CG_BUNDLE_OBS), "3,8");
  assert_string_equal(sel_q("obs:n_genes=2e1", OBS, CG_BUNDLE_OBS), "3");
  assert_string_equal(sel_q("obs:score=0.5", OBS, CG_BUNDLE_OBS), "0,7");
  assert_string_equal(sel_q("obs:donor=d4&obs:donor=", OBS, CG_BUNDLE_OBS), "4,8"); /* 9 is missing */
  assert_string_equal(sel_q("obs:name_0=c3&obs:name_0=c7&obs:name_0=nope", OBS, CG_BUNDLE_OBS), "3,7");
  assert_string_equal(sel_q("var:name_0=CD3E&var:name_0=MS4A1", VAR, CG_BUNDLE_VAR), "0,1");
  assert_string_equal(sel_q("var:name_0=X%252CY", VAR, CG_BUNDLE_VAR), "3"); /* a ',' inside a value */
  assert_string_equal(sel_q("var:name_0=B%2520cell", VAR, CG_BUNDLE_VAR), "2");
}

static void test_query_ranges(void **state) {
  assert_string_equal(sel_q("obs:n_genes=10,*", OBS, CG_BUNDLE_OBS), "1,2,3,4,5,6,7,8,9");
  assert_string_equal(sel_q("obs:n_genes=*,20", OBS, CG_BUNDLE_OBS), "0,1,2,3");
  assert_string_equal(sel_q("obs:n_genes=15,30&obs:score=0,2.5", OBS, CG_BUNDLE_OBS), "2,3");
  assert_string_equal(sel_q("obs:score=-inf,inf", OBS, CG_BUNDLE_OBS), "0,2,3,4,5,6,7,8,9"); /* NaN out */
  assert_string_equal(sel_q("obs:score=%2520-1%2520,0.5", OBS, CG_BUNDLE_OBS), "0,4,7"); /* spaces ok */
  assert_string_equal(sel_q("obs:n_genes=30,10", OBS, CG_BUNDLE_OBS), "");
}

static void test_query_misc(void **state) {
  /* Non-filter parameters are skipped; empty pairs too; the other axis selects everything. */
  assert_string_equal(sel_q("nbins=500&&method=mean&obs:flag=True&", OBS, CG_BUNDLE_OBS), "0,2,4,6,8");
  assert_string_equal(sel_q("", OBS, CG_BUNDLE_OBS), "0,1,2,3,4,5,6,7,8,9");
  assert_string_equal(sel_q("var:name_0=CD3E", ANY, CG_BUNDLE_OBS), "0,1,2,3,4,5,6,7,8,9");
  cg_filter *f;
  cg_err err;
  assert_int_equal(cg_filter_parse_query(NULL, 0, ANY, &f, &err), 0);
  assert_false(cg_filter_has_axis(f, CG_BUNDLE_OBS));
  cg_filter_free(f);
  assert_int_equal(cg_filter_parse_query("var:name_0=A&key=1", 18, ANY, &f, &err), 0);
  assert_false(cg_filter_has_axis(f, CG_BUNDLE_OBS));
  assert_true(cg_filter_has_axis(f, CG_BUNDLE_VAR));
  cg_filter_free(f);
  cg_filter_free(NULL);
  /* Invalid escapes are kept literally. */
  assert_string_equal(sel_q("obs:donor=%zz&obs:donor=%2", OBS, CG_BUNDLE_OBS), "");
}

static void test_query_errors(void **state) {
  expect_err(0, "obs:n_genes=10,*&obs:n_genes=5", OBS, "do not mix range and value");
  expect_err(0, "obs:n_genes=5&obs:n_genes=10,*", OBS, "do not mix range and value");
  expect_err(0, "obs:n_genes=10,*&obs:n_genes=*,20", OBS, "duplicate range");
  expect_err(0, "obs:n_genes=*,*", OBS, "needs a min or a max");
  expect_err(0, "obs:n_genes=abc,5", OBS, "obs:n_genes: malformed number");
  expect_err(0, "obs:n_genes=nan,5", OBS, "malformed number");
  expect_err(0, "obs:n_genes=0x10,*", OBS, "malformed number");
  expect_err(0, "obs:n_genes=,5", OBS, "malformed number");
  expect_err(0, "obs:n_genes=1,2,3", OBS, "more than one ','");
  expect_err(0, "foo:bar=1", OBS, "unknown filter axis");
  expect_err(0, "obs:a:b=1", OBS, "more than one ':'");
  expect_err(0, "obs:cell_type=NK", VAR, "obs:cell_type: this route does not filter on that axis");
  expect_err(0, "obs:nope=1", OBS, "obs:nope: unknown column");
  expect_err(0, "obs:cell_type=1,2", OBS, "obs:cell_type: a min,max range needs a numeric column");
  expect_err(0, "obs:donor=1,2", OBS, "range needs a numeric");
  expect_err(0, "obs:flag=1,2", OBS, "range needs a numeric");
  expect_err(0, "obs:name_0=1,2", OBS, "range needs a numeric");
  expect_err(0, "obs:flag=yes", OBS, "obs:flag: boolean values are True or False");
  expect_err(0, "obs:n_genes=ten", OBS, "obs:n_genes: malformed number");
  expect_err(0, "obs:donor=a%2500b", OBS, "NUL byte in value");
  expect_err(0, "obs:don%2500or=a", OBS, "NUL byte in name");
}

/* --- JSON ------------------------------------------------------------------------------------------------ */

static void test_json(void **state) {
  assert_string_equal(sel_j("{\"filter\":{\"obs\":{\"index\":[3,[5,8]]}}}", OBS, CG_BUNDLE_OBS), "3,5,6,7");
  assert_string_equal(sel_j("{\"filter\":{\"obs\":{\"index\":[[8,100],[5,3],[0,0]]}}}", OBS, CG_BUNDLE_OBS),
                      "8,9");
  assert_string_equal(sel_j("{\"filter\":{\"obs\":{\"index\":[]}}}", OBS, CG_BUNDLE_OBS), "");
  assert_string_equal(sel_j("{\"nbins\":500,\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"cell_type\","
                            "\"values\":[\"B cell\",null]}]}}}",
                            OBS, CG_BUNDLE_OBS),
                      "0,3,4,8");
  assert_string_equal(sel_j("{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"cell_type\",\"values\":"
                            "[1.5,true]}]}}}",
                            OBS, CG_BUNDLE_OBS),
                      "6,7");
  assert_string_equal(sel_j("{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"n_genes\",\"min\":10,"
                            "\"max\":null},{\"name\":\"score\",\"max\":2.5}]}}}",
                            OBS, CG_BUNDLE_OBS),
                      "2,3,4,7,9");
  assert_string_equal(sel_j("{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"score\",\"min\":null}]}}}",
                            OBS, CG_BUNDLE_OBS),
                      "0,1,2,3,4,5,6,7,8,9"); /* no bound: no constraint, like upstream */
  assert_string_equal(sel_j("{\"filter\":{\"obs\":{\"index\":[[0,9]],\"annotation_value\":[{\"name\":\"flag\","
                            "\"values\":[true]},{\"name\":\"flag\",\"values\":[\"True\",false]},"
                            "{\"name\":\"n_genes\",\"values\":[5,25,\"45\",46]}]}}}",
                            OBS, CG_BUNDLE_OBS),
                      "0,4,8");
  assert_string_equal(sel_j("{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"score\",\"values\":[null,"
                            "10]},{\"name\":\"donor\",\"values\":[null,\"d1\"]}]}}}",
                            OBS, CG_BUNDLE_OBS),
                      "1,6");
  assert_string_equal(sel_j("{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"flag_v\",\"values\":"
                            "[null]}]}}}",
                            OBS, CG_BUNDLE_OBS),
                      "3,9");
  assert_string_equal(sel_j("{\"filter\":{\"var\":{\"annotation_value\":[{\"name\":\"name_0\",\"values\":"
                            "[\"MS4A1\"]}]}}}",
                            VAR, CG_BUNDLE_VAR),
                      "1");
  assert_string_equal(sel_j("{\"filter\":{}}", OBS, CG_BUNDLE_OBS), "0,1,2,3,4,5,6,7,8,9");
  assert_string_equal(sel_j("{\"filter\":null}", OBS, CG_BUNDLE_OBS), "0,1,2,3,4,5,6,7,8,9");
}

static void test_json_errors(void **state) {
  expect_err(1, "{\"filter\":", OBS, "malformed JSON");
  expect_err(1, "[]", OBS, "\"filter\" member");
  expect_err(1, "{\"set1\":{}}", OBS, "\"filter\" member");
  expect_err(1, "{\"filter\":[1]}", OBS, "must be a JSON object");
  expect_err(1, "{\"filter\":{\"cells\":{}}}", OBS, "unknown filter axis");
  expect_err(1, "{\"filter\":{\"var\":{}}}", OBS, "filter var: this route does not filter on that axis");
  expect_err(1, "{\"filter\":{\"obs\":[]}}", OBS, "must be an object");
  expect_err(1, "{\"filter\":{\"obs\":{\"idx\":[]}}}", OBS, "unknown member");
  expect_err(1, "{\"filter\":{\"obs\":{\"index\":3}}}", OBS, "\"index\" must be an array");
  expect_err(1, "{\"filter\":{\"obs\":{\"index\":[1.5]}}}", OBS, "row numbers or [start, end]");
  expect_err(1, "{\"filter\":{\"obs\":{\"index\":[[1,2,3]]}}}", OBS, "row numbers or [start, end]");
  expect_err(1, "{\"filter\":{\"obs\":{\"index\":[\"3\"]}}}", OBS, "row numbers or [start, end]");
  expect_err(1, "{\"filter\":{\"obs\":{\"index\":[-1]}}}", OBS, "negative index");
  expect_err(1, "{\"filter\":{\"obs\":{\"index\":[[0,-1]]}}}", OBS, "negative index");
  expect_err(1, "{\"filter\":{\"obs\":{\"index\":[10]}}}", OBS, "row 10 out of range");
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":{}}}}", OBS, "must be an array");
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":[3]}}}", OBS, "need a \"name\"");
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":[{\"values\":[]}]}}}", OBS, "need a \"name\"");
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"n_genes\",\"values\":[1],\"min\":0}]}}}",
             OBS, "obs:n_genes: do not mix range and value");
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"n_genes\",\"values\":1}]}}}", OBS,
             "\"values\" must be an array");
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"n_genes\",\"values\":[[1]]}]}}}", OBS,
             "values must be strings");
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"n_genes\",\"min\":\"1\"}]}}}", OBS,
             "\"min\" must be a number");
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"n_genes\",\"values\":[true]}]}}}", OBS,
             "malformed number");
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"flag\",\"values\":[1]}]}}}", OBS,
             "boolean values");
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"cell_type\",\"min\":1}]}}}", OBS,
             "range needs a numeric");
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"zzz\",\"values\":[]}]}}}", OBS,
             "obs:zzz: unknown column");
  /* The JSON form of a query string's name_0 range, and a missing index. */
  expect_err(1, "{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"name_0\",\"min\":1}]}}}", OBS,
             "range needs a numeric");
  cg_filter *f;
  cg_err err;
  cg_bitset b;
  assert_int_equal(cg_filter_parse_query("obs:name_0=c1", 13, OBS, &f, &err), 0);
  cg_filter_table noindex = {NO, NULL, find_none, NULL};
  assert_int_equal(cg_filter_select_table(f, &noindex, CG_BUNDLE_OBS, &b, &err), CG_EINVAL);
  assert_non_null(strstr(err.msg, "unknown column"));
  assert_int_equal(cg_filter_select_table(f, &noindex, (cg_bundle_axis)7, &b, &err), CG_EINVAL);
  cg_filter_free(f);
}

/* Python str() text of JSON reals matches numeric categories ("1.5", "2.0", "1000000.0", "1e-05"). */
static void test_json_number_text(void **state) {
  static const char *const cats[] = {"2.0", "1000000.0", "1e-05", "0.1", "-3", "1e+16"};
  static const int32_t codes[6] = {0, 1, 2, 3, 4, 5};
  cg_bundle_column c = {.name = "c", .type = CG_BCOL_CATEGORICAL, .n = 6, .v.codes = codes,
                        .categories = make_strings(cats, 6)};
  const cg_bundle_column *cp = &c;
  cg_filter_table t = {6, NULL, NULL, NULL};
  const char *js = "{\"filter\":{\"obs\":{\"annotation_value\":[{\"name\":\"c\",\"values\":[2.0,1e6,0.00001,0.1,"
                   "-3,1e16]}]}}}";
  cg_filter *f;
  cg_err err;
  cg_bitset b;
  assert_int_equal(cg_filter_parse_json(js, strlen(js), OBS, &f, &err), 0);
  t.find = one_col;
  t.ctx = (void *)cp;
  assert_int_equal(cg_filter_select_table(f, &t, CG_BUNDLE_OBS, &b, &err), 0);
  assert_string_equal(rows(&b), "0,1,2,3,4,5");
  cg_bitset_dispose(&b);
  cg_filter_free(f);
  free_strings(&c.categories);
}

/* --- allocation failures --------------------------------------------------------------------------------- */

static void alloc_loop(int json, const char *in) {
  int ok = 0;
  for (long k = 0; k < 200 && !ok; k++) {
    cg_filter *f = NULL;
    cg_err err;
    cg_bitset b;
    cg_mem_fail_after(k);
    int rc = json ? cg_filter_parse_json(in, strlen(in), ANY, &f, &err)
                  : cg_filter_parse_query(in, strlen(in), ANY, &f, &err);
    if (rc == 0) rc = cg_filter_select_table(f, &OBS_T, CG_BUNDLE_OBS, &b, &err);
    cg_mem_fail_after(-1);
    cg_filter_free(f);
    if (rc == 0) {
      ok = 1;
      cg_bitset_dispose(&b);
    } else if (!json) {
      assert_int_equal(rc, CG_ENOMEM); /* jansson's own failures show as malformed JSON */
    }
  }
  assert_true(ok);
}

static void test_alloc_failures(void **state) {
  alloc_loop(0, "obs:cell_type=NK&obs:cell_type=T%2520cell&obs:n_genes=1,*&obs:donor=d1&obs:name_0=c1&"
                "obs:score=0.5&obs:flag=True");
  alloc_loop(1, "{\"filter\":{\"obs\":{\"index\":[1,[2,5]],\"annotation_value\":[{\"name\":\"cell_type\","
                "\"values\":[\"NK\",1.5,true,null]},{\"name\":\"score\",\"min\":0}]}}}");
}

/* --- a real bundle --------------------------------------------------------------------------------------- */

static void test_bundle(void **state) {
  static char *cats[] = {"B cell", "T cell", "NK"};
  static char *names[] = {"c0", "c1", "c2", "c3"}, *genes[] = {"CD3E", "MS4A1"};
  static int32_t codes[4] = {0, 2, 1, 2};
  static double score[4] = {0.5, NAN, 2, 3};
  static int64_t ng[4] = {1, 2, 3, 4};
  static uint8_t flag[2] = {1, 0};
  cg_column oc[3] = {
      {.name = "cell_type", .type = CG_COL_CATEGORICAL, .dtype = "category", .n = 4, .v.codes = codes,
       .categories = cats, .n_categories = 3, .cat_dtype = "object"},
      {.name = "score", .type = CG_COL_FLOAT, .dtype = "float64", .n = 4, .v.f64 = score},
      {.name = "n_genes", .type = CG_COL_INT, .dtype = "int64", .n = 4, .v.i64 = ng},
  };
  cg_column vc[1] = {{.name = "highly_variable", .type = CG_COL_BOOL, .dtype = "bool", .n = 2, .v.b = flag}};
  cg_frame obs = {.n_rows = 4, .index_name = "_index", .index = names, .cols = oc, .n_cols = 3};
  cg_frame var = {.n_rows = 2, .index_name = "_index", .index = genes, .cols = vc, .n_cols = 1};
  cg_bundle_input in = {.n_obs = 4, .n_vars = 2, .obs = &obs, .var = &var};
  char path[600];
  const char *tmp = getenv("CG_TMPDIR") ? getenv("CG_TMPDIR") : "/tmp";
  snprintf(path, sizeof path, "%s/test_filter.%d.cgb", tmp, (int)getpid());
  cg_err err = {0};
  if (cg_bundle_write(&in, path, &err)) fail_msg("write: %s", err.msg);
  cg_bundle *b;
  if (cg_bundle_open(path, &b, &err)) fail_msg("open: %s", err.msg);
  unlink(path);
  const char *qs = "obs:cell_type=NK&obs:cell_type=B%2520cell&obs:score=0,2.5&var:highly_variable=True";
  cg_filter *f;
  cg_bitset s;
  assert_int_equal(cg_filter_parse_query(qs, strlen(qs), ANY, &f, &err), 0);
  assert_int_equal(cg_filter_select(f, b, CG_BUNDLE_OBS, &s, &err), 0);
  assert_string_equal(rows(&s), "0"); /* row 1 is NK but its score is NaN; row 3 is 3 > 2.5 */
  cg_bitset_dispose(&s);
  assert_int_equal(cg_filter_select(f, b, CG_BUNDLE_VAR, &s, &err), 0);
  assert_string_equal(rows(&s), "0");
  cg_bitset_dispose(&s);
  cg_filter_free(f);
  qs = "obs:n_genes=2,*&obs:name_0=c1&obs:name_0=c3&var:name_0=MS4A1";
  assert_int_equal(cg_filter_parse_query(qs, strlen(qs), ANY, &f, &err), 0);
  assert_int_equal(cg_filter_select(f, b, CG_BUNDLE_OBS, &s, &err), 0);
  assert_string_equal(rows(&s), "1,3");
  cg_bitset_dispose(&s);
  assert_int_equal(cg_filter_select(f, b, CG_BUNDLE_VAR, &s, &err), 0);
  assert_string_equal(rows(&s), "1");
  cg_bitset_dispose(&s);
  cg_filter_free(f);
  cg_bundle_release(b);
}

/* --- bitset and performance ------------------------------------------------------------------------------ */

static void test_bitset(void **state) {
  cg_bitset b;
  assert_int_equal(cg_bitset_init(&b, 130), 0);
  cg_bitset_set_range(&b, 3, 3);
  assert_int_equal(cg_bitset_count(&b), 0);
  cg_bitset_set_range(&b, 60, 129);
  assert_int_equal(cg_bitset_count(&b), 69);
  assert_int_equal(cg_bitset_next(&b, 0), 60);
  assert_int_equal(cg_bitset_next(&b, 129), -1);
  cg_bitset_fill(&b, 1);
  assert_int_equal(cg_bitset_count(&b), 130);
  cg_bitset_clear(&b, 64);
  assert_false(cg_bitset_test(&b, 64));
  assert_int_equal(cg_bitset_next(&b, 64), 65);
  cg_bitset_dispose(&b);
  cg_bitset_dispose(&b);
  assert_int_equal(cg_bitset_init(&b, 0), 0);
  cg_bitset_fill(&b, 1);
  assert_int_equal(cg_bitset_next(&b, 0), -1);
  cg_bitset_dispose(&b);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_perf_1m_categorical(void **state) {
  enum { N = 1000000, K = 50 };
  char *names[K], buf[K][16];
  for (int k = 0; k < K; k++) {
    snprintf(buf[k], sizeof buf[k], "type %d", k);
    names[k] = buf[k];
  }
  int32_t *codes = malloc(N * sizeof *codes);
  for (int i = 0; i < N; i++) codes[i] = (int32_t)((i * 7u) % K) - (i % 1000 == 0);
  cg_bundle_column c = {.name = "c", .type = CG_BCOL_CATEGORICAL, .n = N, .v.codes = codes,
                        .categories = make_strings((const char *const *)names, K)};
  cg_filter_table t = {N, NULL, one_col, &c};
  const char *qs = "obs:c=type%25203&obs:c=type%252049";
  cg_filter *f;
  cg_err err;
  cg_bitset b;
  assert_int_equal(cg_filter_parse_query(qs, strlen(qs), OBS, &f, &err), 0);
  double best = 1e9;
  int64_t want = 0;
  for (int i = 0; i < N; i++) want += codes[i] == 3 || codes[i] == 49;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now();
    assert_int_equal(cg_filter_select_table(f, &t, CG_BUNDLE_OBS, &b, &err), 0);
    double dt = now() - t0;
    if (dt < best) best = dt;
    assert_int_equal(cg_bitset_count(&b), want);
    cg_bitset_dispose(&b);
  }
  print_message("select on a 10^6-row categorical: %.2f ms (%.0f Mrows/s)\n", best * 1e3, N / best / 1e6);
  assert_true(best < 0.1);
  cg_filter_free(f);
  free_strings(&c.categories);
  free(codes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_query_values),     cmocka_unit_test(test_query_ranges),
      cmocka_unit_test(test_query_misc),       cmocka_unit_test(test_query_errors),
      cmocka_unit_test(test_json),             cmocka_unit_test(test_json_errors),
      cmocka_unit_test(test_json_number_text), cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_bundle),           cmocka_unit_test(test_bitset),
      cmocka_unit_test(test_perf_1m_categorical),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
