// SPDX-License-Identifier: Apache-2.0
/*
 * catalog: ids that stay put (names, targets keyed by pid and start time,
 * edges keyed by hash), what is dirty for the store and when it is clean,
 * and expiry of old edges and targets.
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
#include "intern.h"

static struct wf_target target(int32_t pid, uint64_t start, int64_t seen)
{
	struct wf_target t;

	memset(&t, 0, sizeof(t));
	t.pid = pid;
	t.start_time = start;
	strcpy(t.comm, "envoy");
	t.first_seen_ms = t.last_seen_ms = seen;
	t.alive = true;
	return t;
}

static void test_names_and_targets(void **state)
{
	struct wf_catalog *c = catalog_new();
	struct wf_target t = target(10, 1000, 5), got;
	char buf[64];
	uint32_t a, b, ids[3];

	(void)state;
	assert_int_equal(catalog_name_id(c, NULL), 0);
	assert_int_equal(catalog_name_id(c, ""), 0);
	a = catalog_name_id(c, "wrk:worker_0");
	b = catalog_name_id(c, "envoy");
	assert_true(a && b && a != b);
	assert_int_equal(catalog_name_id(c, "wrk:worker_0"), a);
	assert_int_equal(catalog_name_find(c, "envoy"), b);
	assert_int_equal(catalog_name_find(c, "never"), 0);
	assert_string_equal(catalog_name(c, a, buf, sizeof(buf)), "wrk:worker_0");
	assert_string_equal(catalog_name(c, 999, buf, sizeof(buf)), "");
	/* many names: the index grows and every id stays findable */
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "name-%d", i);
		assert_int_equal(catalog_name_find(c, buf), 0);
		catalog_name_id(c, buf);
	}
	assert_int_equal(catalog_name_find(c, "name-4321"), catalog_name_id(c, "name-4321"));
	assert_int_equal(catalog_name_find(c, "wrk:worker_0"), a);

	ids[0] = catalog_target_put(c, &t);
	t.last_seen_ms = 50;
	assert_int_equal(catalog_target_put(c, &t), ids[0]); /* same process, updated */
	t = target(10, 2000, 60);			      /* pid reused: a new target */
	ids[1] = catalog_target_put(c, &t);
	assert_true(ids[1] != ids[0]);
	ids[2] = catalog_target_put(c, &(struct wf_target){ .pid = 11, .start_time = 1, .alive = true });
	assert_int_equal(catalog_target_get(c, ids[0], &got), 0);
	assert_int_equal(got.first_seen_ms, 5); /* kept from the first sighting */
	assert_int_equal(got.last_seen_ms, 50);
	catalog_free(c);
}

