// SPDX-License-Identifier: Apache-2.0
/*
 * query: the HTTP API's query strings, table-driven. Every bad input must
 * give its status and a message naming the problem; every good one the
 * values and defaults docs/api.md promises.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "query.h"

#define NOW 1700000000000LL

struct bad_case {
	enum wf_endpoint ep;
	const char *qs;
	int status;
	const char *needle; /* must appear in the error message */
};

static const struct bad_case bad_cases[] = {
	/* ranges */
	{ WF_EP_SERIES, "from=abc", 400, "from must be milliseconds" },
	{ WF_EP_SERIES, "from=-5", 400, "from must be milliseconds" },
	{ WF_EP_SERIES, "from=1.5", 400, "from must be" },
	{ WF_EP_SERIES, "from=", 400, "from must be" },
	{ WF_EP_SERIES, "to=99999999999999999999999", 400, "to must be" },
	{ WF_EP_SERIES, "to=4102444800001", 400, "to must be" },
	{ WF_EP_SERIES, "from=2000&to=1000", 400, "must be before" },
	{ WF_EP_SERIES, "from=1000&to=1000", 400, "must be before" },
	{ WF_EP_EDGES, "from=5000&to=10", 400, "must be before" },
	{ WF_EP_SERIES, "from=1+000", 400, "from must be" },
	/* step */
	{ WF_EP_SERIES, "step=0", 400, "step must be positive" },
	{ WF_EP_SERIES, "step=-10", 400, "step must be" },
	{ WF_EP_SERIES, "step=10s", 400, "step must be" },
	{ WF_EP_SERIES, "step=2678400001", 400, "step longer than" },
	{ WF_EP_SERIES, "step=9999999999999999999", 400, "step must be" },
	/* enumerations */
	{ WF_EP_SERIES, "by=node", 400, "unknown by 'node' (category, activity, target, role, pod, workload, thread)" },
	{ WF_EP_SERIES, "metric=cpu", 400,
	  "unknown metric 'cpu' (offcpu, wakeups, runq, preempt_ratio, preempt_count_ratio, throttled, oncpu, preempted, "
	  "switches, involuntary)" },
	{ WF_EP_SERIES, "metric=", 400, "unknown metric ''" },
	{ WF_EP_EDGES, "sort=name", 400, "unknown sort 'name'" },
	{ WF_EP_EDGES, "fields=stacks", 400, "unknown fields 'stacks' (all, numbers, paths)" },
	{ WF_EP_EDGES, "fields=numbers&fields=all", 400, "given twice" },
	{ WF_EP_CHAINS, "fields=numbers", 400, "unknown parameter 'fields'" },
	{ WF_EP_SERIES, "fields=numbers", 400, "unknown parameter 'fields'" },
	/* limit */
	{ WF_EP_EDGES, "limit=-1", 400, "limit must not be negative" },
	{ WF_EP_EDGES, "limit=0", 400, "limit must be a positive integer" },
	{ WF_EP_EDGES, "limit=ten", 400, "limit must be a positive integer" },
	{ WF_EP_EDGES, "limit=99999999999999999999999", 400, "limit must be" },
	/* names */
	{ WF_EP_SERIES, "frm=1", 400, "unknown parameter 'frm'" },
	{ WF_EP_SERIES, "limit=10", 400, "unknown parameter 'limit'" },
	{ WF_EP_EDGES, "step=1000", 400, "unknown parameter 'step'" },
	{ WF_EP_EDGES, "by=category", 400, "unknown parameter 'by'" },
	{ WF_EP_PLAIN, "x=1", 400, "takes none" },
	{ WF_EP_PLAIN, "pod=a", 400, "takes none" },
	{ WF_EP_SERIES, "from", 400, "has no value" },
	{ WF_EP_SERIES, "from=1&from=2", 400, "given twice" },
	{ WF_EP_SERIES, "metric=offcpu&metric=runq", 400, "given twice" },
	/* encoding */
	{ WF_EP_SERIES, "pod=%zz", 400, "malformed %-escape" },
	{ WF_EP_SERIES, "pod=%4", 400, "malformed %-escape" },
	{ WF_EP_SERIES, "pod=%00", 400, "control character" },
	{ WF_EP_SERIES, "pod=a%0Ab", 400, "control character" },
	{ WF_EP_SERIES, "%zz=1", 400, "malformed %-escape" },
	/* filters */
	{ WF_EP_SERIES, "pod=", 400, "empty value for pod" },
	{ WF_EP_EDGES, "pid=0", 400, "pid must be a positive integer" },
	{ WF_EP_EDGES, "pid=12ab", 400, "pid must be a positive integer" },
	{ WF_EP_EDGES, "pid=3000000000", 400, "pid must be" },
	{ WF_EP_SERIES, "role=boss", 400, "unknown role 'boss'" },
	{ WF_EP_SERIES, "category=nett", 400, "unknown category 'nett'" },
	{ WF_EP_SERIES, "category=net.t", 400, "unknown category 'net.t'" },
	{ WF_EP_SERIES, "category=.net", 400, "unknown category" },
	/* metric and split */
	{ WF_EP_SERIES, "metric=preempt_ratio&by=category", 400, "cannot be split by category" },
	{ WF_EP_SERIES, "metric=preempt_ratio&by=activity", 400, "cannot be split by activity" },
	{ WF_EP_SERIES, "metric=preempt_ratio&by=role&category=net", 400, "cannot be filtered by category" },
	{ WF_EP_SERIES, "metric=throttled&by=role", 400, "cannot be split by role" },
	{ WF_EP_SERIES, "metric=throttled&by=target&thread=envoy", 400, "cannot be filtered by thread" },
	{ WF_EP_SERIES, "metric=preempt_count_ratio&by=target&activity=envoy.xds", 400, "cannot be filtered" },
	{ WF_EP_SERIES, "metric=throttled&by=thread", 400, "cannot be split by thread" },
	/* the ratios' parts split and filter as the ratios do */
	{ WF_EP_SERIES, "metric=oncpu", 400, "metric oncpu cannot be split by category" },
	{ WF_EP_SERIES, "metric=preempted&by=activity", 400, "metric preempted cannot be split by activity" },
	{ WF_EP_SERIES, "metric=switches&by=pod&category=net", 400, "switches cannot be filtered by category" },
	{ WF_EP_SERIES, "metric=involuntary&by=workload&activity=none", 400, "involuntary cannot be filtered" },
};

