/* http_sha1.h — SHA-1 of a byte string as 40 lowercase hex characters (cellxgene's summarize/var key and
 * column name). Not for security. Pure function, any thread. */
#ifndef CG_HTTP_HTTP_SHA1_H
#define CG_HTTP_HTTP_SHA1_H

#include <stddef.h>

void cg_http_sha1_hex(const void *data, size_t len, char out[41]);

#endif
