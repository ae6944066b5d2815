/* h5ad_write_csr.c — streamed CSR matrix element ("csr_matrix" 0.1.0) with parallel chunk compression.
 *
 * Design note
 *   Three 1-D datasets (data, indices, indptr) are each fed through a `stream`: a chunk-sized buffer that
 *   append fills, converting element types on the way (uint32 → int32/int64 indices, int64 → int32/int64
 *   offsets). When a buffer is full it is flushed:
 *
 *     codec none:  H5Dwrite of the buffer's hyperslab into a contiguous dataset, right away.
 *     gzip / lzf:  the buffer is swapped into the job at the ring's tail; a worker compresses it; the main
 *                  thread writes finished jobs from the ring's head with H5Dwrite_chunk.
 *
 *       fill ─▶ [tail] ... [next to compress] ... [head] ─▶ H5Dwrite_chunk       (ring of RING jobs)
 *                 main           workers              main
 *
 *   Invariants
 *   1. Only the thread that owns the writer calls HDF5.
 *   2. Jobs are written strictly in ring order (head → tail), which is the order chunks were filled, so the
 *      file layout does not depend on worker timing: same input, same bytes.
 *   3. ring positions: head <= next <= tail <= head + RING (monotonic counters, slot = counter % RING);
 *      [head, next) are being compressed or done, [next, tail) wait for a worker. Guarded by `mu`.
 *   4. Tail chunks are zero-padded to the full chunk, which HDF5 requires of direct chunk writes.
 *   Transitions: stream_flush → submit (tail++), worker() (next++ / job.done), write_done (head++).
 */
#include <libdeflate.h>
#include <liblzf/lzf.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "h5ad/h5ad_write_int.h"

#define RING 16
#define NONE_CHUNK_ELEMS ((hsize_t)1 << 20) /* buffer size for uncompressed hyperslab writes */

enum { S_DATA, S_INDICES, S_INDPTR, N_STREAMS };
static const char *const stream_names[N_STREAMS] = {"data", "indices", "indptr"};

typedef struct stream {
  hid_t ds;
  size_t elem;       /* bytes per element in the file */
  hsize_t chunk;     /* elements per buffer (== HDF5 chunk size when compressed) */
  hsize_t total;     /* elements the dataset holds */
  hsize_t written;   /* elements flushed so far (offset of the buffer's first element) */
  hsize_t fill;      /* elements in buf */
  unsigned char *buf;
} stream;

typedef struct job {
  int stream;
  hsize_t offset;
  unsigned char *raw; /* stream chunk size bytes (swapped with a stream's buffer on submit) */
  unsigned char *out;
  size_t out_cap, out_len;
  uint32_t mask; /* filter mask: 1 = stored raw (LZF could not shrink it) */
  int done, failed;
} job;

struct cg_h5ad_csr {
  cg_h5ad_writer *w;
  char path[256];
  hid_t group;
  int64_t n_rows, n_cols, nnz;
  int64_t rows_done, nnz_done;
  int wide; /* int64 indices/indptr */
  stream s[N_STREAMS];
  job ring[RING];
  size_t raw_cap;
  /* worker pool */
  pthread_t *threads;
  int n_threads, stop;
  uint64_t head, next, tail;
  pthread_mutex_t mu;
  pthread_cond_t work, done;
};

/* ---- workers -------------------------------------------------------------------------------------- */

static void compress_job(cg_h5ad_csr *c, struct libdeflate_compressor *z, job *j) {
  size_t n = (size_t)c->s[j->stream].chunk * c->s[j->stream].elem;
  j->mask = 0;
  if (z) {
    j->out_len = libdeflate_zlib_compress(z, j->raw, n, j->out, j->out_cap);
  } else {
    j->out_len = lzf_compress(j->raw, (unsigned)n, j->out, (unsigned)(n - 1));
    if (!j->out_len) { /* as h5py's optional filter: keep the chunk raw and mark the filter skipped */
      memcpy(j->out, j->raw, n);
      j->out_len = n;
      j->mask = 1;
    }
  }
  j->failed = j->out_len == 0;
}

