/* h5ad_facts.h — for tests/unit/test_h5ad*.c: prints what cellgate's reader reads from an .h5ad file in
 * the "facts" format of tests/unit/h5ad_oracle.py (python3-anndata 0.8), and compares two fact lists.
 * Header-only (static functions) because every test_*.c is its own executable. */
#ifndef CG_TESTS_H5AD_FACTS_H
#define CG_TESTS_H5AD_FACTS_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5ad/h5ad.h"

typedef struct {
  char **line;
  int n, cap;
} facts;

static void facts_add(facts *f, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 64;
    f->line = realloc(f->line, (size_t)f->cap * sizeof *f->line);
  }
  f->line[f->n++] = strdup(buf);
}

static void facts_free(facts *f) {
  for (int i = 0; i < f->n; i++) free(f->line[i]);
  free(f->line);
  memset(f, 0, sizeof *f);
}

typedef struct {
  uint64_t h;
} fnv_t;
static void fnv_init(fnv_t *s) { s->h = 0xCBF29CE484222325ull; }
static void fnv_bytes(fnv_t *s, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++) s->h = (s->h ^ (unsigned char)b[i]) * 0x100000001B3ull;
}
static void fnv_str(fnv_t *s, const char *str) { /* one element: bytes + 0x1f, or "\0NA" when missing */
  if (!str) fnv_bytes(s, "\0NA", 3);
  else fnv_bytes(s, str, strlen(str)), fnv_bytes(s, "\x1f", 1);
}
static uint64_t fnv_strs(char **v, int64_t n) {
  fnv_t s;
  fnv_init(&s);
  for (int64_t i = 0; i < n; i++) fnv_str(&s, v[i]);
  return s.h;
}

static void column_facts(facts *out, const char *frame, const cg_column *c) {
  int64_t na = 0;
  for (int64_t i = 0; c->valid && i < c->n; i++) na += !c->valid[i];
  if (c->type == CG_COL_CATEGORICAL) {
    fnv_t s;
    char num[16];
    fnv_init(&s);
    for (int64_t i = 0; i < c->n; i++) {
      int k = snprintf(num, sizeof num, i ? ",%d" : "%d", c->v.codes[i]);
      fnv_bytes(&s, num, (size_t)k);
    }
    fnv_bytes(&s, "\x1f", 1);
    facts_add(out, "col %s %s categorical ncat=%d catdtype=%s ordered=%d cats=%016llx codes=%016llx", frame, c->name,
              c->n_categories, c->cat_dtype, c->ordered,
              (unsigned long long)fnv_strs(c->categories, c->n_categories), (unsigned long long)s.h);
  } else if (c->type == CG_COL_INT) {
    long long sum = 0;
    for (int64_t i = 0; i < c->n; i++) sum += (!c->valid || c->valid[i]) ? c->v.i64[i] : 0;
    facts_add(out, "col %s %s int %s na=%lld sum=%lld", frame, c->name, c->dtype, (long long)na, sum);
  } else if (c->type == CG_COL_BOOL) {
    long long t = 0;
    for (int64_t i = 0; i < c->n; i++) t += (!c->valid || c->valid[i]) && c->v.b[i];
    facts_add(out, "col %s %s bool %s na=%lld true=%lld", frame, c->name, c->dtype, (long long)na, t);
  } else if (c->type == CG_COL_FLOAT) {
    double sum = 0;
    for (int64_t i = 0; i < c->n; i++)
      if (isnan(c->v.f64[i])) na++;
      else sum += c->v.f64[i];
    facts_add(out, "col %s %s float %s na=%lld sum=%.17g", frame, c->name, c->dtype, (long long)na, sum);
  } else {
    for (int64_t i = 0; i < c->n && !c->valid; i++) na += c->v.str[i] == NULL;
    facts_add(out, "col %s %s string %s na=%lld hash=%016llx", frame, c->name, c->dtype, (long long)na,
              (unsigned long long)fnv_strs(c->v.str, c->n));
  }
}

