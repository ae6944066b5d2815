/* db.h — the metadata store: versioned, append-only user resources (annotation label sets, gene sets).
 *
 * Backends are sibling files behind this one interface: db_sqlite.c today (the embedded default), db_pg.c
 * later (PostgreSQL, same operations, same semantics).
 *
 * Design notes
 *
 *  A resource is addressed by a key (user id, bundle id, collection name, kind) and holds a sequence of
 *  versions 1, 2, 3 ...; each version is the WHOLE resource as an opaque blob (for label sets the encoding of
 *  db/labels.h: every label column, its ordered labels and its deflated per-cell codes).
 *
 *    record(key, version, created, data) ── append-only, one row per version
 *    current(key) -> version              ── the pointer, moved in the same transaction as the insert
 *
 *  I1. cg_db_put is one transaction (BEGIN IMMEDIATE ... COMMIT): insert version n+1, move the pointer, trim
 *      history. Either all of it is durable or none of it (WAL, synchronous=FULL: once cg_db_put returned 0 the
 *      version survives kill -9 and power loss of the host as far as fsync goes).
 *  I2. Versions are dense and increasing per key; the current version is the largest one kept.
 *  I3. Retention: after a put only the last `keep` versions of that key remain (keep <= 0: all).
 *  I4. Optimistic concurrency: put with expect >= 0 applies only when the current version equals expect
 *      (0 = the resource does not exist yet); otherwise nothing changes and CG_DB_STALE comes back with the
 *      current version. expect < 0 = last writer wins.
 *
 * Threads: a cg_db holds one SQLite connection guarded by one mutex; every call takes it, so any thread may call
 * any function (calls are serialised; a put holds the lock across its fsync). Several processes may open the
 * same file (SQLite's own locking; busy waits up to 5 s).
 *
 * Errors: 0 or a negative cg_errcode with the detail in err (CG_EIO for the database, CG_ENOMEM);
 * cg_db_put also returns CG_DB_STALE (positive, not an error) as I4 says.
 */
#ifndef CG_DB_DB_H
#define CG_DB_DB_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct cg_db cg_db;

#define CG_DB_STALE 1 /* cg_db_put: the expected version is not the current one */
#define CG_DB_KEEP_DEFAULT 20

typedef struct cg_db_key {
  const char *user;       /* user id ("local" for the single-user explorer) */
  const char *bundle;     /* bundle content id */
  const char *collection; /* annotation collection name ("" for gene sets) */
  const char *kind;       /* "labels" or "genesets" */
} cg_db_key;

/* Opens (creating if needed) the database file at path and its schema. *out freed with cg_db_close. */
int cg_db_open(const char *path, cg_db **out, cg_err *err);
void cg_db_close(cg_db *db); /* NULL-safe */

/* The current version of k: *version (0 = none yet) and its data, cg_malloc'd into *data (caller cg_frees;
 * NULL when version is 0; data may be NULL to ask for the version only). */
int cg_db_get(cg_db *db, const cg_db_key *k, int64_t *version, uint8_t **data, size_t *len, cg_err *err);

/* Appends version current+1 holding data (copied), moves the pointer, keeps the last `keep` versions (I1-I4).
 * 0 and *version = the new version; CG_DB_STALE and *version = the current one; or a negative code. */
int cg_db_put(cg_db *db, const cg_db_key *k, int64_t expect, const void *data, size_t len, int keep,
              int64_t *version, cg_err *err);

/* The versions of k still kept, ascending, into v[cap]; *n = how many exist (may exceed cap). */
int cg_db_history(cg_db *db, const cg_db_key *k, int64_t *v, int cap, int *n, cg_err *err);

#endif
