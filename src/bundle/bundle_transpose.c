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
 *      pwrite buf (indices, then values) at the range's destination offsets — big sequential writes
 *
 *  Every source entry is read once. Two workers split the minor lines in halves (by entries); each walks its
 *  ranges in increasing order with its own per-major-line cursor array (cur), so nothing is shared and no lock
 *  is needed; worker 1 starts its cursors at the split by binary search. Memory per worker: the range buffer
 *  (8 bytes x RANGE_ENTRIES, or the largest single minor line) + n_major + range-width uint64 cursors.
 */
#include <pthread.h>
#include <string.h>

#include "base/mem.h"
#include "bundle/bundle_wint.h"

#define RANGE_ENTRIES (32LL << 20) /* 256 MB of index + value per worker */

typedef struct worker {
  const cg__tp *t;
  int64_t j0, j1;  /* this worker's minor lines */
  uint64_t *cur;   /* per major line: next unread entry */
  uint64_t *lcur;  /* per minor line of the current range */
  uint32_t *bi;
  float *bv;
  uint64_t cap;
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

/* One range [a, b) of minor lines: gather, then write. */
static int do_range(worker *w, int64_t a, int64_t b) {
  const cg__tp *t = w->t;
  const uint64_t *mp = t->minor_ptr;
  uint64_t first = mp[a], n = mp[b] - first;
  for (int64_t j = a; j < b; j++) w->lcur[j - a] = mp[j] - first;
  uint64_t *lcur = w->lcur - a;
  for (int64_t l = 0; l < t->n_major; l++) {
    uint64_t k = w->cur[l], e = t->ptr[l + 1];
    for (; k < e && t->si[k] < (uint32_t)b; k++) {
      uint64_t p = lcur[t->si[k]]++;
      w->bi[p] = (uint32_t)l;
      w->bv[p] = t->sv[k];
    }
    w->cur[l] = k;
  }
  int rc = cg__pwrite_all(t->fd, w->bi, n * 4, t->di_off + 4 * first, "transposed indices", &w->err);
  return rc ? rc : cg__pwrite_all(t->fd, w->bv, n * 4, t->dv_off + 4 * first, "transposed values", &w->err);
}

static void *work(void *arg) {
  worker *w = arg;
  const uint64_t *mp = w->t->minor_ptr;
  for (int64_t a = w->j0; a < w->j1 && !w->rc;) {
    int64_t b = a + 1;
    while (b < w->j1 && mp[b + 1] - mp[a] <= (uint64_t)RANGE_ENTRIES) b++;
    w->rc = do_range(w, a, b);
    a = b;
  }
  return NULL;
}

static int worker_init(worker *w, const cg__tp *t, int64_t j0, int64_t j1) {
  memset(w, 0, sizeof *w);
  w->t = t, w->j0 = j0, w->j1 = j1;
  uint64_t cap = RANGE_ENTRIES;
  for (int64_t j = j0; j < j1; j++) cap = t->minor_ptr[j + 1] - t->minor_ptr[j] > cap ? t->minor_ptr[j + 1] - t->minor_ptr[j] : cap;
  uint64_t total = j1 > j0 ? t->minor_ptr[j1] - t->minor_ptr[j0] : 0;
  w->cap = cap < total ? cap : total;
  w->cur = cg_malloc_array((size_t)t->n_major + 1, 8);
  w->lcur = cg_malloc_array((size_t)(j1 - j0) + 1, 8);
  w->bi = cg_malloc_array((size_t)w->cap + 1, 4), w->bv = cg_malloc_array((size_t)w->cap + 1, 4);
  if (!w->cur || !w->lcur || !w->bi || !w->bv) return CG_ENOMEM;
  for (int64_t l = 0; l < t->n_major; l++)
    w->cur[l] = j0 == 0 ? t->ptr[l] : lower_bound(t->si, t->ptr[l], t->ptr[l + 1], (uint32_t)j0);
  return 0;
}

static void worker_dispose(worker *w) {
  cg_free(w->cur), cg_free(w->lcur), cg_free(w->bi), cg_free(w->bv);
}

int cg__bundle_transpose(const cg__tp *t, cg_err *err) {
  worker w[2];
  memset(w, 0, sizeof w);
  const uint64_t *mp = t->minor_ptr;
  int64_t split = 0; /* first minor line of worker 1: half of the entries */
  while (split < t->n_minor && mp[split] < mp[t->n_minor] / 2) split++;
  int rc = worker_init(&w[0], t, 0, split);
  if (!rc) rc = worker_init(&w[1], t, split, t->n_minor);
  if (rc) {
    rc = cg_err_set(err, CG_ENOMEM, "matrix: out of memory for the transpose buffers");
    goto done;
  }
  pthread_t th;
  int threaded = pthread_create(&th, NULL, work, &w[1]) == 0;
  work(&w[0]);
  if (threaded) pthread_join(th, NULL);
  else work(&w[1]);
  for (int i = 0; i < 2 && !rc; i++)
    if (w[i].rc) rc = cg_err_set(err, w[i].rc, "%s", w[i].err.msg);
done:
  worker_dispose(&w[0]);
  worker_dispose(&w[1]);
  return rc;
}
