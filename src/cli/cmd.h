/* cmd.h — the subcommands of build/cellgate. Each cg_cmd_<name> takes the arguments after the subcommand
 * name (argv[0] is the subcommand) and returns the process exit code: 0 success, 1 failure of the work,
 * 2 usage error. Subcommands print their own --help. */
#ifndef CG_CLI_CMD_H
#define CG_CLI_CMD_H

#ifndef CG_VERSION
#define CG_VERSION "0.1.0" /* the one version string of the binary */
#endif

int cg_cmd_ingest(int argc, char **argv);
int cg_cmd_inspect(int argc, char **argv);
int cg_cmd_synth(int argc, char **argv);
int cg_cmd_explorer(int argc, char **argv);
int cg_cmd_diffexp(int argc, char **argv);

/* Shared helper: true if argv has -h or --help. */
int cg_cli_wants_help(int argc, char **argv);

#endif
