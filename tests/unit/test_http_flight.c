/* test_http_flight.c — the memory-under-load pieces of the HTTP layer: the body byte budget (http_budget.h:
 * admission, the used == 0 rule, FIFO without barging, make_room, deadline → CG_ENOMEM, charges returned by
 * the blob's last release, cache trim feeding the budget) and single-flight (http_share.h: lead / wait / hit,
 * the waiters told once with the leader's response, errors not published, a dying body not resurrected, the
 * entry forgotten with the body), plus threaded runs where many "requests" race for one key and for the
 * budget. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/mem.h"
#include "http/http_budget.h"
#include "http/http_cache.h"
#include "http/http_share.h"

static cg_http_blob *blob_of(size_t n, char fill) {
  char *d = cg_malloc(n);
  assert_non_null(d);
  memset(d, fill, n);
  return cg_http_blob_take(d, n);
}

static size_t used(cg_http_budget *b) {
  cg_http_budget_stats st;
  cg_http_budget_get_stats(b, &st);
  return st.used;
}

/* --- budget ----------------------------------------------------------------------------------------------
 */

static void test_budget_admit_release(void **state) {
  cg_http_budget *b = cg_http_budget_create(100);
  double now = cg_http_now();
  assert_int_equal(cg_http_budget_acquire(b, 60, now + 1, NULL, NULL), 0);
  assert_int_equal(cg_http_budget_acquire(b, 40, now + 1, NULL, NULL), 0);
  assert_int_equal(used(b), 100);
  /* full: a deadline in the past gives up at once, nothing reserved */
  assert_int_equal(cg_http_budget_acquire(b, 1, now - 1, NULL, NULL), CG_ENOMEM);
  assert_int_equal(used(b), 100);
  cg_http_budget_release(b, 100);
  /* bigger than the whole budget: admitted when nothing else is held (runs alone) */
  assert_int_equal(cg_http_budget_acquire(b, 500, now + 1, NULL, NULL), 0);
  assert_int_equal(cg_http_budget_acquire(b, 1, cg_http_now() + 0.05, NULL, NULL), CG_ENOMEM);
  cg_http_budget_release(b, 500);
  cg_http_budget_stats st;
  cg_http_budget_get_stats(b, &st);
  assert_int_equal(st.used, 0);
  assert_int_equal(st.peak, 500);
  assert_int_equal(st.timeouts, 2);
  assert_int_equal(st.waiting, 0);
  cg_http_budget_free(b);
}

static void test_budget_unlimited(void **state) {
  cg_http_budget *b = cg_http_budget_create(0);
  for (int i = 0; i < 10; i++) assert_int_equal(cg_http_budget_acquire(b, (size_t)1 << 40, 0, NULL, NULL), 0);
  cg_http_budget_release(b, (size_t)10 << 40);
  assert_int_equal(used(b), 0);
  cg_http_budget_free(b);
}

/* A charge follows the blob: the reservation becomes the blob's length, returned by its last release. */
static void test_budget_charge(void **state) {
  cg_http_budget *b = cg_http_budget_create(1000);
  assert_int_equal(cg_http_budget_acquire(b, 300, cg_http_now() + 1, NULL, NULL), 0);
  cg_http_blob *x = blob_of(120, 'x');
  cg_http_budget_charge(b, x, 300);
  assert_int_equal(used(b), 120);
  cg_http_budget_charge(b, x, 0); /* charged once only */
  assert_int_equal(used(b), 120);
  cg_http_blob_retain(x);
  cg_http_blob_release(x);
  assert_int_equal(used(b), 120);
  cg_http_blob_release(x);
  assert_int_equal(used(b), 0);
  /* no blob (the build failed): the reservation is simply returned */
  assert_int_equal(cg_http_budget_acquire(b, 50, cg_http_now() + 1, NULL, NULL), 0);
  cg_http_budget_charge(b, NULL, 50);
  assert_int_equal(used(b), 0);
  cg_http_budget_free(b);
}

