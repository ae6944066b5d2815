/* explorer_ds.c — the dataset registry: the one bundle of single mode, or an LRU of open bundles of a
 * directory in multi mode.
 *
 * Design notes
 *  1. Multi mode maps dataset-id → DIR/<dataset-id>.cgb. Ids are [A-Za-z0-9._-]{1,200}, not starting with '.',
 *     so a request can never name a path outside DIR.
 *  2. At most max_open bundles are held open; opening one more releases the least recently used. Requests in
 *     flight hold their own reference (cg_bundle_retain), so eviction never unmaps data being sent.
 *     Memory is bounded by the mappings' page cache, which the kernel reclaims, plus O(metadata) per bundle.
 *  3. Opening happens under the registry mutex (O(metadata), milliseconds); nothing else is locked meanwhile.
 *  4. Content ids seen so far are remembered (id → name) for the content-addressed /s3_uri/<id>/ routes.
 */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/mem.h"
#include "explorer/explorer_int.h"

typedef struct slot {
  char name[204];
  char id[CG_BUNDLE_ID_LEN + 1];
  cg_bundle *b;
  uint64_t tick;
} slot;

struct cg__xds {
  pthread_mutex_t mu;
  char *dir;
  char single_name[256];
  slot *slots;
  int n, max_open;
  uint64_t tick, opens, evictions;
  slot *known; /* id → name, every bundle opened so far (b unused) */
  int nknown, capknown;
};

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static int open_single(cg__xds *d, const char *bundle, cg_err *err) {
  cg_bundle *b;
  int rc = cg_bundle_open(bundle, &b, err);
  if (rc) return rc;
  d->slots[0].b = b;
  snprintf(d->slots[0].id, sizeof d->slots[0].id, "%s", cg_bundle_id(b));
  snprintf(d->single_name, sizeof d->single_name, "%s", base_name(bundle));
  char *dot = strrchr(d->single_name, '.');
  if (dot && strcmp(dot, ".cgb") == 0) *dot = 0;
  d->n = 1;
  return 0;
}

int cg__xds_create(const char *bundle, const char *dir, int max_open, cg__xds **out, cg_err *err) {
  *out = NULL;
  cg__xds *d = cg_calloc(1, sizeof *d);
  if (!d) return cg_err_set(err, CG_ENOMEM, "dataset registry");
  pthread_mutex_init(&d->mu, NULL);
  d->max_open = bundle ? 1 : (max_open > 0 ? max_open : 8);
  d->slots = cg_calloc((size_t)d->max_open, sizeof *d->slots);
  int rc = d->slots ? 0 : cg_err_set(err, CG_ENOMEM, "dataset registry");
  if (!rc && bundle) rc = open_single(d, bundle, err);
  if (!rc && dir) {
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) rc = cg_err_set(err, CG_ENOTFOUND, "%s: not a directory", dir);
    else if (!(d->dir = cg_strdup(dir))) rc = cg_err_set(err, CG_ENOMEM, "dataset registry");
  }
  if (rc) {
    cg__xds_free(d);
    return rc;
  }
  *out = d;
  return 0;
}

void cg__xds_free(cg__xds *d) {
  if (!d) return;
  for (int i = 0; i < d->n; i++) cg_bundle_release(d->slots[i].b);
  cg_free(d->slots);
  cg_free(d->known);
  cg_free(d->dir);
  pthread_mutex_destroy(&d->mu);
  cg_free(d);
}

int cg__xds_multi(const cg__xds *d) { return d->dir != NULL; }
const char *cg__xds_single_name(const cg__xds *d) { return d->dir ? NULL : d->single_name; }

static int valid_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 200 || s[0] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return 0;
  }
  return 1;
}

static void remember(cg__xds *d, const char *name, const char *id) {
  for (int i = 0; i < d->nknown; i++)
    if (strcmp(d->known[i].id, id) == 0) {
      snprintf(d->known[i].name, sizeof d->known[i].name, "%s", name);
      return;
    }
  if (d->nknown == d->capknown) {
    int cap = d->capknown ? d->capknown * 2 : 16;
    slot *nk = cg_realloc(d->known, (size_t)cap * sizeof *nk);
    if (!nk) return; /* best effort: the content-addressed route then 404s for this id */
    d->known = nk, d->capknown = cap;
  }
  slot *k = &d->known[d->nknown++];
  memset(k, 0, sizeof *k);
  snprintf(k->name, sizeof k->name, "%s", name);
  snprintf(k->id, sizeof k->id, "%s", id);
}

/* The slot to fill: a free one, or the least recently used one after releasing its bundle. */
static slot *victim(cg__xds *d) {
  if (d->n < d->max_open) return &d->slots[d->n++];
  slot *v = &d->slots[0];
  for (int i = 1; i < d->n; i++)
    if (d->slots[i].tick < v->tick) v = &d->slots[i];
  cg_bundle_release(v->b);
  v->b = NULL;
  d->evictions++;
  return v;
}

