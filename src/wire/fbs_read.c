/* fbs_read.c — the bounds-checked NetEncoding Matrix decoder (contract in fbs_read.h; format facts F1-F5 in
 * fbs.c).
 *
 * Design note: every read goes through a `span` (buffer + length) and one of four checked accessors:
 *   u32_at / u16_at    scalar at a position: pos + size <= len
 *   deref              uoffset at pos: target = pos + u32, target < len (64-bit arithmetic, no wrap)
 *   field              slot i of the table at t: vtable = t - soffset inside the buffer, vtable length even,
 *                      >= 4 and inside the buffer; the slot's offset (0 = absent) plus the field's size lies
 *                      inside both the table's inline size and the buffer
 *   vector             count at v, elements v+4 .. v+4+count*size <= len
 * so no pointer is formed outside [buf, buf+len). Unions: the type byte must be a known v0.2 tag and the value
 * must be present when the type is not NONE.
 */
#include "wire/fbs_read.h"

#include <string.h>

#include "base/mem.h"

typedef struct span {
  const uint8_t *p;
  uint64_t n;
} span;

static int u32_at(span s, uint64_t pos, uint32_t *v) {
  if (pos > s.n || s.n - pos < 4) return 0;
  memcpy(v, s.p + pos, 4);
  return 1;
}

static int u16_at(span s, uint64_t pos, uint16_t *v) {
  if (pos > s.n || s.n - pos < 2) return 0;
  memcpy(v, s.p + pos, 2);
  return 1;
}

static int deref(span s, uint64_t pos, uint64_t *target) {
  uint32_t off;
  if (!u32_at(s, pos, &off)) return 0;
  *target = pos + off;
  return *target < s.n;
}

/* Position of field slot i of the table at t (size bytes wide), 0 when absent, -1 when malformed. */
static int64_t field(span s, uint64_t t, int slot, uint64_t size) {
  uint32_t so;
  uint16_t vlen, tlen, off;
  if (!u32_at(s, t, &so)) return -1;
  int64_t vt = (int64_t)t - (int64_t)(int32_t)so;
  if (vt < 0 || !u16_at(s, (uint64_t)vt, &vlen) || !u16_at(s, (uint64_t)vt + 2, &tlen)) return -1;
  if (vlen < 4 || (vlen & 1) || (uint64_t)vt + vlen > s.n || t + tlen > s.n) return -1;
  if (4u + 2u * (unsigned)slot + 2u > vlen) return 0;
  if (!u16_at(s, (uint64_t)vt + 4 + 2 * (uint64_t)slot, &off) || off == 0) return 0;
  if (off < 4 || (uint64_t)off + size > tlen) return -1;
  return (int64_t)(t + off);
}

/* The vector at v of elements size bytes each. */
static int vector(span s, uint64_t v, uint64_t size, const uint8_t **data, uint32_t *count) {
  if (!u32_at(s, v, count)) return 0;
  if ((uint64_t)*count * size > s.n - v - 4) return 0;
  *data = s.p + v + 4;
  return 1;
}

static uint64_t elem_size(uint8_t tag) {
  switch (tag) {
  case CG_FBS_FLOAT32:
  case CG_FBS_INT32:
  case CG_FBS_UINT32: return 4;
  case CG_FBS_FLOAT64: return 8;
  case CG_FBS_JSON: return 1;
  default: return 0;
  }
}

