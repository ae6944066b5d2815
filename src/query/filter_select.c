/* filter_select.c — evaluates a parsed filter against the columns of one axis (semantics in filter.h).
 *
 * The result starts as "every row" and each part of the filter is ANDed into it in one pass over its column,
 * 64 rows at a time (AND_PASS): a word already 0 is skipped, otherwise the 64 predicate bits are assembled
 * and ANDed. Per column type the predicate is a table lookup or a comparison:
 *   categorical  lut[code + 1] (slot 0 = missing), built from a hash set of the values over the categories;
 *   bool         want[missing | false | true];
 *   strings      hash-set membership of the row's string (name_0 and string columns);
 *   numbers      sorted values + binary search, or lo <= x <= hi (NaN and missing never in a range).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "query/filter_int.h"

#define AND_PASS(out, n, PRED)                                                                                 \
  do {                                                                                                         \
    int64_t nw_ = cg_bitset_words(out);                                                                        \
    for (int64_t w_ = 0; w_ < nw_; w_++) {                                                                     \
      if (!(out)->w[w_]) continue;                                                                             \
      int64_t b_ = w_ << 6, e_ = b_ + 64 < (n) ? b_ + 64 : (n);                                                \
      uint64_t m_ = 0;                                                                                         \
      for (int64_t i = b_; i < e_; i++) m_ |= (uint64_t)(PRED) << (i - b_);                                    \
      (out)->w[w_] &= m_;                                                                                      \
    }                                                                                                          \
  } while (0)

typedef struct sel_ctx {
  const cg__fterm *t;
  int axis;
  int64_t n;
  cg_err *err;
} sel_ctx;

static int bad(const sel_ctx *s, const char *why) {
  return cg_err_set(s->err, CG_EINVAL, "filter %s:%.200s: %s", cg__filter_axis_name(s->axis), s->t->name, why);
}

static int nomem(const sel_ctx *s) { return cg_err_set(s->err, CG_ENOMEM, "filter: out of memory"); }

/* --- a hash set of value strings ------------------------------------------------------------------------ */

typedef struct strset {
  const cg__fval **slot;
  size_t mask;
  int has_null;
} strset;