static void test_bad_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct wf_query *q = malloc(sizeof(*q));
		char err[256] = "";
		int rc;

		assert_non_null(q);
		rc = query_parse(c->ep, c->qs, strlen(c->qs), NOW, q, err, sizeof(err));
		if (rc != c->status || !strstr(err, c->needle)) {
			print_error("case %zu '%s': got %d '%s', want %d '%s'\n", i, c->qs, rc, err, c->status,
				    c->needle);
			fail();
		}
		free(q);
	}
}

static void test_oversized(void **state)
{
	struct wf_query *q = malloc(sizeof(*q));
	size_t len = WF_QUERY_MAX_LEN + 1;
	char *qs = malloc(len + 1);
	char err[256];

	(void)state;
	memset(qs, 'a', len);
	memcpy(qs, "pod=", 4);
	qs[len] = '\0';
	assert_int_equal(query_parse(WF_EP_SERIES, qs, len, NOW, q, err, sizeof(err)), 414);
	assert_non_null(strstr(err, "longer than 4096"));

	/* One value too long, the whole string within bounds. */
	qs[300] = '\0';
	assert_int_equal(query_parse(WF_EP_SERIES, qs, 300, NOW, q, err, sizeof(err)), 400);
	assert_non_null(strstr(err, "value of pod longer than"));

	/* Exactly at the limit is fine as far as length goes. */
	{
		size_t n = 0;

		while (n + 8 <= WF_QUERY_MAX_LEN)
			n += (size_t)snprintf(qs + n, len + 1 - n, "pod=abc&");
		assert_true(n <= WF_QUERY_MAX_LEN);
		/* 16 values at most */
		assert_int_equal(query_parse(WF_EP_SERIES, qs, n, NOW, q, err, sizeof(err)), 400);
		assert_non_null(strstr(err, "too many values for pod"));
	}
	free(qs);
	free(q);
}

