/* pdu_encode.c — the diffex PDU encoder (contract in pdu.h; format facts U1..U8 and layout in pdu.c).
 *
 * Design note
 *  E1. Blocks go out in increasing key order, set1's block before set2's for the same key (U7), one block
 *      per (set, key); so the decoder's per-set key order (I3) holds by construction.
 *  E2. CG_PDU_PICK_AUTO reproduces the upstream client's choice (chanzuckerberg/single-cell-explorer ·
 *      client/src/util/diffexpdu/postingslist.ts chooseBlockType + encodeUint16Block): bitarray when
 *      2^11 < n < 2^16 - 2^11 and 1/8 < n / (last - first + 1) < 7/8 (compared in integers, exactly as the
 *      float test decides for these magnitudes); otherwise an inverted list when (last - first + 1 - n) + 2 <
 * n, else a plain u16 list. E3. Each block is raw deflate (U5) and must fit 65536 compressed bytes (n_bytes-1
 * is a u16). The AUTO and SMALLEST choices always fit (a bitarray inflates to 8192 bytes); a forced type may
 * not: CG_ERANGE. E4. The whole PDU is built in one growing buffer: header and descriptions reserved first
 * (the block count is known from the sets), each block's description filled in when its bytes are appended.
 */
#include <libdeflate.h>
#include <string.h>

#include "base/mem.h"
#include "wire/pdu.h"

enum {
  KEY_SPAN = 65536,
  BITARRAY_BYTES = 8192,
  HDR = 8,
  DESC = 8,
  RAW_MAX = 4 + 2 * KEY_SPAN,
  BLOCK_MAX = KEY_SPAN
};

typedef struct enc {
  const cg_pdu_args *a;
  struct libdeflate_compressor *z;
  uint8_t *raw, *best, *trial; /* RAW_MAX, BLOCK_MAX, BLOCK_MAX */
  uint8_t *buf;
  size_t len, cap;
  uint32_t nb; /* blocks written so far */
  cg_err *err;
} enc;

static void put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

/* --- raw block payloads (U6) over the low 16 bits of v[0..n), all sharing one key ---------------------- */

static size_t raw_bitarray(const uint32_t *v, uint32_t n, uint8_t *raw) {
  memset(raw, 0, BITARRAY_BYTES);
  for (uint32_t j = 0; j < n; j++) raw[(v[j] & 0xffff) >> 3] |= (uint8_t)(1u << (v[j] & 7));
  return BITARRAY_BYTES;
}

/* Delta code + byte shuffle (U6) of k increasing u16 values. */
static void shuffle_deltas(const uint16_t *vals, uint32_t k, uint8_t *raw) {
  uint32_t prev = 0;
  for (uint32_t j = 0; j < k; j++) {
    uint32_t d = vals[j] - prev;
    raw[j] = (uint8_t)d;
    raw[k + j] = (uint8_t)(d >> 8);
    prev = vals[j];
  }
}

static size_t raw_list(const uint32_t *v, uint32_t n, uint8_t *raw, uint16_t *tmp) {
  for (uint32_t j = 0; j < n; j++) tmp[j] = (uint16_t)v[j];
  shuffle_deltas(tmp, n, raw);
  return 2 * (size_t)n;
}

static size_t raw_inverted(const uint32_t *v, uint32_t n, uint8_t *raw, uint16_t *tmp) {
  uint32_t first = v[0] & 0xffff, last = v[n - 1] & 0xffff, k = 0, j = 0;
  for (uint32_t x = first; x <= last; x++) {
    if (j < n && (v[j] & 0xffff) == x)
      j++;
    else
      tmp[k++] = (uint16_t)x;
  }
  put16(raw, first);
  put16(raw + 2, last);
  shuffle_deltas(tmp, k, raw + 4);
  return 4 + 2 * (size_t)k;
}

