/* fuzz_fbs_read.c — libFuzzer target for the NetEncoding Matrix decoder (src/wire/fbs_read.h), which parses the
 * body of PUT annotations/obs. Every decoded column must lie inside the input; numeric elements are read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "wire/fbs_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *p = malloc(size ? size : 1); /* an exact-size copy so reads past the end are caught */
  if (!p) return 0;
  memcpy(p, data, size);
  cg_fbs_matrix m;
  cg_err err = {0};
  if (cg_fbs_read(p, size, &m, &err) == 0) {
    volatile double sink = 0;
    for (uint32_t c = 0; c < m.n_columns; c++) {
      const cg_fbs_rcol *col = &m.columns[c];
      if (col->data && (col->data < p || col->data > p + size)) abort();
      if (col->type != CG_FBS_JSON && col->type != CG_FBS_NONE)
        for (uint32_t i = 0; i < col->count; i++) sink += cg_fbs_col_get(col, i);
      else if (col->count) sink += col->data[col->count - 1];
    }
    (void)sink;
    cg_fbs_matrix_dispose(&m);
  }
  free(p);
  return 0;
}
