// SPDX-License-Identifier: Apache-2.0
/*
 * intern: the table a long-running serve bounds by sweeping it. A sweep
 * evicts every string nobody marked and keeps the marked ones at the same
 * address; an evicted string stays readable until the next sweep (an HTTP
 * answer may still be writing it); under churn the table holds what is
 * held, not everything ever seen. The holders' marks are real: the
 * catalog's edge records (dropped records free their frames) and a real
 * symbolizer's cached names for this very process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "edge.h"
#include "intern.h"
#include "symbolize.h"

static int reset(void **state)
{
	(void)state;
	intern_reset();
	return 0;
}

static void test_sweep_keeps_marked(void **state)
{
	const char *a = intern("schedule"), *b = intern("[anon]+0x7f00"), *c = intern("ep_poll");
	size_t bytes = intern_bytes();

	(void)state;
	assert_int_equal(intern_count(), 3);
	intern_sweep_begin();
	intern_mark(a);
	intern_mark(c);
	intern_mark("schedule"); /* an equal string that is not the interned copy: ignored */
	intern_mark(NULL);
	assert_int_equal(intern_sweep_end(), 1);
	assert_int_equal(intern_count(), 2);
	assert_int_equal(intern_bytes(), bytes - strlen("[anon]+0x7f00") - 1);
	/* Kept strings keep their address: pointer comparisons stay true. */
	assert_ptr_equal(intern("schedule"), a);
	assert_ptr_equal(intern("ep_poll"), c);
	/* The evicted one is still readable until the next sweep ... */
	assert_string_equal(b, "[anon]+0x7f00");
	/* ... and interning it again makes a new copy. */
	assert_string_equal(intern("[anon]+0x7f00"), "[anon]+0x7f00");
	assert_int_equal(intern_count(), 3);
	/* Nothing marked: everything goes. */
	intern_sweep_begin();
	assert_int_equal(intern_sweep_end(), 3);
	assert_int_equal(intern_count(), 0);
	assert_int_equal(intern_bytes(), 0);
	assert_string_equal(intern("schedule"), "schedule");
}

/* Frames never seen again (JIT code, pid churn) come and go: the table holds
 * what the holders hold, round after round, and its lookups still work. */
static void test_bounded_under_churn(void **state)
{
	const char *held[1000];
	const char *pinned = intern("futex_wait_queue");
	char name[64];

	(void)state;
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 1000; i++) {
			snprintf(name, sizeof(name), "[anon]+0x%x", round * 1000 + i);
			held[i] = intern(name);
			assert_non_null(held[i]);
		}
		intern_sweep_begin();
		intern_mark(pinned);
		for (int i = 0; i < 1000; i++)
			intern_mark(held[i]);
		assert_int_equal(intern_sweep_end(), round ? 1000 : 0);
		assert_int_equal(intern_count(), 1001);
	}
	assert_ptr_equal(intern("futex_wait_queue"), pinned);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "[anon]+0x%x", 49 * 1000 + i);
		assert_ptr_equal(intern(name), held[i]);
	}
	assert_int_equal(intern_count(), 1001);
}

static void edge_with_frames(struct wf_edge *e, const char *f0, const char *f1)
{
	edge_init(e);
	strcpy(e->target.comm, "wrk:worker_0");
	e->target_stack.frames = malloc(2 * sizeof(char *));
	assert_non_null(e->target_stack.frames);
	e->target_stack.frames[0] = intern(f0);
	e->target_stack.frames[1] = intern(f1);
	e->target_stack.nframes = 2;
	edge_add_fact(e, "fd=socket");
	e->activity = intern("envoy.worker");
}

/* The catalog marks the frames of the edge records it holds: once a
 * persisted edge's record is dropped (the store names it from then on),
 * its own frames are evicted; frames another record shares stay. */
static void test_catalog_marks(void **state)
{
	struct wf_catalog *c = catalog_new();
	struct wf_catalog_dirty d;
	struct wf_edge old, recent, copy;
	struct wf_edge_meta m = { .hash = 1, .target_id = 1, .first_seen_ms = 1000, .last_seen_ms = 1000 };
	uint32_t id_old, id_recent;
	const char *gone_frame;

	(void)state;
	assert_non_null(c);
	edge_with_frames(&old, "schedule", "[anon]+0x1000");
	edge_with_frames(&recent, "schedule", "[anon]+0x2000");
	gone_frame = old.target_stack.frames[1];
	id_old = catalog_edge_put(c, &m, &old);
	m.hash = 2;
	m.first_seen_ms = m.last_seen_ms = 50000;
	id_recent = catalog_edge_put(c, &m, &recent);
	assert_true(id_old && id_recent);
	/* Both written to the store: their records may be dropped. */
	assert_int_equal(catalog_dirty(c, &d), 0);
	catalog_mark_clean(c, &d);
	catalog_dirty_free(&d);
	free(old.target_stack.frames);
	free(recent.target_stack.frames);
	assert_int_equal(intern_count(), 5); /* schedule, two anon frames, the fact, the activity */

	/* Records last seen before 10 s are left to the store; both edges stay. */
	catalog_prune(c, 0, 10000);
	assert_int_not_equal(catalog_edge_detail(c, id_old, &copy), 0);
	intern_sweep_begin();
	catalog_mark_interned(c);
	assert_int_equal(intern_sweep_end(), 1);
	assert_int_equal(intern_count(), 4);
	assert_string_equal(gone_frame, "[anon]+0x1000"); /* readable until the next sweep */

	/* The record still held answers with valid, still-interned names. */
	assert_int_equal(catalog_edge_detail(c, id_recent, &copy), 0);
	assert_ptr_equal(copy.target_stack.frames[0], intern("schedule"));
	assert_ptr_equal(copy.target_stack.frames[1], intern("[anon]+0x2000"));
	assert_ptr_equal(copy.facts[0], intern("fd=socket"));
	assert_ptr_equal(copy.activity, intern("envoy.worker"));
	free(copy.waker_stack.frames);
	free(copy.target_stack.frames);
	assert_int_equal(intern_count(), 4);
	catalog_free(c);
}

/* A real symbolizer on this process: the names it caches survive a sweep
 * at the same address (it hands them out again without interning). */
static void test_symbolizer_marks(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	const char *name, *again;

	(void)state;
	assert_non_null(s);
	assert_int_equal(sym_process_seen(s, getpid()), 0);
	name = sym_user(s, getpid(), (uint64_t)(uintptr_t)test_symbolizer_marks + 4);
	assert_string_equal(name, "test_symbolizer_marks");
	intern("[anon]+0xdead"); /* held by nobody */
	intern_sweep_begin();
	sym_mark_interned(s);
	assert_int_equal(intern_sweep_end(), 1);
	again = sym_user(s, getpid(), (uint64_t)(uintptr_t)test_symbolizer_marks + 4);
	assert_ptr_equal(again, name);
	assert_ptr_equal(intern("test_symbolizer_marks"), name);
	symbolizer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sweep_keeps_marked, reset),
		cmocka_unit_test_teardown(test_bounded_under_churn, reset),
		cmocka_unit_test_teardown(test_catalog_marks, reset),
		cmocka_unit_test_teardown(test_symbolizer_marks, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
