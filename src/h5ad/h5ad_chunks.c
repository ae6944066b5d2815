/* h5ad_chunks.c — the fast path for the big 1-D arrays of a sparse matrix (data, indices): raw chunk reads
 * (H5Dread_chunk: HDF5 only does the I/O, under its global lock) and decompression outside HDF5, on two
 * threads, straight into the caller's buffer.
 *
 * Design notes
 *  1. Eligible: a chunked 1-D dataset whose file type equals the memory type bit for bit (float32 LE for
 *     data, int32/uint32 LE for indices), with chunks of at most CHUNK_MAX bytes and a filter pipeline that is
 *     empty, or exactly one deflate filter (a zlib stream, inflated by libdeflate) or one LZF filter (liblzf).
 *     Anything else (shuffle, fletcher32, szip, big-endian, float64, int64 indices, ...) keeps HDF5's
 *     hyperslab path, which stays the reference behaviour.
 *  2. A read of elements [p0, p0+n) touches chunks p0/C .. (p0+n-1)/C:
 *
 *       calling thread: for each chunk, H5Dread_chunk its stored bytes into the staging buffer
 *       calling thread + 1 helper: claim chunks from an atomic counter and inflate them
 *           chunk inside [p0, p0+n) ──> straight into buf
 *           first/last chunk, partial ──> a cache slot (2 per dataset), then the wanted part is copied
 *
 *     Consecutive blocks share a partial chunk: the slot keeps it, so it is read and inflated once.
 *  3. Every inflated chunk must be exactly C elements (HDF5 stores edge chunks full size) and its stored size
 *     plausible; otherwise, and for an unallocated chunk, the read fails and the caller falls back to the
 *     hyperslab path, which reports HDF5's own error (or reads fill values). A chunk whose filter mask says
 *     the filter was skipped (an optional LZF filter on incompressible data) is stored raw.
 *  4. Results are bit-identical to the hyperslab path: neither converts (note 1).
 */
#include <libdeflate.h>
#include <liblzf/lzf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "base/mem.h"
#include "h5ad/h5ad_internal.h"

#define CHUNK_MAX ((size_t)64 << 20)
#define LZF_FILTER_ID 32000

enum { F_NONE = 0, F_DEFLATE = 1, F_LZF = 2 };

struct cg__chunked {
  hid_t dset;      /* borrowed from the matrix */
  int filter;      /* F_* */
  int64_t celems;  /* C: elements per chunk */
  size_t esize;    /* bytes per element */
  int64_t slot_id[2];
  uint8_t *slot[2]; /* inflated partial chunks, cbytes each */
  uint8_t *stage;   /* stored chunk bytes of one read (the first array of a read keeps them) */
  size_t stage_cap;
};

typedef struct task {
  cg__chunked *c;
  size_t raw_off, raw_len;
  unsigned mask;
  uint8_t *dst;         /* where the whole chunk inflates (buf or a slot) */
  uint8_t *copy_to;     /* partial chunk: the wanted part goes here from dst + copy_from */
  size_t copy_from, copy_len;
  int cached;           /* already in a slot: only the copy */
} task;

typedef struct batch {
  task *t;
  int n;
  const uint8_t *raw;
  atomic_int next;
  atomic_int failed;
} batch;

static size_t cbytes(const cg__chunked *c) { return (size_t)c->celems * c->esize; }

static int pipeline_kind(hid_t dcpl) {
  int nf = H5Pget_nfilters(dcpl);
  if (nf == 0) return F_NONE;
  if (nf != 1) return -1;
  unsigned flags, cfg, cd[8];
  size_t ncd = 8;
  char name[16];
  H5Z_filter_t id = H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, sizeof name, name, &cfg);
  return id == H5Z_FILTER_DEFLATE ? F_DEFLATE : id == LZF_FILTER_ID ? F_LZF : -1;
}

cg__chunked *cg__chunked_open(hid_t dset, hid_t mem_type) {
  hid_t dcpl = H5Dget_create_plist(dset), ft = H5Dget_type(dset);
  hsize_t dim = 0;
  int kind = -1;
  if (dcpl >= 0 && ft >= 0 && H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, &dim) == 1 &&
      H5Tequal(ft, mem_type) > 0)
    kind = pipeline_kind(dcpl);
  size_t esize = ft >= 0 ? H5Tget_size(ft) : 0;
  if (dcpl >= 0) H5Pclose(dcpl);
  if (ft >= 0) H5Tclose(ft);
  H5Eclear2(H5E_DEFAULT);
  if (kind < 0 || dim == 0 || esize == 0 || dim > CHUNK_MAX / esize) return NULL;
  cg__chunked *c = cg_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->dset = dset, c->filter = kind, c->celems = (int64_t)dim, c->esize = esize;
  c->slot_id[0] = c->slot_id[1] = -1;
  return c;
}

void cg__chunked_free(cg__chunked *c) {
  if (!c) return;
  cg_free(c->slot[0]);
  cg_free(c->slot[1]);
  cg_free(c->stage);
  cg_free(c);
}

/* --- planning: which chunks, where they go (calling thread, HDF5) --------------------------------------- */

typedef struct plan {
  task *t;
  int n, cap;
  uint8_t *raw;
  size_t raw_len, raw_cap;
} plan;

static task *add_task(plan *p) {
  if (p->n == p->cap) {
    int cap = p->cap ? 2 * p->cap : 64;
    task *t = cg_realloc(p->t, (size_t)cap * sizeof *t);
    if (!t) return NULL;
    p->t = t, p->cap = cap;
  }
  memset(&p->t[p->n], 0, sizeof p->t[p->n]);
  return &p->t[p->n++];
}

