/* filter_bundle.c — cg_filter_select: a filter evaluated against a bundle's obs or var columns. Kept apart
 * from filter_select.c so that code using only the parser and cg_filter_select_table does not link the
 * bundle reader. */
#include "query/filter.h"

typedef struct bundle_src {
  const cg_bundle *b;
  cg_bundle_axis axis;
} bundle_src;

static const cg_bundle_column *find_column(void *ctx, const char *name) {
  const bundle_src *src = ctx;
  int i = cg_bundle_column_find(src->b, src->axis, name);
  return i < 0 ? NULL : cg_bundle_column_at(src->b, src->axis, i);
}

int cg_filter_select(const cg_filter *f, const cg_bundle *b, cg_bundle_axis axis, cg_bitset *out, cg_err *err) {
  bundle_src src = {b, axis};
  cg_filter_table t = {
      .n = axis == CG_BUNDLE_VAR ? cg_bundle_n_vars(b) : cg_bundle_n_obs(b),
      .index = cg_bundle_index(b, axis),
      .find = find_column,
      .ctx = &src,
  };
  return cg_filter_select_table(f, &t, axis, out, err);
}