static void test_edges_dirty_prune(void **state)
{
	struct wf_catalog *c = catalog_new();
	struct wf_catalog_dirty d;
	struct wf_edge e;
	struct wf_edge_meta m = { .hash = 77, .target_id = 1, .category = 3, .first_seen_ms = 1000, .last_seen_ms = 1000 };
	uint32_t id, id2, tid;
	bool found;
	struct wf_edge_meta got;

	(void)state;
	tid = catalog_target_put(c, &(struct wf_target){ .pid = 5, .start_time = 9, .alive = true });
	edge_init(&e);
	strcpy(e.target.comm, "wrk:worker_0");
	e.target_stack.frames = malloc(2 * sizeof(char *));
	e.target_stack.frames[0] = intern("schedule");
	e.target_stack.frames[1] = intern("ep_poll");
	e.target_stack.nframes = 2;
	/* The hash covers the stacks: another frame, another edge. */
	{
		uint64_t h1 = catalog_edge_hash(&e, tid);

		e.target_stack.frames[1] = intern("futex_wait");
		assert_true(catalog_edge_hash(&e, tid) != h1);
		assert_true(catalog_edge_hash(&e, tid + 1) != catalog_edge_hash(&e, tid));
	}
	id = catalog_edge_put(c, &m, &e);
	assert_true(id > 0);
	m.last_seen_ms = 2000;
	assert_int_equal(catalog_edge_put(c, &m, &e), id);
	m.hash = 78;
	id2 = catalog_edge_put(c, &m, NULL);
	assert_int_equal(id2, id + 1);

	assert_int_equal(catalog_dirty(c, &d), 0);
	assert_int_equal(d.ntargets, 1);
	assert_int_equal(d.nedges, 2);
	assert_true(d.has_detail[0]);
	assert_int_equal(d.details[0].target_stack.nframes, 2);
	assert_false(d.has_detail[1]);
	/* a change after the snapshot stays dirty after mark_clean */
	catalog_target_put(c, &(struct wf_target){ .pid = 5, .start_time = 9, .alive = false });
	catalog_mark_clean(c, &d);
	catalog_dirty_free(&d);
	assert_int_equal(catalog_dirty(c, &d), 0);
	assert_int_equal(d.ntargets, 1);
	assert_int_equal(d.nedges, 0);
	catalog_mark_clean(c, &d);
	catalog_dirty_free(&d);
	/* seen again soon: not worth a write; an hour later: dirty again */
	m.hash = 77;
	m.last_seen_ms = 3000;
	catalog_edge_put(c, &m, &e);
	assert_int_equal(catalog_dirty(c, &d), 0);
	assert_int_equal(d.nedges, 0);
	catalog_dirty_free(&d);
	m.last_seen_ms = 3000 + 3601 * 1000;
	catalog_edge_put(c, &m, &e);
	assert_int_equal(catalog_dirty(c, &d), 0);
	assert_int_equal(d.nedges, 1);
	assert_false(d.has_detail[0]); /* known to the store already: no stacks again */
	catalog_mark_clean(c, &d);
	catalog_dirty_free(&d);

	/* expiry: edge 78 (last seen 2000) and the gone target go, edge 77 stays */
	catalog_prune(c, 10000, 0);
	catalog_edge_metas(c, &id2, 1, &got, &found);
	assert_false(found);
	catalog_edge_metas(c, &id, 1, &got, &found);
	assert_true(found);
	assert_int_equal(got.category, 3);
	assert_int_equal(catalog_edge_count(c), 1);
	{
		struct wf_target t;

		assert_int_equal(catalog_target_get(c, tid, &t), -1);
	}
	/* ids are never reused */
	m.hash = 79;
	assert_int_equal(catalog_edge_put(c, &m, NULL), id2 + 1);
	free(e.target_stack.frames);
	catalog_free(c);
}

/*
 * Names expire (issue 13): one an edge still held uses stays however old its
 * last use, and one read from the store counts as used when it was loaded;
 * the others go once past the retention, the slack and the margin, the
 * stored ones listed for the store to delete.
 */