/* make_room: the budget asks the body cache to evict; evicted charged blobs return their bytes. */
typedef struct room {
  cg_http_cache *cache;
  int calls;
} room;

static void on_room(void *ctx, size_t shortfall) {
  room *r = ctx;
  r->calls++;
  cg_http_cache_trim(r->cache, shortfall);
}

static void test_budget_make_room_trims_cache(void **state) {
  cg_http_budget *b = cg_http_budget_create(10000);
  cg_http_cache *c = cg_http_cache_create(40000);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(cg_http_budget_acquire(b, 3000, cg_http_now() + 1, NULL, NULL), 0);
    cg_http_blob *x = blob_of(3000, (char)('a' + i));
    cg_http_budget_charge(b, x, 3000);
    char key[8];
    snprintf(key, sizeof key, "k%d", i);
    assert_int_equal(cg_http_cache_put(c, key, x), 0);
    cg_http_blob_release(x); /* only the cache holds it now */
  }
  assert_int_equal(used(b), 9000);
  room r = {c, 0};
  assert_int_equal(cg_http_budget_acquire(b, 4000, cg_http_now() + 1, on_room, &r), 0);
  assert_true(r.calls >= 1);
  assert_int_equal(used(b), 6000 + 4000); /* the coldest entry (k0) went */
  cg_http_blob *k0 = cg_http_cache_get(c, "k0"), *k2 = cg_http_cache_get(c, "k2");
  assert_null(k0);
  assert_non_null(k2);
  cg_http_blob_release(k2);
  /* a blob still held by a "response" keeps its bytes charged after eviction, until it is released */
  cg_http_blob *k1 = cg_http_cache_get(c, "k1");
  assert_true(cg_http_cache_trim(c, 1 << 30) > 0);
  assert_int_equal(used(b), 4000 + 3000);
  cg_http_blob_release(k1);
  assert_int_equal(used(b), 4000);
  cg_http_budget_release(b, 4000);
  cg_http_cache_free(c);
  cg_http_budget_free(b);
}

typedef struct acq {
  cg_http_budget *b;
  size_t bytes;
  double deadline;
  int rc, order, *counter;
  pthread_mutex_t *mu;
} acq;

static void *acq_thread(void *arg) {
  acq *a = arg;
  a->rc = cg_http_budget_acquire(a->b, a->bytes, a->deadline, NULL, NULL);
  pthread_mutex_lock(a->mu);
  a->order = (*a->counter)++;
  pthread_mutex_unlock(a->mu);
  return NULL;
}

static void wait_waiting(cg_http_budget *b, int n) {
  for (int i = 0; i < 2000; i++) {
    cg_http_budget_stats st;
    cg_http_budget_get_stats(b, &st);
    if (st.waiting == n) return;
    usleep(1000);
  }
  fail_msg("waiters never reached %d", n);
}

/* FIFO without barging: a big waiter is admitted before a later small one that would have fitted earlier. */
static void test_budget_fifo(void **state) {
  cg_http_budget *b = cg_http_budget_create(100);
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  int counter = 0;
  double dl = cg_http_now() + 10;
  assert_int_equal(cg_http_budget_acquire(b, 70, dl, NULL, NULL), 0);
  acq big = {b, 90, dl, -99, -1, &counter, &mu}, small = {b, 10, dl, -99, -1, &counter, &mu};
  pthread_t t1, t2;
  pthread_create(&t1, NULL, acq_thread, &big);
  wait_waiting(b, 1);
  pthread_create(&t2, NULL, acq_thread, &small); /* 70 + 10 fits, but big waits first: small must queue */
  wait_waiting(b, 2);
  cg_http_budget_release(b, 70); /* big (90) fits now; small (10) fits beside it */
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  assert_int_equal(big.rc, 0);
  assert_int_equal(small.rc, 0);
  assert_int_equal(big.order, 0);
  assert_int_equal(small.order, 1);
  assert_int_equal(used(b), 100);
  cg_http_budget_release(b, 100);
  cg_http_budget_free(b);
}

