/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cases both caches of blocks of rolled-up minutes are tested on
 * (minute_blocks.h; test_edge_blocks.c, test_series_blocks.c), against a
 * real SQLite store in a temporary directory: a catalog of NTARGETS targets
 * with NEDGES edges each, and windows of every target with edges,
 * per-thread totals and per-category records whose numbers differ per
 * window (and per salt, for "another store"), written to the store and to
 * each history's ring as the daemon's main loop writes them. Every answer
 * of a history that keeps blocks is compared with the one of a history that
 * keeps none (each minute's blobs read from the store, as before the
 * caches), as the test's text of it (struct blocks_kind), and the cache's
 * counters show that blocks were really answered from memory. The cases a
 * kept block would answer stale: retention cutting into a block, minutes
 * the store took late (after refusing them), a late window of a minute
 * already rolled up, a restart on a new store, and the memory bound.
 */
#ifndef WAKEFLOW_TEST_MINUTE_BLOCKS_CASES_H
#define WAKEFLOW_TEST_MINUTE_BLOCKS_CASES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "fake_fs.h"
#include "history.h"
#include "minute_blocks.h"
#include "store.h"
#include "taxonomy.h"
#include "window.h"

#define T0 1700000100000LL /* a multiple of 5 minutes */
#define W 10000LL
#define WPM 6 /* windows per minute */
#define NTARGETS 2
#define NEDGES 6 /* per target */
#define NTHREADS 2 /* per target */
#define MIN_MS 60000LL

/* What a test file tests: one cache, its answers as text. */
struct blocks_kind {
	enum wf_blocks_kind kind;
	size_t max_bytes; /* the daemon's bound */
	/* The answer over [from, to) with the query's other parameters
	 * (extra: "&name=value..."), as text into out; returns how many rows
	 * or points it holds. */
	size_t (*answer)(struct wf_history *h, int64_t from, int64_t to, int64_t now, const char *extra, char *out,
			 size_t len);
	const char *const *extras; /* queries each case asks; extras[0] the plainest */
	size_t nextras;
};

struct fx {
	char dir[64], path[128];
	struct wf_store_opts opts;
	struct wf_catalog *cat;
	uint32_t target[NTARGETS], edge[NTARGETS][NEDGES];
	uint32_t thread[NTHREADS], activity; /* name ids */
	uint64_t salt; /* changes every number written (a different store's content) */
	const struct blocks_kind *kind;
};

static const uint8_t categories[NEDGES] = { WF_CAT_NET_TCP_DATA,	       WF_CAT_NET_UNIX, WF_CAT_IPC_EVENTFD,
					    WF_CAT_PREEMPT_INVOLUNTARY, WF_CAT_TIMER,    WF_CAT_NET_TCP_DATA };

/* Targets and edges, as a daemon starting on an empty store finds them. */
static void make_catalog(struct fx *f)
{
	f->cat = catalog_new();
	assert_non_null(f->cat);
	for (int th = 0; th < NTHREADS; th++) {
		char name[16];

		/* Thread 0 is Envoy's main thread, the others its workers. */
		snprintf(name, sizeof(name), th ? "wrk:worker_%d" : "envoy", th - 1);
		f->thread[th] = catalog_name_id(f->cat, name);
		assert_true(f->thread[th]);
	}
	f->activity = catalog_name_id(f->cat, "http.request");
	assert_true(f->activity);
	for (int t = 0; t < NTARGETS; t++) {
		struct wf_target tg;

		memset(&tg, 0, sizeof(tg));
		tg.pid = 100 + t;
		tg.start_time = 777 + (uint64_t)t;
		snprintf(tg.comm, sizeof(tg.comm), "envoy%d", t);
		snprintf(tg.labels.value[WF_LABEL_POD], sizeof(tg.labels.value[WF_LABEL_POD]), "pod-%d", t);
		tg.first_seen_ms = tg.last_seen_ms = T0;
		tg.alive = true;
		f->target[t] = catalog_target_put(f->cat, &tg);
		assert_true(f->target[t]);
		for (int j = 0; j < NEDGES; j++) {
			f->edge[t][j] = catalog_edge_put(f->cat,
							 &(struct wf_edge_meta){ .hash = 1000 + (uint64_t)(t * NEDGES + j),
										 .target_id = f->target[t],
										 .category = categories[j],
										 .first_seen_ms = T0,
										 .last_seen_ms = T0 },
							 NULL);
			assert_true(f->edge[t][j]);
		}
	}
}

