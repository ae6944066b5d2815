/* filter_int.h — the parsed form of a cg_filter, shared by the parsers (filter_qs.c, filter_json.c) and the
 * evaluator (filter_select.c). Not part of the contract: include filter.h.
 *
 *   cg_filter ── ax[OBS], ax[VAR] ── present?  index ranges [lo,hi) ...   terms (ANDed) ...
 *                                                                          └ name, values (ORed) | range
 */
#ifndef CG_QUERY_FILTER_INT_H
#define CG_QUERY_FILTER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "query/filter.h"

enum { CG__FV_STR, CG__FV_NUM, CG__FV_BOOL, CG__FV_NULL };

typedef struct cg__fval {
  char *s;    /* text (NUL-terminated; for NUM the shortest text, for BOOL "True"/"False"); NULL for NULL */
  size_t len;
  double num; /* NUM: the value; BOOL: 0/1 */
  int kind;   /* CG__FV_* */
} cg__fval;

typedef struct cg__fterm {
  char *name;
  int is_range, has_min, has_max;
  double min, max;
  cg__fval *v;
  int nv, cap;
} cg__fterm;

typedef struct cg__faxis {
  int present, has_index;
  int64_t *idx; /* pairs lo, hi: the half-open row range [lo, hi) (clipped to n), or lo, -1: the row lo
                   (which must exist) */
  size_t n_idx, cap_idx;
  cg__fterm *t;
  int nt, cap_t;
} cg__faxis;

struct cg_filter {
  cg__faxis ax[2];
};

cg_filter *cg__filter_new(void);
/* Appends a term for name (a copy); NULL on out of memory. */
cg__fterm *cg__filter_add_term(cg__faxis *a, const char *name, size_t len);
/* The first term called name, or NULL. */
cg__fterm *cg__filter_find_term(cg__faxis *a, const char *name, size_t len);
/* Appends a value (text copied); 0 or CG_ENOMEM. */
int cg__fterm_add_value(cg__fterm *t, int kind, const char *s, size_t len, double num);
/* Appends the index range [lo, hi); 0 or CG_ENOMEM. */
int cg__faxis_add_index(cg__faxis *a, int64_t lo, int64_t hi);
/* Parses a whole NUL-terminated number (Python float() style: surrounding spaces, "inf"; no hex, no NaN).
 * 0 or -1. */
int cg__filter_parse_number(const char *s, double *out);
/* "obs" / "var" */
const char *cg__filter_axis_name(int axis);

#endif
