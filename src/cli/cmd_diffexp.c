/* cmd_diffexp.c — `cellgate diffexp`: differential expression between two cell sets of a bundle (query/de.h).
 * Exit codes: 0 table written, 1 the work failed, 2 usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "cli/cmd.h"
#include "query/de.h"

static const char usage[] =
    "usage: cellgate diffexp BUNDLE.cgb --set1 FILE --set2 FILE|rest [options]\n\n"
    "Compares the cells of set 1 with those of set 2 (or with every other cell: --set2 rest) for every gene\n"
    "and writes the table ranked by p-value (JSON by default).\n\n"
    "  --set1 FILE          cells of set 1: one per line, either all cell indices (0-based integers) or all\n"
    "                       obs names (the bundle's obs index); blank lines are ignored, duplicates merged\n"
    "  --set2 FILE|rest     cells of set 2 in the same form, or `rest` for all cells not in set 1\n"
    "  --method M           welch (default; scipy ttest_ind equal_var=False) | wilcoxon (Mann-Whitney U,\n"
    "                       asymptotic, tie and continuity corrected, + AUROC) | cellxgene (cellxgene's rules)\n"
    "  --top N|all          genes to write, best first (default all)\n"
    "  --csv                CSV instead of JSON\n"
    "  --threads T          worker threads (default: online CPUs)\n"
    "  --pseudocount X      pseudocount of the log2 fold change (default 1e-9)\n"
    "  --timing             print the compute time to stderr\n"
    "  -h, --help           this help\n";

typedef struct args {
  const char *bundle, *set1, *set2, *method;
  int64_t top;
  int csv, timing;
  cg_de_opts o;
} args;

static int bad(const char *msg, const char *v) {
  fprintf(stderr, "cellgate diffexp: %s%s%s\n(see 'cellgate diffexp --help')\n", msg, v ? " " : "", v ? v : "");
  return 2;
}

static int parse(args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = strcmp(f, "--csv") && strcmp(f, "--timing") && strncmp(f, "--", 2) == 0;
    if (takes && !v) return bad("missing value for", f);
    if (!strcmp(f, "--set1")) a->set1 = v;
    else if (!strcmp(f, "--set2")) a->set2 = v;
    else if (!strcmp(f, "--method")) a->method = v;
    else if (!strcmp(f, "--top")) {
      char *e;
      a->top = strcmp(v, "all") == 0 ? -1 : strtoll(v, &e, 10);
      if (strcmp(v, "all") && (*e || a->top < 0)) return bad("--top expects a count or 'all', got", v);
    } else if (!strcmp(f, "--threads")) a->o.threads = atoi(v);
    else if (!strcmp(f, "--pseudocount")) a->o.pseudocount = atof(v);
    else if (!strcmp(f, "--csv")) a->csv = 1;
    else if (!strcmp(f, "--timing")) a->timing = 1;
    else if (takes || f[0] == '-') return bad("unknown option", f);
    else if (!a->bundle) a->bundle = f;
    else return bad("too many arguments:", f);
    i += takes;
  }
  if (!a->bundle || !a->set1 || !a->set2) return bad("BUNDLE, --set1 and --set2 are required", NULL);
  return 0;
}

/* --- set files ------------------------------------------------------------------------------------------- */


typedef struct names {
  const cg_bundle_strings *s;
  int64_t *sorted; /* indices sorted by name */
} names;

static const cg_bundle_strings *g_names; /* qsort has no context argument; the CLI is single-threaded */
static int cmp_idx(const void *a, const void *b) {
  return strcmp(cg_bundle_str(g_names, *(const int64_t *)a, NULL), cg_bundle_str(g_names, *(const int64_t *)b, NULL));
}