static int open_named(cg__xds *d, const char *name, slot **out, cg_err *err) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/%s.cgb", d->dir, name) >= (int)sizeof path)
    return cg_err_set(err, CG_ENOTFOUND, "unknown dataset '%s'", name);
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return cg_err_set(err, CG_ENOTFOUND, "unknown dataset '%s'", name);
  cg_bundle *b;
  int rc = cg_bundle_open(path, &b, err);
  if (rc) return rc;
  slot *s = victim(d);
  s->b = b;
  snprintf(s->name, sizeof s->name, "%s", name);
  snprintf(s->id, sizeof s->id, "%s", cg_bundle_id(b));
  remember(d, name, s->id);
  d->opens++;
  *out = s;
  return 0;
}

int cg__xds_get(cg__xds *d, const char *name, cg_bundle **out, cg_err *err) {
  *out = NULL;
  if (!d->dir) {
    if (name[0]) return cg_err_set(err, CG_ENOTFOUND, "unknown dataset '%s'", name);
    *out = cg_bundle_retain(d->slots[0].b);
    return 0;
  }
  if (!valid_id(name)) return cg_err_set(err, CG_ENOTFOUND, "unknown dataset");
  pthread_mutex_lock(&d->mu);
  slot *s = NULL;
  int rc = 0;
  for (int i = 0; i < d->n && !s; i++)
    if (d->slots[i].b && strcmp(d->slots[i].name, name) == 0) s = &d->slots[i];
  if (!s) rc = open_named(d, name, &s, err);
  if (!rc) {
    s->tick = ++d->tick;
    *out = cg_bundle_retain(s->b);
  }
  pthread_mutex_unlock(&d->mu);
  return rc;
}

int cg__xds_get_by_id(cg__xds *d, const char *id, cg_bundle **out, char *name, size_t cap, cg_err *err) {
  *out = NULL;
  if (!d->dir) {
    if (strcmp(id, d->slots[0].id) != 0) return cg_err_set(err, CG_ENOTFOUND, "unknown dataset locator");
    snprintf(name, cap, "%s", "");
    *out = cg_bundle_retain(d->slots[0].b);
    return 0;
  }
  char found[204] = "";
  pthread_mutex_lock(&d->mu);
  for (int i = 0; i < d->nknown; i++)
    if (strcmp(d->known[i].id, id) == 0) snprintf(found, sizeof found, "%s", d->known[i].name);
  pthread_mutex_unlock(&d->mu);
  if (!found[0]) return cg_err_set(err, CG_ENOTFOUND, "unknown dataset locator");
  int rc = cg__xds_get(d, found, out, err);
  if (!rc && strcmp(cg_bundle_id(*out), id) != 0) { /* the file was replaced since: its old content is gone */
    cg_bundle_release(*out);
    *out = NULL;
    return cg_err_set(err, CG_ENOTFOUND, "dataset locator is no longer served");
  }
  if (!rc) snprintf(name, cap, "%s", found);
  return rc;
}

void cg__xds_counts(cg__xds *d, int *open, uint64_t *opens, uint64_t *evictions) {
  pthread_mutex_lock(&d->mu);
  *open = 0;
  for (int i = 0; i < d->n; i++) *open += d->slots[i].b != NULL;
  *opens = d->opens, *evictions = d->evictions;
  pthread_mutex_unlock(&d->mu);
}

/* --- listing --------------------------------------------------------------------------------------------- */

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The dataset ids of DIR (<id>.cgb with a valid id), sorted: *names (each and the array cg_free'd). */
static int scan_dir(const char *dir, char ***names, size_t *n, cg_err *err) {
  DIR *dh = opendir(dir);
  if (!dh) return cg_err_set(err, CG_EIO, "%s: cannot list the directory", dir);
  char **v = NULL;
  size_t k = 0, cap = 0;
  int rc = 0;
  for (struct dirent *e; !rc && (e = readdir(dh));) {
    size_t len = strlen(e->d_name);
    if (len <= 4 || strcmp(e->d_name + len - 4, ".cgb") != 0) continue;
    char *id = cg_strndup(e->d_name, len - 4);
    if (id && !valid_id(id)) {
      cg_free(id);
      continue;
    }
    if (id && k == cap) {
      char **nv = cg_realloc(v, (cap = cap ? 2 * cap : 16) * sizeof *nv);
      if (nv) v = nv;
      else cg_free(id), id = NULL;
    }
    if (!id) rc = cg_err_set(err, CG_ENOMEM, "dataset list");
    else v[k++] = id;
  }
  closedir(dh);
  if (k) qsort(v, k, sizeof *v, cmp_name);
  *names = v, *n = k;
  return rc;
}

int cg__xds_each(cg__xds *d, int (*fn)(void *ctx, const char *name, const cg_bundle *b), void *ctx, cg_err *err) {
  if (!d->dir) return fn(ctx, d->single_name, d->slots[0].b);
  char **names = NULL;
  size_t n = 0;
  int rc = scan_dir(d->dir, &names, &n, err);
  for (size_t i = 0; i < n && !rc; i++) {
    cg_bundle *b;
    cg_err skip = {0};
    if (cg__xds_get(d, names[i], &b, &skip) != 0) continue; /* vanished or unreadable: not served */
    rc = fn(ctx, names[i], b);
    cg_bundle_release(b);
  }
  for (size_t i = 0; i < n; i++) cg_free(names[i]);
  cg_free(names);
  return rc;
}