/* kind: the test file's (its own setup passes it). */
static int setup_kind(void **state, const struct blocks_kind *kind)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/wf-test-minute-blocks-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/b.db", f->dir);
	f->opts = (struct wf_store_opts){ .path = f->path, .retention_ms = 24 * 3600000LL,
					  .fine_retention_ms = 3 * 3600000LL };
	make_catalog(f);
	f->kind = kind;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	catalog_free(f->cat);
	rm_tree(f->dir);
	free(f);
	return 0;
}

/* Window k of every target: edge j present unless (k + j) % 3 == 0; the
 * totals of each thread, and a record per thread and category unless
 * (k + j + thread) % 4 == 0; numbers that differ per window, edge, thread,
 * target (and salt). */
static void make_window(struct fx *f, int k, struct wf_buf *tb, struct wf_buf *eb, struct wf_store_target *st)
{
	for (int t = 0; t < NTARGETS; t++) {
		uint64_t kk = (uint64_t)k + f->salt;
		struct wf_wtarget wt;

		wtarget_init(&wt, f->target[t]);
		for (int j = 0; j < NEDGES; j++) {
			if ((k + j) % 3 == 0)
				continue;
			wtarget_add_edge(&wt, &(struct wf_wedge){ .id = f->edge[t][j],
								  .count = kk * 7 + (uint64_t)j + 1 + (uint64_t)t,
								  .offcpu_us = (kk + 1) * ((uint64_t)j + 1) * 100 + (uint64_t)t,
								  .runq_us = kk % 5 + (uint64_t)j,
								  .max_us = (kk * 13 + (uint64_t)j * 7) % 50 + 1 });
		}
		for (int th = 0; th < NTHREADS; th++) {
			uint8_t role = th ? WF_ROLE_WORKER : WF_ROLE_MAIN;

			wtarget_add_thread(&wt, &(struct wf_wthread){ .name = f->thread[th], .role = role,
								      .oncpu_us = kk * 31 + (uint64_t)th * 7 + (uint64_t)t,
								      .preempted_us = (kk * 17 + (uint64_t)th) % 900,
								      .switches = kk % 40 + 10 + (uint64_t)th,
								      .involuntary = kk % 9 + (uint64_t)t });
			for (int j = 0; j < NEDGES; j++) {
				if ((k + j + th) % 4 == 0)
					continue;
				wtarget_add_cat(&wt, &(struct wf_wcat){ .thread = f->thread[th], .role = role,
									.category = categories[j],
									.activity = j % 2 ? f->activity : 0,
									.count = kk % 11 + (uint64_t)j + 1,
									/* Not whole seconds: sums of doubles in another
									 * order would show in the last digits. */
									.offcpu_us = kk * 1234567 % 999983 + (uint64_t)(j * 3 + th),
									.runq_us = kk * 7919 % 10007 + (uint64_t)t });
			}
		}
		wt.throttled_us = kk % 13 * 1000 + (uint64_t)t;
		wtarget_normalize(&wt);
		assert_int_equal(wtarget_encode_totals(&wt, &tb[t]), 0);
		assert_int_equal(wtarget_encode_edges(&wt, &eb[t]), 0);
		st[t] = (struct wf_store_target){ f->target[t], tb[t].data, tb[t].len, eb[t].data, eb[t].len, NULL, 0 };
		wtarget_free(&wt);
	}
}

/* Windows [k0, k1): to the store (if given; at now = the window's end) and
 * to each history's ring, persisted as the store said. */
