/* main.c — build/cellgate: dispatches to one subcommand per file (cmd_<name>.c). */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"

#ifndef CG_VERSION
#define CG_VERSION "0.1.0"
#endif

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
    {"ingest", cg_cmd_ingest, "convert an .h5ad file into an immutable dataset bundle (.cgb)"},
    {"inspect", cg_cmd_inspect, "summarise an .h5ad file or a .cgb bundle (--json for machines)"},
    {"explorer", cg_cmd_explorer, "serve datasets over the cellxgene Explorer API (v0.2/v0.3)"},
    {"synth", cg_cmd_synth, "write a realistic synthetic .h5ad dataset (for benchmarks)"},
    {"diffexp", cg_cmd_diffexp, "differential expression between two cell sets of a bundle (JSON/CSV)"},
};

static void usage(FILE *out) {
  fprintf(out, "cellgate %s — single-cell data portal and explorer\n\n", CG_VERSION);
  fprintf(out, "usage: cellgate <command> [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n'cellgate <command> --help' describes one command.\n");
}

int cg_cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("cellgate %s\n", CG_VERSION);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "cellgate: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
