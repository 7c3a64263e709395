// SPDX-License-Identifier: Apache-2.0
/*
 * Chains from the collector to the HTTP answer, on chains built here as the
 * capture builds them (chain.h): the chains blob codec, collect_chains
 * (links classified and catalogued as edges of the target), a real SQLite
 * store in a temporary directory (windows, the minute roll-up, retention),
 * the ring, history_chains with depth cuts and filters, and the
 * /api/v1/chains route of a real server on a loopback port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "catalog.h"
#include "chains.h"
#include "chains_acc.h"
#include "classify.h"
#include "collect.h"
#include "fake_fs.h"
#include "history.h"
#include "http_api.h"
#include "metrics.h"
#include "query.h"
#include "store.h"
#include "store_file.h"
#include "window.h"

#define T0 1699999800000LL /* a multiple of a minute */
#define W 10000LL

struct fx {
	char dir[64], path[128];
	struct wf_store_opts opts;
	struct wf_catalog *cat;
	struct wf_rules *rules;
	struct wf_store *store;
	struct wf_history *history;
	uint32_t target;
};

static uint32_t target_of(void *ctx, int32_t pid, const char *comm)
{
	struct fx *f = ctx;

	(void)comm;
	return pid == 10 ? f->target : 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct wf_target t;
	char err[256];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/wf-test-chains-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/c.db", f->dir);
	f->opts = (struct wf_store_opts){ .path = f->path, .retention_ms = 24 * 3600000LL,
					  .fine_retention_ms = 3 * 3600000LL };
	f->cat = catalog_new();
	f->rules = rules_load_default(err, sizeof(err));
	assert_non_null(f->cat);
	assert_non_null(f->rules);
	memset(&t, 0, sizeof(t));
	t.pid = 10;
	t.start_time = 777;
	strcpy(t.comm, "wf-pipeline");
	snprintf(t.labels.value[WF_LABEL_POD], sizeof(t.labels.value[0]), "pipeline-0");
	t.first_seen_ms = t.last_seen_ms = T0;
	t.alive = true;
	f->target = catalog_target_put(f->cat, &t);
	assert_true(f->target);
	f->store = store_open(&f->opts, f->cat, T0);
	assert_non_null(f->store);
	f->history = history_new(f->store, f->cat, W, f->opts.fine_retention_ms, 180);
	assert_non_null(f->history);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	history_free(f->history);
	store_close(f->store);
	catalog_free(f->cat);
	rules_free(f->rules);
	rm_tree(f->dir);
	free(f);
	return 0;
}

static void task(struct wf_task *t, const char *comm, int32_t pid, int32_t tid)
{
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	snprintf(t->proc_comm, sizeof(t->proc_comm), "%s", pid == 10 ? "wf-pipeline" : "wf-other");
	t->pid = pid;
	t->tid = tid;
}

/* A link: waker woke target through fd (a fact the rules classify). */
static void make_link(struct wf_edge *e, const char *wcomm, int32_t wtid, const char *tcomm, int32_t ttid, int32_t pid,
		 const char *fd)
{
	char fact[64];

	edge_init(e);
	task(&e->waker, wcomm, pid, wtid);
	task(&e->target, tcomm, pid, ttid);
	e->context = WF_CTX_TASK;
	e->count_known = e->runq_known = true;
	snprintf(fact, sizeof(fact), "waker.fd=%s", fd);
	edge_add_fact(e, fact);
	edge_add_fact(e, "waker.syscall=write");
}

/*
 * One window's chains: A  wf-x -(eventfd)-> wf-a -(eventfd)-> wf-b -(pipe)-> wf-c,
 * B the same without wf-x (its first hop untracked), C of a process that is
 * not a target, D without links (skipped).
 */
