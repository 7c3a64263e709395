// SPDX-License-Identifier: Apache-2.0
/*
 * edge_blocks: the edges' sums per block of rolled-up minutes, in the cases
 * of minute_blocks_cases.h; an answer compared row by row and field by
 * field, every sort key, limits and filters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "edge_blocks.h"
#include "history.h"
#include "minute_blocks_cases.h"
#include "query.h"
#include "series.h"

/* The edges answer as text: matched, then each row's every number. */
static size_t answer(struct wf_history *h, int64_t from, int64_t to, int64_t now, const char *extra, char *out,
		     size_t len)
{
	char qs[256], err[128];
	struct wf_query q;
	struct wf_answer_info info;
	struct wf_edges_acc *a;
	const struct wf_edge_row *row;
	size_t n, rows = 0;

	snprintf(qs, sizeof(qs), "from=%lld&to=%lld%s%s", (long long)from, (long long)to,
		 strstr(extra, "limit=") ? "" : "&limit=1000", extra);
	assert_int_equal(query_parse(WF_EP_EDGES, qs, strlen(qs), now, &q, err, sizeof(err)), 0);
	a = history_edges(h, &q, now, &info);
	assert_non_null(a);
	assert_false(info.from_memory_only);
	n = (size_t)snprintf(out, len, "matched %zu\n", edges_acc_matched(a));
	for (; (row = edges_acc_row(a, rows)) && n < len; rows++)
		n += (size_t)snprintf(out + n, len - n, "%u %llu %llu %llu %llu %lld %lld\n", row->id,
				      (unsigned long long)row->count, (unsigned long long)row->offcpu_us,
				      (unsigned long long)row->runq_us, (unsigned long long)row->max_us,
				      (long long)row->first_ms, (long long)row->last_ms);
	assert_true(n < len);
	edges_acc_free(a);
	return rows;
}

static const char *const extras[] = { "", "&sort=count", "&sort=runq", "&category=net", "&pod=pod-1", "&limit=3" };

static const struct blocks_kind edges = { WF_BLOCKS_EDGES, WF_EDGE_BLOCKS_MAX_BYTES, answer, extras,
					  sizeof(extras) / sizeof(extras[0]) };

static int setup(void **state)
{
	return setup_kind(state, &edges);
}

int main(void)
{
	return run_minute_blocks_cases(setup);
}
