/* bundle_wint.h — internal to the bundle writer: the output file and its section table (bundle_out.c), the
 * matrix passes (bundle_matrix.c), the annotation sections and META (bundle_write.c).
 *
 * The output grows by appending sections at 64-byte boundaries (cg__bw_begin/put/end, buffered, hashed in
 * large chunks at flush time) or by reserving a region that is filled later through pwrite or a mapping
 * (cg__bw_reserve + cg__bw_set). Padding is never written: the file is created empty and ftruncated, so
 * gaps read as zeros, which keeps the bytes deterministic.
 */
#ifndef CG_BUNDLE_BUNDLE_WINT_H
#define CG_BUNDLE_BUNDLE_WINT_H

#include <stddef.h>
#include <stdint.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "bundle/bundle_int.h"
#include "bundle/bundle_write.h"

#define CG__BW_BUF (4u << 20)

typedef struct cg__bw {
  int fd;
  cg__bsec *sec;
  uint32_t n_sec, cap, n_planned;
  uint64_t cursor; /* end of the last section (unaligned) */
  uint8_t *buf;    /* CG__BW_BUF bytes */
  size_t buf_len;  /* bytes pending in buf */
  uint64_t buf_off;  /* file offset of buf[0] */
  size_t hash_from;  /* first byte of buf not yet hashed into hs */
  int open_sec;      /* section being appended, or -1 */
  XXH3_state_t hs;
  cg_err *err;
} cg__bw;

/* n_planned: the exact number of sections that will be added (the TOC precedes them). */
int cg__bw_init(cg__bw *w, int fd, uint32_t n_planned, cg_err *err);
void cg__bw_dispose(cg__bw *w);

/* Starts appending a section of kind at the next 64-byte boundary; returns its index (>= 0) or an error. */
int cg__bw_begin(cg__bw *w, uint32_t kind, uint64_t count, uint64_t aux);
int cg__bw_put(cg__bw *w, const void *p, size_t n);
int cg__bw_end(cg__bw *w);
int cg__bw_flush(cg__bw *w);

/* Adds a section whose bytes are written elsewhere; offset/length/checksum are set with cg__bw_set. */
int cg__bw_reserve(cg__bw *w, uint32_t kind, uint64_t count, uint64_t aux);
void cg__bw_set(cg__bw *w, int i, uint64_t offset, uint64_t length, uint64_t checksum);

/* pwrite/pread of the whole range, retrying short transfers; 0 or CG_EIO with err naming what. */
int cg__pwrite_all(int fd, const void *p, size_t n, uint64_t off, const char *what, cg_err *err);
int cg__pread_all(int fd, void *p, size_t n, uint64_t off, const char *what, cg_err *err);

/* Writes TOC + header (id, checksums) at offset 0 and sizes the file. n_obs etc. go into the header. */
int cg__bw_finish(cg__bw *w, int64_t n_obs, int64_t n_vars, int64_t nnz, int has_matrix);

/* What the writer decided for one input column (bundle_write.c). */
typedef struct cg__colplan {
  const cg_column *c;
  cg_bundle_coltype stype;
  int has_valid; /* from c->valid, or synthesized from NULL strings */
} cg__colplan;

typedef struct cg__plan {
  const cg_bundle_input *in;
  cg__colplan *cols[2];
  int n_cols[2];
  uint32_t n_sec;
} cg__plan;

/* Encodes the META section for plan p (bundle_wmeta.c); *out is owned by the caller (cg_free). */
int cg__bundle_meta_build(const cg__plan *p, uint8_t **out, size_t *len, cg_err *err);

/* Pass 2: writes the minor orientation (n_minor lines at minor_ptr) at di_off/dv_off, from the major one
 * (mapped read-only), and returns the XXH3-64 of the two written sections (bundle_transpose.c). */
typedef struct cg__tp {
  const uint64_t *ptr; /* n_major+1 */
  int64_t n_major, n_minor;
  const uint32_t *si;
  const float *sv;
  int fd;                    /* the output, buffered */
  int dfd;                   /* the same file opened with O_DIRECT, or -1 */
  uint64_t di_off, dv_off;   /* file offsets of the destination index and value sections */
  const uint64_t *minor_ptr; /* n_minor+1 */
  double *sum, *sq;          /* per minor line (gene stats of a row-major source), or NULL: not wanted */
  float *lo, *hi;
} cg__tp;
int cg__bundle_transpose(const cg__tp *t, uint64_t *h_idx, uint64_t *h_val, cg_err *err);

/* The matrix: reserves and fills gene stats, CSR and CSC (bundle_matrix.c). *nnz_out = entries written. */
int cg__bundle_matrix(cg__bw *w, const cg_bundle_input *in, int64_t *nnz_out, cg_err *err);

#endif