/* E2 */
static int auto_type(const uint32_t *v, uint32_t n) {
  uint64_t span = (v[n - 1] & 0xffff) + 1 - (v[0] & 0xffff);
  if (n > 2048 && n < KEY_SPAN - 2048 && 8 * (uint64_t)n > span && 8 * (uint64_t)n < 7 * span)
    return CG_PDU_BITARRAY;
  return (span - n) + 2 >= n ? CG_PDU_U16LIST : CG_PDU_U16INVERTED;
}

/* Compresses block type t of v[0..n) into dst (BLOCK_MAX); 0 when it does not fit. */
static size_t compress_as(enc *e, int t, const uint32_t *v, uint32_t n, uint8_t *dst) {
  uint16_t *tmp = (uint16_t *)(e->raw + RAW_MAX); /* the second half of the raw allocation */
  size_t raw_len = t == CG_PDU_BITARRAY  ? raw_bitarray(v, n, e->raw)
                   : t == CG_PDU_U16LIST ? raw_list(v, n, e->raw, tmp)
                                         : raw_inverted(v, n, e->raw, tmp);
  return libdeflate_deflate_compress(e->z, e->raw, raw_len, dst, BLOCK_MAX);
}

/* Chooses and compresses the block into e->best; *type and *size. */
static int encode_block(enc *e, int l, const uint32_t *v, uint32_t n, int *type, size_t *size) {
  int pick = e->a->pick;
  *type = pick == CG_PDU_PICK_AUTO ? auto_type(v, n) : pick - CG_PDU_PICK_BITARRAY;
  if (pick == CG_PDU_PICK_SMALLEST) {
    *size = 0;
    for (int t = 0; t < 3; t++) {
      size_t s = compress_as(e, t, v, n, e->trial);
      if (!s || (*size && s >= *size)) continue;
      uint8_t *swap = e->best;
      e->best = e->trial, e->trial = swap, *size = s, *type = t;
    }
  } else {
    *size = compress_as(e, *type, v, n, e->best);
  }
  if (!*size)
    return cg_err_set(e->err, CG_ERANGE,
                      "diffex PDU: set%d key %u does not fit 65536 compressed bytes as a %s block", l + 1,
                      v[0] >> 16,
                      *type == 0   ? "bitarray"
                      : *type == 1 ? "u16 list"
                                   : "inverted");
  return 0;
}

static int append(enc *e, const uint8_t *p, size_t n) {
  if (e->len + n > e->cap) {
    size_t cap = e->cap * 2 > e->len + n ? e->cap * 2 : e->len + n;
    uint8_t *b = cg_realloc(e->buf, cap);
    if (!b) return cg_err_set(e->err, CG_ENOMEM, "diffex PDU: %zu bytes", cap);
    e->buf = b, e->cap = cap;
  }
  memcpy(e->buf + e->len, p, n);
  e->len += n;
  return 0;
}

static int add_block(enc *e, int l, const uint32_t *v, uint32_t n) {
  int type;
  size_t size;
  int rc = encode_block(e, l, v, n, &type, &size);
  if (!rc) rc = append(e, e->best, size);
  if (rc) return rc;
  uint8_t *d = e->buf + HDR + (size_t)e->nb++ * DESC;
  d[0] = (uint8_t)type;
  d[1] = (uint8_t)(1u << l);
  put16(d + 2, n - 1);
  put16(d + 4, v[0] >> 16);
  put16(d + 6, (uint32_t)size - 1);
  return 0;
}

/* Length of the run of set l starting at i that shares v[i]'s key. */
static uint32_t run_len(const uint32_t *v, int64_t n, int64_t i) {
  int64_t j = i + 1;
  while (j < n && v[j] >> 16 == v[i] >> 16) j++;
  return (uint32_t)(j - i);
}

