// SPDX-License-Identifier: Apache-2.0
/*
 * store: real SQLite files in a temporary directory. Windows written are
 * read back; minutes roll up to the sums of their windows; retention drops
 * what is old; a reopened store gives back the catalog with the same ids;
 * names no stored row refers to expire; a store whose directory is missing
 * recovers once it exists; a file
 * overwritten with garbage is reported corrupt and left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <unistd.h>

#include "catalog.h"
#include "classify.h"
#include "intern.h"
#include "series.h"
#include "store_file.h"
#include "store.h"
#include "window.h"

#define T0 1699999800000LL /* a multiple of a minute */
#define W 10000LL

struct fx {
	char dir[64];
	char path[128];
	struct wf_store_opts opts;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/wf-test-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/h.db", f->dir);
	f->opts.path = f->path;
	f->opts.retention_ms = 24 * 3600000LL;
	f->opts.fine_retention_ms = 3 * 3600000LL;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A classified edge with real (interned) frames. */
static void make_edge(struct wf_edge *e, int i)
{
	static const char *frames[] = { "schedule", "ep_poll", "do_epoll_wait", "epoll_wait",
					"Envoy::Event::DispatcherImpl::run()" };
	char comm[16];

	edge_init(e);
	snprintf(comm, sizeof(comm), "wrk:worker_%d", i % 2);
	strcpy(e->target.comm, comm);
	strcpy(e->target.proc_comm, "envoy");
	e->target.pid = 11;
	e->target.tid = 20 + i % 2;
	strcpy(e->waker.comm, "kworker/0:1");
	e->waker.pid = e->waker.tid = 5 + i;
	e->context = WF_CTX_SOFTIRQ;
	e->kind = WF_SWITCH_BLOCKED;
	e->category = WF_CAT_NET_TCP_DATA;
	e->activity = intern("envoy.xds");
	e->role = WF_ROLE_WORKER;
	e->count_known = e->runq_known = e->stacks_sampled = true;
	e->target_stack.frames = malloc(5 * sizeof(char *));
	for (int k = 0; k < 5; k++)
		e->target_stack.frames[k] = intern(frames[k]);
	e->target_stack.nframes = 5;
	e->target_stack.nkernel = 3;
	e->waker_stack.nkernel = 0;
	edge_add_fact(e, "irq=softirq");
	edge_add_fact(e, "irq.softirq=net_rx");
}

/* Writes window [start, start + W) with target tid, edges ids[] and a
 * worker thread, all numbers scaled by k. */
static int write_window(struct wf_store *s, struct wf_catalog *cat, uint32_t tid, const uint32_t *ids, size_t n,
			int64_t start, uint64_t k, int64_t now)
{
	struct wf_wtarget t;
	struct wf_buf tb = { 0 }, eb = { 0 };
	struct wf_store_target st;
	struct wf_store_window w;
	int rc;

	wtarget_init(&t, tid);
	t.throttled_us = k;
	wtarget_add_thread(&t, &(struct wf_wthread){ .name = catalog_name_id(cat, "wrk:worker_0"),
						     .role = WF_ROLE_WORKER, .oncpu_us = 100 * k, .preempted_us = k });
	wtarget_add_cat(&t, &(struct wf_wcat){ .thread = catalog_name_id(cat, "wrk:worker_0"), .role = WF_ROLE_WORKER,
					       .category = WF_CAT_NET_TCP_DATA, .count = k, .offcpu_us = 10 * k });
	for (size_t i = 0; i < n; i++)
		wtarget_add_edge(&t, &(struct wf_wedge){ .id = ids[i], .count = k, .offcpu_us = 1000 * k, .runq_us = k,
							 .max_us = k });
	wtarget_normalize(&t);
	assert_int_equal(wtarget_encode_totals(&t, &tb), 0);
	assert_int_equal(wtarget_encode_edges(&t, &eb), 0);
	st = (struct wf_store_target){ tid, tb.data, tb.len, eb.data, eb.len, NULL, 0 };
	w = (struct wf_store_window){ start, start + W, &st, 1 };
	rc = store_write_window(s, &w, now);
	wtarget_free(&t);
	wf_buf_free(&tb);
	wf_buf_free(&eb);
	return rc;
}

static uint32_t add_target(struct wf_catalog *cat)
{
	struct wf_target t;

	memset(&t, 0, sizeof(t));
	t.pid = 11;
	t.start_time = 777;
	strcpy(t.comm, "envoy");
	strcpy(t.exe, "/usr/bin/envoy");
	strcpy(t.labels.value[WF_LABEL_POD], "pod-1");
	strcpy(t.labels.value[WF_LABEL_NAMESPACE], "ns");
	t.first_seen_ms = t.last_seen_ms = T0;
	t.alive = true;
	return catalog_target_put(cat, &t);
}

struct sums {
	size_t rows;
	uint64_t count, offcpu;
	int64_t last_start;
};

static int sum_edges(void *ctx, int64_t start, int64_t end, uint32_t target, const uint8_t *blob, size_t len)
{
	struct sums *s = ctx;
	struct wf_wtarget t;

	(void)end;
	(void)target;
	wtarget_init(&t, 0);
	assert_int_equal(wtarget_decode_edges(&t, blob, len), 0);
	for (size_t i = 0; i < t.nedges; i++) {
		s->count += t.edges[i].count;
		s->offcpu += t.edges[i].offcpu_us;
	}
	s->rows++;
	s->last_start = start;
	wtarget_free(&t);
	return 0;
}

static int count_windows(void *ctx, int64_t start, int64_t end)
{
	(void)start;
	(void)end;
	(*(size_t *)ctx)++;
	return 0;
}

static void test_write_read_rollup_reopen(void **state)
{
	struct fx *f = *state;
	struct wf_catalog *cat = catalog_new();
	struct wf_store *s = store_open(&f->opts, cat, T0);
	struct wf_store_status st;
	struct wf_store_reader *r;
	struct wf_edge edges[3];
	uint32_t tid = add_target(cat), ids[3];
	struct sums sums = { 0 };
	size_t nwin = 0;

	store_status(s, &st);
	assert_int_equal(st.state, WF_STORE_OK);
	for (int i = 0; i < 3; i++) {
		struct wf_edge_meta m = { .target_id = tid, .thread = catalog_name_id(cat, "wrk:worker_0"),
					  .role = WF_ROLE_WORKER, .category = WF_CAT_NET_TCP_DATA,
					  .activity = catalog_name_id(cat, "envoy.xds"), .first_seen_ms = T0,
					  .last_seen_ms = T0 };

		make_edge(&edges[i], i);
		m.hash = catalog_edge_hash(&edges[i], tid);
		ids[i] = catalog_edge_put(cat, &m, &edges[i]);
		assert_true(ids[i] > 0);
	}
	/* 13 windows: minute 0 (6), minute 1 (6), one in minute 2 */
	for (int k = 0; k < 13; k++)
		assert_int_equal(write_window(s, cat, tid, ids, 3, T0 + k * W, (uint64_t)k + 1, T0 + (k + 1) * W), 0);
	store_status(s, &st);
	assert_int_equal(st.windows_written, 13);
	assert_int_equal(st.oldest_ms, T0);
	assert_int_equal(st.newest_ms, T0 + 13 * W);
	assert_int_equal(st.rolled_until_ms, T0 + 120000);

	r = store_reader_open(s);
	assert_non_null(r);
	assert_int_equal(store_read_edges(r, WF_TIER_WINDOW, T0, T0 + 60000, sum_edges, &sums), 0);
	assert_int_equal(sums.rows, 6);
	assert_int_equal(sums.count, 3 * (1 + 2 + 3 + 4 + 5 + 6));
	/* minute 0 rolled up: the same sums in one row */
	memset(&sums, 0, sizeof(sums));
	assert_int_equal(store_read_edges(r, WF_TIER_MINUTE, T0, T0 + 60000, sum_edges, &sums), 0);
	assert_int_equal(sums.rows, 1);
	assert_int_equal(sums.count, 3 * 21);
	assert_int_equal(sums.offcpu, 3 * 21 * 1000);
	memset(&sums, 0, sizeof(sums));
	assert_int_equal(store_read_edges(r, WF_TIER_MINUTE, T0, T0 + 600000, sum_edges, &sums), 0);
	assert_int_equal(sums.rows, 2); /* minute 2 is not complete yet */
	assert_int_equal(store_read_windows(r, WF_TIER_MINUTE, T0, T0 + 600000, count_windows, &nwin), 0);
	assert_int_equal(nwin, 2);
	{
		struct wf_edge_detail d;

		assert_int_equal(store_read_edge(r, ids[1], &d), 0);
		assert_string_equal(d.edge.target.comm, "wrk:worker_1");
		assert_string_equal(d.edge.waker.comm, "kworker/0:1");
		assert_int_equal(d.edge.context, WF_CTX_SOFTIRQ);
		assert_int_equal(d.edge.target_stack.nframes, 5);
		assert_int_equal(d.edge.target_stack.nkernel, 3);
		assert_string_equal(d.edge.target_stack.frames[4], "Envoy::Event::DispatcherImpl::run()");
		assert_int_equal(d.edge.waker_stack.nframes, 0);
		assert_int_equal(d.edge.nfacts, 2);
		assert_string_equal(d.edge.facts[1], "irq.softirq=net_rx");
		assert_string_equal(d.edge.activity, "envoy.xds");
		assert_int_equal(d.edge.category, WF_CAT_NET_TCP_DATA);
		/* A small record holds a small arena: an edges answer keeps 100 to
		 * 1,000 of them at once (a 64 KiB chunk each before, test_arena). */
		assert_true(arena_bytes(&d.arena) <= 4096);
		store_edge_detail_free(&d);
		assert_int_equal(store_read_edge(r, 99999, &d), 1);
	}
	store_reader_close(r);
	store_close(s);

	/* Restart: a fresh catalog gets the same ids back, and new windows go on. */
	{
		struct wf_catalog *cat2 = catalog_new();
		struct wf_store *s2 = store_open(&f->opts, cat2, T0 + 14 * W);
		struct wf_edge_meta m = { 0 };
		char name[64];
		bool found[3];
		struct wf_edge_meta metas[3];
		struct wf_target t;

		store_status(s2, &st);
		assert_int_equal(st.state, WF_STORE_OK);
		assert_int_equal(st.rolled_until_ms, T0 + 120000);
		assert_int_equal(catalog_name_id(cat2, "envoy.xds"), catalog_name_id(cat, "envoy.xds"));
		assert_string_equal(catalog_name(cat2, catalog_name_id(cat, "wrk:worker_0"), name, sizeof(name)),
				    "wrk:worker_0");
		assert_int_equal(catalog_target_get(cat2, tid, &t), 0);
		assert_string_equal(t.labels.value[WF_LABEL_POD], "pod-1");
		assert_int_equal(t.start_time, 777);
		assert_false(t.alive);
		catalog_edge_metas(cat2, ids, 3, metas, found);
		assert_true(found[0] && found[1] && found[2]);
		assert_int_equal(metas[2].category, WF_CAT_NET_TCP_DATA);
		/* the same edge seen again after the restart keeps its id */
		m = metas[0];
		m.id = 0;
		assert_int_equal(catalog_edge_put(cat2, &m, &edges[0]), ids[0]);
		assert_int_equal(add_target(cat2), tid);
		assert_int_equal(write_window(s2, cat2, tid, ids, 3, T0 + 13 * W, 100, T0 + 14 * W), 0);
		/* a new window in minute 3 rolls minute 2 (before and after the restart) */
		assert_int_equal(write_window(s2, cat2, tid, ids, 3, T0 + 18 * W, 1, T0 + 19 * W), 0);
		r = store_reader_open(s2);
		memset(&sums, 0, sizeof(sums));
		assert_int_equal(store_read_edges(r, WF_TIER_MINUTE, T0 + 120000, T0 + 180000, sum_edges, &sums), 0);
		assert_int_equal(sums.rows, 1);
		assert_int_equal(sums.count, 3 * (13 + 100));
		store_reader_close(r);
		store_close(s2);
		catalog_free(cat2);
	}
	for (int i = 0; i < 3; i++)
		free(edges[i].target_stack.frames);
	catalog_free(cat);
}

static void test_retention(void **state)
{
	struct fx *f = *state;
	struct wf_catalog *cat = catalog_new();
	struct wf_store *s;
	struct wf_store_reader *r;
	uint32_t tid, id;
	struct sums sums = { 0 };
	size_t nwin = 0;

	f->opts.retention_ms = 3600000;	     /* 1 h */
	f->opts.fine_retention_ms = 600000; /* 10 min */
	s = store_open(&f->opts, cat, T0);
	tid = add_target(cat);
	id = catalog_edge_put(cat, &(struct wf_edge_meta){ .hash = 5, .target_id = tid, .last_seen_ms = T0 }, NULL);
	/* two hours of windows, written with the clock moving along */
	for (int k = 0; k < 720; k++)
		assert_int_equal(write_window(s, cat, tid, &id, 1, T0 + k * W, 1, T0 + (k + 1) * W), 0);
	r = store_reader_open(s);
	assert_int_equal(store_read_edges(r, WF_TIER_WINDOW, 0, T0 + 7200000, sum_edges, &sums), 0);
	/* windows older than 10 min are gone (retention runs once a minute) */
	assert_true(sums.rows >= 60 && sums.rows <= 66);
	memset(&sums, 0, sizeof(sums));
	assert_int_equal(store_read_edges(r, WF_TIER_MINUTE, 0, T0 + 7200000, sum_edges, &sums), 0);
	assert_true(sums.rows >= 59 && sums.rows <= 61);
	assert_int_equal(store_read_windows(r, WF_TIER_MINUTE, 0, T0 + 3600000, count_windows, &nwin), 0);
	assert_int_equal(nwin, 0);
	store_reader_close(r);
	store_close(s);
	catalog_free(cat);
}

/* A stripped module's frames as a capture records them: unnamed, with the build-id of their build. */
static void make_stripped_edge(struct wf_edge *e, int i, const char *builds)
{
	make_edge(e, i);
	e->target_stack.frames[3] = intern("envoy+0x2f1c40");
	e->target_stack.frames[4] = intern("envoy+0x1a0010");
	e->target_stack.builds = builds ? intern(builds) : NULL;
}

/* Rows of the store's edges table with this id, read with SQLite itself. */
static int stored_edge_rows(const char *path, uint32_t id)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM edges WHERE id = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* With a retention shorter than two hours the catalog's tables expire
 * twice per retention, not hourly: an edge last seen at T0 is gone from a
 * 10-minute store by T0 + 20 min (it stayed until T0 + 1 h). */
static void test_catalog_expiry_short_retention(void **state)
{
	struct fx *f = *state;
	struct wf_catalog *cat = catalog_new();
	struct wf_store *s;
	struct wf_edge e, stripped;
	uint32_t tid, old, recent;
	int64_t end = 0;

	f->opts.retention_ms = f->opts.fine_retention_ms = 600000; /* 10 min */
	s = store_open(&f->opts, cat, T0);
	tid = add_target(cat);
	make_edge(&e, 0);
	/* The old edge's stack has builds: they go with it. */
	make_stripped_edge(&stripped, 0, "0123456789abcdef0123456789abcdef01234567:envoy");
	old = catalog_edge_put(cat, &(struct wf_edge_meta){ .hash = 5, .target_id = tid, .last_seen_ms = T0 },
			       &stripped);
	for (int k = 0; k < 120; k++) {
		end = T0 + (k + 1) * W;
		recent = catalog_edge_put(cat, &(struct wf_edge_meta){ .hash = 6, .target_id = tid, .last_seen_ms = end },
					  &e);
		/* The first window is the old edge's only one. */
		assert_int_equal(write_window(s, cat, tid, k ? &recent : &old, 1, T0 + k * W, 1, end), 0);
		if (k == 0) {
			assert_int_equal(stored_edge_rows(f->path, old), 1);
			assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM builds"), 1);
		}
	}
	assert_int_equal(stored_edge_rows(f->path, old), 0);
	assert_int_equal(stored_edge_rows(f->path, recent), 1);
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM stacks WHERE builds IS NOT NULL"), 0);
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM builds"), 0);
	free(e.target_stack.frames);
	free(stripped.target_stack.frames);
	store_close(s);
	catalog_free(cat);
}

/* One name's row in the store's names table: its id, 0 if absent. */
static long long stored_name_id(const char *path, const char *name)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long id = 0;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id FROM names WHERE s = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return id;
}

