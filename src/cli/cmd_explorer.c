/* cmd_explorer.c — `cellgate explorer DATASET.(cgb|h5ad) | --data DIR [--host H] [--port P] ...`: the
 * cellxgene-compatible Explorer data server (src/explorer, src/http). Runs until SIGINT/SIGTERM. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cli/cmd.h"
#include "explorer/explorer.h"
#include "http/http.h"
#include "ingest/ingest.h"

static const char usage[] =
    "usage: cellgate explorer DATASET.cgb|DATASET.h5ad [options]\n"
    "       cellgate explorer --data DIR [options]\n"
    "\n"
    "Serves the cellxgene Explorer API (v0.2 and v0.3) for one dataset at /api/v0.2/... and /api/v0.3/...,\n"
    "or for every DIR/<id>.cgb at /e/<id>/api/v0.2/... (see docs/API.md). Also /health and /metrics.\n"
    "  --host H         bind address (default 127.0.0.1)\n"
    "  --port P         port (default 5005; 0 = any free port, printed on stderr)\n"
    "  --threads N      connection threads (default 2)\n"
    "  --workers N      worker threads for long requests (default 2)\n"
    "  --cache-mb N     in-process response cache in MiB (default 64; 0 disables); part of --body-mb\n"
    "  --body-mb N      memory budget for response bodies in MiB: cache + in flight + being built\n"
    "                   (default 160; 0 = unbounded). Requests that would exceed it wait, then get 503\n"
    "  --queue-timeout-ms N  longest wait for the body budget before 503 + Retry-After (default 20000)\n"
    "  --max-open N     --data mode: bundles kept open (default 8)\n"
    "  --title T        dataset name shown by config (single mode)\n"
    "  --cache-dir D    where an .h5ad argument is ingested once (default $XDG_CACHE_HOME/cellgate or\n"
    "                   ~/.cache/cellgate); the bundle is keyed by the input's path, size and mtime\n"
    "  --annotations-dir D  where user annotations and gene sets persist (single mode): D/annotations.sqlite\n"
    "                   (default $XDG_CACHE_HOME/cellgate or ~/.cache/cellgate, whatever --cache-dir says)\n"
    "  --no-annotations read-only: no user annotations or gene set editing (--data mode: always, for now)\n"
    "  --web DIR        the built web client served at the dataset root (default: this build's web/dist)\n"
    "  --quiet          no access log (one line per request on stderr otherwise)\n";

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { stop_flag = sig; }

static void on_access(void *ctx, const char *line) { fprintf(stderr, "%s\n", line); }

typedef struct args {
  const char *dataset, *data_dir, *host, *title, *cache_dir, *web_dir, *annot_dir;
  int port, threads, workers, max_open, quiet, no_annot;
  long cache_mb, body_mb, queue_ms;
} args;

static int parse_int(const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || end == s || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static int parse_args(int argc, char **argv, args *a) {
  *a = (args){.host = "127.0.0.1", .port = 5005, .threads = 2, .workers = 2, .max_open = 8, .cache_mb = 64,
             .body_mb = 160, .queue_ms = 20000, .web_dir = CG_WEB_DIR};
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    long n;
    if (strcmp(o, "--quiet") == 0) a->quiet = 1;
    else if (strcmp(o, "--no-annotations") == 0) a->no_annot = 1;
    else if (strcmp(o, "--annotations-dir") == 0 && v) a->annot_dir = v, i++;
    else if (o[0] == '-' && o[1] && !v) return fprintf(stderr, "cellgate explorer: %s needs a value\n", o), -1;
    else if (strcmp(o, "--data") == 0) a->data_dir = v, i++;
    else if (strcmp(o, "--host") == 0) a->host = v, i++;
    else if (strcmp(o, "--title") == 0) a->title = v, i++;
    else if (strcmp(o, "--cache-dir") == 0) a->cache_dir = v, i++;
    else if (strcmp(o, "--web") == 0) a->web_dir = v, i++;
    else if (strcmp(o, "--port") == 0 && !parse_int(v, 0, 65535, &n)) a->port = (int)n, i++;
    else if (strcmp(o, "--threads") == 0 && !parse_int(v, 1, 64, &n)) a->threads = (int)n, i++;
    else if (strcmp(o, "--workers") == 0 && !parse_int(v, 1, 64, &n)) a->workers = (int)n, i++;
    else if (strcmp(o, "--max-open") == 0 && !parse_int(v, 1, 4096, &n)) a->max_open = (int)n, i++;
    else if (strcmp(o, "--cache-mb") == 0 && !parse_int(v, 0, 1 << 20, &n)) a->cache_mb = n, i++;
    else if (strcmp(o, "--body-mb") == 0 && !parse_int(v, 0, 1 << 20, &n)) a->body_mb = n, i++;
    else if (strcmp(o, "--queue-timeout-ms") == 0 && !parse_int(v, 1, 3600000, &n)) a->queue_ms = n, i++;
    else if (o[0] == '-' && o[1]) return fprintf(stderr, "cellgate explorer: bad option or value '%s'\n", o), -1;
    else if (!a->dataset) a->dataset = o;
    else return fprintf(stderr, "cellgate explorer: too many arguments\n"), -1;
  }
  if (!a->dataset == !a->data_dir) return fprintf(stderr, "cellgate explorer: give DATASET or --data DIR\n"), -1;
  return 0;
}

static int ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

static int default_cache_dir(char *out, size_t cap) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  if (xdg && *xdg) return snprintf(out, cap, "%s/cellgate", xdg) < (int)cap ? 0 : -1;
  if (home && *home) return snprintf(out, cap, "%s/.cache/cellgate", home) < (int)cap ? 0 : -1;
  return -1;
}

static int mkdirs(char *path) {
  for (char *p = path + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      int rc = mkdir(path, 0755);
      *p = '/';
      if (rc && errno != EEXIST) return -1;
    }
  return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

/* DIR/<stem>-<hash of realpath, size, mtime>.cgb, ingested now unless present. */
static int cached_bundle(const char *h5ad, const char *cache_dir, char *out, size_t cap) {
  char real[PATH_MAX], dir[PATH_MAX];
  struct stat st;
  if (!realpath(h5ad, real) || stat(real, &st) != 0)
    return fprintf(stderr, "cellgate explorer: %s: %s\n", h5ad, strerror(errno)), -1;
  if (cache_dir) snprintf(dir, sizeof dir, "%s", cache_dir);
  else if (default_cache_dir(dir, sizeof dir)) return fprintf(stderr, "cellgate explorer: no cache dir; use --cache-dir\n"), -1;
  if (mkdirs(dir)) return fprintf(stderr, "cellgate explorer: %s: %s\n", dir, strerror(errno)), -1;
  char key[PATH_MAX + 64];
  int kn = snprintf(key, sizeof key, "%s|%lld|%lld.%09ld", real, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                    st.st_mtim.tv_nsec);
  const char *base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
  int stem = (int)(strlen(base) - 5);
  snprintf(out, cap, "%s/%.*s-%016llx.cgb", dir, stem > 100 ? 100 : stem, base,
           (unsigned long long)XXH3_64bits(key, (size_t)kn));
  if (access(out, R_OK) == 0) return 0;
  fprintf(stderr, "ingesting %s -> %s (once; cached)\n", h5ad, out);
  cg_err err = {0};
  if (cg_ingest_run(h5ad, out, NULL, NULL, &err))
    return fprintf(stderr, "cellgate explorer: ingest %s: %s\n", h5ad, err.msg), -1;
  return 0;
}

