/* bundle_matrix.c — the matrix part of cg_bundle_write: gene stats, CSR and CSC, in two passes.
 *
 * Design note
 *        source blocks (major lines)                 file (the last seven sections)
 *   pass 1 ─────────────────────────────> [stats][csr ptr][csc ptr][CSR idx|CSR val][CSC idx|CSC val]
 *     (pipelined: block i+1 is read while a second thread takes block i)
 *     pwrite idx/val of each block           ^ written last      ^ major arrays, appended sequentially
 *     into the major arrays; count entries
 *     per minor line; gene stats; hash
 *   relocate   if fewer entries arrived than the hint announced, slide the major arrays down (pread/pwrite)
 *   pass 2     map the major arrays read-only (file pages, not anonymous memory) and produce the minor
 *              arrays range by range through anonymous buffers, hashed in range order and written with
 *              O_DIRECT where aligned (bundle_transpose.c); no re-read of the minor arrays
 *
 * Invariants
 *  1. Layout depends only on (n_obs, n_vars, nnz) — not on which orientation the source has — so a CSR and a
 *     CSC source of the same matrix give identical bytes.
 *  2. Gene sums accumulate in float64 in increasing cell order in both orientations (same bits): from the
 *     source's columns for a CSC source (pass 1), from the CSC ranges for a CSR source (pass 2, in parallel).
 *  3. Anonymous memory is O(n_obs + n_vars) plus two source blocks and the transpose buffers (2 x 128 MB);
 *     nnz-sized data live only in file pages.
 *  4. Blocks are checked (base/sparse.h invariants) before use; more entries than the hint is an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/mem.h"
#include "base/sparse.h"
#include "bundle/bundle_fmt.h"
#include "bundle/bundle_wint.h"

#define BLOCK_ENTRIES (1LL << 22)
#define MOVE_CHUNK (8u << 20)

typedef struct mx {
  const cg_bundle_input *in;
  cg__bw *w;
  cg_err *err;
  int maj;
  int64_t n_major, n_minor, hint, nnz;
  uint64_t *mptr, *cnt;
  double *sum, *sq;
  float *lo, *hi;
  XXH3_state_t hi_idx, hi_val;
  uint64_t gs, ptr[2], base;
  int sec0;
} mx;

static void layout(const mx *m, uint64_t n, uint64_t o[4]) {
  o[0] = m->base;
  for (int k = 1; k < 4; k++) o[k] = cg__align64(o[k - 1] + 4 * n);
}

static int alloc_state(mx *m) {
  size_t nv = (size_t)m->in->n_vars + 1, nm = (size_t)m->n_minor + 1;
  m->mptr = cg_calloc((size_t)m->n_major + 1, 8);
  m->cnt = cg_calloc(nm, 8);
  m->sum = cg_calloc(nv, 8), m->sq = cg_calloc(nv, 8);
  m->lo = cg_malloc_array(nv, 4), m->hi = cg_malloc_array(nv, 4);
  if (!m->mptr || !m->cnt || !m->sum || !m->sq || !m->lo || !m->hi)
    return cg_err_set(m->err, CG_ENOMEM, "matrix: out of memory for per-line counters");
  for (size_t g = 0; g < nv; g++) m->lo[g] = INFINITY, m->hi[g] = -INFINITY;
  return 0;
}

static void free_state(mx *m) {
  cg_free(m->mptr), cg_free(m->cnt);
  cg_free(m->sum), cg_free(m->sq), cg_free(m->lo), cg_free(m->hi);
}

/* --- pass 1 ---------------------------------------------------------------------------------------------- */

/* Rows: only the per-gene counts (the CSC offsets); the gene stats are computed in pass 2 from the CSC
 * ranges, where each gene's values are contiguous and in increasing cell order (invariant 2). */
static void acc_rows(mx *m, const cg_sparse_block *b) {
  uint64_t *cnt = m->cnt;
  for (int64_t k = 0; k < b->nnz; k++) cnt[b->idx[k]]++;
}