static int64_t find_name(const names *n, const char *key) {
  int64_t lo = 0, hi = n->s->count;
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    int c = strcmp(cg_bundle_str(n->s, n->sorted[mid], NULL), key);
    if (c == 0) return n->sorted[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

static int is_index(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

static char *chomp(char *l) {
  size_t n = strlen(l);
  while (n && (l[n - 1] == '\n' || l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t')) l[--n] = 0;
  return l;
}

/* Reads FILE into bits. Whole file of integers = indices, otherwise names. 0, 1 (work failure). */
static int read_set(const char *path, const cg_bundle *b, names *nm, cg_bitset *bits) {
  FILE *f = fopen(path, "r");
  if (!f) return fprintf(stderr, "cellgate diffexp: %s: %s\n", path, strerror(errno)), 1;
  char line[4096];
  int all_int = 1, rc = 0;
  while (fgets(line, sizeof line, f))
    if (*chomp(line) && !is_index(line)) all_int = 0;
  rewind(f);
  if (!all_int && !nm->sorted) {
    g_names = nm->s = cg_bundle_index(b, CG_BUNDLE_OBS);
    nm->sorted = cg_malloc_array((size_t)nm->s->count + 1, sizeof *nm->sorted);
    if (!nm->sorted) return fclose(f), fprintf(stderr, "cellgate diffexp: out of memory\n"), 1;
    for (int64_t i = 0; i < nm->s->count; i++) nm->sorted[i] = i;
    qsort(nm->sorted, (size_t)nm->s->count, sizeof *nm->sorted, cmp_idx);
  }
  for (int64_t ln = 1; !rc && fgets(line, sizeof line, f); ln++) {
    if (!*chomp(line)) continue;
    int64_t i = all_int ? strtoll(line, NULL, 10) : find_name(nm, line);
    if (i < 0 || i >= bits->n)
      rc = (fprintf(stderr, "cellgate diffexp: %s:%lld: no cell '%s'\n", path, (long long)ln, line), 1);
    else cg_bitset_set(bits, i);
  }
  fclose(f);
  return rc;
}

/* --- run ------------------------------------------------------------------------------------------------- */

static int write_out(const args *a, const cg_de_result *r, const cg_bundle *b, cg_err *err) {
  char *buf;
  size_t len;
  int rc = a->csv ? cg_de_result_csv(r, b, a->top, &buf, &len, err) : cg_de_result_json(r, b, a->top, &buf, &len, err);
  if (!rc && fwrite(buf, 1, len, stdout) != len) rc = cg_err_set(err, CG_EIO, "writing the table: %s", strerror(errno));
  if (!rc) cg_free(buf);
  return rc;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int compute(const args *a, cg_bundle *b, cg_de_method m, cg_err *err) {
  cg_bitset s1 = {0}, s2 = {0};
  names nm = {0};
  int64_t n = cg_bundle_n_obs(b);
  int rest = strcmp(a->set2, "rest") == 0, rc = 1;
  cg_de_result *r = NULL;
  if (cg_bitset_init(&s1, n) || cg_bitset_init(&s2, n)) goto done;
  if (read_set(a->set1, b, &nm, &s1) || (!rest && read_set(a->set2, b, &nm, &s2))) goto done;
  cg_de_set d1 = {.bits = &s1}, d2 = {.bits = &s2};
  double t0 = now();
  if (cg_de_run(b, &d1, rest ? NULL : &d2, m, &a->o, &r, err)) goto done;
  if (a->timing) fprintf(stderr, "diffexp: %.3f s\n", now() - t0);
  rc = write_out(a, r, b, err) ? 1 : 0;
done:
  if (rc && err->code) fprintf(stderr, "cellgate diffexp: %s\n", err->msg);
  cg_de_result_free(r);
  cg_free(nm.sorted);
  cg_bitset_dispose(&s1), cg_bitset_dispose(&s2);
  return rc;
}

int cg_cmd_diffexp(int argc, char **argv) {
  if (cg_cli_wants_help(argc, argv)) return fputs(usage, stdout), 0;
  args a = {.method = "welch", .top = -1};
  int rc = parse(&a, argc, argv);
  cg_de_method m;
  if (rc) return rc;
  if (cg_de_method_parse(a.method, &m)) return bad("--method expects welch, wilcoxon or cellxgene, got", a.method);
  cg_err err = {0};
  cg_bundle *b = NULL;
  if (cg_bundle_open(a.bundle, &b, &err)) return fprintf(stderr, "cellgate diffexp: %s\n", err.msg), 1;
  rc = compute(&a, b, m, &err);
  cg_bundle_release(b);
  return rc;
}