/* Window [start, start + W) of target tid with one thread named name, and
 * the target seen at its end, as the tracker and collector do. */
static void write_thread_window(struct wf_store *s, struct wf_catalog *cat, uint32_t tid, const char *name,
				int64_t start)
{
	struct wf_wtarget t;
	struct wf_buf tb = { 0 }, eb = { 0 };
	struct wf_store_target st;
	struct wf_store_window w;
	struct wf_target tg;

	assert_int_equal(catalog_target_get(cat, tid, &tg), 0);
	tg.last_seen_ms = start + W;
	catalog_target_put(cat, &tg);
	wtarget_init(&t, tid);
	wtarget_add_thread(&t, &(struct wf_wthread){ .name = catalog_name_id(cat, name), .oncpu_us = 1 });
	assert_int_equal(wtarget_encode_totals(&t, &tb), 0);
	assert_int_equal(wtarget_encode_edges(&t, &eb), 0);
	st = (struct wf_store_target){ tid, tb.data, tb.len, eb.data, eb.len, NULL, 0 };
	w = (struct wf_store_window){ start, start + W, &st, 1 };
	assert_int_equal(store_write_window(s, &w, start + W), 0);
	wtarget_free(&t);
	wf_buf_free(&tb);
	wf_buf_free(&eb);
}

