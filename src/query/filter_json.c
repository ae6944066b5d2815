/* filter_json.c — the JSON form of a filter (shape in filter.h):
 *
 *   {"filter": {"obs"|"var": {"index": [i | [start, end], ...],
 *                             "annotation_value": [{"name": n, "values": [v, ...]} |
 *                                                  {"name": n, "min": a|null, "max": b|null}, ...]}}}
 *
 * Values keep their JSON type (CG__FV_STR / NUM / BOOL / NULL) and a text form for matching strings and
 * categories: numbers are written the way Python's str() writes them (categories of numbers are stored as
 * that text), booleans as "True"/"False".
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "query/filter_int.h"

typedef struct js_ctx {
  cg_filter *f;
  int axis;
  cg_err *err;
} js_ctx;

static int js_nomem(js_ctx *j) { return cg_err_set(j->err, CG_ENOMEM, "filter: out of memory"); }

/* Python's repr() of a finite double: shortest round-trip digits, positional for 1e-4 <= |v| < 1e16. */
static void py_float_text(double v, char *buf, size_t n) {
  char tmp[48];
  int p;
  for (p = 1; p < 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
    if (strtod(tmp, NULL) == v) break;
  }
  snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
  int e = atoi(strchr(tmp, 'e') + 1);
  if (e >= -4 && e < 16) {
    int dec = p - 1 - e;
    snprintf(buf, n, "%.*f", dec < 1 ? 1 : dec, v);
  } else {
    snprintf(buf, n, "%.*g", p, v);
  }
}

static int add_json_value(js_ctx *j, cg__fterm *t, const json_t *v) {
  char num[64];
  int rc;
  if (json_is_string(v)) {
    rc = cg__fterm_add_value(t, CG__FV_STR, json_string_value(v), json_string_length(v), 0);
  } else if (json_is_integer(v)) {
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
    rc = cg__fterm_add_value(t, CG__FV_NUM, num, strlen(num), (double)json_integer_value(v));
  } else if (json_is_real(v)) {
    py_float_text(json_real_value(v), num, sizeof num);
    rc = cg__fterm_add_value(t, CG__FV_NUM, num, strlen(num), json_real_value(v));
  } else if (json_is_boolean(v)) {
    rc = cg__fterm_add_value(t, CG__FV_BOOL, json_is_true(v) ? "True" : "False", json_is_true(v) ? 4 : 5,
                             json_is_true(v));
  } else if (json_is_null(v)) {
    rc = cg__fterm_add_value(t, CG__FV_NULL, NULL, 0, 0);
  } else {
    return cg_err_set(j->err, CG_EINVAL, "filter %s:%.200s: values must be strings, numbers, booleans or null",
                      cg__filter_axis_name(j->axis), t->name);
  }
  return rc ? js_nomem(j) : 0;
}

static int add_values(js_ctx *j, cg__fterm *t, const json_t *values) {
  if (!json_is_array(values))
    return cg_err_set(j->err, CG_EINVAL, "filter %s:%.200s: \"values\" must be an array",
                      cg__filter_axis_name(j->axis), t->name);
  size_t i;
  const json_t *v;
  json_array_foreach(values, i, v) {
    int rc = add_json_value(j, t, v);
    if (rc) return rc;
  }
  return 0;
}

/* One end of a range: absent or null = open (0), a number = set (1), else an error. */
static int bound(js_ctx *j, cg__fterm *t, const json_t *v, const char *which, double *out) {
  if (!v || json_is_null(v)) return 0;
  if (!json_is_number(v))
    return cg_err_set(j->err, CG_EINVAL, "filter %s:%.200s: \"%s\" must be a number or null",
                      cg__filter_axis_name(j->axis), t->name, which);
  *out = json_number_value(v);
  return 1;
}

static int js_add_range(js_ctx *j, cg__fterm *t, const json_t *entry) {
  t->is_range = 1;
  t->has_min = bound(j, t, json_object_get(entry, "min"), "min", &t->min);
  if (t->has_min < 0) return t->has_min;
  t->has_max = bound(j, t, json_object_get(entry, "max"), "max", &t->max);
  return t->has_max < 0 ? t->has_max : 0;
}

static int has_bound(const json_t *entry, const char *key) {
  const json_t *v = json_object_get(entry, key);
  return v && !json_is_null(v);
}

static int parse_entry(js_ctx *j, const json_t *entry) {
  const char *ax = cg__filter_axis_name(j->axis);
  const json_t *name = json_object_get(entry, "name");
  if (!json_is_object(entry) || !json_is_string(name))
    return cg_err_set(j->err, CG_EINVAL, "filter %s: annotation_value entries need a \"name\" string", ax);
  cg__fterm *t = cg__filter_add_term(&j->f->ax[j->axis], json_string_value(name), json_string_length(name));
  if (!t) return js_nomem(j);
  if (strlen(t->name) != json_string_length(name))
    return cg_err_set(j->err, CG_EINVAL, "filter %s: NUL byte in a name", ax);
  const json_t *values = json_object_get(entry, "values");
  int ranged = has_bound(entry, "min") || has_bound(entry, "max");
  if (values && !json_is_null(values)) {
    if (ranged)
      return cg_err_set(j->err, CG_EINVAL, "filter %s:%.200s: do not mix range and value filters", ax, t->name);
    return add_values(j, t, values);
  }
  return js_add_range(j, t, entry);
}

