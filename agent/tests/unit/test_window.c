// SPDX-License-Identifier: Apache-2.0
/*
 * window: merging and normalizing target windows, and the blob codec:
 * round trips, sizes, and every truncation or corruption of a blob must
 * decode to an error, never to garbage or a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "window.h"

static void fill(struct wf_wtarget *t)
{
	wtarget_init(t, 7);
	t->nr_periods = 100;
	t->nr_throttled = 12;
	t->throttled_us = 345678;
	/* Out of order, with duplicates to merge. */
	assert_int_equal(wtarget_add_thread(t, &(struct wf_wthread){ .name = 9, .role = 1, .oncpu_us = 10,
								    .preempted_us = 2, .switches = 5, .involuntary = 1 }),
			 0);
	assert_int_equal(wtarget_add_thread(t, &(struct wf_wthread){ .name = 3, .role = 2, .oncpu_us = 7 }), 0);
	assert_int_equal(wtarget_add_thread(t, &(struct wf_wthread){ .name = 9, .role = 1, .oncpu_us = 5,
								    .preempted_us = 3, .switches = 4, .involuntary = 2 }),
			 0);
	assert_int_equal(wtarget_add_cat(t, &(struct wf_wcat){ .thread = 9, .role = 1, .category = 3, .activity = 0,
							      .count = 2, .offcpu_us = 1000, .runq_us = 10 }),
			 0);
	assert_int_equal(wtarget_add_cat(t, &(struct wf_wcat){ .thread = 9, .role = 1, .category = 3, .activity = 0,
							      .count = 1, .offcpu_us = 500, .runq_us = 5 }),
			 0);
	assert_int_equal(wtarget_add_cat(t, &(struct wf_wcat){ .thread = 3, .role = 2, .category = 13, .activity = 4,
							      .count = 8, .offcpu_us = 1ULL << 40, .runq_us = 0 }),
			 0);
	for (uint32_t id = 2000; id > 0; id--)
		assert_int_equal(wtarget_add_edge(t, &(struct wf_wedge){ .id = id * 3, .count = id, .offcpu_us = id * 100,
									.runq_us = id, .max_us = id * 2 }),
				 0);
	assert_int_equal(wtarget_add_edge(t, &(struct wf_wedge){ .id = 30, .count = 1, .offcpu_us = 1, .runq_us = 1,
								.max_us = 100000 }),
			 0);
	wtarget_normalize(t);
}

static void test_normalize(void **state)
{
	struct wf_wtarget t;

	(void)state;
	fill(&t);
	assert_int_equal(t.nthreads, 2);
	assert_int_equal(t.threads[0].name, 3);
	assert_int_equal(t.threads[1].name, 9);
	assert_int_equal(t.threads[1].oncpu_us, 15);
	assert_int_equal(t.threads[1].preempted_us, 5);
	assert_int_equal(t.threads[1].switches, 9);
	assert_int_equal(t.threads[1].involuntary, 3);
	assert_int_equal(t.ncats, 2);
	assert_int_equal(t.cats[1].count, 3);
	assert_int_equal(t.cats[1].offcpu_us, 1500);
	assert_int_equal(t.nedges, 2000);
	assert_int_equal(t.edges[0].id, 3);
	/* id 30 appeared twice: summed, and the larger max kept */
	assert_int_equal(t.edges[9].id, 30);
	assert_int_equal(t.edges[9].count, 11);
	assert_int_equal(t.edges[9].offcpu_us, 1001);
	assert_int_equal(t.edges[9].max_us, 100000);
	wtarget_free(&t);
}

/* Field by field: the structs have padding, whose bytes decoding leaves as
 * they were (a byte comparison passed or failed with the heap's layout). */
static bool same_thread(const struct wf_wthread *a, const struct wf_wthread *b)
{
	return a->name == b->name && a->role == b->role && a->oncpu_us == b->oncpu_us &&
	       a->preempted_us == b->preempted_us && a->blocked_us == b->blocked_us && a->runq_us == b->runq_us &&
	       a->switches == b->switches && a->involuntary == b->involuntary && a->wakeups == b->wakeups;
}

static bool same_cat(const struct wf_wcat *a, const struct wf_wcat *b)
{
	return a->thread == b->thread && a->role == b->role && a->category == b->category &&
	       a->activity == b->activity && a->count == b->count && a->offcpu_us == b->offcpu_us &&
	       a->runq_us == b->runq_us;
}

