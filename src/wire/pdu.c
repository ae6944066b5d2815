/* pdu.c — the diffex PDU decoder (contract in pdu.h; the encoder is pdu_encode.c).
 *
 * Design note
 *
 *  Upstream facts (repo chanzuckerberg/single-cell-explorer; "doc" = dev_docs/diffexpdu.md,
 *  "ts" = client/src/util/diffexpdu/{diffexpdu,postingslist,utils}.ts, "py" = server/common/diffexpdu/
 *  {diffexpdu,postingslist,utils}.py, "rest" = server/common/rest.py diffex_binary_post,
 *  "action" = client/src/actions/index.ts requestDifferentialExpression):
 *   U1. Every multi-byte integer is little-endian (doc; ts DataView(..., true); py struct "<").
 *   U2. PDU = magic 0xDE, mode u8 (0 TopN, 1 VarFilter = never implemented), N u16, then ONE posting list
 *       holding both sets as list ids 0 and 1 (ts diffexpdu.ts packDiffExHeader/packPostingsLists;
 *       py diffexpdu.py headerPacker "<BB" + topNParamsPacker "<H"). An older client wrote mode, 0, N
 *       with no magic; current ts and py both write and check 0xDE.
 *   U3. Posting list = magic 0xCE, n_lists-1 u8, n_blocks-1 u16, n_blocks descriptions of 8 bytes, then
 *       the blocks' bytes in description order (doc; ts pack/unpackPostingsListsHeader). Both encoders write
 *       n_lists-1 = 0 even for two lists (ts packPostingsListsHeader(pdu, 1, ...); py pack_into(.., 0, ..)),
 *       and both decoders ignore it: list membership comes from each block's mask.
 *   U4. Description = block_type u8, list_id_mask u8 (one bit: the list), n_elem-1 u16, key u16 (the high
 *       16 bits of every element), n_bytes-1 u16 (ts packBlockDescription; py blockDescriptionPacker
 *       "<BBHHH" with n_bytes-1 — the doc's table says n_bytes, the code of both sides stores it minus one).
 *   U5. Each block is compressed on its own as RAW deflate (ts pako.deflateRaw level 3 windowBits -15
 *       memLevel 9; py zlib.compressobj(level=3, wbits=-15, memLevel=9)); the PDU itself is sent as is
 *       (action: Content-Type application/octet-stream, no Content-Encoding).
 *   U6. Block payloads after inflating (doc; ts decode*Block; py _decode_*_block):
 *         0 bitarray : exactly 8192 bytes, bit i%8 of byte i/8 set for low part i (py asserts 8192 bytes);
 *         1 u16 list : 2*n_elem bytes: the low bytes of all values, then the high bytes (byte shuffle) of the
 *                      delta code (first value as is, then differences);
 *         2 inverted : u16 first, u16 last (INCLUSIVE: ts/py write arr[-1] and decode +1 — the doc's
 *                      half-open example is stale), then the values of [first, last] NOT in the block,
 *                      coded as a u16 list.
 *   U7. Encoders emit, per list, one block per key in increasing key order; blocks are ordered by key, set 0
 *       before set 1 for equal keys (ts/py stable sort by key). Sets are "sorted, unique", "must be disjoint"
 *       (ts DiffExArguments comment; py docstring) but nobody checks disjointness; sets are never empty.
 *   U8. rest: body <= 100 MiB, Content-Length required (411), octet-stream (415), any decode error → 400
 *       (py's decoder asserts mode == TopN, so the handler's "mode != TopN → 501" branch is never reached).
 *
 *  Layout:
 *     0  DE | mode | N.lo N.hi | CE | nl-1 | nb-1 (u16) | desc[0] .. desc[nb-1] | block 0 | block 1 | ...
 *        desc = type | mask | n_elem-1 (u16) | key (u16) | n_bytes-1 (u16)          (8 + 8*nb + sum n_bytes)
 *
 *  Invariants (checked in this order; each failure is CG_EFORMAT naming the field or block):
 *   I1. (decode)   len <= cg_pdu_body_bound(n_obs): the body cannot be larger than the largest valid PDU.
 *   I2. (header)   both magics match, mode is TopN, n_lists-1 <= 7, n_blocks <= 2 * ceil(n_obs / 65536).
 *   I3. (descs)    the descriptions fit in the body; type <= 2; mask is 0x01 or 0x02; key*65536 < n_obs;
 *                  within one list the keys strictly increase (so no cell can come from two blocks of a
 * list). I4. (descs)    8 + 8*nb + sum(n_bytes) == len exactly: no truncated block, no trailing byte. I5.
 * (inflate)  a block inflates from exactly its n_bytes into at most the size its type and n_elem allow (8192;
 * 2*n_elem; 4 + 2*(65536-n_elem)), and to exactly the size it needs. This caps the total inflated output at
 * 2*ceil(n_obs/65536) * 131076 bytes, whatever the body says. I6. (block)    decoded values are strictly
 * increasing, stay within the key's 65536 values and below n_obs, and there are exactly n_elem of them. Bits
 * are set only after these checks pass for the value, so the bitsets are never written out of bounds. After
 * I1..I6, count[l] = sum of n_elem over list l's blocks = popcount(set[l]).
 */
