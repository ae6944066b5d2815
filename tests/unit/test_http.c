/* test_http.c — the HTTP layer's pure parts: header parsers (Accept, Accept-Encoding, If-None-Match, form pairs),
 * SHA-1 against FIPS 180 vectors, gzip/zstd round trips, the body LRU (eviction, references, replacement),
 * the worker pool (every job runs, drain on stop), metrics exposition text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libdeflate.h>
#include <zstd.h>

#include "base/mem.h"
#include "http/http_cache.h"
#include "http/http_codec.h"
#include "http/http_hdr.h"
#include "http/http_metrics.h"
#include "http/http_pool.h"
#include "http/http_sha1.h"

static size_t len_of(const char *s) { return s ? strlen(s) : 0; }
#define ACC(h, t) cg_http_accepts(h, len_of(h), t)
#define ENC(h) cg_http_pick_encoding(h, len_of(h))
#define INM(h, b) cg_http_etag_match(h, strlen(h), b)

static void test_accept(void **state) {
  const char *oct = "application/octet-stream";
  assert_true(ACC(NULL, oct));
  assert_true(ACC("", oct));
  assert_true(ACC("*/*", oct));
  assert_true(ACC("application/*", oct));
  assert_true(ACC("text/html, application/octet-stream;q=0.9", oct));
  assert_true(ACC("APPLICATION/OCTET-STREAM", oct));
  assert_false(ACC("application/json", oct));
  assert_false(ACC("application/octet-stream;q=0", oct));
  assert_false(ACC("text/*", oct));
  assert_false(ACC("*/*;q=0", oct));
  assert_true(ACC(" , ,application/octet-stream ", oct));
}

static void test_encoding(void **state) {
  assert_int_equal(ENC(NULL), CG_HTTP_ENC_IDENTITY);
  assert_int_equal(ENC("gzip"), CG_HTTP_ENC_GZIP);
  assert_int_equal(ENC("gzip, deflate, br, zstd"), CG_HTTP_ENC_ZSTD);
  assert_int_equal(ENC("zstd;q=0, gzip"), CG_HTTP_ENC_GZIP);
  assert_int_equal(ENC("gzip;q=0"), CG_HTTP_ENC_IDENTITY);
  assert_int_equal(ENC("*"), CG_HTTP_ENC_GZIP);
  assert_int_equal(ENC("gzip;q=0, *"), CG_HTTP_ENC_IDENTITY);
  assert_int_equal(ENC("identity"), CG_HTTP_ENC_IDENTITY);
  assert_int_equal(ENC("br"), CG_HTTP_ENC_IDENTITY);
}

static void test_etag(void **state) {
  assert_true(INM("\"abc\"", "abc"));
  assert_true(INM("W/\"abc\"", "abc"));
  assert_true(INM("\"x\", \"abc-gz\"", "abc"));
  assert_true(INM("*", "abc"));
  assert_false(INM("\"abcd\"", "abc"));
  assert_false(INM("\"ab\"", "abc"));
  assert_false(INM("abc", "abc"));
  assert_false(INM("\"", "abc"));
  assert_false(INM("", "abc"));
}

static void test_form(void **state) {
  const char *qs = "a=1&&b&c=x%2By+z&=v&annotation-name=n%20ame";
  size_t pos = 0;
  cg_http_pair p;
  char buf[64];
  assert_true(cg_http_form_next(qs, strlen(qs), &pos, &p));
  assert_true(cg_http_key_is(&p, "a"));
  assert_true(cg_http_form_next(qs, strlen(qs), &pos, &p));
  assert_true(cg_http_key_is(&p, "b") && p.vlen == 0);
  assert_true(cg_http_form_next(qs, strlen(qs), &pos, &p));
  assert_int_equal(cg_http_form_decode(p.val, p.vlen, buf, sizeof buf), 5);
  assert_string_equal(buf, "x+y z");
  assert_true(cg_http_form_next(qs, strlen(qs), &pos, &p));
  assert_int_equal(p.klen, 0);
  assert_true(cg_http_form_next(qs, strlen(qs), &pos, &p));
  assert_true(cg_http_key_is(&p, "annotation-name"));
  assert_false(cg_http_form_next(qs, strlen(qs), &pos, &p));
  assert_int_equal(cg_http_form_decode("%zz%4", 5, buf, sizeof buf), 5);
  assert_string_equal(buf, "%zz%4");
  assert_int_equal(cg_http_form_decode("abcdef", 6, buf, 4), -1);
}

