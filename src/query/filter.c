/* filter.c — the parsed filter's data structure (filter_int.h) and its lifetime. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "query/filter_int.h"

const char *cg__filter_axis_name(int axis) { return axis == CG_BUNDLE_VAR ? "var" : "obs"; }

cg_filter *cg__filter_new(void) { return cg_calloc(1, sizeof(cg_filter)); }

static void term_dispose(cg__fterm *t) {
  for (int i = 0; i < t->nv; i++) cg_free(t->v[i].s);
  cg_free(t->v);
  cg_free(t->name);
}

static void axis_dispose(cg__faxis *a) {
  for (int i = 0; i < a->nt; i++) term_dispose(&a->t[i]);
  cg_free(a->t);
  cg_free(a->idx);
}

void cg_filter_free(cg_filter *f) {
  if (!f) return;
  axis_dispose(&f->ax[0]);
  axis_dispose(&f->ax[1]);
  cg_free(f);
}

int cg_filter_has_axis(const cg_filter *f, cg_bundle_axis axis) {
  return f && (axis == CG_BUNDLE_OBS || axis == CG_BUNDLE_VAR) && f->ax[axis].present;
}

/* Grows *p (of *cap elements of size es) to hold need elements; 0 or CG_ENOMEM. */
static int grow(void **p, size_t *cap, size_t need, size_t es) {
  if (need <= *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 4;
  while (nc < need) nc *= 2;
  if (nc > SIZE_MAX / es) return CG_ENOMEM;
  void *q = cg_realloc(*p, nc * es);
  if (!q) return CG_ENOMEM;
  *p = q;
  *cap = nc;
  return 0;
}

cg__fterm *cg__filter_add_term(cg__faxis *a, const char *name, size_t len) {
  size_t cap = (size_t)a->cap_t;
  if (a->nt == INT32_MAX || grow((void **)&a->t, &cap, (size_t)a->nt + 1, sizeof *a->t)) return NULL;
  a->cap_t = cap > INT32_MAX ? INT32_MAX : (int)cap;
  cg__fterm *t = &a->t[a->nt];
  memset(t, 0, sizeof *t);
  t->name = cg_strndup(name, len);
  if (!t->name) return NULL;
  a->nt++;
  return t;
}

cg__fterm *cg__filter_find_term(cg__faxis *a, const char *name, size_t len) {
  for (int i = 0; i < a->nt; i++)
    if (strlen(a->t[i].name) == len && memcmp(a->t[i].name, name, len) == 0) return &a->t[i];
  return NULL;
}

int cg__fterm_add_value(cg__fterm *t, int kind, const char *s, size_t len, double num) {
  size_t cap = (size_t)t->cap;
  if (t->nv == INT32_MAX || grow((void **)&t->v, &cap, (size_t)t->nv + 1, sizeof *t->v)) return CG_ENOMEM;
  t->cap = cap > INT32_MAX ? INT32_MAX : (int)cap;
  cg__fval *v = &t->v[t->nv];
  memset(v, 0, sizeof *v);
  if (kind != CG__FV_NULL) {
    v->s = cg_strndup(s, len);
    if (!v->s) return CG_ENOMEM;
    v->len = len;
  }
  v->kind = kind;
  v->num = num;
  t->nv++;
  return 0;
}

int cg__faxis_add_index(cg__faxis *a, int64_t lo, int64_t hi) {
  if (grow((void **)&a->idx, &a->cap_idx, a->n_idx + 2, sizeof *a->idx)) return CG_ENOMEM;
  a->idx[a->n_idx++] = lo;
  a->idx[a->n_idx++] = hi;
  a->has_index = 1;
  return 0;
}

int cg__filter_parse_number(const char *s, double *out) {
  char *end;
  while (isspace((unsigned char)*s)) s++;
  if (!*s || strpbrk(s, "xX")) return -1; /* Python's float() has no hex */
  double v = strtod(s, &end);
  while (isspace((unsigned char)*end)) end++;
  if (end == s || *end || isnan(v)) return -1;
  *out = v;
  return 0;
}
