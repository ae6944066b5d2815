/* cmd_synth.c — `cellgate synth`: writes a realistic synthetic .h5ad dataset (see src/synth/synth.h for the
 * model). Exit codes: 0 written, 1 the work failed (nothing left at --out), 2 usage error. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "synth/synth.h"

typedef struct synth_args {
  cg_synth_params p;
  cg_h5ad_write_opts o;
  const char *out;
  int quiet;
} synth_args;

static void usage(FILE *f) {
  fprintf(f,
          "usage: cellgate synth --cells N --genes G --out FILE.h5ad [options]\n\n"
          "Writes a realistic synthetic AnnData file (anndata >= 0.8 encoding): K clusters with marker genes,\n"
          "negative-binomial-like counts stored log1p-normalised as float32 CSR, X_umap / X_pca embeddings\n"
          "with cluster structure, categorical and QC obs columns, gene annotations and colours in uns.\n"
          "The matrix is generated and written in row blocks (memory does not grow with the matrix);\n"
          "the file appears at FILE only when complete. Same arguments, same bytes.\n\n"
          "  --cells N            number of cells (rows), 1..2147483647 (required)\n"
          "  --genes G            number of genes (columns), 1..2147483647 (required)\n"
          "  --out FILE           output path (required); written as FILE.tmp.<pid>, then renamed\n"
          "  --seed S             random seed, 0..2^64-1 (default 1)\n"
          "  --clusters K         clusters / cell types, 1..%d (default 20)\n"
          "  --nnz-per-cell M     mean stored entries per cell, 0..G, varies per cell (default 1000,\n"
          "                       or G when G < 1000)\n"
          "  --compression C      gzip | lzf | none (default gzip: zlib chunks like h5py's\n"
          "                       compression=\"gzip\"; none: contiguous datasets)\n"
          "  --level L            gzip level 1..9 (default 4, h5py's default)\n"
          "  --threads T          compression threads 1..64 (default 2)\n"
          "  --quiet              no progress on stderr\n"
          "  -h, --help           this help\n",
          CG_SYNTH_MAX_CLUSTERS);
}

static int bad(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "cellgate synth: ");
  fprintf(stderr, fmt, a, b);
  fprintf(stderr, "\n(see 'cellgate synth --help')\n");
  return 2;
}

/* Parses a whole-string unsigned decimal integer in [lo, hi]. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  char *end;
  if (!*s || *s == '-' || *s == '+' || *s == ' ') return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static int set_number(const char *flag, const char *v, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (parse_u64(v, lo, hi, out) == 0) return 0;
  char range[64];
  snprintf(range, sizeof range, "%llu..%llu", (unsigned long long)lo, (unsigned long long)hi);
  fprintf(stderr, "cellgate synth: %s expects an integer in %s, got '%s'\n(see 'cellgate synth --help')\n",
          flag, range, v);
  return 2;
}

/* One flag with its value; returns 0 or the exit code 2. */
static int apply(synth_args *a, const char *flag, const char *v, int *have) {
  uint64_t x;
  int rc = 0;
  if (strcmp(flag, "--cells") == 0) {
    if (!(rc = set_number(flag, v, 1, INT32_MAX, &x))) a->p.n_cells = (int64_t)x, have[0] = 1;
  } else if (strcmp(flag, "--genes") == 0) {
    if (!(rc = set_number(flag, v, 1, INT32_MAX, &x))) a->p.n_genes = (int64_t)x, have[1] = 1;
  } else if (strcmp(flag, "--out") == 0) {
    if (!*v) return bad("%s needs a file name%s", flag, "");
    a->out = v, have[2] = 1;
  } else if (strcmp(flag, "--seed") == 0) {
    if (!(rc = set_number(flag, v, 0, UINT64_MAX, &x))) a->p.seed = x;
  } else if (strcmp(flag, "--clusters") == 0) {
    if (!(rc = set_number(flag, v, 1, CG_SYNTH_MAX_CLUSTERS, &x))) a->p.n_clusters = (int)x;
  } else if (strcmp(flag, "--nnz-per-cell") == 0) {
    if (!(rc = set_number(flag, v, 0, INT32_MAX, &x))) a->p.nnz_per_cell = (int)x, have[3] = 1;
  } else if (strcmp(flag, "--compression") == 0) {
    if (cg_h5ad_codec_parse(v, &a->o.codec)) return bad("--compression must be gzip, lzf or none, got '%s'%s", v, "");
  } else if (strcmp(flag, "--level") == 0) {
    if (!(rc = set_number(flag, v, 1, 9, &x))) a->o.level = (int)x;
  } else if (strcmp(flag, "--threads") == 0) {
    if (!(rc = set_number(flag, v, 1, 64, &x))) a->o.threads = (int)x;
  } else {
    return bad("unknown option '%s'%s", flag, "");
  }
  return rc;
}

