// SPDX-License-Identifier: Apache-2.0
/* serve's command line (serve_flags.h): --help, the options, their form. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logging.h"
#include "serve_flags.h"

#define DEFAULT_DB "/var/lib/wakeflow/wakeflow.db"
#define DEFAULT_COMM "^envoy$"
#define DEFAULT_WINDOW_S 10
#define DEFAULT_RETENTION_S (24 * 3600)
/* Windows themselves are kept this long, minutes beyond (docs/api.md). */
#define FINE_RETENTION_S (3 * 3600)

static const char usage[] =
	"usage: wakeflow-agent serve [OPTIONS]\n"
	"\n"
	"Runs the node-local daemon: traces the selected processes continuously,\n"
	"keeps their classified wake events in a store and serves them over HTTP\n"
	"(JSON API and Prometheus metrics; see docs/api.md).\n"
	"\n"
	"  --listen ADDR:PORT   where to serve (default 127.0.0.1:9781)\n"
	"  --db PATH            the SQLite store (default " DEFAULT_DB ")\n"
	"  --comm REGEX         trace processes whose name matches (repeatable;\n"
	"                       default '" DEFAULT_COMM "' unless --pid is given)\n"
	"  --pid PID            trace this process (repeatable)\n"
	"  --cgroup REGEX       only targets whose cgroup path matches\n"
	"  --token-file FILE    require 'Authorization: Bearer <token>' (all but\n"
	"                       /healthz); the file must not be readable by others\n"
	"  --insecure-no-token  allow a --listen address beyond loopback without\n"
	"                       a token (anyone who can connect reads the history)\n"
	"  --retention DURATION history kept, e.g. 24h, 90m, 7d (default 24h)\n"
	"  --window SECONDS     aggregation window, a divisor of 60 (default 10)\n"
	"  --rules FILE         classification rules instead of the built-in ones\n"
	"  --proc-root DIR      the host's procfs (default /proc; a pod without\n"
	"                       hostPID mounts it elsewhere, e.g. /host/proc)\n"
	"  --cgroup-root DIR    the host's cgroup tree (default /sys/fs/cgroup)\n"
	"  --symbols DIR        separate symbol files by build-id for stripped\n"
	"                       binaries (DIR/.build-id/NN/REST.debug or a file\n"
	"                       named by the build-id; repeatable)\n"
	"  --chains N           links per wake chain: who woke the waker, N-1 hops\n"
	"                       back (default 3, 1 = chains off, at most 4)\n"
	"  --chain-comm REGEX   chains also go through processes whose name\n"
	"                       matches (repeatable; the targets' pods always)\n"
	"  -v, --verbose        debug log (and libbpf's)\n"
	"  -h, --help           this help\n";

/* "90", "90s", "15m", "24h", "7d" -> milliseconds; -1 if malformed. */
static int64_t parse_duration(const char *s)
{
	char *end;
	long long v;
	int64_t unit = 1000;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -1;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		unit = 1000;
	else if (!strcmp(end, "m"))
		unit = 60 * 1000;
	else if (!strcmp(end, "h"))
		unit = 3600 * 1000;
	else if (!strcmp(end, "d"))
		unit = 24 * 3600 * 1000LL;
	else
		return -1;
	if (v > 3650LL * 24 * 3600 * 1000 / unit)
		return -1;
	return v * unit;
}

/* ---- the command line ---- */

enum { OPT_LISTEN = 256, OPT_DB, OPT_COMM, OPT_PID, OPT_CGROUP, OPT_TOKEN, OPT_RETENTION, OPT_WINDOW,
       OPT_RULES, OPT_PROC_ROOT, OPT_CGROUP_ROOT, OPT_BENCH_FILL, OPT_INSECURE, OPT_SYMBOLS, OPT_CHAINS,
       OPT_CHAIN_COMM };

static const struct option serve_longopts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "db", required_argument, NULL, OPT_DB },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "token-file", required_argument, NULL, OPT_TOKEN },
	{ "retention", required_argument, NULL, OPT_RETENTION },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "proc-root", required_argument, NULL, OPT_PROC_ROOT },
	{ "cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT },
	{ "symbols", required_argument, NULL, OPT_SYMBOLS },
	{ "insecure-no-token", no_argument, NULL, OPT_INSECURE },
	{ "chains", required_argument, NULL, OPT_CHAINS },
	{ "chain-comm", required_argument, NULL, OPT_CHAIN_COMM },
	/* Not in --help: fills a store with synthetic windows for
	 * agent/bench/bench-store (benchfill.c); cmd_serve hands it over
	 * before the daemon sets anything up. */
	{ "bench-fill", required_argument, NULL, OPT_BENCH_FILL },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};