#include "wire/pdu.h"

#include <libdeflate.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"

enum { KEY_SPAN = 65536, BITARRAY_BYTES = 8192, HDR = 8, DESC = 8, SCRATCH = 4 + 2 * KEY_SPAN };

typedef struct desc {
  uint8_t type, list;
  uint32_t n_elem, key, n_bytes;
  size_t off; /* of the block's bytes in the body */
} desc;

typedef struct dec {
  const uint8_t *b;
  size_t len;
  int64_t n_obs;
  uint32_t nb;
  desc *d;
  uint8_t *scratch;
  struct libdeflate_decompressor *z;
  cg_pdu *out;
  cg_err *err;
} dec;

static const char *const type_name[3] = {"bitarray", "u16 list", "inverted u16 list"};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static int64_t n_keys(int64_t n_obs) { return (n_obs + KEY_SPAN - 1) / KEY_SPAN; }

size_t cg_pdu_body_bound(int64_t n_obs) {
  if (n_obs < 0) return 0;
  uint64_t bound = HDR + (uint64_t)(2 * n_keys(n_obs)) * ((uint64_t)DESC + KEY_SPAN);
  return bound < CG_PDU_BODY_MAX ? (size_t)bound : CG_PDU_BODY_MAX;
}

/* "diffex PDU block i (set s, key k, type): why" */
__attribute__((format(printf, 4, 5))) static int blk_err(dec *x, uint32_t i, int code, const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  const desc *d = &x->d[i];
  return cg_err_set(x->err, code, "diffex PDU block %u (set%u, key %u, %s, %u elements): %s", i,
                    (unsigned)d->list + 1, d->key, d->type <= 2 ? type_name[d->type] : "?", d->n_elem, why);
}

/* I1, I2: the 8 header bytes. */
static int parse_header(dec *x) {
  const uint8_t *b = x->b;
  if (x->len > cg_pdu_body_bound(x->n_obs))
    return cg_err_set(x->err, CG_EFORMAT,
                      "diffex PDU: body of %zu bytes is longer than any PDU for %lld cells "
                      "can be (%zu)",
                      x->len, (long long)x->n_obs, cg_pdu_body_bound(x->n_obs));
  if (x->len < HDR)
    return cg_err_set(x->err, CG_EFORMAT, "diffex PDU: truncated header (%zu bytes, need %d)", x->len, HDR);
  if (b[0] != CG_PDU_MAGIC)
    return cg_err_set(x->err, CG_EFORMAT, "diffex PDU: magic byte 0x%02x, expected 0x%02X", b[0],
                      CG_PDU_MAGIC);
  if (b[1] == CG_PDU_VARFILTER)
    return cg_err_set(x->err, CG_EUNSUPPORTED, "diffex PDU: mode 1 (VarFilter) is not implemented");
  if (b[1] != CG_PDU_TOPN)
    return cg_err_set(x->err, CG_EFORMAT, "diffex PDU: unknown mode %u (0 = TopN)", b[1]);
  if (b[4] != CG_PDU_PLIST_MAGIC)
    return cg_err_set(x->err, CG_EFORMAT,
                      "diffex PDU: posting-list magic byte 0x%02x at offset 4, expected 0x%02X", b[4],
                      CG_PDU_PLIST_MAGIC);
  if (b[5] > 7)
    return cg_err_set(x->err, CG_EFORMAT, "diffex PDU: n_lists-1 = %u at offset 5, at most 7", b[5]);
  x->nb = le16(b + 6) + 1u;
  if ((int64_t)x->nb > 2 * n_keys(x->n_obs))
    return cg_err_set(x->err, CG_EFORMAT, "diffex PDU: %u blocks, but 2 sets of %lld cells have at most %lld",
                      x->nb, (long long)x->n_obs, (long long)2 * n_keys(x->n_obs));
  x->out->mode = b[1];
  x->out->top_n = le16(b + 2);
  return 0;
}

