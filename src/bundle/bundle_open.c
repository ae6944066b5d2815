/* bundle_open.c — maps a bundle and validates everything an accessor relies on (guarantees 1-6 in bundle.h).
 *
 * Design note
 *  Open is the single trust boundary: after it succeeds, no accessor does arithmetic on unchecked file data
 *  except matrix indices (checked by cg_bundle_verify). Open cost is O(header + TOC + META + every indptr,
 *  string-offset, codes and bool array) — i.e. O(n_obs + n_vars) per column, never O(nnz) — so a 16 GB bundle
 *  with a handful of columns opens in milliseconds.
 *
 *  Invariants checked, in order (each function below checks one group):
 *   1. header: magic, version, sizes, reserved zeros, flags, header+TOC checksum, id   (check_header)
 *   2. TOC: kinds known, sections contiguous at 64-byte boundaries in TOC order, sizes match counts,
 *      counts match the shape, the file ends at the last section's boundary              (check_toc)
 *   3. META: exact length, checksum, pool NUL-terminated, every reference in range, every referenced section of
 *      the kind and length its role needs, no section referenced twice                    (parse_meta, claim)
 *   4. contents of the small arrays: indptr, string offsets, codes, bools                 (check_* helpers)
 *   5. every section is referenced exactly once                                            (cg__bundle_open_mem)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "base/mem.h"
#include "bundle/bundle_fmt.h"
#include "bundle/bundle_int.h"

#define CORRUPT(...) cg_err_set(err, CG_ECORRUPT, __VA_ARGS__)

/* --- 1. header ------------------------------------------------------------------------------------------- */

static uint64_t header_sum(const uint8_t *base, uint32_t n_sec) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, base, CG_BH_CHECKSUM);
  XXH3_64bits_update(&st, base + CG_BFMT_HEADER_SIZE, (size_t)n_sec * CG_BFMT_TOC_ENTRY);
  return XXH3_64bits_digest(&st);
}

static int check_header(cg_bundle *b, cg_err *err) {
  const uint8_t *h = b->base;
  if (b->size < CG_BFMT_HEADER_SIZE) return CORRUPT("file too small for a bundle header (%zu bytes)", b->size);
  if (memcmp(h, CG_BFMT_MAGIC, 8) != 0) return CORRUPT("not a cellgate bundle (bad magic)");
  b->version = cg__ld32(h + CG_BH_VERSION);
  if (b->version != CG_BUNDLE_FORMAT_VERSION)
    return cg_err_set(err, CG_EUNSUPPORTED, "bundle format version %u (this build reads %d)", b->version,
                      CG_BUNDLE_FORMAT_VERSION);
  if (cg__ld32(h + CG_BH_HSIZE) != CG_BFMT_HEADER_SIZE || cg__ld64(h + CG_BH_TOCOFF) != CG_BFMT_HEADER_SIZE)
    return CORRUPT("header: bad header size or TOC offset");
  if (cg__ld64(h + CG_BH_FSIZE) != b->size)
    return CORRUPT("header: file is %zu bytes but the header records %llu (truncated?)", b->size,
                   (unsigned long long)cg__ld64(h + CG_BH_FSIZE));
  for (unsigned i = CG_BH_RESERVED; i < CG_BH_CHECKSUM; i++)
    if (h[i]) return CORRUPT("header: reserved byte %u is not zero", i);
  uint32_t flags = cg__ld32(h + CG_BH_FLAGS);
  if (flags & ~CG_BFLAG_MATRIX) return CORRUPT("header: unknown flags 0x%x", flags);
  b->has_matrix = (int)(flags & CG_BFLAG_MATRIX);
  b->n_sec = cg__ld32(h + CG_BH_NSEC);
  if (b->n_sec == 0 || b->n_sec > CG_BFMT_MAX_SECTIONS ||
      CG_BFMT_HEADER_SIZE + (uint64_t)b->n_sec * CG_BFMT_TOC_ENTRY > b->size)
    return CORRUPT("header: %u sections do not fit in the file", b->n_sec);
  if (!(b->flags & CG_BUNDLE_OPEN_NOCHECKSUM) && header_sum(h, b->n_sec) != cg__ld64(h + CG_BH_CHECKSUM))
    return CORRUPT("header/TOC checksum mismatch");
  XXH3_state_t st; /* the id covers header[0,64) and the TOC */
  XXH3_128bits_reset(&st);
  XXH3_128bits_update(&st, h, CG_BH_ID);
  XXH3_128bits_update(&st, h + CG_BFMT_HEADER_SIZE, (size_t)b->n_sec * CG_BFMT_TOC_ENTRY);
  XXH128_hash_t id = XXH3_128bits_digest(&st);
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, id);
  if (!(b->flags & CG_BUNDLE_OPEN_NOCHECKSUM) && memcmp(c.digest, h + CG_BH_ID, 16) != 0)
    return CORRUPT("header: id does not match the contents");
  for (int i = 0; i < 16; i++) snprintf(b->id + 2 * i, 3, "%02x", h[CG_BH_ID + i]);
  return 0;
}

