/* labels.c — label sets and their stored form (contract and format in labels.h). */
#include "db/labels.h"

#include <jansson.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

cg_labels *cg_labels_create(int64_t n_obs, int n_cols) {
  cg_labels *l = cg_calloc(1, sizeof *l);
  if (!l) return NULL;
  l->cols = cg_calloc(n_cols > 0 ? (size_t)n_cols : 1, sizeof *l->cols);
  if (!l->cols) return cg_free(l), NULL;
  l->n_obs = n_obs, l->n_cols = n_cols;
  return l;
}

static void col_dispose(cg_labels_col *c) {
  for (int32_t k = 0; c->cats && k < c->n_cats; k++) cg_free(c->cats[k]);
  cg_free(c->cats);
  cg_free(c->codes);
  cg_free(c->name);
  memset(c, 0, sizeof *c);
}

void cg_labels_free(cg_labels *l) {
  if (!l) return;
  for (int i = 0; i < l->n_cols; i++) col_dispose(&l->cols[i]);
  cg_free(l->cols);
  cg_free(l);
}

int cg_labels_find(const cg_labels *l, const char *name) {
  for (int i = 0; l && i < l->n_cols; i++)
    if (l->cols[i].name && strcmp(l->cols[i].name, name) == 0) return i;
  return -1;
}

static int add_cat(cg_labels_col *c, const char *s) {
  if ((c->n_cats & (c->n_cats - 1)) == 0) { /* grow at powers of two */
    char **n = cg_realloc(c->cats, (size_t)(c->n_cats ? 2 * c->n_cats : 1) * sizeof *n);
    if (!n) return CG_ENOMEM;
    c->cats = n;
  }
  if (!(c->cats[c->n_cats] = cg_strdup(s))) return CG_ENOMEM;
  return c->n_cats++;
}

/* Code of label s (added on first sight); map: label -> code. */
static int32_t code_of(cg_labels_col *c, json_t *map, const char *s) {
  json_t *v = json_object_get(map, s);
  if (v) return (int32_t)json_integer_value(v);
  int k = add_cat(c, s);
  if (k < 0 || json_object_set_new(map, s, json_integer(k))) return CG_ENOMEM;
  return k;
}

static int fill_codes(cg_labels_col *c, json_t *a, int64_t n, cg_err *err) {
  json_t *map = json_object();
  int rc = map ? 0 : CG_ENOMEM;
  for (int64_t i = 0; !rc && i < n; i++) {
    json_t *v = json_array_get(a, (size_t)i);
    if (json_is_null(v)) {
      c->codes[i] = -1;
    } else if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
      rc = cg_err_set(err, CG_EINVAL, "label column '%s': row %lld is not a string label", c->name, (long long)i);
    } else {
      int32_t k = code_of(c, map, json_string_value(v));
      if (k < 0) rc = cg_err_set(err, CG_ENOMEM, "labels");
      c->codes[i] = k;
    }
  }
  json_decref(map);
  return rc;
}

int cg_labels_set_json(cg_labels *l, int i, const char *name, const char *json, size_t len, cg_err *err) {
  cg_labels_col *c = &l->cols[i];
  col_dispose(c);
  json_error_t je;
  json_t *a = json_loadb(json, len, JSON_ALLOW_NUL, &je);
  int rc = 0;
  if (!json_is_array(a)) rc = cg_err_set(err, CG_EINVAL, "label column '%s': not a JSON array", name);
  else if ((int64_t)json_array_size(a) != l->n_obs)
    rc = cg_err_set(err, CG_EINVAL, "label column '%s' has %zu rows, the dataset %lld", name, json_array_size(a),
                    (long long)l->n_obs);
  if (!rc && (!(c->name = cg_strdup(name)) || !(c->codes = cg_malloc_array((size_t)l->n_obs + 1, 4))))
    rc = cg_err_set(err, CG_ENOMEM, "labels");
  if (!rc) rc = fill_codes(c, a, l->n_obs, err);
  json_decref(a);
  return rc;
}

/* --- JSON out ------------------------------------------------------------------------------------------------ */