static void test_defaults(void **state)
{
	struct wf_query *q = malloc(sizeof(*q));
	char err[256];

	(void)state;
	assert_int_equal(query_parse(WF_EP_SERIES, "", 0, NOW, q, err, sizeof(err)), 0);
	assert_int_equal(q->to_ms, NOW);
	assert_int_equal(q->from_ms, NOW - 3600 * 1000);
	assert_int_equal(q->step_ms, 0);
	assert_int_equal(q->by, WF_BY_CATEGORY);
	assert_int_equal(q->metric, WF_METRIC_OFFCPU);

	assert_int_equal(query_parse(WF_EP_EDGES, "to=5000", 7, NOW, q, err, sizeof(err)), 0);
	assert_int_equal(q->from_ms, 0); /* an hour before 5 s after the epoch: clamped */
	assert_int_equal(q->limit, WF_QUERY_DEFAULT_LIMIT);
	assert_int_equal(q->sort, WF_SORT_OFFCPU);
	assert_int_equal(q->fields, WF_FIELDS_ALL);
	assert_int_equal(query_parse(WF_EP_EDGES, "fields=numbers", 14, NOW, q, err, sizeof(err)), 0);
	assert_int_equal(q->fields, WF_FIELDS_NUMBERS);
	assert_int_equal(query_parse(WF_EP_EDGES, "fields=paths", 12, NOW, q, err, sizeof(err)), 0);
	assert_int_equal(q->fields, WF_FIELDS_PATHS);
	assert_int_equal(query_parse(WF_EP_EDGES, "fields=all", 10, NOW, q, err, sizeof(err)), 0);
	assert_int_equal(q->fields, WF_FIELDS_ALL);

	assert_int_equal(query_parse(WF_EP_PLAIN, "", 0, NOW, q, err, sizeof(err)), 0);
	free(q);
}

struct good_case {
	enum wf_endpoint ep;
	const char *qs;
	int64_t from, to, step;
	int by, metric, limit, sort;
};

static const struct good_case good_cases[] = {
	{ WF_EP_SERIES, "from=1000&to=2000&step=10", 1000, 2000, 10, WF_BY_CATEGORY, WF_METRIC_OFFCPU, 100, 0 },
	{ WF_EP_SERIES, "by=pod&metric=preempt_ratio", NOW - 3600000, NOW, 0, WF_BY_POD, WF_METRIC_PREEMPT_RATIO, 100,
	  0 },
	{ WF_EP_SERIES, "metric=throttled&by=target", NOW - 3600000, NOW, 0, WF_BY_TARGET, WF_METRIC_THROTTLED, 100,
	  0 },
	{ WF_EP_SERIES, "by=role&metric=preempt_count_ratio", NOW - 3600000, NOW, 0, WF_BY_ROLE,
	  WF_METRIC_PREEMPT_COUNT_RATIO, 100, 0 },
	{ WF_EP_SERIES, "by=activity&metric=wakeups&&", NOW - 3600000, NOW, 0, WF_BY_ACTIVITY, WF_METRIC_WAKEUPS, 100,
	  0 },
	{ WF_EP_SERIES, "metric=runq&step=2678400000", NOW - 3600000, NOW, 2678400000LL, WF_BY_CATEGORY,
	  WF_METRIC_RUNQ, 100, 0 },
	{ WF_EP_SERIES, "metric=oncpu&by=workload", NOW - 3600000, NOW, 0, WF_BY_WORKLOAD, WF_METRIC_ONCPU, 100, 0 },
	{ WF_EP_SERIES, "metric=preempted&by=thread&role=worker", NOW - 3600000, NOW, 0, WF_BY_THREAD,
	  WF_METRIC_PREEMPTED, 100, 0 },
	{ WF_EP_SERIES, "metric=switches&by=role", NOW - 3600000, NOW, 0, WF_BY_ROLE, WF_METRIC_SWITCHES, 100, 0 },
	{ WF_EP_SERIES, "metric=involuntary&by=pod&thread=wrk:worker_0", NOW - 3600000, NOW, 0, WF_BY_POD,
	  WF_METRIC_INVOLUNTARY, 100, 0 },
	{ WF_EP_SERIES, "by=thread&metric=runq", NOW - 3600000, NOW, 0, WF_BY_THREAD, WF_METRIC_RUNQ, 100, 0 },
	{ WF_EP_SERIES, "by=workload&metric=throttled", NOW - 3600000, NOW, 0, WF_BY_WORKLOAD, WF_METRIC_THROTTLED,
	  100, 0 },
	{ WF_EP_EDGES, "limit=5&sort=count", NOW - 3600000, NOW, 0, 0, 0, 5, WF_SORT_COUNT },
	{ WF_EP_EDGES, "limit=1000000&sort=runq", NOW - 3600000, NOW, 0, 0, 0, WF_QUERY_MAX_LIMIT, WF_SORT_RUNQ },
	/* a range longer than 31 days keeps its end */
	{ WF_EP_EDGES, "from=0&to=1700000000000", 1700000000000LL - WF_QUERY_MAX_RANGE_MS, 1700000000000LL, 0, 0, 0,
	  100, 0 },
};

