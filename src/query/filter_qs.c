/* filter_qs.c — the query-string form of a filter (grammar and decoding rules in filter.h).
 *
 *   qs     := pair ('&' pair)*                 empty pairs are skipped
 *   pair   := key ['=' value]                  form-decoded once: '+' -> ' ', %XX -> byte
 *   key    := axis ':' name                    exactly one ':' after the first decoding; no ':' = not a filter
 *   value  := part | part ',' part             parts and name are %-decoded a second time ('+' kept)
 *   part   := text | number | '*'              a range needs at least one number
 *
 * Every step works in one scratch copy of the pair (decoding never lengthens text, so it runs in place).
 */
#include <string.h>

#include "base/mem.h"
#include "query/filter_int.h"

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes s[0..n) in place; returns the new length. Invalid escapes stay as they are. */
static size_t pct_decode(char *s, size_t n, int plus_is_space) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (s[i] == '%' && i + 2 < n && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
        (lo = hexval((unsigned char)s[i + 2])) >= 0) {
      s[o++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      s[o++] = (plus_is_space && s[i] == '+') ? ' ' : s[i];
    }
  }
  return o;
}

typedef struct qs_ctx {
  cg_filter *f;
  unsigned allowed;
  int axis;
  const char *name; /* decoded, NUL-terminated */
  size_t name_len;
  cg_err *err;
} qs_ctx;

static int qs_bad(qs_ctx *q, const char *why) {
  return cg_err_set(q->err, CG_EINVAL, "filter %s:%.200s: %s", cg__filter_axis_name(q->axis), q->name, why);
}

/* The term for q->name: the existing one or a new one. */
static int term_for(qs_ctx *q, cg__fterm **t) {
  cg__faxis *a = &q->f->ax[q->axis];
  a->present = 1;
  *t = cg__filter_find_term(a, q->name, q->name_len);
  if (!*t) *t = cg__filter_add_term(a, q->name, q->name_len);
  return *t ? 0 : cg_err_set(q->err, CG_ENOMEM, "filter: out of memory");
}

static int add_value(qs_ctx *q, char *v, size_t len) {
  cg__fterm *t;
  len = pct_decode(v, len, 0);
  if (memchr(v, '\0', len)) return qs_bad(q, "NUL byte in value");
  int rc = term_for(q, &t);
  if (rc) return rc;
  if (t->is_range) return qs_bad(q, "do not mix range and value filters");
  if (cg__fterm_add_value(t, CG__FV_STR, v, len, 0)) return cg_err_set(q->err, CG_ENOMEM, "filter: out of memory");
  return 0;
}

/* One end of a range: '*' (open) or a number. 1 = bound set, 0 = open, <0 error. */
static int range_end(qs_ctx *q, char *s, size_t len, double *out) {
  len = pct_decode(s, len, 0);
  s[len] = '\0';
  if (len == 1 && s[0] == '*') return 0;
  if (memchr(s, '\0', len) || cg__filter_parse_number(s, out)) return qs_bad(q, "malformed number in range");
  return 1;
}

static int qs_add_range(qs_ctx *q, char *v, size_t len, size_t comma) {
  cg__fterm *t;
  double lo = 0, hi = 0;
  int has_lo = range_end(q, v, comma, &lo);
  if (has_lo < 0) return has_lo;
  int has_hi = range_end(q, v + comma + 1, len - comma - 1, &hi);
  if (has_hi < 0) return has_hi;
  if (!has_lo && !has_hi) return qs_bad(q, "a range needs a min or a max");
  int rc = term_for(q, &t);
  if (rc) return rc;
  if (t->nv) return qs_bad(q, "do not mix range and value filters");
  if (t->is_range) return qs_bad(q, "duplicate range");
  t->is_range = 1;
  t->has_min = has_lo;
  t->has_max = has_hi;
  t->min = lo;
  t->max = hi;
  return 0;
}

static int parse_value(qs_ctx *q, char *v, size_t len) {
  char *c1 = memchr(v, ',', len);
  if (!c1) return add_value(q, v, len);
  size_t comma = (size_t)(c1 - v);
  if (memchr(c1 + 1, ',', len - comma - 1)) return qs_bad(q, "badly formatted value (more than one ',')");
  return qs_add_range(q, v, len, comma);
}

/* key (klen) and value (vlen) are once-decoded, NUL-terminated copies. */
static int qs_parse_filter(qs_ctx *q, char *key, size_t klen, char *val, size_t vlen) {
  char *colon = memchr(key, ':', klen);
  if (!colon) return 0; /* not a filter parameter */
  size_t alen = (size_t)(colon - key);
  q->axis = -1;
  if (alen == 3 && memcmp(key, "obs", 3) == 0) q->axis = CG_BUNDLE_OBS;
  if (alen == 3 && memcmp(key, "var", 3) == 0) q->axis = CG_BUNDLE_VAR;
  if (q->axis < 0) return cg_err_set(q->err, CG_EINVAL, "filter %.200s: unknown filter axis", key);
  char *name = colon + 1;
  size_t nlen = klen - alen - 1;
  q->name = name;
  if (memchr(name, ':', nlen)) return qs_bad(q, "more than one ':' in the parameter name");
  nlen = pct_decode(name, nlen, 0);
  name[nlen] = '\0';
  q->name_len = nlen;
  if (strlen(name) != nlen) return qs_bad(q, "NUL byte in name");
  if (!(q->allowed & (1u << q->axis))) return qs_bad(q, "this route does not filter on that axis");
  return parse_value(q, val, vlen);
}

/* Copies and form-decodes the pair p[0..n) into scratch, then parses it. */
static int parse_pair(qs_ctx *q, const char *p, size_t n, char *scratch) {
  const char *eq = memchr(p, '=', n);
  size_t klen = eq ? (size_t)(eq - p) : n, vlen = eq ? n - klen - 1 : 0;
  char *key = scratch, *val = scratch + klen + 1;
  memcpy(key, p, klen);
  if (vlen) memcpy(val, eq + 1, vlen);
  klen = pct_decode(key, klen, 1);
  key[klen] = '\0';
  vlen = pct_decode(val, vlen, 1);
  val[vlen] = '\0';
  return qs_parse_filter(q, key, klen, val, vlen);
}

int cg_filter_parse_query(const char *qs, size_t len, unsigned allowed_axes, cg_filter **out, cg_err *err) {
  qs_ctx q = {.allowed = allowed_axes, .err = err};
  char *scratch = NULL;
  int rc = CG_ENOMEM;
  *out = NULL;
  q.f = cg__filter_new();
  scratch = cg_malloc(len + 2);
  if (!q.f || !scratch) {
    cg_err_set(err, rc, "filter: out of memory");
    goto done;
  }
  rc = 0;
  for (size_t i = 0; i < len && rc == 0;) {
    const char *amp = memchr(qs + i, '&', len - i);
    size_t end = amp ? (size_t)(amp - qs) : len;
    if (end > i) rc = parse_pair(&q, qs + i, end - i, scratch);
    i = end + 1;
  }
  if (rc == 0) {
    *out = q.f;
    q.f = NULL;
  }
done:
  cg_free(scratch);
  cg_filter_free(q.f);
  return rc;
}
