/* cmd_inspect.c — `cellgate inspect FILE [--json] [--checksum] [--verify]` for .h5ad files and .cgb bundles.
 * Both kinds give one JSON document of the same shape (docs/CLI.md); the text form is rendered from it. */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/inspect.h"

static const char usage[] =
    "usage: cellgate inspect FILE [--json] [--checksum] [--verify]\n"
    "\n"
    "Summarises an .h5ad file or a .cgb bundle: n_obs, n_vars, the expression matrix (format, dtype, nnz),\n"
    "obs and var columns with types and categories, embeddings with shapes, and the uns keys used.\n"
    "  --json       print one machine-readable JSON document (top-level keys documented in docs/CLI.md)\n"
    "  --checksum   also read every matrix value: sum, sum of squares, non-zero and NaN counts\n"
    "  --verify     bundles only: verify every section checksum and every matrix index (reads the whole file)\n";

static int is_hdf5(const char *path) {
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  unsigned char buf[8];
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  return n == sizeof buf && memcmp(buf, sig, sizeof sig) == 0;
}

static void print_frame(const char *label, json_t *fr) {
  json_t *cols = json_object_get(fr, "columns");
  printf("%s: %lld rows, index '%s', %zu columns\n", label, (long long)json_integer_value(json_object_get(fr, "n_rows")),
         json_string_value(json_object_get(fr, "index_name")) ? json_string_value(json_object_get(fr, "index_name"))
                                                              : "-",
         json_array_size(cols));
  size_t i;
  json_t *c;
  json_array_foreach(cols, i, c) {
    printf("  %-28s %-12s %-10s", json_string_value(json_object_get(c, "name")),
           json_string_value(json_object_get(c, "type")), json_string_value(json_object_get(c, "dtype")));
    json_t *cats = json_object_get(c, "categories");
    if (cats) {
      printf(" %zu categories:", json_array_size(cats));
      for (size_t k = 0; k < json_array_size(cats) && k < 6; k++)
        printf(" %s", json_string_value(json_array_get(cats, k)));
      if (json_array_size(cats) > 6) printf(" ...");
    }
    putchar('\n');
  }
}

static void print_matrix(const char *label, json_t *m) {
  if (!m) return;
  printf("%s: %s", label, json_string_value(json_object_get(m, "format")));
  if (strcmp(json_string_value(json_object_get(m, "format")), "absent") != 0)
    printf(" %s, %lld x %lld, nnz %lld", json_string_value(json_object_get(m, "dtype")),
           (long long)json_integer_value(json_object_get(m, "n_rows")),
           (long long)json_integer_value(json_object_get(m, "n_cols")),
           (long long)json_integer_value(json_object_get(m, "nnz")));
  json_t *c = json_object_get(m, "compression");
  if (c) printf(", %s", json_string_value(c));
  putchar('\n');
}

static void print_text(json_t *r) {
  const char *kind = json_string_value(json_object_get(r, "kind"));
  printf("%s (%s", json_string_value(json_object_get(r, "path")), kind);
  if (json_object_get(r, "era")) printf(", anndata layout %s", json_string_value(json_object_get(r, "era")));
  if (json_object_get(r, "bundle_id")) printf(", id %s", json_string_value(json_object_get(r, "bundle_id")));
  printf(")\nn_obs %lld, n_vars %lld\n", (long long)json_integer_value(json_object_get(r, "n_obs")),
         (long long)json_integer_value(json_object_get(r, "n_vars")));
  print_matrix("X", json_object_get(r, "X"));
  print_matrix("raw.X", json_object_get(json_object_get(r, "raw"), "matrix"));
  const char *name;
  json_t *v;
  json_object_foreach(json_object_get(r, "layers"), name, v) print_matrix(name, v);
  print_frame("obs", json_object_get(r, "obs"));
  print_frame("var", json_object_get(r, "var"));
  size_t i;
  json_array_foreach(json_object_get(r, "embeddings"), i, v) {
    json_t *sh = json_object_get(v, "shape");
    printf("embedding %s: %lld x %lld\n", json_string_value(json_object_get(v, "name")),
           (long long)json_integer_value(json_array_get(sh, 0)), (long long)json_integer_value(json_array_get(sh, 1)));
  }
  json_t *uns = json_object_get(r, "uns");
  if (json_string_value(json_object_get(uns, "title")))
    printf("title: %s\n", json_string_value(json_object_get(uns, "title")));
  json_array_foreach(json_object_get(r, "warnings"), i, v) printf("warning: %s\n", json_string_value(v));
}

int cg_cmd_inspect(int argc, char **argv) {
  if (cg_cli_wants_help(argc, argv)) return fputs(usage, stdout), 0;
  const char *path = NULL;
  int as_json = 0, checksum = 0, verify = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) as_json = 1;
    else if (strcmp(argv[i], "--checksum") == 0) checksum = 1;
    else if (strcmp(argv[i], "--verify") == 0) verify = 1;
    else if (argv[i][0] == '-') return fprintf(stderr, "cellgate inspect: unknown option '%s'\n%s", argv[i], usage), 2;
    else if (path) return fprintf(stderr, "cellgate inspect: one FILE only\n%s", usage), 2;
    else path = argv[i];
  }
  if (!path) return fprintf(stderr, "cellgate inspect: FILE missing\n%s", usage), 2;
  cg_err err = {0};
  json_t *r = is_hdf5(path) ? cg_inspect_h5ad(path, checksum, &err) : cg_inspect_bundle(path, checksum, verify, &err);
  if (!r) {
    fprintf(stderr, "cellgate inspect: %s: %s\n", path, err.msg[0] ? err.msg : cg_strerror(err.code));
    return 1;
  }
  if (as_json) {
    json_dumpf(r, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    putchar('\n');
  } else print_text(r);
  json_decref(r);
  return 0;
}
