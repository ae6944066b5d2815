/* cmd_ingest.c — placeholder while the module behind it is being written in this session. */
#include <stdio.h>

#include "cli/cmd.h"

int cg_cmd_ingest(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cellgate ingest: unavailable in this build\n");
  return 1;
}
