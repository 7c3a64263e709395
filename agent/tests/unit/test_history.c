// SPDX-License-Identifier: Apache-2.0
/*
 * history: the in-memory ring beside a real SQLite store in a temporary
 * directory. Windows the store took are answered from it and the ring's
 * copies are not counted again; windows it did not take are answered from
 * the ring; with the store unreadable the ring alone answers and says so;
 * the ring keeps its newest windows; windows the store refused are written
 * by history_write_pending, oldest first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "fake_fs.h"
#include "history.h"
#include "query.h"
#include "series.h"
#include "store.h"
#include "window.h"

#define T0 1699999800000LL /* a multiple of a minute */
#define W 10000LL
#define NOW (T0 + 5 * W)

struct fx {
	char dir[64], path[128], blocker[128];
	struct wf_store_opts opts;
	struct wf_catalog *cat;
	uint32_t target, edge;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct wf_target t;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/wf-test-history-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/h.db", f->dir);
	f->opts = (struct wf_store_opts){ .path = f->path, .retention_ms = 24 * 3600000LL,
					  .fine_retention_ms = 3 * 3600000LL };
	f->cat = catalog_new();
	assert_non_null(f->cat);
	memset(&t, 0, sizeof(t));
	t.pid = 11;
	t.start_time = 777;
	strcpy(t.comm, "envoy");
	t.first_seen_ms = t.last_seen_ms = T0;
	t.alive = true;
	f->target = catalog_target_put(f->cat, &t);
	f->edge = catalog_edge_put(f->cat,
				   &(struct wf_edge_meta){ .hash = 42, .target_id = f->target, .category = WF_CAT_NET_TCP_DATA,
							   .first_seen_ms = T0, .last_seen_ms = NOW },
				   NULL);
	assert_true(f->target && f->edge);
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

/* A store that cannot be opened: a file where its directory should be. */
static struct wf_store *blocked_store(struct fx *f)
{
	snprintf(f->blocker, sizeof(f->blocker), "%s/later", f->dir);
	fclose(fopen(f->blocker, "w"));
	snprintf(f->path, sizeof(f->path), "%s/later/h.db", f->dir);
	return store_open(&f->opts, f->cat, T0);
}

/*
 * Window k: [T0 + k W, T0 + (k + 1) W), (k + 1) s off CPU in net.tcp.data
 * and k + 1 intervals of the one edge. Written to the store if store is
 * given, then added to the ring (persisted as the store said). as_serve:
 * written as serve does at the window's end, the windows the store did not
 * take first (cmd_serve.c).
 */
static void write_window(struct fx *f, struct wf_history *h, struct wf_store *store, int k, bool as_serve)
{
	struct wf_wtarget t;
	struct wf_buf tb = { 0 }, eb = { 0 };
	struct wf_store_target st;
	struct wf_store_window w;
	bool persisted = false;

	wtarget_init(&t, f->target);
	wtarget_add_cat(&t, &(struct wf_wcat){ .thread = catalog_name_id(f->cat, "wrk:worker_0"),
					       .category = WF_CAT_NET_TCP_DATA, .count = (uint64_t)k + 1,
					       .offcpu_us = ((uint64_t)k + 1) * 1000000 });
	wtarget_add_edge(&t, &(struct wf_wedge){ .id = f->edge, .count = (uint64_t)k + 1, .offcpu_us = 1000 });
	assert_int_equal(wtarget_encode_totals(&t, &tb), 0);
	assert_int_equal(wtarget_encode_edges(&t, &eb), 0);
	st = (struct wf_store_target){ f->target, tb.data, tb.len, eb.data, eb.len, NULL, 0 };
	w = (struct wf_store_window){ T0 + k * W, T0 + (k + 1) * W, &st, 1 };
	if (as_serve)
		persisted = history_write_pending(h, w.end_ms) == 0 && store_write_window(store, &w, w.end_ms) == 0;
	else if (store)
		persisted = store_write_window(store, &w, w.end_ms) == 0;
	assert_int_equal(history_add(h, &w, persisted), 0);
	wtarget_free(&t);
	wf_buf_free(&tb);
	wf_buf_free(&eb);
}

static void add_window(struct fx *f, struct wf_history *h, struct wf_store *store, int k)
{
	write_window(f, h, store, k, false);
}

/* The off-CPU series by category, one point per window: seconds per second. */
static size_t offcpu_points(struct wf_history *h, double *values, int64_t *times, size_t max, bool *memory_only)
{
	char qs[128], err[128];
	struct wf_query q;
	struct wf_series_plan plan;
	struct wf_answer_info info;
	struct wf_series_acc *a;
	struct wf_label_pair lp[4];
	size_t n = 0, k = 0;
	int64_t t;
	double v;

	snprintf(qs, sizeof(qs), "from=%lld&to=%lld&step=%lld&by=category&metric=offcpu", (long long)T0,
		 (long long)NOW, (long long)W);
	assert_int_equal(query_parse(WF_EP_SERIES, qs, strlen(qs), NOW, &q, err, sizeof(err)), 0);
	a = history_series(h, &q, NOW, &plan, &info);
	assert_non_null(a);
	*memory_only = info.from_memory_only;
	if (series_count(a)) {
		assert_int_equal(series_count(a), 1);
		assert_int_equal(series_labels(a, 0, lp, 4), 1);
		assert_string_equal(lp[0].value, "net.tcp.data");
		while (n < max && series_point(a, 0, &k, &t, &v)) {
			times[n] = t;
			values[n++] = v;
		}
	}
	series_acc_free(a);
	return n;
}

/* Point k is at window start[k] and is (start[k] + 1) tenths: window j
 * has j + 1 s off CPU in its 10 s. */
static void assert_points(const int64_t *t, const double *v, size_t n, const int *windows)
{
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(t[k], T0 + windows[k] * W);
		assert_true(fabs(v[k] - 0.1 * (windows[k] + 1)) < 1e-9);
	}
}

