// SPDX-License-Identifier: Apache-2.0
/*
 * `wakeflow-agent record`: traces the selected processes live for a while
 * (or until SIGINT/SIGTERM), then classifies what was recorded and prints
 * one report. Plumbing only: capture.c records, classify.c classifies,
 * report.c writes. Steps: parse_record_flags -> record_setup (rules,
 * selection, capture) -> record_loop -> record_report -> clean-up.
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
#include "chains.h"
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
	"      --chains N          links per wake chain: who woke the waker, N-1\n"
	"                          hops back (default 3, 1 = chains off, at most 4)\n"
	"      --chain-comm REGEX  chains also go through processes whose name\n"
	"                          matches (repeatable; the targets' pods always)\n"
	"  -f, --format FORMAT     text (default), folded or json\n"
	"      --rules FILE        classification rules instead of the built-in ones\n"
	"      --symbols DIR       separate symbol files by build-id for stripped\n"
	"                          binaries (DIR/.build-id/NN/REST.debug or a file\n"
	"                          named by the build-id; repeatable)\n"
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

/* ---- the command line ---- */

static const struct option record_longopts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "comm", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "stacks", required_argument, NULL, 'S' },
	{ "long-block-ms", required_argument, NULL, 'L' },
	{ "sample-ms", required_argument, NULL, 'P' },
	{ "chains", required_argument, NULL, 'C' },
	{ "chain-comm", required_argument, NULL, 'X' },
	{ "format", required_argument, NULL, 'f' },
	{ "rules", required_argument, NULL, 'r' },
	{ "symbols", required_argument, NULL, 's' },
	{ "top", required_argument, NULL, 't' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

struct record_flags {
	struct capture_opts opts;
	enum wf_format format;
	const char *rules_path;
	double duration; /* seconds; 0: until SIGINT/SIGTERM */
	uint32_t top;
};

/* One option with a value; -1 if taken, else the exit status. */
static int record_flag(struct record_flags *f, int opt, const char *arg)
{
	struct capture_opts *o = &f->opts;
	char *end, err[256];
	uint32_t u;

	switch (opt) {
	case 'p':
		if (!parse_u32(arg, INT32_MAX, &u) || !u)
			return bad_usage("--pid needs a process id, got '%s'", arg);
		if (o->npids == CAPTURE_MAX_PIDS)
			return bad_usage("too many --pid (at most %s)", "64");
		o->pids[o->npids++] = (int32_t)u;
		break;
	case 'c':
		if (!arg[0])
			return bad_usage("--comm needs a regex%s", "");
		if (o->ncomm == CAPTURE_MAX_COMMS)
			return bad_usage("too many --comm (at most %s)", "8");
		o->comm_regex[o->ncomm++] = arg;
		break;
	case 'd':
		errno = 0;
		f->duration = strtod(arg, &end);
		if (errno || end == arg || *end || !isfinite(f->duration) || f->duration <= 0 || f->duration > 1e7)
			return bad_usage("--duration needs a positive number of seconds, got '%s'", arg);
		break;
	case 'S':
		if (!strcmp(arg, "full"))
			o->stacks_full = true;
		else if (!strcmp(arg, "sampled") || !strcmp(arg, "default"))
			o->stacks_full = false;
		else
			return bad_usage("--stacks must be 'full' or 'sampled', got '%s'", arg);
		break;
	case 'L':
		if (!parse_u32(arg, 3600000, &u) || !u)
			return bad_usage("--long-block-ms needs a positive number of milliseconds, got '%s'", arg);
		o->long_block_ms = u;
		break;
	case 'P':
		if (!parse_u32(arg, 3600000, &u) || !u)
			return bad_usage("--sample-ms needs a positive number of milliseconds, got '%s'", arg);
		o->sample_period_ms = u;
		break;
	case 'C':
		if (capture_parse_chains(arg, &o->chains, err, sizeof(err)))
			return bad_usage("%s", err);
		break;
	case 'X':
		if (capture_check_chain_comm(arg, err, sizeof(err)))
			return bad_usage("%s", err);
		if (o->nchain_comm == CAPTURE_MAX_COMMS)
			return bad_usage("too many --chain-comm (at most %s)", "8");
		o->chain_comm[o->nchain_comm++] = arg;
		break;
	case 'f':
		if (report_parse_format(arg, &f->format))
			return bad_usage("--format must be text, folded or json, got '%s'", arg);
		break;
	case 'r':
		f->rules_path = arg;
		break;
	case 's': {
		char err[PATH_MAX + 128];

		if (capture_opts_add_symbols(o, arg, err, sizeof(err)))
			return bad_usage("%s", err);
		break;
	}
	case 't':
		if (!parse_u32(arg, 1000000, &u))
			return bad_usage("--top needs a number, got '%s'", arg);
		f->top = u;
		break;
	}
	return -1;
}

/* Fills f from argv; -1 to go on, else the exit status (--help: 0, bad usage: 2). */
static int parse_record_flags(int argc, char **argv, struct record_flags *f)
{
	int opt, rc;

	*f = (struct record_flags){ .format = WF_FORMAT_TEXT, .top = 20 };
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":p:c:d:f:vh", record_longopts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			f->opts.verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return bad_usage("option '%s' needs a value", argv[optind - 1]);
		case '?':
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		default:
			if ((rc = record_flag(f, opt, optarg)) >= 0)
				return rc;
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	if (!f->opts.npids && !f->opts.ncomm)
		return bad_usage("nothing to trace: give --pid PID or --comm REGEX%s", "");
	return -1;
}

/* ---- set-up, loop, report ---- */

struct record {
	struct wf_rules *rules;
	struct wf_capture *cap;
	struct wf_edge_list edges;
	struct wf_chain_list chains;
	char what[512]; /* the selection, for messages: "processes named ^envoy$" */
};

/*
 * Rules, then the selection (bad regexes and pids that do not exist are
 * argument errors, 2, found before anything is loaded), then the capture.
 * Returns 0 or the exit status with the error printed.
 */
static int record_setup(const struct record_flags *f, struct record *r)
{
	struct sigaction sa = { 0 };
	struct capture_stats st;
	struct wf_targets *t;
	char err[512];

	r->rules = f->rules_path ? rules_load_file(f->rules_path, err, sizeof(err)) : rules_load_default(err, sizeof(err));
	if (!r->rules) {
		fprintf(stderr, "wakeflow-agent: %s\n", err);
		return 2;
	}
	t = targets_new(NULL, f->opts.pids, f->opts.npids, f->opts.comm_regex, f->opts.ncomm, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "wakeflow-agent: record: %s\n", err);
		return 2;
	}
	targets_describe(t, r->what, sizeof(r->what));
	targets_free(t);

	sa.sa_handler = on_signal; /* no SA_RESTART: the poll returns at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	r->cap = capture_open(&f->opts, err, sizeof(err));
	if (!r->cap) {
		fprintf(stderr, "wakeflow-agent: %s\n", err);
		return 1;
	}
	capture_get_stats(r->cap, &st);
	if (f->duration > 0)
		fprintf(stderr, "wakeflow-agent: recording %s for %g s (%s stacks, %s); Ctrl-C to stop early\n", r->what,
			f->duration, f->opts.stacks_full ? "full" : "sampled", st.attach_mode);
	else
		fprintf(stderr, "wakeflow-agent: recording %s (%s stacks, %s); Ctrl-C to stop\n", r->what,
			f->opts.stacks_full ? "full" : "sampled", st.attach_mode);
	return 0;
}

/* Follows the traced processes until --duration is up or a signal comes. */
static void record_loop(const struct record_flags *f, struct record *r)
{
	double t0 = mono_s();

	while (!stop) {
		double left = f->duration > 0 ? f->duration - (mono_s() - t0) : 1.0;
		int ms = left > 0.2 ? 200 : (int)(left * 1000);

		if (left <= 0)
			break;
		if (capture_poll(r->cap, ms < 1 ? 1 : ms)) {
			fprintf(stderr, "wakeflow-agent: failed to follow the traced processes: %s\n", strerror(errno));
			break;
		}
	}
}

/* Drains, classifies and writes the one report; 0 or 1 (the report could not be written). */
static int record_report(const struct record_flags *f, struct record *r)
{
	struct wf_edge_list *edges = &r->edges;
	/* The capture's own loss counters, then two things a reader of one
	 * recording wants beside them. */
	struct wf_counter lost[CAPTURE_LOST_COUNTERS + 3], counts[CAPTURE_COUNTERS];
	struct capture_stats st;
	struct wf_report_meta meta = { .lost = lost,
				       .nlost = CAPTURE_LOST_COUNTERS + 2,
				       .top = (int)f->top,
				       .capture = counts,
				       .ncapture = CAPTURE_COUNTERS,
				       .rules = r->rules };

	if (capture_drain(r->cap, edges, NULL) || capture_drain_chains(r->cap, &r->chains))
		fprintf(stderr, "wakeflow-agent: warning: part of the recording could not be read\n");
	for (size_t i = 0; i < edges->len; i++)
		classify_edge(r->rules, &edges->items[i]);
	chains_classify(r->rules, &r->chains);
	qsort(edges->items, edges->len, sizeof(edges->items[0]), by_offcpu_desc);
	capture_get_stats(r->cap, &st);
	meta.kernel_stack_walker = st.unwinder;
	capture_lost_counters(&st, lost);
	capture_counters(&st, counts);
	lost[CAPTURE_LOST_COUNTERS] = (struct wf_counter){ "wakeups_unseen", st.wakeups_unseen };
	lost[CAPTURE_LOST_COUNTERS + 1] = (struct wf_counter){ "symbolize_failures", st.symbolize_failures };
	if (st.chain_links > 1) {
		/* Chains on (docs/chains.md): "chains" is written, even empty. */
		lost[meta.nlost++] = (struct wf_counter){ "chains_dropped", st.chains_dropped };
		meta.chains = &r->chains;
	}

	/* An empty report alone leaves the user guessing. */
	if (!edges->len && !st.sched_attaches)
		fprintf(stderr,
			"wakeflow-agent: no process matched %s while recording: check the process name with "
			"'ps -eo pid,comm' (the kernel keeps its first 15 characters), or give --pid PID\n",
			r->what);
	else if (!edges->len)
		fprintf(stderr, "wakeflow-agent: %s never left the CPU while recording: record for longer, "
				"or under load\n", r->what);
	if (report_write(stdout, f->format, edges, &meta) || fflush(stdout)) {
		fprintf(stderr, "wakeflow-agent: failed to write the report: %s\n", strerror(errno));
		return 1;
	}
	if (f->opts.verbose)
		fprintf(stderr,
			"wakeflow-agent: %llu intervals, %zu edges, %llu stack walks, %llu user stacks from memo, attach %s; "
			"kernel stacks: %s walker, %llu ORC walks, %llu compared with the kernel's, %llu different; "
			"scheduler programs attached %llu times\n",
			(unsigned long long)st.events, edges->len, (unsigned long long)st.stacks_walked,
			(unsigned long long)st.ustack_memo_hits, st.attach_mode, st.unwinder, (unsigned long long)st.orc_walks,
			(unsigned long long)st.orc_checks, (unsigned long long)st.orc_mismatches,
			(unsigned long long)st.sched_attaches);
	return 0;
}

int cmd_record(int argc, char **argv)
{
	struct record_flags f;
	struct record r = { 0 };
	int status;

	if ((status = parse_record_flags(argc, argv, &f)) >= 0)
		return status;
	status = record_setup(&f, &r);
	if (!status) {
		record_loop(&f, &r);
		status = record_report(&f, &r);
	}
	edge_list_free(&r.edges);
	chain_list_free(&r.chains);
	capture_close(r.cap);
	rules_free(r.rules);
	return status;
}
