/* bundle_out.c — the writer's output file: sequential buffered section appends, reserved regions, and the
 * final TOC + header. See bundle_wint.h. Single-threaded (the writer's calling thread).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "bundle/bundle_fmt.h"
#include "bundle/bundle_wint.h"

int cg__pwrite_all(int fd, const void *p, size_t n, uint64_t off, const char *what, cg_err *err) {
  const uint8_t *c = p;
  while (n) {
    ssize_t k = pwrite(fd, c, n > (1u << 30) ? (1u << 30) : n, (off_t)off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return cg_err_set(err, CG_EIO, "writing %s: %s", what, k < 0 ? strerror(errno) : "short write");
    c += k, n -= (size_t)k, off += (uint64_t)k;
  }
  return 0;
}

int cg__pread_all(int fd, void *p, size_t n, uint64_t off, const char *what, cg_err *err) {
  uint8_t *c = p;
  while (n) {
    ssize_t k = pread(fd, c, n > (1u << 30) ? (1u << 30) : n, (off_t)off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return cg_err_set(err, CG_EIO, "reading back %s: %s", what, k < 0 ? strerror(errno) : "short read");
    c += k, n -= (size_t)k, off += (uint64_t)k;
  }
  return 0;
}

int cg__bw_init(cg__bw *w, int fd, uint32_t n_planned, cg_err *err) {
  memset(w, 0, sizeof *w);
  w->fd = fd, w->err = err, w->open_sec = -1, w->n_planned = n_planned;
  w->cursor = CG_BFMT_HEADER_SIZE + (uint64_t)n_planned * CG_BFMT_TOC_ENTRY;
  w->buf_off = cg__align64(w->cursor);
  w->buf = cg_malloc(CG__BW_BUF);
  if (!w->buf) return cg_err_set(err, CG_ENOMEM, "out of memory for the output buffer");
  return 0;
}

void cg__bw_dispose(cg__bw *w) {
  cg_free(w->buf);
  cg_free(w->sec);
  memset(w, 0, sizeof *w);
}

static int add_sec(cg__bw *w, uint32_t kind, uint64_t count, uint64_t aux) {
  if (w->n_sec == w->cap) {
    uint32_t cap = w->cap ? 2 * w->cap : 64;
    cg__bsec *s = cg_realloc(w->sec, cap * sizeof *s);
    if (!s) return cg_err_set(w->err, CG_ENOMEM, "out of memory for the section table");
    w->sec = s, w->cap = cap;
  }
  w->sec[w->n_sec] = (cg__bsec){kind, cg__align64(w->cursor), 0, count, 0, aux};
  return (int)w->n_sec++;
}

int cg__bw_reserve(cg__bw *w, uint32_t kind, uint64_t count, uint64_t aux) { return add_sec(w, kind, count, aux); }

void cg__bw_set(cg__bw *w, int i, uint64_t offset, uint64_t length, uint64_t checksum) {
  w->sec[i].offset = offset, w->sec[i].length = length, w->sec[i].checksum = checksum;
  if (offset + length > w->cursor) w->cursor = offset + length;
}

int cg__bw_flush(cg__bw *w) {
  if (w->open_sec >= 0 && w->buf_len > w->hash_from)
    XXH3_64bits_update(&w->hs, w->buf + w->hash_from, w->buf_len - w->hash_from);
  int rc = cg__pwrite_all(w->fd, w->buf, w->buf_len, w->buf_off, "annotation sections", w->err);
  w->buf_off += w->buf_len;
  w->buf_len = w->hash_from = 0;
  return rc;
}

/* Moves the buffer's start to file offset `at` (a boundary after the pending bytes), zero-filling the gap. */
static int seek_to(cg__bw *w, uint64_t at) {
  uint64_t end = w->buf_off + w->buf_len;
  if (at - end <= CG__BW_BUF - w->buf_len) {
    memset(w->buf + w->buf_len, 0, at - end);
    w->buf_len += at - end;
    w->hash_from = w->buf_len;
    return 0;
  }
  int rc = cg__bw_flush(w);
  w->buf_off = at;
  return rc;
}

int cg__bw_begin(cg__bw *w, uint32_t kind, uint64_t count, uint64_t aux) {
  int i = add_sec(w, kind, count, aux);
  if (i < 0) return i;
  int rc = seek_to(w, w->sec[i].offset);
  if (rc) return rc;
  XXH3_64bits_reset(&w->hs);
  w->open_sec = i;
  return i;
}

