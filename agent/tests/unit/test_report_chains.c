// SPDX-License-Identifier: Apache-2.0
/* Unit tests for chains in the reports (report_chains.c): the JSON chain
 * object and the text line, on chains built here as the capture builds them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "chains.h"
#include "classify.h"
#include "intern.h"
#include "report.h"

static void task(struct wf_task *t, const char *comm, const char *proc, int32_t pid, int32_t tid)
{
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	snprintf(t->proc_comm, sizeof(t->proc_comm), "%s", proc);
	t->pid = pid;
	t->tid = tid;
}

static void set_stack(struct wf_stack *s, const char *const *frames, int nkernel)
{
	int n = 0;

	while (frames[n])
		n++;
	s->frames = malloc(n * sizeof(*s->frames));
	for (int i = 0; i < n; i++)
		s->frames[i] = intern(frames[i]);
	s->nframes = n;
	s->nkernel = nkernel;
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* wf-a -(eventfd)-> wf-b -(pipe)-> wf-c inside wf-pipeline; and a two-link
 * chain across processes cut by a softirq at its start. */
static void build(struct wf_chain_list *l)
{
	struct wf_chain c;

	memset(l, 0, sizeof(*l));
	memset(&c, 0, sizeof(c));
	c.nlinks = 2;
	edge_init(&c.links[0]);
	task(&c.links[0].waker, "wf-a", "wf-pipeline", 10, 11);
	task(&c.links[0].target, "wf-b", "wf-pipeline", 10, 12);
	c.links[0].context = WF_CTX_TASK;
	c.links[0].category = WF_CAT_IPC_EVENTFD;
	c.links[0].stacks_sampled = true;
	set_stack(&c.links[0].waker_stack, L("eventfd_write", "main"), 1);
	set_stack(&c.links[0].target_stack, L("finish_task_switch", "eventfd_read", "stage_b"), 2);
	edge_init(&c.links[1]);
	c.links[1].waker = c.links[0].target;
	task(&c.links[1].target, "wf-c", "wf-pipeline", 10, 13);
	c.links[1].context = WF_CTX_TASK;
	c.links[1].category = WF_CAT_IPC_PIPE;
	c.links[1].activity = intern("envoy.dispatcher_post");
	c.ended_by = WF_CHAIN_END_NONE;
	c.count = 5210;
	c.offcpu_ns = 2573100000ULL;
	c.runq_ns = 31200000ULL;
	assert_int_equal(chain_list_push(l, &c), 0);

	memset(&c, 0, sizeof(c));
	c.nlinks = 2;
	edge_init(&c.links[0]);
	task(&c.links[0].waker, "swapper/0", "", -1, 0);
	task(&c.links[0].target, "wf-server", "wf-srv", 20, 20);
	c.links[0].context = WF_CTX_SOFTIRQ;
	c.links[0].category = WF_CAT_NET_UDP;
	edge_init(&c.links[1]);
	c.links[1].waker = c.links[0].target;
	task(&c.links[1].target, "wf-target", "wf-srv", 20, 21);
	c.links[1].context = WF_CTX_TASK;
	c.links[1].category = WF_CAT_NET_UNIX;
	c.ended_by = WF_CHAIN_END_INTERRUPT;
	c.count = 7;
	c.offcpu_ns = 3000000000ULL; /* longer: first */
	c.runq_ns = 1500;
	assert_int_equal(chain_list_push(l, &c), 0);
}

static char *render(enum wf_format fmt, const struct wf_chain_list *chains, int top)
{
	struct wf_edge_list edges = { 0 };
	struct wf_report_meta meta = { .chains = chains, .top = top };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report_write(f, fmt, &edges, &meta), 0);
	fclose(f);
	return buf;
}

