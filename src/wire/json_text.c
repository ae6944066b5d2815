/* json_text.c — JSON arrays and dictionaries for NetEncoding columns (contract in json_text.h). Each builder
 * measures first (escaped lengths), allocates once, then writes; the writer never reallocates. */
#include "wire/json_text.h"

#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "wire/fbs.h"

/* Escaped length of s[0..n) without the quotes. */
static size_t esc_len(const char *s, size_t n) {
  size_t k = n;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\' || c == '\n' || c == '\t' || c == '\r' || c == '\b' || c == '\f') k += 1;
    else if (c < 0x20) k += 5; /* \u00XX */
  }
  return k;
}

/* Writes "s" (quoted, escaped) at o; returns the end. */
static char *put_str(char *o, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  *o++ = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\t' ? "\\t"
                  : c == '\r' ? "\\r" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
    if (e) {
      memcpy(o, e, 2);
      o += 2;
    } else if (c < 0x20) {
      memcpy(o, "\\u00", 4);
      o[4] = hex[c >> 4];
      o[5] = hex[c & 15];
      o += 6;
    } else {
      *o++ = (char)c;
    }
  }
  *o++ = '"';
  return o;
}

static char *put_null(char *o) { return (char *)memcpy(o, "null", 4) + 4; }

static int alloc_out(uint64_t total, char **out, cg_err *err) {
  if (total > CG_FBS_MAX_SIZE) return cg_err_set(err, CG_ERANGE, "json: text beyond the 2 GiB wire limit");
  *out = cg_malloc((size_t)total);
  return *out ? 0 : cg_err_set(err, CG_ENOMEM, "json: %llu-byte text", (unsigned long long)total);
}

static size_t str_len(const cg_bundle_strings *s, int64_t i) { return (size_t)(s->offsets[i + 1] - s->offsets[i] - 1); }
static const char *str_at(const cg_bundle_strings *s, int64_t i) { return s->blob + s->offsets[i]; }

int cg_json_strings(const cg_bundle_strings *s, const uint8_t *valid, char **out, size_t *len, cg_err *err) {
  uint64_t total = 2 + (s->count ? (uint64_t)s->count - 1 : 0); /* brackets, commas */
  *out = NULL;
  *len = 0;
  for (int64_t i = 0; i < s->count; i++)
    total += (valid && !valid[i]) ? 4 : 2 + esc_len(str_at(s, i), str_len(s, i));
  int rc = alloc_out(total, out, err);
  if (rc) return rc;
  char *o = *out;
  *o++ = '[';
  for (int64_t i = 0; i < s->count; i++) {
    if (i) *o++ = ',';
    if (valid && !valid[i]) o = put_null(o);
    else o = put_str(o, str_at(s, i), str_len(s, i));
  }
  *o++ = ']';
  *len = (size_t)(o - *out);
  return 0;
}

/* Escaped, quoted length of every category (so rows cost O(1) each to measure). */
static int cat_lengths(const cg_bundle_strings *cats, uint64_t **lens, cg_err *err) {
  *lens = cg_malloc_array((size_t)cats->count + 1, sizeof **lens);
  if (!*lens) return cg_err_set(err, CG_ENOMEM, "json: category lengths");
  for (int64_t k = 0; k < cats->count; k++) (*lens)[k] = 2 + esc_len(str_at(cats, k), str_len(cats, k));
  return 0;
}

static int is_missing(const int32_t *codes, const uint8_t *valid, int64_t i, int64_t nc) {
  return (valid && !valid[i]) || codes[i] < 0 || codes[i] >= nc;
}

int cg_json_codes(const int32_t *codes, const uint8_t *valid, int64_t n, const cg_bundle_strings *cats,
                  char **out, size_t *len, cg_err *err) {
  uint64_t *lens = NULL, total = 2 + (n ? (uint64_t)n - 1 : 0);
  *out = NULL;
  *len = 0;
  int rc = cat_lengths(cats, &lens, err);
  if (rc) return rc;
  for (int64_t i = 0; i < n; i++) total += is_missing(codes, valid, i, cats->count) ? 4 : lens[codes[i]];
  cg_free(lens);
  rc = alloc_out(total, out, err);
  if (rc) return rc;
  char *o = *out;
  *o++ = '[';
  for (int64_t i = 0; i < n; i++) {
    if (i) *o++ = ',';
    if (is_missing(codes, valid, i, cats->count)) o = put_null(o);
    else o = put_str(o, str_at(cats, codes[i]), str_len(cats, codes[i]));
  }
  *o++ = ']';
  *len = (size_t)(o - *out);
  return 0;
}

int cg_json_dict(const cg_bundle_strings *cats, char **out, size_t *len, cg_err *err) {
  uint64_t total = 2;
  char key[32];
  *out = NULL;
  *len = 0;
  for (int64_t k = 0; k < cats->count; k++)
    total += (uint64_t)snprintf(key, sizeof key, "\"%lld\":", (long long)k) + 2 + esc_len(str_at(cats, k), str_len(cats, k)) +
             (k > 0);
  int rc = alloc_out(total, out, err);
  if (rc) return rc;
  char *o = *out;
  *o++ = '{';
  for (int64_t k = 0; k < cats->count; k++) {
    if (k) *o++ = ',';
    int kl = snprintf(key, sizeof key, "\"%lld\":", (long long)k);
    memcpy(o, key, (size_t)kl);
    o = put_str(o + kl, str_at(cats, k), str_len(cats, k));
  }
  *o++ = '}';
  *len = (size_t)(o - *out);
  return 0;
}

int cg_json_names(const char *const *names, int64_t n, char **out, size_t *len, cg_err *err) {
  uint64_t total = 2 + (n ? (uint64_t)n - 1 : 0);
  *out = NULL;
  *len = 0;
  for (int64_t i = 0; i < n; i++) total += 2 + esc_len(names[i], strlen(names[i]));
  int rc = alloc_out(total, out, err);
  if (rc) return rc;
  char *o = *out;
  *o++ = '[';
  for (int64_t i = 0; i < n; i++) {
    if (i) *o++ = ',';
    o = put_str(o, names[i], strlen(names[i]));
  }
  *o++ = ']';
  *len = (size_t)(o - *out);
  return 0;
}
