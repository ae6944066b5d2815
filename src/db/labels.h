/* labels.h — a user's label set (all label columns of one annotation collection) and its compact stored form,
 * the blob db.h keeps per version.
 *
 * A label column: a name, ordered labels (categories, in order of first appearance when built from strings)
 * and one int32 code per cell (-1 = no label). Stored form (little-endian):
 *
 *   "CGL1" | u32 header length | header JSON {"n_obs":N,"columns":[{"name":..,"categories":[..]}..]}
 *          | u64 raw code bytes (n_cols * n_obs * 4) | raw-deflate of the codes, column after column
 *
 * Ownership: a cg_labels and everything in it is one heap object tree freed by cg_labels_free (NULL-safe).
 * Errors: 0 or a negative cg_errcode + err (CG_EFORMAT for a blob that does not decode, CG_ENOMEM).
 * Threads: pure functions on caller-owned data.
 */
#ifndef CG_DB_LABELS_H
#define CG_DB_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct cg_labels_col {
  char *name;
  char **cats; /* n_cats labels */
  int32_t n_cats;
  int32_t *codes; /* n_obs codes, -1 = none */
} cg_labels_col;

typedef struct cg_labels {
  int64_t n_obs;
  int n_cols;
  cg_labels_col *cols;
} cg_labels;

/* An empty set for n_obs cells with room for n_cols columns (all zeroed). */
cg_labels *cg_labels_create(int64_t n_obs, int n_cols);
void cg_labels_free(cg_labels *l);

/* Column i from a JSON array of n_obs strings (or nulls = no label): name copied, labels in first-appearance
 * order. CG_EINVAL when the text is not such an array (detail in err). */
int cg_labels_set_json(cg_labels *l, int i, const char *name, const char *json, size_t len, cg_err *err);

/* Column i as a JSON array of n_obs strings/nulls (cg_malloc'd text into *out, caller cg_frees). */
int cg_labels_column_json(const cg_labels *l, int i, char **out, size_t *len, cg_err *err);

/* Column index of name, or -1. */
int cg_labels_find(const cg_labels *l, const char *name);

int cg_labels_encode(const cg_labels *l, uint8_t **out, size_t *len, cg_err *err); /* *out: caller cg_frees */
int cg_labels_decode(const uint8_t *p, size_t n, cg_labels **out, cg_err *err);     /* *out: cg_labels_free */

#endif
