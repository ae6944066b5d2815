/* bundle_transpose.c — pass 2 of the writer: builds the minor orientation (e.g. CSC) from the major one.
 *
 * Design note
 *  A direct scatter from the source into the destination mapping touches one page per element across tens of
 *  thousands of live columns: it is TLB-bound (measured ~70 ns/entry). Instead the major lines are cut into
 *  chunks of at most CHUNK_ENTRIES entries, and each chunk is transposed in an anonymous buffer (huge pages),
 *  then every minor line's run is copied into the destination in one memcpy:
 *
 *     source chunk k ──count──> lcnt[j] ──local scatter──> buf (chunk k, minor-major)
 *                                  │                          │
 *            (in chunk order) base[j] = cur[j]; cur[j] += lcnt[j]   memcpy run j to dst[base[j]]
 *
 *  Two workers take chunks from a shared counter; all work is chunk-private except the reservation of
 *  destination ranges, which happens in chunk order under `lock` (turn counter + condvar). That keeps each
 *  minor line's entries in increasing major order (invariant: indices strictly increasing within a line).
 *  Memory: per worker one buffer of 8 * max-chunk-entries bytes plus three n_minor arrays of uint64.
 *  Lock order: only `lock`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "base/mem.h"
#include "bundle/bundle_wint.h"

#define CHUNK_ENTRIES (32LL << 20) /* 256 MB of index + value per worker */
#define WORKERS 2

typedef struct shared {
  const cg__tp *t;
  int64_t *cuts; /* chunk k = major lines [cuts[k], cuts[k+1]) */
  int64_t n_chunks;
  uint64_t max_chunk;
  uint64_t *cur; /* next free destination slot per minor line */
  atomic_llong next;
  int64_t turn; /* next chunk allowed to reserve */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  atomic_int failed;
} shared;

typedef struct worker {
  shared *s;
  uint32_t *bi;
  float *bv;
  uint64_t *lcnt, *lend, *base;
} worker;

static void count_chunk(worker *w, int64_t l0, int64_t l1) {
  const cg__tp *t = w->s->t;
  memset(w->lcnt, 0, (size_t)t->n_minor * 8);
  for (uint64_t k = t->ptr[l0], e = t->ptr[l1]; k < e; k++) w->lcnt[t->si[k]]++;
  uint64_t acc = 0;
  for (int64_t j = 0; j < t->n_minor; j++) w->lend[j] = acc, acc += w->lcnt[j];
}

static void scatter_chunk(worker *w, int64_t l0, int64_t l1) {
  const cg__tp *t = w->s->t;
  uint64_t *pos = w->lend;
  for (int64_t l = l0; l < l1; l++)
    for (uint64_t k = t->ptr[l], e = t->ptr[l + 1]; k < e; k++) {
      uint64_t p = pos[t->si[k]]++;
      w->bi[p] = (uint32_t)l;
      w->bv[p] = t->sv[k];
    }
}

static void reserve_chunk(worker *w, int64_t k) {
  shared *s = w->s;
  pthread_mutex_lock(&s->lock);
  while (s->turn != k) pthread_cond_wait(&s->cond, &s->lock);
  for (int64_t j = 0; j < s->t->n_minor; j++) w->base[j] = s->cur[j], s->cur[j] += w->lcnt[j];
  s->turn++;
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
}

static void copy_out(worker *w) {
  const cg__tp *t = w->s->t;
  for (int64_t j = 0; j < t->n_minor; j++) {
    uint64_t n = w->lcnt[j];
    if (!n) continue;
    uint64_t from = w->lend[j] - n; /* lend[j] is now the end of run j */
    memcpy(t->di + w->base[j], w->bi + from, n * 4);
    memcpy(t->dv + w->base[j], w->bv + from, n * 4);
  }
}

static void *work(void *arg) {
  worker *w = arg;
  shared *s = w->s;
  for (;;) {
    int64_t k = atomic_fetch_add(&s->next, 1);
    if (k >= s->n_chunks) break;
    count_chunk(w, s->cuts[k], s->cuts[k + 1]);
    scatter_chunk(w, s->cuts[k], s->cuts[k + 1]);
    reserve_chunk(w, k);
    copy_out(w);
  }
  return NULL;
}

