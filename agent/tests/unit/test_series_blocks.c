// SPDX-License-Identifier: Apache-2.0
/*
 * series_blocks: the series' decoded totals per block of rolled-up minutes,
 * in the cases of minute_blocks_cases.h; an answer compared as every
 * series' labels and every point's time and value, the value as the exact
 * double (%a), not a rounded text; every metric, grouping and filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "history.h"
#include "minute_blocks_cases.h"
#include "query.h"
#include "series.h"
#include "series_blocks.h"

/* Every metric, grouping and filter family, at steps of whole minutes (the
 * ones tier 1 answers) and one of windows (no blocks: the same either way). */
static const char *const queries[] = {
	"&metric=offcpu&by=category&step=60000",
	"&metric=wakeups&by=activity&step=120000",
	"&metric=runq&by=thread&step=300000",
	"&metric=preempt_ratio&by=role&step=60000",
	"&metric=preempt_count_ratio&by=pod&step=180000",
	"&metric=oncpu&by=target&step=60000",
	"&metric=throttled&by=workload&step=120000",
	"&metric=preempted&by=pod&step=60000&pod=pod-1",
	"&metric=switches&by=thread&thread=envoy&step=60000",
	"&metric=offcpu&by=category&category=net&step=60000",
	"&metric=offcpu&by=role&role=worker&step=420000",
	"&metric=wakeups&by=category&activity=http.request&step=60000",
	"&metric=offcpu&by=category&step=10000",
};

/* The series answer as text: each series' labels, then its points. */
static size_t answer(struct wf_history *h, int64_t from, int64_t to, int64_t now, const char *extra, char *out,
		     size_t len)
{
	char qs[256], err[128];
	struct wf_query q;
	struct wf_series_plan plan;
	struct wf_answer_info info;
	struct wf_series_acc *a;
	size_t n, count, points = 0;

	snprintf(qs, sizeof(qs), "from=%lld&to=%lld%s", (long long)from, (long long)to, extra);
	if (query_parse(WF_EP_SERIES, qs, strlen(qs), now, &q, err, sizeof(err)))
		fail_msg("%s: %s", qs, err);
	a = history_series(h, &q, now, &plan, &info);
	assert_non_null(a);
	assert_false(info.from_memory_only);
	count = series_count(a);
	n = (size_t)snprintf(out, len, "step %lld, %zu series%s\n", (long long)plan.step_ms, count,
			     series_truncated(a) ? " (truncated)" : "");
	for (size_t i = 0; i < count && n < len; i++) {
		struct wf_label_pair labels[16];
		size_t nl = series_labels(a, i, labels, 16), k = 0;
		int64_t t;
		double v;

		for (size_t l = 0; l < nl && n < len; l++)
			n += (size_t)snprintf(out + n, len - n, "%s=%s ", labels[l].name, labels[l].value);
		for (; n < len && series_point(a, i, &k, &t, &v); points++)
			n += (size_t)snprintf(out + n, len - n, "[%lld %a]", (long long)(t - T0), v);
		if (n < len)
			out[n++] = '\n';
	}
	assert_true(n < len);
	out[n] = '\0';
	series_acc_free(a);
	return points;
}

static const struct blocks_kind series = { WF_BLOCKS_SERIES, WF_SERIES_BLOCKS_MAX_BYTES, answer, queries,
					   sizeof(queries) / sizeof(queries[0]) };

static int setup(void **state)
{
	return setup_kind(state, &series);
}

int main(void)
{
	return run_minute_blocks_cases(setup);
}
