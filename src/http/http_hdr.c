/* http_hdr.c — header and query-string parsers (contract in http_hdr.h). Every loop advances by at least one
 * byte and stops at len, so no input can make them read past the buffer or loop forever. */
#include "http/http_hdr.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* One element of a comma list: [s, e) with leading/trailing blanks trimmed. */
typedef struct span {
  const char *s, *e;
} span;

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static span trim(const char *s, const char *e) {
  while (s < e && is_blank(*s)) s++;
  while (e > s && is_blank(e[-1])) e--;
  return (span){s, e};
}

/* Next comma-separated element of [*p, end); 0 at the end. */
static int next_elem(const char **p, const char *end, span *out) {
  while (*p < end && (**p == ',' || is_blank(**p))) (*p)++;
  if (*p >= end) return 0;
  const char *s = *p;
  while (*p < end && **p != ',') (*p)++;
  *out = trim(s, *p);
  return 1;
}

static int span_ieq(span a, const char *lit) {
  size_t n = strlen(lit);
  if ((size_t)(a.e - a.s) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)a.s[i]) != tolower((unsigned char)lit[i])) return 0;
  return 1;
}

/* Splits "token;p=v;q=0.5" into the token and its q value (1 when absent or malformed). */
static span token_q(span el, double *q) {
  const char *semi = memchr(el.s, ';', (size_t)(el.e - el.s));
  span tok = trim(el.s, semi ? semi : el.e);
  *q = 1.0;
  while (semi && semi < el.e) {
    const char *ps = semi + 1;
    semi = memchr(ps, ';', (size_t)(el.e - ps));
    span prm = trim(ps, semi ? semi : el.e);
    if (prm.e - prm.s >= 2 && (prm.s[0] == 'q' || prm.s[0] == 'Q') && prm.s[1] == '=') {
      char buf[16] = {0};
      size_t n = (size_t)(prm.e - prm.s - 2);
      memcpy(buf, prm.s + 2, n < sizeof buf - 1 ? n : sizeof buf - 1);
      char *endp;
      double v = strtod(buf, &endp);
      if (endp != buf && v >= 0 && v <= 1) *q = v;
    }
  }
  return tok;
}

static int range_admits(span r, const char *type) {
  if (span_ieq(r, "*/*")) return 1;
  if (span_ieq(r, type)) return 1;
  const char *slash = strchr(type, '/');
  size_t tl = (size_t)(slash - type);
  if ((size_t)(r.e - r.s) == tl + 2 && r.s[tl] == '/' && r.s[tl + 1] == '*') {
    span major = {r.s, r.s + tl};
    char buf[64];
    if (tl >= sizeof buf) return 0;
    memcpy(buf, type, tl);
    buf[tl] = 0;
    return span_ieq(major, buf);
  }
  return 0;
}

int cg_http_accepts(const char *accept, size_t len, const char *type) {
  if (!accept) return 1;
  const char *p = accept, *end = accept + len;
  span el;
  int any = 0;
  while (next_elem(&p, end, &el)) {
    double q;
    span r = token_q(el, &q);
    if (r.s == r.e) continue;
    any = 1;
    if (q > 0 && range_admits(r, type)) return 1;
  }
  return !any;
}

cg_http_enc cg_http_pick_encoding(const char *ae, size_t len) {
  if (!ae) return CG_HTTP_ENC_IDENTITY;
  const char *p = ae, *end = ae + len;
  span el;
  double zstd = 0, gzip = -1, star = -1;
  while (next_elem(&p, end, &el)) {
    double q;
    span t = token_q(el, &q);
    if (span_ieq(t, "zstd")) zstd = q;
    else if (span_ieq(t, "gzip") || span_ieq(t, "x-gzip")) gzip = q;
    else if (span_ieq(t, "*")) star = q;
  }
  if (zstd > 0) return CG_HTTP_ENC_ZSTD;
  if (gzip > 0 || (gzip < 0 && star > 0)) return CG_HTTP_ENC_GZIP;
  return CG_HTTP_ENC_IDENTITY;
}

const char *cg_http_enc_name(cg_http_enc e) {
  return e == CG_HTTP_ENC_GZIP ? "gzip" : e == CG_HTTP_ENC_ZSTD ? "zstd" : NULL;
}

const char *cg_http_enc_suffix(cg_http_enc e) {
  return e == CG_HTTP_ENC_GZIP ? "gz" : e == CG_HTTP_ENC_ZSTD ? "zst" : "";
}

static int tag_matches(span t, const char *base) {
  if (t.e - t.s >= 2 && t.s[0] == 'W' && t.s[1] == '/') t.s += 2;
  if (t.e - t.s < 2 || t.s[0] != '"' || t.e[-1] != '"') return 0;
  t.s++, t.e--;
  size_t n = strlen(base), tl = (size_t)(t.e - t.s);
  if (tl < n || memcmp(t.s, base, n) != 0) return 0;
  return tl == n || t.s[n] == '-';
}

int cg_http_etag_match(const char *inm, size_t len, const char *base) {
  if (!inm || !base || !*base) return 0;
  const char *p = inm, *end = inm + len;
  span el;
  while (next_elem(&p, end, &el)) {
    if (el.e - el.s == 1 && el.s[0] == '*') return 1;
    if (tag_matches(el, base)) return 1;
  }
  return 0;
}

int cg_http_form_next(const char *qs, size_t len, size_t *pos, cg_http_pair *out) {
  while (*pos < len) {
    const char *s = qs + *pos;
    const char *amp = memchr(s, '&', len - *pos);
    size_t n = amp ? (size_t)(amp - s) : len - *pos;
    *pos += n + (amp ? 1 : 0);
    if (n == 0) continue;
    const char *eq = memchr(s, '=', n);
    out->key = s;
    out->klen = eq ? (size_t)(eq - s) : n;
    out->val = eq ? eq + 1 : s + n;
    out->vlen = eq ? n - out->klen - 1 : 0;
    return 1;
  }
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

long cg_http_form_decode(const char *src, size_t len, char *dst, size_t cap) {
  if (cap == 0) return -1;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char c = src[i];
    if (c == '+') c = ' ';
    else if (c == '%' && i + 2 < len && hexval(src[i + 1]) >= 0 && hexval(src[i + 2]) >= 0) {
      c = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
      i += 2;
    }
    if (o + 1 >= cap) {
      dst[o] = 0;
      return -1;
    }
    dst[o++] = c;
  }
  dst[o] = 0;
  return (long)o;
}

int cg_http_key_is(const cg_http_pair *p, const char *name) {
  char buf[128];
  long n = cg_http_form_decode(p->key, p->klen, buf, sizeof buf);
  return n >= 0 && strcmp(buf, name) == 0;
}
