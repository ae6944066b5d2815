/* bundle_write.c — cg_bundle_write: plans the sections, writes META and the annotation sections, runs the
 * matrix passes (bundle_matrix.c), then the TOC + header, fsync, and the atomic rename.
 *
 * Design note
 *  Section order is fixed by the input alone (invariant: same input => same bytes => same id):
 *    0 META | 1 obs index | 2 var index | obs columns (values [, categories] [, validity]) in frame order |
 *    var columns likewise | embeddings in input order | gene stats | CSR indptr | CSC indptr |
 *    CSR indices | CSR data | CSC indices | CSC data            (the last seven only with a matrix)
 *  plan() decides each column's stored type and whether it has a validity section, and counts the sections,
 *  so META (section 0) can name every section by index before any is written, and the TOC size is known.
 *
 *    input ──plan()──> cg__colplan[] ──build_meta()──> META ──emit_*()──> sections ──matrix──> finish ──rename
 *
 *  Failure at any step closes and unlinks "<path>.tmp.<pid>"; the error names the section or line at fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "bundle/bundle_fmt.h"
#include "bundle/bundle_wint.h"

/* --- planning and input checks --------------------------------------------------------------------------- */

static int fits_i32(const cg_column *c) {
  for (int64_t i = 0; i < c->n; i++)
    if (c->v.i64[i] < INT32_MIN || c->v.i64[i] > INT32_MAX) return 0;
  return 1;
}

static int check_column(const cg_column *c, int64_t n, const char *ax, cg_err *err) {
  if (!c->name) return cg_err_set(err, CG_EINVAL, "%s column without a name", ax);
  if (c->n != n) return cg_err_set(err, CG_EINVAL, "%s column '%s': %lld values for %lld rows", ax, c->name,
                                   (long long)c->n, (long long)n);
  if (c->type < CG_COL_CATEGORICAL || c->type > CG_COL_STRING || (n && !c->v.codes))
    return cg_err_set(err, CG_EINVAL, "%s column '%s': bad type or no values", ax, c->name);
  if (c->type != CG_COL_CATEGORICAL) return 0;
  if (c->n_categories < 0 || (c->n_categories && !c->categories))
    return cg_err_set(err, CG_EINVAL, "%s column '%s': bad categories", ax, c->name);
  for (int32_t k = 0; k < c->n_categories; k++)
    if (!c->categories[k]) return cg_err_set(err, CG_EINVAL, "%s column '%s': category %d is NULL", ax, c->name, k);
  for (int64_t i = 0; i < n; i++)
    if (c->v.codes[i] < -1 || c->v.codes[i] >= c->n_categories)
      return cg_err_set(err, CG_ERANGE, "%s column '%s' row %lld: code %d out of range (%d categories)", ax,
                        c->name, (long long)i, c->v.codes[i], c->n_categories);
  return 0;
}

static int plan_axis(cg__plan *p, int axis, cg_err *err) {
  const cg_frame *f = axis ? p->in->var : p->in->obs;
  int64_t n = axis ? p->in->n_vars : p->in->n_obs;
  const char *ax = axis ? "var" : "obs";
  if (!f || f->n_rows != n || f->n_cols < 0 || (f->n_cols && !f->cols))
    return cg_err_set(err, CG_EINVAL, "%s frame missing or has %lld rows for %lld", ax, f ? (long long)f->n_rows : -1LL,
                      (long long)n);
  p->cols[axis] = cg_calloc((size_t)f->n_cols + 1, sizeof(cg__colplan));
  if (!p->cols[axis]) return cg_err_set(err, CG_ENOMEM, "out of memory planning %s columns", ax);
  p->n_cols[axis] = f->n_cols;
  for (int i = 0; i < f->n_cols; i++) {
    const cg_column *c = &f->cols[i];
    cg__colplan *cp = &p->cols[axis][i];
    int rc = check_column(c, n, ax, err);
    if (rc) return rc;
    static const cg_bundle_coltype map[] = {0, CG_BCOL_CATEGORICAL, CG_BCOL_F32, CG_BCOL_I32, CG_BCOL_BOOL,
                                            CG_BCOL_STRING};
    cp->c = c;
    cp->stype = c->type == CG_COL_INT && !fits_i32(c) ? CG_BCOL_F32 : map[c->type];
    cp->has_valid = c->valid != NULL;
    for (int64_t k = 0; c->type == CG_COL_STRING && !cp->has_valid && k < n; k++) cp->has_valid = !c->v.str[k];
    p->n_sec += 1u + (c->type == CG_COL_CATEGORICAL) + (cp->has_valid != 0);
  }
  return 0;
}

