// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the reports (report.c): text, folded and JSON shapes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "edge.h"
#include "intern.h"
#include "report.h"

/* Frames innermost first, NULL-terminated; copied into a malloc'd array
 * as edge_list_free expects. */
static void set_stack(struct wf_stack *s, const char *const *frames, int nkernel)
{
	int n = 0;

	while (frames && frames[n])
		n++;
	s->frames = n ? malloc(n * sizeof(*s->frames)) : NULL;
	for (int i = 0; i < n; i++)
		s->frames[i] = intern(frames[i]);
	s->nframes = n;
	s->nkernel = nkernel;
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Three edges: an imported one, a live one with every field, a preemption. */
static void build(struct wf_edge_list *l)
{
	struct wf_edge e;

	memset(l, 0, sizeof(*l));

	edge_init(&e); /* imported: no count, no runq, no pid */
	strcpy(e.waker.comm, "pilot-agent");
	e.waker.tid = 4136;
	strcpy(e.target.comm, "envoy");
	e.target.tid = 4182;
	e.context = WF_CTX_TASK;
	e.offcpu_ns = 84000;
	e.stacks_sampled = true;
	set_stack(&e.waker_stack, L("autoremove_wake_function", "unix_write_space", "[unknown]"), -1);
	set_stack(&e.target_stack, L("finish_task_switch", "ep_poll", "epoll_wait"), -1);
	e.category = WF_CAT_NET_UNIX;
	e.activity = intern("envoy.xds");
	e.role = WF_ROLE_MAIN;
	edge_list_push(l, &e);

	edge_init(&e); /* live, facts only */
	strcpy(e.waker.comm, "wrk:worker_1");
	strcpy(e.waker.proc_comm, "envoy");
	e.waker.pid = 4182;
	e.waker.tid = 4450;
	strcpy(e.target.comm, "envoy");
	strcpy(e.target.proc_comm, "envoy");
	e.target.pid = e.target.tid = 4182;
	e.context = WF_CTX_TASK;
	e.count_known = true;
	e.count = 3;
	e.offcpu_ns = 5767600;
	e.offcpu_max_ns = 4000000;
	e.runq_known = true;
	e.runq_ns = 12000;
	e.stacks_sampled = false;
	edge_add_fact(&e, "waker.syscall=write");
	edge_add_fact(&e, "waker.fd=eventfd");
	e.first_seen_ns = 1700000000123456789ULL;
	e.last_seen_ns = 1700000001000000000ULL;
	e.category = WF_CAT_IPC_EVENTFD;
	e.activity = intern("envoy.dispatcher_post");
	e.role = WF_ROLE_MAIN;
	edge_list_push(l, &e);

	edge_init(&e); /* preemption without a value */
	strcpy(e.target.comm, "wrk:worker_0");
	e.target.tid = 4449;
	e.context = WF_CTX_NONE;
	e.kind = WF_SWITCH_PREEMPTED;
	e.offcpu_unknown = true;
	e.stacks_sampled = true;
	set_stack(&e.target_stack, L("finish_task_switch", "schedule", "exit_to_usermode_loop"), 3);
	e.category = WF_CAT_PREEMPT_INVOLUNTARY;
	e.role = WF_ROLE_WORKER;
	edge_list_push(l, &e);
}

static char *render(enum wf_format fmt, const struct wf_edge_list *l, const struct wf_report_meta *meta)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report_write(f, fmt, l, meta), 0);
	fclose(f);
	return buf;
}

static void test_parse_format(void **state)
{
	enum wf_format f;

	(void)state;
	assert_int_equal(report_parse_format("text", &f), 0);
	assert_int_equal(f, WF_FORMAT_TEXT);
	assert_int_equal(report_parse_format("folded", &f), 0);
	assert_int_equal(f, WF_FORMAT_FOLDED);
	assert_int_equal(report_parse_format("json", &f), 0);
	assert_int_equal(f, WF_FORMAT_JSON);
	assert_int_equal(report_parse_format("JSON", &f), -1);
	assert_int_equal(report_parse_format("", &f), -1);
	assert_int_equal(report_parse_format(NULL, &f), -1);
}

