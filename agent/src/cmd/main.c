// SPDX-License-Identifier: Apache-2.0
/* wakeflow-agent: dispatches to a subcommand (commands.h). */
#include <stdio.h>
#include <string.h>

#include "commands.h"

#ifndef WAKEFLOW_VERSION
#define WAKEFLOW_VERSION "dev"
#endif

static const char usage[] =
	"usage: wakeflow-agent COMMAND [OPTIONS]\n"
	"\n"
	"Shows who wakes Envoy: records every off-CPU interval of the selected\n"
	"threads with its waker, classifies it and reports or serves it.\n"
	"\n"
	"commands:\n"
	"  record   trace live processes and print a classified report\n"
	"  import   classify BCC offwaketime output (default or folded)\n"
	"  serve    run the node-local daemon (history, HTTP API, metrics)\n"
	"\n"
	"Run 'wakeflow-agent COMMAND --help' for a command's options.\n";

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("wakeflow-agent %s\n", WAKEFLOW_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "import"))
		return cmd_import(argc - 1, argv + 1);
	if (!strcmp(cmd, "record"))
		return cmd_record(argc - 1, argv + 1);
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc - 1, argv + 1);
	fprintf(stderr, "wakeflow-agent: unknown command '%s'; try 'wakeflow-agent --help'\n", cmd);
	return 2;
}