/* I3 for one description. last_key[l] is the previous key of list l, or -1. */
static int check_desc(dec *x, uint32_t i, const uint8_t *p, int64_t last_key[2]) {
  desc *d = &x->d[i];
  d->type = p[0];
  d->list = p[1] == 2;
  d->n_elem = le16(p + 2) + 1u;
  d->key = le16(p + 4);
  d->n_bytes = le16(p + 6) + 1u;
  if (d->type > 2) return blk_err(x, i, CG_EFORMAT, "unknown block type %u (0..2)", d->type);
  if (p[1] != 1 && p[1] != 2)
    return blk_err(x, i, CG_EFORMAT,
                   "list_id_mask 0x%02x: must name exactly one of list 0 (0x01) or 1 (0x02)", p[1]);
  if ((int64_t)d->key * KEY_SPAN >= x->n_obs)
    return blk_err(x, i, CG_EFORMAT, "key starts at cell %lld, beyond n_obs %lld",
                   (long long)d->key * KEY_SPAN, (long long)x->n_obs);
  if ((int64_t)d->key <= last_key[d->list])
    return blk_err(x, i, CG_EFORMAT, "keys of a set must strictly increase (previous key %lld)",
                   (long long)last_key[d->list]);
  last_key[d->list] = d->key;
  return 0;
}

/* I3, I4: every description, and the block offsets. */
static int parse_descs(dec *x) {
  size_t need = HDR + (size_t)x->nb * DESC;
  if (x->len < need)
    return cg_err_set(x->err, CG_EFORMAT,
                      "diffex PDU: truncated block descriptions (%zu bytes, %u blocks need %zu)", x->len,
                      x->nb, need);
  x->d = cg_malloc_array(x->nb, sizeof *x->d);
  if (!x->d) return cg_err_set(x->err, CG_ENOMEM, "diffex PDU: %u block descriptions", x->nb);
  int64_t last_key[2] = {-1, -1};
  size_t off = need;
  for (uint32_t i = 0; i < x->nb; i++) {
    int rc = check_desc(x, i, x->b + HDR + (size_t)i * DESC, last_key);
    if (rc) return rc;
    x->d[i].off = off;
    off += x->d[i].n_bytes;
    if (off > x->len)
      return blk_err(x, i, CG_EFORMAT, "truncated: its %u bytes end at offset %zu, the body at %zu",
                     x->d[i].n_bytes, off, x->len);
  }
  if (off != x->len)
    return cg_err_set(x->err, CG_EFORMAT, "diffex PDU: %zu trailing bytes after the last block",
                      x->len - off);
  return 0;
}

/* I5: inflates block i into x->scratch; *got = its size. */
static int inflate_block(dec *x, uint32_t i, size_t *got) {
  const desc *d = &x->d[i];
  size_t cap = d->type == CG_PDU_BITARRAY  ? BITARRAY_BYTES
               : d->type == CG_PDU_U16LIST ? 2 * (size_t)d->n_elem
                                           : 4 + 2 * (size_t)(KEY_SPAN - d->n_elem);
  size_t used = 0;
  enum libdeflate_result r =
      libdeflate_deflate_decompress_ex(x->z, x->b + d->off, d->n_bytes, x->scratch, cap, &used, got);
  if (r == LIBDEFLATE_INSUFFICIENT_SPACE)
    return blk_err(x, i, CG_EFORMAT, "inflates to more than the %zu bytes such a block can need", cap);
  if (r != LIBDEFLATE_SUCCESS) return blk_err(x, i, CG_EFORMAT, "not a valid raw deflate stream");
  if (used != d->n_bytes)
    return blk_err(x, i, CG_EFORMAT, "deflate stream ends after %zu of its %u bytes", used, d->n_bytes);
  if (d->type != CG_PDU_U16INVERTED && *got != cap)
    return blk_err(x, i, CG_EFORMAT, "inflates to %zu bytes, expected %zu", *got, cap);
  return 0;
}