/*
 * Issue 13: thread names come and go under pod churn; a name no stored row
 * can refer to any more (its windows past the retention, no edge held uses
 * it) is forgotten by the catalog, its row deleted from the store, and its
 * id handed out again; a reopened store loads the new name under it. The
 * catalog's prune runs as serve runs it (every 5 minutes at this retention).
 */
static void test_names_expire(void **state)
{
	struct fx *f = *state;
	struct wf_catalog *cat = catalog_new(), *cat2;
	struct wf_store *s;
	uint32_t tid, gone, stays, fresh;
	char name[32];

	f->opts.retention_ms = f->opts.fine_retention_ms = 600000; /* 10 min */
	s = store_open(&f->opts, cat, T0);
	tid = add_target(cat);
	write_thread_window(s, cat, tid, "wf-gone-0", T0);
	gone = catalog_name_find(cat, "wf-gone-0");
	assert_true(gone);
	assert_int_equal(stored_name_id(f->path, "wf-gone-0"), gone);
	for (int k = 1; k <= 120; k++) {
		int64_t end = T0 + (k + 1) * W;

		write_thread_window(s, cat, tid, "wf-stays", T0 + k * W);
		if (k % 30 == 0)
			catalog_prune(cat, end - f->opts.retention_ms, end - f->opts.retention_ms);
		/* Kept while its window may still be stored: the retention, the
		 * seen slack (2.5 min) and the margin (2 min) after its use; the
		 * prune at 15 min is the first past that. */
		if (k == 60)
			assert_int_equal(catalog_name_find(cat, "wf-gone-0"), gone);
	}
	stays = catalog_name_find(cat, "wf-stays");
	assert_true(stays);
	assert_int_equal(catalog_name_find(cat, "wf-gone-0"), 0);
	assert_string_equal(catalog_name(cat, gone, name, sizeof(name)), "");
	assert_int_equal(catalog_name_count(cat), 1);

	/* The next write deletes its row; a new name takes the id again. */
	write_thread_window(s, cat, tid, "wf-stays", T0 + 121 * W);
	assert_int_equal(stored_name_id(f->path, "wf-gone-0"), 0);
	fresh = catalog_name_id(cat, "wf-new-1");
	assert_int_equal(fresh, gone);
	write_thread_window(s, cat, tid, "wf-new-1", T0 + 122 * W);
	assert_int_equal(stored_name_id(f->path, "wf-new-1"), fresh);
	assert_int_equal(stored_name_id(f->path, "wf-stays"), stays);
	store_close(s);

	/* Reopened: the new name under the reused id, the old one gone. */
	cat2 = catalog_new();
	s = store_open(&f->opts, cat2, T0 + 123 * W);
	assert_string_equal(catalog_name(cat2, fresh, name, sizeof(name)), "wf-new-1");
	assert_string_equal(catalog_name(cat2, stays, name, sizeof(name)), "wf-stays");
	assert_int_equal(catalog_name_find(cat2, "wf-gone-0"), 0);
	assert_int_equal(catalog_name_count(cat2), 2);
	store_close(s);
	catalog_free(cat2);
	catalog_free(cat);
}