static void build(struct wf_chain_list *l)
{
	struct wf_chain c;

	memset(l, 0, sizeof(*l));
	memset(&c, 0, sizeof(c));
	c.nlinks = 3;
	make_link(&c.links[0], "wf-x", 9, "wf-a", 11, 10, "eventfd");
	make_link(&c.links[1], "wf-a", 11, "wf-b", 12, 10, "eventfd");
	make_link(&c.links[2], "wf-b", 12, "wf-c", 13, 10, "pipe");
	c.count = 5;
	c.offcpu_ns = 5000000;
	c.runq_ns = 50000;
	assert_int_equal(chain_list_push(l, &c), 0);

	memset(&c, 0, sizeof(c));
	c.nlinks = 2;
	make_link(&c.links[0], "wf-a", 11, "wf-b", 12, 10, "eventfd");
	make_link(&c.links[1], "wf-b", 12, "wf-c", 13, 10, "pipe");
	c.ended_by = WF_CHAIN_END_UNTRACKED;
	c.count = 2;
	c.offcpu_ns = 1000000;
	c.runq_ns = 20000;
	assert_int_equal(chain_list_push(l, &c), 0);

	memset(&c, 0, sizeof(c));
	c.nlinks = 1;
	make_link(&c.links[0], "other", 98, "other", 99, 99, "pipe");
	c.count = 100;
	c.offcpu_ns = 900000000;
	assert_int_equal(chain_list_push(l, &c), 0);

	memset(&c, 0, sizeof(c));
	c.nlinks = 0;
	assert_int_equal(chain_list_push(l, &c), 0);
}

/* Window k through the collector, the store (unless !persist) and the ring. */
static void add_window(struct fx *f, int k, bool persist, int64_t now_ms)
{
	struct wf_chain_list l;
	struct wf_collected col = { 0 };
	struct wf_encoded enc;
	uint64_t skipped = 0;
	int64_t start = T0 + k * W;
	struct wf_collect_ctx cc = { .cat = f->cat, .rules = f->rules, .target_of = target_of, .ctx = f,
				     .now_ms = start + W };
	bool persisted = false;

	build(&l);
	assert_int_equal(collect_chains(&cc, &l, &col, &skipped), 0);
	assert_int_equal(skipped, 1);
	/* Only the target's chains, and its two: A and B. */
	assert_int_equal(col.n, 1);
	assert_int_equal(col.t[0].nchains, 2);
	assert_int_equal(collected_encode(&col, start, start + W, &enc), 0);
	assert_true(enc.targets[0].chains_len > 0);
	if (persist)
		persisted = store_write_window(f->store, &enc.window, now_ms ? now_ms : start + W) == 0;
	assert_int_equal(persisted, persist);
	assert_int_equal(history_add(f->history, &enc.window, persisted), 0);
	encoded_free(&enc);
	collected_free(&col);
	chain_list_free(&l);
}

static struct wf_chains_acc *query(struct fx *f, const char *extra, int64_t from, int64_t to, bool *memory_only)
{
	char qs[256], err[256];
	struct wf_query q;
	struct wf_answer_info info;
	struct wf_chains_acc *a;

	snprintf(qs, sizeof(qs), "from=%lld&to=%lld%s", (long long)from, (long long)to, extra);
	assert_int_equal(query_parse(WF_EP_CHAINS, qs, strlen(qs), to, &q, err, sizeof(err)), 0);
	a = history_chains(f->history, &q, to, &info);
	assert_non_null(a);
	if (memory_only)
		*memory_only = info.from_memory_only;
	return a;
}

/* ---- the codec ---- */

/* Field by field (the struct has padding): links, length, end and numbers. */
static bool same_chain(const struct wf_wchain *a, const struct wf_wchain *b)
{
	return !wchain_cmp(a, b) && !memcmp(a->links, b->links, sizeof(a->links)) && a->count == b->count &&
	       a->offcpu_us == b->offcpu_us && a->runq_us == b->runq_us;
}