int serve_usage_error(const char *fmt, const char *arg)
{
	fputs("wakeflow-agent: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("; try 'wakeflow-agent serve --help'\n", stderr);
	return 2;
}

/* One option with a value (or --insecure-no-token); -1 if taken, else the exit status.
 * One case per option, in --help order: a switch that reads as the flag table. */
static int serve_flag(struct serve_flags *f, int opt, const char *arg)
{
	struct capture_opts *c = &f->copts;
	char *end, err[256];
	long v;

	switch (opt) {
	case OPT_LISTEN:
		f->listen = arg;
		break;
	case OPT_DB:
		f->db = arg;
		break;
	case OPT_CGROUP:
		f->cgroup = arg;
		break;
	case OPT_TOKEN:
		f->token_file = arg;
		break;
	case OPT_RULES:
		f->rules_file = arg;
		break;
	case OPT_PROC_ROOT:
		f->proc_root = arg;
		break;
	case OPT_CGROUP_ROOT:
		f->cgroup_root = arg;
		break;
	case OPT_INSECURE:
		f->insecure = true;
		break;
	case OPT_SYMBOLS: {
		char err[PATH_MAX + 128];

		if (capture_opts_add_symbols(c, arg, err, sizeof(err)))
			return serve_usage_error("%s", err);
		break;
	}
	case OPT_CHAINS:
		if (capture_parse_chains(arg, &c->chains, err, sizeof(err)))
			return serve_usage_error("%s", err);
		break;
	case OPT_CHAIN_COMM:
		if (capture_check_chain_comm(arg, err, sizeof(err)))
			return serve_usage_error("%s", err);
		if (c->nchain_comm >= CAPTURE_MAX_COMMS)
			return serve_usage_error("at most %s --chain-comm options", "8");
		c->chain_comm[c->nchain_comm++] = arg;
		break;
	case OPT_COMM:
		if (c->ncomm >= CAPTURE_MAX_COMMS)
			return serve_usage_error("at most %s --comm options", "8");
		c->comm_regex[c->ncomm++] = arg;
		break;
	case OPT_PID:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v <= 0 || v > INT32_MAX)
			return serve_usage_error("--pid '%s' is not a process id", arg);
		if (c->npids >= CAPTURE_MAX_PIDS)
			return serve_usage_error("at most %s --pid options", "64");
		c->pids[c->npids++] = (int32_t)v;
		break;
	case OPT_RETENTION:
		f->retention_ms = parse_duration(arg);
		if (f->retention_ms < 60 * 1000)
			return serve_usage_error("--retention '%s' is not a duration of at least a minute (e.g. 24h, 90m, 7d)", arg);
		break;
	case OPT_WINDOW:
		errno = 0;
		f->window_s = strtol(arg, &end, 10);
		if (errno || end == arg || *end || f->window_s < 1 || f->window_s > 60 || 60 % f->window_s)
			return serve_usage_error("--window '%s' must be a number of seconds dividing 60: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60",
					   arg);
		break;
	case OPT_BENCH_FILL:
		f->bench_hours = strtod(arg, &end);
		if (end == arg || *end || !(f->bench_hours > 0 && f->bench_hours <= 24 * 31))
			return serve_usage_error("--bench-fill '%s' must be a number of hours", arg);
		break;
	}
	return -1;
}

int parse_serve_flags(int argc, char **argv, struct serve_flags *f)
{
	int opt, rc;

	*f = (struct serve_flags){ .listen = "127.0.0.1:9781", .db = DEFAULT_DB, .proc_root = "/proc",
				   .cgroup_root = "/sys/fs/cgroup", .window_s = DEFAULT_WINDOW_S,
				   .retention_ms = DEFAULT_RETENTION_S * 1000LL };
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vh", serve_longopts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			wf_log_set_level(WF_LOG_DEBUG);
			f->copts.verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return serve_usage_error("option '%s' needs a value", argv[optind - 1]);
		case '?':
			return serve_usage_error("unknown option '%s'", argv[optind - 1]);
		default:
			if ((rc = serve_flag(f, opt, optarg)) >= 0)
				return rc;
		}
	}
	if (optind < argc)
		return serve_usage_error("unexpected argument '%s'", argv[optind]);
	if (!f->copts.ncomm && !f->copts.npids)
		f->copts.comm_regex[f->copts.ncomm++] = DEFAULT_COMM;
	f->copts.proc_root = f->proc_root;
	f->sopts.path = f->db;
	f->sopts.retention_ms = f->retention_ms;
	f->sopts.fine_retention_ms =
		FINE_RETENTION_S * 1000LL < f->retention_ms ? FINE_RETENTION_S * 1000LL : f->retention_ms;
	return -1;
}
