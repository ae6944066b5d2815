/* explorer_de.h — the seam between the Explorer's diffexp routes and the differential-expression engine.
 *
 * The routes (diffexp/obs in explorer_fbs.c: JSON filters; diffexp/obs2 in explorer_de.c: a diffex PDU) parse
 * the request, turn both cell sets into bitsets over n_obs and call
 * cg_explorer_de_run on an HTTP worker-pool thread (never a connection thread). The engine writes the whole
 * JSON response body, {"positive":[[var_idx,lfc,pval,pval_adj],...],"negative":[...]} (compat §5).
 * cg_explorer_de_run is the one path both v0.2 diffexp/obs and v0.3 diffexp/obs2 (explorer_de.c) take;
 * cg_explorer_de_available() tells config whether to announce diffexp.
 */
#ifndef CG_EXPLORER_EXPLORER_DE_H
#define CG_EXPLORER_EXPLORER_DE_H

#include <stddef.h>

#include "base/err.h"
#include "bundle/bundle.h"
#include "query/bitset.h"

typedef struct cg_explorer_de_req {
  const cg_bundle *b;
  const cg_bitset *set1, *set2; /* n_obs bits each */
  int count;                    /* top N per direction (< 0 = 50; capped at n_vars; 0 = empty lists) */
  int api;                      /* 2 or 3 */
} cg_explorer_de_req;

/* 1 if an engine is linked in. */
int cg_explorer_de_available(void);

/* 0 and *json (cg_malloc'd, caller cg_frees) + *len; CG_EUNSUPPORTED without an engine; CG_EINVAL for bad
 * sets (e.g. empty); other negative codes on failure. Any thread; reads the bundle only. */
int cg_explorer_de_run(const cg_explorer_de_req *r, char **json, size_t *len, cg_err *err);

#endif
