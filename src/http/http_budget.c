/* http_budget.c — the body byte budget (design notes in http_budget.h). */
#include "http/http_budget.h"

#include "base/err.h"
#include "base/mem.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <time.h>

typedef struct waiter {
  struct waiter *next;
} waiter;

struct cg_http_budget {
  pthread_mutex_t mu;
  pthread_cond_t cv;   /* CLOCK_MONOTONIC */
  waiter *head, *tail; /* FIFO of waiting acquires (note 3) */
  cg_http_budget_stats st;
};

double cg_http_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

cg_http_budget *cg_http_budget_create(size_t limit) {
  cg_http_budget *b = cg_calloc(1, sizeof *b);
  if (!b) return NULL;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&b->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&b->mu, NULL);
  b->st.limit = limit;
  return b;
}

void cg_http_budget_free(cg_http_budget *b) {
  if (!b) return;
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
  cg_free(b);
}

/* Under the lock. */
static int fits(const cg_http_budget *b, size_t bytes) {
  return b->st.limit == 0 || b->st.used == 0 || b->st.used + bytes <= b->st.limit;
}

static void take(cg_http_budget *b, size_t bytes) {
  b->st.used += bytes;
  if (b->st.used > b->st.peak) b->st.peak = b->st.used;
}

static void unlink_waiter(cg_http_budget *b, waiter *w) {
  waiter **p = &b->head, *prev = NULL;
  while (*p && *p != w) prev = *p, p = &(*p)->next;
  if (!*p) return;
  *p = w->next;
  if (b->tail == w) b->tail = prev;
  b->st.waiting--;
}

static struct timespec to_timespec(double t) {
  struct timespec ts;
  double s = floor(t);
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((t - s) * 1e9);
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  return ts;
}

/* Waits as the FIFO's member w until w is the head and bytes fit, or the deadline. Under the lock. */
static int wait_turn(cg_http_budget *b, waiter *w, size_t bytes, double deadline,
                     void (*make_room)(void *, size_t), void *ctx) {
  for (;;) {
    if (b->head == w && fits(b, bytes)) return 0;
    if (cg_http_now() >= deadline) return CG_ENOMEM;
    if (b->head == w && make_room) {
      size_t short_by = b->st.used + bytes - b->st.limit;
      pthread_mutex_unlock(&b->mu);
      make_room(ctx, short_by);
      pthread_mutex_lock(&b->mu);
      if (fits(b, bytes)) return 0;
    }
    struct timespec ts =
        to_timespec(fmin(deadline, cg_http_now() + 0.25)); /* re-try make_room now and then */
    int rc = pthread_cond_timedwait(&b->cv, &b->mu, &ts);
    if (rc && rc != ETIMEDOUT) return CG_ENOMEM;
  }
}

int cg_http_budget_acquire(cg_http_budget *b, size_t bytes, double deadline,
                           void (*make_room)(void *ctx, size_t shortfall), void *ctx) {
  pthread_mutex_lock(&b->mu);
  if (!b->head && fits(b, bytes)) {
    take(b, bytes);
    pthread_mutex_unlock(&b->mu);
    return 0;
  }
  waiter w = {NULL};
  if (b->tail)
    b->tail->next = &w;
  else
    b->head = &w;
  b->tail = &w;
  b->st.waiting++, b->st.waits++;
  int rc = wait_turn(b, &w, bytes, deadline, make_room, ctx);
  unlink_waiter(b, &w);
  if (rc == 0)
    take(b, bytes);
  else
    b->st.timeouts++;
  pthread_cond_broadcast(&b->cv); /* the next waiter may be the head now */
  pthread_mutex_unlock(&b->mu);
  return rc;
}

void cg_http_budget_release(cg_http_budget *b, size_t bytes) {
  if (!b || !bytes) return;
  pthread_mutex_lock(&b->mu);
  b->st.used -= bytes <= b->st.used ? bytes : b->st.used;
  if (b->head) pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

void cg_http_budget_charge(cg_http_budget *b, cg_http_blob *blob, size_t reserved) {
  if (!blob || blob->budget) return cg_http_budget_release(b, reserved);
  pthread_mutex_lock(&b->mu);
  b->st.used -= reserved <= b->st.used ? reserved : b->st.used;
  take(b, blob->len);
  blob->budget = b, blob->charge = blob->len;
  if (b->head) pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

void cg_http_budget_get_stats(cg_http_budget *b, cg_http_budget_stats *out) {
  pthread_mutex_lock(&b->mu);
  *out = b->st;
  pthread_mutex_unlock(&b->mu);
}