static void test_json(void **state)
{
	static const struct wf_counter lost[] = { { "events", 3 }, { "stacks_dropped", 0 } };
	struct wf_report_meta meta = { .lost = lost, .nlost = 2 };
	struct wf_edge_list l;
	char *out, *first, *second;

	(void)state;
	build(&l);
	out = render(WF_FORMAT_JSON, &l, &meta);
	/* Sorted by off-CPU time: the 5.77 ms edge first, unknown time last. */
	first = strstr(out, "\"wrk:worker_1\"");
	second = strstr(out, "\"pilot-agent\"");
	assert_non_null(first);
	assert_non_null(second);
	assert_true(first < second);
	assert_true(strstr(out, "\"wrk:worker_0\"") > second);

	assert_non_null(strstr(out, "{\"edges\":[{\"waker\":{\"comm\":\"wrk:worker_1\",\"proc\":\"envoy\",\"pid\":4182,"
				    "\"tid\":4450,\"context\":\"task\"},\"target\":{\"comm\":\"envoy\",\"proc\":\"envoy\","
				    "\"pid\":4182,\"tid\":4182,\"role\":\"main\"},\"kind\":\"blocked\",\"preemptor\":null,"
				    "\"category\":\"ipc.eventfd\",\"activity\":\"envoy.dispatcher_post\",\"count\":3,"
				    "\"offcpu_us\":5767.6,\"offcpu_max_us\":4000,\"runq_us\":12,\"stacks_sampled\":false,"
				    "\"waker_stack\":[],\"waker_stack_kernel_frames\":null,\"target_stack\":[],"
				    "\"target_stack_kernel_frames\":null,"
				    "\"facts\":[\"waker.syscall=write\",\"waker.fd=eventfd\"],\"explanation\":null,"
				    "\"first_seen\":\"2023-11-14T22:13:20.123Z\",\"last_seen\":\"2023-11-14T22:13:21.000Z\"}"));
	/* Imported: pid null, count null, runq null, stacks innermost first. */
	assert_non_null(strstr(out, "{\"waker\":{\"comm\":\"pilot-agent\",\"pid\":null,\"tid\":4136,\"context\":\"task\"}"));
	assert_non_null(strstr(out, "\"category\":\"net.unix\",\"activity\":\"envoy.xds\",\"count\":null,\"offcpu_us\":84,"
				    "\"offcpu_max_us\":null,\"runq_us\":null,\"stacks_sampled\":true,"
				    "\"waker_stack\":[\"autoremove_wake_function\",\"unix_write_space\",\"[unknown]\"]"));
	/* Preemption: no waker, unknown time. */
	assert_non_null(strstr(out, "{\"waker\":{\"comm\":\"\",\"pid\":null,\"tid\":null,\"context\":\"none\"}"));
	assert_non_null(strstr(out, "\"kind\":\"preempted\",\"preemptor\":null,\"category\":\"preempt.involuntary\","
				    "\"activity\":null,\"count\":null,\"offcpu_us\":null"));
	assert_non_null(strstr(out, "\"target_stack_kernel_frames\":3"));
	assert_non_null(strstr(out, "],\"lost\":{\"events\":3,\"stacks_dropped\":0}}\n"));
	free(out);

	edge_list_free(&l);
	out = render(WF_FORMAT_JSON, &l, NULL);
	assert_string_equal(out, "{\"edges\":[],\"lost\":{}}\n");
	free(out);
}

/* With the rules, every edge says which rule decided, on which frames and
 * facts (indexes into the stacks as listed, innermost first). */