static int make_cuts(shared *s) {
  const cg__tp *t = s->t;
  int64_t n = 1;
  for (int64_t l = 0, c = 0; l < t->n_major; l++)
    if (t->ptr[l + 1] - t->ptr[c] > (uint64_t)CHUNK_ENTRIES && l > c) n++, c = l;
  s->cuts = cg_malloc_array((size_t)n + 1, 8);
  if (!s->cuts) return CG_ENOMEM;
  s->cuts[0] = 0, s->n_chunks = 0;
  for (int64_t l = 0, c = 0; l < t->n_major; l++)
    if (t->ptr[l + 1] - t->ptr[c] > (uint64_t)CHUNK_ENTRIES && l > c) s->cuts[++s->n_chunks] = l, c = l;
  s->cuts[++s->n_chunks] = t->n_major;
  for (int64_t k = 0; k < s->n_chunks; k++) {
    uint64_t e = t->ptr[s->cuts[k + 1]] - t->ptr[s->cuts[k]];
    s->max_chunk = e > s->max_chunk ? e : s->max_chunk;
  }
  return 0;
}

static void huge(void *p, size_t n) {
  uintptr_t a = ((uintptr_t)p + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1), e = (uintptr_t)p + n;
  if (e > a + (2u << 20)) madvise((void *)a, (e - a) & ~(uintptr_t)((2u << 20) - 1), MADV_HUGEPAGE);
}

static int worker_init(worker *w, shared *s) {
  size_t nm = (size_t)s->t->n_minor + 1, nb = (size_t)s->max_chunk + 1;
  w->s = s;
  w->bi = cg_malloc_array(nb, 4), w->bv = cg_malloc_array(nb, 4);
  w->lcnt = cg_malloc_array(nm, 8), w->lend = cg_malloc_array(nm, 8), w->base = cg_malloc_array(nm, 8);
  if (!w->bi || !w->bv || !w->lcnt || !w->lend || !w->base) return CG_ENOMEM;
  huge(w->bi, nb * 4), huge(w->bv, nb * 4);
  return 0;
}

static void worker_dispose(worker *w) {
  cg_free(w->bi), cg_free(w->bv), cg_free(w->lcnt), cg_free(w->lend), cg_free(w->base);
}

int cg__bundle_transpose(const cg__tp *t, cg_err *err) {
  shared s = {.t = t};
  worker w[WORKERS];
  memset(w, 0, sizeof w);
  pthread_t th[WORKERS];
  int rc = make_cuts(&s), nw = 0;
  s.cur = cg_malloc_array((size_t)t->n_minor + 1, 8);
  if (!rc && !s.cur) rc = CG_ENOMEM;
  if (rc) goto done;
  memcpy(s.cur, t->minor_ptr, (size_t)t->n_minor * 8);
  int want = s.n_chunks > 1 ? WORKERS : 1;
  for (; nw < want; nw++)
    if ((rc = worker_init(&w[nw], &s))) break;
  if (rc && nw == 0) goto done; /* no memory for even one worker */
  rc = 0;
  pthread_mutex_init(&s.lock, NULL);
  pthread_cond_init(&s.cond, NULL);
  int started = 1;
  for (; started < nw; started++)
    if (pthread_create(&th[started], NULL, work, &w[started]) != 0) break;
  work(&w[0]);
  for (int i = 1; i < started; i++) pthread_join(th[i], NULL);
  pthread_cond_destroy(&s.cond);
  pthread_mutex_destroy(&s.lock);
done:
  for (int i = 0; i <= nw && i < WORKERS; i++) worker_dispose(&w[i]);
  cg_free(s.cuts);
  cg_free(s.cur);
  return rc ? cg_err_set(err, CG_ENOMEM, "matrix: out of memory for the transpose buffers") : 0;
}