static void write_windows(struct fx *f, struct wf_store *s, struct wf_history **hs, size_t nh, int k0, int k1)
{
	for (int k = k0; k < k1; k++) {
		struct wf_buf tb[NTARGETS] = { 0 }, eb[NTARGETS] = { 0 };
		struct wf_store_target st[NTARGETS];
		struct wf_store_window w;
		bool persisted;

		make_window(f, k, tb, eb, st);
		w = (struct wf_store_window){ T0 + k * W, T0 + (k + 1) * W, st, NTARGETS };
		persisted = s && store_write_window(s, &w, w.end_ms) == 0;
		if (s)
			assert_true(persisted);
		for (size_t i = 0; i < nh; i++)
			assert_int_equal(history_add(hs[i], &w, persisted), 0);
		for (int t = 0; t < NTARGETS; t++) {
			wf_buf_free(&tb[t]);
			wf_buf_free(&eb[t]);
		}
	}
}

#define ANSWER_BYTES (1 << 17)

/* The cached history's answer equals the uncached one's, and holds something. */
static void assert_same(struct fx *f, struct wf_history *cached, struct wf_history *plain, int64_t from, int64_t to,
			int64_t now, const char *extra)
{
	static char x[ANSWER_BYTES], y[ANSWER_BYTES];
	size_t n = f->kind->answer(cached, from, to, now, extra, x, sizeof(x));

	f->kind->answer(plain, from, to, now, extra, y, sizeof(y));
	if (strcmp(x, y))
		fail_msg("[%lld, %lld)%s differs:\ncached:\n%s\nfrom the store:\n%s", (long long)(from - T0),
			 (long long)(to - T0), extra, x, y);
	assert_true(n > 0);
}

static struct wf_history *new_history(struct fx *f, struct wf_store *s, size_t max_bytes)
{
	struct wf_history *h = history_new(s, f->cat, W, f->opts.fine_retention_ms, 16);

	assert_non_null(h);
	assert_int_equal(history_blocks_limit(h, f->kind->kind, max_bytes), 0);
	return h;
}

static struct wf_block_cache_stats stats(struct fx *f, struct wf_history *h)
{
	struct wf_block_cache_stats st;

	history_blocks_stats(h, f->kind->kind, &st);
	return st;
}

/* 40 minutes; ranges aligned and not, every query: each the same as from
 * the store, cold and warm, and the warm ones from memory. */
static void test_same_answers(void **state)
{
	struct fx *f = *state;
	struct wf_store *s = store_open(&f->opts, f->cat, T0);
	struct wf_history *c = new_history(f, s, f->kind->max_bytes), *p = new_history(f, s, 0);
	struct wf_history *hs[] = { c, p };
	int64_t end = T0 + 40 * MIN_MS, now = end + W;
	static const int64_t ranges[][2] = {
		{ 0, 40 * MIN_MS },	     { 0, 10 * MIN_MS },	   { 5 * MIN_MS, 35 * MIN_MS },
		{ 3 * MIN_MS, 22 * MIN_MS }, { 7 * MIN_MS + 20000, 31 * MIN_MS + 40000 }, { 1 * MIN_MS, 4 * MIN_MS },
		{ 9 * MIN_MS, 11 * MIN_MS }, { 12345, 40 * MIN_MS - 1 },
	};

	write_windows(f, s, hs, 2, 0, 40 * WPM);
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
			for (size_t e = 0; e < f->kind->nextras; e++)
				assert_same(f, c, p, T0 + ranges[i][0], T0 + ranges[i][1], now, f->kind->extras[e]);
	assert_true(stats(f, c).hits > 100);
	assert_int_equal(stats(f, c).stale, 0);
	assert_int_equal(stats(f, c).blocks, 7); /* [0, 35) min: minute 39 is not rolled up yet */
	assert_int_equal(stats(f, p).blocks, 0);
	history_free(c);
	history_free(p);
	store_close(s);
}

/* Retention cuts tier 1 in the middle of a kept block: the block is
 * rebuilt from the minutes left, not answered as it was. */