static int check_shape(cg_bundle *b, cg_err *err) {
  uint64_t n_obs = cg__ld64(b->base + CG_BH_NOBS), n_vars = cg__ld64(b->base + CG_BH_NVARS);
  uint64_t nnz = cg__ld64(b->base + CG_BH_NNZ);
  if (n_obs > UINT32_MAX || n_vars > UINT32_MAX)
    return CORRUPT("header: shape %llu x %llu exceeds the 32-bit index range", (unsigned long long)n_obs,
                   (unsigned long long)n_vars);
  if ((!b->has_matrix && nnz) || (n_obs && nnz / n_obs > n_vars) || (!n_obs && nnz))
    return CORRUPT("header: nnz %llu impossible for a %llu x %llu matrix", (unsigned long long)nnz,
                   (unsigned long long)n_obs, (unsigned long long)n_vars);
  b->n_obs = (int64_t)n_obs, b->n_vars = (int64_t)n_vars, b->nnz = (int64_t)nnz;
  return 0;
}

/* --- 2. TOC ---------------------------------------------------------------------------------------------- */

/* Expected byte length of a section of kind with count elements and aux; 0 with *ok = 0 on overflow/bad. */
static uint64_t kind_length(const cg_bundle *b, uint32_t kind, uint64_t count, uint64_t aux, int *ok) {
  uint64_t lim = (uint64_t)b->size;
  *ok = kind != CG_BSEC_STRINGS ? aux == 0 : 1;
  switch (kind) {
  case CG_BSEC_META: case CG_BSEC_U8: return count;
  case CG_BSEC_CSR_INDPTR: *ok &= count == (uint64_t)b->n_obs + 1; return 8 * count;
  case CG_BSEC_CSC_INDPTR: *ok &= count == (uint64_t)b->n_vars + 1; return 8 * count;
  case CG_BSEC_CSR_INDICES: case CG_BSEC_CSR_DATA: case CG_BSEC_CSC_INDICES: case CG_BSEC_CSC_DATA:
    *ok &= count == (uint64_t)b->nnz; return 4 * count;
  case CG_BSEC_GENE_STATS: *ok &= count == (uint64_t)b->n_vars; return CG_BGS_BYTES_PER_GENE * count;
  case CG_BSEC_I32: case CG_BSEC_F32: *ok &= count <= lim; return 4 * count;
  case CG_BSEC_STRINGS: *ok &= count < lim / 8 && aux <= lim; return 8 * (count + 1) + aux;
  }
  *ok = 0;
  return 0;
}

static int check_entry(cg_bundle *b, uint32_t i, uint64_t at, cg_err *err) {
  const uint8_t *e = b->base + CG_BFMT_HEADER_SIZE + (uint64_t)i * CG_BFMT_TOC_ENTRY;
  cg__bsec *s = &b->sec[i];
  s->kind = cg__ld32(e + CG_BT_KIND), s->offset = cg__ld64(e + CG_BT_OFF), s->length = cg__ld64(e + CG_BT_LEN);
  s->count = cg__ld64(e + CG_BT_COUNT), s->checksum = cg__ld64(e + CG_BT_SUM), s->aux = cg__ld64(e + CG_BT_AUX);
  if (s->kind < 1 || s->kind > CG_BSEC_KIND_MAX) return CORRUPT("section %u: unknown kind %u", i, s->kind);
  if (cg__ld32(e + CG_BT_RES0) || cg__ld64(e + CG_BT_RES1) || cg__ld64(e + CG_BT_RES1 + 8))
    return CORRUPT("section %u: reserved TOC fields are not zero", i);
  if (s->offset != at) return CORRUPT("section %u (%s): at offset %llu, expected %llu", i,
                                      cg__bundle_kind_name(s->kind), (unsigned long long)s->offset,
                                      (unsigned long long)at);
  int ok;
  uint64_t want = kind_length(b, s->kind, s->count, s->aux, &ok);
  if (!ok || want != s->length || s->length > b->size - s->offset)
    return CORRUPT("section %u (%s): length %llu / count %llu inconsistent with the shape or the file size", i,
                   cg__bundle_kind_name(s->kind), (unsigned long long)s->length, (unsigned long long)s->count);
  return 0;
}