static void *worker(void *arg) {
  cg_h5ad_csr *c = arg;
  struct libdeflate_compressor *z = NULL;
  if (c->w->o.codec == CG_H5W_GZIP) z = libdeflate_alloc_compressor(c->w->o.level);
  pthread_mutex_lock(&c->mu);
  for (;;) {
    while (!c->stop && c->next == c->tail) pthread_cond_wait(&c->work, &c->mu);
    if (c->next == c->tail) break; /* stopping and nothing left */
    job *j = &c->ring[c->next++ % RING];
    pthread_mutex_unlock(&c->mu);
    if (z || c->w->o.codec == CG_H5W_LZF) compress_job(c, z, j);
    else j->failed = 1;
    pthread_mutex_lock(&c->mu);
    j->done = 1;
    pthread_cond_broadcast(&c->done);
  }
  pthread_mutex_unlock(&c->mu);
  if (z) libdeflate_free_compressor(z);
  return NULL;
}

static int start_pool(cg_h5ad_csr *c, cg_err *err) {
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->work, NULL);
  pthread_cond_init(&c->done, NULL);
  c->threads = cg_calloc((size_t)c->w->o.threads, sizeof *c->threads);
  if (!c->threads) return cg_err_set(err, CG_ENOMEM, "compression threads");
  for (int i = 0; i < c->w->o.threads; i++) {
    if (pthread_create(&c->threads[i], NULL, worker, c) != 0)
      return cg_err_set(err, CG_EIO, "starting compression thread %d", i);
    c->n_threads++;
  }
  return 0;
}

static void stop_pool(cg_h5ad_csr *c) {
  if (!c->threads) return;
  pthread_mutex_lock(&c->mu);
  c->stop = 1;
  pthread_cond_broadcast(&c->work);
  pthread_mutex_unlock(&c->mu);
  for (int i = 0; i < c->n_threads; i++) pthread_join(c->threads[i], NULL);
  cg_free(c->threads);
  c->threads = NULL;
  pthread_cond_destroy(&c->done);
  pthread_cond_destroy(&c->work);
  pthread_mutex_destroy(&c->mu);
}

/* ---- the ring (main thread) ---------------------------------------------------------------------- */

/* Writes the job at head (which must be done) and advances head. Called without the lock held. */
static int write_head(cg_h5ad_csr *c, cg_err *err) {
  job *j = &c->ring[c->head % RING];
  stream *s = &c->s[j->stream];
  int rc = 0;
  if (j->failed) rc = cg_err_set(err, CG_EIO, "compressing a chunk of /%s/%s", c->path, stream_names[j->stream]);
  else if (H5Dwrite_chunk(s->ds, H5P_DEFAULT, j->mask, &j->offset, j->out_len, j->out) < 0)
    rc = cg__h5w_fail(err, CG_EIO, "writing a chunk");
  if (rc) cg_err_prefix(err, "/%s/%s", c->path, stream_names[j->stream]);
  pthread_mutex_lock(&c->mu);
  j->done = 0;
  c->head++;
  pthread_mutex_unlock(&c->mu);
  return rc;
}

/* Writes finished jobs from the head, first waiting (for the head job) until at most `keep` jobs remain
 * in the ring: keep = RING never waits, RING - 1 makes room for one submit, 0 empties the ring. */
static int drain(cg_h5ad_csr *c, uint64_t keep, cg_err *err) {
  for (;;) {
    pthread_mutex_lock(&c->mu);
    while (c->tail - c->head > keep && !c->ring[c->head % RING].done) pthread_cond_wait(&c->done, &c->mu);
    int ready = c->head < c->tail && c->ring[c->head % RING].done;
    pthread_mutex_unlock(&c->mu);
    if (!ready) return 0;
    int rc = write_head(c, err);
    if (rc) return rc;
  }
}

