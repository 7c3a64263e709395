// SPDX-License-Identifier: Apache-2.0
/*
 * collect: one window of capture output (edges and per-thread totals, as
 * capture_drain hands them over) through the built-in rules into
 * per-target records, and those records encoded as the store takes them.
 * The target of a pid comes from a table here, as the tracker would give it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "classify.h"
#include "collect.h"
#include "window.h"

#define END_MS 1700000010000LL

struct fx {
	struct wf_catalog *cat;
	struct wf_rules *rules;
	uint32_t target_a, target_b; /* pids 100 and 200; pid 300 is not a target */
	int asked;		     /* target_of calls */
};

static uint32_t target_of(void *ctx, int32_t pid, const char *comm)
{
	struct fx *f = ctx;

	f->asked++;
	assert_string_equal(comm, "envoy"); /* the process name, not the thread's */
	return pid == 100 ? f->target_a : pid == 200 ? f->target_b : 0;
}

static uint32_t put_target(struct wf_catalog *cat, int32_t pid)
{
	struct wf_target t;

	memset(&t, 0, sizeof(t));
	t.pid = pid;
	t.start_time = 1000 + (uint64_t)pid;
	snprintf(t.comm, sizeof(t.comm), "envoy");
	t.alive = true;
	t.first_seen_ms = t.last_seen_ms = END_MS;
	return catalog_target_put(cat, &t);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	f->cat = catalog_new();
	f->rules = rules_load_default(err, sizeof(err));
	assert_non_null(f->cat);
	assert_non_null(f->rules);
	f->target_a = put_target(f->cat, 100);
	f->target_b = put_target(f->cat, 200);
	assert_true(f->target_a && f->target_b && f->target_a != f->target_b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rules_free(f->rules);
	catalog_free(f->cat);
	free(f);
	return 0;
}

/* An involuntary preemption of thread `comm` of pid, as the capture reports it: unclassified. */
static void preempted(struct wf_edge_list *l, int32_t pid, const char *comm, uint64_t count, uint64_t offcpu_ns,
		      uint64_t runq_ns)
{
	struct wf_edge e;

	edge_init(&e);
	snprintf(e.target.comm, sizeof(e.target.comm), "%s", comm);
	snprintf(e.target.proc_comm, sizeof(e.target.proc_comm), "envoy");
	e.target.pid = pid;
	e.target.tid = pid + 1;
	e.kind = WF_SWITCH_PREEMPTED;
	e.context = WF_CTX_NONE;
	e.count = count;
	e.count_known = true;
	e.offcpu_ns = offcpu_ns;
	e.offcpu_max_ns = offcpu_ns;
	e.runq_ns = runq_ns;
	e.runq_known = true;
	edge_add_fact(&e, "target.state=runnable");
	edge_add_fact(&e, "target.preempt=1");
	edge_add_fact(&e, "target.resched=user_return");
	assert_int_equal(edge_list_push(l, &e), 0);
}

static void thread_totals(struct capture_totals *t, int32_t pid, const char *comm, uint64_t oncpu_ns)
{
	struct capture_thread_totals *tt;

	t->items = realloc(t->items, (t->len + 1) * sizeof(*t->items));
	assert_non_null(t->items);
	tt = &t->items[t->len++];
	memset(tt, 0, sizeof(*tt));
	snprintf(tt->task.comm, sizeof(tt->task.comm), "%s", comm);
	snprintf(tt->task.proc_comm, sizeof(tt->task.proc_comm), "envoy");
	tt->task.pid = pid;
	tt->task.tid = pid + 1;
	tt->oncpu_ns = oncpu_ns;
	tt->preempted_ns = 2000;
	tt->switches = 7;
	tt->involuntary = 3;
	tt->wakeups = 4;
}

static struct wf_wtarget *record_of(struct wf_collected *c, uint32_t id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->t[i].target_id == id)
			return &c->t[i];
	return NULL;
}

/* Edges and totals land in their target's record, classified, in
 * microseconds (rounded), and equal keys are summed. */