/* A waiter whose deadline passes leaves the queue; the one behind it is then served. */
static void test_budget_timeout_unblocks_next(void **state) {
  cg_http_budget *b = cg_http_budget_create(100);
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  int counter = 0;
  assert_int_equal(cg_http_budget_acquire(b, 100, cg_http_now() + 1, NULL, NULL), 0);
  acq first = {b, 60, cg_http_now() + 0.1, -99, -1, &counter, &mu};
  acq second = {b, 50, cg_http_now() + 10, -99, -1, &counter, &mu};
  pthread_t t1, t2;
  pthread_create(&t1, NULL, acq_thread, &first);
  wait_waiting(b, 1);
  pthread_create(&t2, NULL, acq_thread, &second);
  pthread_join(t1, NULL);
  assert_int_equal(first.rc, CG_ENOMEM);
  cg_http_budget_release(b, 60); /* 40 used: second (50) fits now */
  pthread_join(t2, NULL);
  assert_int_equal(second.rc, 0);
  assert_int_equal(used(b), 90);
  cg_http_budget_release(b, 90);
  cg_http_budget_free(b);
}

/* --- single-flight ---------------------------------------------------------------------------------------
 */

typedef struct follower {
  cg_http_share_waiter w;
  int calls, status;
  cg_http_blob *body;
} follower;

static void on_done(void *arg, const cg_http_resp *l) {
  follower *f = arg;
  f->calls++;
  f->status = l->status;
  f->body = cg_http_blob_retain(l->body);
}

static void follower_init(follower *f) {
  memset(f, 0, sizeof *f);
  f->w.on_done = on_done, f->w.arg = f;
}

static cg_http_share_stats share_stats(cg_http_share *s) {
  cg_http_share_stats st;
  cg_http_share_get_stats(s, &st);
  return st;
}

static void test_share_lead_wait_hit(void **state) {
  cg_http_share *s = cg_http_share_create();
  follower f1, f2, f3;
  follower_init(&f1), follower_init(&f2), follower_init(&f3);
  cg_http_blob *hit = NULL;
  assert_int_equal(cg_http_share_join(s, "k", &f1.w, &hit), CG_HTTP_SHARE_LEAD);
  assert_int_equal(cg_http_share_join(s, "k", &f2.w, &hit), CG_HTTP_SHARE_WAIT);
  assert_int_equal(cg_http_share_join(s, "k", &f3.w, &hit), CG_HTTP_SHARE_WAIT);
  follower other;
  follower_init(&other);
  assert_int_equal(cg_http_share_join(s, "other", &other.w, &hit), CG_HTTP_SHARE_LEAD);
  cg_http_resp r = {.status = 200, .body = blob_of(1000, 'b')};
  cg_http_share_done(s, "k", &r);
  assert_int_equal(f2.calls, 1);
  assert_int_equal(f3.calls, 1);
  assert_ptr_equal(f2.body, r.body);
  assert_ptr_equal(f3.body, r.body);
  assert_int_equal(f2.status, 200);
  /* LIVE: later joins share the body while anything holds it */
  follower f4;
  follower_init(&f4);
  assert_int_equal(cg_http_share_join(s, "k", &f4.w, &hit), CG_HTTP_SHARE_HIT);
  assert_ptr_equal(hit, r.body);
  assert_int_equal(share_stats(s).live, 1);
  cg_http_blob_release(hit);
  cg_http_blob_release(f2.body);
  cg_http_blob_release(f3.body);
  cg_http_blob_release(r.body); /* the last holder: the entry goes with the body */
  assert_int_equal(share_stats(s).live, 0);
  assert_int_equal(cg_http_share_join(s, "k", &f4.w, &hit), CG_HTTP_SHARE_LEAD);
  cg_http_resp none = {.status = 200};
  cg_http_share_done(s, "k", &none); /* a 200 without a body is not published */
  cg_http_share_done(s, "other", &none);
  cg_http_share_stats st = share_stats(s);
  assert_int_equal(st.pending, 0);
  assert_int_equal(st.live, 0);
  assert_int_equal(st.leads, 3);
  assert_int_equal(st.waits, 2);
  assert_int_equal(st.hits, 1);
  cg_http_share_free(s);
}