static void test_missing_dir_recovers(void **state)
{
	struct fx *f = *state;
	struct wf_catalog *cat = catalog_new();
	struct wf_store *s;
	struct wf_store_status st;
	char sub[160];
	uint32_t tid, id;

	/* A missing directory is created (0700); one that cannot be (a file is
	 * in the way) fails until it can. */
	snprintf(sub, sizeof(sub), "%s/made/h.db", f->dir);
	f->opts.path = sub;
	s = store_open(&f->opts, cat, T0);
	store_status(s, &st);
	assert_int_equal(st.state, WF_STORE_OK);
	snprintf(sub, sizeof(sub), "%s/made", f->dir);
	{
		struct stat sb;

		assert_int_equal(stat(sub, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0700);
		snprintf(sub, sizeof(sub), "%s/made/h.db", f->dir);
		assert_int_equal(stat(sub, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	store_close(s);

	snprintf(sub, sizeof(sub), "%s/later", f->dir);
	fclose(fopen(sub, "w"));
	snprintf(sub, sizeof(sub), "%s/later/h.db", f->dir);
	f->opts.path = sub;
	s = store_open(&f->opts, cat, T0);
	assert_non_null(s);
	store_status(s, &st);
	assert_int_equal(st.state, WF_STORE_FAILING);
	assert_non_null(strstr(st.error, "opening"));
	assert_false(store_readable(s));
	tid = add_target(cat);
	id = catalog_edge_put(cat, &(struct wf_edge_meta){ .hash = 5, .target_id = tid, .last_seen_ms = T0 }, NULL);
	assert_int_equal(write_window(s, cat, tid, &id, 1, T0, 1, T0 + W), -1);
	snprintf(sub, sizeof(sub), "%s/later", f->dir);
	assert_int_equal(unlink(sub), 0);
	/* retried, but not before the reopen interval */
	assert_int_equal(write_window(s, cat, tid, &id, 1, T0 + W, 1, T0 + 2 * W), -1);
	assert_int_equal(write_window(s, cat, tid, &id, 1, T0 + 4 * W, 1, T0 + 5 * W), 0);
	store_status(s, &st);
	assert_int_equal(st.state, WF_STORE_OK);
	assert_string_equal(st.error, "");
	assert_true(st.errors >= 2);
	assert_true(store_readable(s));
	store_close(s);
	catalog_free(cat);
}

static void test_corruption(void **state)
{
	struct fx *f = *state;
	struct wf_catalog *cat = catalog_new();
	struct wf_store *s = store_open(&f->opts, cat, T0);
	struct wf_store_status st;
	uint32_t tid = add_target(cat);
	uint32_t id = catalog_edge_put(cat, &(struct wf_edge_meta){ .hash = 5, .target_id = tid, .last_seen_ms = T0 }, NULL);
	char junk[8192];
	int fd;

	assert_int_equal(write_window(s, cat, tid, &id, 1, T0, 1, T0 + W), 0);
	memset(junk, 0x5a, sizeof(junk));
	fd = open(f->path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(write_window(s, cat, tid, &id, 1, T0 + W, 1, T0 + 2 * W), -1);
	store_status(s, &st);
	assert_int_equal(st.state, WF_STORE_CORRUPT);
	assert_non_null(strstr(st.error, "corrupt"));
	assert_false(store_readable(s));
	assert_null(store_reader_open(s));
	/* left alone from now on */
	assert_int_equal(write_window(s, cat, tid, &id, 1, T0 + 9 * W, 1, T0 + 10 * W), -1);
	store_close(s);

	/* Opened corrupt at start-up: reported, not fatal. */
	cat = (catalog_free(cat), catalog_new());
	s = store_open(&f->opts, cat, T0);
	assert_non_null(s);
	store_status(s, &st);
	assert_int_equal(st.state, WF_STORE_CORRUPT);
	store_close(s);
	catalog_free(cat);
}

/* Edge id's target stack as read back: its builds text ("" for none). */
static void read_builds(struct wf_store *s, uint32_t id, char *out, size_t len)
{
	struct wf_store_reader *r = store_reader_open(s);
	struct wf_edge_detail d;

	assert_non_null(r);
	assert_int_equal(store_read_edge(r, id, &d), 0);
	assert_string_equal(d.edge.target_stack.frames[3], "envoy+0x2f1c40");
	snprintf(out, len, "%s", d.edge.target_stack.builds ? d.edge.target_stack.builds : "");
	assert_null(d.edge.waker_stack.builds);
	store_edge_detail_free(&d);
	store_reader_close(r);
}

/*
 * The builds of stripped frames are stored with their stacks: two builds
 * of one basename with the same frame texts are two stacks, each read back
 * with its own build-id after a restart; a stack without builds reads NULL;
 * each builds text is stored once (a row of builds), and goes with the last
 * stack using it. A store from before the builds (stacks without the
 * column, no builds table) opens: the column is added, its stacks read no
 * builds, new ones keep theirs; opened read-only (a read-only bind mount,
 * so it cannot be migrated), its edges are still read.
 */
static void test_stack_builds(void **state)
{
	static const char a[] = "0123456789abcdef0123456789abcdef01234567:envoy";
	static const char b[] = "fedcba9876543210fedcba9876543210fedcba98:envoy";
	static const char c[] = "00112233445566778899aabbccddeeff00112233:envoy";
	struct fx *f = *state;
	struct wf_catalog *cat = catalog_new();
	struct wf_store *s = store_open(&f->opts, cat, T0);
	struct wf_edge edges[4];
	uint32_t tid = add_target(cat), ids[4];
	char got[256], ro[128], cmd[400];

	for (int i = 0; i < 3; i++) {
		struct wf_edge_meta m = { .target_id = tid, .first_seen_ms = T0, .last_seen_ms = T0 };

		/* edges 0 and 1 differ only in their builds: the same frame texts */
		make_stripped_edge(&edges[i], 0, i == 0 ? a : i == 1 ? b : NULL);
		if (i == 2)
			edges[i].waker.pid = 99;
		m.hash = catalog_edge_hash(&edges[i], tid);
		ids[i] = catalog_edge_put(cat, &m, &edges[i]);
		assert_true(ids[i] > 0);
	}
	assert_true(ids[0] != ids[1]);
	assert_int_equal(write_window(s, cat, tid, ids, 3, T0, 1, T0 + W), 0);
	store_close(s);
	catalog_free(cat);
	/* Two stacks of frames 0-4 with builds and one without; the waker stack (empty) once. */
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM stacks WHERE builds IS NOT NULL"), 2);
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM builds"), 2);

	/* A restart: each edge reads back its own build. */
	cat = catalog_new();
	s = store_open(&f->opts, cat, T0 + 2 * W);
	read_builds(s, ids[0], got, sizeof(got));
	assert_string_equal(got, a);
	read_builds(s, ids[1], got, sizeof(got));
	assert_string_equal(got, b);
	read_builds(s, ids[2], got, sizeof(got));
	assert_string_equal(got, "");
	store_close(s);
	catalog_free(cat);

	/* The shape of a store from before: no builds column, no builds table. */
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db,
					      "CREATE TABLE old_stacks(hash INTEGER PRIMARY KEY, nkernel INTEGER NOT NULL,"
					      " frames TEXT NOT NULL);"
					      "INSERT INTO old_stacks SELECT hash, nkernel, frames FROM stacks;"
					      "DROP TABLE stacks; ALTER TABLE old_stacks RENAME TO stacks; DROP TABLE builds;",
					      NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM pragma_table_info('stacks') WHERE name = 'builds'"), 0);

	/* Read-only: not migrated, read without builds. */
	snprintf(ro, sizeof(ro), "%s/ro", f->dir);
	assert_int_equal(mkdir(ro, 0700), 0);
	snprintf(cmd, sizeof(cmd), "mount --bind '%s' '%s' && mount -o remount,ro,bind '%s'", f->dir, ro, ro);
	if (system(cmd) == 0) {
		struct wf_store_opts opts = f->opts;
		char path[200];

		snprintf(path, sizeof(path), "%s/h.db", ro);
		opts.path = path;
		cat = catalog_new();
		s = store_open(&opts, cat, T0 + 2 * W);
		assert_true(store_readable(s));
		read_builds(s, ids[0], got, sizeof(got));
		assert_string_equal(got, "");
		store_close(s);
		catalog_free(cat);
		snprintf(cmd, sizeof(cmd), "umount '%s'", ro);
		assert_int_equal(system(cmd), 0);
	} else {
		fail_msg("could not bind-mount %s read-only (needs root)", ro);
	}

	/* Writable: migrated in place; the old stacks have no builds, a new one keeps its own. */
	cat = catalog_new();
	s = store_open(&f->opts, cat, T0 + 2 * W);
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM pragma_table_info('stacks') WHERE name = 'builds'"), 1);
	read_builds(s, ids[0], got, sizeof(got));
	assert_string_equal(got, "");
	{
		struct wf_edge_meta m = { .target_id = tid, .first_seen_ms = T0 + 2 * W, .last_seen_ms = T0 + 2 * W };

		/* (another build than the converted rows', whose keys were made with theirs) */
		make_stripped_edge(&edges[3], 1, c);
		m.hash = catalog_edge_hash(&edges[3], tid);
		ids[3] = catalog_edge_put(cat, &m, &edges[3]);
		assert_true(ids[3] > ids[2]);
		assert_int_equal(write_window(s, cat, tid, &ids[3], 1, T0 + 2 * W, 1, T0 + 3 * W), 0);
	}
	read_builds(s, ids[3], got, sizeof(got));
	assert_string_equal(got, c);
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM builds"), 1);
	store_close(s);
	catalog_free(cat);
	for (int i = 0; i < 4; i++)
		catalog_free_edge(&edges[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_read_rollup_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catalog_expiry_short_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_dir_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack_builds, setup, teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