static void test_window_records(void **state)
{
	struct fx *f = *state;
	struct wf_edge_list edges = { 0 };
	struct capture_totals totals = { 0 };
	struct wf_collected col = { 0 };
	struct wf_collect_ctx cc = { .cat = f->cat, .rules = f->rules, .target_of = target_of, .ctx = f, .now_ms = END_MS };
	struct wf_wtarget *a, *b;

	preempted(&edges, 100, "wrk:worker_0", 3, 1499, 2500);	 /* 1 us off CPU, 3 us (2.5 rounded) in the queue */
	preempted(&edges, 100, "wrk:worker_0", 2, 1500000, 500); /* same edge: another drain's share */
	preempted(&edges, 200, "envoy", 1, 9000, 0);
	preempted(&edges, 300, "wrk:worker_0", 5, 5000, 0); /* not a target: left out */
	thread_totals(&totals, 100, "wrk:worker_0", 40000);
	thread_totals(&totals, 300, "wrk:worker_0", 1);

	assert_int_equal(collect_window(&cc, &edges, &totals, &col), 0);
	assert_int_equal(f->asked, 6);
	assert_int_equal(col.n, 2); /* pid 300 has no record */
	a = record_of(&col, f->target_a);
	b = record_of(&col, f->target_b);
	assert_non_null(a);
	assert_non_null(b);

	/* Edges were classified in place. */
	for (size_t i = 0; i < edges.len; i++)
		if (edges.items[i].target.pid != 300)
			assert_int_equal(edges.items[i].category, WF_CAT_PREEMPT_INVOLUNTARY);
	assert_int_equal(edges.items[0].role, WF_ROLE_WORKER);
	assert_int_equal(edges.items[2].role, WF_ROLE_MAIN);

	/* The two drains of one edge are one edge id, summed. */
	assert_int_equal(a->nedges, 1);
	assert_int_equal(a->edges[0].count, 5);
	assert_int_equal(a->edges[0].offcpu_us, 1 + 1500);
	assert_int_equal(a->edges[0].runq_us, 3 + 1);
	assert_int_equal(a->edges[0].max_us, 1500);
	/* ...and one per-category record for (thread, role, category, activity). */
	assert_int_equal(a->ncats, 1);
	assert_int_equal(a->cats[0].category, WF_CAT_PREEMPT_INVOLUNTARY);
	assert_int_equal(a->cats[0].role, WF_ROLE_WORKER);
	assert_int_equal(a->cats[0].thread, catalog_name_id(f->cat, "wrk:worker_0"));
	assert_int_equal(a->cats[0].count, 5);
	assert_int_equal(a->cats[0].offcpu_us, 1501);
	/* The thread's totals, with the role the rules give its name. */
	assert_int_equal(a->nthreads, 1);
	assert_int_equal(a->threads[0].name, catalog_name_id(f->cat, "wrk:worker_0"));
	assert_int_equal(a->threads[0].role, WF_ROLE_WORKER);
	assert_int_equal(a->threads[0].oncpu_us, 40);
	assert_int_equal(a->threads[0].preempted_us, 2);
	assert_int_equal(a->threads[0].switches, 7);
	assert_int_equal(a->threads[0].involuntary, 3);
	assert_int_equal(a->threads[0].wakeups, 4);

	assert_int_equal(b->nedges, 1);
	assert_int_not_equal(b->edges[0].id, a->edges[0].id);
	assert_int_equal(b->edges[0].offcpu_us, 9);
	assert_int_equal(b->nthreads, 0);

	collected_free(&col);
	edge_list_free(&edges);
	free(totals.items);
}

/* An edge keeps its id from window to window; its catalog entry records
 * when it was last seen. An edge of unknown count counts as one event and
 * an unknown off-CPU time adds nothing. */