/* An error is passed to the waiters but never published: the next request builds again. */
static void test_share_error_not_published(void **state) {
  cg_http_share *s = cg_http_share_create();
  follower f1, f2;
  follower_init(&f1), follower_init(&f2);
  cg_http_blob *hit;
  assert_int_equal(cg_http_share_join(s, "e", &f1.w, &hit), CG_HTTP_SHARE_LEAD);
  assert_int_equal(cg_http_share_join(s, "e", &f2.w, &hit), CG_HTTP_SHARE_WAIT);
  cg_http_resp busy = {.status = 503, .body = cg_http_blob_copy("{}", 2)};
  cg_http_share_done(s, "e", &busy);
  assert_int_equal(f2.calls, 1);
  assert_int_equal(f2.status, 503);
  assert_ptr_equal(f2.body, busy.body);
  assert_int_equal(cg_http_share_join(s, "e", &f1.w, &hit), CG_HTTP_SHARE_LEAD);
  cg_http_share_done(s, "e", &busy);
  cg_http_blob_release(f2.body);
  cg_http_blob_release(busy.body);
  assert_int_equal(share_stats(s).live, 0);
  cg_http_share_free(s);
}

/* A body whose count reached 0 is never handed out: the joiner leads instead, and the dying body's forget
 * leaves the new entry alone. */
static void test_share_dying_body(void **state) {
  cg_http_share *s = cg_http_share_create();
  follower f;
  follower_init(&f);
  cg_http_blob *hit;
  assert_int_equal(cg_http_share_join(s, "d", &f.w, &hit), CG_HTTP_SHARE_LEAD);
  cg_http_resp r = {.status = 200, .body = blob_of(10, 'd')};
  cg_http_share_done(s, "d", &r);
  cg_http_blob *dying = r.body;
  __atomic_store_n(&dying->refs, 0, __ATOMIC_RELEASE); /* as between the last decrement and forget */
  assert_int_equal(cg_http_share_join(s, "d", &f.w, &hit), CG_HTTP_SHARE_LEAD);
  assert_null(hit);
  __atomic_store_n(&dying->refs, 1, __ATOMIC_RELEASE);
  cg_http_blob_release(dying); /* forget finds nothing of its own */
  assert_int_equal(share_stats(s).pending, 1);
  cg_http_resp r2 = {.status = 200, .body = blob_of(10, 'e')};
  cg_http_share_done(s, "d", &r2);
  assert_int_equal(cg_http_share_join(s, "d", &f.w, &hit), CG_HTTP_SHARE_HIT);
  assert_ptr_equal(hit, r2.body);
  cg_http_blob_release(hit);
  cg_http_blob_release(r2.body);
  assert_int_equal(share_stats(s).live, 0);
  cg_http_share_free(s);
}

/* --- threaded: many requests, few keys, a small budget ---------------------------------------------------
 */

#define NTHREADS 8
#define ROUNDS 200
#define BODY 4096

typedef struct world {
  cg_http_share *share;
  cg_http_budget *budget;
  cg_http_cache *cache;
  int builds;
  size_t max_used;
  pthread_mutex_t mu;
} world;

typedef struct req {
  world *w;
  cg_http_share_waiter waiter;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  cg_http_resp resp;
} req;