static char **escaped_cats(const cg_labels_col *c) {
  char **e = cg_calloc((size_t)c->n_cats + 1, sizeof *e);
  for (int32_t k = 0; e && k < c->n_cats; k++) {
    json_t *s = json_string(c->cats[k]);
    char *t = s ? json_dumps(s, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    json_decref(s);
    if (!t || !(e[k] = cg_strdup(t))) {
      free(t);
      for (int32_t j = 0; j < k; j++) cg_free(e[j]);
      cg_free(e);
      return NULL;
    }
    free(t);
  }
  return e;
}

int cg_labels_column_json(const cg_labels *l, int i, char **out, size_t *len, cg_err *err) {
  const cg_labels_col *c = &l->cols[i];
  char **e = escaped_cats(c);
  if (!e) return cg_err_set(err, CG_ENOMEM, "labels");
  size_t total = 2;
  for (int64_t r = 0; r < l->n_obs; r++) total += 1 + (c->codes[r] < 0 ? 4 : strlen(e[c->codes[r]]));
  char *s = cg_malloc(total + 1), *p = s;
  if (s) {
    *p++ = '[';
    for (int64_t r = 0; r < l->n_obs; r++) {
      const char *v = c->codes[r] < 0 ? "null" : e[c->codes[r]];
      size_t n = strlen(v);
      if (r) *p++ = ',';
      memcpy(p, v, n), p += n;
    }
    *p++ = ']', *p = 0;
  }
  for (int32_t k = 0; k < c->n_cats; k++) cg_free(e[k]);
  cg_free(e);
  if (!s) return cg_err_set(err, CG_ENOMEM, "labels");
  *out = s, *len = (size_t)(p - s);
  return 0;
}

/* --- stored form --------------------------------------------------------------------------------------------- */

static json_t *header(const cg_labels *l) {
  json_t *cols = json_array();
  for (int i = 0; cols && i < l->n_cols; i++) {
    json_t *cats = json_array();
    for (int32_t k = 0; cats && k < l->cols[i].n_cats; k++) json_array_append_new(cats, json_string(l->cols[i].cats[k]));
    json_array_append_new(cols, json_pack("{s:s,s:o}", "name", l->cols[i].name, "categories", cats));
  }
  return json_pack("{s:I,s:o}", "n_obs", (json_int_t)l->n_obs, "columns", cols);
}

int cg_labels_encode(const cg_labels *l, uint8_t **out, size_t *len, cg_err *err) {
  *out = NULL, *len = 0;
  json_t *h = header(l);
  char *ht = h ? json_dumps(h, JSON_COMPACT) : NULL;
  json_decref(h);
  uint64_t raw = (uint64_t)l->n_cols * (uint64_t)l->n_obs * 4;
  uint8_t *codes = cg_malloc(raw ? raw : 1);
  struct libdeflate_compressor *z = libdeflate_alloc_compressor(6);
  size_t hl = ht ? strlen(ht) : 0, bound = z ? libdeflate_deflate_compress_bound(z, raw) : 0;
  uint8_t *o = ht && codes && z ? cg_malloc(16 + hl + bound) : NULL;
  int rc = o ? 0 : cg_err_set(err, CG_ENOMEM, "labels: encode");
  if (!rc) {
    for (int i = 0; i < l->n_cols; i++) memcpy(codes + (size_t)i * l->n_obs * 4, l->cols[i].codes, l->n_obs * 4);
    uint32_t h32 = (uint32_t)hl;
    memcpy(o, "CGL1", 4), memcpy(o + 4, &h32, 4), memcpy(o + 8, ht, hl), memcpy(o + 8 + hl, &raw, 8);
    size_t zn = libdeflate_deflate_compress(z, codes, raw, o + 16 + hl, bound);
    if (!zn && raw) rc = cg_err_set(err, CG_EIO, "labels: deflate");
    *out = o, *len = 16 + hl + zn;
  }
  if (rc) cg_free(o), *out = NULL, *len = 0;
  libdeflate_free_compressor(z);
  cg_free(codes);
  free(ht);
  return rc;
}

static int decode_header(json_t *h, cg_labels **out, cg_err *err) {
  json_t *cols = json_object_get(h, "columns");
  json_int_t n_obs = json_integer_value(json_object_get(h, "n_obs"));
  if (!json_is_array(cols) || n_obs < 0 || n_obs > INT32_MAX || json_array_size(cols) > 4096)
    return cg_err_set(err, CG_EFORMAT, "labels: bad header");
  cg_labels *l = cg_labels_create(n_obs, (int)json_array_size(cols));
  if (!l) return cg_err_set(err, CG_ENOMEM, "labels");
  *out = l;
  for (int i = 0; i < l->n_cols; i++) {
    json_t *c = json_array_get(cols, (size_t)i), *cats = json_object_get(c, "categories");
    const char *name = json_string_value(json_object_get(c, "name"));
    if (!name || !json_is_array(cats)) return cg_err_set(err, CG_EFORMAT, "labels: bad column %d", i);
    cg_labels_col *lc = &l->cols[i];
    if (!(lc->name = cg_strdup(name)) || !(lc->codes = cg_malloc_array((size_t)n_obs + 1, 4)))
      return cg_err_set(err, CG_ENOMEM, "labels");
    for (size_t k = 0; k < json_array_size(cats); k++) {
      const char *s = json_string_value(json_array_get(cats, k));
      if (!s) return cg_err_set(err, CG_EFORMAT, "labels: bad label");
      if (add_cat(lc, s) < 0) return cg_err_set(err, CG_ENOMEM, "labels");
    }
  }
  return 0;
}

static int check_codes(const cg_labels *l, cg_err *err) {
  for (int i = 0; i < l->n_cols; i++)
    for (int64_t r = 0; r < l->n_obs; r++)
      if (l->cols[i].codes[r] < -1 || l->cols[i].codes[r] >= l->cols[i].n_cats)
        return cg_err_set(err, CG_EFORMAT, "labels: code out of range");
  return 0;
}

int cg_labels_decode(const uint8_t *p, size_t n, cg_labels **out, cg_err *err) {
  *out = NULL;
  uint32_t hl;
  uint64_t raw;
  if (n < 16 || memcmp(p, "CGL1", 4) != 0) return cg_err_set(err, CG_EFORMAT, "labels: not a label set");
  memcpy(&hl, p + 4, 4);
  if (hl > n - 16) return cg_err_set(err, CG_EFORMAT, "labels: truncated");
  memcpy(&raw, p + 8 + hl, 8);
  json_t *h = json_loadb((const char *)p + 8, hl, 0, NULL);
  cg_labels *l = NULL;
  int rc = h ? decode_header(h, &l, err) : cg_err_set(err, CG_EFORMAT, "labels: bad header");
  json_decref(h);
  if (!rc && raw != (uint64_t)l->n_cols * (uint64_t)l->n_obs * 4) rc = cg_err_set(err, CG_EFORMAT, "labels: size");
  uint8_t *codes = rc ? NULL : cg_malloc(raw ? raw : 1);
  if (!rc && !codes) rc = cg_err_set(err, CG_ENOMEM, "labels");
  struct libdeflate_decompressor *d = rc ? NULL : libdeflate_alloc_decompressor();
  if (!rc && !d) rc = cg_err_set(err, CG_ENOMEM, "labels");
  if (!rc && libdeflate_deflate_decompress(d, p + 16 + hl, n - 16 - hl, codes, raw, NULL) != LIBDEFLATE_SUCCESS)
    rc = cg_err_set(err, CG_EFORMAT, "labels: codes do not inflate");
  for (int i = 0; !rc && i < l->n_cols; i++) memcpy(l->cols[i].codes, codes + (size_t)i * l->n_obs * 4, l->n_obs * 4);
  if (!rc) rc = check_codes(l, err);
  libdeflate_free_decompressor(d);
  cg_free(codes);
  if (rc) cg_labels_free(l), l = NULL;
  *out = l;
  return rc;
}