static int frame_facts(facts *out, cg_h5ad *h, cg_axis ax, int raw, const char *label, cg_err *e) {
  cg_frame *f = NULL;
  int rc = cg_h5ad_read_frame(h, ax, raw, &f, e);
  if (rc) return rc;
  facts_add(out, "index %s name=%s n=%lld hash=%016llx", label, f->index_name ? f->index_name : "_index",
            (long long)f->n_rows, (unsigned long long)fnv_strs(f->index, f->n_rows));
  facts_add(out, "ncols %s %d", label, f->n_cols);
  for (int i = 0; i < f->n_cols; i++) column_facts(out, label, &f->cols[i]);
  cg_frame_free(f);
  return 0;
}

static int cmp_emb(const void *a, const void *b) {
  return strcmp(((const cg_embedding *)a)->name, ((const cg_embedding *)b)->name);
}

static int matrix_facts(facts *out, cg_h5ad *h, const char *which, cg_err *e) {
  cg_h5ad_matrix *m = NULL;
  int rc = cg_h5ad_matrix_open(h, which, &m, e);
  if (rc) return rc;
  const cg_matrix_info *mi = cg_h5ad_matrix_info(m);
  if (mi->format == CG_MAT_ABSENT) {
    facts_add(out, "matrix %s absent", which);
    cg_h5ad_matrix_close(m);
    return 0;
  }
  cg_h5ad_matrix_sort_lines(m, 1);
  int64_t nmaj = cg_h5ad_matrix_major(m) == CG_AXIS_OBS ? mi->n_rows : mi->n_cols, stored = 0, nan = 0;
  double sum = 0;
  cg_sparse_block b;
  cg_sparse_block_init(&b);
  for (int64_t first = 0; first < nmaj && rc == 0; first += 1000) {
    int64_t cnt = nmaj - first < 1000 ? nmaj - first : 1000;
    rc = cg_h5ad_matrix_read_block(m, first, cnt, &b, e);
    for (int64_t k = 0; rc == 0 && k < b.nnz; k++)
      if (isnan(b.val[k])) nan++;
      else sum += b.val[k];
    stored += rc ? 0 : b.nnz;
  }
  const char *fmt = mi->format == CG_MAT_CSR ? "csr" : mi->format == CG_MAT_CSC ? "csc" : "dense";
  if (rc == 0)
    facts_add(out, "matrix %s %s rows=%lld cols=%lld stored=%lld nan=%lld sum=%.17g", which, fmt, (long long)mi->n_rows,
              (long long)mi->n_cols, (long long)stored, (long long)nan, sum);
  cg_sparse_block_dispose(&b);
  cg_h5ad_matrix_close(m);
  return rc;
}

static void embedding_facts(facts *out, cg_embedding *em, int ne) {
  if (ne > 1) qsort(em, (size_t)ne, sizeof *em, cmp_emb);
  for (int i = 0; i < ne; i++) {
    double sx = 0, sy = 0;
    long long nan = 0;
    for (int64_t r = 0; r < em[i].n_rows; r++) {
      float x = em[i].xy[2 * r], y = em[i].xy[2 * r + 1];
      if (isnan(x)) nan++;
      else sx += x;
      if (isnan(y)) nan++;
      else sy += y;
    }
    facts_add(out, "obsm %s rows=%lld dims=%d sumx=%.17g sumy=%.17g nan=%lld", em[i].name, (long long)em[i].n_rows,
              em[i].dims, sx, sy, nan);
  }
}