static void test_json_chain(void **state)
{
	struct wf_chain_list l;
	char *out;

	(void)state;
	build(&l);
	out = render(WF_FORMAT_JSON, &l, 0);
	/* After the edges, longest first; hops from the first cause to the
	 * target, one link fewer, stacks only where sampled. */
	assert_non_null(strstr(
		out, "{\"edges\":[],\"chains\":[{\"hops\":[{\"comm\":\"swapper/0\",\"pid\":null,\"tid\":0},"
		     "{\"comm\":\"wf-server\",\"proc\":\"wf-srv\",\"pid\":20,\"tid\":20},"
		     "{\"comm\":\"wf-target\",\"proc\":\"wf-srv\",\"pid\":20,\"tid\":21}],"
		     "\"links\":[{\"category\":\"net.udp\",\"activity\":null,\"context\":\"softirq\",\"stacks_sampled\":false},"
		     "{\"category\":\"net.unix\",\"activity\":null,\"context\":\"task\",\"stacks_sampled\":false}],"
		     "\"count\":7,\"offcpu_us\":3000000,\"runq_us\":1.5,\"ended_by\":\"interrupt\"},"));
	assert_non_null(strstr(
		out, "{\"hops\":[{\"comm\":\"wf-a\",\"proc\":\"wf-pipeline\",\"pid\":10,\"tid\":11},"
		     "{\"comm\":\"wf-b\",\"proc\":\"wf-pipeline\",\"pid\":10,\"tid\":12},"
		     "{\"comm\":\"wf-c\",\"proc\":\"wf-pipeline\",\"pid\":10,\"tid\":13}],"
		     "\"links\":[{\"category\":\"ipc.eventfd\",\"activity\":null,\"context\":\"task\",\"stacks_sampled\":true,"
		     "\"waker_stack\":[\"eventfd_write\",\"main\"],\"waker_stack_kernel_frames\":1,"
		     "\"target_stack\":[\"finish_task_switch\",\"eventfd_read\",\"stage_b\"],\"target_stack_kernel_frames\":2},"
		     "{\"category\":\"ipc.pipe\",\"activity\":\"envoy.dispatcher_post\",\"context\":\"task\","
		     "\"stacks_sampled\":false}],"
		     "\"count\":5210,\"offcpu_us\":2573100,\"runq_us\":31200,\"ended_by\":\"none\"}],\"lost\":{}}\n"));
	free(out);

	/* No chain list (chains off): no "chains" member at all; an empty one: []. */
	out = render(WF_FORMAT_JSON, NULL, 0);
	assert_string_equal(out, "{\"edges\":[],\"lost\":{}}\n");
	free(out);
	chain_list_free(&l);
	out = render(WF_FORMAT_JSON, &l, 0);
	assert_string_equal(out, "{\"edges\":[],\"chains\":[],\"lost\":{}}\n");
	free(out);
}

static void test_text_chain(void **state)
{
	struct wf_chain_list l;
	char *out;

	(void)state;
	build(&l);
	out = render(WF_FORMAT_TEXT, &l, 0);
	assert_non_null(strstr(out, "\nChains by off-CPU time (first cause -> target): 2\n\n"
				    "  swapper/0(0) -[net.udp]-> wf-srv/wf-server(20) -[net.unix]-> wf-srv/wf-target(21)\n"
				    "    count 7  offcpu 3000.000 ms  runq 0.002 ms  ended by interrupt\n"
				    "  wf-pipeline/wf-a(11) -[ipc.eventfd]-> wf-pipeline/wf-b(12) -[ipc.pipe]-> "
				    "wf-pipeline/wf-c(13)\n"
				    "    count 5210  offcpu 2573.100 ms  runq 31.200 ms  ended by none\n"));
	/* After the edges. */
	assert_true(strstr(out, "Edges by off-CPU time") < strstr(out, "Chains by"));
	free(out);

	out = render(WF_FORMAT_TEXT, &l, 1);
	assert_non_null(strstr(out, "Top 1 of 2 chains by off-CPU time"));
	assert_null(strstr(out, "wf-a(11)"));
	free(out);

	/* Folded output has no chains. */
	out = render(WF_FORMAT_FOLDED, &l, 0);
	assert_string_equal(out, "");
	free(out);
	chain_list_free(&l);
}

static void test_hop_label(void **state)
{
	struct wf_task t;
	char buf[64], small[6];

	(void)state;
	task(&t, "envoy", "envoy", 5, 5);
	report_hop_label(&t, buf, sizeof(buf));
	assert_string_equal(buf, "envoy(5)");
	task(&t, "", "", -1, -1);
	report_hop_label(&t, buf, sizeof(buf));
	assert_string_equal(buf, "?");
	task(&t, "wrk:worker_0", "envoy", 5, 9);
	report_hop_label(&t, small, sizeof(small));
	assert_string_equal(small, "envoy"); /* cut, always terminated */
}

/* record classifies each link with the edge rules before reporting. */
static void test_classified_links(void **state)
{
	char err[256];
	struct wf_rules *rules = rules_load_default(err, sizeof(err));
	struct wf_chain_list l;
	char *out;

	(void)state;
	assert_non_null(rules);
	build(&l);
	for (size_t i = 0; i < l.len; i++)
		for (int k = 0; k < l.items[i].nlinks; k++)
			l.items[i].links[k].category = WF_CAT_OTHER;
	edge_add_fact(&l.items[0].links[0], "waker.fd=eventfd");
	edge_add_fact(&l.items[0].links[1], "waker.fd=pipe");
	chains_classify(rules, &l);
	chains_classify(NULL, &l); /* no rules: unchanged */
	chains_classify(rules, NULL);
	assert_int_equal(l.items[0].links[0].category, WF_CAT_IPC_EVENTFD);
	assert_int_equal(l.items[0].links[1].category, WF_CAT_IPC_PIPE);
	out = render(WF_FORMAT_TEXT, &l, 0);
	assert_non_null(strstr(out, " -[ipc.eventfd]-> wf-pipeline/wf-b(12) -[ipc.pipe]-> wf-pipeline/wf-c(13)\n"));
	free(out);
	chain_list_free(&l);
	rules_free(rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_chain),
		cmocka_unit_test(test_text_chain),
		cmocka_unit_test(test_hop_label),
		cmocka_unit_test(test_classified_links),
	};

	return cmocka_run_group_tests_name("report_chains", tests, NULL, NULL);
}