static void acc_cols(mx *m, const cg_sparse_block *b) {
  for (int64_t k = 0; k < b->nnz; k++) m->cnt[b->idx[k]]++;
  for (int64_t l = 0; l < b->count; l++) {
    int64_t g = b->first + l;
    double s = 0, q = 0;
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t k = b->ptr[l]; k < b->ptr[l + 1]; k++) {
      float v = b->val[k];
      s += (double)v, q += (double)v * (double)v;
      lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
    m->sum[g] = s, m->sq[g] = q, m->lo[g] = lo, m->hi[g] = hi;
  }
}

/* Writes one checked block into the major arrays (appending), hashes it, counts its entries per minor line. */
static int take_block(mx *m, const cg_sparse_block *b, const uint64_t o[4], cg_err *err) {
  uint64_t pos = m->mptr[b->first];
  if ((uint64_t)b->nnz > (uint64_t)m->hint - pos)
    return cg_err_set(err, CG_EFORMAT, "matrix line %lld: more entries than the %lld announced",
                      (long long)b->first, (long long)m->hint);
  int rc = cg__pwrite_all(m->w->fd, b->idx, (size_t)b->nnz * 4, o[2 * m->maj] + 4 * pos, "matrix indices", err);
  if (!rc) rc = cg__pwrite_all(m->w->fd, b->val, (size_t)b->nnz * 4, o[2 * m->maj + 1] + 4 * pos, "matrix values", err);
  if (rc) return rc;
  /* Start writeback now rather than at fsync (asynchronous; the disk is idle otherwise). */
  sync_file_range(m->w->fd, (off_t)(o[2 * m->maj] + 4 * pos), (off_t)b->nnz * 4, SYNC_FILE_RANGE_WRITE);
  sync_file_range(m->w->fd, (off_t)(o[2 * m->maj + 1] + 4 * pos), (off_t)b->nnz * 4, SYNC_FILE_RANGE_WRITE);
  XXH3_64bits_update(&m->hi_idx, b->idx, (size_t)b->nnz * 4);
  XXH3_64bits_update(&m->hi_val, b->val, (size_t)b->nnz * 4);
  for (int64_t l = 0; l < b->count; l++) m->mptr[b->first + l + 1] = pos + (uint64_t)b->ptr[l + 1];
  if (m->maj) acc_cols(m, b);
  else acc_rows(m, b);
  return 0;
}

static int64_t block_lines(const mx *m) {
  if (m->hint <= 0) return m->n_major ? m->n_major : 1;
  int64_t l = BLOCK_ENTRIES * m->n_major / m->hint;
  return l < 1 ? 1 : l > (1 << 20) ? (1 << 20) : l;
}

/* Pass 1 is a two-stage pipeline: while the calling thread reads (and the reader inflates) block i+1, the
 * taker thread checks and takes block i. Blocks alternate between two buffers; the taker of block i is
 * joined before block i+1 is handed over, so blocks are taken in order (take_block appends). */
typedef struct taker {
  mx *m;
  const cg_sparse_block *b;
  const uint64_t *o;
  pthread_t th;
  int running, rc;
  cg_err err;
} taker;

static void *take_job(void *arg) {
  taker *t = arg;
  t->rc = cg_sparse_block_check(t->b, t->m->n_minor, &t->err);
  if (!t->rc) t->rc = take_block(t->m, t->b, t->o, &t->err);
  if (t->rc) cg_err_prefix(&t->err, "matrix block at line %lld", (long long)t->b->first);
  return NULL;
}

/* Waits for the block being taken; 0 or its error (moved into m->err). */
static int take_wait(taker *t) {
  if (!t->running) return 0;
  pthread_join(t->th, NULL);
  t->running = 0;
  if (t->rc) cg_err_set(t->m->err, t->rc, "%s", t->err.msg);
  return t->rc;
}

static int take_start(taker *t, const cg_sparse_block *b) {
  t->b = b, t->rc = 0, t->err.msg[0] = '\0';
  if (pthread_create(&t->th, NULL, take_job, t) == 0) return t->running = 1, 0;
  take_job(t); /* no thread: take it here */
  if (t->rc) cg_err_set(t->m->err, t->rc, "%s", t->err.msg);
  return t->rc;
}

