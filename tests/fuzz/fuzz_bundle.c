/* fuzz_bundle.c — libFuzzer target for the bundle reader: open-from-memory (with checksums skipped, so mutations
 * reach the structural validation), walk every accessor, verify, and only after a successful verify follow the
 * matrix indices. Seeds: tests/fuzz/corpus/fuzz_bundle (small valid bundles written by test_bundle with
 * CG_BUNDLE_WRITE_SEEDS=<dir>). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle.h"


static volatile uint64_t sink;

static uint64_t fbits(double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

static void walk_strings(const cg_bundle_strings *s) {
  for (int64_t i = 0; i < s->count; i++) {
    size_t len;
    const char *p = cg_bundle_str(s, i, &len);
    sink += len + (uint8_t)p[len] + strlen(p);
  }
}

static void walk_column(const cg_bundle_column *c) {
  sink += strlen(c->name) + strlen(c->dtype) + strlen(c->cat_dtype);
  for (int64_t i = 0; i < c->n; i++) {
    if (c->valid) sink += c->valid[i];
    switch (c->type) {
    case CG_BCOL_CATEGORICAL:
      if (c->v.codes[i] >= 0) sink += strlen(cg_bundle_str(&c->categories, c->v.codes[i], NULL));
      break;
    case CG_BCOL_F32: sink += (uint64_t)(c->v.f32[i] == c->v.f32[i]); break;
    case CG_BCOL_I32: sink += (uint64_t)c->v.i32[i]; break;
    case CG_BCOL_BOOL: sink += c->v.b[i]; break;
    case CG_BCOL_STRING: break;
    }
  }
  walk_strings(&c->str);
  walk_strings(&c->categories);
}

static void walk_matrix(const cg_bundle *b, int verified) {
  cg_bundle_csx m[2];
  cg_bundle_gene_stats gs;
  if (cg_bundle_csr(b, &m[0]) || cg_bundle_csc(b, &m[1]) || cg_bundle_gene_stats_get(b, &gs)) return;
  for (int64_t g = 0; g < gs.n; g++) sink += gs.nnz[g] + fbits(gs.sum[g] + gs.sumsq[g] + gs.min[g] + gs.max[g]);
  uint64_t *hits = verified ? calloc((size_t)m[0].n_minor + (size_t)m[1].n_minor + 2, 8) : NULL;
  for (int o = 0; o < 2; o++)
    for (int64_t l = 0; l < m[o].n_major; l++)
      for (uint64_t k = m[o].indptr[l]; k < m[o].indptr[l + 1]; k++) {
        sink += fbits(m[o].data[k]);
        if (hits) hits[m[o].indices[k] + (o ? (size_t)m[0].n_minor + 1 : 0)]++; /* in range after verify */
      }
  free(hits);
}

static void walk(const cg_bundle *b, int verified) {
  sink += strlen(cg_bundle_id(b)) + cg_bundle_format_version(b) + cg_bundle_file_size(b);
  sink += (uint64_t)cg_bundle_n_obs(b) + (uint64_t)cg_bundle_n_vars(b) + (uint64_t)cg_bundle_nnz(b);
  const char *s[] = {cg_bundle_matrix_name(b), cg_bundle_matrix_dtype(b), cg_bundle_title(b),
                     cg_bundle_default_embedding(b), cg_bundle_index_name(b, CG_BUNDLE_OBS),
                     cg_bundle_index_name(b, CG_BUNDLE_VAR)};
  for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) sink += s[i] ? strlen(s[i]) : 0;
  for (int axis = 0; axis < 2; axis++) {
    walk_strings(cg_bundle_index(b, (cg_bundle_axis)axis));
    for (int i = 0; i < cg_bundle_n_columns(b, (cg_bundle_axis)axis); i++) {
      const cg_bundle_column *c = cg_bundle_column_at(b, (cg_bundle_axis)axis, i);
      walk_column(c);
      sink += (uint64_t)cg_bundle_column_find(b, (cg_bundle_axis)axis, c->name);
    }
  }
  for (int i = 0; i < cg_bundle_n_embeddings(b); i++) {
    const cg_bundle_embedding *e = cg_bundle_embedding_at(b, i);
    for (int64_t k = 0; k < 2 * cg_bundle_n_obs(b); k++) sink += (uint64_t)(e->xy[k] == e->xy[k]);
    sink += (uint64_t)e->dims + (uint64_t)cg_bundle_embedding_find(b, e->name);
  }
  for (int i = 0; i < cg_bundle_n_colors(b); i++) {
    const cg_bundle_colors *c = cg_bundle_colors_at(b, i);
    for (int k = 0; k < c->n; k++) sink += strlen(c->colors[k]);
    sink += cg_bundle_colors_find(b, c->column) != NULL;
  }
  cg_bundle_section sec;
  for (int i = 0; i < cg_bundle_n_sections(b); i++)
    if (cg_bundle_section_at(b, i, &sec) == 0) sink += strlen(sec.label) + sec.length;
  walk_matrix(b, verified);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  void *copy = aligned_alloc(64, (size + 63) / 64 * 64 + 64); /* sections are accessed in place */
  if (!copy) return 0;
  memcpy(copy, data, size);
  for (unsigned flags = 0; flags <= CG_BUNDLE_OPEN_NOCHECKSUM; flags++) {
    cg_bundle *b = NULL;
    cg_err err;
    if (cg_bundle_open_mem(copy, size, flags, &b, &err) != 0) continue;
    walk(b, 0);
    if (cg_bundle_verify(b, &err) == 0) walk(b, 1);
    cg_bundle_release(b);
  }
  free(copy);
  return 0;
}