static void test_codec(void **state)
{
	struct wf_wtarget t, back;
	struct wf_buf b = { 0 };
	struct wf_wchain c = { .nlinks = 3, .ended_by = WF_CHAIN_END_INTERRUPT, .links = { 7, 300, 5 },
			       .count = 3, .offcpu_us = 1000000, .runq_us = 17 };

	(void)state;
	wtarget_init(&t, 1);
	wtarget_init(&back, 1);
	assert_int_equal(wtarget_add_chain(&t, &c), 0);
	c.links[2] = 4; /* sorts first: by last link */
	assert_int_equal(wtarget_add_chain(&t, &c), 0);
	c.links[2] = 5; /* equal to the first: summed */
	assert_int_equal(wtarget_add_chain(&t, &c), 0);
	c.nlinks = 0;
	assert_int_equal(wtarget_add_chain(&t, &c), -1);
	c.nlinks = WF_CHAIN_MAX_LINKS + 1;
	assert_int_equal(wtarget_add_chain(&t, &c), -1);
	wtarget_normalize(&t);
	assert_int_equal(t.nchains, 2);
	assert_int_equal(t.chains[0].links[2], 4);
	assert_int_equal(t.chains[1].count, 6);
	assert_int_equal(t.chains[1].offcpu_us, 2000000);
	assert_int_equal(wtarget_encode_chains(&t, &b), 0);
	assert_int_equal(wtarget_decode_chains(&back, b.data, b.len), 0);
	assert_int_equal(back.nchains, 2);
	for (size_t i = 0; i < 2; i++)
		assert_true(same_chain(&back.chains[i], &t.chains[i]));
	/* Every truncation and a bad length or end are corrupt, never a crash. */
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(wtarget_decode_chains(&back, b.data, n), -1);
	/* Layout: version, 1 prefix (head 2 * 4 + interrupt, links 7 and 300),
	 * 2 chains: last link delta 4, prefix 0, ... */
	assert_int_equal(b.data[0], 2);
	assert_int_equal(b.data[1], 1);
	assert_int_equal(b.data[2], 9);
	assert_int_equal(b.data[6], 2);
	assert_int_equal(b.data[8], 0);
	b.data[2] = 16; /* five links */
	assert_int_equal(wtarget_decode_chains(&back, b.data, b.len), -1);
	b.data[2] = 9;
	b.data[8] = 1; /* a prefix that is not there */
	assert_int_equal(wtarget_decode_chains(&back, b.data, b.len), -1);
	b.data[8] = 0;
	assert_int_equal(wtarget_decode_chains(&back, b.data, b.len), 0);
	b.data[0] = 1; /* an older codec */
	assert_int_equal(wtarget_decode_chains(&back, b.data, b.len), -1);
	/* Empty: no prefixes, no chains. */
	t.nchains = 0;
	assert_int_equal(wtarget_encode_chains(&t, &b), 0);
	assert_int_equal(b.len, 3);
	assert_int_equal(wtarget_decode_chains(&back, b.data, b.len), 0);
	b.data[1] = 1; /* a prefix promised, none there */
	assert_int_equal(wtarget_decode_chains(&back, b.data, b.len), -1);
	assert_int_equal(back.nchains, 0);
	wf_buf_free(&b);
	wtarget_free(&t);
	wtarget_free(&back);
}