int cg__bw_put(cg__bw *w, const void *p, size_t n) {
  const uint8_t *c = p;
  while (n) {
    if (w->buf_len == CG__BW_BUF) {
      int rc = cg__bw_flush(w);
      if (rc) return rc;
    }
    size_t k = CG__BW_BUF - w->buf_len < n ? CG__BW_BUF - w->buf_len : n;
    memcpy(w->buf + w->buf_len, c, k);
    w->buf_len += k, c += k, n -= k;
  }
  return 0;
}

int cg__bw_end(cg__bw *w) {
  cg__bsec *s = &w->sec[w->open_sec];
  if (w->buf_len > w->hash_from) XXH3_64bits_update(&w->hs, w->buf + w->hash_from, w->buf_len - w->hash_from);
  w->hash_from = w->buf_len;
  s->length = w->buf_off + w->buf_len - s->offset;
  s->checksum = XXH3_64bits_digest(&w->hs);
  w->cursor = s->offset + s->length;
  w->open_sec = -1;
  return 0;
}

static void put_toc(const cg__bsec *s, uint8_t *e) {
  memset(e, 0, CG_BFMT_TOC_ENTRY);
  cg__st32(e + CG_BT_KIND, s->kind);
  cg__st64(e + CG_BT_OFF, s->offset);
  cg__st64(e + CG_BT_LEN, s->length);
  cg__st64(e + CG_BT_COUNT, s->count);
  cg__st64(e + CG_BT_SUM, s->checksum);
  cg__st64(e + CG_BT_AUX, s->aux);
}

int cg__bw_finish(cg__bw *w, int64_t n_obs, int64_t n_vars, int64_t nnz, int has_matrix) {
  size_t toc = (size_t)w->n_sec * CG_BFMT_TOC_ENTRY, n = CG_BFMT_HEADER_SIZE + toc;
  if (w->n_sec != w->n_planned)
    return cg_err_set(w->err, CG_EINVAL, "internal: %u sections written, %u planned", w->n_sec, w->n_planned);
  uint64_t size = cg__align64(w->cursor);
  uint8_t *h = cg_calloc(1, n);
  if (!h) return cg_err_set(w->err, CG_ENOMEM, "out of memory for the TOC");
  memcpy(h, CG_BFMT_MAGIC, 8);
  cg__st32(h + CG_BH_VERSION, CG_BUNDLE_FORMAT_VERSION);
  cg__st32(h + CG_BH_HSIZE, CG_BFMT_HEADER_SIZE);
  cg__st64(h + CG_BH_FSIZE, size);
  cg__st64(h + CG_BH_NOBS, (uint64_t)n_obs);
  cg__st64(h + CG_BH_NVARS, (uint64_t)n_vars);
  cg__st64(h + CG_BH_NNZ, (uint64_t)nnz);
  cg__st32(h + CG_BH_NSEC, w->n_sec);
  cg__st32(h + CG_BH_FLAGS, has_matrix ? CG_BFLAG_MATRIX : 0);
  cg__st64(h + CG_BH_TOCOFF, CG_BFMT_HEADER_SIZE);
  for (uint32_t i = 0; i < w->n_sec; i++) put_toc(&w->sec[i], h + CG_BFMT_HEADER_SIZE + i * CG_BFMT_TOC_ENTRY);
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  XXH3_128bits_update(&st, h, CG_BH_ID);
  XXH3_128bits_update(&st, h + CG_BFMT_HEADER_SIZE, toc);
  XXH128_canonical_t id;
  XXH128_canonicalFromHash(&id, XXH3_128bits_digest(&st));
  memcpy(h + CG_BH_ID, id.digest, 16);
  XXH3_64bits_reset(&w->hs);
  XXH3_64bits_update(&w->hs, h, CG_BH_CHECKSUM);
  XXH3_64bits_update(&w->hs, h + CG_BFMT_HEADER_SIZE, toc);
  cg__st64(h + CG_BH_CHECKSUM, XXH3_64bits_digest(&w->hs));
  int rc = cg__pwrite_all(w->fd, h, n, 0, "header and TOC", w->err);
  if (!rc && ftruncate(w->fd, (off_t)size) != 0) rc = cg_err_set(w->err, CG_EIO, "sizing the file: %s", strerror(errno));
  cg_free(h);
  return rc;
}