static void test_json_explanation(void **state)
{
	char err[256];
	struct wf_rules *rules = rules_load_default(err, sizeof(err));
	struct wf_report_meta meta = { .rules = rules };
	struct wf_edge_list l;
	char *out;

	(void)state;
	assert_non_null(rules);
	build(&l);
	out = render(WF_FORMAT_JSON, &l, &meta);
	assert_non_null(strstr(out, "\"explanation\":{\"category\":{\"rule\":\"eventfd\",\"when\":\"waker.fd=eventfd\","
				    "\"frames\":[],\"facts\":[\"waker.fd=eventfd\"]},"
				    "\"activity\":{\"rule\":\"dispatcher-post\",\"when\":\"context=task category=ipc.eventfd "
				    "waker.comm=wrk:worker_*|envoy role=main|worker\",\"frames\":[],\"facts\":[]}}"));
	assert_non_null(strstr(out, "\"explanation\":{\"category\":{\"rule\":\"unix\",\"when\":\"waker.frame=unix_*\","
				    "\"frames\":[{\"stack\":\"waker\",\"index\":1}],\"facts\":[]},"
				    "\"activity\":{\"rule\":\"xds\",\"when\":\"context=task category=net.unix "
				    "waker.comm=pilot-agent\",\"frames\":[],\"facts\":[]}}"));
	assert_non_null(strstr(out, "\"explanation\":{\"category\":{\"rule\":\"preempt-involuntary\","
				    "\"when\":\"context=none target.frame=exit_to_usermode_loop|exit_to_user_mode_loop|"
				    "preempt_schedule_irq|irqentry_exit*\",\"frames\":[{\"stack\":\"target\",\"index\":2}],"
				    "\"facts\":[]},\"activity\":null}"));
	free(out);

	/* The text report notes the deciding frames like the annotated captures. */
	out = render(WF_FORMAT_TEXT, &l, &meta);
	assert_non_null(strstr(out, "      unix_write_space  <<<< category (rule unix)\n"));
	assert_non_null(strstr(out, "      exit_to_usermode_loop  <<<< category (rule preempt-involuntary)\n"));
	assert_non_null(strstr(out, "      decided by:    rule eventfd: when waker.fd=eventfd (facts: waker.fd=eventfd)\n"));
	free(out);
	edge_list_free(&l);
	rules_free(rules);
}

static void test_text(void **state)
{
	struct wf_edge_list l;
	struct wf_report_meta meta = { 0 };
	char *out, *p;

	(void)state;
	build(&l);
	out = render(WF_FORMAT_TEXT, &l, NULL);
	assert_non_null(strstr(out, "Category breakdown: 3 edges, 5.852 ms off-CPU in total\n"));
	/* category, edges, count (unknown for the import), off-CPU ms, run-queue ms, share */
	assert_non_null(strstr(out, "  ipc.eventfd                1          3         5.768       0.012   98.6%\n"));
	assert_non_null(strstr(out, "  net.unix                   1          -         0.084           -    1.4%\n"));
	assert_non_null(strstr(out, "1 edge(s) without an off-CPU time are not in the totals"));
	/* Who woke them, summed per waker and context, before the edges. */
	assert_non_null(strstr(out, "Wakers: who ended the off-CPU time\n\n"
				    "  WAKER                CONTEXT    EDGES      COUNT    OFF-CPU ms     RUNQ ms   SHARE\n"
				    "  wrk:worker_1         task           1          3         5.768       0.012   98.6%\n"
				    "  pilot-agent          task           1          -         0.084           -    1.4%\n"
				    "  (preempted)          none           1          -         0.000           -    0.0%\n"));
	assert_true(strstr(out, "Wakers:") < strstr(out, "Edges by off-CPU time:"));
	assert_non_null(strstr(out, "activities (envoy.*) are Envoy's"));
	assert_null(strstr(out, "Note: preemption"));
	/* Both stacks innermost first, each under its label, then the target
	 * line and the classification. */
	p = strstr(out, "    waker:           pilot-agent 4136\n"
			"    -- waker stack, innermost first --\n"
			"      autoremove_wake_function\n"
			"      unix_write_space\n"
			"      [unknown]\n"
			"    -- target stack, innermost first --\n"
			"      finish_task_switch\n"
			"      ep_poll\n"
			"      epoll_wait\n"
			"    target:          envoy 4182\n"
			"    category:        net.unix\n"
			"    activity:        envoy.xds\n"
			"    context:         task\n"
			"    role:            main\n"
			"    count:           -\n"
			"    offcpu:          84 us\n"
			"    runq:            -\n");
	assert_non_null(p);
	assert_non_null(strstr(out, "    waker:           wrk:worker_1 4450 (pid 4182)\n"));
	assert_non_null(strstr(out, "    offcpu:          5768 us\n    offcpu max:      4000 us\n    runq:            12 us\n"
				    "    stacks:          not sampled (classified from facts)\n"
				    "    facts:           waker.syscall=write waker.fd=eventfd\n"));
	assert_non_null(strstr(out, "    waker:           (preempted)\n    -- target stack, innermost first --\n"));
	/* Longest first. */
	assert_true(strstr(out, "wrk:worker_1 4450") < strstr(out, "pilot-agent 4136"));
	free(out);

	meta.top = 1;
	out = render(WF_FORMAT_TEXT, &l, &meta);
	assert_non_null(strstr(out, "Top 1 of 3 edges by off-CPU time:"));
	assert_null(strstr(out, "pilot-agent 4136"));
	free(out);
	edge_list_free(&l);
}