/* The annotation database path (single mode, unless --no-annotations): DIR/annotations.sqlite. "" = off. */
static int annotations_db(const args *a, char *out, size_t cap) {
  char dir[PATH_MAX];
  out[0] = 0;
  if (a->data_dir && a->annot_dir)
    fprintf(stderr, "cellgate explorer: --data mode has no annotations yet: ignoring --annotations-dir\n");
  if (a->no_annot || a->data_dir) return 0;
  if (a->annot_dir) snprintf(dir, sizeof dir, "%s", a->annot_dir);
  else if (default_cache_dir(dir, sizeof dir))
    return fprintf(stderr, "cellgate explorer: no cache dir for annotations; use --annotations-dir\n"), -1;
  if (mkdirs(dir)) return fprintf(stderr, "cellgate explorer: %s: %s\n", dir, strerror(errno)), -1;
  if (snprintf(out, cap, "%s/annotations.sqlite", dir) >= (int)cap)
    return fprintf(stderr, "cellgate explorer: annotations path too long\n"), -1;
  return 0;
}

static int serve(const args *a, const char *bundle) {
  /* Large response buffers come and go: keep them out of the heap arenas so freeing them returns memory. */
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_ARENA_MAX, 4);
  cg_explorer_opts xo = {.bundle = bundle, .data_dir = a->data_dir, .display_name = a->title,
                         .max_open = a->max_open, .cache_bytes = (size_t)a->cache_mb << 20, .version = CG_VERSION,
                         .body_bytes = (size_t)a->body_mb << 20, .queue_timeout_ms = (int)a->queue_ms,
                         .web_dir = a->web_dir};
  char adb[PATH_MAX];
  if (annotations_db(a, adb, sizeof adb)) return 1;
  xo.annotations_db = adb[0] ? adb : NULL;
  cg_err err = {0};
  cg_explorer *x;
  if (cg_explorer_create(&xo, &x, &err)) return fprintf(stderr, "cellgate explorer: %s\n", err.msg), 1;
  cg_http_opts ho = {.host = a->host, .port = a->port, .threads = a->threads, .workers = a->workers};
  cg_explorer_http_opts(x, &ho);
  if (!a->quiet) ho.on_access = on_access;
  cg_http_server *s;
  if (cg_http_server_start(&ho, &s, &err)) {
    cg_explorer_free(x);
    return fprintf(stderr, "cellgate explorer: %s\n", err.msg), 1;
  }
  cg_explorer_attach(x, s);
  fprintf(stderr, "cellgate explorer: listening on http://%s:%d/ (%s)\n", a->host, cg_http_server_port(s),
          a->data_dir ? a->data_dir : bundle);
  while (!stop_flag) pause();
  cg_http_server_stop(s);
  cg_explorer_free(x);
  return 0;
}

int cg_cmd_explorer(int argc, char **argv) {
  if (cg_cli_wants_help(argc, argv)) return fputs(usage, stdout), 0;
  args a;
  if (parse_args(argc, argv, &a)) return fputs(usage, stderr), 2;
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  char bundle[PATH_MAX + 128], name[256];
  const char *path = a.dataset;
  if (path && ends_with(path, ".h5ad")) {
    if (cached_bundle(path, a.cache_dir, bundle, sizeof bundle)) return 1;
    if (!a.title) { /* name the dataset after the file the user gave, not the cache entry */
      const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
      snprintf(name, sizeof name, "%.*s", (int)(strlen(base) - 5), base);
      a.title = name;
    }
    path = bundle;
  }
  return serve(&a, path);
}