/* The first cell >= n_obs among the set bits v of bitset word gw, or -1. */
static int64_t first_beyond(int64_t n_obs, int64_t gw, uint64_t v) {
  int64_t base = gw * 64;
  if (base + 64 <= n_obs) return -1;
  if (base < n_obs) v = v >> (n_obs - base) << (n_obs - base);
  return v ? base + __builtin_ctzll(v) : -1;
}

/* A bitarray block ORs its 1024 words straight into the set (a key spans whole bitset words). */
static int bitarray_block(dec *x, uint32_t i) {
  const desc *d = &x->d[i];
  cg_bitset *s = &x->out->set[d->list];
  int64_t w0 = (int64_t)d->key * (KEY_SPAN / 64), pop = 0;
  for (int64_t w = 0; w < BITARRAY_BYTES / 8; w++) {
    uint64_t v = le64(x->scratch + 8 * w);
    if (!v) continue;
    int64_t bad = first_beyond(x->n_obs, w0 + w, v);
    if (bad >= 0)
      return blk_err(x, i, CG_EFORMAT, "bit for cell %lld is set, n_obs is %lld", (long long)bad,
                     (long long)x->n_obs);
    s->w[w0 + w] |= v;
    pop += __builtin_popcountll(v);
  }
  if (pop != d->n_elem) return blk_err(x, i, CG_EFORMAT, "%lld bits set, expected n_elem", (long long)pop);
  return 0;
}

/* Walks a delta-coded, byte-shuffled u16 list of k values (lo bytes at p, hi bytes at p + k) and checks I6;
 * on_value(x, i, v) is called for each value in increasing order. */
typedef int (*on_value_fn)(dec *x, uint32_t i, uint32_t v, void *ctx);

static int walk_u16(dec *x, uint32_t i, const uint8_t *p, uint32_t k, on_value_fn on_value, void *ctx) {
  uint32_t v = 0;
  for (uint32_t j = 0; j < k; j++) {
    uint32_t delta = p[j] | (uint32_t)p[k + j] << 8;
    if (j && !delta) return blk_err(x, i, CG_EFORMAT, "value %u repeats at position %u", v, j);
    v += delta;
    if (v >= KEY_SPAN) return blk_err(x, i, CG_EFORMAT, "value at position %u overflows 16 bits (%u)", j, v);
    int rc = on_value(x, i, v, ctx);
    if (rc) return rc;
  }
  return 0;
}

static int64_t cell_of(const dec *x, uint32_t i, uint32_t v) { return (int64_t)x->d[i].key * KEY_SPAN + v; }

static int on_list_value(dec *x, uint32_t i, uint32_t v, void *ctx) {
  int64_t cell = cell_of(x, i, v);
  if (cell >= x->n_obs)
    return blk_err(x, i, CG_EFORMAT, "cell %lld is not below n_obs %lld", (long long)cell,
                   (long long)x->n_obs);
  cg_bitset_set(&x->out->set[x->d[i].list], cell);
  return 0;
}

static int list_block(dec *x, uint32_t i) {
  return walk_u16(x, i, x->scratch, x->d[i].n_elem, on_list_value, NULL);
}

/* Inverted blocks: each missing value m closes the run [r->next, m) of present values. */
typedef struct run {
  uint32_t first, last, next; /* the block's range (inclusive) and the first value not yet emitted */
} run;

static int on_missing_value(dec *x, uint32_t i, uint32_t m, void *ctx) {
  run *r = ctx;
  if (m < r->first || m > r->last)
    return blk_err(x, i, CG_EFORMAT, "missing value %u outside the block's range [%u, %u]", m, r->first,
                   r->last);
  cg_bitset_set_range(&x->out->set[x->d[i].list], cell_of(x, i, r->next), cell_of(x, i, m));
  r->next = m + 1;
  return 0;
}