static void test_good_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *c = &good_cases[i];
		struct wf_query *q = malloc(sizeof(*q));
		char err[256] = "";
		int rc = query_parse(c->ep, c->qs, strlen(c->qs), NOW, q, err, sizeof(err));

		if (rc) {
			print_error("case %zu '%s': %d %s\n", i, c->qs, rc, err);
			fail();
		}
		assert_int_equal(q->from_ms, c->from);
		assert_int_equal(q->to_ms, c->to);
		assert_int_equal(q->step_ms, c->step);
		if (c->ep == WF_EP_SERIES) {
			assert_int_equal(q->by, c->by);
			assert_int_equal(q->metric, c->metric);
		} else {
			assert_int_equal(q->limit, c->limit);
			assert_int_equal(q->sort, c->sort);
		}
		free(q);
	}
}

static void test_filters(void **state)
{
	static const char qs[] = "namespace=istio%2Dsystem&pod=a+b&pod=c&pid=42&pid=7&role=worker&role=main"
				 "&category=net.tcp&category=timer&activity=envoy.xds&thread=wrk%3Aworker_0&comm=envoy";
	struct wf_query *q = malloc(sizeof(*q));
	char err[256];
	const struct wf_filter *f = &q->filter;

	(void)state;
	assert_int_equal(query_parse(WF_EP_EDGES, qs, strlen(qs), NOW, q, err, sizeof(err)), 0);
	assert_int_equal(f->n[WF_F_NAMESPACE], 1);
	assert_string_equal(f->values[WF_F_NAMESPACE][0], "istio-system");
	assert_int_equal(f->n[WF_F_POD], 2);
	assert_string_equal(f->values[WF_F_POD][0], "a b");
	assert_string_equal(f->values[WF_F_POD][1], "c");
	assert_int_equal(f->n[WF_F_PID], 2);
	assert_int_equal(f->pids[0], 42);
	assert_int_equal(f->pids[1], 7);
	assert_int_equal(f->n[WF_F_ROLE], 2);
	assert_int_equal(f->roles[0], WF_ROLE_WORKER);
	assert_int_equal(f->roles[1], WF_ROLE_MAIN);
	assert_int_equal(f->n[WF_F_CATEGORY], 2);
	assert_string_equal(f->values[WF_F_THREAD][0], "wrk:worker_0");
	assert_string_equal(f->values[WF_F_ACTIVITY][0], "envoy.xds");
	assert_string_equal(f->values[WF_F_COMM][0], "envoy");
	free(q);
}

/* A copy holds its own filter values: the original freed (its arena
 * overwritten first, so a value still pointing there reads wrong). */
static void test_copy(void **state)
{
	static const char qs[] = "pod=a+b&pod=c&thread=wrk%3Aworker_0&category=net.tcp&activity=envoy.xds";
	struct wf_query *q = malloc(sizeof(*q)), *copy = malloc(sizeof(*copy));
	char err[256];

	(void)state;
	assert_non_null(q);
	assert_non_null(copy);
	assert_int_equal(query_parse(WF_EP_EDGES, qs, strlen(qs), NOW, q, err, sizeof(err)), 0);
	query_copy(copy, q);
	memset(q->arena, 'x', sizeof(q->arena));
	free(q);
	for (int f = 0; f < WF_F__COUNT; f++)
		for (int i = 0; i < copy->filter.n[f]; i++) {
			assert_true(copy->filter.values[f][i] >= copy->arena);
			assert_true(copy->filter.values[f][i] < copy->arena + sizeof(copy->arena));
		}
	assert_int_equal(copy->filter.n[WF_F_POD], 2);
	assert_string_equal(copy->filter.values[WF_F_POD][0], "a b");
	assert_string_equal(copy->filter.values[WF_F_POD][1], "c");
	assert_string_equal(copy->filter.values[WF_F_THREAD][0], "wrk:worker_0");
	assert_string_equal(copy->filter.values[WF_F_CATEGORY][0], "net.tcp");
	assert_string_equal(copy->filter.values[WF_F_ACTIVITY][0], "envoy.xds");
	free(copy);
}

static void test_category_prefix(void **state)
{
	(void)state;
	assert_true(query_category_matches("net", "net.tcp.data"));
	assert_true(query_category_matches("net.tcp", "net.tcp.data"));
	assert_true(query_category_matches("net.tcp.data", "net.tcp.data"));
	assert_true(query_category_matches("timer", "timer"));
	assert_false(query_category_matches("net.t", "net.tcp.data"));
	assert_false(query_category_matches("net.tcp.data.x", "net.tcp.data"));
	assert_false(query_category_matches("ipc", "net.tcp.data"));
	assert_false(query_category_matches("time", "timer"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_inputs),     cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_defaults),       cmocka_unit_test(test_good_inputs),
		cmocka_unit_test(test_filters),	       cmocka_unit_test(test_copy),
		cmocka_unit_test(test_category_prefix),
	};

	return cmocka_run_group_tests_name("query", tests, NULL, NULL);
}