static uint64_t fnv1a(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static int strset_build(strset *set, const cg__fterm *t) {
  size_t cap = 8;
  while (cap < 2 * (size_t)t->nv) cap *= 2;
  memset(set, 0, sizeof *set);
  set->slot = cg_calloc(cap, sizeof *set->slot);
  if (!set->slot) return CG_ENOMEM;
  set->mask = cap - 1;
  for (int i = 0; i < t->nv; i++) {
    const cg__fval *v = &t->v[i];
    if (v->kind == CG__FV_NULL) {
      set->has_null = 1;
      continue;
    }
    size_t k = (size_t)fnv1a(v->s, v->len) & set->mask;
    while (set->slot[k]) k = (k + 1) & set->mask;
    set->slot[k] = v;
  }
  return 0;
}

static int strset_has(const strset *set, const char *s, size_t n) {
  for (size_t k = (size_t)fnv1a(s, n) & set->mask; set->slot[k]; k = (k + 1) & set->mask)
    if (set->slot[k]->len == n && memcmp(set->slot[k]->s, s, n) == 0) return 1;
  return 0;
}

static void strset_dispose(strset *set) { cg_free(set->slot); }

/* --- per column type ------------------------------------------------------------------------------------- */

static int match_strings(const sel_ctx *s, const cg_bundle_strings *str, const uint8_t *valid, cg_bitset *out) {
  strset set;
  if (strset_build(&set, s->t)) return nomem(s);
  const uint64_t *off = str->offsets;
  const char *blob = str->blob;
  int miss = set.has_null;
  if (valid)
    AND_PASS(out, s->n, valid[i] ? strset_has(&set, blob + off[i], off[i + 1] - off[i] - 1) : miss);
  else
    AND_PASS(out, s->n, strset_has(&set, blob + off[i], off[i + 1] - off[i] - 1));
  strset_dispose(&set);
  return 0;
}

static int match_categorical(const sel_ctx *s, const cg_bundle_column *c, cg_bitset *out) {
  int64_t nc = c->categories.count;
  strset set;
  uint8_t *lut = cg_calloc((size_t)nc + 1, 1);
  if (!lut || strset_build(&set, s->t)) return cg_free(lut), nomem(s);
  lut[0] = (uint8_t)set.has_null;
  for (int64_t k = 0; k < nc; k++) {
    size_t len = 0;
    const char *cat = cg_bundle_str(&c->categories, k, &len);
    lut[k + 1] = (uint8_t)(cat && strset_has(&set, cat, len));
  }
  const int32_t *codes = c->v.codes;
  const uint8_t *valid = c->valid;
  uint64_t lim = (uint64_t)nc;
#define CAT(code) ((uint64_t)((int64_t)(code) + 1) <= lim ? lut[(code) + 1] : 0)
  if (valid) AND_PASS(out, s->n, valid[i] ? CAT(codes[i]) : lut[0]);
  else AND_PASS(out, s->n, CAT(codes[i]));
#undef CAT
  strset_dispose(&set);
  cg_free(lut);
  return 0;
}

static int bool_value(const cg__fval *v) {
  if (v->kind == CG__FV_NULL) return 0;
  if (v->kind == CG__FV_BOOL) return 1 + (v->num != 0);
  if (v->kind == CG__FV_STR && (!strcmp(v->s, "True") || !strcmp(v->s, "true"))) return 2;
  if (v->kind == CG__FV_STR && (!strcmp(v->s, "False") || !strcmp(v->s, "false"))) return 1;
  return -1;
}

static int match_bool(const sel_ctx *s, const cg_bundle_column *c, cg_bitset *out) {
  uint8_t want[3] = {0, 0, 0}; /* missing, false, true */
  for (int k = 0; k < s->t->nv; k++) {
    int slot = bool_value(&s->t->v[k]);
    if (slot < 0) return bad(s, "boolean values are True or False");
    want[slot] = 1;
  }
  const uint8_t *b = c->v.b, *valid = c->valid;
  if (valid) AND_PASS(out, s->n, valid[i] ? want[1 + (b[i] != 0)] : want[0]);
  else AND_PASS(out, s->n, want[1 + (b[i] != 0)]);
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static inline int in_sorted(const double *v, int n, double x) {
  int lo = 0, hi = n;
  while (lo < hi) {
    int mid = (lo + hi) >> 1;
    if (v[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && v[lo] == x;
}

/* The numeric values of the term, sorted; *miss = whether null (missing) was asked for. */
static int numeric_values(const sel_ctx *s, double **vals, int *nv, int *miss) {
  double *v = cg_malloc_array((size_t)s->t->nv + 1, sizeof *v);
  if (!v) return nomem(s);
  int n = 0;
  *miss = 0;
  for (int k = 0; k < s->t->nv; k++) {
    const cg__fval *f = &s->t->v[k];
    if (f->kind == CG__FV_NULL) *miss = 1;
    else if (f->kind == CG__FV_NUM) v[n++] = f->num;
    else if (f->kind != CG__FV_STR || cg__filter_parse_number(f->s, &v[n++]))
      return cg_free(v), bad(s, "malformed number");
  }
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  *vals = v;
  *nv = n;
  return 0;
}

static int match_numbers(const sel_ctx *s, const cg_bundle_column *c, cg_bitset *out) {
  double *v = NULL;
  int nv = 0, miss = 0;
  int rc = numeric_values(s, &v, &nv, &miss);
  if (rc) return rc;
  const uint8_t *valid = c->valid;
  if (c->type == CG_BCOL_F32) {
    const float *x = c->v.f32;
    AND_PASS(out, s->n, (valid && !valid[i]) || isnan(x[i]) ? miss : in_sorted(v, nv, (double)x[i]));
  } else {
    const int32_t *x = c->v.i32;
    AND_PASS(out, s->n, (valid && !valid[i]) ? miss : in_sorted(v, nv, (double)x[i]));
  }
  cg_free(v);
  return 0;
}

static int match_range(const sel_ctx *s, const cg_bundle_column *c, cg_bitset *out) {
  const cg__fterm *t = s->t;
  if (!t->has_min && !t->has_max) return 0; /* no constraint (upstream: neither bound given) */
  double lo = t->has_min ? t->min : -INFINITY, hi = t->has_max ? t->max : INFINITY;
  const uint8_t *valid = c->valid;
  if (c->type == CG_BCOL_F32) {
    const float *x = c->v.f32;
    if (valid) AND_PASS(out, s->n, valid[i] && (double)x[i] >= lo && (double)x[i] <= hi);
    else AND_PASS(out, s->n, (double)x[i] >= lo && (double)x[i] <= hi);
  } else {
    const int32_t *x = c->v.i32;
    if (valid) AND_PASS(out, s->n, valid[i] && (double)x[i] >= lo && (double)x[i] <= hi);
    else AND_PASS(out, s->n, (double)x[i] >= lo && (double)x[i] <= hi);
  }
  return 0;
}

static int apply_column(const sel_ctx *s, const cg_bundle_column *c, cg_bitset *out) {
  int numeric = c->type == CG_BCOL_F32 || c->type == CG_BCOL_I32;
  if (s->t->is_range && !numeric) return bad(s, "a min,max range needs a numeric column");
  switch (c->type) {
  case CG_BCOL_CATEGORICAL: return match_categorical(s, c, out);
  case CG_BCOL_BOOL: return match_bool(s, c, out);
  case CG_BCOL_STRING: return match_strings(s, &c->str, c->valid, out);
  case CG_BCOL_F32:
  case CG_BCOL_I32: return s->t->is_range ? match_range(s, c, out) : match_numbers(s, c, out);
  }
  return bad(s, "unsupported column type");
}

static int apply_term(const sel_ctx *s, const cg_filter_table *tb, cg_bitset *out) {
  if (tb->index && strcmp(s->t->name, CG_FILTER_INDEX_NAME) == 0) {
    if (s->t->is_range) return bad(s, "a min,max range needs a numeric column");
    return match_strings(s, tb->index, NULL, out);
  }
  const cg_bundle_column *c = tb->find ? tb->find(tb->ctx, s->t->name) : NULL;
  if (!c) return bad(s, "unknown column");
  if (c->n != s->n) return bad(s, "column length differs from the axis");
  return apply_column(s, c, out);
}

/* --- the index list -------------------------------------------------------------------------------------- */

static int apply_index(const cg__faxis *a, int axis, int64_t n, cg_bitset *out, cg_err *err) {
  cg_bitset sel;
  if (cg_bitset_init(&sel, n)) return cg_err_set(err, CG_ENOMEM, "filter: out of memory");
  for (size_t k = 0; k < a->n_idx; k += 2) {
    int64_t lo = a->idx[k], hi = a->idx[k + 1];
    if (hi == -1) {
      if (lo >= n) {
        cg_bitset_dispose(&sel);
        return cg_err_set(err, CG_EINVAL, "filter %s index: row %lld out of range (%lld rows)",
                          cg__filter_axis_name(axis), (long long)lo, (long long)n);
      }
      cg_bitset_set(&sel, lo);
    } else {
      cg_bitset_set_range(&sel, lo < n ? lo : n, hi < n ? hi : n);
    }
  }
  cg_bitset_and(out, &sel);
  cg_bitset_dispose(&sel);
  return 0;
}

int cg_filter_select_table(const cg_filter *f, const cg_filter_table *t, cg_bundle_axis axis, cg_bitset *out,
                           cg_err *err) {
  memset(out, 0, sizeof *out);
  if ((axis != CG_BUNDLE_OBS && axis != CG_BUNDLE_VAR) || t->n < 0)
    return cg_err_set(err, CG_EINVAL, "filter: bad axis or row count");
  if (cg_bitset_init(out, t->n)) return cg_err_set(err, CG_ENOMEM, "filter: out of memory");
  cg_bitset_fill(out, 1);
  if (!f || !f->ax[axis].present) return 0;
  const cg__faxis *a = &f->ax[axis];
  int rc = a->has_index ? apply_index(a, axis, t->n, out, err) : 0;
  for (int k = 0; k < a->nt && rc == 0; k++) {
    sel_ctx s = {.t = &a->t[k], .axis = axis, .n = t->n, .err = err};
    rc = apply_term(&s, t, out);
  }
  if (rc) cg_bitset_dispose(out);
  return rc;
}
