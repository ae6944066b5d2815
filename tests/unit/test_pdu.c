/* test_pdu.c — the diffex PDU decoder and encoder (src/wire/pdu.h).
 *
 * Round trips of random and edge-case sets through cg_pdu_encode / cg_pdu_decode with every block choice;
 * a cross-check with tests/unit/pdu_ref.py, an independent Python implementation that builds PDUs exactly as
 * the upstream client does (the C decoder must read them) and decodes ours (it must read the C encoder's);
 * every malformed-input rule of pdu.c's design note, each with its error code and message; and
 * allocation-failure injection. Writes the seed corpus of tests/fuzz/fuzz_pdu.c when CG_WRITE_CORPUS is set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libdeflate.h>

#include "base/mem.h"
#include "wire/pdu.h"

/* --- helpers ---------------------------------------------------------------------------------------------
 */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}
static double unif(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

typedef struct {
  uint32_t *v;
  int64_t n;
} ilist;

static void push(ilist *l, uint32_t x) {
  if ((l->n & (l->n - 1)) == 0) l->v = realloc(l->v, (size_t)(l->n ? 2 * l->n : 1) * sizeof *l->v);
  l->v[l->n++] = x;
}

/* Disjoint random sets over n_obs cells; density of key k for set l is dens[l][k % nd]. */
static void random_sets(int64_t n_obs, const double *d1, const double *d2, int nd, ilist s[2]) {
  s[0] = s[1] = (ilist){0};
  for (int64_t c = 0; c < n_obs; c++) {
    int k = (int)((c >> 16) % nd);
    double u = unif();
    if (u < d1[k])
      push(&s[0], (uint32_t)c);
    else if (u < d1[k] + d2[k])
      push(&s[1], (uint32_t)c);
  }
}

static void expect_sets(const cg_pdu *p, const ilist s[2]) {
  for (int l = 0; l < 2; l++) {
    uint32_t *idx;
    int64_t n;
    assert_int_equal(cg_pdu_indices(&p->set[l], &idx, &n, NULL), 0);
    assert_int_equal(n, s[l].n);
    assert_int_equal(p->count[l], s[l].n);
    if (n) assert_memory_equal(idx, s[l].v, (size_t)n * sizeof *idx);
    cg_free(idx);
  }
}

/* Encodes s with pick/level, decodes, compares; returns the decoded block counts in blocks. */
static void roundtrip(int64_t n_obs, const ilist s[2], int pick, int level, int64_t blocks[3]) {
  cg_pdu_args a = {.top_n = 42, .set = {s[0].v, s[1].v}, .n = {s[0].n, s[1].n}, .pick = pick, .level = level};
  uint8_t *buf;
  size_t len;
  cg_err err;
  int rc = cg_pdu_encode(&a, &buf, &len, &err);
  if (rc) fail_msg("encode: %s", err.msg);
  assert_true(len <= cg_pdu_body_bound(n_obs));
  cg_pdu p;
  rc = cg_pdu_decode(buf, len, n_obs, &p, &err);
  if (rc) fail_msg("decode: %s", err.msg);
  assert_int_equal(p.mode, CG_PDU_TOPN);
  assert_int_equal(p.top_n, 42);
  assert_int_equal(p.n_obs, n_obs);
  expect_sets(&p, s);
  if (blocks) memcpy(blocks, p.blocks, sizeof p.blocks);
  cg_pdu_dispose(&p);
  cg_free(buf);
}

static void roundtrip_all_picks(int64_t n_obs, const ilist s[2]) {
  for (int pick = CG_PDU_PICK_AUTO; pick <= CG_PDU_PICK_SMALLEST; pick++)
    for (int level = -1; level <= 1; level++) roundtrip(n_obs, s, pick, level, NULL);
}

static void free_sets(ilist s[2]) {
  free(s[0].v);
  free(s[1].v);
  s[0] = s[1] = (ilist){0};
}

/* --- round trips -----------------------------------------------------------------------------------------
 */

static void test_upstream_example(void **state) {
  ilist s[2] = {{0}, {0}};
  for (uint32_t i = 0; i < 100; i++) push(&s[i & 1], i);
  roundtrip_all_picks(100, s);
  free_sets(s);
}

static void test_empty_and_single(void **state) {
  ilist s[2] = {{0}, {0}};
  push(&s[1], 7);
  roundtrip_all_picks(8, s); /* set1 empty */
  ilist t[2] = {s[1], s[0]};
  roundtrip_all_picks(8, t); /* set2 empty */
  free_sets(s);
  int64_t n_obs = 2 * 65536 + 1;
  push(&s[0], 0);
  push(&s[1], (uint32_t)(n_obs - 1)); /* the last key holds one cell */
  roundtrip_all_picks(n_obs, s);
  free_sets(s);
  cg_pdu_args a = {.pick = CG_PDU_PICK_AUTO};
  uint8_t *buf;
  size_t len;
  cg_err err;
  assert_int_equal(cg_pdu_encode(&a, &buf, &len, &err), CG_EINVAL); /* no block at all: not representable */
  assert_non_null(strstr(err.msg, "both sets are empty"));
  assert_null(buf);
}

static void test_all_cells(void **state) {
  int64_t n_obs = 3 * 65536 + 1234;
  ilist s[2] = {{0}, {0}};
  for (int64_t c = 0; c < n_obs; c++) push(&s[0], (uint32_t)c);
  int64_t b[3];
  roundtrip(n_obs, s, CG_PDU_PICK_AUTO, 0, b);
  assert_int_equal(b[CG_PDU_U16INVERTED], 4); /* a full key is an inverted block with nothing missing */
  roundtrip_all_picks(n_obs, s);
  ilist t[2] = {s[1], s[0]};
  roundtrip_all_picks(n_obs, t);
  free_sets(s);
}

static void test_forced_types(void **state) {
  static const double d1[] = {0.0005, 0.05, 0.3, 0.6, 0.97, 0.9999, 1.0, 0.0};
  static const double d2[] = {0.3, 0.0005, 0.5, 0.3, 0.02, 0.0, 0.0, 1.0};
  int64_t n_obs = 8 * 65536 + 777; /* not a multiple of 65536 */
  ilist s[2];
  random_sets(n_obs, d1, d2, 8, s);
  int64_t b[3];
  for (int t = 0; t < 3; t++) {
    roundtrip(n_obs, s, CG_PDU_PICK_BITARRAY + t, 1, b);
    assert_true(b[t] > 10 && b[0] + b[1] + b[2] == b[t]);
  }
  roundtrip(n_obs, s, CG_PDU_PICK_AUTO, 0, b);
  assert_true(b[0] > 0 && b[1] > 0 && b[2] > 0);
  roundtrip_all_picks(n_obs, s);
  free_sets(s);
}

static void test_auto_heuristic(void **state) {
  /* E2 of pdu_encode.c on one key: dense middle -> bitarray, sparse -> list, nearly full -> inverted */
  struct {
    uint32_t n, span;
    int type;
  } cases[] = {{3000, 10000, CG_PDU_BITARRAY},  {2048, 10000, CG_PDU_U16LIST},
               {100, 65536, CG_PDU_U16LIST},    {9000, 10000, CG_PDU_U16INVERTED},
               {40000, 65536, CG_PDU_BITARRAY}, {64000, 65536, CG_PDU_U16INVERTED},
               {3, 4, CG_PDU_U16LIST},          {4, 5, CG_PDU_U16INVERTED}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ilist s[2] = {{0}, {0}};
    uint32_t span = cases[i].span, n = cases[i].n;
    /* n evenly spread values over [0, span) with both ends present */
    for (uint32_t j = 0; j < n && j < span; j++) push(&s[0], (uint32_t)((uint64_t)j * (span - 1) / (n - 1)));
    int64_t b[3];
    roundtrip(65536, s, CG_PDU_PICK_AUTO, 0, b);
    assert_int_equal(b[cases[i].type], 1);
    free_sets(s);
  }
}

static void test_random_densities(void **state) {
  static const double dens[] = {0.0, 0.0001, 0.01, 0.1, 0.2, 0.45, 0.8, 0.99, 0.9999};
  for (int i = 0; i < 9; i++) {
    double d1[1] = {dens[i]}, d2[1] = {dens[(i * 5 + 3) % 9] * (1 - dens[i])};
    int64_t n_obs = 3 * (int64_t)65536 + (int64_t)(rnd() % 65536u);
    ilist s[2];
    random_sets(n_obs, d1, d2, 1, s);
    if (s[0].n + s[1].n) roundtrip_all_picks(n_obs, s);
    free_sets(s);
  }
}

static void test_millions(void **state) {
  static const double d1[] = {0.33, 0.001, 0.5, 0.999};
  static const double d2[] = {0.17, 0.3, 0.0, 0.0005};
  int64_t n_obs = 4200000 + 17;
  ilist s[2];
  random_sets(n_obs, d1, d2, 4, s);
  int64_t b[3];
  roundtrip(n_obs, s, CG_PDU_PICK_AUTO, 0, b);
  assert_true(b[0] > 0 && b[1] > 0 && b[2] > 0);
  roundtrip(n_obs, s, CG_PDU_PICK_SMALLEST, 0, NULL);
  free_sets(s);
}

static void test_overlap_counted(void **state) {
  ilist s[2] = {{0}, {0}};
  for (uint32_t i = 0; i < 70000; i += 2) push(&s[0], i);
  for (uint32_t i = 0; i < 70000; i += 3) push(&s[1], i);
  cg_pdu_args a = {.top_n = 5, .set = {s[0].v, s[1].v}, .n = {s[0].n, s[1].n}};
  uint8_t *buf;
  size_t len;
  assert_int_equal(cg_pdu_encode(&a, &buf, &len, NULL), 0);
  cg_pdu p;
  assert_int_equal(cg_pdu_decode(buf, len, 70000, &p, NULL), 0);
  expect_sets(&p, s);
  assert_int_equal(p.n_overlap, (70000 + 5) / 6);
  cg_pdu_dispose(&p);
  cg_pdu_dispose(&p); /* twice is fine */
  cg_free(buf);
  free_sets(s);
}

static void test_encode_args(void **state) {
  uint32_t up[] = {1, 5, 5}, ok[] = {1, 2};
  uint8_t *buf;
  size_t len;
  cg_err err;
  cg_pdu_args a = {.set = {up, ok}, .n = {3, 2}};
  assert_int_equal(cg_pdu_encode(&a, &buf, &len, &err), CG_EINVAL);
  assert_non_null(strstr(err.msg, "set1 not strictly increasing at position 2"));
  a = (cg_pdu_args){.top_n = 65536, .set = {ok, NULL}, .n = {2, 0}};
  assert_int_equal(cg_pdu_encode(&a, &buf, &len, &err), CG_EINVAL);
  a = (cg_pdu_args){.set = {ok, NULL}, .n = {2, 0}, .level = 13};
  assert_int_equal(cg_pdu_encode(&a, &buf, &len, &err), CG_EINVAL);
  a = (cg_pdu_args){.set = {ok, NULL}, .n = {2, 1}};
  assert_int_equal(cg_pdu_encode(&a, &buf, &len, &err), CG_EINVAL);
  /* a forced u16 list of a whole key, stored: 131072 bytes do not fit the 65536-byte block limit */
  ilist s[2] = {{0}, {0}};
  for (uint32_t i = 0; i < 65536; i++) push(&s[0], i);
  a = (cg_pdu_args){.set = {s[0].v, NULL}, .n = {s[0].n, 0}, .pick = CG_PDU_PICK_U16LIST, .level = -1};
  assert_int_equal(cg_pdu_encode(&a, &buf, &len, &err), CG_ERANGE);
  assert_non_null(strstr(err.msg, "does not fit 65536"));
  free_sets(s);
}

static void test_indices_and_bound(void **state) {
  cg_bitset b;
  assert_int_equal(cg_bitset_init(&b, 0), 0);
  uint32_t *idx;
  int64_t n;
  assert_int_equal(cg_pdu_indices(&b, &idx, &n, NULL), 0);
  assert_non_null(idx);
  assert_int_equal(n, 0);
  cg_free(idx);
  assert_int_equal(cg_pdu_body_bound(0), 8);
  assert_int_equal(cg_pdu_body_bound(1), 8 + 2 * (8 + 65536));
  assert_int_equal(cg_pdu_body_bound(CG_PDU_MAX_NOBS), CG_PDU_BODY_MAX);
}

/* --- the Python reference --------------------------------------------------------------------------------
 */

static int read_file(const char *path, uint8_t **buf, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  *buf = malloc(*len ? *len : 1);
  size_t got = fread(*buf, 1, *len, f);
  fclose(f);
  return got == *len ? 0 : -1;
}

static void write_file(const char *path, const void *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  fclose(f);
}

/* .sets: u64 n_obs, u64 N, u64 n1, u64 n2, u32 set1[n1], u32 set2[n2] (little-endian, as on this host) */
static void read_sets(const char *path, int64_t *n_obs, unsigned *top_n, ilist s[2]) {
  uint8_t *buf;
  size_t len;
  assert_int_equal(read_file(path, &buf, &len), 0);
  uint64_t h[4];
  memcpy(h, buf, sizeof h);
  assert_int_equal(len, 32 + 4 * (h[2] + h[3]));
  *n_obs = (int64_t)h[0];
  *top_n = (unsigned)h[1];
  for (int l = 0; l < 2; l++) {
    s[l].n = (int64_t)h[2 + l];
    s[l].v = malloc(4 * (h[2 + l] + 1));
    memcpy(s[l].v, buf + 32 + (l ? 4 * h[2] : 0), 4 * h[2 + l]);
  }
  free(buf);
}

static void write_sets(const char *path, int64_t n_obs, unsigned top_n, const ilist s[2]) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  uint64_t h[4] = {(uint64_t)n_obs, top_n, (uint64_t)s[0].n, (uint64_t)s[1].n};
  assert_int_equal(fwrite(h, sizeof h, 1, f), 1);
  for (int l = 0; l < 2; l++) assert_int_equal(fwrite(s[l].v, 4, (size_t)s[l].n, f), (size_t)s[l].n);
  fclose(f);
}

