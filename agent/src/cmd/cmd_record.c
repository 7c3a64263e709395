// SPDX-License-Identifier: Apache-2.0
/*
 * `wakeflow-agent record`: traces the selected processes live for a while
 * (or until SIGINT/SIGTERM), then classifies what was recorded and prints
 * one report. Plumbing only: capture.c records, classify.c classifies,
 * report.c writes.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "classify.h"
#include "commands.h"
#include "report.h"
#include "targets.h"

static const char usage[] =
	"usage: wakeflow-agent record (--pid PID | --comm REGEX)... [OPTIONS]\n"
	"\n"
	"Traces every off-CPU interval of the threads of the selected processes\n"
	"with its waker, then prints a classified report.\n"
	"\n"
	"  -p, --pid PID           trace this process (repeatable)\n"
	"  -c, --comm REGEX        trace processes whose name matches this POSIX\n"
	"                          extended regex, including ones started later\n"
	"  -d, --duration SECONDS  stop after this long (default: at Ctrl-C)\n"
	"      --stacks MODE       'sampled' (default: every event counted and\n"
	"                          classified, stacks sampled per edge) or 'full'\n"
	"                          (every event carries full stacks)\n"
	"      --long-block-ms MS  sampled mode: blocks this long always get full\n"
	"                          stacks and an edge of their own (default 10)\n"
	"      --sample-ms MS      sampled mode: re-walk an edge's stacks at most\n"
	"                          this often (default 1000)\n"
	"  -f, --format FORMAT     text (default), folded or json\n"
	"      --rules FILE        classification rules instead of the built-in ones\n"
	"      --top N             text: print stacks of the N largest edges (default 20, 0 = all)\n"
	"  -v, --verbose           libbpf debug output\n"
	"  -h, --help              this help\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int bad_usage(const char *fmt, const char *arg)
{
	fputs("wakeflow-agent: record: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("; try 'wakeflow-agent record --help'\n", stderr);
	return 2;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Largest off-CPU time first, so reports and tests see the dominant edges first. */
static int by_offcpu_desc(const void *a, const void *b)
{
	const struct wf_edge *x = a, *y = b;

	if (x->offcpu_ns != y->offcpu_ns)
		return x->offcpu_ns < y->offcpu_ns ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return 0;
}