static void test_ids_stable_and_unknowns(void **state)
{
	struct fx *f = *state;
	struct wf_collect_ctx cc = { .cat = f->cat, .rules = f->rules, .target_of = target_of, .ctx = f, .now_ms = END_MS };
	struct wf_edge_list w1 = { 0 }, w2 = { 0 };
	struct wf_collected c1 = { 0 }, c2 = { 0 };
	struct wf_edge_meta meta;
	bool found;
	uint32_t id;

	preempted(&w1, 100, "wrk:worker_1", 4, 8000, 0);
	assert_int_equal(collect_window(&cc, &w1, NULL, &c1), 0);
	id = c1.t[0].edges[0].id;
	assert_int_not_equal(id, 0);

	preempted(&w2, 100, "wrk:worker_1", 9, 8000, 0);
	w2.items[0].count_known = false;
	w2.items[0].offcpu_unknown = true;
	w2.items[0].runq_known = false;
	cc.now_ms = END_MS + 10000;
	assert_int_equal(collect_window(&cc, &w2, NULL, &c2), 0);
	assert_int_equal(c2.n, 1);
	assert_int_equal(c2.t[0].edges[0].id, id);
	assert_int_equal(c2.t[0].edges[0].count, 1);
	assert_int_equal(c2.t[0].edges[0].offcpu_us, 0);
	assert_int_equal(c2.t[0].edges[0].runq_us, 0);
	catalog_edge_metas(f->cat, &id, 1, &meta, &found);
	assert_true(found);
	assert_int_equal(meta.target_id, f->target_a);
	assert_int_equal(meta.category, WF_CAT_PREEMPT_INVOLUNTARY);
	assert_int_equal(meta.last_seen_ms, END_MS + 10000);

	collected_free(&c1);
	collected_free(&c2);
	edge_list_free(&w1);
	edge_list_free(&w2);
}

/* The encoded window is the records, byte for byte decodable, per target. */
static void test_encode(void **state)
{
	struct fx *f = *state;
	struct wf_collect_ctx cc = { .cat = f->cat, .rules = f->rules, .target_of = target_of, .ctx = f, .now_ms = END_MS };
	struct wf_edge_list edges = { 0 };
	struct capture_totals totals = { 0 };
	struct wf_collected col = { 0 };
	struct wf_encoded enc;
	struct wf_wtarget back;

	preempted(&edges, 100, "wrk:worker_0", 3, 3000, 1000);
	preempted(&edges, 200, "envoy", 2, 7000, 0);
	thread_totals(&totals, 200, "envoy", 123000);
	assert_int_equal(collect_window(&cc, &edges, &totals, &col), 0);
	assert_int_equal(collected_encode(&col, END_MS - 10000, END_MS, &enc), 0);
	assert_int_equal(enc.window.start_ms, END_MS - 10000);
	assert_int_equal(enc.window.end_ms, END_MS);
	assert_int_equal(enc.window.ntargets, 2);
	wtarget_init(&back, 0);
	for (size_t i = 0; i < enc.window.ntargets; i++) {
		const struct wf_store_target *st = &enc.window.targets[i];
		struct wf_wtarget *rec = record_of(&col, st->target_id);

		assert_non_null(rec);
		assert_int_equal(wtarget_decode_totals(&back, st->totals, st->totals_len), 0);
		assert_int_equal(wtarget_decode_edges(&back, st->edges, st->edges_len), 0);
		assert_int_equal(back.nedges, rec->nedges);
		assert_int_equal(back.edges[0].id, rec->edges[0].id);
		assert_int_equal(back.edges[0].offcpu_us, rec->edges[0].offcpu_us);
		assert_int_equal(back.ncats, rec->ncats);
		assert_int_equal(back.cats[0].count, rec->cats[0].count);
		assert_int_equal(back.nthreads, rec->nthreads);
		if (st->target_id == f->target_b)
			assert_int_equal(back.threads[0].oncpu_us, 123);
	}
	wtarget_free(&back);
	encoded_free(&enc);
	collected_free(&col);
	edge_list_free(&edges);
	free(totals.items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_window_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_stable_and_unknowns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encode, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
