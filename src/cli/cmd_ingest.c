/* cmd_ingest.c — `cellgate ingest IN.h5ad OUT.cgb [--matrix X|raw|layer:NAME]`. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "ingest/ingest.h"

static const char usage[] =
    "usage: cellgate ingest IN.h5ad OUT.cgb [--matrix X|raw|layer:NAME] [--quiet]\n"
    "\n"
    "Converts an AnnData .h5ad file into an immutable dataset bundle (docs/FORMAT.md).\n"
    "  --matrix M   which expression matrix to ingest: X (default), raw (raw/X with raw/var),\n"
    "               or layer:NAME (layers/NAME)\n"
    "  --quiet      no progress and no warnings on stderr\n"
    "The bundle is written under a temporary name and renamed when complete: on any error the command\n"
    "exits 1 with a message naming the HDF5 path at fault and leaves no output file.\n";

typedef struct progress_state {
  double last;
  char phase[32];
} progress_state;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Redraws one status line on the terminal at most 10 times a second. */
static void on_progress(void *ctx, const char *phase, double fraction) {
  progress_state *p = ctx;
  double t = now();
  int new_phase = strncmp(p->phase, phase, sizeof p->phase - 1) != 0;
  if (!new_phase && t - p->last < 0.1 && fraction < 1.0) return;
  if (new_phase && p->phase[0]) fputc('\n', stderr);
  snprintf(p->phase, sizeof p->phase, "%s", phase);
  p->last = t;
  fprintf(stderr, "\r  %-10s %5.1f%%", phase, fraction * 100.0);
  fflush(stderr);
}

static void on_warning(void *ctx, const char *msg) { fprintf(stderr, "warning: %s\n", msg); }

int cg_cmd_ingest(int argc, char **argv) {
  if (cg_cli_wants_help(argc, argv)) return fputs(usage, stdout), 0;
  const char *pos[2] = {0};
  int npos = 0, quiet = 0;
  cg_ingest_opts o = {0};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--matrix") == 0 && i + 1 < argc) o.matrix = argv[++i];
    else if (strncmp(argv[i], "--matrix=", 9) == 0) o.matrix = argv[i] + 9;
    else if (strcmp(argv[i], "--quiet") == 0) quiet = 1;
    else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "cellgate ingest: unknown option '%s'\n%s", argv[i], usage);
      return 2;
    } else if (npos < 2) pos[npos++] = argv[i];
    else return fprintf(stderr, "cellgate ingest: too many arguments\n%s", usage), 2;
  }
  if (npos != 2) return fprintf(stderr, "cellgate ingest: need IN.h5ad and OUT.cgb\n%s", usage), 2;
  if (o.matrix && strcmp(o.matrix, "X") && strcmp(o.matrix, "raw") && strncmp(o.matrix, "layer:", 6)) {
    fprintf(stderr, "cellgate ingest: --matrix must be X, raw or layer:NAME, not '%s'\n", o.matrix);
    return 2;
  }
  progress_state ps = {0};
  if (!quiet && isatty(2)) o.progress = on_progress, o.progress_ctx = &ps;
  if (!quiet) o.on_warning = on_warning;
  cg_err err = {0};
  cg_ingest_report rep;
  double t0 = now();
  int rc = cg_ingest_run(pos[0], pos[1], &o, &rep, &err);
  if (ps.phase[0]) fputc('\n', stderr);
  if (rc) {
    fprintf(stderr, "cellgate ingest: %s: %s\n", pos[0], err.msg[0] ? err.msg : cg_strerror(rc));
    return 1;
  }
  if (!quiet)
    fprintf(stderr, "ingested %s: %lld cells x %lld genes, matrix %s, %d embeddings -> %s (%.2f s)\n", pos[0],
            (long long)rep.n_obs, (long long)rep.n_vars, rep.matrix[0] ? rep.matrix : "(none)",
            rep.n_embeddings, pos[1], now() - t0);
  return 0;
}