/* Many chains over a few prefixes and lengths: back exactly as normalized. */
static void test_codec_roundtrip(void **state)
{
	struct wf_wtarget t, back;
	struct wf_buf b = { 0 };
	uint64_t rng = 88172645463325252ULL;

	(void)state;
	wtarget_init(&t, 1);
	wtarget_init(&back, 1);
	for (int i = 0; i < 3000; i++) {
		struct wf_wchain c = { 0 };

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		c.nlinks = (uint8_t)(1 + rng % WF_CHAIN_MAX_LINKS);
		c.ended_by = (uint8_t)((rng >> 8) % 4);
		for (int l = 0; l < c.nlinks - 1; l++)
			c.links[l] = (uint32_t)(1 + (rng >> (12 + 3 * l)) % 6);
		c.links[c.nlinks - 1] = (uint32_t)(1 + (rng >> 30) % 100000);
		c.count = 1 + (rng >> 40) % 50;
		c.offcpu_us = rng >> 20;
		c.runq_us = (rng >> 44) % 100000;
		assert_int_equal(wtarget_add_chain(&t, &c), 0);
	}
	wtarget_normalize(&t);
	assert_int_equal(wtarget_encode_chains(&t, &b), 0);
	assert_int_equal(wtarget_decode_chains(&back, b.data, b.len), 0);
	assert_int_equal(back.nchains, t.nchains);
	for (size_t i = 0; i < t.nchains; i++)
		assert_true(same_chain(&back.chains[i], &t.chains[i]));
	wf_buf_free(&b);
	wtarget_free(&t);
	wtarget_free(&back);
}

static void test_cut_and_id(void **state)
{
	struct wf_wchain a = { .nlinks = 3, .links = { 1, 2, 3 } }, b;

	(void)state;
	b = a;
	chain_cut(&b, 3);
	assert_true(same_chain(&a, &b)); /* not longer than depth: untouched */
	chain_cut(&b, 2);
	assert_int_equal(b.nlinks, 2);
	assert_int_equal(b.links[0], 2);
	assert_int_equal(b.links[1], 3);
	assert_int_equal(b.links[2], 0);
	assert_int_equal(b.ended_by, WF_CHAIN_END_DEPTH);
	assert_true(chain_id(&a) != chain_id(&b));
	assert_true(chain_id(&a) < (1ULL << 53));
	b = a;
	assert_int_equal(chain_id(&a), chain_id(&b));
	b.ended_by = WF_CHAIN_END_UNTRACKED;
	assert_true(chain_id(&a) != chain_id(&b));
}