static int check_toc(cg_bundle *b, cg_err *err) {
  b->sec = cg_calloc(b->n_sec, sizeof *b->sec);
  b->use = cg_calloc(b->n_sec, sizeof *b->use);
  if (!b->sec || !b->use) return cg_err_set(err, CG_ENOMEM, "out of memory for %u sections", b->n_sec);
  for (int k = 0; k < 16; k++) b->sec_by_kind[k] = -1;
  uint64_t at = cg__align64(CG_BFMT_HEADER_SIZE + (uint64_t)b->n_sec * CG_BFMT_TOC_ENTRY);
  for (uint32_t i = 0; i < b->n_sec; i++) {
    if (at > b->size) return CORRUPT("section %u: starts past the end of the file", i);
    int rc = check_entry(b, i, at, err);
    if (rc) return rc;
    at = cg__align64(b->sec[i].offset + b->sec[i].length);
    uint32_t k = b->sec[i].kind;
    if (k <= CG_BSEC_GENE_STATS) {
      if (b->sec_by_kind[k] >= 0) return CORRUPT("section %u: second %s section", i, cg__bundle_kind_name(k));
      b->sec_by_kind[k] = (int)i;
    }
  }
  if (at != b->size) return CORRUPT("file size %zu does not end at the last section (%llu)", b->size,
                                    (unsigned long long)at);
  if (b->sec[0].kind != CG_BSEC_META) return CORRUPT("section 0 is not the META section");
  for (uint32_t k = CG_BSEC_CSR_INDPTR; k <= CG_BSEC_GENE_STATS; k++)
    if ((b->sec_by_kind[k] >= 0) != b->has_matrix)
      return CORRUPT("%s section %s", cg__bundle_kind_name(k), b->has_matrix ? "missing" : "without a matrix");
  return 0;
}

/* --- 4. contents of small arrays ------------------------------------------------------------------------- */

static int check_indptr(const cg_bundle *b, uint32_t kind, cg_err *err) {
  if (b->sec_by_kind[kind] < 0) return 0;
  uint32_t i = (uint32_t)b->sec_by_kind[kind];
  const uint64_t *p = (const uint64_t *)cg__bsec_ptr(b, i);
  uint64_t n = b->sec[i].count - 1, bad = 0;
  for (uint64_t k = 0; k < n; k++) bad |= p[k + 1] < p[k];
  if (p[0] != 0 || p[n] != (uint64_t)b->nnz || bad)
    return CORRUPT("section %u (%s): offsets not non-decreasing from 0 to nnz %lld", i,
                   cg__bundle_kind_name(kind), (long long)b->nnz);
  return 0;
}

int cg__bundle_strings(const cg_bundle *b, uint32_t sec, int64_t want_count, cg_bundle_strings *out, cg_err *err) {
  const cg__bsec *s = &b->sec[sec];
  if (s->kind != CG_BSEC_STRINGS || (want_count >= 0 && s->count != (uint64_t)want_count))
    return CORRUPT("section %u: expected a string table of %lld entries", sec, (long long)want_count);
  const uint64_t *o = (const uint64_t *)cg__bsec_ptr(b, sec);
  const char *blob = (const char *)(o + s->count + 1);
  uint64_t bad = o[0] != 0 || o[s->count] != s->aux;
  for (uint64_t k = 0; k < s->count; k++) bad |= o[k + 1] <= o[k];
  if (!bad)
    for (uint64_t k = 0; k < s->count; k++) bad |= (uint8_t)blob[o[k + 1] - 1];
  if (bad) return CORRUPT("section %u: string offsets not increasing inside the blob, or a string without NUL", sec);
  out->count = (int64_t)s->count, out->offsets = o, out->blob = blob;
  return 0;
}