static bool same_edge(const struct wf_wedge *a, const struct wf_wedge *b)
{
	return a->id == b->id && a->count == b->count && a->offcpu_us == b->offcpu_us && a->runq_us == b->runq_us &&
	       a->max_us == b->max_us;
}

static void test_roundtrip_and_merge(void **state)
{
	struct wf_wtarget t, d, m;
	struct wf_buf tb = { 0 }, eb = { 0 };

	(void)state;
	fill(&t);
	assert_int_equal(wtarget_encode_totals(&t, &tb), 0);
	assert_int_equal(wtarget_encode_edges(&t, &eb), 0);
	/* Sorted, delta-coded ids and small numbers stay compact. */
	assert_true(eb.len < 2000 * 12);

	wtarget_init(&d, 7);
	assert_int_equal(wtarget_decode_totals(&d, tb.data, tb.len), 0);
	assert_int_equal(wtarget_decode_edges(&d, eb.data, eb.len), 0);
	assert_int_equal(d.nr_periods, 100);
	assert_int_equal(d.nr_throttled, 12);
	assert_int_equal(d.throttled_us, 345678);
	assert_int_equal(d.nthreads, t.nthreads);
	for (size_t i = 0; i < t.nthreads; i++)
		assert_true(same_thread(&d.threads[i], &t.threads[i]));
	assert_int_equal(d.ncats, t.ncats);
	for (size_t i = 0; i < t.ncats; i++)
		assert_true(same_cat(&d.cats[i], &t.cats[i]));
	assert_int_equal(d.nedges, t.nedges);
	for (size_t i = 0; i < t.nedges; i++)
		assert_true(same_edge(&d.edges[i], &t.edges[i]));

	/* A rollup of two copies doubles every number and keeps the keys. */
	wtarget_init(&m, 7);
	assert_int_equal(wtarget_merge(&m, &t), 0);
	assert_int_equal(wtarget_merge(&m, &d), 0);
	wtarget_normalize(&m);
	assert_int_equal(m.nedges, 2000);
	assert_int_equal(m.edges[9].count, 22);
	assert_int_equal(m.edges[9].max_us, 100000);
	assert_int_equal(m.cats[0].offcpu_us, 2ULL << 40);
	assert_int_equal(m.throttled_us, 2 * 345678);
	wtarget_free(&m);
	wtarget_free(&d);
	wtarget_free(&t);
	wf_buf_free(&tb);
	wf_buf_free(&eb);
}

static void test_corrupt(void **state)
{
	struct wf_wtarget t, d;
	struct wf_buf tb = { 0 }, eb = { 0 };
	uint8_t *copy;

	(void)state;
	fill(&t);
	assert_int_equal(wtarget_encode_totals(&t, &tb), 0);
	assert_int_equal(wtarget_encode_edges(&t, &eb), 0);
	wtarget_init(&d, 7);
	/* Every truncation fails. */
	for (size_t n = 0; n < tb.len; n++)
		assert_int_equal(wtarget_decode_totals(&d, tb.data, n), -1);
	for (size_t n = 0; n < eb.len; n += 7)
		assert_int_equal(wtarget_decode_edges(&d, eb.data, n), -1);
	/* Trailing bytes fail. */
	copy = malloc(tb.len + 1);
	memcpy(copy, tb.data, tb.len);
	copy[tb.len] = 0;
	assert_int_equal(wtarget_decode_totals(&d, copy, tb.len + 1), -1);
	/* An unknown version fails. */
	copy[0] = 2;
	assert_int_equal(wtarget_decode_totals(&d, copy, tb.len), -1);
	free(copy);
	/* A count claiming more entries than bytes fails without allocating them. */
	{
		static const uint8_t liar[] = { 1, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3 };

		assert_int_equal(wtarget_decode_edges(&d, liar, sizeof(liar)), -1);
	}
	/* Flipped bytes never crash (they may decode to other numbers). */
	copy = malloc(eb.len);
	for (size_t i = 0; i < eb.len; i += 13) {
		memcpy(copy, eb.data, eb.len);
		copy[i] ^= 0xff;
		(void)wtarget_decode_edges(&d, copy, eb.len);
	}
	free(copy);
	wtarget_free(&d);
	wtarget_free(&t);
	wf_buf_free(&tb);
	wf_buf_free(&eb);
}

