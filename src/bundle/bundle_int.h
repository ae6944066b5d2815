/* bundle_int.h — internal to src/bundle/: the opened-bundle object shared by bundle_open.c (which builds and
 * validates it) and bundle_read.c (accessors, verify). Everything here is immutable after open except refs.
 */
#ifndef CG_BUNDLE_BUNDLE_INT_H
#define CG_BUNDLE_BUNDLE_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle/bundle.h"

/* What a section holds, for labels and for the "every section referenced once" rule. */
typedef struct cg__bsec_use {
  uint8_t owner; /* 0 none yet, 1 dataset, 2 obs column, 3 var column, 4 embedding, 5 obs index, 6 var index */
  uint8_t part;  /* 0 values, 1 dictionary, 2 validity */
  uint32_t ordinal;
} cg__bsec_use;

typedef struct cg__bsec {
  uint32_t kind;
  uint64_t offset, length, count, checksum, aux;
} cg__bsec;

struct cg_bundle {
  atomic_long refs;
  const uint8_t *base;
  size_t size;
  int mapped; /* 1: base is our mmap (munmap on release) */
  unsigned flags;
  char id[CG_BUNDLE_ID_LEN + 1];
  uint32_t version;
  int64_t n_obs, n_vars, nnz;
  int has_matrix;
  uint32_t n_sec;
  cg__bsec *sec;
  cg__bsec_use *use;
  int sec_by_kind[16]; /* matrix/stats/meta kinds: TOC index or -1 */
  const uint8_t *meta;   /* META section bytes */
  const char *pool;      /* META string pool */
  const char *title, *default_embedding, *matrix_name, *matrix_dtype;
  const char *index_name[2];
  cg_bundle_strings index[2];
  cg_bundle_column *cols[2];
  int n_cols[2];
  cg_bundle_embedding *emb;
  int n_emb;
  cg_bundle_colors *colors;
  const char **color_refs;
  int n_colors;
};

/* Pointer to section i's first byte. */
static inline const uint8_t *cg__bsec_ptr(const cg_bundle *b, uint32_t i) { return b->base + b->sec[i].offset; }

/* Validates a string-table section (guarantee 5) and fills *out. (bundle_open.c) */
int cg__bundle_strings(const cg_bundle *b, uint32_t sec, int64_t want_count, cg_bundle_strings *out, cg_err *err);

/* Human label of section i into buf. (bundle_read.c) */
void cg__bundle_label(const cg_bundle *b, uint32_t i, char *buf, size_t n);

/* Frees the tables of b (not the mapping). (bundle_open.c) */
void cg__bundle_free_tables(cg_bundle *b);

#endif