static void test_query_parse(void **state)
{
	static const char *const bad[] = { "depth=0", "depth=5", "depth=x", "depth=-1", "depth=", "depth=3&depth=3",
					   "sort=max", "limit=0", "step=10", "by=category" };
	struct wf_query q;
	char err[256];

	(void)state;
	assert_int_equal(query_parse(WF_EP_CHAINS, "", 0, T0, &q, err, sizeof(err)), 0);
	assert_int_equal(q.depth, 3);
	assert_int_equal(q.limit, 100);
	assert_int_equal(query_parse(WF_EP_CHAINS, "depth=1&limit=5000&sort=runq&category=ipc", 41, T0, &q, err,
				     sizeof(err)),
			 0);
	assert_int_equal(q.depth, 1);
	assert_int_equal(q.limit, 1000);
	assert_int_equal(q.sort, WF_SORT_RUNQ);
	assert_int_equal(query_parse(WF_EP_CHAINS, "depth=4", 7, T0, &q, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(query_parse(WF_EP_CHAINS, bad[i], strlen(bad[i]), T0, &q, err, sizeof(err)), 400);
		assert_true(strlen(err) > 0);
		assert_null(strchr(err, '\n'));
	}
	assert_int_equal(query_parse(WF_EP_CHAINS, "depth=9", 7, T0, &q, err, sizeof(err)), 400);
	assert_string_equal(err, "depth must be a number of links from 1 to 4, got '9'");
	/* Edges take no depth. */
	assert_int_equal(query_parse(WF_EP_EDGES, "depth=2", 7, T0, &q, err, sizeof(err)), 400);
}

/* ---- collector, store, ring and query ---- */

/* The catalog edge behind a chain's link, to check hops and classes. */
static void link_detail(struct fx *f, uint32_t id, struct wf_edge *out)
{
	assert_int_equal(catalog_edge_detail(f->cat, id, out), 0);
}

static void test_depths_and_filters(void **state)
{
	struct fx *f = *state;
	struct wf_chains_acc *a;
	const struct wf_chain_row *r;
	struct wf_edge e;
	int64_t to = T0 + 8 * W;
	bool mem;

	for (int k = 0; k < 8; k++)
		add_window(f, k, true, 0);

	/* depth 3: A and B apart, A (40 x, 40 ms) first. */
	a = query(f, "", T0, to, &mem);
	assert_false(mem);
	assert_int_equal(chains_acc_matched(a), 2);
	r = chains_acc_row(a, 0);
	assert_non_null(r);
	assert_int_equal(r->target_id, f->target);
	assert_int_equal(r->chain.nlinks, 3);
	assert_int_equal(r->chain.ended_by, WF_CHAIN_END_NONE);
	assert_int_equal(r->chain.count, 40);
	assert_int_equal(r->chain.offcpu_us, 40000);
	assert_int_equal(r->chain.runq_us, 400);
	assert_int_equal(r->first_ms, T0);
	assert_int_equal(r->last_ms, to);
	link_detail(f, r->chain.links[0], &e);
	assert_string_equal(e.waker.comm, "wf-x");
	assert_string_equal(e.target.comm, "wf-a");
	assert_int_equal(e.category, WF_CAT_IPC_EVENTFD);
	catalog_free_edge(&e);
	link_detail(f, r->chain.links[2], &e);
	assert_string_equal(e.target.comm, "wf-c");
	assert_int_equal(e.category, WF_CAT_IPC_PIPE);
	catalog_free_edge(&e);
	r = chains_acc_row(a, 1);
	assert_int_equal(r->chain.nlinks, 2);
	assert_int_equal(r->chain.ended_by, WF_CHAIN_END_UNTRACKED);
	assert_int_equal(r->chain.count, 16);
	assert_null(chains_acc_row(a, 2));
	chains_acc_free(a);

	/* depth 2: A cut (ended by depth) is not B (untracked). */
	a = query(f, "&depth=2", T0, to, NULL);
	assert_int_equal(chains_acc_matched(a), 2);
	assert_int_equal(chains_acc_row(a, 0)->chain.nlinks, 2);
	assert_int_equal(chains_acc_row(a, 0)->chain.ended_by, WF_CHAIN_END_DEPTH);
	assert_int_equal(chains_acc_row(a, 0)->chain.links[1], chains_acc_row(a, 1)->chain.links[1]);
	chains_acc_free(a);

	/* depth 1: both become the target's own wakeup and are summed. */
	a = query(f, "&depth=1", T0, to, NULL);
	assert_int_equal(chains_acc_matched(a), 1);
	assert_int_equal(chains_acc_row(a, 0)->chain.count, 56);
	assert_int_equal(chains_acc_row(a, 0)->chain.ended_by, WF_CHAIN_END_DEPTH);
	chains_acc_free(a);

	/* Sorting, limit, and the filters on the target (the last link). */
	a = query(f, "&sort=count&limit=1", T0, to, NULL);
	assert_int_equal(chains_acc_matched(a), 2);
	assert_int_equal(chains_acc_row(a, 0)->chain.count, 40);
	assert_null(chains_acc_row(a, 1));
	chains_acc_free(a);
	static const struct {
		const char *q;
		size_t matched;
	} filters[] = { { "&category=ipc.pipe", 2 }, { "&category=ipc", 2 },	{ "&category=ipc.eventfd", 0 },
			{ "&thread=wf-c", 2 },	     { "&thread=wf-a", 0 },	{ "&pid=10", 2 },
			{ "&pid=99", 0 },	     { "&pod=pipeline-0", 2 }, { "&pod=other", 0 },
			{ "&comm=wf-pipeline", 2 } };
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		a = query(f, filters[i].q, T0, to, NULL);
		if (chains_acc_matched(a) != filters[i].matched)
			fail_msg("%s: matched %zu, want %zu", filters[i].q, chains_acc_matched(a), filters[i].matched);
		chains_acc_free(a);
	}
}

