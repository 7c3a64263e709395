/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve's command line (serve_flags.c): what the flags ask for, checked for
 * form only; cmd_serve.c checks what they mean and runs the daemon.
 */
#ifndef WAKEFLOW_SERVE_FLAGS_H
#define WAKEFLOW_SERVE_FLAGS_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "store.h"

/* What the command line asks for, checked for form (not yet for meaning). */
struct serve_flags {
	struct capture_opts copts;
	struct wf_store_opts sopts;
	const char *listen, *db, *cgroup, *token_file, *rules_file, *proc_root, *cgroup_root;
	long window_s;
	int64_t retention_ms;
	double bench_hours; /* > 0: --bench-fill, not the daemon */
	bool insecure;
};

/* Prints "wakeflow-agent: <fmt with arg>; try ... --help" on stderr; returns 2 (usage). */
int serve_usage_error(const char *fmt, const char *arg);

/* Fills f from argv; -1 to go on, else the exit status (--help: 0, bad usage: 2). */
int parse_serve_flags(int argc, char **argv, struct serve_flags *f);

#endif
