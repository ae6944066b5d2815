/* filter.h — cellxgene Explorer filters: parse the query-string and JSON forms, evaluate them to a bitset.
 *
 * The two forms (reference/cellxgene-compat.md §1; upstream server/app/rest.py `_query_parameter_to_filter`
 * and the data adaptor's `_axis_filter_to_mask`):
 *
 *   query  obs:cell_type=B%2520cell&obs:cell_type=NK&obs:n_genes=10,*&var:name_0=CD3E
 *          Each `<axis>:<name>=<value>` is one condition. The same name repeated ORs its values; different
 *          names AND. `min,max` is an inclusive numeric range, `*` an open end (not both). A range and values
 *          for the same name, or two ranges, is an error; more than one comma is an error.
 *          Decoding: the whole string is form-decoded once (`+` is a space, %XX a byte) and split into pairs;
 *          the key is split at its ':' (exactly one); then the name and each value (after splitting the
 *          value at ',') are %-decoded once more, because the client encodes them twice. A literal ',' or ':'
 *          inside a name or value therefore arrives as %252C / %253A. Invalid %-escapes are kept literally.
 *          Keys without ':' are not filters (nbins, method, key, ...) and are skipped: routes check those.
 *   JSON   {"filter":{"obs":{"index":[3,[10,12]],
 *                            "annotation_value":[{"name":"cell_type","values":["B",null]},
 *                                                {"name":"n_genes","min":10,"max":null}]}}}
 *          `index` is a list of row numbers and half-open [start,end) ranges (ends past n are clipped, an
 *          empty range selects nothing); each annotation_value entry is one condition, all ANDed (the same
 *          name twice is two conditions). An entry has "values" (strings, numbers, booleans, null) or
 *          "min"/"max" (numbers or null; both null or absent = no constraint), not both.
 *
 * Evaluation (cg_filter_select): rows of the axis that satisfy the index list (if any) AND every condition.
 *  - The name `name_0` is the axis index (row names; exact string match); it takes precedence over a
 *    column that happens to have that name.
 *  - categorical: value = category string (JSON true/false = "True"/"False", JSON numbers as Python str()
 *    writes them, e.g. 2.0 -> "2.0", the way numeric categories are stored);
 *  - bool: "True"/"true"/JSON true and "False"/"false"/JSON false;
 *  - float32/int32: values are numbers (equality) or an inclusive range; NaN never matches a range;
 *  - string: exact string;
 *  - null (JSON) matches missing entries: categorical code -1, float NaN, or a cleared validity byte.
 *  Errors are CG_EINVAL with a message naming the parameter ("filter obs:n_genes: ..."): an axis the route
 *  does not allow, an unknown axis or column, a range on a categorical/string/bool column or on name_0,
 *  mixed range and values, a malformed number or boolean, malformed JSON or an index out of range.
 *
 * Ownership and threads: a cg_filter is immutable once parsed and owns copies of every string; free it with
 * cg_filter_free. Parsing and evaluation are reentrant; evaluation only reads the bundle.
 */
#ifndef CG_QUERY_FILTER_H
#define CG_QUERY_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "bundle/bundle.h"
#include "query/bitset.h"

struct json_t;

#define CG_FILTER_INDEX_NAME "name_0"

/* Axes a route accepts (bit mask for the parse functions). */
#define CG_FILTER_AXIS_OBS (1u << CG_BUNDLE_OBS)
#define CG_FILTER_AXIS_VAR (1u << CG_BUNDLE_VAR)
#define CG_FILTER_AXIS_ANY (CG_FILTER_AXIS_OBS | CG_FILTER_AXIS_VAR)

typedef struct cg_filter cg_filter;

/* Parses a query string (without the leading '?'; may be empty). 0 and *out, or CG_EINVAL/CG_ENOMEM. */
int cg_filter_parse_query(const char *qs, size_t len, unsigned allowed_axes, cg_filter **out, cg_err *err);

/* Parses a JSON request body that holds a "filter" member (other members, e.g. "nbins", are ignored). */
int cg_filter_parse_json(const char *body, size_t len, unsigned allowed_axes, cg_filter **out, cg_err *err);

/* Builds a filter from the value of a "filter" member already parsed by jansson ({"obs":..,"var":..}),
 * e.g. set1.filter of a diffexp request. filter may be NULL (= no conditions). */
int cg_filter_from_json(const struct json_t *filter, unsigned allowed_axes, cg_filter **out, cg_err *err);

void cg_filter_free(cg_filter *f); /* NULL is a no-op */

/* 1 if the filter mentions axis (an index list or any condition; a JSON axis object, even empty), else 0. */
int cg_filter_has_axis(const cg_filter *f, cg_bundle_axis axis);

/* Evaluates the filter's conditions for axis against bundle b. On success *out is a new bitset of n_obs or
 * n_vars bits (caller disposes it with cg_bitset_dispose); an axis the filter does not mention selects every
 * row. On failure *out is zeroed. */
int cg_filter_select(const cg_filter *f, const cg_bundle *b, cg_bundle_axis axis, cg_bitset *out, cg_err *err);

/* The same against any source of columns (tests, user-annotation columns, ...): n rows, the row names
 * (NULL: name_0 unavailable), and a lookup of a column by name (NULL when absent). */
typedef struct cg_filter_table {
  int64_t n;
  const cg_bundle_strings *index;
  const cg_bundle_column *(*find)(void *ctx, const char *name);
  void *ctx;
} cg_filter_table;

int cg_filter_select_table(const cg_filter *f, const cg_filter_table *t, cg_bundle_axis axis, cg_bitset *out,
                           cg_err *err);

#endif
