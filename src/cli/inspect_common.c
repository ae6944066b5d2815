/* inspect_common.c — digests shared by inspect_h5ad.c and inspect_bundle.c. */
#include <math.h>
#include <stdio.h>

#include "cli/inspect.h"

/* FNV-1a 64 (Fowler/Noll/Vo): offset basis 0xcbf29ce484222325, prime 0x100000001b3. */
void cg_fnv_init(cg_fnv *f) { f->h = 0xcbf29ce484222325ull; }

void cg_fnv_add(cg_fnv *f, const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  do {
    f->h ^= *p;
    f->h *= 0x100000001b3ull;
  } while (*p++);
}

json_t *cg_fnv_json(const cg_fnv *f) {
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)f->h);
  return json_string(hex);
}

void cg_numstats_init(cg_numstats *s) {
  s->sum = 0;
  s->min = INFINITY;
  s->max = -INFINITY;
  s->n = s->n_nan = 0;
}

void cg_numstats_add(cg_numstats *s, double v) {
  if (isnan(v)) {
    s->n_nan++;
    return;
  }
  s->n++;
  s->sum += v;
  if (v < s->min) s->min = v;
  if (v > s->max) s->max = v;
}

json_t *cg_json_real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

void cg_numstats_to_json(const cg_numstats *s, json_t *col) {
  json_object_set_new(col, "sum", json_real(s->sum));
  json_object_set_new(col, "min", s->n ? json_real(s->min) : json_null());
  json_object_set_new(col, "max", s->n ? json_real(s->max) : json_null());
  json_object_set_new(col, "n_nan", json_integer(s->n_nan));
}