static int check_codes(const int32_t *c, int64_t n, int64_t n_cat) {
  int32_t lo = 0, hi = -1;
  for (int64_t i = 0; i < n; i++) {
    lo = c[i] < lo ? c[i] : lo;
    hi = c[i] > hi ? c[i] : hi;
  }
  return lo >= -1 && hi < n_cat;
}

static int check_bytes01(const uint8_t *p, uint64_t n) {
  uint8_t acc = 0;
  for (uint64_t i = 0; i < n; i++) acc |= p[i];
  return (acc & 0xFE) == 0;
}

/* --- 3. META --------------------------------------------------------------------------------------------- */

typedef struct meta_rd {
  cg_bundle *b;
  const uint8_t *m;
  uint32_t pool_size;
  uint32_t n_refs;
  cg_err *err;
} meta_rd;

/* Pool string for ref r, or NULL for NONE when allowed; -1 on a bad ref. */
static int ref(meta_rd *r, uint32_t v, int allow_none, const char **out) {
  *out = NULL;
  if (v == CG_BFMT_NONE && allow_none) return 0;
  if (v >= r->pool_size) return -1;
  *out = r->b->pool + v;
  return 0;
}

/* Marks section sec as used by (owner, part, ordinal), checking its kind and element count (-1: any). */
static int claim(meta_rd *r, uint32_t sec, uint32_t kind, int64_t count, int owner, int part, uint32_t ord) {
  cg_bundle *b = r->b;
  cg_err *err = r->err;
  if (sec >= b->n_sec) return CORRUPT("META: reference to section %u of %u", sec, b->n_sec);
  if (b->use[sec].owner) return CORRUPT("META: section %u referenced twice", sec);
  if (b->sec[sec].kind != kind || (count >= 0 && b->sec[sec].count != (uint64_t)count))
    return CORRUPT("META: section %u is %s[%llu], expected %s[%lld]", sec, cg__bundle_kind_name(b->sec[sec].kind),
                   (unsigned long long)b->sec[sec].count, cg__bundle_kind_name(kind), (long long)count);
  b->use[sec] = (cg__bsec_use){(uint8_t)owner, (uint8_t)part, ord};
  return 0;
}

static int parse_values(meta_rd *r, cg_bundle_column *c, uint32_t vs, int owner, uint32_t ord) {
  cg_bundle *b = r->b;
  int rc = 0;
  switch (c->type) {
  case CG_BCOL_CATEGORICAL: case CG_BCOL_I32: rc = claim(r, vs, CG_BSEC_I32, c->n, owner, 0, ord); break;
  case CG_BCOL_F32: rc = claim(r, vs, CG_BSEC_F32, c->n, owner, 0, ord); break;
  case CG_BCOL_BOOL: rc = claim(r, vs, CG_BSEC_U8, c->n, owner, 0, ord); break;
  case CG_BCOL_STRING: rc = claim(r, vs, CG_BSEC_STRINGS, c->n, owner, 0, ord); break;
  }
  if (rc) return rc;
  if (c->type == CG_BCOL_STRING) return cg__bundle_strings(b, vs, c->n, &c->str, r->err);
  c->v.b = cg__bsec_ptr(b, vs);
  if (c->type == CG_BCOL_BOOL && !check_bytes01(c->v.b, (uint64_t)c->n))
    return cg_err_set(r->err, CG_ECORRUPT, "column '%s': bool values other than 0/1", c->name);
  return 0;
}

