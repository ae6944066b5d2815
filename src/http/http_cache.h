/* http_cache.h — reference-counted response bodies (cg_http_blob) and a byte-bounded LRU of them, keyed by
 * strings (the Explorer uses "<etag>-<encoding>"): encoded bodies of immutable responses are computed once and
 * then served to every client from the same bytes.
 *
 * Design notes
 *  1. A blob is immutable after creation; its reference count is atomic, so any thread may retain/release.
 *     The last release frees the bytes (cg_free) and the blob.
 *  2. The cache holds one reference per entry. cg_http_cache_get returns a new reference, so an entry evicted
 *     while a response is being sent stays alive until MHD releases the response.
 *  3. One mutex guards the table and the LRU list; no callback runs under it and nothing else is locked while
 *     it is held (no lock order to respect). Operations are O(1) expected (chained hash + doubly linked list).
 *  4. Capacity counts blob bytes plus key bytes. A blob larger than a quarter of the capacity is not cached
 *     (it would evict everything for one entry); inserting evicts from the cold end until it fits.
 *
 *        head (most recent) <-> ... <-> tail (least recent, evicted first)
 */
#ifndef CG_HTTP_HTTP_CACHE_H
#define CG_HTTP_HTTP_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cg_http_budget;
struct cg_http_share;

typedef struct cg_http_blob {
  const uint8_t *data;
  size_t len;
  int refs; /* atomic; use retain/release */
  int tag;  /* caller-defined, set before sharing (the explorer stores the content-encoding) */
  /* Set by http_budget.c / http_share.c, zero otherwise: the last release returns `charge` bytes to the budget
   * and removes the body from the single-flight table (http_budget.h, http_share.h). */
  struct cg_http_budget *budget;
  size_t charge;
  struct cg_http_share *share; /* atomic */
  uint64_t share_hash;
} cg_http_blob;

/* Takes data (cg_malloc'd; may be NULL when len is 0): on success the blob owns it. NULL on ENOMEM, and then
 * data is freed too, so callers never leak it. The blob starts with one reference. */
cg_http_blob *cg_http_blob_take(void *data, size_t len);
/* Copies len bytes. */
cg_http_blob *cg_http_blob_copy(const void *data, size_t len);
cg_http_blob *cg_http_blob_retain(cg_http_blob *b); /* NULL-safe, returns b */
void cg_http_blob_release(cg_http_blob *b);         /* NULL-safe */

typedef struct cg_http_cache cg_http_cache;

typedef struct cg_http_cache_stats {
  uint64_t hits, misses, inserts, evictions;
  size_t bytes, capacity, entries;
} cg_http_cache_stats;

/* capacity in bytes (0 disables caching: every get misses). NULL on ENOMEM. */
cg_http_cache *cg_http_cache_create(size_t capacity);
void cg_http_cache_free(cg_http_cache *c); /* releases every entry; NULL-safe */

/* A new reference to the blob stored under key, or NULL (a miss). Any thread. */
cg_http_blob *cg_http_cache_get(cg_http_cache *c, const char *key);
/* Stores blob under key (adds its own reference; replaces an existing entry). 0, or CG_ENOMEM. Any thread. */
int cg_http_cache_put(cg_http_cache *c, const char *key, cg_http_blob *blob);
void cg_http_cache_get_stats(cg_http_cache *c, cg_http_cache_stats *out);
/* Evicts from the cold end until at least `bytes` of entries are gone (or the cache is empty); returns the bytes
 * evicted. The body budget's make_room (http_budget.h): a blob still being sent stays alive until its response
 * ends, so its memory comes back then. Any thread. */
size_t cg_http_cache_trim(cg_http_cache *c, size_t bytes);

#endif
