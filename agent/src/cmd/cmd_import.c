// SPDX-License-Identifier: Apache-2.0
/*
 * `wakeflow-agent import`: classify BCC offwaketime captures with the same
 * rules and reports as live recordings. Plumbing only: offwaketime.c parses,
 * classify.c classifies, report.c prints.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "commands.h"
#include "offwaketime.h"
#include "report.h"

static const char usage[] =
	"usage: wakeflow-agent import [--format json|text|folded] [--rules FILE] [--top N] FILE...\n"
	"\n"
	"Reads BCC offwaketime output (default or folded -f form; markdown and\n"
	"other annotation around the blocks is ignored), classifies every block\n"
	"and prints the report. FILE '-' reads standard input.\n"
	"\n"
	"  -f, --format FMT  text (default; like offwaketime plus the classification),\n"
	"                    folded (FlameGraph input) or json\n"
	"  -r, --rules FILE  classification rules replacing the built-in ones\n"
	"  -n, --top N       text: print only the N longest edges with stacks\n"
	"  -h, --help        this help\n";

static const struct option import_longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "rules", required_argument, NULL, 'r' },
	{ "top", required_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct import_flags {
	enum wf_format format;
	const char *rules_path;
	int top;
	int first_file; /* argv index of the first FILE */
};

/* Fills f from argv; -1 to go on, else the exit status (--help: 0, bad usage: 2). */
static int parse_import_flags(int argc, char **argv, struct import_flags *f)
{
	char *end;
	long v;
	int c;

	*f = (struct import_flags){ .format = WF_FORMAT_TEXT };
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:r:n:h", import_longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (report_parse_format(optarg, &f->format)) {
				fprintf(stderr, "wakeflow-agent: import: unknown format '%s' (json, text or folded)\n",
					optarg);
				return 2;
			}
			break;
		case 'r':
			f->rules_path = optarg;
			break;
		case 'n':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 0 || v > INT_MAX) {
				fprintf(stderr, "wakeflow-agent: import: --top wants a count, got '%s'\n", optarg);
				return 2;
			}
			f->top = (int)v;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			if (optopt && strchr("frn", optopt))
				fprintf(stderr, "wakeflow-agent: import: option -%c needs a value\n", optopt);
			else
				fprintf(stderr, "wakeflow-agent: import: unknown option '%s'; try 'wakeflow-agent import --help'\n",
					argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "wakeflow-agent: import: no input file; try 'wakeflow-agent import --help'\n");
		return 2;
	}
	f->first_file = optind;
	return -1;
}

/* Parses and classifies every file into edges; 0, or -1 with the error printed. */
static int import_files(const struct wf_rules *rules, char **files, int nfiles, struct wf_edge_list *edges)
{
	char err[512];

	for (int i = 0; i < nfiles; i++) {
		size_t before = edges->len;
		int n = owt_parse_file(files[i], edges, err, sizeof(err));

		if (n < 0) {
			fprintf(stderr, "wakeflow-agent: %s\n", err);
			return -1;
		}
		if (n == 0) {
			/* Almost certainly the wrong file: say so rather than
			 * print an empty report. */
			fprintf(stderr, "wakeflow-agent: %s: no offwaketime blocks found\n", files[i]);
			return -1;
		}
		for (size_t k = before; k < edges->len; k++)
			classify_edge(rules, &edges->items[k]);
	}
	return 0;
}

int cmd_import(int argc, char **argv)
{
	struct import_flags f;
	struct wf_edge_list edges = { 0 };
	struct wf_rules *rules;
	char err[512];
	int status;

	if ((status = parse_import_flags(argc, argv, &f)) >= 0)
		return status;
	rules = f.rules_path ? rules_load_file(f.rules_path, err, sizeof(err)) : rules_load_default(err, sizeof(err));
	if (!rules) {
		fprintf(stderr, "wakeflow-agent: %s\n", err);
		return 1;
	}
	status = 1;
	if (import_files(rules, argv + f.first_file, argc - f.first_file, &edges) == 0) {
		struct wf_report_meta meta = { .top = f.top, .rules = rules };

		if (report_write(stdout, f.format, &edges, &meta))
			fprintf(stderr, "wakeflow-agent: import: failed to write the report: %s\n", strerror(errno));
		else
			status = 0;
	}
	edge_list_free(&edges);
	rules_free(rules);
	return status;
}