static void test_retention_cuts_block(void **state)
{
	struct fx *f = *state;
	struct wf_store *s;
	struct wf_history *c, *p, *hs[2];
	static char before[ANSWER_BYTES], after[ANSWER_BYTES];
	const char *plain = f->kind->extras[0];

	f->opts.retention_ms = 30 * MIN_MS;
	f->opts.fine_retention_ms = 20 * MIN_MS;
	s = store_open(&f->opts, f->cat, T0);
	c = new_history(f, s, f->kind->max_bytes);
	p = new_history(f, s, 0);
	hs[0] = c;
	hs[1] = p;
	write_windows(f, s, hs, 2, 0, 30 * WPM);
	assert_same(f, c, p, T0, T0 + 30 * MIN_MS, T0 + 30 * MIN_MS, plain);
	assert_same(f, c, p, T0, T0 + 30 * MIN_MS, T0 + 30 * MIN_MS, plain);
	f->kind->answer(c, T0, T0 + 30 * MIN_MS, T0 + 30 * MIN_MS, plain, before, sizeof(before));
	assert_true(stats(f, c).hits >= 5);
	/* 7 minutes and 20 s more: retention (each minute of writes) then cuts
	 * tier 1 before minute 7:20, in the block [5, 10). */
	write_windows(f, s, hs, 2, 30 * WPM, 37 * WPM + 2);
	for (size_t e = 0; e < f->kind->nextras; e++)
		assert_same(f, c, p, T0, T0 + 30 * MIN_MS, T0 + 37 * MIN_MS, f->kind->extras[e]);
	f->kind->answer(c, T0, T0 + 30 * MIN_MS, T0 + 37 * MIN_MS, plain, after, sizeof(after));
	assert_string_not_equal(before, after); /* the cut is in the answer */
	assert_true(stats(f, c).stale >= 2);	/* [0, 5) emptied, [5, 10) cut */
	for (size_t e = 0; e < f->kind->nextras; e++)
		assert_same(f, c, p, T0 + 5 * MIN_MS, T0 + 20 * MIN_MS, T0 + 37 * MIN_MS, f->kind->extras[e]);
	history_free(c);
	history_free(p);
	store_close(s);
}

/* Minutes the store refused are in the ring only (the roll-up stops before
 * them, so no block of them is kept); once written late they are rolled up
 * and answered from the store, the blocks built then. Then a window of a
 * minute already rolled up arrives late: tier 1 does not change, and the
 * answer is still the one from the store. */
static void test_late_windows(void **state)
{
	struct fx *f = *state;
	struct wf_store *s = store_open(&f->opts, f->cat, T0);
	struct wf_history *c = new_history(f, s, f->kind->max_bytes), *p = new_history(f, s, 0);
	struct wf_history *hs[] = { c, p };
	int64_t now = T0 + 30 * MIN_MS;
	const char *plain = f->kind->extras[0];

	write_windows(f, s, hs, 2, 0, 10 * WPM);
	write_windows(f, NULL, hs, 2, 10 * WPM, 12 * WPM); /* refused: the ring's 16 windows hold them */
	assert_same(f, c, p, T0, T0 + 15 * MIN_MS, now, plain);
	assert_same(f, c, p, T0, T0 + 15 * MIN_MS, now, plain);
	assert_int_equal(stats(f, c).blocks, 1); /* [0, 5): minute 9 is not rolled up, 10 and 11 not stored */
	assert_int_equal(history_write_pending(c, now), 0); /* the store takes them, late */
	assert_int_equal(history_write_pending(p, now), 0); /* (p's ring: the same rows again) */
	write_windows(f, s, hs, 2, 12 * WPM, 16 * WPM);
	assert_same(f, c, p, T0, T0 + 15 * MIN_MS, now, plain);
	assert_same(f, c, p, T0, T0 + 15 * MIN_MS, now, plain);
	assert_int_equal(stats(f, c).blocks, 3);
	assert_true(stats(f, c).hits >= 4);
	/* A late window of minute 3 (a clock stepped back): tier 0 only. */
	f->salt = 1000;
	write_windows(f, s, hs, 2, 3 * WPM + 1, 3 * WPM + 2);
	for (size_t e = 0; e < f->kind->nextras; e++) {
		assert_same(f, c, p, T0, T0 + 15 * MIN_MS, now, f->kind->extras[e]);
		assert_same(f, c, p, T0 + 2 * MIN_MS, T0 + 9 * MIN_MS, now, f->kind->extras[e]);
	}
	history_free(c);
	history_free(p);
	store_close(s);
}

