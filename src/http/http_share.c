/* http_share.c — single-flight table of response bodies (design notes in http_share.h). */
#include "http/http_share.h"

#include "base/err.h"
#include "base/mem.h"

#include <pthread.h>
#include <string.h>

#define NBUCKETS 256

typedef struct entry {
  struct entry *next;
  uint64_t hash;
  cg_http_blob *blob; /* LIVE: weak; NULL = PENDING */
  cg_http_share_waiter *waiters, **wtail;
  char key[];
} entry;

struct cg_http_share {
  pthread_mutex_t mu;
  entry *buckets[NBUCKETS];
  cg_http_share_stats st;
};

static uint64_t hash_key(const char *k) {
  uint64_t h = 1469598103934665603ull;
  for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ull;
  return h;
}

cg_http_share *cg_http_share_create(void) {
  cg_http_share *s = cg_calloc(1, sizeof *s);
  if (s) pthread_mutex_init(&s->mu, NULL);
  return s;
}

void cg_http_share_free(cg_http_share *s) {
  if (!s) return;
  for (int i = 0; i < NBUCKETS; i++)
    for (entry *e = s->buckets[i], *n; e; e = n) {
      n = e->next;
      if (e->blob) __atomic_store_n(&e->blob->share, NULL, __ATOMIC_RELEASE);
      cg_free(e);
    }
  pthread_mutex_destroy(&s->mu);
  cg_free(s);
}

static entry **find(cg_http_share *s, const char *key, uint64_t h) {
  entry **p = &s->buckets[h % NBUCKETS];
  while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0)) p = &(*p)->next;
  return p;
}

/* A new reference unless the count already reached 0 (the blob is being freed). */
static int try_retain(cg_http_blob *b) {
  int n = __atomic_load_n(&b->refs, __ATOMIC_RELAXED);
  while (n > 0)
    if (__atomic_compare_exchange_n(&b->refs, &n, n + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return 1;
  return 0;
}

static void make_pending(cg_http_share *s, entry *e) {
  if (e->blob) __atomic_store_n(&e->blob->share, NULL, __ATOMIC_RELEASE), s->st.live--;
  e->blob = NULL, e->waiters = NULL, e->wtail = &e->waiters;
  s->st.pending++, s->st.leads++;
}

/* Under the lock: the existing entry's answer. */
static int join_existing(cg_http_share *s, entry *e, cg_http_share_waiter *w, cg_http_blob **hit) {
  if (!e->blob) {
    w->next = NULL;
    *e->wtail = w, e->wtail = &w->next;
    s->st.waits++;
    return CG_HTTP_SHARE_WAIT;
  }
  if (try_retain(e->blob)) {
    *hit = e->blob;
    s->st.hits++;
    return CG_HTTP_SHARE_HIT;
  }
  make_pending(s, e); /* the dying blob no longer points here (share = NULL): note 1 */
  return CG_HTTP_SHARE_LEAD;
}

int cg_http_share_join(cg_http_share *s, const char *key, cg_http_share_waiter *w, cg_http_blob **hit) {
  *hit = NULL;
  uint64_t h = hash_key(key);
  size_t klen = strlen(key);
  pthread_mutex_lock(&s->mu);
  entry **slot = find(s, key, h);
  int rc;
  if (*slot) {
    rc = join_existing(s, *slot, w, hit);
  } else {
    entry *e = cg_malloc(sizeof *e + klen + 1);
    if (e) {
      memcpy(e->key, key, klen + 1);
      e->next = NULL, e->hash = h, e->blob = NULL;
      *slot = e;
      make_pending(s, e);
    }
    rc = e ? CG_HTTP_SHARE_LEAD : CG_ENOMEM;
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

void cg_http_share_done(cg_http_share *s, const char *key, const cg_http_resp *resp) {
  uint64_t h = hash_key(key);
  pthread_mutex_lock(&s->mu);
  entry **slot = find(s, key, h), *e = *slot;
  cg_http_share_waiter *w = NULL;
  if (e && !e->blob) {
    w = e->waiters;
    s->st.pending--;
    cg_http_blob *b = resp->body;
    if (resp->status == 200 && b && !__atomic_load_n(&b->share, __ATOMIC_ACQUIRE)) {
      e->blob = b, b->share_hash = h;
      __atomic_store_n(&b->share, s, __ATOMIC_RELEASE);
      s->st.live++;
    } else {
      *slot = e->next;
      cg_free(e);
    }
  }
  pthread_mutex_unlock(&s->mu);
  while (w) {
    cg_http_share_waiter *next = w->next; /* on_done may free w */
    w->on_done(w->arg, resp);
    w = next;
  }
}

void cg__http_share_forget(cg_http_blob *b) {
  cg_http_share *s = __atomic_load_n(&b->share, __ATOMIC_ACQUIRE);
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  if (__atomic_load_n(&b->share, __ATOMIC_ACQUIRE) ==
      s) { /* not detached by a leader that took the entry over */
    entry **p = &s->buckets[b->share_hash % NBUCKETS];
    while (*p && (*p)->blob != b) p = &(*p)->next;
    if (*p) {
      entry *e = *p;
      *p = e->next;
      cg_free(e);
      s->st.live--;
    }
  }
  pthread_mutex_unlock(&s->mu);
}

void cg_http_share_get_stats(cg_http_share *s, cg_http_share_stats *out) {
  pthread_mutex_lock(&s->mu);
  *out = s->st;
  pthread_mutex_unlock(&s->mu);
}