/* The one edge's interval count over the whole range. */
static uint64_t edge_count(struct wf_history *h, uint32_t id, bool *memory_only)
{
	char qs[128], err[128];
	struct wf_query q;
	struct wf_answer_info info;
	struct wf_edges_acc *a;
	uint64_t count = 0;

	snprintf(qs, sizeof(qs), "from=%lld&to=%lld", (long long)T0, (long long)NOW);
	assert_int_equal(query_parse(WF_EP_EDGES, qs, strlen(qs), NOW, &q, err, sizeof(err)), 0);
	a = history_edges(h, &q, NOW, &info);
	assert_non_null(a);
	*memory_only = info.from_memory_only;
	if (edges_acc_row(a, 0)) {
		assert_int_equal(edges_acc_row(a, 0)->id, id);
		count = edges_acc_row(a, 0)->count;
		assert_null(edges_acc_row(a, 1));
	}
	edges_acc_free(a);
	return count;
}

/* Windows 0 and 1 in the store (and the ring), window 2 in the ring only:
 * every window counts once. */
static void test_store_and_ring(void **state)
{
	struct fx *f = *state;
	struct wf_store *s = store_open(&f->opts, f->cat, T0);
	struct wf_history *h = history_new(s, f->cat, W, f->opts.fine_retention_ms, 16);
	double v[8];
	int64_t t[8];
	bool mem;

	assert_non_null(h);
	add_window(f, h, s, 0);
	add_window(f, h, s, 1);
	add_window(f, h, NULL, 2);
	assert_int_equal(offcpu_points(h, v, t, 8, &mem), 3);
	assert_false(mem);
	assert_points(t, v, 3, (const int[]){ 0, 1, 2 });
	assert_int_equal(edge_count(h, f->edge, &mem), 1 + 2 + 3);
	assert_false(mem);
	history_free(h);
	store_close(s);
}

/* A store that cannot be read: the ring answers, and the answer says it
 * came from memory only. */
static void test_ring_alone(void **state)
{
	struct fx *f = *state;
	struct wf_store *s = blocked_store(f);
	struct wf_history *h = history_new(s, f->cat, W, f->opts.fine_retention_ms, 16);
	double v[8];
	int64_t t[8];
	bool mem;

	assert_non_null(s);
	assert_false(store_readable(s));
	add_window(f, h, NULL, 0);
	add_window(f, h, NULL, 3);
	assert_int_equal(offcpu_points(h, v, t, 8, &mem), 2);
	assert_true(mem);
	assert_points(t, v, 2, (const int[]){ 0, 3 }); /* no point where the agent did not run */
	assert_int_equal(edge_count(h, f->edge, &mem), 1 + 4);
	assert_true(mem);
	history_free(h);
	store_close(s);
}

