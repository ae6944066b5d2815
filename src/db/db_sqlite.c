/* db_sqlite.c — the SQLite backend of db.h (the embedded default).
 *
 * Schema (one file; WAL journal, synchronous=FULL so a committed put survives kill -9):
 *
 *   record(user, bundle, collection, kind, version, created, data)   PRIMARY KEY (user..kind, version)
 *   current(user, bundle, collection, kind, version)                 PRIMARY KEY (user..kind)
 *
 * A put runs BEGIN IMMEDIATE (takes the write lock up front, so two processes cannot both read version n and
 * both write n+1), reads current, compares with expect, inserts, upserts current, deletes versions older than
 * the last `keep`, COMMIT. Any failure rolls the whole transaction back.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

#include "base/mem.h"
#include "db/db.h"

struct cg_db {
  sqlite3 *h;
  pthread_mutex_t mu; /* one connection, one lock: every exported call holds it */
};

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS record(user TEXT NOT NULL, bundle TEXT NOT NULL, collection TEXT NOT NULL,"
    " kind TEXT NOT NULL, version INTEGER NOT NULL, created REAL NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY(user, bundle, collection, kind, version));"
    "CREATE TABLE IF NOT EXISTS current(user TEXT NOT NULL, bundle TEXT NOT NULL, collection TEXT NOT NULL,"
    " kind TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY(user, bundle, collection, kind));";

#define KEY_WHERE "user=?1 AND bundle=?2 AND collection=?3 AND kind=?4"

static int db_error(cg_db *db, cg_err *err, const char *what) {
  return cg_err_set(err, CG_EIO, "annotations db: %s: %s", what, sqlite3_errmsg(db->h));
}

int cg_db_open(const char *path, cg_db **out, cg_err *err) {
  *out = NULL;
  cg_db *db = cg_calloc(1, sizeof *db);
  if (!db) return cg_err_set(err, CG_ENOMEM, "annotations db");
  pthread_mutex_init(&db->mu, NULL);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = 0;
  if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) rc = db_error(db, err, path);
  if (!rc) sqlite3_busy_timeout(db->h, 5000);
  if (!rc && sqlite3_exec(db->h, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) rc = db_error(db, err, path);
  if (rc) {
    cg_db_close(db);
    return rc;
  }
  *out = db;
  return 0;
}

void cg_db_close(cg_db *db) {
  if (!db) return;
  sqlite3_close(db->h);
  pthread_mutex_destroy(&db->mu);
  cg_free(db);
}

static sqlite3_stmt *prepare_key(cg_db *db, const char *sql, const cg_db_key *k) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) return NULL;
  sqlite3_bind_text(st, 1, k->user, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, k->bundle, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, k->collection, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, k->kind, -1, SQLITE_STATIC);
  return st;
}

/* The current version (0 = none). Lock held. */
static int current_version(cg_db *db, const cg_db_key *k, int64_t *v, cg_err *err) {
  sqlite3_stmt *st = prepare_key(db, "SELECT version FROM current WHERE " KEY_WHERE, k);
  if (!st) return db_error(db, err, "select current");
  int s = sqlite3_step(st);
  *v = s == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return s == SQLITE_ROW || s == SQLITE_DONE ? 0 : db_error(db, err, "select current");
}

static int read_data(cg_db *db, const cg_db_key *k, int64_t v, uint8_t **data, size_t *len, cg_err *err) {
  sqlite3_stmt *st = prepare_key(db, "SELECT data FROM record WHERE " KEY_WHERE " AND version=?5", k);
  if (!st) return db_error(db, err, "select record");
  sqlite3_bind_int64(st, 5, v);
  int rc = 0;
  if (sqlite3_step(st) != SQLITE_ROW) {
    rc = cg_err_set(err, CG_ECORRUPT, "annotations db: version %lld has no record", (long long)v);
  } else {
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const void *p = sqlite3_column_blob(st, 0);
    *data = cg_malloc(n ? n : 1);
    if (!*data) rc = cg_err_set(err, CG_ENOMEM, "annotations db");
    else memcpy(*data, p, n), *len = n;
  }
  sqlite3_finalize(st);
  return rc;
}

int cg_db_get(cg_db *db, const cg_db_key *k, int64_t *version, uint8_t **data, size_t *len, cg_err *err) {
  if (data) *data = NULL, *len = 0;
  pthread_mutex_lock(&db->mu);
  int rc = sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : db_error(db, err, "begin");
  if (!rc) rc = current_version(db, k, version, err);
  if (!rc && data && *version > 0) rc = read_data(db, k, *version, data, len, err);
  sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL);
  pthread_mutex_unlock(&db->mu);
  return rc;
}

static int step_done(cg_db *db, sqlite3_stmt *st, cg_err *err, const char *what) {
  int s = st ? sqlite3_step(st) : SQLITE_ERROR;
  int rc = s == SQLITE_DONE ? 0 : db_error(db, err, what);
  sqlite3_finalize(st);
  return rc;
}

/* Insert, move the pointer, trim. Lock held, inside the transaction. */
static int append(cg_db *db, const cg_db_key *k, int64_t v, const void *data, size_t len, int keep, cg_err *err) {
  sqlite3_stmt *st = prepare_key(
      db, "INSERT INTO record(user, bundle, collection, kind, version, created, data) "
          "VALUES(?1, ?2, ?3, ?4, ?5, julianday('now'), ?6)", k);
  if (st) sqlite3_bind_int64(st, 5, v), sqlite3_bind_blob64(st, 6, data, len, SQLITE_STATIC);
  int rc = step_done(db, st, err, "insert record");
  if (rc) return rc;
  st = prepare_key(db, "INSERT INTO current(user, bundle, collection, kind, version) VALUES(?1, ?2, ?3, ?4, ?5) "
                       "ON CONFLICT(user, bundle, collection, kind) DO UPDATE SET version=excluded.version", k);
  if (st) sqlite3_bind_int64(st, 5, v);
  rc = step_done(db, st, err, "update current");
  if (rc || keep <= 0) return rc;
  st = prepare_key(db, "DELETE FROM record WHERE " KEY_WHERE " AND version<=?5", k);
  if (st) sqlite3_bind_int64(st, 5, v - keep);
  return step_done(db, st, err, "trim history");
}

int cg_db_put(cg_db *db, const cg_db_key *k, int64_t expect, const void *data, size_t len, int keep,
              int64_t *version, cg_err *err) {
  int64_t cur = 0;
  pthread_mutex_lock(&db->mu);
  int rc = sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : db_error(db, err, "begin");
  if (rc) goto done;
  rc = current_version(db, k, &cur, err);
  if (!rc && expect >= 0 && expect != cur) rc = CG_DB_STALE;
  if (!rc) rc = append(db, k, cur + 1, data, len, keep, err);
  if (!rc && sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) rc = db_error(db, err, "commit");
  if (rc) sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
  *version = rc == 0 ? cur + 1 : cur;
done:
  pthread_mutex_unlock(&db->mu);
  return rc;
}

int cg_db_history(cg_db *db, const cg_db_key *k, int64_t *v, int cap, int *n, cg_err *err) {
  *n = 0;
  pthread_mutex_lock(&db->mu);
  sqlite3_stmt *st = prepare_key(db, "SELECT version FROM record WHERE " KEY_WHERE " ORDER BY version", k);
  int rc = st ? 0 : db_error(db, err, "select history"), s = SQLITE_DONE;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n < cap) v[*n] = sqlite3_column_int64(st, 0);
    (*n)++;
  }
  if (!rc && s != SQLITE_DONE) rc = db_error(db, err, "select history");
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->mu);
  return rc;
}
