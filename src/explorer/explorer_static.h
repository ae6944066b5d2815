/* explorer_static.h — the web client's built files (web/dist: index.html, app.js, app.css and their source
 * maps) served by the Explorer at "/" (single mode) and "/e/<id>/" (multi mode).
 *
 * The files are read once at start-up into memory (tens of KB) with a strong ETag each (XXH3-128 of the bytes)
 * and a gzip copy; responses are `Cache-Control: no-cache` (names are not content-hashed, so browsers
 * revalidate, cheaply, by ETag -> 304). Immutable after load: any thread may serve. A missing directory is not
 * an error: "/" then answers 404 with a JSON message saying how to build the client.
 */
#ifndef CG_EXPLORER_EXPLORER_STATIC_H
#define CG_EXPLORER_EXPLORER_STATIC_H

#include "base/err.h"
#include "http/http.h"

typedef struct cg__xstatic cg__xstatic;

/* Loads dir (NULL = none). 0, or CG_ENOMEM / CG_EIO naming the file. *out freed with cg__xstatic_free. */
int cg__xstatic_load(const char *dir, cg__xstatic **out, cg_err *err);
void cg__xstatic_free(cg__xstatic *s);

/* If rel (the path below the dataset's root, "" or "app.js") names a client file, fills p and returns 1;
 * returns 0 when rel is not a client path. */
int cg__xstatic_serve(const cg__xstatic *s, cg_http_req *req, const char *rel, cg_http_resp *p);

#endif
