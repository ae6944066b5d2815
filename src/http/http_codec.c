/* http_codec.c — gzip through libdeflate (level 4: ~4x faster than zlib -6 at a similar ratio on our bodies)
 * and zstd level 3 (its default). Compressors are created per call: allocation is small next to the work. */
#include "http/http_codec.h"

#include <libdeflate.h>
#include <zstd.h>

#include "base/mem.h"

#define GZIP_LEVEL 4
#define ZSTD_LEVEL 3

static int gzip_body(const void *src, size_t len, uint8_t **out, size_t *outlen, cg_err *err) {
  struct libdeflate_compressor *c = libdeflate_alloc_compressor(GZIP_LEVEL);
  if (!c) return cg_err_set(err, CG_ENOMEM, "gzip: compressor");
  size_t cap = libdeflate_gzip_compress_bound(c, len);
  uint8_t *buf = cg_malloc(cap);
  int rc = 0;
  if (!buf) {
    rc = cg_err_set(err, CG_ENOMEM, "gzip: %zu bytes", cap);
    goto done;
  }
  size_t n = libdeflate_gzip_compress(c, src, len, buf, cap);
  if (n == 0) {
    cg_free(buf);
    rc = cg_err_set(err, CG_EIO, "gzip: compression failed");
    goto done;
  }
  uint8_t *shrunk = cg_realloc(buf, n);
  *out = shrunk ? shrunk : buf;
  *outlen = n;
done:
  libdeflate_free_compressor(c);
  return rc;
}

static int zstd_body(const void *src, size_t len, uint8_t **out, size_t *outlen, cg_err *err) {
  size_t cap = ZSTD_compressBound(len);
  uint8_t *buf = cg_malloc(cap);
  if (!buf) return cg_err_set(err, CG_ENOMEM, "zstd: %zu bytes", cap);
  size_t n = ZSTD_compress(buf, cap, src, len, ZSTD_LEVEL);
  if (ZSTD_isError(n)) {
    cg_free(buf);
    return cg_err_set(err, CG_EIO, "zstd: %s", ZSTD_getErrorName(n));
  }
  uint8_t *shrunk = cg_realloc(buf, n);
  *out = shrunk ? shrunk : buf;
  *outlen = n;
  return 0;
}

int cg_http_compress(cg_http_enc enc, const void *src, size_t len, uint8_t **out, size_t *outlen, cg_err *err) {
  *out = NULL, *outlen = 0;
  if (enc == CG_HTTP_ENC_GZIP) return gzip_body(src, len, out, outlen, err);
  if (enc == CG_HTTP_ENC_ZSTD) return zstd_body(src, len, out, outlen, err);
  return cg_err_set(err, CG_EINVAL, "compress: identity is not an encoding");
}