static void uns_facts(facts *out, const cg_uns *u) {
  facts_add(out, "unskeys %d %016llx", u->n_keys, (unsigned long long)fnv_strs(u->keys, u->n_keys));
  char *one[1];
  if (u->title) one[0] = u->title, facts_add(out, "uns title %016llx", (unsigned long long)fnv_strs(one, 1));
  if (u->default_embedding)
    one[0] = u->default_embedding, facts_add(out, "uns default_embedding %016llx", (unsigned long long)fnv_strs(one, 1));
  for (int i = 0; i < u->n_colors; i++)
    facts_add(out, "colors %s n=%d %016llx", u->colors[i].column, u->colors[i].n,
              (unsigned long long)fnv_strs(u->colors[i].colors, u->colors[i].n));
}

/* Everything the oracle prints, from our reader. Returns 0, or the first error (e says what). */
static int h5ad_facts(const char *path, facts *out, cg_err *e) {
  cg_h5ad *h = NULL;
  int rc = cg_h5ad_open(path, &h, e);
  if (rc) return rc;
  facts_add(out, "shape %lld %lld", (long long)cg_h5ad_n_obs(h), (long long)cg_h5ad_n_vars(h));
  if ((rc = frame_facts(out, h, CG_AXIS_OBS, 0, "obs", e)) || (rc = frame_facts(out, h, CG_AXIS_VAR, 0, "var", e)))
    goto done;
  rc = frame_facts(out, h, CG_AXIS_VAR, 1, "rawvar", e);
  int has_raw = rc == 0;
  if (rc && rc != CG_ENOTFOUND) goto done;
  cg_embedding *em = NULL;
  int ne = 0;
  if ((rc = cg_h5ad_read_embeddings(h, &em, &ne, e))) goto done;
  embedding_facts(out, em, ne);
  cg_embeddings_free(em, ne);
  cg_uns *u = NULL;
  if ((rc = cg_h5ad_read_uns(h, &u, e))) goto done;
  uns_facts(out, u);
  cg_uns_free(u);
  if ((rc = matrix_facts(out, h, "X", e)) || (has_raw && (rc = matrix_facts(out, h, "raw", e)))) goto done;
  char **names = NULL;
  int nn = 0;
  if ((rc = cg_h5ad_layers(h, &names, &nn, e))) goto done;
  for (int i = 0; i < nn && rc == 0; i++) {
    char which[300];
    snprintf(which, sizeof which, "layer:%s", names[i]);
    rc = matrix_facts(out, h, which, e);
  }
  cg_h5ad_names_free(names, nn);
done:
  cg_h5ad_close(h);
  return rc;
}

/* Token-wise comparison; numbers (tokens or key=number) within 1e-9 relative or 1e-6 absolute. */
static int facts_line_equal(const char *a, const char *b) {
  char x[2048], y[2048], *sx, *sy;
  snprintf(x, sizeof x, "%s", a);
  snprintf(y, sizeof y, "%s", b);
  char *ta = strtok_r(x, " ", &sx), *tb = strtok_r(y, " ", &sy);
  for (; ta && tb; ta = strtok_r(NULL, " ", &sx), tb = strtok_r(NULL, " ", &sy)) {
    if (strcmp(ta, tb) == 0) continue;
    const char *ea = strchr(ta, '='), *eb = strchr(tb, '=');
    if (!ea || !eb || ea - ta != eb - tb || strncmp(ta, tb, (size_t)(ea - ta)) != 0) return 0;
    char *end1, *end2;
    double va = strtod(ea + 1, &end1), vb = strtod(eb + 1, &end2);
    if (*end1 || *end2 || end1 == ea + 1) return 0;
    if (!(fabs(va - vb) <= 1e-9 * fmax(fabs(va), fabs(vb)) + 1e-6)) return 0;
  }
  return ta == NULL && tb == NULL;
}

static int facts_load(const char *path, facts *out) {
  FILE *fp = fopen(path, "r");
  if (!fp) return -1;
  char buf[2048];
  while (fgets(buf, sizeof buf, fp)) {
    buf[strcspn(buf, "\n")] = '\0';
    if (buf[0]) facts_add(out, "%s", buf);
  }
  fclose(fp);
  return 0;
}

#endif