/* Appends chunk k's stored bytes to the staging buffer. */
static int read_raw(cg__chunked *c, int64_t k, plan *p, task *t) {
  hsize_t off = (hsize_t)(k * c->celems), nbytes = 0;
  if (H5Dget_chunk_storage_size(c->dset, &off, &nbytes) < 0 || nbytes == 0) return -1;
  if (nbytes > cbytes(c) + cbytes(c) / 8 + 4096) return -1; /* implausible for any of the three (note 3) */
  if (p->raw_len + nbytes > p->raw_cap) {
    size_t cap = (p->raw_len + nbytes) * 3 / 2 + (1u << 20);
    uint8_t *r = cg_realloc(p->raw, cap);
    if (!r) return -1;
    p->raw = r, p->raw_cap = cap;
  }
  uint32_t mask = 0;
  if (H5Dread_chunk(c->dset, H5P_DEFAULT, &off, &mask, p->raw + p->raw_len) < 0) return -1;
  t->raw_off = p->raw_len, t->raw_len = (size_t)nbytes, t->mask = mask;
  p->raw_len += (size_t)nbytes;
  return 0;
}

/* The slot for partial chunk k: the one holding it, else one not holding `keep` (the batch's other partial). */
static int pick_slot(cg__chunked *c, int64_t k, int64_t keep, int *cached) {
  for (int s = 0; s < 2; s++)
    if (c->slot_id[s] == k) return *cached = 1, s;
  *cached = 0;
  int s = c->slot_id[0] == keep ? 1 : 0;
  if (!c->slot[s] && !(c->slot[s] = cg_malloc(cbytes(c)))) return -1;
  c->slot_id[s] = -1; /* valid again once inflated */
  return s;
}

static int plan_array(cg__chunked *c, int64_t start, int64_t count, uint8_t *buf, plan *p) {
  int64_t C = c->celems, k0 = start / C, k1 = (start + count - 1) / C, first_partial = -1;
  for (int64_t k = k0; k <= k1; k++) {
    int64_t cs = k * C, a = start > cs ? start : cs, b = start + count < cs + C ? start + count : cs + C;
    task *t = add_task(p);
    if (!t) return -1;
    t->c = c;
    if (a == cs && b == cs + C) {
      t->dst = buf + (size_t)(cs - start) * c->esize;
    } else {
      int s = pick_slot(c, k, first_partial, &t->cached);
      if (s < 0) return -1;
      if (first_partial < 0) first_partial = k;
      t->dst = c->slot[s];
      t->copy_to = buf + (size_t)(a - start) * c->esize;
      t->copy_from = (size_t)(a - cs) * c->esize, t->copy_len = (size_t)(b - a) * c->esize;
      if (!t->cached) c->slot_id[s] = k; /* forgotten again if the read fails */
    }
    if (!t->cached && read_raw(c, k, p, t)) return -1;
  }
  return 0;
}

/* --- inflating (calling thread + helper; no HDF5) ------------------------------------------------------- */

static int inflate_one(struct libdeflate_decompressor *d, const task *t, const uint8_t *raw) {
  size_t want = cbytes(t->c), got = 0;
  const uint8_t *src = raw + t->raw_off;
  if (t->c->filter == F_NONE || (t->mask & 1u)) {
    if (t->raw_len != want) return -1;
    memcpy(t->dst, src, want);
    return 0;
  }
  if (t->c->filter == F_DEFLATE)
    return libdeflate_zlib_decompress(d, src, t->raw_len, t->dst, want, &got) == LIBDEFLATE_SUCCESS && got == want
               ? 0 : -1;
  return t->raw_len <= 0xFFFFFFFFu && lzf_decompress(src, (unsigned)t->raw_len, t->dst, (unsigned)want) == want
             ? 0 : -1;
}

static void *inflate_worker(void *arg) {
  batch *b = arg;
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  if (!d) {
    atomic_store(&b->failed, 1);
    return NULL;
  }
  for (int i; !atomic_load(&b->failed) && (i = atomic_fetch_add(&b->next, 1)) < b->n;) {
    task *t = &b->t[i];
    if (!t->cached && inflate_one(d, t, b->raw)) atomic_store(&b->failed, 1);
  }
  libdeflate_free_decompressor(d);
  return NULL;
}

static int run(plan *p) {
  batch b = {p->t, p->n, p->raw, 0, 0};
  pthread_t th;
  int threaded = p->n > 1 && pthread_create(&th, NULL, inflate_worker, &b) == 0;
  inflate_worker(&b);
  if (threaded) pthread_join(th, NULL);
  if (atomic_load(&b.failed)) return -1;
  for (int i = 0; i < p->n; i++) /* partial chunks: copy the wanted part out of the slot */
    if (p->t[i].copy_to) memcpy(p->t[i].copy_to, p->t[i].dst + p->t[i].copy_from, p->t[i].copy_len);
  return 0;
}

int cg__chunked_read(cg__chunked *const *c, void *const *buf, int n, int64_t start, int64_t count) {
  plan p = {.raw = c[0]->stage, .raw_cap = c[0]->stage_cap};
  int rc = 0;
  for (int i = 0; i < n && !rc && count > 0; i++) rc = plan_array(c[i], start, count, buf[i], &p);
  if (!rc && count > 0) rc = run(&p);
  if (rc) /* a slot may hold a half-inflated chunk: forget both */
    for (int i = 0; i < n; i++) c[i]->slot_id[0] = c[i]->slot_id[1] = -1;
  H5Eclear2(H5E_DEFAULT);
  cg_free(p.t);
  c[0]->stage = p.raw, c[0]->stage_cap = p.raw_cap;
  return rc;
}
