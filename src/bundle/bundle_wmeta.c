/* bundle_wmeta.c — encodes the META section (schema, names, dataset metadata) from the writer's plan.
 * Layout (docs/FORMAT.md "META"): 64-byte head | column records (obs then var, 32 B) | embedding records
 * (16 B) | colour records (16 B) | colour refs (u32) | string pool (NUL-terminated UTF-8). Section indices in
 * the records follow the writer's fixed section order (bundle_write.c design note); refs are pool offsets.
 */
#include <string.h>

#include "base/mem.h"
#include "bundle/bundle_fmt.h"
#include "bundle/bundle_wint.h"

typedef struct grow {
  uint8_t *p;
  size_t len, cap;
} grow;

static int grow_put(grow *g, const void *src, size_t n) {
  if (g->len + n > g->cap) {
    size_t cap = g->cap ? g->cap : 4096;
    while (cap < g->len + n) cap *= 2;
    uint8_t *q = cg_realloc(g->p, cap);
    if (!q) return CG_ENOMEM;
    g->p = q, g->cap = cap;
  }
  memcpy(g->p + g->len, src, n);
  g->len += n;
  return 0;
}

typedef struct mb {
  grow recs, refs, pool;
  uint32_t next_sec;
  int rc;
} mb;

/* Adds s to the pool and returns its ref (CG_BFMT_NONE for NULL). Errors stick in m->rc. */
static uint32_t str(mb *m, const char *s) {
  if (!s) return CG_BFMT_NONE;
  uint32_t at = (uint32_t)m->pool.len;
  if (m->pool.len + strlen(s) + 1 > UINT32_MAX - 1) m->rc = CG_ERANGE;
  if (!m->rc) m->rc = grow_put(&m->pool, s, strlen(s) + 1);
  return at;
}

static void put32(mb *m, grow *g, uint32_t v) {
  uint8_t b[4];
  cg__st32(b, v);
  if (!m->rc) m->rc = grow_put(g, b, 4);
}

static void column_rec(mb *m, const cg__colplan *cp) {
  const cg_column *c = cp->c;
  int cat = c->type == CG_COL_CATEGORICAL;
  uint8_t r[CG_BM_COL] = {0};
  cg__st32(r + CG_BC_NAME, str(m, c->name));
  cg__st32(r + CG_BC_DTYPE, str(m, c->dtype));
  cg__st32(r + CG_BC_CATDTYPE, cat ? str(m, c->cat_dtype) : CG_BFMT_NONE);
  r[CG_BC_TYPE] = (uint8_t)cp->stype;
  r[CG_BC_ORDERED] = cat && c->ordered;
  cg__st32(r + CG_BC_VALUES, m->next_sec++);
  cg__st32(r + CG_BC_DICT, cat ? m->next_sec++ : CG_BFMT_NONE);
  cg__st32(r + CG_BC_VALID, cp->has_valid ? m->next_sec++ : CG_BFMT_NONE);
  if (!m->rc) m->rc = grow_put(&m->recs, r, sizeof r);
}

static void extras(mb *m, const cg_bundle_input *in) {
  for (int i = 0; i < in->n_emb; i++) {
    uint8_t r[CG_BM_EMB] = {0};
    cg__st32(r, str(m, in->emb[i].name));
    cg__st32(r + 4, (uint32_t)in->emb[i].dims);
    cg__st32(r + 8, m->next_sec++);
    if (!m->rc) m->rc = grow_put(&m->recs, r, sizeof r);
  }
  uint32_t first = 0;
  for (int i = 0; i < in->n_colors; i++) {
    uint8_t r[CG_BM_CLR] = {0};
    cg__st32(r, str(m, in->colors[i].column));
    cg__st32(r + 4, (uint32_t)in->colors[i].n);
    cg__st32(r + 8, first);
    first += (uint32_t)in->colors[i].n;
    if (!m->rc) m->rc = grow_put(&m->recs, r, sizeof r);
    for (int k = 0; k < in->colors[i].n; k++) put32(m, &m->refs, str(m, in->colors[i].colors[k]));
  }
}

static void head(mb *m, const cg__plan *p, uint8_t *h) {
  const cg_bundle_input *in = p->in;
  uint32_t ncolref = 0;
  for (int i = 0; i < in->n_colors; i++) ncolref += (uint32_t)in->colors[i].n;
  memset(h, 0, CG_BM_HEAD);
  cg__st32(h + CG_BM_NOBSCOL, (uint32_t)p->n_cols[0]);
  cg__st32(h + CG_BM_NVARCOL, (uint32_t)p->n_cols[1]);
  cg__st32(h + CG_BM_NEMB, (uint32_t)in->n_emb);
  cg__st32(h + CG_BM_NCLR, (uint32_t)in->n_colors);
  cg__st32(h + CG_BM_NCLRREF, ncolref);
  cg__st32(h + CG_BM_TITLE, str(m, in->title));
  cg__st32(h + CG_BM_DEFEMB, str(m, in->default_embedding));
  cg__st32(h + CG_BM_MATNAME, str(m, in->matrix_name));
  cg__st32(h + CG_BM_MATDTYPE, in->matrix_name ? str(m, in->source_dtype) : CG_BFMT_NONE);
  cg__st32(h + CG_BM_OBSIDXNAME, str(m, in->obs->index_name));
  cg__st32(h + CG_BM_VARIDXNAME, str(m, in->var->index_name));
  cg__st32(h + CG_BM_OBSIDXSEC, 1);
  cg__st32(h + CG_BM_VARIDXSEC, 2);
}

int cg__bundle_meta_build(const cg__plan *p, uint8_t **out, size_t *len, cg_err *err) {
  mb m = {{0}, {0}, {0}, 3, 0};
  uint8_t h[CG_BM_HEAD];
  grow all = {0};
  head(&m, p, h);
  for (int axis = 0; axis < 2; axis++)
    for (int i = 0; i < p->n_cols[axis]; i++) column_rec(&m, &p->cols[axis][i]);
  extras(&m, p->in);
  cg__st32(h + CG_BM_POOL, (uint32_t)m.pool.len);
  if (!m.rc) m.rc = grow_put(&all, h, sizeof h);
  if (!m.rc && m.recs.len) m.rc = grow_put(&all, m.recs.p, m.recs.len);
  if (!m.rc && m.refs.len) m.rc = grow_put(&all, m.refs.p, m.refs.len);
  if (!m.rc && m.pool.len) m.rc = grow_put(&all, m.pool.p, m.pool.len);
  cg_free(m.recs.p);
  cg_free(m.refs.p);
  cg_free(m.pool.p);
  if (m.rc) {
    cg_free(all.p);
    return cg_err_set(err, m.rc, "META: %s", m.rc == CG_ENOMEM ? "out of memory" : "string pool over 4 GB");
  }
  *out = all.p, *len = all.len;
  return 0;
}
