/* test_db.c — the metadata store (src/db/db.h over SQLite) and the label-set codec (src/db/labels.h):
 * versions, optimistic concurrency, retention, persistence across reopen, concurrent writers, codec round trip
 * and corrupt blobs. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/mem.h"
#include "db/db.h"
#include "db/labels.h"

static char path[512];
static const cg_db_key K = {"local", "bundle-1", "", "labels"};

static void fresh_path(void) {
  const char *t = getenv("CG_TMPDIR");
  if (!t) t = "/tmp";
  mkdir(t, 0755);
  snprintf(path, sizeof path, "%s/test_db.%d.sqlite", t, (int)getpid());
  unlink(path);
  char side[600];
  snprintf(side, sizeof side, "%s-wal", path), unlink(side);
  snprintf(side, sizeof side, "%s-shm", path), unlink(side);
}

static cg_db *open_db(void) {
  cg_db *db = NULL;
  cg_err err = {0};
  assert_int_equal(cg_db_open(path, &db, &err), 0);
  return db;
}

static void test_versions_and_if_match(void **st) {
  fresh_path();
  cg_db *db = open_db();
  cg_err err = {0};
  int64_t v = -1;
  uint8_t *d;
  size_t n;
  assert_int_equal(cg_db_get(db, &K, &v, &d, &n, &err), 0);
  assert_int_equal(v, 0);
  assert_null(d);
  assert_int_equal(cg_db_put(db, &K, 0, "one", 3, 20, &v, &err), 0);
  assert_int_equal(v, 1);
  assert_int_equal(cg_db_put(db, &K, 0, "two", 3, 20, &v, &err), CG_DB_STALE);
  assert_int_equal(v, 1);
  assert_int_equal(cg_db_put(db, &K, -1, "three", 5, 20, &v, &err), 0);
  assert_int_equal(v, 2);
  assert_int_equal(cg_db_get(db, &K, &v, &d, &n, &err), 0);
  assert_int_equal(v, 2);
  assert_int_equal(n, 5);
  assert_memory_equal(d, "three", 5);
  cg_free(d);
  cg_db_key other = K;
  other.collection = "x";
  assert_int_equal(cg_db_get(db, &other, &v, NULL, NULL, &err), 0);
  assert_int_equal(v, 0);
  cg_db_close(db);
  db = open_db(); /* persisted */
  assert_int_equal(cg_db_get(db, &K, &v, NULL, NULL, &err), 0);
  assert_int_equal(v, 2);
  cg_db_close(db);
}

static void test_retention(void **st) {
  fresh_path();
  cg_db *db = open_db();
  cg_err err = {0};
  int64_t v, hist[64];
  int n;
  for (int i = 0; i < 25; i++) assert_int_equal(cg_db_put(db, &K, i, &i, sizeof i, 20, &v, &err), 0);
  assert_int_equal(v, 25);
  assert_int_equal(cg_db_history(db, &K, hist, 64, &n, &err), 0);
  assert_int_equal(n, 20);
  for (int i = 0; i < n; i++) assert_int_equal(hist[i], 6 + i);
  cg_db_close(db);
}

typedef struct worker {
  cg_db *db;
  int acked, conflicts;
} worker;

static void *rmw(void *arg) {
  worker *w = arg;
  cg_err err = {0};
  while (w->acked < 25) {
    int64_t v, nv;
    if (cg_db_get(w->db, &K, &v, NULL, NULL, &err)) return NULL;
    int rc = cg_db_put(w->db, &K, v, "x", 1, 0, &nv, &err);
    if (rc == 0) w->acked++;
    else if (rc == CG_DB_STALE) w->conflicts++;
    else return NULL;
  }
  return NULL;
}

static void test_concurrent_writers(void **st) {
  fresh_path();
  cg_db *db = open_db(), *db2 = open_db(); /* two connections: like two processes */
  worker w[4] = {{db, 0, 0}, {db, 0, 0}, {db2, 0, 0}, {db2, 0, 0}};
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, rmw, &w[i]);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  int64_t v, hist[128];
  int n;
  cg_err err = {0};
  for (int i = 0; i < 4; i++) assert_int_equal(w[i].acked, 25);
  assert_int_equal(cg_db_get(db, &K, &v, NULL, NULL, &err), 0);
  assert_int_equal(v, 100); /* every acknowledged write is one version: no lost update */
  assert_int_equal(cg_db_history(db, &K, hist, 128, &n, &err), 0);
  assert_int_equal(n, 100);
  cg_db_close(db);
  cg_db_close(db2);
}

static void test_labels_codec(void **st) {
  cg_labels *l = cg_labels_create(5, 2);
  cg_err err = {0};
  static const char a[] = "[\"x\",\"y\",null,\"x\",\"z\\\"q\"]", b[] = "[\"1\",\"1\",\"1\",\"1\",\"1\"]";
  assert_int_equal(cg_labels_set_json(l, 0, "first", a, strlen(a), &err), 0);
  assert_int_equal(cg_labels_set_json(l, 1, "second", b, strlen(b), &err), 0);
  assert_int_equal(l->cols[0].n_cats, 3);
  assert_int_equal(l->cols[0].codes[2], -1);
  uint8_t *blob;
  size_t n;
  assert_int_equal(cg_labels_encode(l, &blob, &n, &err), 0);
  cg_labels *r;
  assert_int_equal(cg_labels_decode(blob, n, &r, &err), 0);
  assert_int_equal(r->n_cols, 2);
  assert_int_equal(cg_labels_find(r, "second"), 1);
  char *text;
  size_t tl;
  assert_int_equal(cg_labels_column_json(r, 0, &text, &tl, &err), 0);
  assert_string_equal(text, a);
  cg_free(text);
  for (size_t cut = 0; cut < n; cut++) { /* every truncation fails cleanly */
    cg_labels *bad = NULL;
    assert_true(cg_labels_decode(blob, cut, &bad, &err) < 0);
    assert_null(bad);
  }
  cg_labels_free(r);
  cg_free(blob);
  assert_int_equal(cg_labels_set_json(l, 0, "short", "[\"a\"]", 5, &err), CG_EINVAL);
  assert_int_equal(cg_labels_set_json(l, 0, "nums", "[1,2,3,4,5]", 11, &err), CG_EINVAL);
  cg_labels_free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_versions_and_if_match),
      cmocka_unit_test(test_retention),
      cmocka_unit_test(test_concurrent_writers),
      cmocka_unit_test(test_labels_codec),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  fresh_path(); /* removes the file and its -wal / -shm */
  unlink(path);
  return rc;
}