/* The ring keeps its newest ring_windows windows. */
static void test_ring_keeps_newest(void **state)
{
	struct fx *f = *state;
	struct wf_store *s = blocked_store(f);
	struct wf_history *h = history_new(s, f->cat, W, f->opts.fine_retention_ms, 2);
	int64_t oldest;
	bool mem;

	assert_int_equal(history_ring_len(h, &oldest), 0);
	assert_int_equal(oldest, -1);
	for (int k = 0; k < 4; k++)
		add_window(f, h, NULL, k);
	assert_int_equal(history_ring_len(h, &oldest), 2);
	assert_int_equal(oldest, T0 + 2 * W);
	assert_int_equal(edge_count(h, f->edge, &mem), 3 + 4);
	history_free(h);
	store_close(s);
}

/* Windows the store did not take are written by the next
 * history_write_pending, oldest first, once each, and are then answered
 * from the store without being counted twice. */
static void test_pending_written(void **state)
{
	struct fx *f = *state;
	struct wf_store *s = store_open(&f->opts, f->cat, T0);
	struct wf_history *h = history_new(s, f->cat, W, f->opts.fine_retention_ms, 16);
	struct wf_store_status st;
	double v[8];
	int64_t t[8];
	bool mem;

	add_window(f, h, s, 0);
	add_window(f, h, NULL, 1); /* as if the store had refused them */
	add_window(f, h, NULL, 2);
	store_status(s, &st);
	assert_int_equal(st.windows_written, 1);
	assert_int_equal(history_write_pending(h, NOW), 0);
	store_status(s, &st);
	assert_int_equal(st.windows_written, 3);
	assert_int_equal(st.oldest_ms, T0);
	assert_int_equal(st.newest_ms, T0 + 3 * W);
	assert_int_equal(history_write_pending(h, NOW), 0); /* nothing left: nothing written again */
	store_status(s, &st);
	assert_int_equal(st.windows_written, 3);
	assert_int_equal(offcpu_points(h, v, t, 8, &mem), 3);
	assert_false(mem);
	assert_points(t, v, 3, (const int[]){ 0, 1, 2 });
	assert_int_equal(edge_count(h, f->edge, &mem), 1 + 2 + 3);
	history_free(h);
	store_close(s);
}

/*
 * A store that could not be opened at start-up and becomes writable while
 * serve runs: it is reopened at most every 30 s of wall time, counted from
 * the last try, and then every window kept in memory is written, oldest
 * first, with the current one; nothing is lost. (The retry once passed
 * each pending window's own end as the time: always within 30 s of the
 * last try, so the store was never reopened and every window after was
 * kept in memory only.)
 */
static void test_store_reopened(void **state)
{
	struct fx *f = *state;
	struct wf_store *s = blocked_store(f); /* tried at T0 */
	struct wf_history *h = history_new(s, f->cat, W, f->opts.fine_retention_ms, 16);
	struct wf_store_status st;
	char dir[128];
	double v[8];
	int64_t t[8];
	bool mem;

	assert_false(store_readable(s));
	write_window(f, h, s, 0, true); /* at T0 + 10 s and 20 s: too soon to try again */
	write_window(f, h, s, 1, true);
	store_status(s, &st);
	assert_int_equal(st.windows_written, 0);
	/* The directory appears (a volume mounted late, space freed). */
	assert_int_equal(unlink(f->blocker), 0);
	snprintf(dir, sizeof(dir), "%s/later", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_window(f, h, s, 2, true); /* at T0 + 30 s: tried, and it opens */
	store_status(s, &st);
	assert_int_equal(st.windows_written, 3);
	write_window(f, h, s, 3, true);
	write_window(f, h, s, 4, true);
	store_status(s, &st);
	assert_int_equal(st.windows_written, 5);
	assert_int_equal(st.oldest_ms, T0);
	assert_int_equal(st.newest_ms, T0 + 5 * W);
	assert_true(store_readable(s));
	assert_int_equal(offcpu_points(h, v, t, 8, &mem), 5);
	assert_false(mem);
	assert_points(t, v, 5, (const int[]){ 0, 1, 2, 3, 4 });
	assert_int_equal(edge_count(h, f->edge, &mem), 1 + 2 + 3 + 4 + 5);
	history_free(h);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_and_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_keeps_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_reopened, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