static int parse_annotations(js_ctx *j, const json_t *list) {
  if (!json_is_array(list))
    return cg_err_set(j->err, CG_EINVAL, "filter %s: \"annotation_value\" must be an array",
                      cg__filter_axis_name(j->axis));
  size_t i;
  const json_t *e;
  json_array_foreach(list, i, e) {
    int rc = parse_entry(j, e);
    if (rc) return rc;
  }
  return 0;
}

/* An index entry: a row number i (the range [i, i+1)) or a pair [start, end). */
static int index_entry(js_ctx *j, const json_t *e, int64_t *lo, int64_t *hi) {
  if (json_is_integer(e)) {
    *lo = json_integer_value(e);
    *hi = -1; /* a single row */
  } else if (json_is_array(e) && json_array_size(e) == 2 && json_is_integer(json_array_get(e, 0)) &&
             json_is_integer(json_array_get(e, 1))) {
    *lo = json_integer_value(json_array_get(e, 0));
    *hi = json_integer_value(json_array_get(e, 1));
  } else {
    return cg_err_set(j->err, CG_EINVAL, "filter %s: index entries must be row numbers or [start, end] pairs",
                      cg__filter_axis_name(j->axis));
  }
  if (*lo < 0 || *hi < -1 || (*hi == -1 && json_is_array(e)))
    return cg_err_set(j->err, CG_EINVAL, "filter %s: negative index", cg__filter_axis_name(j->axis));
  return 0;
}

static int parse_index(js_ctx *j, const json_t *list) {
  if (!json_is_array(list))
    return cg_err_set(j->err, CG_EINVAL, "filter %s: \"index\" must be an array", cg__filter_axis_name(j->axis));
  cg__faxis *a = &j->f->ax[j->axis];
  a->has_index = 1;
  size_t i;
  const json_t *e;
  json_array_foreach(list, i, e) {
    int64_t lo = 0, hi = 0;
    int rc = index_entry(j, e, &lo, &hi);
    if (rc) return rc;
    if (cg__faxis_add_index(a, lo, hi)) return js_nomem(j);
  }
  return 0;
}

static int parse_axis(js_ctx *j, const json_t *ax) {
  const char *name = cg__filter_axis_name(j->axis);
  if (!json_is_object(ax)) return cg_err_set(j->err, CG_EINVAL, "filter %s: must be an object", name);
  j->f->ax[j->axis].present = 1;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)ax, key, v) {
    int rc;
    if (strcmp(key, "index") == 0) rc = parse_index(j, v);
    else if (strcmp(key, "annotation_value") == 0) rc = parse_annotations(j, v);
    else rc = cg_err_set(j->err, CG_EINVAL, "filter %s: unknown member \"%.200s\"", name, key);
    if (rc) return rc;
  }
  return 0;
}

static int js_parse_filter(js_ctx *j, const json_t *filter, unsigned allowed) {
  if (!filter || json_is_null(filter)) return 0;
  if (!json_is_object(filter)) return cg_err_set(j->err, CG_EINVAL, "filter: must be a JSON object");
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)filter, key, v) {
    j->axis = strcmp(key, "obs") == 0 ? CG_BUNDLE_OBS : strcmp(key, "var") == 0 ? CG_BUNDLE_VAR : -1;
    if (j->axis < 0) return cg_err_set(j->err, CG_EINVAL, "filter: unknown filter axis \"%.200s\"", key);
    if (!(allowed & (1u << j->axis)))
      return cg_err_set(j->err, CG_EINVAL, "filter %s: this route does not filter on that axis", key);
    int rc = parse_axis(j, v);
    if (rc) return rc;
  }
  return 0;
}

int cg_filter_from_json(const json_t *filter, unsigned allowed_axes, cg_filter **out, cg_err *err) {
  js_ctx j = {.err = err};
  *out = NULL;
  j.f = cg__filter_new();
  if (!j.f) return js_nomem(&j);
  int rc = js_parse_filter(&j, filter, allowed_axes);
  if (rc) {
    cg_filter_free(j.f);
    return rc;
  }
  *out = j.f;
  return 0;
}

int cg_filter_parse_json(const char *body, size_t len, unsigned allowed_axes, cg_filter **out, cg_err *err) {
  json_error_t je;
  *out = NULL;
  json_t *root = json_loadb(body ? body : "", body ? len : 0, 0, &je);
  int rc;
  if (!root) {
    rc = cg_err_set(err, CG_EINVAL, "filter: malformed JSON (line %d, column %d): %s", je.line, je.column, je.text);
  } else if (!json_is_object(root) || !json_object_get(root, "filter")) {
    rc = cg_err_set(err, CG_EINVAL, "filter: the request body must be a JSON object with a \"filter\" member");
  } else {
    rc = cg_filter_from_json(json_object_get(root, "filter"), allowed_axes, out, err);
  }
  json_decref(root);
  return rc;
}