static void on_req_done(void *arg, const cg_http_resp *l) {
  req *r = arg;
  pthread_mutex_lock(&r->mu);
  r->resp = *l;
  r->resp.body = cg_http_blob_retain(l->body);
  r->done = 1;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void cache_room(void *ctx, size_t shortfall) { cg_http_cache_trim(ctx, shortfall); }

/* What the explorer does for one budgeted request (explorer.c on_job), with a body of `fill` bytes. */
static cg_http_blob *one_request(world *w, const char *key, char fill) {
  req r = {.w = w};
  pthread_mutex_init(&r.mu, NULL);
  pthread_cond_init(&r.cv, NULL);
  r.waiter = (cg_http_share_waiter){on_req_done, &r, NULL};
  cg_http_blob *hit = NULL, *body = NULL;
  int j = cg_http_share_join(w->share, key, &r.waiter, &hit);
  if (j == CG_HTTP_SHARE_HIT) {
    body = hit;
  } else if (j == CG_HTTP_SHARE_WAIT) {
    pthread_mutex_lock(&r.mu);
    while (!r.done) pthread_cond_wait(&r.cv, &r.mu);
    pthread_mutex_unlock(&r.mu);
    body = r.resp.body;
  } else {
    assert_int_equal(j, CG_HTTP_SHARE_LEAD);
    assert_int_equal(cg_http_budget_acquire(w->budget, BODY, cg_http_now() + 30, cache_room, w->cache), 0);
    pthread_mutex_lock(&w->mu);
    w->builds++;
    size_t u = used(w->budget);
    if (u > w->max_used) w->max_used = u;
    pthread_mutex_unlock(&w->mu);
    body = blob_of(BODY, fill);
    cg_http_budget_charge(w->budget, body, BODY);
    if (fill % 2) cg_http_cache_put(w->cache, key, body); /* half the keys are cacheable */
    cg_http_resp resp = {.status = 200, .body = body};
    cg_http_share_done(w->share, key, &resp);
  }
  pthread_cond_destroy(&r.cv);
  pthread_mutex_destroy(&r.mu);
  return body;
}

static void *client(void *arg) {
  world *w = arg;
  for (int i = 0; i < ROUNDS; i++) {
    int k = i % 5;
    char key[8];
    snprintf(key, sizeof key, "key%d", k);
    cg_http_blob *b = one_request(w, key, (char)('A' + k));
    assert_non_null(b);
    assert_int_equal(b->len, BODY);
    assert_int_equal(b->data[0], 'A' + k);
    assert_int_equal(b->data[BODY - 1], 'A' + k);
    if (i % 7 == 0) usleep(100); /* "sending" */
    cg_http_blob_release(b);
  }
  return NULL;
}

static void test_threads_share_and_budget(void **state) {
  world w = {.share = cg_http_share_create(),
             .budget = cg_http_budget_create(3 * BODY),
             .cache = cg_http_cache_create(64 * BODY)};
  pthread_mutex_init(&w.mu, NULL);
  pthread_t t[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) pthread_create(&t[i], NULL, client, &w);
  for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
  assert_true(w.builds >= 5);
  assert_true(w.builds < NTHREADS * ROUNDS); /* some requests shared */
  assert_true(w.max_used <= 3 * BODY);
  cg_http_cache_free(w.cache); /* the cached bodies go: every byte is returned, every entry forgotten */
  assert_int_equal(used(w.budget), 0);
  cg_http_share_stats st = share_stats(w.share);
  assert_int_equal(st.live, 0);
  assert_int_equal(st.pending, 0);
  assert_int_equal(st.leads + st.waits + st.hits, (uint64_t)NTHREADS * ROUNDS);
  cg_http_share_free(w.share);
  cg_http_budget_free(w.budget);
  pthread_mutex_destroy(&w.mu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_budget_admit_release), cmocka_unit_test(test_budget_unlimited),
      cmocka_unit_test(test_budget_charge),        cmocka_unit_test(test_budget_make_room_trims_cache),
      cmocka_unit_test(test_budget_fifo),          cmocka_unit_test(test_budget_timeout_unblocks_next),
      cmocka_unit_test(test_share_lead_wait_hit),  cmocka_unit_test(test_share_error_not_published),
      cmocka_unit_test(test_share_dying_body),     cmocka_unit_test(test_threads_share_and_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