/* A restart on a new store (the old file gone) with other numbers for the
 * same minutes: nothing of the old blocks answers (a cache that outlived
 * its history, a static one, would). */
static void test_restart(void **state)
{
	struct fx *f = *state;
	struct wf_store *s = store_open(&f->opts, f->cat, T0);
	struct wf_history *c = new_history(f, s, f->kind->max_bytes), *p;
	struct wf_history *hs[2] = { c };
	int64_t now = T0 + 21 * MIN_MS;
	static char first[ANSWER_BYTES], second[ANSWER_BYTES];
	const char *plain = f->kind->extras[0];

	write_windows(f, s, hs, 1, 0, 21 * WPM);
	f->kind->answer(c, T0, T0 + 20 * MIN_MS, now, plain, first, sizeof(first));
	f->kind->answer(c, T0, T0 + 20 * MIN_MS, now, plain, first, sizeof(first));
	assert_true(stats(f, c).hits >= 4);
	history_free(c);
	store_close(s);
	catalog_free(f->cat);
	assert_int_equal(unlink(f->path), 0);
	unlink(strcat(strcpy(second, f->path), "-wal"));
	unlink(strcat(strcpy(second, f->path), "-shm"));

	f->salt = 77;
	make_catalog(f);
	s = store_open(&f->opts, f->cat, T0);
	c = new_history(f, s, f->kind->max_bytes);
	p = new_history(f, s, 0);
	hs[0] = c;
	hs[1] = p;
	write_windows(f, s, hs, 2, 0, 21 * WPM);
	assert_same(f, c, p, T0, T0 + 20 * MIN_MS, now, plain);
	assert_same(f, c, p, T0, T0 + 20 * MIN_MS, now, plain);
	f->kind->answer(c, T0, T0 + 20 * MIN_MS, now, plain, second, sizeof(second));
	assert_string_not_equal(first, second);
	history_free(c);
	history_free(p);
	store_close(s);
}

/* A bound of about two blocks: never more held, the newest kept, answers
 * unchanged; 0 keeps none. */
static void test_bound(void **state)
{
	struct fx *f = *state;
	struct wf_store *s = store_open(&f->opts, f->cat, T0);
	struct wf_history *one = new_history(f, s, 0), *p = new_history(f, s, 0), *c;
	struct wf_history *hs[] = { one, p };
	struct wf_block_cache_stats st;
	size_t block_bytes;
	const char *plain = f->kind->extras[0];

	write_windows(f, s, hs, 2, 0, 31 * WPM);
	/* A block's size, from a cache that may hold anything. */
	assert_int_equal(history_blocks_limit(one, f->kind->kind, f->kind->max_bytes), 0);
	assert_same(f, one, p, T0, T0 + 5 * MIN_MS, T0 + 31 * MIN_MS, plain);
	st = stats(f, one);
	assert_int_equal(st.blocks, 1);
	block_bytes = st.bytes;
	c = new_history(f, s, 2 * block_bytes + block_bytes / 2);
	for (int round = 0; round < 3; round++)
		assert_same(f, c, p, T0, T0 + 30 * MIN_MS, T0 + 31 * MIN_MS, plain);
	st = stats(f, c);
	assert_int_equal(st.blocks, 2);
	assert_true(st.bytes <= 2 * block_bytes + block_bytes / 2);
	assert_same(f, c, p, T0 + 20 * MIN_MS, T0 + 30 * MIN_MS, T0 + 31 * MIN_MS, plain); /* the newest two: kept */
	assert_int_equal(stats(f, c).hits, st.hits + 2);
	assert_int_equal(stats(f, p).blocks, 0);
	assert_int_equal(stats(f, p).hits, 0);
	history_free(one);
	history_free(c);
	history_free(p);
	store_close(s);
}

/* A test file's main: every case on its kind (setup passes it to setup_kind). */
static int run_minute_blocks_cases(int (*setup)(void **state))
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_cuts_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