static int read_one(mx *m, cg_sparse_block *b, int64_t first, int64_t n) {
  b->first = first, b->count = 0, b->nnz = 0;
  int rc = m->in->read_block(m->in->ctx, first, n, b, m->err);
  if (!rc && (b->first != first || b->count != n || !b->ptr))
    rc = cg_err_set(m->err, CG_EFORMAT, "reader returned lines %lld+%lld for %lld+%lld", (long long)b->first,
                    (long long)b->count, (long long)first, (long long)n);
  if (rc) cg_err_prefix(m->err, "matrix block at line %lld", (long long)first);
  return rc;
}

static int pass1(mx *m) {
  cg_sparse_block b[2];
  cg_sparse_block_init(&b[0]), cg_sparse_block_init(&b[1]);
  uint64_t o[4];
  layout(m, (uint64_t)m->hint, o);
  taker t = {.m = m, .o = o};
  int rc = 0, cur = 0;
  int64_t step = block_lines(m);
  for (int64_t first = 0; first < m->n_major && !rc; first += step, cur ^= 1) {
    int64_t n = m->n_major - first < step ? m->n_major - first : step;
    rc = read_one(m, &b[cur], first, n);
    int trc = take_wait(&t); /* the previous block; its error wins (it comes first in the file) */
    if (trc) rc = trc;
    if (!rc) rc = take_start(&t, &b[cur]);
    if (!rc && m->in->progress)
      m->in->progress(m->in->progress_ctx, m->maj ? "columns" : "rows", (double)(first + n) / (double)m->n_major);
  }
  int trc = take_wait(&t);
  if (!rc) rc = trc;
  m->nnz = (int64_t)m->mptr[m->n_major];
  cg_sparse_block_dispose(&b[0]), cg_sparse_block_dispose(&b[1]);
  return rc;
}

/* --- between the passes ---------------------------------------------------------------------------------- */

static int move_down(mx *m, uint64_t from, uint64_t to, uint64_t n) {
  if (from == to || !n) return 0;
  uint8_t *buf = cg_malloc(MOVE_CHUNK);
  if (!buf) return cg_err_set(m->err, CG_ENOMEM, "matrix: out of memory relocating");
  int rc = 0;
  for (uint64_t d = 0; d < n && !rc; d += MOVE_CHUNK) { /* ascending: never overwrites unread bytes (to < from) */
    size_t k = n - d < MOVE_CHUNK ? (size_t)(n - d) : MOVE_CHUNK;
    rc = cg__pread_all(m->w->fd, buf, k, from + d, "matrix (relocation)", m->err);
    if (!rc) rc = cg__pwrite_all(m->w->fd, buf, k, to + d, "matrix (relocation)", m->err);
  }
  cg_free(buf);
  return rc;
}

/* Slides the major arrays to their final place, then clears whatever the hint-sized layout left behind: the
 * padding after each major array, and (by truncating and re-extending) everything after the last one. */
static int relocate(mx *m, uint64_t oh[4], uint64_t on[4]) {
  static const uint8_t zero[64];
  int a = 2 * m->maj, rc = 0;
  uint64_t n4 = 4 * (uint64_t)m->nnz, end = on[a + 1] + n4;
  if (oh[a + 1] == on[a + 1]) return 0;
  rc = move_down(m, oh[a], on[a], n4);
  if (!rc) rc = move_down(m, oh[a + 1], on[a + 1], n4);
  if (!rc) rc = cg__pwrite_all(m->w->fd, zero, on[a + 1] - (on[a] + n4), on[a] + n4, "padding", m->err);
  if (!rc && ftruncate(m->w->fd, (off_t)end) != 0)
    rc = cg_err_set(m->err, CG_EIO, "truncating the matrix sections: %s", strerror(errno));
  return rc;
}

/* Writes an array as (part of) a section through pwrite, hashing it. */
static int put_array(mx *m, XXH3_state_t *st, const void *p, size_t n, uint64_t off, const char *what) {
  XXH3_64bits_update(st, p, n);
  return cg__pwrite_all(m->w->fd, p, n, off, what, m->err);
}