/* E1: merges the two sets' runs by key. */
static int add_blocks(enc *e) {
  const cg_pdu_args *a = e->a;
  int64_t at[2] = {0, 0};
  while (at[0] < a->n[0] || at[1] < a->n[1]) {
    uint32_t key = UINT32_MAX;
    for (int l = 0; l < 2; l++)
      if (at[l] < a->n[l] && a->set[l][at[l]] >> 16 < key) key = a->set[l][at[l]] >> 16;
    for (int l = 0; l < 2; l++) {
      if (at[l] >= a->n[l] || a->set[l][at[l]] >> 16 != key) continue;
      uint32_t r = run_len(a->set[l], a->n[l], at[l]);
      int rc = add_block(e, l, a->set[l] + at[l], r);
      if (rc) return rc;
      at[l] += r;
    }
  }
  return 0;
}

/* Checks the arguments; *nb = the number of blocks they need. */
static int check_args(const cg_pdu_args *a, int64_t *nb, cg_err *err) {
  if (a->top_n > 0xffff || a->pick < 0 || a->pick > CG_PDU_PICK_U16INVERTED || a->level < -1 || a->level > 12)
    return cg_err_set(err, CG_EINVAL, "diffex PDU: top_n %u, pick %d or level %d out of range", a->top_n,
                      a->pick, a->level);
  *nb = 0;
  for (int l = 0; l < 2; l++) {
    if (a->n[l] < 0 || (a->n[l] && !a->set[l]))
      return cg_err_set(err, CG_EINVAL, "diffex PDU: set%d missing", l + 1);
    for (int64_t i = 0; i < a->n[l]; i++) {
      if (i && a->set[l][i] <= a->set[l][i - 1])
        return cg_err_set(err, CG_EINVAL,
                          "diffex PDU: set%d not strictly increasing at position %lld (%u after %u)", l + 1,
                          (long long)i, a->set[l][i], a->set[l][i - 1]);
      if (!i || a->set[l][i] >> 16 != a->set[l][i - 1] >> 16) ++*nb;
    }
  }
  if (*nb == 0)
    return cg_err_set(err, CG_EINVAL, "diffex PDU: both sets are empty (a PDU holds at least one block)");
  if (*nb > KEY_SPAN)
    return cg_err_set(err, CG_ERANGE, "diffex PDU: the sets need %lld blocks, the format holds 65536",
                      (long long)*nb);
  return 0;
}

int cg_pdu_encode(const cg_pdu_args *a, uint8_t **out, size_t *len, cg_err *err) {
  *out = NULL;
  *len = 0;
  int64_t nb = 0;
  int rc = check_args(a, &nb, err);
  if (rc) return rc;
  enc e = {.a = a, .err = err, .cap = HDR + (size_t)nb * DESC + 1024};
  e.buf = cg_malloc(e.cap);
  e.raw = cg_malloc(RAW_MAX + 2 * KEY_SPAN); /* raw payload, then the u16 scratch of compress_as */
  e.best = cg_malloc(BLOCK_MAX);
  e.trial = cg_malloc(BLOCK_MAX);
  e.z = e.buf && e.raw && e.best && e.trial ? libdeflate_alloc_compressor(a->level == 0  ? 3
                                                                          : a->level < 0 ? 0
                                                                                         : a->level)
                                            : NULL;
  if (!e.z) {
    rc = cg_err_set(err, CG_ENOMEM, "diffex PDU: encoder buffers");
    goto done;
  }
  uint8_t hdr[HDR] = {CG_PDU_MAGIC, CG_PDU_TOPN, 0, 0, CG_PDU_PLIST_MAGIC, 0, 0, 0};
  put16(hdr + 2, a->top_n);
  put16(hdr + 6, (uint32_t)nb - 1);
  memcpy(e.buf, hdr, HDR);
  e.len = HDR + (size_t)nb * DESC;
  rc = add_blocks(&e);
  if (rc) goto done;
  *out = e.buf, *len = e.len;
  e.buf = NULL;
done:
  if (e.z) libdeflate_free_compressor(e.z);
  cg_free(e.trial);
  cg_free(e.best);
  cg_free(e.raw);
  cg_free(e.buf);
  return rc;
}
