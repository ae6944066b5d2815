/* http_share.h — single-flight for response bodies: requests with the same key (the Explorer uses
 * "<etag>-<encoding>", known before any work) share one encoded body instead of building one each.
 *
 * Design notes
 *  1. An entry per key is either PENDING (a leader is building; followers wait in its list) or LIVE (a weak
 *     reference to a body that still exists because something holds it: the body cache, a response being
 * sent). cg_http_share_join answers, under one lock: no entry                   → a PENDING entry is made;
 * the caller is the LEADER PENDING                    → the waiter is appended; it is told the outcome later
 * (on_done) LIVE, body still alive     → HIT: a new reference to the body LIVE, body being freed     → the
 * entry turns PENDING and the caller leads (the dying body forgets nothing)
 *  2. The leader calls cg_http_share_done exactly once with its response. A 200 with a body turns the entry
 * LIVE (the blob points back at the table); anything else removes it. Then, outside the lock, every waiter's
 *     on_done(arg, leader's response) runs on the leader's thread: it copies the response (retaining the
 * body).
 *  3. A LIVE entry is removed by the blob's last release (http_cache.c → cg__http_share_forget), found by
 * blob pointer, so no key is kept in the blob and a replaced entry is never touched by a dying body.
 *  4. HIT retains with a compare-and-swap that never resurrects a count of 0 (note 1, last case).
 *  5. One mutex; a leaf lock (on_done runs after it is released). Any thread. Waiter structs are the caller's
 *     and must stay valid until on_done has been called.
 *
 *     join ──none──> LEADER ── build ── done(resp) ──200──> LIVE ──last blob release──> (gone)
 *       ├─pending──> waiter ─────────────── on_done(resp) <──┘   └─error──> (gone)
 *       └─live─────> HIT
 */
#ifndef CG_HTTP_HTTP_SHARE_H
#define CG_HTTP_HTTP_SHARE_H

#include "http/http.h"

#include <stdint.h>

typedef struct cg_http_share cg_http_share;

typedef struct cg_http_share_waiter {
  void (*on_done)(void *arg, const cg_http_resp *leader); /* called once, on the leader's thread */
  void *arg;
  struct cg_http_share_waiter *next; /* owned by the table while waiting */
} cg_http_share_waiter;

enum { CG_HTTP_SHARE_LEAD = 0, CG_HTTP_SHARE_HIT = 1, CG_HTTP_SHARE_WAIT = 2 };

typedef struct cg_http_share_stats {
  uint64_t leads, hits, waits; /* joins by outcome */
  int pending, live;           /* entries now */
} cg_http_share_stats;

cg_http_share *cg_http_share_create(void); /* NULL on ENOMEM */
void cg_http_share_free(cg_http_share *s); /* NULL-safe; after every leader is done and every body is gone */

/* Note 1. Returns CG_HTTP_SHARE_LEAD (then call cg_http_share_done once), CG_HTTP_SHARE_HIT (*hit = a new
 * reference) or CG_HTTP_SHARE_WAIT (w is linked). CG_ENOMEM: no entry could be made; build alone, do not call
 * done. */
int cg_http_share_join(cg_http_share *s, const char *key, cg_http_share_waiter *w, cg_http_blob **hit);
/* Note 2. resp is the leader's final response; its body (if any) is published when status is 200. */
void cg_http_share_done(cg_http_share *s, const char *key, const cg_http_resp *resp);
void cg_http_share_get_stats(cg_http_share *s, cg_http_share_stats *out);

/* For http_cache.c: the blob's last reference is going (note 3). */
void cg__http_share_forget(cg_http_blob *b);

#endif
