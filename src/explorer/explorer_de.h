/* explorer_de.h — the seam between the Explorer's diffexp routes and the differential-expression engine.
 *
 * The route (explorer_fbs.c) parses the request, turns both cell sets into bitsets over n_obs and calls
 * cg_explorer_de_run on an HTTP worker-pool thread (never a connection thread). The engine writes the whole
 * JSON response body, {"positive":[[var_idx,lfc,pval,pval_adj],...],"negative":[...]} (compat §5).
 * Until the engine exists, the stub in explorer_de.c reports CG_EUNSUPPORTED and the route answers 501;
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
  int count;                    /* top N per direction */
  int api;                      /* 2 or 3 */
} cg_explorer_de_req;

/* 1 if an engine is linked in. */
int cg_explorer_de_available(void);

/* 0 and *json (cg_malloc'd, caller cg_frees) + *len; CG_EUNSUPPORTED without an engine; CG_EINVAL for bad
 * sets (e.g. empty); other negative codes on failure. Any thread; reads the bundle only. */
int cg_explorer_de_run(const cg_explorer_de_req *r, char **json, size_t *len, cg_err *err);

#endif