/* Major indptr, minor indptr (cnt becomes the prefix sums). */
static int write_ptrs(mx *m) {
  XXH3_state_t st;
  size_t nmaj = (size_t)m->n_major + 1, nmin = (size_t)m->n_minor + 1;
  uint64_t acc = 0;
  for (size_t j = 0; j + 1 < nmin; j++) {
    uint64_t c = m->cnt[j];
    m->cnt[j] = acc, acc += c;
  }
  m->cnt[nmin - 1] = acc;
  int s_maj = m->sec0 + 1 + m->maj, s_min = m->sec0 + 2 - m->maj;
  XXH3_64bits_reset(&st);
  int rc = put_array(m, &st, m->mptr, nmaj * 8, m->ptr[m->maj], "matrix offsets");
  cg__bw_set(m->w, s_maj, m->ptr[m->maj], nmaj * 8, XXH3_64bits_digest(&st));
  XXH3_64bits_reset(&st);
  if (!rc) rc = put_array(m, &st, m->cnt, nmin * 8, m->ptr[1 - m->maj], "matrix offsets");
  cg__bw_set(m->w, s_min, m->ptr[1 - m->maj], nmin * 8, XXH3_64bits_digest(&st));
  return rc;
}

/* Gene stats (after pass 2, which fills them for row-major sources). */
static int write_stats(mx *m) {
  XXH3_state_t st;
  size_t nv = (size_t)m->in->n_vars;
  int rc;
  const uint64_t *gp = m->maj ? m->mptr : m->cnt; /* gene offsets: CSC indptr */
  uint64_t *gn = cg_malloc_array(nv + 1, 8);
  if (!gn) return cg_err_set(m->err, CG_ENOMEM, "matrix: out of memory for gene stats");
  for (size_t g = 0; g < nv; g++) {
    gn[g] = gp[g + 1] - gp[g];
    if (gn[g] < (uint64_t)m->in->n_obs || !gn[g]) m->lo[g] = m->lo[g] < 0 ? m->lo[g] : 0, m->hi[g] = m->hi[g] > 0 ? m->hi[g] : 0;
  }
  uint64_t o = m->gs;
  XXH3_64bits_reset(&st);
  rc = put_array(m, &st, gn, nv * 8, o, "gene stats");
  if (!rc) rc = put_array(m, &st, m->sum, nv * 8, o + 8 * nv, "gene stats");
  if (!rc) rc = put_array(m, &st, m->sq, nv * 8, o + 16 * nv, "gene stats");
  if (!rc) rc = put_array(m, &st, m->lo, nv * 4, o + 24 * nv, "gene stats");
  if (!rc) rc = put_array(m, &st, m->hi, nv * 4, o + 28 * nv, "gene stats");
  cg__bw_set(m->w, m->sec0, o, 32 * nv, XXH3_64bits_digest(&st));
  cg_free(gn);
  return rc;
}

/* --- pass 2: scatter into the other orientation ---------------------------------------------------------- */

typedef struct map {
  uint8_t *p;
  size_t len;
  uint64_t skew;
} map;

static int map_range(mx *m, map *r, uint64_t off, uint64_t len, int writable) {
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), start = off / page * page;
  r->skew = off - start, r->len = (size_t)(len + r->skew);
  void *p = mmap(NULL, r->len, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, m->w->fd, (off_t)start);
  if (p == MAP_FAILED) return r->p = NULL, cg_err_set(m->err, CG_EIO, "matrix: mmap: %s", strerror(errno));
  r->p = p;
  madvise(p, r->len, MADV_SEQUENTIAL);
  return 0;
}

/* The output reopened with O_DIRECT for pass 2's big writes (bundle_transpose.c note 3), or -1. */
static int open_direct(int fd) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  return open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
}

