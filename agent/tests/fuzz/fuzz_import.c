// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for everything `import` does with untrusted text: the
 * offwaketime parser, classification (default rules, and the input itself
 * tried as a rules file), and all three report formats. Built by
 * `make -C agent fuzz`; run with tests/fuzz/run. The kept corpus is replayed
 * without libFuzzer by tests/unit/test_offwaketime.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "edge.h"
#include "intern.h"
#include "offwaketime.h"
#include "report.h"

/* Invariants the callers rely on; a violation is a bug like a crash. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
			abort();                                               \
		}                                                              \
	} while (0)

static void check_edge(const struct wf_edge *e)
{
	CHECK(e->category >= 0 && e->category < WF_CAT__COUNT);
	CHECK(e->role >= 0 && e->role < WF_ROLE__COUNT);
	CHECK(e->context >= WF_CTX_NONE && e->context <= WF_CTX_UNKNOWN);
	CHECK(memchr(e->waker.comm, '\0', WF_COMM_LEN) && memchr(e->target.comm, '\0', WF_COMM_LEN));
	for (int i = 0; i < e->waker_stack.nframes; i++)
		CHECK(e->waker_stack.frames[i] != NULL);
	for (int i = 0; i < e->target_stack.nframes; i++)
		CHECK(e->target_stack.frames[i] != NULL);
	CHECK(e->waker_stack.nkernel <= e->waker_stack.nframes);
	CHECK(e->target_stack.nkernel <= e->target_stack.nframes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wf_rules *defaults;
	static FILE *sink;
	struct wf_edge_list edges = { 0 };
	struct wf_rules *custom;
	char err[512], *text;
	int n;

	if (!defaults) {
		defaults = rules_load_default(err, sizeof(err));
		sink = fopen("/dev/null", "w");
		CHECK(defaults && sink);
	}

	n = owt_parse((const char *)data, size, "fuzz", &edges, err, sizeof(err));
	if (n < 0) {
		/* One line, naming the input and a line number. */
		CHECK(!strncmp(err, "fuzz:", 5) && !strchr(err, '\n'));
	} else {
		CHECK((size_t)n == edges.len);
	}
	for (size_t i = 0; i < edges.len; i++) {
		classify_edge(defaults, &edges.items[i]);
		check_edge(&edges.items[i]);
	}
	CHECK(report_write(sink, WF_FORMAT_TEXT, &edges, NULL) == 0);
	CHECK(report_write(sink, WF_FORMAT_FOLDED, &edges, NULL) == 0);
	CHECK(report_write(sink, WF_FORMAT_JSON, &edges, NULL) == 0);

	/* The same bytes as a rules file: most fail on line 1, the seeded
	 * rules files mutate into the rest of the grammar. */
	text = malloc(size + 1);
	CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	custom = rules_load_string(text, "fuzz.rules", err, sizeof(err));
	free(text);
	if (custom) {
		for (size_t i = 0; i < edges.len; i++) {
			edges.items[i].context = WF_CTX_UNKNOWN;
			classify_edge(custom, &edges.items[i]);
			check_edge(&edges.items[i]);
		}
		rules_free(custom);
	} else {
		CHECK(!strncmp(err, "fuzz.rules", 10) && !strchr(err, '\n'));
	}

	edge_list_free(&edges);
	/* Frame names are interned for the process's life; a fuzzing run
	 * would otherwise grow without bound. */
	intern_reset();
	return 0;
}