static int inverted_block(dec *x, uint32_t i, size_t got) {
  const desc *d = &x->d[i];
  if (got < 4 || (got & 1))
    return blk_err(x, i, CG_EFORMAT, "inflates to %zu bytes: need 4 + 2 per missing value", got);
  run r = {le16(x->scratch), le16(x->scratch + 2), le16(x->scratch)};
  uint32_t k = (uint32_t)(got - 4) / 2;
  if (r.first > r.last) return blk_err(x, i, CG_EFORMAT, "range first %u > last %u", r.first, r.last);
  if (cell_of(x, i, r.last) >= x->n_obs)
    return blk_err(x, i, CG_EFORMAT, "range ends at cell %lld, n_obs is %lld",
                   (long long)cell_of(x, i, r.last), (long long)x->n_obs);
  if (r.last - r.first + 1 != (uint64_t)d->n_elem + k)
    return blk_err(x, i, CG_EFORMAT, "range [%u, %u] minus %u missing values is not n_elem", r.first, r.last,
                   k);
  int rc = walk_u16(x, i, x->scratch + 4, k, on_missing_value, &r);
  if (rc) return rc;
  cg_bitset_set_range(&x->out->set[d->list], cell_of(x, i, r.next), cell_of(x, i, r.last) + 1);
  return 0;
}

static int decode_block(dec *x, uint32_t i) {
  size_t got = 0;
  int rc = inflate_block(x, i, &got);
  if (rc) return rc;
  const desc *d = &x->d[i];
  x->out->blocks[d->type]++;
  x->out->count[d->list] += d->n_elem;
  if (d->type == CG_PDU_BITARRAY) return bitarray_block(x, i);
  if (d->type == CG_PDU_U16LIST) return list_block(x, i);
  return inverted_block(x, i, got);
}

static int decode_blocks(dec *x) {
  cg_pdu *o = x->out;
  if (cg_bitset_init(&o->set[0], x->n_obs) || cg_bitset_init(&o->set[1], x->n_obs))
    return cg_err_set(x->err, CG_ENOMEM, "diffex PDU: two sets of %lld cells", (long long)x->n_obs);
  x->scratch = cg_malloc(SCRATCH);
  x->z = x->scratch ? libdeflate_alloc_decompressor() : NULL;
  if (!x->z) return cg_err_set(x->err, CG_ENOMEM, "diffex PDU: inflate buffers");
  for (uint32_t i = 0; i < x->nb; i++) {
    int rc = decode_block(x, i);
    if (rc) return rc;
  }
  for (int64_t w = 0; w < cg_bitset_words(&o->set[0]); w++)
    o->n_overlap += __builtin_popcountll(o->set[0].w[w] & o->set[1].w[w]);
  return 0;
}

int cg_pdu_decode(const void *body, size_t len, int64_t n_obs, cg_pdu *out, cg_err *err) {
  memset(out, 0, sizeof *out);
  if (n_obs < 0 || n_obs > CG_PDU_MAX_NOBS || (!body && len))
    return cg_err_set(err, CG_EINVAL, "diffex PDU: n_obs %lld outside [0, 2^32] or no body",
                      (long long)n_obs);
  dec x = {.b = body, .len = len, .n_obs = n_obs, .out = out, .err = err};
  out->n_obs = n_obs;
  int rc = parse_header(&x);
  if (!rc) rc = parse_descs(&x);
  if (!rc) rc = decode_blocks(&x);
  if (x.z) libdeflate_free_decompressor(x.z);
  cg_free(x.scratch);
  cg_free(x.d);
  if (rc) cg_pdu_dispose(out);
  return rc;
}

void cg_pdu_dispose(cg_pdu *p) {
  if (!p) return;
  cg_bitset_dispose(&p->set[0]);
  cg_bitset_dispose(&p->set[1]);
  memset(p, 0, sizeof *p);
}

int cg_pdu_indices(const cg_bitset *s, uint32_t **idx, int64_t *n, cg_err *err) {
  int64_t c = cg_bitset_count(s), k = 0;
  *idx = cg_malloc_array(c ? (size_t)c : 1, sizeof **idx);
  *n = 0;
  if (!*idx) return cg_err_set(err, CG_ENOMEM, "index list of %lld cells", (long long)c);
  for (int64_t w = 0; w < cg_bitset_words(s); w++)
    for (uint64_t v = s->w[w]; v; v &= v - 1) (*idx)[k++] = (uint32_t)(w * 64 + __builtin_ctzll(v));
  *n = k;
  return 0;
}