static const char *tmpdir(void) { return getenv("CG_TMPDIR") ? getenv("CG_TMPDIR") : "/tmp"; }

/* Upstream-built PDUs (pdu_ref.py gen) must decode to their sets. */
static void decode_reference_cases(const char *dir) {
  char path[1024], name[256];
  snprintf(path, sizeof path, "%s/manifest.txt", dir);
  FILE *m = fopen(path, "r");
  assert_non_null(m);
  int64_t cases = 0, types[3] = {0, 0, 0}, t[3];
  while (fscanf(m, "%255s %" SCNd64 " %" SCNd64 " %" SCNd64, name, &t[0], &t[1], &t[2]) == 4) {
    int64_t n_obs;
    unsigned top_n;
    ilist s[2];
    snprintf(path, sizeof path, "%s/%s.sets", dir, name);
    read_sets(path, &n_obs, &top_n, s);
    uint8_t *buf;
    size_t len;
    snprintf(path, sizeof path, "%s/%s.pdu", dir, name);
    assert_int_equal(read_file(path, &buf, &len), 0);
    cg_pdu p;
    cg_err err;
    if (cg_pdu_decode(buf, len, n_obs, &p, &err)) fail_msg("%s: %s", name, err.msg);
    assert_int_equal(p.top_n, top_n);
    expect_sets(&p, s);
    for (int k = 0; k < 3; k++) assert_int_equal(p.blocks[k], t[k]), types[k] += t[k];
    cg_pdu_dispose(&p);
    free(buf);
    free_sets(s);
    cases++;
  }
  fclose(m);
  assert_true(cases >= 80);
  assert_true(types[0] > 0 && types[1] > 0 && types[2] > 0); /* the client heuristic used all three */
}

