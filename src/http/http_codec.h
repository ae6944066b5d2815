/* http_codec.h — response compression: gzip (libdeflate) and zstd, one call each, output allocated to size.
 * Pure functions over caller buffers; any thread (each call uses its own compressor state). */
#ifndef CG_HTTP_HTTP_CODEC_H
#define CG_HTTP_HTTP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "http/http_hdr.h"

/* Bodies shorter than this are sent as they are: compression would cost more than it saves. */
#define CG_HTTP_COMPRESS_MIN 1024

/* Compresses src with enc (GZIP or ZSTD). 0 and *out (cg_malloc'd, caller cg_frees) + *outlen, or CG_ENOMEM /
 * CG_EINVAL (identity asked) / CG_EIO (library failure). */
int cg_http_compress(cg_http_enc enc, const void *src, size_t len, uint8_t **out, size_t *outlen, cg_err *err);

#endif
