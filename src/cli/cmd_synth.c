/* cmd_synth.c — placeholder while the module behind it is being written in this session. */
#include <stdio.h>

#include "cli/cmd.h"

int cg_cmd_synth(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "cellgate synth: unavailable in this build\n");
  return 1;
}