/* Our PDUs (every pick) must decode in pdu_ref.py check. */
static void write_our_cases(const char *dir) {
  static const double d1[] = {0.0005, 0.05, 0.3, 0.6, 0.97, 1.0};
  static const double d2[] = {0.3, 0.0005, 0.5, 0.3, 0.02, 0.0};
  int64_t n_obs = 6 * 65536 + 99;
  ilist s[2];
  random_sets(n_obs, d1, d2, 6, s);
  for (int pick = 0; pick <= CG_PDU_PICK_U16INVERTED; pick++) {
    cg_pdu_args a = {.top_n = 100u + (unsigned)pick,
                     .set = {s[0].v, s[1].v},
                     .n = {s[0].n, s[1].n},
                     .pick = pick,
                     .level = pick == CG_PDU_PICK_U16INVERTED ? 9 : 0};
    uint8_t *buf;
    size_t len;
    assert_int_equal(cg_pdu_encode(&a, &buf, &len, NULL), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/ours_%d.pdu", dir, pick);
    write_file(path, buf, len);
    snprintf(path, sizeof path, "%s/ours_%d.sets", dir, pick);
    write_sets(path, n_obs, a.top_n, s);
    cg_free(buf);
  }
  free_sets(s);
}

static void test_python_reference(void **state) {
  if (system("/usr/bin/python3 -c 'import numpy, zlib' 2>/dev/null") != 0) {
    print_message("python3-numpy not installed: reference cross-check skipped\n");
    skip();
  }
  char dir[512], cmd[2048];
  snprintf(dir, sizeof dir, "%s/pdu_ref", tmpdir());
  snprintf(cmd, sizeof cmd,
           "rm -rf '%s' && mkdir -p '%s' && /usr/bin/python3 '%s/tests/unit/pdu_ref.py' gen '%s'", dir, dir,
           CG_SOURCE_DIR, dir);
  assert_int_equal(system(cmd), 0);
  decode_reference_cases(dir);
  snprintf(cmd, sizeof cmd, "rm -f '%s'/*.pdu '%s'/*.sets", dir, dir);
  assert_int_equal(system(cmd), 0);
  write_our_cases(dir);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/unit/pdu_ref.py' check '%s'", CG_SOURCE_DIR, dir);
  assert_int_equal(system(cmd), 0);
}

/* --- malformed input -------------------------------------------------------------------------------------
 */

typedef struct {
  uint8_t type, mask;
  uint32_t n_elem; /* as stored + 1 */
  uint16_t key;
  const uint8_t *raw; /* payload before deflate */
  size_t raw_len;
  int extra; /* bytes of junk appended after the deflate stream (counted in n_bytes) */
} tblock;

typedef struct {
  uint8_t b[1 << 21];
  size_t len;
} tpdu;

static tpdu T; /* one scratch PDU (large enough for the zip-bomb blocks) */

static void build(const tblock *bl, int nb) {
  static const uint8_t hdr[8] = {0xDE, 0, 50, 0, 0xCE, 0, 0, 0};
  memcpy(T.b, hdr, 8);
  T.b[6] = (uint8_t)(nb - 1), T.b[7] = (uint8_t)((nb - 1) >> 8);
  T.len = 8 + 8 * (size_t)nb;
  struct libdeflate_compressor *z = libdeflate_alloc_compressor(6);
  for (int i = 0; i < nb; i++) {
    size_t n = libdeflate_deflate_compress(z, bl[i].raw, bl[i].raw_len, T.b + T.len, sizeof T.b - T.len - 16);
    assert_true(n > 0);
    memset(T.b + T.len + n, 0x5a, (size_t)bl[i].extra);
    n += (size_t)bl[i].extra;
    uint8_t *d = T.b + 8 + 8 * (size_t)i;
    uint32_t f[3] = {bl[i].n_elem - 1, bl[i].key, (uint32_t)n - 1};
    d[0] = bl[i].type, d[1] = bl[i].mask;
    for (int k = 0; k < 3; k++) d[2 + 2 * k] = (uint8_t)f[k], d[3 + 2 * k] = (uint8_t)(f[k] >> 8);
    T.len += n;
  }
  libdeflate_free_compressor(z);
}

static void expect_fail(int64_t n_obs, int code, const char *needle) {
  cg_pdu p;
  cg_err err;
  cg_err_clear(&err);
  int rc = cg_pdu_decode(T.b, T.len, n_obs, &p, &err);
  if (rc != code || !strstr(err.msg, needle))
    fail_msg("expected %d \"%s\", got %d \"%s\"", code, needle, rc, err.msg);
  assert_null(p.set[0].w);
  assert_int_equal(p.count[0], 0);
}

static void expect_ok(int64_t n_obs) {
  cg_pdu p;
  cg_err err;
  if (cg_pdu_decode(T.b, T.len, n_obs, &p, &err)) fail_msg("%s", err.msg);
  cg_pdu_dispose(&p);
}

static const uint8_t L3[] = {1, 2, 3, 0, 0, 0}; /* u16 list 1, 3, 6 */

static void test_bad_header(void **state) {
  tblock ok = {CG_PDU_U16LIST, 1, 3, 0, L3, 6, 0};
  build(&ok, 1);
  expect_ok(7);
  size_t full = T.len;
  for (T.len = 0; T.len < 8; T.len++) expect_fail(7, CG_EFORMAT, "truncated header");
  T.len = full;
  struct {
    int at, val, code;
    const char *msg;
  } cases[] = {{0, 0x00, CG_EFORMAT, "magic byte 0x00, expected 0xDE"},
               {1, 1, CG_EUNSUPPORTED, "mode 1 (VarFilter)"},
               {1, 2, CG_EFORMAT, "unknown mode 2"},
               {4, 0xCF, CG_EFORMAT, "posting-list magic byte 0xcf"},
               {5, 8, CG_EFORMAT, "n_lists-1 = 8"},
               {7, 1, CG_EFORMAT, "257 blocks, but 2 sets of 7 cells have at most 2"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint8_t keep = T.b[cases[i].at];
    T.b[cases[i].at] = (uint8_t)cases[i].val;
    expect_fail(7, cases[i].code, cases[i].msg);
    T.b[cases[i].at] = keep;
  }
  T.len = 12;
  expect_fail(7, CG_EFORMAT, "truncated block descriptions (12 bytes, 1 blocks need 16)");
  T.len = full;
  T.b[5] = 1; /* n_lists-1 is ignored: upstream writes 0 for two lists */
  expect_ok(7);
  expect_fail(-1, CG_EINVAL, "n_obs -1");
  expect_fail(CG_PDU_MAX_NOBS + 1, CG_EINVAL, "n_obs");
  expect_fail(0, CG_EFORMAT, "longer than any PDU"); /* n_obs 0: no block is possible, bound is 8 */
  T.len = cg_pdu_body_bound(7) + 1;
  expect_fail(7, CG_EFORMAT, "longer than any PDU for 7 cells");
}

static void test_bad_descriptions(void **state) {
  tblock b[2] = {{CG_PDU_U16LIST, 1, 3, 0, L3, 6, 0}, {CG_PDU_U16LIST, 2, 3, 1, L3, 6, 0}};
  build(b, 2);
  expect_ok(65536 + 7);
  struct {
    int at, val;
    const char *msg;
  } cases[] = {
      {8, 3, "block 0 (set1, key 0, ?, 3 elements): unknown block type 3"},
      {9, 0, "list_id_mask 0x00"},
      {9, 3, "list_id_mask 0x03"},
      {17, 4, "list_id_mask 0x04"},
      {20, 2, "block 1 (set2, key 2, u16 list, 3 elements): key starts at cell 131072, beyond n_obs"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint8_t keep = T.b[cases[i].at];
    T.b[cases[i].at] = (uint8_t)cases[i].val;
    expect_fail(65536 + 7, CG_EFORMAT, cases[i].msg);
    T.b[cases[i].at] = keep;
  }
  b[1].mask = 1, b[1].key = 0; /* set1 key 0 twice */
  build(b, 2);
  expect_fail(65536 + 7, CG_EFORMAT,
              "block 1 (set1, key 0, u16 list, 3 elements): keys of a set must strictly");
  b[0].key = 1; /* set1 keys 1 then 0 */
  build(b, 2);
  expect_fail(65536 + 7, CG_EFORMAT, "(previous key 1)");
  b[1].mask = 2; /* set1 key 1, set2 key 0: global order does not matter, per-set order does */
  build(b, 2);
  expect_ok(65536 + 7);
  T.b[T.len++] = 0;
  expect_fail(65536 + 7, CG_EFORMAT, "1 trailing bytes after the last block");
  T.len -= 2;
  expect_fail(65536 + 7, CG_EFORMAT, "block 1 (set2, key 0, u16 list, 3 elements): truncated: its");
}

static void test_bad_streams(void **state) {
  tblock b = {CG_PDU_U16LIST, 1, 3, 0, L3, 6, 1};
  build(&b, 1);
  expect_fail(7, CG_EFORMAT, "deflate stream ends after");
  b.extra = 0;
  build(&b, 1);
  memset(T.b + 16, 0xff, T.len - 16);
  expect_fail(7, CG_EFORMAT, "not a valid raw deflate stream");
  /* zip bombs: a tiny stream that inflates far beyond what the block header allows */
  static uint8_t zeros[1 << 20];
  tblock bomb[3] = {{CG_PDU_U16LIST, 1, 1, 0, zeros, sizeof zeros, 0},
                    {CG_PDU_BITARRAY, 1, 1, 0, zeros, sizeof zeros, 0},
                    {CG_PDU_U16INVERTED, 1, 65536, 0, zeros, sizeof zeros, 0}};
  const char *msg[3] = {"inflates to more than the 2 bytes", "inflates to more than the 8192 bytes",
                        "inflates to more than the 4 bytes"};
  for (int i = 0; i < 3; i++) {
    build(&bomb[i], 1);
    assert_true(T.len < 2048);
    expect_fail(70000, CG_EFORMAT, msg[i]);
  }
}

static void test_bad_bitarray(void **state) {
  static uint8_t bits[8192 + 1];
  memset(bits, 0, sizeof bits);
  bits[0] = 0x81; /* cells 0 and 7 */
  tblock b = {CG_PDU_BITARRAY, 1, 2, 0, bits, 8192, 0};
  build(&b, 1);
  expect_ok(8);
  expect_fail(7, CG_EFORMAT, "bit for cell 7 is set, n_obs is 7");
  b.n_elem = 3;
  build(&b, 1);
  expect_fail(8, CG_EFORMAT, "2 bits set, expected n_elem");
  b.n_elem = 2, b.raw_len = 8191;
  build(&b, 1);
  expect_fail(8, CG_EFORMAT, "inflates to 8191 bytes, expected 8192");
  bits[8191] = 0x80; /* cell 65535 */
  b.raw_len = 8192, b.n_elem = 3;
  build(&b, 1);
  expect_ok(65536);
  expect_fail(65535, CG_EFORMAT, "bit for cell 65535 is set");
  bits[8191] = 0;
}

static void test_bad_list(void **state) {
  struct {
    uint8_t raw[8];
    size_t len;
    uint32_t n_elem;
    int64_t n_obs;
    const char *msg;
  } cases[] = {
      {{1, 2, 0, 0}, 4, 3, 10, "inflates to 4 bytes, expected 6"},
      {{1, 0, 3, 0, 0, 0}, 6, 3, 10, "value 1 repeats at position 1"},
      {{0, 0xfe, 2, 0, 0xff, 0}, 6, 3, 70000, "value at position 2 overflows 16 bits (65536)"},
      {{1, 2, 3, 0, 0, 0}, 6, 3, 6, "cell 6 is not below n_obs 6"},
      {{0, 0}, 2, 1, 1, ""}, /* cell 0: fine */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tblock b = {CG_PDU_U16LIST, 2, cases[i].n_elem, 0, cases[i].raw, cases[i].len, 0};
    build(&b, 1);
    if (*cases[i].msg)
      expect_fail(cases[i].n_obs, CG_EFORMAT, cases[i].msg);
    else
      expect_ok(cases[i].n_obs);
  }
}

static void test_bad_inverted(void **state) {
  struct {
    uint8_t raw[12];
    size_t len;
    uint32_t n_elem;
    int64_t n_obs;
    const char *msg;
  } cases[] = {
      {{2, 0, 9, 0, 4, 2, 0, 0}, 8, 6, 10, ""}, /* [2, 9] without 4, 6 */
      {{2, 0, 9, 0, 4, 2, 0, 0}, 8, 6, 9, "range ends at cell 9, n_obs is 9"},
      {{2, 0, 9, 0, 4, 2, 0, 0}, 8, 5, 10, "range [2, 9] minus 2 missing values is not n_elem"},
      {{2, 0, 9, 0, 4, 0}, 6, 7, 10, ""},
      {{2, 0, 9, 0, 4, 0, 0}, 7, 7, 10, "inflates to 7 bytes"},
      {{2, 0}, 2, 7, 10, "inflates to 2 bytes"},
      {{9, 0, 2, 0}, 4, 8, 10, "range first 9 > last 2"},
      {{2, 0, 9, 0, 1, 9, 0, 0}, 8, 6, 10, "missing value 1 outside the block's range [2, 9]"},
      {{2, 0, 9, 0, 4, 0, 0, 0}, 8, 6, 10, "value 4 repeats at position 1"},
      {{2, 0, 9, 0, 4, 6, 0, 0}, 8, 6, 10, "missing value 10 outside the block's range [2, 9]"},
      {{0, 0, 0xff, 0xff}, 4, 65536, 65536, ""}, /* a whole key */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tblock b = {CG_PDU_U16INVERTED, 1, cases[i].n_elem, 0, cases[i].raw, cases[i].len, 0};
    build(&b, 1);
    if (*cases[i].msg)
      expect_fail(cases[i].n_obs, CG_EFORMAT, cases[i].msg);
    else
      expect_ok(cases[i].n_obs);
  }
  /* decoded [2, 9] minus {4, 6} */
  tblock b = {CG_PDU_U16INVERTED, 1, 6, 0, cases[0].raw, 8, 0};
  build(&b, 1);
  cg_pdu p;
  assert_int_equal(cg_pdu_decode(T.b, T.len, 10, &p, NULL), 0);
  assert_int_equal(p.set[0].w[0], 0x3ac);
  cg_pdu_dispose(&p);
}

/* --- allocation failures ---------------------------------------------------------------------------------
 */

static void test_alloc_failures(void **state) {
  static const double d1[] = {0.01, 0.5, 0.99};
  static const double d2[] = {0.2, 0.01, 0.0};
  ilist s[2];
  random_sets(3 * 65536 + 5, d1, d2, 3, s);
  cg_pdu_args a = {.top_n = 9, .set = {s[0].v, s[1].v}, .n = {s[0].n, s[1].n}};
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = CG_ENOMEM, k;
  for (k = 0; rc == CG_ENOMEM; k++) {
    cg_mem_fail_after(k);
    rc = cg_pdu_encode(&a, &buf, &len, NULL);
    cg_mem_fail_after(-1);
    if (rc) assert_null(buf);
  }
  assert_int_equal(rc, 0);
  assert_true(k > 3);
  cg_pdu p;
  rc = CG_ENOMEM;
  for (k = 0; rc == CG_ENOMEM; k++) {
    cg_mem_fail_after(k);
    rc = cg_pdu_decode(buf, len, 3 * 65536 + 5, &p, NULL);
    cg_mem_fail_after(-1);
    if (rc) assert_null(p.set[0].w);
  }
  assert_int_equal(rc, 0);
  assert_true(k > 3);
  expect_sets(&p, s);
  uint32_t *idx;
  int64_t n;
  cg_mem_fail_after(0);
  assert_int_equal(cg_pdu_indices(&p.set[0], &idx, &n, NULL), CG_ENOMEM);
  cg_mem_fail_after(-1);
  cg_pdu_dispose(&p);
  cg_free(buf);
  free_sets(s);
}

/* --- fuzz seeds ------------------------------------------------------------------------------------------
 */

static void write_seed(const char *dir, const char *kind, int i, uint32_t n_obs, const uint8_t *pdu,
                       size_t len) {
  if (len + 4 > 65536) return; /* run-fuzzer.sh's -max_len */
  uint8_t *seed = malloc(len + 4);
  memcpy(seed, &n_obs, 4);
  memcpy(seed + 4, pdu, len);
  char path[1024];
  snprintf(path, sizeof path, "%s/%s_%02d.bin", dir, kind, i);
  write_file(path, seed, len + 4);
  free(seed);
}

/* The "raw form" fuzz_pdu.c rebuilds from: every block inflated, n_bytes-1 = its inflated length - 1.
 * 0 when some block inflates to more than the n_bytes field can say. */
static size_t raw_form(const uint8_t *pdu, size_t len, uint8_t *out) {
  struct libdeflate_decompressor *z = libdeflate_alloc_decompressor();
  size_t nb = (size_t)(pdu[6] | pdu[7] << 8) + 1, in = 8 + 8 * nb, o = in;
  int fits = 1;
  memcpy(out, pdu, in);
  for (size_t i = 0; i < nb; i++) {
    uint8_t *d = out + 8 + 8 * i;
    size_t n = (size_t)(d[6] | d[7] << 8) + 1, got = 0;
    assert_int_equal(libdeflate_deflate_decompress(z, pdu + in, n, out + o, 4 + 2 * 65536, &got),
                     LIBDEFLATE_SUCCESS);
    fits &= got <= 65536;
    in += n, o += got;
    d[6] = (uint8_t)(got - 1), d[7] = (uint8_t)((got - 1) >> 8);
  }
  assert_int_equal(in, len);
  libdeflate_free_decompressor(z);
  return fits ? o : 0;
}

/* With CG_WRITE_CORPUS=dir, writes seeds for tests/fuzz/fuzz_pdu.c (u32 n_obs + PDU): encoder output with
 * stored and compressed blocks of every type, and the same PDUs in raw form. */
static void test_write_corpus(void **state) {
  const char *dir = getenv("CG_WRITE_CORPUS");
  if (!dir) skip();
  static const double d1[] = {0.001, 0.3, 0.98}, d2[] = {0.01, 0.2, 0.0};
  static uint8_t raw[1 << 21];
  for (int i = 0; i < 10; i++) {
    ilist s[2];
    int64_t n_obs = i < 5 ? 70000 : 3 * 65536 + 11;
    random_sets(n_obs, d1, d2, 3, s);
    if (i < 5) s[0].n = s[0].n > 40 ? 40 : s[0].n, s[1].n = s[1].n > 30 ? 30 : s[1].n;
    cg_pdu_args a = {
        .top_n = 15, .set = {s[0].v, s[1].v}, .n = {s[0].n, s[1].n}, .pick = i % 5, .level = i & 1 ? -1 : 1};
    uint8_t *buf = NULL;
    size_t len;
    if (cg_pdu_encode(&a, &buf, &len, NULL) == 0) {
      write_seed(dir, "pdu", i, (uint32_t)n_obs, buf, len);
      size_t n = raw_form(buf, len, raw);
      if (n) write_seed(dir, "raw", i, (uint32_t)n_obs, raw, n);
    }
    cg_free(buf);
    free_sets(s);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_upstream_example), cmocka_unit_test(test_empty_and_single),
      cmocka_unit_test(test_all_cells),        cmocka_unit_test(test_forced_types),
      cmocka_unit_test(test_auto_heuristic),   cmocka_unit_test(test_random_densities),
      cmocka_unit_test(test_millions),         cmocka_unit_test(test_overlap_counted),
      cmocka_unit_test(test_encode_args),      cmocka_unit_test(test_indices_and_bound),
      cmocka_unit_test(test_python_reference), cmocka_unit_test(test_bad_header),
      cmocka_unit_test(test_bad_descriptions), cmocka_unit_test(test_bad_streams),
      cmocka_unit_test(test_bad_bitarray),     cmocka_unit_test(test_bad_list),
      cmocka_unit_test(test_bad_inverted),     cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_write_corpus),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
