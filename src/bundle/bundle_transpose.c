/* bundle_transpose.c — pass 2 of the writer: builds the minor orientation (e.g. CSC) from the major one.
 *
 * Design note
 *  Measured dead ends: a direct scatter into the destination mapping is TLB-bound (~70 ns/entry), and
 *  transposing row chunks in memory then copying runs into the mapping pays a page fault + ext4 page_mkwrite
 *  per destination page (~4x the cost of pwrite). So the destination is produced in *minor ranges* instead:
 *
 *    minor lines [j0, j1) with <= RANGE_ENTRIES entries      (their destination slots are contiguous)
 *      for each major line l: entries cur[l] .. while index < j1   (lines are sorted, so this is a prefix of
 *                                                                    what is left of line l)
 *        scatter into buf by a local cursor per minor line   (j1-j0 live streams: cache resident)
 *      gene stats of the range's lines (row-major source)   (contiguous, cell order: bundle_matrix.c inv. 2)
 *      hash buf, in range order (the section checksums)     (no re-read of the written sections)
 *      write buf (indices, then values) at the range's destination offsets — big sequential writes
 *
 *  Invariants
 *   1. Ranges are fixed up front and claimed in increasing order by two workers (an atomic counter); each
 *      worker keeps its own per-major-line cursor array and moves it forward to a claimed range's first minor
 *      line by galloping search (skipping the other worker's entries), so nothing but the counter and the
 *      hash turn is shared. Every source entry is scattered once.
 *   2. XXH3 is sequential: range r is hashed only after range r-1 (a turn counter under a mutex; a worker
 *      that fails still passes its turn on, so the other never waits forever).
 *   3. The page-aligned middle of each range is written with O_DIRECT through a second descriptor (dfd) when
 *      the file system allows it: the bytes never enter the page cache, which on this VM class costs more
 *      than the scatter itself (first touch of new page-cache pages); head and tail (< 4 KiB) go through fd.
 *      The buffers are placed so that file offset and memory address agree modulo 4 KiB. Any O_DIRECT error
 *      falls back to fd for the rest. Durability is unchanged: the caller fsyncs before the rename.
 *  Memory per worker: the range buffers (8 bytes x RANGE_ENTRIES, or the largest single minor line) + n_major
 *  + range-width uint64 cursors.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/mem.h"
#include "bundle/bundle_wint.h"

#define RANGE_ENTRIES (16LL << 20) /* 128 MB of index + value per worker: fresh anonymous memory is slow to
                                     * first-touch here, each range costs a walk over the major lines */
#define DIO_ALIGN 4096u
#define PREFETCH 8 /* major lines ahead: each line's next entries are on another page of the source */

typedef struct shared {
  const cg__tp *t;
  int64_t *rstart; /* n_ranges + 1 minor-line boundaries */
  int n_ranges;
  atomic_int next;     /* next range to claim */
  pthread_mutex_t mu;  /* guards turn and failed */
  pthread_cond_t cv;
  int turn;            /* next range to hash */
  int failed;
  atomic_int direct;   /* O_DIRECT still usable */
  XXH3_state_t h_idx, h_val;
} shared;

typedef struct worker {
  shared *s;
  uint64_t *cur;  /* per major line: next unread entry */
  uint64_t *lcur; /* per minor line of the current range */
  uint8_t *raw_i, *raw_v; /* allocations; bi/bv are placed inside them per range (note 3) */
  uint32_t *bi;
  float *bv;
  int64_t j_at;   /* minor line the cursors are positioned at */
  int rc;
  cg_err err;
} worker;

static uint64_t lower_bound(const uint32_t *a, uint64_t lo, uint64_t hi, uint32_t v) {
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* First k in [k, e) with a[k] >= v, galloping from k (the usual skip is a few hundred entries at most). */
static uint64_t seek(const uint32_t *a, uint64_t k, uint64_t e, uint32_t v) {
  for (uint64_t step = 1; k < e && a[k] < v; step *= 2) {
    uint64_t n = k + step;
    if (n >= e || a[n] >= v) return lower_bound(a, k + 1, n < e ? n : e, v);
    k = n;
  }
  return k;
}

/* Writes p[0, n) at off: the DIO_ALIGN-aligned middle through dfd while that works, the rest through fd. */
static int put(worker *w, const uint8_t *p, uint64_t n, uint64_t off, const char *what) {
  const cg__tp *t = w->s->t;
  uint64_t a = (off + DIO_ALIGN - 1) & ~(uint64_t)(DIO_ALIGN - 1), b = (off + n) & ~(uint64_t)(DIO_ALIGN - 1);
  if (t->dfd >= 0 && atomic_load(&w->s->direct) && b > a && ((uintptr_t)(p + (a - off)) % DIO_ALIGN) == 0) {
    const uint8_t *c = p + (a - off);
    uint64_t at = a;
    while (at < b) {
      size_t len = b - at > (1u << 30) ? (1u << 30) : (size_t)(b - at);
      ssize_t k = pwrite(t->dfd, c, len, (off_t)at);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0 || k % DIO_ALIGN) break; /* anything odd: the buffered path writes the rest */
      c += k, at += (uint64_t)k;
    }
    if (at != b) atomic_store(&w->s->direct, 0);
    int rc = at > off ? cg__pwrite_all(t->fd, p, a - off, off, what, &w->err) : 0;
    if (!rc) rc = cg__pwrite_all(t->fd, p + (at - off), off + n - at, at, what, &w->err);
    return rc;
  }
  return cg__pwrite_all(t->fd, p, n, off, what, &w->err);
}

