/* http_hdr.h — parsers for the request headers and query strings the Explorer reads: Accept, Accept-Encoding,
 * If-None-Match, and `application/x-www-form-urlencoded` pairs. They see outside input, so each is total
 * (any byte string, any length, never reads past len) and has a fuzz target (tests/fuzz/fuzz_http_hdr.c).
 *
 * Semantics (RFC 9110 §12.5, §13.1.2), deliberately small:
 *  - Accept: a comma list of media ranges with optional parameters; only `q` is read (q=0 excludes).
 *    A range admits a type when it is equal (case-insensitive), `type/ *` with the same type, or `* / *`.
 *    An absent or empty header admits everything.
 *  - Accept-Encoding: tokens with optional q. The server picks zstd, then gzip (also admitted by `*`), else
 *    identity. `identity;q=0` is ignored (we can always send identity).
 *  - If-None-Match: `*` or a comma list of entity tags, strong or weak (W/); comparison is weak, as the RFC
 *    requires for If-None-Match. A tag matches base when its opaque part equals base or base + "-" + suffix
 *    (our per-encoding variants, http.h).
 * Pure functions, any thread; no allocation except cg_http_form_decode's output.
 */
#ifndef CG_HTTP_HTTP_HDR_H
#define CG_HTTP_HTTP_HDR_H

#include <stddef.h>

typedef enum { CG_HTTP_ENC_IDENTITY = 0, CG_HTTP_ENC_GZIP = 1, CG_HTTP_ENC_ZSTD = 2 } cg_http_enc;

/* 1 if the Accept header value (NULL = absent) admits media type `type` ("application/octet-stream"). */
int cg_http_accepts(const char *accept, size_t len, const char *type);

/* The encoding to use for a response, from the Accept-Encoding value (NULL = absent → identity). */
cg_http_enc cg_http_pick_encoding(const char *accept_encoding, size_t len);

/* "gzip", "zstd" or NULL for identity; the ETag suffix "gz", "zst" or "" */
const char *cg_http_enc_name(cg_http_enc e);
const char *cg_http_enc_suffix(cg_http_enc e);

/* 1 if the If-None-Match value matches the opaque tag base (no quotes), see above. */
int cg_http_etag_match(const char *if_none_match, size_t len, const char *base);

/* Form-pair iterator over a query string or form body: call with *pos = 0 until it returns 0. Each call sets
 * the raw (still encoded) key and value of the next non-empty pair; a pair without '=' has an empty value. */
typedef struct cg_http_pair {
  const char *key, *val;
  size_t klen, vlen;
} cg_http_pair;
int cg_http_form_next(const char *qs, size_t len, size_t *pos, cg_http_pair *out);

/* Form-decodes src ('+' → space, %XX → byte, invalid escapes kept) into dst of cap bytes, NUL-terminated.
 * Returns the decoded length, or -1 when it does not fit (dst then holds a truncated prefix). */
long cg_http_form_decode(const char *src, size_t len, char *dst, size_t cap);

/* 1 if the raw key decodes to name (exact). */
int cg_http_key_is(const cg_http_pair *p, const char *name);

#endif
