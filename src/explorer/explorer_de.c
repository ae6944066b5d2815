/* explorer_de.c — placeholder differential-expression engine: the DE issue replaces this file. */
#include "explorer/explorer_de.h"

int cg_explorer_de_available(void) { return 0; }

int cg_explorer_de_run(const cg_explorer_de_req *r, char **json, size_t *len, cg_err *err) {
  *json = NULL, *len = 0;
  return cg_err_set(err, CG_EUNSUPPORTED, "differential expression is not implemented in this build yet");
}