/* Preemption most of the off-CPU time: a note says what usually causes it. */
static void test_text_preemption_note(void **state)
{
	struct wf_edge_list l = { 0 };
	struct wf_edge e;
	char *out;

	(void)state;
	for (int i = 0; i < 3; i++) {
		edge_init(&e);
		snprintf(e.target.comm, sizeof(e.target.comm), "wrk:worker_%d", i);
		e.target.tid = 100 + i;
		e.context = WF_CTX_NONE;
		e.kind = WF_SWITCH_PREEMPTED;
		e.offcpu_ns = 9000000;
		e.category = WF_CAT_PREEMPT_INVOLUNTARY;
		edge_list_push(&l, &e);
	}
	edge_init(&e);
	strcpy(e.waker.comm, "wf-poster");
	e.context = WF_CTX_TASK;
	e.offcpu_ns = 1000000;
	e.category = WF_CAT_IPC_EVENTFD;
	edge_list_push(&l, &e);
	out = render(WF_FORMAT_TEXT, &l, NULL);
	assert_non_null(strstr(out, "Note: preemption is 96% of the off-CPU time: the threads were runnable and waited "
				    "for a CPU.\n  3 thread(s) were preempted; this machine has "));
	free(out);
	edge_list_free(&l);
}

static void test_folded(void **state)
{
	struct wf_edge_list l;
	char *out;

	(void)state;
	build(&l);
	strcpy(l.items[0].target.comm, "a;b"); /* ';' would split a frame */
	out = render(WF_FORMAT_FOLDED, &l, NULL);
	assert_string_equal(out, "[ipc.eventfd];envoy;--;wrk:worker_1 5768\n"
				 "[net.unix];a:b;epoll_wait;ep_poll;finish_task_switch;--;autoremove_wake_function;"
				 "unix_write_space;[unknown];pilot-agent 84\n"
				 "[preempt.involuntary];wrk:worker_0;exit_to_usermode_loop;schedule;finish_task_switch;--; 0\n");
	free(out);
	edge_list_free(&l);
}

static void test_write_failure_reported(void **state)
{
	struct wf_edge_list l;
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	assert_non_null(f);
	build(&l);
	errno = 0;
	assert_int_equal(report_write(f, WF_FORMAT_TEXT, &l, NULL), -1);
	assert_int_equal(errno, ENOSPC);
	fclose(f);
	edge_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_explanation),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_preemption_note),
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_write_failure_reported),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
