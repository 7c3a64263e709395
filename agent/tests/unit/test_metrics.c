// SPDX-License-Identifier: Apache-2.0
/*
 * metrics: the Prometheus text a window turns into: names, HELP/TYPE once
 * per family, label escaping, sums across windows, series of an exited
 * process dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "classify.h"
#include "metrics.h"
#include "window.h"

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_window_counters(void **state)
{
	struct wf_catalog *cat = catalog_new();
	struct wf_metrics *m = metrics_new();
	struct wf_target t;
	struct wf_wtarget w;
	char *text;
	size_t len;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.pid = 42;
	strcpy(t.comm, "envoy");
	strcpy(t.labels.value[WF_LABEL_POD], "p\"o\\d\n1"); /* hostile label value */
	strcpy(t.labels.value[WF_LABEL_NAMESPACE], "ns");
	wtarget_init(&w, 1);
	w.throttled_us = 1500000;
	w.nr_throttled = 3;
	wtarget_add_thread(&w, &(struct wf_wthread){ .name = catalog_name_id(cat, "wrk:worker_0"), .role = WF_ROLE_WORKER,
						     .oncpu_us = 2000000, .preempted_us = 500000, .switches = 10,
						     .involuntary = 4 });
	wtarget_add_cat(&w, &(struct wf_wcat){ .thread = 1, .role = WF_ROLE_WORKER, .category = WF_CAT_IPC_EVENTFD,
					       .activity = catalog_name_id(cat, "envoy.dispatcher_post"), .count = 7,
					       .offcpu_us = 250000, .runq_us = 1000 });
	metrics_add_window(m, &w, &t, cat);
	metrics_add_window(m, &w, &t, cat); /* a second window adds up */
	metrics_add(m, WF_M_LOST, (const char *[]){ "reason", "edges_dropped", NULL }, 5);
	metrics_set(m, WF_M_STORE_OK, NULL, 1);

	text = metrics_render(m, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "wakeflow_wakeups_total{comm=\"envoy\",pid=\"42\",namespace=\"ns\","
				     "pod=\"p\\\"o\\\\d\\n1\",category=\"ipc.eventfd\",activity=\"envoy.dispatcher_post\","
				     "role=\"worker\"} 14\n"));
	assert_non_null(strstr(text, "wakeflow_offcpu_seconds_total{"));
	assert_non_null(strstr(text, "} 0.5\n"));
	assert_non_null(strstr(text, "wakeflow_preempted_seconds_total{comm=\"envoy\",pid=\"42\",namespace=\"ns\","
				     "pod=\"p\\\"o\\\\d\\n1\",role=\"worker\"} 1\n"));
	assert_non_null(strstr(text, "wakeflow_involuntary_switches_total{"));
	assert_non_null(strstr(text, "wakeflow_throttled_seconds_total{comm=\"envoy\",pid=\"42\",namespace=\"ns\","
				     "pod=\"p\\\"o\\\\d\\n1\"} 3\n"));
	assert_non_null(strstr(text, "wakeflow_agent_lost_events_total{reason=\"edges_dropped\"} 5\n"));
	assert_non_null(strstr(text, "wakeflow_agent_store_ok 1\n"));
	assert_int_equal(count(text, "# TYPE wakeflow_wakeups_total counter\n"), 1);
	assert_int_equal(count(text, "# HELP "), count(text, "# TYPE "));
	/* no raw newline inside a sample line: every line is a comment or "name{...} value" */
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		assert_true(line[0] == '#' || !strncmp(line, "wakeflow_", 9));
	free(text);

	metrics_forget_pid(m, 42);
	text = metrics_render(m, &len);
	assert_null(strstr(text, "pid=\"42\""));
	assert_non_null(strstr(text, "wakeflow_agent_lost_events_total"));
	free(text);
	wtarget_free(&w);
	metrics_free(m);
	catalog_free(cat);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_counters),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