static int parse_column(meta_rd *r, int axis, uint32_t i, const uint8_t *rec, cg_bundle_column *c) {
  cg_err *err = r->err;
  int owner = 2 + axis, rc;
  c->n = axis ? r->b->n_vars : r->b->n_obs;
  c->type = (cg_bundle_coltype)rec[CG_BC_TYPE];
  c->ordered = rec[CG_BC_ORDERED];
  if (ref(r, cg__ld32(rec + CG_BC_NAME), 0, &c->name) || ref(r, cg__ld32(rec + CG_BC_DTYPE), 0, &c->dtype) ||
      ref(r, cg__ld32(rec + CG_BC_CATDTYPE), 1, &c->cat_dtype) || c->type < 1 || c->type > 5 || c->ordered > 1 ||
      rec[14] || rec[15] || cg__ld32(rec + CG_BC_RES))
    return CORRUPT("META: %s column %u: bad record", axis ? "var" : "obs", i);
  if (!c->cat_dtype) c->cat_dtype = "";
  if ((rc = parse_values(r, c, cg__ld32(rec + CG_BC_VALUES), owner, i))) goto done;
  uint32_t ds = cg__ld32(rec + CG_BC_DICT), vs = cg__ld32(rec + CG_BC_VALID);
  if ((c->type == CG_BCOL_CATEGORICAL) != (ds != CG_BFMT_NONE))
    return CORRUPT("META: column '%s': dictionary present iff categorical", c->name);
  if (ds != CG_BFMT_NONE) {
    if ((rc = claim(r, ds, CG_BSEC_STRINGS, -1, owner, 1, i))) goto done;
    if ((rc = cg__bundle_strings(r->b, ds, -1, &c->categories, err))) goto done;
    if (c->categories.count > INT32_MAX || !check_codes(c->v.codes, c->n, c->categories.count))
      return CORRUPT("column '%s': category codes out of range (%lld categories)", c->name,
                     (long long)c->categories.count);
  }
  if (vs != CG_BFMT_NONE) {
    if ((rc = claim(r, vs, CG_BSEC_U8, c->n, owner, 2, i))) goto done;
    c->valid = cg__bsec_ptr(r->b, vs);
    if (!check_bytes01(c->valid, (uint64_t)c->n)) return CORRUPT("column '%s': validity bytes not 0/1", c->name);
  }
done:
  if (rc) cg_err_prefix(err, "%s column '%s'", axis ? "var" : "obs", c->name);
  return rc;
}

static int parse_columns(meta_rd *r, int axis, const uint8_t *recs, uint32_t n) {
  cg_bundle *b = r->b;
  b->cols[axis] = cg_calloc(n ? n : 1, sizeof(cg_bundle_column));
  if (!b->cols[axis]) return cg_err_set(r->err, CG_ENOMEM, "out of memory for %u columns", n);
  b->n_cols[axis] = (int)n;
  for (uint32_t i = 0; i < n; i++) {
    int rc = parse_column(r, axis, i, recs + (uint64_t)i * CG_BM_COL, &b->cols[axis][i]);
    if (rc) return rc;
  }
  return 0;
}

static int parse_embeddings(meta_rd *r, const uint8_t *recs, uint32_t n) {
  cg_bundle *b = r->b;
  cg_err *err = r->err;
  b->emb = cg_calloc(n ? n : 1, sizeof *b->emb);
  if (!b->emb) return cg_err_set(err, CG_ENOMEM, "out of memory for %u embeddings", n);
  b->n_emb = (int)n;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *e = recs + (uint64_t)i * CG_BM_EMB;
    uint32_t dims = cg__ld32(e + 4), sec = cg__ld32(e + 8);
    if (ref(r, cg__ld32(e), 0, &b->emb[i].name) || dims < 1 || dims > INT32_MAX || cg__ld32(e + 12))
      return CORRUPT("META: embedding %u: bad record", i);
    int rc = claim(r, sec, CG_BSEC_F32, 2 * b->n_obs, 4, 0, i);
    if (rc) return cg_err_prefix(err, "embedding '%s'", b->emb[i].name);
    b->emb[i].dims = (int)dims;
    b->emb[i].xy = (const float *)cg__bsec_ptr(b, sec);
  }
  return 0;
}