static int parse(int argc, char **argv, synth_args *a) {
  int have[4] = {0, 0, 0, 0}; /* cells, genes, out, nnz-per-cell */
  for (int i = 1; i < argc; i++) {
    char flag[64];
    const char *arg = argv[i], *eq = strchr(arg, '='), *v;
    if (strcmp(arg, "--quiet") == 0) {
      a->quiet = 1;
      continue;
    }
    if (strncmp(arg, "--", 2) != 0) return bad("unexpected argument '%s'%s", arg, "");
    if (eq) {
      snprintf(flag, sizeof flag, "%.*s", (int)(eq - arg), arg);
      v = eq + 1;
    } else {
      snprintf(flag, sizeof flag, "%s", arg);
      if (i + 1 >= argc) return bad("%s needs a value%s", arg, "");
      v = argv[++i];
    }
    int rc = apply(a, flag, v, have);
    if (rc) return rc;
  }
  const char *missing = !have[0] ? "--cells" : !have[1] ? "--genes" : !have[2] ? "--out" : NULL;
  if (missing) return bad("%s is required%s", missing, "");
  if (!have[3]) a->p.nnz_per_cell = a->p.n_genes < 1000 ? (int)a->p.n_genes : 1000;
  if (a->p.nnz_per_cell > a->p.n_genes) {
    char m[32], g[32];
    snprintf(m, sizeof m, "%d", a->p.nnz_per_cell);
    snprintf(g, sizeof g, "%lld", (long long)a->p.n_genes);
    return bad("--nnz-per-cell (%s) must not exceed --genes (%s)", m, g);
  }
  return 0;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void on_progress(void *ctx, double f) {
  int *last = ctx, pct = (int)(f * 100);
  if (pct == *last) return;
  *last = pct;
  fprintf(stderr, "\rcellgate synth: X %3d%%", pct);
  if (pct == 100) fprintf(stderr, "\n");
}

int cg_cmd_synth(int argc, char **argv) {
  synth_args a = {.p = {.seed = 1, .n_clusters = 20}, .o = {CG_H5W_GZIP, 4, 2}};
  if (cg_cli_wants_help(argc, argv)) {
    usage(stdout);
    return 0;
  }
  int rc = parse(argc, argv, &a), last = -1;
  if (rc) return rc;
  cg_err err;
  cg_err_clear(&err);
  double t0 = now();
  int show = !a.quiet && isatty(STDERR_FILENO);
  if (cg_synth_write(&a.p, a.out, &a.o, show ? on_progress : NULL, &last, &err) != 0) {
    fprintf(stderr, "cellgate synth: %s\n", err.msg[0] ? err.msg : cg_strerror(err.code));
    return 1;
  }
  struct stat st;
  long long size = stat(a.out, &st) == 0 ? (long long)st.st_size : -1;
  printf("wrote %s: %lld cells x %lld genes, %d clusters, seed %llu, %s, %lld bytes in %.2f s\n", a.out,
         (long long)a.p.n_cells, (long long)a.p.n_genes, a.p.n_clusters, (unsigned long long)a.p.seed,
         cg_h5ad_codec_name(a.o.codec), size, now() - t0);
  return 0;
}
