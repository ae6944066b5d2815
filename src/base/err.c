#include "base/err.h"

#include <stdio.h>
#include <string.h>

const char *cg_strerror(int code) {
  switch (code) {
#define CG__ERR_CASE(name, value, text)                                                                \
  case value:                                                                                          \
    return text;
    CG_ERRORS(CG__ERR_CASE)
#undef CG__ERR_CASE
  default:
    return "unknown error";
  }
}

void cg_err_clear(cg_err *e) {
  if (!e) return;
  e->code = CG_OK;
  e->msg[0] = '\0';
}

int cg_err_set(cg_err *e, int code, const char *fmt, ...) {
  if (!e) return code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  e->code = code;
  return code;
}

int cg_err_prefix(cg_err *e, const char *fmt, ...) {
  if (!e) return 0;
  char tail[CG_ERR_MSG_MAX];
  memcpy(tail, e->msg, sizeof tail);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < sizeof e->msg) {
    size_t used = (size_t)n;
    int m = snprintf(e->msg + used, sizeof e->msg - used, ": %s", tail);
    (void)m; /* truncation of a long message is acceptable */
  }
  return e->code;
}
