/* fuzz_http_hdr.c — libFuzzer target for the request-header and query parsers (src/http/http_hdr.h), which see
 * outside input: Accept, Accept-Encoding, If-None-Match and form pairs + decoding. The input is used as each
 * header value in turn (not NUL-terminated: the parsers take a length) and as a query string.
 * Seeds: tests/fuzz/corpus/fuzz_http_hdr. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_hdr.h"

#include "../../src/http/http_hdr.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *v = malloc(size ? size : 1); /* exact size: ASan catches any read past the value */
  memcpy(v, data, size);
  (void)cg_http_accepts(v, size, "application/octet-stream");
  (void)cg_http_accepts(v, size, "text/csv");
  (void)cg_http_pick_encoding(v, size);
  (void)cg_http_etag_match(v, size, "0123456789abcdef0123456789abcdef");
  size_t pos = 0;
  cg_http_pair p;
  char buf[64];
  for (int guard = 0; cg_http_form_next(v, size, &pos, &p) && guard < 100000; guard++) {
    (void)cg_http_key_is(&p, "annotation-name");
    (void)cg_http_form_decode(p.val, p.vlen, buf, sizeof buf);
    if (p.klen > size || p.vlen > size) abort();
  }
  free(v);
  return 0;
}