static void test_names_expire_unless_held(void **state)
{
	const int64_t min = 60000, slack = 15 * min, retention = 60 * min;
	struct wf_catalog *c = catalog_new();
	struct wf_catalog_dirty d;
	struct wf_target t = target(5, 9, 0);
	uint32_t loaded, old, held, recent, tid;

	(void)state;
	catalog_set_seen_slack(c, slack);
	tid = catalog_target_put(c, &t); /* the catalog's clock: 0 */
	old = catalog_name_id(c, "old-thread");
	held = catalog_name_id(c, "held-thread");
	assert_true(old && held && old != held);
	/* An edge seen at 2 h uses held-thread, named at 0. */
	catalog_edge_put(c, &(struct wf_edge_meta){ .hash = 1, .target_id = tid, .thread = held, .last_seen_ms = 120 * min },
			 NULL);
	/* Loaded at 2 h, as a store opened then loads it. */
	catalog_advance_clock(c, 100 * min); /* never back */
	assert_int_equal(catalog_load_name(c, 40, "from-the-store"), 0);
	loaded = 40;
	recent = catalog_name_id(c, "recent-thread"); /* stamped 2 h */
	assert_int_equal(catalog_dirty(c, &d), 0);
	assert_int_equal(d.nnames, 3);
	catalog_mark_clean(c, &d);
	catalog_dirty_free(&d);

	/* At 2 h: old-thread is past 1 h + 15 min + the margin; the rest stay. */
	catalog_prune(c, 120 * min - retention, 0);
	assert_int_equal(catalog_name_find(c, "old-thread"), 0);
	assert_int_equal(catalog_name_find(c, "held-thread"), held);
	assert_int_equal(catalog_name_find(c, "recent-thread"), recent);
	assert_int_equal(catalog_name_find(c, "from-the-store"), loaded);
	assert_int_equal(catalog_name_count(c), 3);
	assert_int_equal(catalog_dirty(c, &d), 0);
	assert_int_equal(d.nforgotten, 1);
	assert_int_equal(d.forgotten_names[0], old);
	assert_int_equal(d.nnames, 0);
	catalog_mark_clean(c, &d);
	catalog_dirty_free(&d);
	assert_int_equal(catalog_dirty(c, &d), 0);
	assert_int_equal(d.nforgotten, 0);
	catalog_dirty_free(&d);
	/* The lowest free id is handed out next. */
	assert_int_equal(catalog_name_id(c, "another-thread"), old);

	/* At 5 h: the edge is gone (last seen 2 h), so are its name, the loaded
	 * one (used at 2 h) and recent-thread. */
	catalog_target_put(c, &(struct wf_target){ .pid = 5, .start_time = 9, .alive = true, .last_seen_ms = 300 * min });
	catalog_prune(c, 300 * min - retention, 0);
	assert_int_equal(catalog_name_find(c, "held-thread"), 0);
	assert_int_equal(catalog_name_find(c, "from-the-store"), 0);
	assert_int_equal(catalog_name_find(c, "recent-thread"), 0);
	assert_int_equal(catalog_name_count(c), 0); /* another-thread too: named at 2 h */
	catalog_free(c);
}

/* A chain link's record (its identity has no stacks, collect/chains.c):
 * first seen without stacks, then with them: the stacks are kept and the
 * record is stored again; later records without stacks change nothing. */
static void test_link_record_gains_stacks(void **state)
{
	struct wf_catalog *c = catalog_new();
	struct wf_catalog_dirty d;
	struct wf_edge bare, sampled, got;
	struct wf_edge_meta m = { .hash = 91, .target_id = 1, .first_seen_ms = 1000, .last_seen_ms = 1000 };
	uint32_t id;

	(void)state;
	edge_init(&bare);
	strcpy(bare.target.comm, "wf-b");
	sampled = bare;
	sampled.stacks_sampled = true;
	sampled.waker_stack.frames = malloc(sizeof(char *));
	sampled.waker_stack.frames[0] = intern("eventfd_write");
	sampled.waker_stack.nframes = 1;
	id = catalog_edge_put(c, &m, &bare);
	assert_int_equal(catalog_dirty(c, &d), 0);
	assert_int_equal(d.nedges, 1);
	catalog_mark_clean(c, &d);
	catalog_dirty_free(&d);

	assert_int_equal(catalog_edge_put(c, &m, &sampled), id);
	assert_int_equal(catalog_edge_detail(c, id, &got), 0);
	assert_true(got.stacks_sampled);
	assert_int_equal(got.waker_stack.nframes, 1);
	assert_string_equal(got.waker_stack.frames[0], "eventfd_write");
	catalog_free_edge(&got);
	assert_int_equal(catalog_dirty(c, &d), 0);
	assert_int_equal(d.nedges, 1);
	assert_true(d.has_detail[0]); /* written again, with its stacks */
	assert_int_equal(d.details[0].waker_stack.nframes, 1);
	catalog_mark_clean(c, &d);
	catalog_dirty_free(&d);

	assert_int_equal(catalog_edge_put(c, &m, &bare), id);
	assert_int_equal(catalog_edge_detail(c, id, &got), 0);
	assert_true(got.stacks_sampled);
	catalog_free_edge(&got);
	free(sampled.waker_stack.frames);
	catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_targets),
		cmocka_unit_test(test_edges_dirty_prune),
		cmocka_unit_test(test_link_record_gains_stacks),
		cmocka_unit_test(test_names_expire_unless_held),
	};

	return cmocka_run_group_tests_name("catalog", tests, NULL, NULL);
}