static int parse_colors(meta_rd *r, const uint8_t *recs, uint32_t n) {
  cg_bundle *b = r->b;
  cg_err *err = r->err;
  const uint8_t *refs = recs + (uint64_t)n * CG_BM_CLR;
  b->colors = cg_calloc(n ? n : 1, sizeof *b->colors);
  b->color_refs = cg_calloc(r->n_refs ? r->n_refs : 1, sizeof *b->color_refs);
  if (!b->colors || !b->color_refs) return cg_err_set(err, CG_ENOMEM, "out of memory for colours");
  b->n_colors = (int)n;
  for (uint32_t k = 0; k < r->n_refs; k++)
    if (ref(r, cg__ld32(refs + 4 * (uint64_t)k), 0, &b->color_refs[k]))
      return CORRUPT("META: colour string %u: bad reference", k);
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *c = recs + (uint64_t)i * CG_BM_CLR;
    uint32_t cnt = cg__ld32(c + 4), first = cg__ld32(c + 8);
    if (ref(r, cg__ld32(c), 0, &b->colors[i].column) || first > r->n_refs || cnt > r->n_refs - first ||
        cnt > INT32_MAX || cg__ld32(c + 12))
      return CORRUPT("META: colours %u: bad record", i);
    b->colors[i].colors = b->color_refs + first;
    b->colors[i].n = (int)cnt;
  }
  return 0;
}

static int parse_head(meta_rd *r, const uint8_t *m) {
  cg_bundle *b = r->b;
  cg_err *err = r->err;
  if (ref(r, cg__ld32(m + CG_BM_TITLE), 1, &b->title) || ref(r, cg__ld32(m + CG_BM_DEFEMB), 1, &b->default_embedding) ||
      ref(r, cg__ld32(m + CG_BM_MATNAME), 1, &b->matrix_name) ||
      ref(r, cg__ld32(m + CG_BM_MATDTYPE), 1, &b->matrix_dtype) ||
      ref(r, cg__ld32(m + CG_BM_OBSIDXNAME), 1, &b->index_name[0]) ||
      ref(r, cg__ld32(m + CG_BM_VARIDXNAME), 1, &b->index_name[1]) || cg__ld64(m + CG_BM_RES))
    return CORRUPT("META: bad header reference");
  if ((b->matrix_name != NULL) != b->has_matrix || (b->matrix_dtype != NULL) != b->has_matrix)
    return CORRUPT("META: matrix name/dtype present iff the bundle has a matrix");
  for (int axis = 0; axis < 2; axis++) {
    uint32_t sec = cg__ld32(m + (axis ? CG_BM_VARIDXSEC : CG_BM_OBSIDXSEC));
    int64_t n = axis ? b->n_vars : b->n_obs;
    int rc = claim(r, sec, CG_BSEC_STRINGS, n, 5 + axis, 0, 0);
    if (!rc) rc = cg__bundle_strings(b, sec, n, &b->index[axis], err);
    if (rc) return cg_err_prefix(err, "%s index", axis ? "var" : "obs");
  }
  return 0;
}

static int parse_meta(cg_bundle *b, cg_err *err) {
  const cg__bsec *s = &b->sec[0];
  const uint8_t *m = cg__bsec_ptr(b, 0);
  if (!(b->flags & CG_BUNDLE_OPEN_NOCHECKSUM) && XXH3_64bits(m, s->length) != s->checksum)
    return CORRUPT("section 0 (meta): checksum mismatch");
  if (s->length < CG_BM_HEAD) return CORRUPT("META: too short");
  meta_rd r = {b, m, cg__ld32(m + CG_BM_POOL), cg__ld32(m + CG_BM_NCLRREF), err};
  uint64_t nc[2] = {cg__ld32(m + CG_BM_NOBSCOL), cg__ld32(m + CG_BM_NVARCOL)};
  uint64_t ne = cg__ld32(m + CG_BM_NEMB), nk = cg__ld32(m + CG_BM_NCLR);
  uint64_t want = CG_BM_HEAD + (nc[0] + nc[1]) * CG_BM_COL + ne * CG_BM_EMB + nk * CG_BM_CLR + 4 * (uint64_t)r.n_refs +
                  r.pool_size;
  if (want != s->length) return CORRUPT("META: length %llu, its counts need %llu", (unsigned long long)s->length,
                                        (unsigned long long)want);
  b->meta = m;
  b->pool = (const char *)m + s->length - r.pool_size;
  if (r.pool_size && b->pool[r.pool_size - 1] != '\0') return CORRUPT("META: string pool not NUL-terminated");
  const uint8_t *p = m + CG_BM_HEAD;
  int rc = parse_head(&r, m);
  if (!rc) rc = parse_columns(&r, 0, p, (uint32_t)nc[0]);
  if (!rc) rc = parse_columns(&r, 1, p + nc[0] * CG_BM_COL, (uint32_t)nc[1]);
  p += (nc[0] + nc[1]) * CG_BM_COL;
  if (!rc) rc = parse_embeddings(&r, p, (uint32_t)ne);
  if (!rc) rc = parse_colors(&r, p + ne * CG_BM_EMB, (uint32_t)nk);
  return rc;
}