int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "stacks", required_argument, NULL, 'S' },
		{ "long-block-ms", required_argument, NULL, 'L' },
		{ "sample-ms", required_argument, NULL, 'P' },
		{ "format", required_argument, NULL, 'f' },
		{ "rules", required_argument, NULL, 'r' },
		{ "top", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct capture_opts opts = { 0 };
	enum wf_format format = WF_FORMAT_TEXT;
	const char *rules_path = NULL;
	double duration = 0;
	uint32_t top = 20;
	struct wf_rules *rules = NULL;
	struct capture *cap = NULL;
	struct wf_edge_list edges = { 0 };
	struct capture_stats st;
	struct sigaction sa = { 0 };
	char err[512], what[512];
	double t0;
	int opt, status = 1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":p:c:d:f:vh", longopts, NULL)) != -1) {
		uint32_t u;

		switch (opt) {
		case 'p':
			if (!parse_u32(optarg, INT32_MAX, &u) || !u)
				return bad_usage("--pid needs a process id, got '%s'", optarg);
			if (opts.npids == CAPTURE_MAX_PIDS)
				return bad_usage("too many --pid (at most %s)", "64");
			opts.pids[opts.npids++] = (int32_t)u;
			break;
		case 'c':
			if (!optarg[0])
				return bad_usage("--comm needs a regex%s", "");
			if (opts.ncomm == CAPTURE_MAX_COMMS)
				return bad_usage("too many --comm (at most %s)", "8");
			opts.comm_regex[opts.ncomm++] = optarg;
			break;
		case 'd': {
			char *end;

			errno = 0;
			duration = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(duration) || duration <= 0 || duration > 1e7)
				return bad_usage("--duration needs a positive number of seconds, got '%s'", optarg);
			break;
		}
		case 'S':
			if (!strcmp(optarg, "full"))
				opts.stacks_full = true;
			else if (!strcmp(optarg, "sampled") || !strcmp(optarg, "default"))
				opts.stacks_full = false;
			else
				return bad_usage("--stacks must be 'full' or 'sampled', got '%s'", optarg);
			break;
		case 'L':
			if (!parse_u32(optarg, 3600000, &u) || !u)
				return bad_usage("--long-block-ms needs a positive number of milliseconds, got '%s'", optarg);
			opts.long_block_ms = u;
			break;
		case 'P':
			if (!parse_u32(optarg, 3600000, &u) || !u)
				return bad_usage("--sample-ms needs a positive number of milliseconds, got '%s'", optarg);
			opts.sample_period_ms = u;
			break;
		case 'f':
			if (report_parse_format(optarg, &format))
				return bad_usage("--format must be text, folded or json, got '%s'", optarg);
			break;
		case 'r':
			rules_path = optarg;
			break;
		case 't':
			if (!parse_u32(optarg, 1000000, &u))
				return bad_usage("--top needs a number, got '%s'", optarg);
			top = u;
			break;
		case 'v':
			opts.verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return bad_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	if (!opts.npids && !opts.ncomm)
		return bad_usage("nothing to trace: give --pid PID or --comm REGEX%s", "");

	rules = rules_path ? rules_load_file(rules_path, err, sizeof(err)) : rules_load_default(err, sizeof(err));
	if (!rules) {
		fprintf(stderr, "wakeflow-agent: %s\n", err);
		return 2;
	}

	{
		/* Bad regexes and pids that do not exist are argument errors (2),
		 * found before anything is loaded. */
		struct targets *t = targets_new(NULL, opts.pids, opts.npids, opts.comm_regex, opts.ncomm, err, sizeof(err));

		if (!t) {
			fprintf(stderr, "wakeflow-agent: record: %s\n", err);
			rules_free(rules);
			return 2;
		}
		targets_describe(t, what, sizeof(what));
		targets_free(t);
	}

	sa.sa_handler = on_signal; /* no SA_RESTART: the poll returns at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	cap = capture_open(&opts, err, sizeof(err));
	if (!cap) {
		fprintf(stderr, "wakeflow-agent: %s\n", err);
		goto out;
	}
	capture_get_stats(cap, &st);
	if (duration > 0)
		fprintf(stderr, "wakeflow-agent: recording %s for %g s (%s stacks, %s); Ctrl-C to stop early\n", what,
			duration, opts.stacks_full ? "full" : "sampled", st.attach_mode);
	else
		fprintf(stderr, "wakeflow-agent: recording %s (%s stacks, %s); Ctrl-C to stop\n", what,
			opts.stacks_full ? "full" : "sampled", st.attach_mode);

	t0 = mono_s();
	while (!stop) {
		double left = duration > 0 ? duration - (mono_s() - t0) : 1.0;
		int ms = left > 0.2 ? 200 : (int)(left * 1000);

		if (left <= 0)
			break;
		if (capture_poll(cap, ms < 1 ? 1 : ms)) {
			fprintf(stderr, "wakeflow-agent: failed to follow the traced processes: %s\n", strerror(errno));
			break;
		}
	}

	if (capture_drain(cap, &edges, NULL))
		fprintf(stderr, "wakeflow-agent: warning: part of the recording could not be read\n");
	for (size_t i = 0; i < edges.len; i++)
		classify_edge(rules, &edges.items[i]);
	qsort(edges.items, edges.len, sizeof(edges.items[0]), by_offcpu_desc);
	capture_get_stats(cap, &st);
	{
		/* The capture's own loss counters, then two things a reader of one
		 * recording wants beside them. */
		struct wf_counter lost[CAPTURE_LOST_COUNTERS + 2], counts[CAPTURE_COUNTERS];
		struct wf_report_meta meta = { .lost = lost,
					       .nlost = CAPTURE_LOST_COUNTERS + 2,
					       .top = (int)top,
					       .kernel_stack_walker = st.unwinder,
					       .capture = counts,
					       .ncapture = CAPTURE_COUNTERS,
					       .rules = rules };

		capture_lost_counters(&st, lost);
		capture_counters(&st, counts);
		lost[CAPTURE_LOST_COUNTERS] = (struct wf_counter){ "wakeups_unseen", st.wakeups_unseen };
		lost[CAPTURE_LOST_COUNTERS + 1] = (struct wf_counter){ "symbolize_failures", st.symbolize_failures };

		/* An empty report alone leaves the user guessing. */
		if (!edges.len && !st.sched_attaches)
			fprintf(stderr,
				"wakeflow-agent: no process matched %s while recording: check the process name with "
				"'ps -eo pid,comm' (the kernel keeps its first 15 characters), or give --pid PID\n",
				what);
		else if (!edges.len)
			fprintf(stderr, "wakeflow-agent: %s never left the CPU while recording: record for longer, "
					"or under load\n", what);
		if (report_write(stdout, format, &edges, &meta) || fflush(stdout)) {
			fprintf(stderr, "wakeflow-agent: failed to write the report: %s\n", strerror(errno));
			goto out;
		}
	}
	if (opts.verbose)
		fprintf(stderr,
			"wakeflow-agent: %llu intervals, %zu edges, %llu stack walks, %llu user stacks from memo, attach %s; "
			"kernel stacks: %s walker, %llu ORC walks, %llu compared with the kernel's, %llu different; "
			"scheduler programs attached %llu times\n",
			(unsigned long long)st.events, edges.len, (unsigned long long)st.stacks_walked,
			(unsigned long long)st.ustack_memo_hits, st.attach_mode, st.unwinder, (unsigned long long)st.orc_walks,
			(unsigned long long)st.orc_checks, (unsigned long long)st.orc_mismatches,
			(unsigned long long)st.sched_attaches);
	status = 0;
out:
	edge_list_free(&edges);
	capture_close(cap);
	rules_free(rules);
	return status;
}
