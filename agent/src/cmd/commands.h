/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's subcommands. Each parses its own arguments (argv[0] is the
 * subcommand name), prints one-line "wakeflow-agent: ..." errors on stderr
 * and returns the process exit status: 0 ok, 1 runtime failure, 2 usage.
 */
#ifndef WAKEFLOW_COMMANDS_H
#define WAKEFLOW_COMMANDS_H

int cmd_import(int argc, char **argv); /* cmd_import.c: classify BCC offwaketime captures */
int cmd_record(int argc, char **argv); /* cmd_record.c: trace live, print a report */
int cmd_serve(int argc, char **argv);  /* cmd_serve.c: the node-local daemon */

#endif