static int check_input(const cg_bundle_input *in, cg_err *err) {
  if (in->n_obs < 0 || in->n_vars < 0 || in->n_obs > UINT32_MAX || in->n_vars > UINT32_MAX)
    return cg_err_set(err, CG_EINVAL, "shape %lld x %lld out of range", (long long)in->n_obs, (long long)in->n_vars);
  for (int i = 0; i < in->n_emb; i++)
    if (!in->emb[i].name || in->emb[i].dims < 1 || (in->n_obs && !in->emb[i].xy))
      return cg_err_set(err, CG_EINVAL, "embedding %d: missing name, dims or values", i);
  for (int i = 0; i < in->n_colors; i++) {
    if (!in->colors[i].column || in->colors[i].n < 0 || (in->colors[i].n && !in->colors[i].colors))
      return cg_err_set(err, CG_EINVAL, "colours %d: missing column or values", i);
    for (int k = 0; k < in->colors[i].n; k++)
      if (!in->colors[i].colors[k]) return cg_err_set(err, CG_EINVAL, "colours for '%s': entry %d is NULL",
                                                      in->colors[i].column, k);
  }
  if (in->matrix_name && (!in->read_block || !in->source_dtype || in->nnz < 0 || (unsigned)in->major_axis > 1))
    return cg_err_set(err, CG_EINVAL, "matrix '%s': missing reader or dtype, or bad nnz/axis", in->matrix_name);
  return 0;
}

static int make_plan(cg__plan *p, const cg_bundle_input *in, cg_err *err) {
  memset(p, 0, sizeof *p);
  p->in = in;
  int rc = check_input(in, err);
  if (!rc) rc = plan_axis(p, 0, err);
  if (!rc) rc = plan_axis(p, 1, err);
  p->n_sec += 3u + (uint32_t)in->n_emb + (in->matrix_name ? 7u : 0u);
  return rc;
}

static void plan_dispose(cg__plan *p) {
  cg_free(p->cols[0]);
  cg_free(p->cols[1]);
}

/* --- annotation sections --------------------------------------------------------------------------------- */

#define CHUNK 16384

/* Row i's string of a string array that may be NULL (then decimal row numbers, like a RangeIndex). */
static const char *str_at(char *const *s, int64_t i, char tmp[24]) {
  if (s) return s[i] ? s[i] : "";
  snprintf(tmp, 24, "%lld", (long long)i);
  return tmp;
}

static int emit_strings(cg__bw *w, char *const *s, int64_t n) {
  char tmp[24];
  uint64_t blob = 0, o[CHUNK];
  for (int64_t i = 0; i < n; i++) blob += strlen(str_at(s, i, tmp)) + 1;
  int rc = cg__bw_begin(w, CG_BSEC_STRINGS, (uint64_t)n, blob);
  if (rc < 0) return rc;
  rc = 0;
  uint64_t at = 0;
  o[0] = 0;
  int64_t k = 1;
  for (int64_t i = 0; i < n && !rc; i++) {
    at += strlen(str_at(s, i, tmp)) + 1;
    o[k++] = at;
    if (k == CHUNK) rc = cg__bw_put(w, o, sizeof o), k = 0;
  }
  if (!rc) rc = cg__bw_put(w, o, (size_t)k * 8);
  for (int64_t i = 0; i < n && !rc; i++) {
    const char *v = str_at(s, i, tmp);
    rc = cg__bw_put(w, v, strlen(v) + 1);
  }
  return rc ? rc : cg__bw_end(w);
}

static int emit_values(cg__bw *w, const cg__colplan *cp) {
  const cg_column *c = cp->c;
  int64_t n = c->n;
  if (cp->stype == CG_BCOL_STRING) return emit_strings(w, c->v.str, n);
  uint32_t kind = cp->stype == CG_BCOL_F32 ? CG_BSEC_F32 : cp->stype == CG_BCOL_BOOL ? CG_BSEC_U8 : CG_BSEC_I32;
  int rc = cg__bw_begin(w, kind, (uint64_t)n, 0);
  if (rc < 0) return rc;
  rc = 0;
  union { float f[CHUNK]; int32_t i[CHUNK]; uint8_t b[CHUNK]; } t;
  for (int64_t s = 0; s < n && !rc; s += CHUNK) {
    int64_t m = n - s < CHUNK ? n - s : CHUNK;
    size_t bytes = (size_t)m * 4;
    if (c->type == CG_COL_CATEGORICAL) memcpy(t.i, c->v.codes + s, bytes);
    else if (c->type == CG_COL_FLOAT) for (int64_t k = 0; k < m; k++) t.f[k] = (float)c->v.f64[s + k];
    else if (cp->stype == CG_BCOL_F32) for (int64_t k = 0; k < m; k++) t.f[k] = (float)c->v.i64[s + k];
    else if (c->type == CG_COL_INT) for (int64_t k = 0; k < m; k++) t.i[k] = (int32_t)c->v.i64[s + k];
    else for (int64_t k = 0; k < m; k++) t.b[k] = c->v.b[s + k] != 0, bytes = (size_t)m;
    rc = cg__bw_put(w, &t, bytes);
  }
  return rc ? rc : cg__bw_end(w);
}

