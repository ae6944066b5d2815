/* fuzz_pdu.c — libFuzzer target for the diffex PDU decoder (src/wire/pdu.h).
 *
 * Input: u32 little-endian n_obs seed (taken modulo 2^20 + 1, so bitsets stay small), then PDU bytes, which
 * are decoded twice:
 *  1. as they are — header, descriptions, layout and the inflater's view of every block;
 *  2. "raw form": each block's bytes are taken as the INFLATED payload (its n_bytes-1 field gives their
 *     length) and raw-deflated here before decoding, with both magics and the mode forced valid — so
 *     mutations land in the bitarray / u16 list / inverted list parsers instead of dying in inflate.
 * Whatever decodes is checked: counts match the bitsets, the index lists are increasing and below n_obs, and
 * re-encoding the sets (cg_pdu_encode) and decoding again gives the same sets.
 * Seeds: tests/fuzz/corpus/fuzz_pdu (written by test_pdu with CG_WRITE_CORPUS=dir, both forms).
 */
#include <libdeflate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "wire/pdu.h"

enum { MAX_BLOCKS = 16, MAX_OUT = 1 << 20 };

static void check_reencode(const cg_pdu *p) {
  uint32_t *idx[2] = {NULL, NULL};
  int64_t n[2] = {0, 0};
  for (int l = 0; l < 2; l++) {
    if (cg_pdu_indices(&p->set[l], &idx[l], &n[l], NULL)) abort();
    if (n[l] != p->count[l]) abort();
    for (int64_t i = 1; i < n[l]; i++)
      if (idx[l][i] <= idx[l][i - 1]) abort();
    if (n[l] && idx[l][n[l] - 1] >= p->n_obs) abort();
  }
  cg_pdu_args a = {.top_n = p->top_n, .set = {idx[0], idx[1]}, .n = {n[0], n[1]}, .pick = CG_PDU_PICK_AUTO};
  uint8_t *buf;
  size_t len;
  cg_pdu q;
  if (cg_pdu_encode(&a, &buf, &len, NULL) || cg_pdu_decode(buf, len, p->n_obs, &q, NULL)) abort();
  for (int l = 0; l < 2; l++)
    if (q.count[l] != p->count[l] ||
        memcmp(q.set[l].w, p->set[l].w, (size_t)cg_bitset_words(&p->set[l]) * sizeof(uint64_t)) != 0)
      abort();
  cg_pdu_dispose(&q);
  cg_free(buf);
  cg_free(idx[0]);
  cg_free(idx[1]);
}

static void decode_and_check(const uint8_t *b, size_t len, int64_t n_obs) {
  cg_pdu p;
  cg_err err;
  if (cg_pdu_decode(b, len, n_obs, &p, &err) == 0)
    check_reencode(&p);
  else if (!err.msg[0] || p.set[0].w || p.set[1].w)
    abort();
  cg_pdu_dispose(&p);
}

/* Rebuilds b (raw form, see above) into out; returns the length, 0 if there is not even a header. */
static size_t rebuild(struct libdeflate_compressor *z, const uint8_t *b, size_t len, uint8_t *out) {
  if (len < 8) return 0;
  memcpy(out, b, 8);
  out[0] = CG_PDU_MAGIC, out[1] = CG_PDU_TOPN, out[4] = CG_PDU_PLIST_MAGIC;
  size_t nb = (size_t)(b[6] | b[7] << 8) % MAX_BLOCKS + 1;
  if (len < 8 + 8 * nb) nb = (len - 8) / 8;
  if (!nb) return 0;
  out[6] = (uint8_t)(nb - 1), out[7] = 0;
  size_t in = 8 + 8 * nb, o = in;
  for (size_t i = 0; i < nb; i++) {
    uint8_t *d = out + 8 + 8 * i;
    memcpy(d, b + 8 + 8 * i, 8);
    size_t raw = (size_t)(d[6] | d[7] << 8) + 1;
    if (raw > len - in) raw = len - in;
    size_t c = libdeflate_deflate_compress(z, b + in, raw, out + o, MAX_OUT - o);
    if (!c || c > 65536) return 0;
    in += raw, o += c;
    d[6] = (uint8_t)(c - 1), d[7] = (uint8_t)((c - 1) >> 8);
  }
  return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct libdeflate_compressor *z;
  static uint8_t *out;
  if (!z) z = libdeflate_alloc_compressor(1), out = malloc(MAX_OUT);
  if (size < 4) return 0;
  uint32_t seed =
      (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
  int64_t n_obs = seed % ((1u << 20) + 1);
  decode_and_check(data + 4, size - 4, n_obs);
  size_t n = rebuild(z, data + 4, size - 4, out);
  if (n) decode_and_check(out, n, n_obs);
  return 0;
}
