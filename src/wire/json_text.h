/* json_text.h — the JSON texts that travel inside NetEncoding matrices (fbs.h): string columns and v0.2
 * categoricals as JSON arrays (JSONEncodedArray), v0.3 category dictionaries ({"0":"a",...}) and col_index
 * name lists. Built straight from bundle string tables in two passes (measure, then write into one
 * allocation of the exact size), without a JSON library.
 *
 * Strings are copied as UTF-8 with the RFC 8259 escapes: '"' and '\' escaped, control characters < 0x20 as
 * \n \t \r \b \f or \u00XX; other bytes pass through unchanged. Missing entries become null.
 * Each function returns 0 with *out (cg_malloc'd, NOT NUL-terminated; hand it to cg_fbs_add_json with
 * CG_FBS_TAKE or cg_free it) and *len, or CG_ENOMEM / CG_ERANGE (longer than the 2 GiB wire limit).
 * Pure functions: any thread.
 */
#ifndef CG_WIRE_JSON_TEXT_H
#define CG_WIRE_JSON_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "bundle/bundle.h"

/* ["s0","s1",null,...]: every string of s; valid (NULL = all present) marks missing entries. */
int cg_json_strings(const cg_bundle_strings *s, const uint8_t *valid, char **out, size_t *len, cg_err *err);

/* ["label of row 0",...,null]: n rows of categorical codes (-1 or !valid = null) over cats. */
int cg_json_codes(const int32_t *codes, const uint8_t *valid, int64_t n, const cg_bundle_strings *cats,
                  char **out, size_t *len, cg_err *err);

/* {"0":"cat0","1":"cat1",...}: a category dictionary for DictEncoded arrays. */
int cg_json_dict(const cg_bundle_strings *cats, char **out, size_t *len, cg_err *err);

/* ["n0","n1",...]: n C strings (a col_index of names). */
int cg_json_names(const char *const *names, int64_t n, char **out, size_t *len, cg_err *err);

#endif