/* Minutes roll up into tier 1 like edges; the answer is the same from it. */
static int count_rows(void *ctx, int64_t start, int64_t end, uint32_t target, const uint8_t *blob, size_t len)
{
	(void)start;
	(void)end;
	(void)target;
	(void)blob;
	(void)len;
	++*(int *)ctx;
	return 0;
}

static void test_rollup_and_retention(void **state)
{
	struct fx *f = *state;
	struct wf_store_reader *rd;
	struct wf_chains_acc *a;
	int fine = 0, minute = 0;

	/* Windows 0-5 fill minute T0; window 6 starts the next and rolls it up. */
	for (int k = 0; k < 7; k++)
		add_window(f, k, true, 0);
	rd = store_reader_open(f->store);
	assert_non_null(rd);
	assert_int_equal(store_read_chains(rd, WF_TIER_WINDOW, T0, T0 + WF_MINUTE_MS, count_rows, &fine), 0);
	assert_int_equal(store_read_chains(rd, WF_TIER_MINUTE, T0, T0 + WF_MINUTE_MS, count_rows, &minute), 0);
	assert_int_equal(fine, 6);
	assert_int_equal(minute, 1);
	store_reader_close(rd);

	/* The rolled-up minute answers from tier 1 (the ring skips persisted windows). */
	a = query(f, "", T0, T0 + WF_MINUTE_MS, NULL);
	assert_int_equal(chains_acc_row(a, 0)->chain.count, 30);
	chains_acc_free(a);

	/* Retention: tier 0 goes after fine_retention, tier 1 stays. */
	add_window(f, 7, true, T0 + 4 * 3600000LL);
	fine = minute = 0;
	rd = store_reader_open(f->store);
	assert_int_equal(store_read_chains(rd, WF_TIER_WINDOW, T0, T0 + 8 * W, count_rows, &fine), 0);
	assert_int_equal(store_read_chains(rd, WF_TIER_MINUTE, T0, T0 + 8 * W, count_rows, &minute), 0);
	store_reader_close(rd);
	assert_int_equal(fine, 0);
	assert_int_equal(minute, 1);
	/* And past retention, tier 1 too. */
	add_window(f, 8, true, T0 + 30 * 3600000LL);
	minute = 0;
	rd = store_reader_open(f->store);
	assert_int_equal(store_read_chains(rd, WF_TIER_MINUTE, T0, T0 + 9 * W, count_rows, &minute), 0);
	store_reader_close(rd);
	assert_int_equal(minute, 0);
}

/* Puts the chains of a store written by this version back where the first
 * version with chains kept them: a chain_windows row per window and target,
 * and edge_windows without its chains column (that version's exact DDL). */