/* --- open / lifetime ------------------------------------------------------------------------------------- */

static int claim_matrix(cg_bundle *b, cg_err *err) {
  b->use[0] = (cg__bsec_use){1, 0, 0};
  for (uint32_t k = CG_BSEC_CSR_INDPTR; k <= CG_BSEC_GENE_STATS; k++)
    if (b->sec_by_kind[k] >= 0) b->use[b->sec_by_kind[k]] = (cg__bsec_use){1, 0, 0};
  int rc = check_indptr(b, CG_BSEC_CSR_INDPTR, err);
  if (!rc) rc = check_indptr(b, CG_BSEC_CSC_INDPTR, err);
  for (uint32_t i = 0; !rc && i < b->n_sec; i++)
    if (!b->use[i].owner) rc = CORRUPT("section %u (%s) is not referenced", i, cg__bundle_kind_name(b->sec[i].kind));
  return rc;
}

void cg__bundle_free_tables(cg_bundle *b) {
  cg_free(b->sec);
  cg_free(b->use);
  cg_free(b->cols[0]);
  cg_free(b->cols[1]);
  cg_free(b->emb);
  cg_free(b->colors);
  cg_free(b->color_refs);
}

static int open_common(const void *data, size_t size, unsigned flags, int mapped, cg_bundle **out, cg_err *err) {
  cg_bundle *b = cg_calloc(1, sizeof *b);
  if (!b) return cg_err_set(err, CG_ENOMEM, "out of memory");
  atomic_init(&b->refs, 1);
  b->base = data, b->size = size, b->flags = flags;
  int rc = check_header(b, err);
  if (!rc) rc = check_shape(b, err);
  if (!rc) rc = check_toc(b, err);
  if (!rc) rc = parse_meta(b, err);
  if (!rc) rc = claim_matrix(b, err);
  if (rc) {
    cg__bundle_free_tables(b);
    cg_free(b);
    return rc;
  }
  b->mapped = mapped;
  *out = b;
  return 0;
}

int cg_bundle_open_mem(const void *data, size_t size, unsigned flags, cg_bundle **out, cg_err *err) {
  *out = NULL;
  if (!data && size) return cg_err_set(err, CG_EINVAL, "no data");
  return open_common(data, size, flags, 0, out, err);
}

int cg_bundle_open_ex(const char *path, unsigned flags, cg_bundle **out, cg_err *err) {
  *out = NULL;
  void *map = MAP_FAILED;
  size_t size = 0;
  int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    rc = cg_err_set(err, errno == ENOENT ? CG_ENOTFOUND : CG_EIO, "%s: %s", path, strerror(errno));
    goto done;
  }
  size = (size_t)st.st_size;
  if (size < CG_BFMT_HEADER_SIZE) {
    rc = cg_err_set(err, CG_ECORRUPT, "%s: %zu bytes is too small for a bundle", path, size);
    goto done;
  }
  map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    rc = cg_err_set(err, CG_EIO, "%s: mmap: %s", path, strerror(errno));
    goto done;
  }
  rc = open_common(map, size, flags, 1, out, err);
  if (rc) cg_err_prefix(err, "%s", path);
done:
  if (rc && map != MAP_FAILED) munmap(map, size);
  if (fd >= 0) close(fd);
  return rc;
}

int cg_bundle_open(const char *path, cg_bundle **out, cg_err *err) { return cg_bundle_open_ex(path, 0, out, err); }

cg_bundle *cg_bundle_retain(cg_bundle *b) {
  if (b) atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
  return b;
}

void cg_bundle_release(cg_bundle *b) {
  if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1) return;
  if (b->mapped) munmap((void *)b->base, b->size);
  cg__bundle_free_tables(b);
  cg_free(b);
}