static int pass2(mx *m, const uint64_t o[4]) {
  int a = 2 * m->maj, b = 2 - a, dfd = -1;
  uint64_t n4 = 4 * (uint64_t)m->nnz, hi = XXH3_64bits(NULL, 0), hv = hi;
  map src = {0};
  int rc = 0;
  if (n4) rc = map_range(m, &src, o[a], o[a + 1] + n4 - o[a], 0);
  if (rc || !n4) goto done;
  uint8_t *s0 = src.p + src.skew;
  dfd = open_direct(m->w->fd);
  cg__tp t = {m->mptr, m->n_major, m->n_minor, (const uint32_t *)s0, (const float *)(s0 + (o[a + 1] - o[a])),
              m->w->fd, dfd, o[b], o[b + 1], m->cnt, NULL, NULL, NULL, NULL};
  if (!m->maj) t.sum = m->sum, t.sq = m->sq, t.lo = m->lo, t.hi = m->hi;
  rc = cg__bundle_transpose(&t, &hi, &hv, m->err);
  if (m->in->progress) m->in->progress(m->in->progress_ctx, "checksums", 1.0);
done:
  if (!rc) {
    cg__bw_set(m->w, m->sec0 + 3 + b, o[b], n4, hi);
    cg__bw_set(m->w, m->sec0 + 4 + b, o[b + 1], n4, hv);
  }
  if (dfd >= 0) close(dfd);
  if (src.p) munmap(src.p, src.len);
  return rc;
}

/* --- the whole matrix ------------------------------------------------------------------------------------ */

static int reserve(mx *m) {
  static const uint32_t kinds[7] = {CG_BSEC_GENE_STATS, CG_BSEC_CSR_INDPTR, CG_BSEC_CSC_INDPTR, CG_BSEC_CSR_INDICES,
                                    CG_BSEC_CSR_DATA, CG_BSEC_CSC_INDICES, CG_BSEC_CSC_DATA};
  int64_t no = m->in->n_obs, nv = m->in->n_vars;
  for (int k = 0; k < 7; k++) {
    uint64_t count = k == 0 ? (uint64_t)nv : k == 1 ? (uint64_t)no + 1 : k == 2 ? (uint64_t)nv + 1 : 0;
    int i = cg__bw_reserve(m->w, kinds[k], count, 0);
    if (i < 0) return i;
    if (k == 0) m->sec0 = i;
  }
  m->gs = cg__align64(m->w->cursor);
  m->ptr[0] = cg__align64(m->gs + 32 * (uint64_t)nv);
  m->ptr[1] = cg__align64(m->ptr[0] + 8 * ((uint64_t)no + 1));
  m->base = cg__align64(m->ptr[1] + 8 * ((uint64_t)nv + 1));
  return 0;
}

int cg__bundle_matrix(cg__bw *w, const cg_bundle_input *in, int64_t *nnz_out, cg_err *err) {
  mx m = {.in = in, .w = w, .err = err, .maj = in->major_axis, .hint = in->nnz};
  m.n_major = m.maj ? in->n_vars : in->n_obs;
  m.n_minor = m.maj ? in->n_obs : in->n_vars;
  uint64_t oh[4], on[4];
  XXH3_64bits_reset(&m.hi_idx);
  XXH3_64bits_reset(&m.hi_val);
  int rc = reserve(&m);
  if (!rc) rc = alloc_state(&m);
  if (!rc) rc = pass1(&m);
  if (rc) goto done;
  layout(&m, (uint64_t)m.hint, oh);
  layout(&m, (uint64_t)m.nnz, on);
  rc = relocate(&m, oh, on);
  for (int k = 0; k < 4; k++) w->sec[m.sec0 + 3 + k].count = (uint64_t)m.nnz;
  int a = 2 * m.maj;
  cg__bw_set(w, m.sec0 + 3 + a, on[a], 4 * (uint64_t)m.nnz, XXH3_64bits_digest(&m.hi_idx));
  cg__bw_set(w, m.sec0 + 4 + a, on[a + 1], 4 * (uint64_t)m.nnz, XXH3_64bits_digest(&m.hi_val));
  if (!rc && ftruncate(w->fd, (off_t)cg__align64(on[3] + 4 * (uint64_t)m.nnz)) != 0)
    rc = cg_err_set(err, CG_EIO, "sizing the matrix sections: %s", strerror(errno));
  if (!rc) rc = write_ptrs(&m);
  if (!rc) rc = pass2(&m, on);
  if (!rc) rc = write_stats(&m);
  *nnz_out = m.nnz;
done:
  free_state(&m);
  return rc;
}