static void to_earlier_shape(const char *path)
{
	static const char sql[] =
		"INSERT INTO chain_windows(tier, start_ms, target_id, data)"
		" SELECT tier, start_ms, target_id, chains FROM edge_windows WHERE chains IS NOT NULL;"
		"CREATE TABLE old_edge_windows(tier INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
		" target_id INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(tier, start_ms, target_id));"
		"INSERT INTO old_edge_windows SELECT tier, start_ms, target_id, data FROM edge_windows;"
		"DROP TABLE edge_windows;"
		"ALTER TABLE old_edge_windows RENAME TO edge_windows;";
	sqlite3 *db;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/*
 * A store written by the earlier version (chains in chain_windows) opens:
 * its chains are answered, its minute rolls up with the new windows into
 * the new column, retention drops its rows, and the store is not rewritten.
 */
static void test_earlier_store_shape(void **state)
{
	struct fx *f = *state;
	struct wf_store_reader *rd;
	struct wf_chains_acc *a;
	int fine = 0, minute = 0;

	/* Windows 0-4 of minute T0, then the file as the earlier version left it. */
	for (int k = 0; k < 5; k++)
		add_window(f, k, true, 0);
	history_free(f->history);
	store_close(f->store);
	catalog_free(f->cat);
	to_earlier_shape(f->path);
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM chain_windows"), 5);
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM pragma_table_info('edge_windows') WHERE name = 'chains'"),
			 0);

	/* Reopened as the daemon does: a fresh catalog loaded from the file. */
	f->cat = catalog_new();
	assert_non_null(f->cat);
	f->store = store_open(&f->opts, f->cat, T0 + 5 * W);
	assert_non_null(f->store);
	f->history = history_new(f->store, f->cat, W, f->opts.fine_retention_ms, 180);
	assert_non_null(f->history);
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM pragma_table_info('edge_windows') WHERE name = 'chains'"),
			 1);
	a = query(f, "", T0, T0 + 5 * W, NULL);
	assert_int_equal(chains_acc_matched(a), 2);
	assert_int_equal(chains_acc_row(a, 0)->chain.count, 25);
	chains_acc_free(a);

	/* Window 5 lands in the new column; window 6 rolls the minute up from both. */
	add_window(f, 5, true, 0);
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM edge_windows WHERE tier = 0 AND chains IS NOT NULL"), 1);
	a = query(f, "", T0, T0 + 6 * W, NULL);
	assert_int_equal(chains_acc_row(a, 0)->chain.count, 30);
	chains_acc_free(a);
	add_window(f, 6, true, 0);
	rd = store_reader_open(f->store);
	assert_non_null(rd);
	assert_int_equal(store_read_chains(rd, WF_TIER_WINDOW, T0, T0 + WF_MINUTE_MS, count_rows, &fine), 0);
	assert_int_equal(store_read_chains(rd, WF_TIER_MINUTE, T0, T0 + WF_MINUTE_MS, count_rows, &minute), 0);
	store_reader_close(rd);
	assert_int_equal(fine, 6);
	assert_int_equal(minute, 1);
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM edge_windows WHERE tier = 1 AND chains IS NOT NULL"), 1);
	a = query(f, "", T0, T0 + WF_MINUTE_MS, NULL);
	assert_int_equal(chains_acc_row(a, 0)->chain.count, 30);
	chains_acc_free(a);

	/* Past the windows' retention the earlier rows go too. */
	add_window(f, 7, true, T0 + 4 * 3600000LL);
	assert_int_equal(store_file_int(f->path, "SELECT count(*) FROM chain_windows"), 0);
	a = query(f, "", T0, T0 + WF_MINUTE_MS, NULL);
	assert_int_equal(chains_acc_row(a, 0)->chain.count, 30);
	chains_acc_free(a);
}

/* A window the store did not take is answered from the ring, once. */
static void test_ring(void **state)
{
	struct fx *f = *state;
	struct wf_chains_acc *a;

	add_window(f, 0, true, 0);
	add_window(f, 1, false, 0);
	a = query(f, "", T0, T0 + 2 * W, NULL);
	assert_int_equal(chains_acc_row(a, 0)->chain.count, 10);
	chains_acc_free(a);
}

/* ---- the route, on a real server ---- */

static char *get(int port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char req[512], *buf = malloc(1 << 20);
	size_t len = 0;
	ssize_t n;

	assert_non_null(buf);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, buf + len, (1 << 20) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	return buf;
}

