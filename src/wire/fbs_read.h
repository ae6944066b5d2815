/* fbs_read.h — a bounds-checked DECODER for the NetEncoding FlatBuffers Matrix (the body of cellxgene's
 * `PUT annotations/obs`), the reading side of fbs.h. It parses bytes from outside: every offset, vtable, vector
 * length and union tag is checked against the buffer before it is used (fuzzed by tests/fuzz/fuzz_fbs_read.c).
 *
 * What it reads: a Matrix's n_rows, n_cols, columns (v0.2 TypedArray members: Float32/Int32/Uint32/Float64 and
 * JSONEncodedArray) and col_index (same members); row_index is ignored. v0.3 dictionary and Int16X columns are
 * refused with CG_EUNSUPPORTED.
 *
 * Ownership: the result BORROWS the buffer: each column's `data` points into buf (not necessarily aligned for its
 * element type: read numbers with memcpy or cg_fbs_col_* below). cg_fbs_read allocates the columns array;
 * cg_fbs_matrix_dispose releases it (safe on a zeroed or failed matrix).
 *
 * Errors: 0, CG_EFORMAT (malformed: detail in err), CG_EUNSUPPORTED, CG_ENOMEM. Pure function: any thread.
 */
#ifndef CG_WIRE_FBS_READ_H
#define CG_WIRE_FBS_READ_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "wire/fbs.h"

typedef struct cg_fbs_rcol {
  cg_fbs_type type;    /* CG_FBS_FLOAT32 .. CG_FBS_JSON; CG_FBS_NONE = absent */
  const uint8_t *data; /* the vector's elements inside the buffer (JSON: UTF-8 bytes, not NUL-terminated) */
  uint32_t count;      /* elements (JSON: bytes) */
} cg_fbs_rcol;

typedef struct cg_fbs_matrix {
  uint32_t n_rows, n_cols;
  uint32_t n_columns; /* entries in columns (the columns vector's length; a caller checks it against n_cols) */
  cg_fbs_rcol *columns;
  cg_fbs_rcol col_index;
} cg_fbs_matrix;

/* Decodes buf[len] into *m (zeroed first). See above for ownership and errors. */
int cg_fbs_read(const uint8_t *buf, size_t len, cg_fbs_matrix *m, cg_err *err);
void cg_fbs_matrix_dispose(cg_fbs_matrix *m);

/* Element i of a numeric column, converted to double (i < count; type FLOAT32..FLOAT64). */
double cg_fbs_col_get(const cg_fbs_rcol *c, uint32_t i);

#endif
