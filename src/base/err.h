/* err.h — error codes and the error-detail buffer used by every cellgate module.
 *
 * Contract
 *  - Functions that can fail return an int: 0 (CG_OK) on success or a negative cg_errcode.
 *  - Details go into a caller-provided cg_err (may be NULL when the caller does not care). The message says
 *    what failed, where (a path, an HDF5 object, a row) and why. Library code never prints or exits.
 *  - The codes and their one-line descriptions come from one X-macro table, CG_ERRORS.
 *  - Thread-safe: a cg_err belongs to the thread that passes it.
 */
#ifndef CG_BASE_ERR_H
#define CG_BASE_ERR_H

#include <stdarg.h>

#define CG_ERRORS(X)                                                                                   \
  X(CG_OK, 0, "ok")                                                                                    \
  X(CG_ENOMEM, -1, "out of memory")                                                                    \
  X(CG_EIO, -2, "input/output error")                                                                  \
  X(CG_EINVAL, -3, "invalid argument")                                                                 \
  X(CG_EFORMAT, -4, "malformed input")                                                                 \
  X(CG_EUNSUPPORTED, -5, "unsupported encoding")                                                       \
  X(CG_ENOTFOUND, -6, "not found")                                                                     \
  X(CG_ECORRUPT, -7, "corrupt file")                                                                   \
  X(CG_ERANGE, -8, "value out of range")                                                               \
  X(CG_EEXIST, -9, "already exists")

typedef enum {
#define CG__ERR_ENUM(name, value, text) name = value,
  CG_ERRORS(CG__ERR_ENUM)
#undef CG__ERR_ENUM
} cg_errcode;

#define CG_ERR_MSG_MAX 1024

typedef struct cg_err {
  int code;                 /* last code set, CG_OK when none */
  char msg[CG_ERR_MSG_MAX]; /* human-readable detail, "" when none */
} cg_err;

/* One-line description of a code; never NULL (unknown codes give "unknown error"). */
const char *cg_strerror(int code);

/* Clears e (e may be NULL). */
void cg_err_clear(cg_err *e);

/* Sets e->code and formats e->msg; returns code so callers can `return cg_err_set(...)`. e may be NULL. */
int cg_err_set(cg_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (to add context while unwinding); returns e->code or 0. */
int cg_err_prefix(cg_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
