/* bundle_read.c — accessors over an opened bundle, section listing, and full verification.
 *
 * Design note
 *  Accessors are pure reads of tables built and validated by bundle_open.c: no locks, no allocation, any
 *  thread. cg_bundle_verify is the only O(file size) operation: it splits the work into tasks (one checksum per
 *  section, one index scan per matrix orientation), which two threads take largest first from a shared atomic
 *  cursor; the first failing task (by task order) is reported.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "base/mem.h"
#include "bundle/bundle_fmt.h"
#include "bundle/bundle_int.h"

const char *cg__bundle_kind_name(uint32_t kind) {
  static const char *const names[] = {"unknown",     "meta",     "csr.indptr", "csr.indices", "csr.data",
                                      "csc.indptr",  "csc.indices", "csc.data", "gene_stats", "strings",
                                      "int32",       "float32",  "uint8"};
  return kind <= CG_BSEC_KIND_MAX ? names[kind] : names[0];
}

const char *cg_bundle_id(const cg_bundle *b) { return b->id; }
uint32_t cg_bundle_format_version(const cg_bundle *b) { return b->version; }
uint64_t cg_bundle_file_size(const cg_bundle *b) { return b->size; }
int64_t cg_bundle_n_obs(const cg_bundle *b) { return b->n_obs; }
int64_t cg_bundle_n_vars(const cg_bundle *b) { return b->n_vars; }
int cg_bundle_has_matrix(const cg_bundle *b) { return b->has_matrix; }
const char *cg_bundle_matrix_name(const cg_bundle *b) { return b->matrix_name; }
const char *cg_bundle_matrix_dtype(const cg_bundle *b) { return b->matrix_dtype; }
int64_t cg_bundle_nnz(const cg_bundle *b) { return b->nnz; }
const char *cg_bundle_title(const cg_bundle *b) { return b->title; }
const char *cg_bundle_default_embedding(const cg_bundle *b) { return b->default_embedding; }

static int fill_csx(const cg_bundle *b, uint32_t kptr, cg_bundle_csx *out) {
  memset(out, 0, sizeof *out);
  if (!b->has_matrix) return CG_ENOTFOUND;
  int csr = kptr == CG_BSEC_CSR_INDPTR;
  out->n_major = csr ? b->n_obs : b->n_vars;
  out->n_minor = csr ? b->n_vars : b->n_obs;
  out->nnz = b->nnz;
  out->indptr = (const uint64_t *)cg__bsec_ptr(b, (uint32_t)b->sec_by_kind[kptr]);
  out->indices = (const uint32_t *)cg__bsec_ptr(b, (uint32_t)b->sec_by_kind[kptr + 1]);
  out->data = (const float *)cg__bsec_ptr(b, (uint32_t)b->sec_by_kind[kptr + 2]);
  return 0;
}

int cg_bundle_csr(const cg_bundle *b, cg_bundle_csx *out) { return fill_csx(b, CG_BSEC_CSR_INDPTR, out); }
int cg_bundle_csc(const cg_bundle *b, cg_bundle_csx *out) { return fill_csx(b, CG_BSEC_CSC_INDPTR, out); }

int cg_bundle_gene_stats_get(const cg_bundle *b, cg_bundle_gene_stats *out) {
  memset(out, 0, sizeof *out);
  if (!b->has_matrix) return CG_ENOTFOUND;
  const uint8_t *p = cg__bsec_ptr(b, (uint32_t)b->sec_by_kind[CG_BSEC_GENE_STATS]);
  size_t n = (size_t)b->n_vars;
  out->n = b->n_vars;
  out->nnz = (const uint64_t *)p;
  out->sum = (const double *)(p + 8 * n);
  out->sumsq = (const double *)(p + 16 * n);
  out->min = (const float *)(p + 24 * n);
  out->max = (const float *)(p + 28 * n);
  return 0;
}

int cg_bundle_n_columns(const cg_bundle *b, cg_bundle_axis axis) { return (unsigned)axis < 2 ? b->n_cols[axis] : 0; }

const cg_bundle_column *cg_bundle_column_at(const cg_bundle *b, cg_bundle_axis axis, int i) {
  if ((unsigned)axis >= 2 || i < 0 || i >= b->n_cols[axis]) return NULL;
  return &b->cols[axis][i];
}

int cg_bundle_column_find(const cg_bundle *b, cg_bundle_axis axis, const char *name) {
  for (int i = 0; i < cg_bundle_n_columns(b, axis); i++)
    if (strcmp(b->cols[axis][i].name, name) == 0) return i;
  return -1;
}

const cg_bundle_strings *cg_bundle_index(const cg_bundle *b, cg_bundle_axis axis) {
  return (unsigned)axis < 2 ? &b->index[axis] : NULL;
}

const char *cg_bundle_index_name(const cg_bundle *b, cg_bundle_axis axis) {
  return (unsigned)axis < 2 ? b->index_name[axis] : NULL;
}

int cg_bundle_n_embeddings(const cg_bundle *b) { return b->n_emb; }

const cg_bundle_embedding *cg_bundle_embedding_at(const cg_bundle *b, int i) {
  return i >= 0 && i < b->n_emb ? &b->emb[i] : NULL;
}

int cg_bundle_embedding_find(const cg_bundle *b, const char *name) {
  for (int i = 0; i < b->n_emb; i++)
    if (strcmp(b->emb[i].name, name) == 0) return i;
  return -1;
}

int cg_bundle_n_colors(const cg_bundle *b) { return b->n_colors; }

const cg_bundle_colors *cg_bundle_colors_at(const cg_bundle *b, int i) {
  return i >= 0 && i < b->n_colors ? &b->colors[i] : NULL;
}

const cg_bundle_colors *cg_bundle_colors_find(const cg_bundle *b, const char *column) {
  for (int i = 0; i < b->n_colors; i++)
    if (strcmp(b->colors[i].column, column) == 0) return &b->colors[i];
  return NULL;
}

/* --- sections -------------------------------------------------------------------------------------------- */

void cg__bundle_label(const cg_bundle *b, uint32_t i, char *buf, size_t n) {
  static const char *const parts[] = {"values", "categories", "validity"};
  const cg__bsec_use *u = &b->use[i];
  switch (u->owner) {
  case 2: case 3:
    snprintf(buf, n, "%s '%s' %s", u->owner == 2 ? "obs" : "var", b->cols[u->owner - 2][u->ordinal].name,
             parts[u->part]);
    break;
  case 4: snprintf(buf, n, "embedding '%s'", b->emb[u->ordinal].name); break;
  case 5: case 6: snprintf(buf, n, "%s index", u->owner == 5 ? "obs" : "var"); break;
  default: snprintf(buf, n, "%s", cg__bundle_kind_name(b->sec[i].kind)); break;
  }
}

int cg_bundle_n_sections(const cg_bundle *b) { return (int)b->n_sec; }

int cg_bundle_section_at(const cg_bundle *b, int i, cg_bundle_section *out) {
  memset(out, 0, sizeof *out);
  if (i < 0 || (uint32_t)i >= b->n_sec) return CG_ERANGE;
  const cg__bsec *s = &b->sec[i];
  out->kind = s->kind;
  out->kind_name = cg__bundle_kind_name(s->kind);
  cg__bundle_label(b, (uint32_t)i, out->label, sizeof out->label);
  out->offset = s->offset, out->length = s->length, out->count = s->count, out->checksum = s->checksum;
  return 0;
}