/* A union: type byte in slot ts, table offset in slot ts+1, the array table's slot 0 = the data vector. */
static int read_union(span s, uint64_t t, int ts, cg_fbs_rcol *c, cg_err *err) {
  memset(c, 0, sizeof *c);
  int64_t tp = field(s, t, ts, 1), vp = field(s, t, ts + 1, 4);
  if (tp < 0 || vp < 0) return cg_err_set(err, CG_EFORMAT, "fbs: malformed table");
  uint8_t tag = tp ? s.p[tp] : 0;
  if (tag == CG_FBS_NONE) return 0;
  if (tag > CG_FBS_INT16X) return cg_err_set(err, CG_EFORMAT, "fbs: unknown array type %u", tag);
  if (!elem_size(tag)) return cg_err_set(err, CG_EUNSUPPORTED, "fbs: array type %u is not supported here", tag);
  uint64_t arr, vec;
  if (!vp || !deref(s, (uint64_t)vp, &arr)) return cg_err_set(err, CG_EFORMAT, "fbs: union without a value");
  int64_t dp = field(s, arr, 0, 4);
  if (dp < 0) return cg_err_set(err, CG_EFORMAT, "fbs: malformed array table");
  c->type = (cg_fbs_type)tag;
  if (!dp) return 0; /* an absent data vector reads as empty */
  if (!deref(s, (uint64_t)dp, &vec) || !vector(s, vec, elem_size(tag), &c->data, &c->count))
    return cg_err_set(err, CG_EFORMAT, "fbs: array data out of bounds");
  return 0;
}

static int read_columns(span s, uint64_t root, cg_fbs_matrix *m, cg_err *err) {
  int64_t cp = field(s, root, 2, 4);
  if (cp < 0) return cg_err_set(err, CG_EFORMAT, "fbs: malformed matrix");
  if (!cp) return 0;
  uint64_t v;
  const uint8_t *offs;
  if (!deref(s, (uint64_t)cp, &v) || !vector(s, v, 4, &offs, &m->n_columns))
    return cg_err_set(err, CG_EFORMAT, "fbs: columns out of bounds");
  m->columns = cg_calloc(m->n_columns ? m->n_columns : 1, sizeof *m->columns);
  if (!m->columns) return cg_err_set(err, CG_ENOMEM, "fbs: columns");
  for (uint32_t i = 0; i < m->n_columns; i++) {
    uint64_t col;
    if (!deref(s, v + 4 + 4 * (uint64_t)i, &col)) return cg_err_set(err, CG_EFORMAT, "fbs: column %u", i);
    int rc = read_union(s, col, 0, &m->columns[i], err);
    if (rc) return rc;
  }
  return 0;
}

int cg_fbs_read(const uint8_t *buf, size_t len, cg_fbs_matrix *m, cg_err *err) {
  memset(m, 0, sizeof *m);
  span s = {buf, len};
  uint64_t root;
  if (!buf || !deref(s, 0, &root)) return cg_err_set(err, CG_EFORMAT, "fbs: no root table");
  int64_t r = field(s, root, 0, 4), c = field(s, root, 1, 4);
  if (r < 0 || c < 0) return cg_err_set(err, CG_EFORMAT, "fbs: malformed matrix");
  if (r) memcpy(&m->n_rows, buf + r, 4);
  if (c) memcpy(&m->n_cols, buf + c, 4);
  int rc = read_columns(s, root, m, err);
  if (!rc) rc = read_union(s, root, 3, &m->col_index, err);
  if (rc) cg_fbs_matrix_dispose(m);
  return rc;
}

void cg_fbs_matrix_dispose(cg_fbs_matrix *m) {
  if (!m) return;
  cg_free(m->columns);
  memset(m, 0, sizeof *m);
}

double cg_fbs_col_get(const cg_fbs_rcol *c, uint32_t i) {
  const uint8_t *p = c->data + (size_t)i * elem_size((uint8_t)c->type);
  float f;
  int32_t s;
  uint32_t u;
  double d;
  switch (c->type) {
  case CG_FBS_FLOAT32: memcpy(&f, p, 4); return f;
  case CG_FBS_INT32: memcpy(&s, p, 4); return s;
  case CG_FBS_UINT32: memcpy(&u, p, 4); return u;
  case CG_FBS_FLOAT64: memcpy(&d, p, 8); return d;
  default: return 0;
  }
}
