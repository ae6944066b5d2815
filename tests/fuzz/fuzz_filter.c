/* fuzz_filter.c — libFuzzer target for the filter parsers (src/query/filter.h). Each input is parsed as a
 * query string and as a JSON body (every axis allowed, so parsing goes as deep as it can), and whatever parses
 * is evaluated against a small table with one column of every type and an index, on both axes.
 * Seeds: tests/fuzz/corpus/fuzz_filter. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/filter.h"

/* The filter sources are compiled into this target so that libFuzzer's coverage instrumentation sees them
 * (see fuzz_bundle.c); the linker then never pulls these objects from the archive. */
#include "../../src/query/bitset.c"
#include "../../src/query/filter.c"
#include "../../src/query/filter_json.c"
#include "../../src/query/filter_qs.c"
#include "../../src/query/filter_select.c"

enum { N = 70 }; /* more than one bitset word */

static int32_t codes[N], ints[N];
static float floats[N];
static uint8_t bools[N], valid[N];
static uint64_t off[N + 1], cat_off[4] = {0, 7, 14, 17};
static char blob[N * 4], cat_blob[] = "B cell\0T cell\0NK";
static cg_bundle_column cols[5];
static cg_bundle_strings names;

static void init_table(void) {
  for (int i = 0; i < N; i++) {
    codes[i] = i % 4 - 1;
    ints[i] = i - 10;
    floats[i] = i % 9 == 0 ? NAN : (float)i / 3;
    bools[i] = i & 1;
    valid[i] = i % 5 != 0;
    off[i + 1] = off[i] + 4;
    blob[4 * i] = 'c';
    blob[4 * i + 1] = (char)('0' + i / 10);
    blob[4 * i + 2] = (char)('0' + i % 10);
    blob[4 * i + 3] = '\0';
  }
  names = (cg_bundle_strings){N, off, blob};
  cg_bundle_strings cats = {3, cat_off, cat_blob};
  cols[0] = (cg_bundle_column){.name = "cell_type", .type = CG_BCOL_CATEGORICAL, .n = N, .v.codes = codes,
                               .categories = cats, .valid = valid};
  cols[1] = (cg_bundle_column){.name = "n", .type = CG_BCOL_I32, .n = N, .v.i32 = ints};
  cols[2] = (cg_bundle_column){.name = "x", .type = CG_BCOL_F32, .n = N, .v.f32 = floats, .valid = valid};
  cols[3] = (cg_bundle_column){.name = "b", .type = CG_BCOL_BOOL, .n = N, .v.b = bools};
  cols[4] = (cg_bundle_column){.name = "s", .type = CG_BCOL_STRING, .n = N, .str = names, .valid = valid};
}

static const cg_bundle_column *find(void *ctx, const char *name) {
  for (int i = 0; i < 5; i++)
    if (strcmp(cols[i].name, name) == 0) return &cols[i];
  return NULL;
}

static void evaluate(const cg_filter *f) {
  cg_filter_table t = {N, &names, find, NULL};
  for (int axis = 0; axis < 2; axis++) {
    cg_bitset b;
    cg_err err = {0};
    if (cg_filter_select_table(f, &t, (cg_bundle_axis)axis, &b, &err) == 0) {
      if (cg_bitset_count(&b) > N) abort();
      cg_bitset_dispose(&b);
    } else if (b.w || !err.msg[0]) {
      abort(); /* a failed select leaves no bitset and always explains itself */
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) init_table(), ready = 1;
  cg_filter *f = NULL;
  cg_err err = {0};
  if (cg_filter_parse_query((const char *)data, size, CG_FILTER_AXIS_ANY, &f, &err) == 0) evaluate(f);
  else if (f || !err.msg[0]) abort();
  cg_filter_free(f);
  f = NULL;
  cg_err_clear(&err);
  if (cg_filter_parse_json((const char *)data, size, CG_FILTER_AXIS_ANY, &f, &err) == 0) evaluate(f);
  else if (f || !err.msg[0]) abort();
  cg_filter_free(f);
  return 0;
}
