/* inspect.h — the two halves of `cellgate inspect`: summaries of an .h5ad file (inspect_h5ad.c) and of a
 * bundle (inspect_bundle.c), both as one JSON document of the same shape (docs/CLI.md). The caller owns the
 * returned json_t (json_decref). NULL on failure, with err set. */
#ifndef CG_CLI_INSPECT_H
#define CG_CLI_INSPECT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

json_t *cg_inspect_h5ad(const char *path, int checksum, cg_err *err);
json_t *cg_inspect_bundle(const char *path, int checksum, int verify, cg_err *err);

/* Shared digests, so that both halves summarise values identically. */
typedef struct cg_fnv {
  uint64_t h;
} cg_fnv;
void cg_fnv_init(cg_fnv *f);
void cg_fnv_add(cg_fnv *f, const char *s); /* hashes the bytes of s and a terminating NUL */
json_t *cg_fnv_json(const cg_fnv *f);      /* 16 hex digits */

typedef struct cg_numstats {
  double sum, min, max;
  int64_t n, n_nan;
} cg_numstats;
void cg_numstats_init(cg_numstats *s);
void cg_numstats_add(cg_numstats *s, double v);
void cg_numstats_to_json(const cg_numstats *s, json_t *col); /* sets sum, min, max (null if none) */

json_t *cg_json_real_or_null(double v); /* JSON null for NaN/Inf */

#endif