/* Waits for range r's turn to hash (0), or for the other worker's failure (-1). */
static int wait_turn(shared *s, int r) {
  pthread_mutex_lock(&s->mu);
  while (s->turn != r && !s->failed) pthread_cond_wait(&s->cv, &s->mu);
  int ok = s->turn == r && !s->failed;
  pthread_mutex_unlock(&s->mu);
  return ok ? 0 : -1;
}

static void pass_turn(shared *s, int failed) {
  pthread_mutex_lock(&s->mu);
  if (failed) s->failed = 1;
  else s->turn++;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Moves the cursors to minor line j (>= where they are). */
static void advance(worker *w, int64_t j) {
  const cg__tp *t = w->s->t;
  if (j == w->j_at) return;
  for (int64_t l = 0; l < t->n_major; l++) w->cur[l] = seek(t->si, w->cur[l], t->ptr[l + 1], (uint32_t)j);
  w->j_at = j;
}

/* Per-minor-line stats of a range (gene stats of a row-major source): each line's values are contiguous and
 * in increasing major order, so the float64 sums have the same bits as a cell-order pass would give. */
static void range_stats(const cg__tp *t, const float *bv, int64_t a, int64_t b, uint64_t first) {
  const uint64_t *mp = t->minor_ptr;
  for (int64_t j = a; j < b; j++) {
    double s = 0, q = 0;
    float lo = INFINITY, hi = -INFINITY;
    for (uint64_t p = mp[j] - first, e = mp[j + 1] - first; p < e; p++) {
      float v = bv[p];
      s += (double)v, q += (double)v * (double)v;
      lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
    t->sum[j] = s, t->sq[j] = q, t->lo[j] = lo, t->hi[j] = hi;
  }
}

/* Range r = minor lines [a, b): gather, stats, hash in turn, write. */
static int do_range(worker *w, int r) {
  shared *s = w->s;
  const cg__tp *t = s->t;
  const uint64_t *mp = t->minor_ptr;
  int64_t a = s->rstart[r], b = s->rstart[r + 1];
  uint64_t first = mp[a], n = mp[b] - first;
  uint64_t oi = t->di_off + 4 * first, ov = t->dv_off + 4 * first;
  w->bi = (uint32_t *)(w->raw_i + (oi % DIO_ALIGN)), w->bv = (float *)(w->raw_v + (ov % DIO_ALIGN));
  advance(w, a);
  for (int64_t j = a; j < b; j++) w->lcur[j - a] = mp[j] - first;
  uint64_t *lcur = w->lcur - a;
  const uint32_t *si = t->si;
  const float *sv = t->sv;
  uint32_t *bi = w->bi;
  float *bv = w->bv;
  for (int64_t l = 0; l < t->n_major; l++) {
    uint64_t k = w->cur[l], e = t->ptr[l + 1];
    if (l + PREFETCH < t->n_major) {
      uint64_t kk = w->cur[l + PREFETCH];
      __builtin_prefetch(&si[kk]), __builtin_prefetch(&sv[kk]);
    }
    for (; k < e && si[k] < (uint32_t)b; k++) {
      uint64_t p = lcur[si[k]]++;
      bi[p] = (uint32_t)l;
      bv[p] = sv[k];
    }
    w->cur[l] = k;
  }
  w->j_at = b;
  if (t->sum) range_stats(t, bv, a, b, first);
  if (wait_turn(s, r)) return CG_EIO; /* the other worker failed; its error is reported */
  XXH3_64bits_update(&s->h_idx, bi, n * 4);
  XXH3_64bits_update(&s->h_val, bv, n * 4);
  pass_turn(s, 0);
  int rc = put(w, (const uint8_t *)bi, n * 4, oi, "transposed indices");
  return rc ? rc : put(w, (const uint8_t *)bv, n * 4, ov, "transposed values");
}

static void *work(void *arg) {
  worker *w = arg;
  shared *s = w->s;
  for (int r; !w->rc && (r = atomic_fetch_add(&s->next, 1)) < s->n_ranges;) {
    w->rc = do_range(w, r);
    if (w->rc) pass_turn(s, 1);
  }
  return NULL;
}

/* Ranges of at most RANGE_ENTRIES entries (a longer single line is a range of its own); returns the largest. */
static uint64_t plan_ranges(shared *s) {
  const uint64_t *mp = s->t->minor_ptr;
  int64_t nm = s->t->n_minor;
  uint64_t big = 0;
  s->n_ranges = 0;
  for (int64_t a = 0; a < nm;) {
    int64_t b = a + 1;
    while (b < nm && mp[b + 1] - mp[a] <= (uint64_t)RANGE_ENTRIES) b++;
    s->rstart[s->n_ranges++] = a;
    big = mp[b] - mp[a] > big ? mp[b] - mp[a] : big;
    a = b;
  }
  s->rstart[s->n_ranges] = nm;
  return big;
}

/* Asks for transparent huge pages on the 2 MiB-aligned interior of a big buffer. Advice only. */
static void want_huge(void *p, size_t n) {
  uintptr_t m = (2u << 20) - 1, a = ((uintptr_t)p + m) & ~m, e = ((uintptr_t)p + n) & ~m;
  if (p && e > a) madvise((void *)a, e - a, MADV_HUGEPAGE);
}

static uint8_t *align_up(uint8_t *p) { return (uint8_t *)(((uintptr_t)p + DIO_ALIGN - 1) & ~(uintptr_t)(DIO_ALIGN - 1)); }

typedef struct bufs {
  uint8_t *mi, *mv; /* allocations */
} bufs;

static int worker_init(worker *w, bufs *m, shared *s, uint64_t cap) {
  const cg__tp *t = s->t;
  memset(w, 0, sizeof *w);
  w->s = s;
  size_t bytes = (size_t)cap * 4 + 2 * DIO_ALIGN;
  int64_t width = 1;
  for (int r = 0; r < s->n_ranges; r++) width = s->rstart[r + 1] - s->rstart[r] > width ? s->rstart[r + 1] - s->rstart[r] : width;
  w->cur = cg_malloc_array((size_t)t->n_major + 1, 8);
  w->lcur = cg_malloc_array((size_t)width + 1, 8);
  m->mi = cg_malloc(bytes), m->mv = cg_malloc(bytes);
  if (!w->cur || !w->lcur || !m->mi || !m->mv) return CG_ENOMEM;
  want_huge(m->mi, bytes), want_huge(m->mv, bytes);
  w->raw_i = align_up(m->mi), w->raw_v = align_up(m->mv);
  for (int64_t l = 0; l < t->n_major; l++) w->cur[l] = t->ptr[l];
  return 0;
}

static void worker_dispose(worker *w, bufs *m) {
  cg_free(w->cur), cg_free(w->lcur), cg_free(m->mi), cg_free(m->mv);
}

int cg__bundle_transpose(const cg__tp *t, uint64_t *h_idx, uint64_t *h_val, cg_err *err) {
  worker w[2];
  bufs m[2];
  memset(w, 0, sizeof w), memset(m, 0, sizeof m);
  shared *s = cg_calloc(1, sizeof *s);
  int rc = 0, threaded = 0;
  if (!s || !(s->rstart = cg_malloc_array((size_t)t->n_minor + 2, sizeof *s->rstart))) {
    rc = cg_err_set(err, CG_ENOMEM, "matrix: out of memory for the transpose plan");
    goto done;
  }
  s->t = t;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  atomic_init(&s->next, 0);
  atomic_init(&s->direct, 1);
  XXH3_64bits_reset(&s->h_idx);
  XXH3_64bits_reset(&s->h_val);
  uint64_t cap = plan_ranges(s);
  if (worker_init(&w[0], &m[0], s, cap) || (s->n_ranges > 1 && worker_init(&w[1], &m[1], s, cap))) {
    rc = cg_err_set(err, CG_ENOMEM, "matrix: out of memory for the transpose buffers");
    goto done;
  }
  pthread_t th;
  threaded = s->n_ranges > 1 && pthread_create(&th, NULL, work, &w[1]) == 0;
  work(&w[0]);
  if (threaded) pthread_join(th, NULL);
  for (int i = 0; i < 2 && !rc; i++)
    if (w[i].rc && w[i].err.msg[0]) rc = cg_err_set(err, w[i].rc, "%s", w[i].err.msg);
  for (int i = 0; i < 2 && !rc; i++)
    if (w[i].rc) rc = cg_err_set(err, w[i].rc, "matrix: transpose failed");
  *h_idx = XXH3_64bits_digest(&s->h_idx), *h_val = XXH3_64bits_digest(&s->h_val);
done:
  worker_dispose(&w[0], &m[0]);
  worker_dispose(&w[1], &m[1]);
  if (s) {
    if (s->rstart) pthread_mutex_destroy(&s->mu), pthread_cond_destroy(&s->cv);
    cg_free(s->rstart);
    cg_free(s);
  }
  return rc;
}
