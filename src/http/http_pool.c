/* http_pool.c — fixed worker pool (design notes in http_pool.h). */
#include "http/http_pool.h"

#include <pthread.h>

#include "base/err.h"
#include "base/mem.h"

typedef struct job {
  struct job *next;
  void (*fn)(void *);
  void *arg;
} job;

struct cg_http_pool {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  job *head, *tail;
  int queued, running, stopping, n;
  pthread_t threads[];
};

static job *take(cg_http_pool *p) {
  job *j = p->head;
  p->head = j->next;
  if (!p->head) p->tail = NULL;
  p->queued--;
  p->running++;
  return j;
}

static void *worker(void *arg) {
  cg_http_pool *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->head && !p->stopping) pthread_cond_wait(&p->cv, &p->mu);
    if (!p->head) break; /* stopping and drained */
    job *j = take(p);
    pthread_mutex_unlock(&p->mu);
    j->fn(j->arg);
    cg_free(j);
    pthread_mutex_lock(&p->mu);
    p->running--;
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

cg_http_pool *cg_http_pool_create(int n) {
  if (n < 1 || n > 64) return NULL;
  cg_http_pool *p = cg_calloc(1, sizeof *p + (size_t)n * sizeof(pthread_t));
  if (!p) return NULL;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  for (; p->n < n; p->n++)
    if (pthread_create(&p->threads[p->n], NULL, worker, p) != 0) break;
  if (p->n == 0) {
    cg_http_pool_free(p);
    return NULL;
  }
  return p;
}

int cg_http_pool_submit(cg_http_pool *p, void (*fn)(void *), void *arg) {
  job *j = cg_malloc(sizeof *j);
  if (!j) return CG_ENOMEM;
  j->fn = fn, j->arg = arg, j->next = NULL;
  pthread_mutex_lock(&p->mu);
  int rc = 0;
  if (p->stopping) {
    rc = CG_EINVAL;
  } else {
    if (p->tail) p->tail->next = j;
    else p->head = j;
    p->tail = j;
    p->queued++;
    pthread_cond_signal(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  if (rc) cg_free(j);
  return rc;
}

void cg_http_pool_counts(cg_http_pool *p, int *queued, int *running) {
  pthread_mutex_lock(&p->mu);
  *queued = p->queued, *running = p->running;
  pthread_mutex_unlock(&p->mu);
}

int cg_http_pool_size(const cg_http_pool *p) { return p->n; }

void cg_http_pool_stop(cg_http_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  int joined = p->stopping;
  p->stopping = 1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  if (joined) return;
  for (int i = 0; i < p->n; i++) pthread_join(p->threads[i], NULL);
}

void cg_http_pool_free(cg_http_pool *p) {
  if (!p) return;
  cg_http_pool_stop(p);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  cg_free(p);
}