/* A number of random width (0-64 bits): blobs mixing 1-byte varints and
 * ones longer than the decoders' 5-byte fast path. */
static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd_wide(void)
{
	unsigned bits;

	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	bits = (unsigned)(rnd_state >> 58); /* 0..63 */
	return bits ? (rnd_state * 0x2545f4914f6cdd1dULL) >> (64 - bits) : 0;
}

static void test_roundtrip_every_width(void **state)
{
	(void)state;
	for (int round = 0; round < 50; round++) {
		struct wf_wtarget t, d;
		struct wf_buf tb = { 0 }, eb = { 0 };

		wtarget_init(&t, 7);
		for (uint32_t i = 0; i < 40; i++)
			assert_int_equal(wtarget_add_thread(&t, &(struct wf_wthread){
						.name = (uint32_t)rnd_wide(), .role = (uint8_t)rnd_wide(),
						.oncpu_us = rnd_wide(), .preempted_us = rnd_wide(), .blocked_us = rnd_wide(),
						.runq_us = rnd_wide(), .switches = rnd_wide(), .involuntary = rnd_wide(),
						.wakeups = rnd_wide() }),
					 0);
		for (uint32_t i = 0; i < 60; i++)
			assert_int_equal(wtarget_add_cat(&t, &(struct wf_wcat){
						.thread = (uint32_t)rnd_wide(), .role = (uint8_t)rnd_wide(),
						.category = (uint8_t)rnd_wide(), .activity = (uint32_t)rnd_wide(),
						.count = rnd_wide(), .offcpu_us = rnd_wide(), .runq_us = rnd_wide() }),
					 0);
		for (uint32_t i = 0; i < 500; i++)
			assert_int_equal(wtarget_add_edge(&t, &(struct wf_wedge){
						.id = (uint32_t)rnd_wide(), .count = rnd_wide(), .offcpu_us = rnd_wide(),
						.runq_us = rnd_wide(), .max_us = rnd_wide() }),
					 0);
		wtarget_normalize(&t);
		assert_int_equal(wtarget_encode_totals(&t, &tb), 0);
		assert_int_equal(wtarget_encode_edges(&t, &eb), 0);
		wtarget_init(&d, 7);
		assert_int_equal(wtarget_decode_totals(&d, tb.data, tb.len), 0);
		assert_int_equal(wtarget_decode_edges(&d, eb.data, eb.len), 0);
		/* Field by field: the structs' padding is not part of the round trip. */
		assert_int_equal(d.nthreads, t.nthreads);
		for (size_t i = 0; i < t.nthreads; i++) {
			const struct wf_wthread *x = &d.threads[i], *y = &t.threads[i];

			assert_true(x->name == y->name && x->role == y->role && x->oncpu_us == y->oncpu_us &&
				    x->preempted_us == y->preempted_us && x->blocked_us == y->blocked_us &&
				    x->runq_us == y->runq_us && x->switches == y->switches &&
				    x->involuntary == y->involuntary && x->wakeups == y->wakeups);
		}
		assert_int_equal(d.ncats, t.ncats);
		for (size_t i = 0; i < t.ncats; i++) {
			const struct wf_wcat *x = &d.cats[i], *y = &t.cats[i];

			assert_true(x->thread == y->thread && x->role == y->role && x->category == y->category &&
				    x->activity == y->activity && x->count == y->count && x->offcpu_us == y->offcpu_us &&
				    x->runq_us == y->runq_us);
		}
		assert_int_equal(d.nedges, t.nedges);
		for (size_t i = 0; i < t.nedges; i++) {
			const struct wf_wedge *x = &d.edges[i], *y = &t.edges[i];

			assert_true(x->id == y->id && x->count == y->count && x->offcpu_us == y->offcpu_us &&
				    x->runq_us == y->runq_us && x->max_us == y->max_us);
		}
		/* Every truncation still fails, wherever the fast path stops. */
		for (size_t n = 0; n < eb.len; n += 11)
			assert_int_equal(wtarget_decode_edges(&d, eb.data, n), -1);
		for (size_t n = 0; n < tb.len; n += 11)
			assert_int_equal(wtarget_decode_totals(&d, tb.data, n), -1);
		wtarget_free(&d);
		wtarget_free(&t);
		wf_buf_free(&tb);
		wf_buf_free(&eb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_roundtrip_and_merge),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_roundtrip_every_width),
	};

	return cmocka_run_group_tests_name("window", tests, NULL, NULL);
}