static int submit(cg_h5ad_csr *c, int si, cg_err *err) {
  stream *s = &c->s[si];
  int rc = drain(c, RING - 1, err); /* room for one more */
  if (rc) return rc;
  memset(s->buf + s->fill * s->elem, 0, (size_t)(s->chunk - s->fill) * s->elem); /* invariant 4 */
  pthread_mutex_lock(&c->mu);
  job *j = &c->ring[c->tail % RING];
  unsigned char *t = j->raw;
  j->raw = s->buf, s->buf = t;
  j->stream = si, j->offset = s->written, j->done = 0, j->failed = 0;
  c->tail++;
  pthread_cond_signal(&c->work);
  pthread_mutex_unlock(&c->mu);
  return 0;
}

static int write_plain(cg_h5ad_csr *c, int si, cg_err *err) {
  stream *s = &c->s[si];
  hsize_t off[1] = {s->written}, cnt[1] = {s->fill};
  hid_t fsp = H5Dget_space(s->ds), msp = H5Screate_simple(1, cnt, NULL);
  hid_t mt = si == S_DATA ? H5T_NATIVE_FLOAT : c->wide ? H5T_NATIVE_INT64 : H5T_NATIVE_INT32;
  int rc = 0;
  if (fsp < 0 || msp < 0 || H5Sselect_hyperslab(fsp, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0 ||
      H5Dwrite(s->ds, mt, msp, fsp, H5P_DEFAULT, s->buf) < 0) {
    rc = cg__h5w_fail(err, CG_EIO, "writing");
    cg_err_prefix(err, "/%s/%s", c->path, stream_names[si]);
  }
  if (msp >= 0) H5Sclose(msp);
  if (fsp >= 0) H5Sclose(fsp);
  return rc;
}

static int stream_flush(cg_h5ad_csr *c, int si, cg_err *err) {
  stream *s = &c->s[si];
  if (s->fill == 0) return 0;
  int rc = c->w->o.codec == CG_H5W_NONE ? write_plain(c, si, err) : submit(c, si, err);
  s->written += s->fill;
  s->fill = 0;
  return rc;
}

/* ---- streams -------------------------------------------------------------------------------------- */

typedef enum { CONV_F32, CONV_U32, CONV_I64 } conv;

static void convert(unsigned char *dst, size_t elem, const void *src, size_t n, conv cv, int64_t add) {
  if (cv == CONV_F32 || (cv == CONV_U32 && elem == 4)) { /* indices < 2^31 when stored as int32 */
    memcpy(dst, src, n * 4);
  } else if (cv == CONV_U32) {
    const uint32_t *u = src;
    int64_t *d = (int64_t *)dst;
    for (size_t i = 0; i < n; i++) d[i] = u[i];
  } else if (elem == 8) {
    const int64_t *u = src;
    int64_t *d = (int64_t *)dst;
    for (size_t i = 0; i < n; i++) d[i] = u[i] + add;
  } else {
    const int64_t *u = src;
    int32_t *d = (int32_t *)dst;
    for (size_t i = 0; i < n; i++) d[i] = (int32_t)(u[i] + add);
  }
}

/* Appends n source elements (converted, plus `add` for offsets) to stream si, flushing full buffers. */
static int stream_put(cg_h5ad_csr *c, int si, const void *src, size_t n, conv cv, int64_t add, cg_err *err) {
  stream *s = &c->s[si];
  const unsigned char *p = src;
  size_t src_elem = cv == CONV_I64 ? 8 : 4;
  while (n > 0) {
    size_t k = (size_t)(s->chunk - s->fill);
    if (k > n) k = n;
    convert(s->buf + s->fill * s->elem, s->elem, p, k, cv, add);
    s->fill += k, p += k * src_elem, n -= k;
    if (s->fill == s->chunk) {
      int rc = stream_flush(c, si, err);
      if (rc) return rc;
    }
  }
  return 0;
}

static int open_stream(cg_h5ad_csr *c, int si, hid_t ftype, hsize_t total, cg_err *err) {
  stream *s = &c->s[si];
  char path[300];
  hsize_t dims[1] = {total}, maxdims[1] = {H5S_UNLIMITED}, chunk;
  int compressed = c->w->o.codec != CG_H5W_NONE;
  s->ds = -1, s->elem = H5Tget_size(ftype), s->total = total;
  hid_t dcpl = cg__h5w_dcpl(c->w, 1, dims, s->elem, compressed, &chunk);
  hid_t sp = H5Screate_simple(1, dims, compressed ? maxdims : NULL);
  snprintf(path, sizeof path, "%s/%s", c->path, stream_names[si]);
  if (dcpl >= 0 && sp >= 0) s->ds = H5Dcreate2(c->w->file, path, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (sp >= 0) H5Sclose(sp);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (s->ds < 0) return cg__h5w_fail(err, CG_EIO, path);
  s->chunk = compressed ? chunk : NONE_CHUNK_ELEMS;
  if ((size_t)s->chunk * s->elem > c->raw_cap) c->raw_cap = (size_t)s->chunk * s->elem;
  return 0;
}

/* Every buffer gets the largest chunk size: buffers move between streams and ring slots on submit. */
static int alloc_buffers(cg_h5ad_csr *c, cg_err *err) {
  size_t bound = libdeflate_zlib_compress_bound(NULL, c->raw_cap);
  for (int i = 0; i < N_STREAMS; i++)
    if (!(c->s[i].buf = cg_malloc(c->raw_cap))) return cg_err_set(err, CG_ENOMEM, "/%s: buffers", c->path);
  for (int i = 0; i < RING && c->w->o.codec != CG_H5W_NONE; i++) {
    c->ring[i].raw = cg_malloc(c->raw_cap);
    c->ring[i].out = cg_malloc(bound);
    c->ring[i].out_cap = bound;
    if (!c->ring[i].raw || !c->ring[i].out) return cg_err_set(err, CG_ENOMEM, "/%s: chunk ring", c->path);
  }
  return 0;
}

/* ---- the element ---------------------------------------------------------------------------------- */

static int write_shape(cg_h5ad_csr *c, cg_err *err) {
  hsize_t n = 2;
  int64_t shape[2] = {c->n_rows, c->n_cols};
  hid_t sp = H5Screate_simple(1, &n, NULL);
  hid_t a = sp < 0 ? -1 : H5Acreate2(c->group, "shape", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  int rc = a < 0 || H5Awrite(a, H5T_NATIVE_INT64, shape) < 0 ? cg__h5w_fail(err, CG_EIO, "shape") : 0;
  if (rc) cg_err_prefix(err, "/%s", c->path);
  if (a >= 0) H5Aclose(a);
  if (sp >= 0) H5Sclose(sp);
  return rc;
}

static int open_group(cg_h5ad_csr *c, cg_err *err) {
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  if (gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0)
    c->group = H5Gcreate2(c->w->file, c->path, H5P_DEFAULT, gcpl, H5P_DEFAULT);
  if (gcpl >= 0) H5Pclose(gcpl);
  if (c->group < 0) return cg__h5w_fail(err, CG_EIO, c->path);
  int rc = cg__h5w_encoding(c->group, "csr_matrix", "0.1.0", err);
  return rc ? rc : write_shape(c, err);
}

static int begin(cg_h5ad_csr *c, cg_err *err) {
  hid_t it = c->wide ? H5T_STD_I64LE : H5T_STD_I32LE;
  int64_t zero = 0;
  int rc = open_group(c, err);
  if (!rc) rc = open_stream(c, S_DATA, H5T_IEEE_F32LE, (hsize_t)c->nnz, err);
  if (!rc) rc = open_stream(c, S_INDICES, it, (hsize_t)c->nnz, err);
  if (!rc) rc = open_stream(c, S_INDPTR, it, (hsize_t)c->n_rows + 1, err);
  if (!rc) rc = alloc_buffers(c, err);
  if (!rc && c->w->o.codec != CG_H5W_NONE) rc = start_pool(c, err);
  if (!rc) rc = stream_put(c, S_INDPTR, &zero, 1, CONV_I64, 0, err);
  return rc;
}

int cg_h5ad_csr_begin(cg_h5ad_writer *w, const char *path, int64_t n_rows, int64_t n_cols, int64_t nnz,
                      cg_h5ad_csr **out, cg_err *err) {
  *out = NULL;
  if (w->csr) return cg_err_set(err, CG_EINVAL, "/%s: another CSR matrix is being written", path);
  if (n_rows < 0 || n_cols < 0 || nnz < 0 || strlen(path) >= 200)
    return cg_err_set(err, CG_EINVAL, "/%s: bad CSR shape or path", path);
  cg_h5ad_csr *c = cg_calloc(1, sizeof *c);
  if (!c) return cg_err_set(err, CG_ENOMEM, "/%s: CSR stream", path);
  c->w = w, c->group = -1;
  for (int i = 0; i < N_STREAMS; i++) c->s[i].ds = -1;
  snprintf(c->path, sizeof c->path, "%s", path);
  c->n_rows = n_rows, c->n_cols = n_cols, c->nnz = nnz;
  c->wide = nnz > INT32_MAX || n_rows > INT32_MAX || n_cols > INT32_MAX; /* scipy's rule */
  w->csr = c;
  int rc = begin(c, err);
  if (rc) {
    cg__h5w_csr_drop(c);
    return rc;
  }
  *out = c;
  return 0;
}

int cg_h5ad_csr_append(cg_h5ad_csr *c, const cg_sparse_block *b, cg_err *err) {
  if (b->first != c->rows_done || b->count > c->n_rows - c->rows_done || b->nnz > c->nnz - c->nnz_done)
    return cg_err_set(err, CG_ERANGE, "/%s: block of rows %lld+%lld (%lld entries) after %lld rows and "
                      "%lld entries of %lld x %lld (%lld entries)", c->path, (long long)b->first,
                      (long long)b->count, (long long)b->nnz, (long long)c->rows_done,
                      (long long)c->nnz_done, (long long)c->n_rows, (long long)c->n_cols, (long long)c->nnz);
  int rc = stream_put(c, S_DATA, b->val, (size_t)b->nnz, CONV_F32, 0, err);
  if (!rc) rc = stream_put(c, S_INDICES, b->idx, (size_t)b->nnz, CONV_U32, 0, err);
  if (!rc) rc = stream_put(c, S_INDPTR, b->ptr + 1, (size_t)b->count, CONV_I64, c->nnz_done, err);
  if (!rc) rc = c->threads ? drain(c, RING, err) : 0; /* write whatever is finished */
  c->rows_done += b->count;
  c->nnz_done += b->nnz;
  return rc;
}

static void free_stream_state(cg_h5ad_csr *c) {
  stop_pool(c);
  for (int i = 0; i < N_STREAMS; i++) {
    if (c->s[i].ds >= 0) H5Dclose(c->s[i].ds);
    cg_free(c->s[i].buf);
  }
  for (int i = 0; i < RING; i++) {
    cg_free(c->ring[i].raw);
    cg_free(c->ring[i].out);
  }
  if (c->group >= 0) H5Gclose(c->group);
  c->w->csr = NULL;
  cg_free(c);
}

void cg__h5w_csr_drop(cg_h5ad_csr *c) {
  if (c) free_stream_state(c);
}

void cg_h5ad_csr_abort(cg_h5ad_csr *c) { cg__h5w_csr_drop(c); }

int cg_h5ad_csr_finish(cg_h5ad_csr *c, cg_err *err) {
  int rc = 0;
  if (c->rows_done != c->n_rows || c->nnz_done != c->nnz)
    rc = cg_err_set(err, CG_ERANGE, "/%s: %lld rows and %lld entries written of %lld and %lld", c->path,
                    (long long)c->rows_done, (long long)c->nnz_done, (long long)c->n_rows, (long long)c->nnz);
  for (int i = 0; i < N_STREAMS && !rc; i++) rc = stream_flush(c, i, err);
  if (!rc && c->threads) rc = drain(c, 0, err);
  free_stream_state(c);
  return rc;
}