static void test_http_route(void **state)
{
	struct fx *f = *state;
	struct wf_metrics *m = metrics_new();
	struct wf_http_ctx ctx = { .cat = f->cat, .history = f->history, .store = f->store, .metrics = m };
	struct sockaddr_storage addr;
	socklen_t alen;
	struct wf_http *h = NULL;
	char listen[32], err[256], path[256], *out;
	int port = 0;

	assert_non_null(m);
	for (int k = 0; k < 3; k++)
		add_window(f, k, true, 0);
	for (int i = 0; i < 50 && !h; i++) {
		port = 20000 + (int)((unsigned)getpid() * 7919u + (unsigned)i * 104729u) % 40000;
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
		assert_int_equal(http_parse_listen(listen, &addr, &alen, err, sizeof(err)), 0);
		h = http_start(&addr, alen, &ctx, err, sizeof(err));
	}
	assert_non_null(h);

	snprintf(path, sizeof(path), "/api/v1/chains?from=%lld&to=%lld", (long long)T0, (long long)(T0 + 3 * W));
	out = get(port, path);
	assert_non_null(strstr(out, "HTTP/1.1 200"));
	assert_non_null(strstr(out, "\"depth\":3,\"matched\":2,\"truncated\":false,\"chains\":[{\"hops\":["
				    "{\"comm\":\"wf-x\",\"proc\":\"wf-pipeline\",\"pid\":10,\"tid\":9},"
				    "{\"comm\":\"wf-a\",\"proc\":\"wf-pipeline\",\"pid\":10,\"tid\":11},"
				    "{\"comm\":\"wf-b\",\"proc\":\"wf-pipeline\",\"pid\":10,\"tid\":12},"
				    "{\"comm\":\"wf-c\",\"proc\":\"wf-pipeline\",\"pid\":10,\"tid\":13}],"
				    "\"links\":[{\"category\":\"ipc.eventfd\",\"activity\":null,\"context\":\"task\","
				    "\"stacks_sampled\":false},"
				    "{\"category\":\"ipc.eventfd\",\"activity\":null,\"context\":\"task\","
				    "\"stacks_sampled\":false},"
				    "{\"category\":\"ipc.pipe\",\"activity\":null,\"context\":\"task\","
				    "\"stacks_sampled\":false}],"
				    "\"count\":15,\"offcpu_us\":15000,\"runq_us\":150,\"ended_by\":\"none\",\"id\":"));
	assert_non_null(strstr(out, ",\"labels\":{\"pod\":\"pipeline-0\"},\"first_seen_ms\":1699999800000,"
				    "\"last_seen_ms\":1699999830000}"));
	assert_non_null(strstr(out, "\"ended_by\":\"untracked\""));
	free(out);

	snprintf(path, sizeof(path), "/api/v1/chains?from=%lld&to=%lld&depth=1&limit=1", (long long)T0,
		 (long long)(T0 + 3 * W));
	out = get(port, path);
	assert_non_null(strstr(out, "\"depth\":1,\"matched\":1,\"truncated\":false,\"chains\":[{\"hops\":["
				    "{\"comm\":\"wf-b\",\"proc\":\"wf-pipeline\",\"pid\":10,\"tid\":12},"
				    "{\"comm\":\"wf-c\",\"proc\":\"wf-pipeline\",\"pid\":10,\"tid\":13}],"));
	assert_non_null(strstr(out, "\"count\":21,"));
	assert_non_null(strstr(out, "\"ended_by\":\"depth\""));
	free(out);

	snprintf(path, sizeof(path), "/api/v1/chains?from=%lld&to=%lld&limit=1", (long long)T0,
		 (long long)(T0 + 3 * W));
	out = get(port, path);
	assert_non_null(strstr(out, "\"matched\":2,\"truncated\":true,"));
	free(out);

	out = get(port, "/api/v1/chains?depth=5");
	assert_non_null(strstr(out, "HTTP/1.1 400"));
	assert_non_null(strstr(out, "{\"error\":\"depth must be a number of links from 1 to 4, got '5'\"}"));
	free(out);
	out = get(port, "/api/v1/chains?category=nope");
	assert_non_null(strstr(out, "HTTP/1.1 400"));
	free(out);
	http_stop(h);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_cut_and_id),
		cmocka_unit_test(test_query_parse),
		cmocka_unit_test_setup_teardown(test_depths_and_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollup_and_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_earlier_store_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_route, setup, teardown),
	};

	return cmocka_run_group_tests_name("chains_store", tests, NULL, NULL);
}