static void test_sha1(void **state) {
  char h[41];
  cg_http_sha1_hex("abc", 3, h);
  assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
  cg_http_sha1_hex("", 0, h);
  assert_string_equal(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  cg_http_sha1_hex(m, strlen(m), h);
  assert_string_equal(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  char *a = malloc(1000000);
  memset(a, 'a', 1000000);
  cg_http_sha1_hex(a, 1000000, h);
  assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  free(a);
}

static void test_codec(void **state) {
  size_t n = 100000;
  uint8_t *src = malloc(n), *z, *back = malloc(n);
  for (size_t i = 0; i < n; i++) src[i] = (uint8_t)(i % 7 == 0 ? i : 0);
  size_t zlen, got;
  cg_err err = {0};
  assert_int_equal(cg_http_compress(CG_HTTP_ENC_GZIP, src, n, &z, &zlen, &err), 0);
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  assert_int_equal(libdeflate_gzip_decompress(d, z, zlen, back, n, &got), LIBDEFLATE_SUCCESS);
  assert_int_equal(got, n);
  assert_memory_equal(back, src, n);
  libdeflate_free_decompressor(d);
  cg_free(z);
  assert_int_equal(cg_http_compress(CG_HTTP_ENC_ZSTD, src, n, &z, &zlen, &err), 0);
  assert_int_equal(ZSTD_decompress(back, n, z, zlen), n);
  assert_memory_equal(back, src, n);
  cg_free(z);
  assert_int_equal(cg_http_compress(CG_HTTP_ENC_IDENTITY, src, n, &z, &zlen, &err), CG_EINVAL);
  free(src);
  free(back);
}

static cg_http_blob *blob_of(size_t n, char c) {
  char *d = cg_malloc(n);
  memset(d, c, n);
  return cg_http_blob_take(d, n);
}

static void test_cache(void **state) {
  cg_http_cache *c = cg_http_cache_create(40000);
  cg_http_blob *a = blob_of(9000, 'a'), *b = blob_of(9000, 'b'), *big = blob_of(20000, 'x');
  assert_int_equal(cg_http_cache_put(c, "a", a), 0);
  assert_int_equal(cg_http_cache_put(c, "b", b), 0);
  assert_int_equal(cg_http_cache_put(c, "big", big), 0); /* > capacity/4: not stored */
  assert_null(cg_http_cache_get(c, "big"));
  cg_http_blob *g = cg_http_cache_get(c, "a");
  assert_ptr_equal(g, a);
  cg_http_blob_release(g);
  for (int i = 0; i < 10; i++) { /* fill: "b" (least recent) goes first, "a" was touched */
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    cg_http_blob *k = blob_of(9000, 'k');
    assert_int_equal(cg_http_cache_put(c, key, k), 0);
    cg_http_blob_release(k);
  }
  cg_http_cache_stats st;
  cg_http_cache_get_stats(c, &st);
  assert_true(st.bytes <= 40000 && st.evictions >= 8);
  g = cg_http_cache_get(c, "k9");
  assert_non_null(g);
  cg_http_blob_release(g);
  /* a blob evicted while held stays valid */
  assert_int_equal(a->data[0], 'a');
  cg_http_blob_release(a);
  cg_http_blob_release(b);
  cg_http_blob_release(big);
  cg_http_cache_free(c);
}

static int counter;
static void bump(void *arg) { __atomic_add_fetch(&counter, *(int *)arg, __ATOMIC_RELAXED); }

static void test_pool(void **state) {
  cg_http_pool *p = cg_http_pool_create(3);
  assert_non_null(p);
  static int one = 1;
  for (int i = 0; i < 1000; i++) assert_int_equal(cg_http_pool_submit(p, bump, &one), 0);
  cg_http_pool_stop(p);
  assert_int_equal(counter, 1000);
  assert_int_equal(cg_http_pool_submit(p, bump, &one), CG_EINVAL);
  cg_http_pool_free(p);
  assert_null(cg_http_pool_create(0));
}

static void test_metrics(void **state) {
  static const char *const routes[] = {"schema", "data/var"};
  cg_http_metrics *m = cg_http_metrics_create(routes, 2);
  cg_http_metrics_observe(m, 1, 200, 0.003);
  cg_http_metrics_observe(m, 1, 404, 0.0001);
  cg_http_metrics_observe(m, 7, 500, 20);
  char *b = NULL;
  size_t l = 0, cap = 0;
  assert_int_equal(cg_http_metrics_render(m, &b, &l, &cap), 0);
  assert_non_null(strstr(b, "cellgate_http_requests_total{route=\"data/var\",code=\"2xx\"} 1\n"));
  assert_non_null(strstr(b, "cellgate_http_requests_total{route=\"data/var\",code=\"4xx\"} 1\n"));
  assert_non_null(strstr(b, "cellgate_http_request_duration_seconds_bucket{route=\"data/var\",le=\"0.005\"} 2\n"));
  assert_non_null(strstr(b, "cellgate_http_request_duration_seconds_bucket{route=\"other\",le=\"+Inf\"} 1\n"));
  assert_non_null(strstr(b, "cellgate_http_request_duration_seconds_bucket{route=\"other\",le=\"10\"} 0\n"));
  assert_int_equal(strlen(b), l);
  cg_free(b);
  cg_http_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accept), cmocka_unit_test(test_encoding), cmocka_unit_test(test_etag),
      cmocka_unit_test(test_form),   cmocka_unit_test(test_sha1),     cmocka_unit_test(test_codec),
      cmocka_unit_test(test_cache),  cmocka_unit_test(test_pool),     cmocka_unit_test(test_metrics),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
