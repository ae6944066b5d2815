/* http_cache.c — blobs and the byte-bounded LRU (design notes in http_cache.h). */
#include "http/http_cache.h"

#include <pthread.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "http/http_budget.h"
#include "http/http_share.h"

cg_http_blob *cg_http_blob_take(void *data, size_t len) {
  cg_http_blob *b = cg_malloc(sizeof *b);
  if (!b) {
    cg_free(data);
    return NULL;
  }
  *b = (cg_http_blob){.data = data, .len = len, .refs = 1};
  return b;
}

cg_http_blob *cg_http_blob_copy(const void *data, size_t len) {
  void *d = cg_malloc(len);
  if (!d) return NULL;
  if (len) memcpy(d, data, len);
  return cg_http_blob_take(d, len);
}

cg_http_blob *cg_http_blob_retain(cg_http_blob *b) {
  if (b) __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
  return b;
}

void cg_http_blob_release(cg_http_blob *b) {
  if (!b || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
  cg__http_share_forget(b);
  cg_free((void *)b->data);
  if (b->budget) cg_http_budget_release(b->budget, b->charge); /* after the bytes are gone */
  cg_free(b);
}

#define NBUCKETS 4096

typedef struct entry {
  struct entry *next_hash, *prev, *next; /* hash chain; LRU list (prev = more recent) */
  cg_http_blob *blob;
  uint64_t hash;
  size_t cost;
  char key[];
} entry;

struct cg_http_cache {
  pthread_mutex_t mu;
  entry *buckets[NBUCKETS];
  entry *head, *tail;
  size_t capacity;
  cg_http_cache_stats st;
};

static uint64_t hash_key(const char *k) {
  uint64_t h = 1469598103934665603ull;
  for (; *k; k++) h = (h ^ (unsigned char)*k) * 1099511628211ull;
  return h;
}

cg_http_cache *cg_http_cache_create(size_t capacity) {
  cg_http_cache *c = cg_calloc(1, sizeof *c);
  if (!c) return NULL;
  pthread_mutex_init(&c->mu, NULL);
  c->capacity = c->st.capacity = capacity;
  return c;
}

static void lru_unlink(cg_http_cache *c, entry *e) {
  if (e->prev) e->prev->next = e->next;
  else c->head = e->next;
  if (e->next) e->next->prev = e->prev;
  else c->tail = e->prev;
  e->prev = e->next = NULL;
}

static void lru_push_front(cg_http_cache *c, entry *e) {
  e->prev = NULL, e->next = c->head;
  if (c->head) c->head->prev = e;
  c->head = e;
  if (!c->tail) c->tail = e;
}

static entry **find_slot(cg_http_cache *c, const char *key, uint64_t h) {
  entry **p = &c->buckets[h % NBUCKETS];
  while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0)) p = &(*p)->next_hash;
  return p;
}

/* Unlinks e everywhere and returns its blob for release outside the lock. */
static cg_http_blob *remove_entry(cg_http_cache *c, entry *e) {
  entry **p = find_slot(c, e->key, e->hash);
  *p = e->next_hash;
  lru_unlink(c, e);
  c->st.bytes -= e->cost;
  c->st.entries--;
  cg_http_blob *b = e->blob;
  cg_free(e);
  return b;
}

void cg_http_cache_free(cg_http_cache *c) {
  if (!c) return;
  while (c->head) cg_http_blob_release(remove_entry(c, c->head));
  pthread_mutex_destroy(&c->mu);
  cg_free(c);
}

cg_http_blob *cg_http_cache_get(cg_http_cache *c, const char *key) {
  uint64_t h = hash_key(key);
  pthread_mutex_lock(&c->mu);
  entry *e = *find_slot(c, key, h);
  cg_http_blob *b = NULL;
  if (e) {
    lru_unlink(c, e);
    lru_push_front(c, e);
    b = cg_http_blob_retain(e->blob);
    c->st.hits++;
  } else {
    c->st.misses++;
  }
  pthread_mutex_unlock(&c->mu);
  return b;
}

/* Evicts from the cold end until `need` more bytes fit; the evicted blobs go to out[] (at most max). */
static int make_room(cg_http_cache *c, size_t need, cg_http_blob **out, int max) {
  int n = 0;
  while (c->tail && c->st.bytes + need > c->capacity && n < max) {
    out[n++] = remove_entry(c, c->tail);
    c->st.evictions++;
  }
  return n;
}

int cg_http_cache_put(cg_http_cache *c, const char *key, cg_http_blob *blob) {
  size_t klen = strlen(key), cost = blob->len + klen + sizeof(entry);
  if (cost > c->capacity / 4) return 0;
  entry *e = cg_malloc(sizeof *e + klen + 1);
  if (!e) return CG_ENOMEM;
  memcpy(e->key, key, klen + 1);
  e->hash = hash_key(key), e->cost = cost, e->blob = cg_http_blob_retain(blob);
  e->next_hash = NULL, e->prev = e->next = NULL;
  cg_http_blob *drop[65];
  int nd = 0;
  pthread_mutex_lock(&c->mu);
  entry *old = *find_slot(c, key, e->hash);
  if (old) drop[nd++] = remove_entry(c, old);
  nd += make_room(c, cost, drop + nd, 64);
  entry **slot = find_slot(c, key, e->hash);
  *slot = e;
  lru_push_front(c, e);
  c->st.bytes += cost;
  c->st.entries++;
  c->st.inserts++;
  pthread_mutex_unlock(&c->mu);
  for (int i = 0; i < nd; i++) cg_http_blob_release(drop[i]);
  return 0;
}

size_t cg_http_cache_trim(cg_http_cache *c, size_t bytes) {
  size_t gone = 0;
  for (;;) {
    cg_http_blob *drop[16];
    int n = 0;
    pthread_mutex_lock(&c->mu);
    while (c->tail && gone < bytes && n < 16) {
      gone += c->tail->cost;
      drop[n++] = remove_entry(c, c->tail);
      c->st.evictions++;
    }
    int more = c->tail && gone < bytes;
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < n; i++) cg_http_blob_release(drop[i]); /* outside the lock: may return budget */
    if (!more) return gone;
  }
}

void cg_http_cache_get_stats(cg_http_cache *c, cg_http_cache_stats *out) {
  pthread_mutex_lock(&c->mu);
  *out = c->st;
  pthread_mutex_unlock(&c->mu);
}