static int emit_valid(cg__bw *w, const cg__colplan *cp) {
  const cg_column *c = cp->c;
  uint8_t t[CHUNK];
  int rc = cg__bw_begin(w, CG_BSEC_U8, (uint64_t)c->n, 0);
  if (rc < 0) return rc;
  rc = 0;
  for (int64_t s = 0; s < c->n && !rc; s += CHUNK) {
    int64_t m = c->n - s < CHUNK ? c->n - s : CHUNK;
    for (int64_t k = 0; k < m; k++) t[k] = c->valid ? c->valid[s + k] != 0 : c->v.str[s + k] != NULL;
    rc = cg__bw_put(w, t, (size_t)m);
  }
  return rc ? rc : cg__bw_end(w);
}

static int emit_column(cg__bw *w, const cg__colplan *cp, const char *ax) {
  const cg_column *c = cp->c;
  int rc = emit_values(w, cp);
  if (rc >= 0 && c->type == CG_COL_CATEGORICAL) rc = emit_strings(w, c->categories, c->n_categories);
  if (rc >= 0 && cp->has_valid) rc = emit_valid(w, cp);
  if (rc < 0) cg_err_prefix(w->err, "%s column '%s'", ax, c->name);
  return rc < 0 ? rc : 0;
}

static int emit_embedding(cg__bw *w, const cg_bundle_embedding *e, int64_t n_obs) {
  int rc = cg__bw_begin(w, CG_BSEC_F32, 2 * (uint64_t)n_obs, 0);
  if (rc >= 0) rc = cg__bw_put(w, e->xy, (size_t)n_obs * 2 * sizeof(float));
  if (rc >= 0) rc = cg__bw_end(w);
  if (rc < 0) cg_err_prefix(w->err, "embedding '%s'", e->name);
  return rc < 0 ? rc : 0;
}

static int emit_annotations(cg__bw *w, const cg__plan *p) {
  const cg_bundle_input *in = p->in;
  uint8_t *meta = NULL;
  size_t len = 0;
  int rc = cg__bundle_meta_build(p, &meta, &len, w->err);
  if (!rc && (rc = cg__bw_begin(w, CG_BSEC_META, len, 0)) >= 0) rc = cg__bw_put(w, meta, len);
  if (rc >= 0) rc = cg__bw_end(w);
  cg_free(meta);
  if (rc >= 0) rc = emit_strings(w, in->obs->index, in->n_obs);
  if (rc >= 0) rc = emit_strings(w, in->var->index, in->n_vars);
  if (rc < 0) return rc;
  for (int axis = 0; axis < 2 && !rc; axis++)
    for (int i = 0; i < p->n_cols[axis] && !rc; i++) rc = emit_column(w, &p->cols[axis][i], axis ? "var" : "obs");
  for (int i = 0; i < in->n_emb && !rc; i++) rc = emit_embedding(w, &in->emb[i], in->n_obs);
  return rc ? rc : cg__bw_flush(w);
}

/* --- the whole write ------------------------------------------------------------------------------------- */

static int write_all(int fd, const cg__plan *p, cg_err *err) {
  const cg_bundle_input *in = p->in;
  cg__bw w;
  int64_t nnz = 0;
  int rc = cg__bw_init(&w, fd, p->n_sec, err);
  if (!rc) rc = emit_annotations(&w, p);
  if (!rc && in->matrix_name) rc = cg__bundle_matrix(&w, in, &nnz, err);
  if (!rc) rc = cg__bw_finish(&w, in->n_obs, in->n_vars, nnz, in->matrix_name != NULL);
  cg__bw_dispose(&w);
  return rc;
}

static int publish(int fd, const char *tmp, const char *path, cg_err *err) {
  if (fsync(fd) != 0) return cg_err_set(err, CG_EIO, "%s: fsync: %s", tmp, strerror(errno));
  if (rename(tmp, path) != 0) return cg_err_set(err, CG_EIO, "renaming %s to %s: %s", tmp, path, strerror(errno));
  char dir[4096];
  const char *slash = strrchr(path, '/');
  snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) (void)(fsync(dfd) + close(dfd)); /* best effort: the rename itself is done */
  return 0;
}

int cg_bundle_write(const cg_bundle_input *in, const char *path, cg_err *err) {
  cg__plan p;
  char *tmp = NULL;
  int fd = -1, rc = make_plan(&p, in, err);
  if (rc) goto done;
  size_t n = strlen(path) + 32;
  if (!(tmp = cg_malloc(n))) {
    rc = cg_err_set(err, CG_ENOMEM, "out of memory");
    goto done;
  }
  snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
  fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = cg_err_set(err, CG_EIO, "%s: %s", tmp, strerror(errno));
    goto done;
  }
  rc = write_all(fd, &p, err);
  if (!rc) rc = publish(fd, tmp, path, err);
done:
  if (fd >= 0) close(fd);
  if (rc && fd >= 0) unlink(tmp);
  cg_free(tmp);
  plan_dispose(&p);
  return rc;
}
