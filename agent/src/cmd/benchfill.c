// SPDX-License-Identifier: Apache-2.0
#include "benchfill.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "catalog.h"
#include "chains.h"
#include "classify.h"
#include "clock.h"
#include "collect.h"
#include "history.h"
#include "intern.h"

#define FRAME_POOL 600
#define STACK_DEPTH 24

struct bench {
	struct wf_catalog *cat;
	uint32_t target_ids[BENCH_TARGETS];
	struct wf_edge pool[BENCH_TARGETS][BENCH_EDGE_POOL];
	/* The two links before the target's own wakeup: X -> main -> worker. */
	struct wf_edge causes[BENCH_TARGETS][BENCH_CHAIN_PREFIXES][2];
	int chains_per_window;
	const char *frames[FRAME_POOL];
	/* Every stack as a stripped Envoy's (the proxyv2 image's) would be:
	 * with the builds of its unnamed modules, Envoy and libc (edge.h). */
	const char *builds;
	uint64_t rng;
	int64_t window_ms;
	struct wf_store *store;
	struct wf_history *hist;
	double *write_ms; /* per window, sorted for the percentiles at the end */
	double total_ms;
};

static uint64_t next_rand(struct bench *b)
{
	/* xorshift64*: reproducible runs without libc's global state. */
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 2685821657736338717ULL;
}

static uint32_t bench_target(void *ctx, int32_t pid, const char *comm)
{
	struct bench *b = ctx;

	(void)comm;
	return pid >= 1000 && pid < 1000 + BENCH_TARGETS ? b->target_ids[pid - 1000] : 0;
}

static void make_stack(struct bench *b, struct wf_stack *st, unsigned seed, int nkernel)
{
	st->frames = malloc(STACK_DEPTH * sizeof(char *));
	st->nframes = st->frames ? STACK_DEPTH : 0;
	st->nkernel = nkernel;
	for (int f = 0; f < st->nframes; f++)
		st->frames[f] = b->frames[(seed * 7919u + (unsigned)f * 104729u) % FRAME_POOL];
	st->builds = b->builds;
}

/* Per target, the causes chains share: an upstream thread (another
 * process's, or the node's) waking the main thread over a socket, which
 * posts to a worker through an eventfd; stacks on the first link only, as
 * the capture keeps them. */
static int setup_causes(struct bench *b)
{
	for (int t = 0; t < BENCH_TARGETS; t++) {
		for (int p = 0; p < BENCH_CHAIN_PREFIXES; p++) {
			struct wf_edge *first = &b->causes[t][p][0], *second = &b->causes[t][p][1];

			edge_init(first);
			snprintf(first->waker.comm, sizeof(first->waker.comm), "upstream-%d", p % 8);
			snprintf(first->waker.proc_comm, sizeof(first->waker.proc_comm), "app");
			first->waker.pid = 3000 + t;
			first->waker.tid = 3100 + p;
			snprintf(first->target.comm, sizeof(first->target.comm), "envoy");
			snprintf(first->target.proc_comm, sizeof(first->target.proc_comm), "envoy");
			first->target.pid = first->target.tid = 1000 + t;
			first->context = WF_CTX_TASK;
			first->category = p % 2 ? WF_CAT_NET_UNIX : WF_CAT_NET_TCP_DATA;
			first->role = WF_ROLE_MAIN;
			first->stacks_sampled = true;
			make_stack(b, &first->waker_stack, 900000u + (unsigned)(t * 64 + p) * 2, 10);
			make_stack(b, &first->target_stack, 900001u + (unsigned)(t * 64 + p) * 2, 12);
			if (!first->waker_stack.frames || !first->target_stack.frames)
				return -1;
			edge_init(second);
			second->waker = first->target;
			snprintf(second->target.comm, sizeof(second->target.comm), "wrk:worker_%d", p % BENCH_THREADS);
			snprintf(second->target.proc_comm, sizeof(second->target.proc_comm), "envoy");
			second->target.pid = 1000 + t;
			second->target.tid = 2000 + t * 100 + p % BENCH_THREADS;
			second->context = WF_CTX_TASK;
			second->category = WF_CAT_IPC_EVENTFD;
			second->activity = intern("envoy.dispatcher_post");
			second->role = WF_ROLE_WORKER;
		}
	}
	return 0;
}

static int setup(struct bench *b, int64_t first_ms)
{
	static const char *const activities[] = { "envoy.dispatcher_post", "envoy.stats_flush", "envoy.xds", NULL };
	char name[96];

	b->builds = intern("3c1f9a0e5d7b2c4468a1f0e9d2b7c5a3e1f08d64:libc.so.6\n"
			   "8e2d4f6a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e:envoy");
	if (!b->builds)
		return -1;
	for (int i = 0; i < FRAME_POOL; i++) {
		snprintf(name, sizeof(name), i < FRAME_POOL / 3 ? "kernel_function_%d" : "Envoy::Module%d::method(int)", i);
		b->frames[i] = intern(name);
		if (!b->frames[i])
			return -1;
	}
	for (int t = 0; t < BENCH_TARGETS; t++) {
		struct wf_target tg;

		memset(&tg, 0, sizeof(tg));
		tg.pid = 1000 + t;
		tg.start_time = 4242 + (uint64_t)t;
		snprintf(tg.comm, sizeof(tg.comm), "envoy");
		snprintf(tg.exe, sizeof(tg.exe), "/usr/local/bin/envoy");
		snprintf(tg.labels.value[WF_LABEL_POD], WF_LABEL_MAX, "bench-%d-7d9f8c6b5-x2k4q", t);
		snprintf(tg.labels.value[WF_LABEL_NAMESPACE], WF_LABEL_MAX, "bench");
		snprintf(tg.labels.value[WF_LABEL_WORKLOAD], WF_LABEL_MAX, "bench-%d", t);
		tg.alive = true;
		tg.first_seen_ms = tg.last_seen_ms = first_ms;
		b->target_ids[t] = catalog_target_put(b->cat, &tg);
		if (!b->target_ids[t])
			return -1;
		for (int e = 0; e < BENCH_EDGE_POOL; e++) {
			struct wf_edge *ed = &b->pool[t][e];
			unsigned seed = (unsigned)(t * BENCH_EDGE_POOL + e);

			edge_init(ed);
			snprintf(ed->target.comm, sizeof(ed->target.comm), "wrk:worker_%d", e % BENCH_THREADS);
			snprintf(ed->target.proc_comm, sizeof(ed->target.proc_comm), "envoy");
			ed->target.pid = 1000 + t;
			ed->target.tid = 2000 + t * 100 + e % BENCH_THREADS;
			snprintf(ed->waker.comm, sizeof(ed->waker.comm), e % 3 ? "wrk:worker_%d" : "kworker/%d:1",
				 (e / 7) % BENCH_THREADS);
			ed->waker.pid = e % 3 ? 1000 + t : 50 + e % 4;
			ed->waker.tid = ed->waker.pid + e % 11;
			ed->context = (enum wf_context)(1 + e % 3);
			ed->kind = e % 9 ? WF_SWITCH_BLOCKED : WF_SWITCH_PREEMPTED;
			ed->category = e % WF_CAT__COUNT;
			ed->activity = activities[e % 4] ? intern(activities[e % 4]) : NULL;
			ed->role = WF_ROLE_WORKER;
			ed->count_known = ed->runq_known = ed->stacks_sampled = true;
			make_stack(b, &ed->waker_stack, seed * 2, 10);
			make_stack(b, &ed->target_stack, seed * 2 + 1, 12);
			if (!ed->waker_stack.frames || !ed->target_stack.frames)
				return -1;
		}
	}
	return setup_causes(b);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Window k's edges and thread totals: a sliding 2,000 of each target's 2,500
 * edges with random counts and times, and 8 threads each. */
static int make_window(struct bench *b, int64_t k, struct wf_edge_list *edges, struct capture_totals *totals)
{
	edges->items = malloc(BENCH_TARGETS * BENCH_EDGES_PER_WINDOW * sizeof(*edges->items));
	totals->items = malloc(BENCH_TARGETS * BENCH_THREADS * sizeof(*totals->items));
	if (!edges->items || !totals->items)
		return -1;
	for (int t = 0; t < BENCH_TARGETS; t++) {
		int offset = (int)((k * 97) % BENCH_EDGE_POOL);

		for (int e = 0; e < BENCH_EDGES_PER_WINDOW; e++) {
			struct wf_edge *ed = &edges->items[edges->len++];
			uint64_t r = next_rand(b);

			*ed = b->pool[t][(offset + e) % BENCH_EDGE_POOL];
			ed->count = 1 + r % 64;
			ed->offcpu_ns = ed->count * (1000 + (r >> 8) % 5000000);
			ed->offcpu_max_ns = ed->offcpu_ns / ed->count * 2;
			ed->runq_ns = ed->count * ((r >> 32) % 200000);
		}
		for (int th = 0; th < BENCH_THREADS; th++) {
			struct capture_thread_totals *tt = &totals->items[totals->len++];
			uint64_t r = next_rand(b);

			memset(tt, 0, sizeof(*tt));
			snprintf(tt->task.comm, sizeof(tt->task.comm), "wrk:worker_%d", th % BENCH_THREADS);
			snprintf(tt->task.proc_comm, sizeof(tt->task.proc_comm), "envoy");
			tt->task.pid = 1000 + t;
			tt->task.tid = 2000 + t * 100 + th;
			tt->oncpu_ns = r % 3000000000ULL;
			tt->preempted_ns = (r >> 16) % 300000000ULL;
			tt->blocked_ns = (uint64_t)b->window_ms * 1000000ULL - tt->oncpu_ns;
			tt->runq_ns = (r >> 24) % 100000000ULL;
			tt->switches = 1000 + r % 5000;
			tt->involuntary = tt->switches / 10;
			tt->wakeups = tt->switches - tt->involuntary;
		}
	}
	return 0;
}

/* Window k's chains: a sliding chains_per_window of each target's pool;
 * chain c has cause c % BENCH_CHAIN_PREFIXES and ends in pool edge
 * 6 (c % (BENCH_CHAIN_POOL / 2)) (the target's own wakeup): two chains end
 * in each such edge, their causes differing in the first link only. The
 * links share the pools' stacks. */
static int make_chains(struct bench *b, int64_t k, struct wf_chain_list *chains)
{
	size_t n = (size_t)BENCH_TARGETS * (size_t)b->chains_per_window;

	chains->items = malloc((n ? n : 1) * sizeof(*chains->items));
	if (!chains->items)
		return -1;
	chains->cap = n;
	for (int t = 0; t < BENCH_TARGETS; t++) {
		int offset = (int)((k * BENCH_CHAIN_SLIDE) % BENCH_CHAIN_POOL);

		for (int i = 0; i < b->chains_per_window; i++) {
			struct wf_chain *c = &chains->items[chains->len++];
			int e = (offset + i) % BENCH_CHAIN_POOL;
			uint64_t r = next_rand(b);

			memset(c, 0, sizeof(*c));
			c->nlinks = 3;
			c->links[0] = b->causes[t][e % BENCH_CHAIN_PREFIXES][0];
			c->links[1] = b->causes[t][e % BENCH_CHAIN_PREFIXES][1];
			c->links[2] = b->pool[t][(e % (BENCH_CHAIN_POOL / 2) * 6) % BENCH_EDGE_POOL];
			c->ended_by = e % 5 ? WF_CHAIN_END_NONE : WF_CHAIN_END_UNTRACKED;
			c->count = 1 + r % 32;
			c->offcpu_ns = c->count * (1000 + (r >> 8) % 5000000);
			c->runq_ns = c->count * ((r >> 32) % 200000);
		}
	}
	return 0;
}

/* Window k, [start, end), through the daemon's path: collect, encode, the
 * store's write (timed), the in-memory ring. 0, or -1 (printed if the store failed). */
static int write_window(struct bench *b, int64_t k, int64_t start, int64_t end)
{
	struct wf_edge_list edges = { 0 };
	struct wf_chain_list chains = { 0 };
	struct capture_totals totals = { 0 };
	struct wf_collected col = { 0 };
	struct wf_collect_ctx cc = { .cat = b->cat, .target_of = bench_target, .ctx = b, .now_ms = end };
	struct wf_store_status st;
	struct wf_encoded enc;
	double t0;
	int rc;

	rc = make_window(b, k, &edges, &totals);
	for (int t = 0; t < BENCH_TARGETS && !rc; t++) {
		/* As the tracker does for every running target. */
		struct wf_target tg;

		if (catalog_target_get(b->cat, b->target_ids[t], &tg) == 0) {
			tg.last_seen_ms = end;
			catalog_target_put(b->cat, &tg);
		}
	}
	rc = rc ? rc : collect_window(&cc, &edges, &totals, &col);
	if (!rc && b->chains_per_window)
		rc = make_chains(b, k, &chains) || collect_chains(&cc, &chains, &col, NULL) ? -1 : 0;
	/* The pool owns the stacks: don't let edge_list_free free them. */
	free(edges.items);
	free(chains.items);
	free(totals.items);
	if (rc || collected_encode(&col, start, end, &enc)) {
		collected_free(&col);
		return -1;
	}
	t0 = mono_ms();
	rc = store_write_window(b->store, &enc.window, end);
	b->write_ms[k] = mono_ms() - t0;
	b->total_ms += b->write_ms[k];
	if (history_add(b->hist, &enc.window, rc == 0))
		rc = -1;
	else if (rc) {
		store_status(b->store, &st);
		fprintf(stderr, "wakeflow-agent: bench fill stopped at window %lld: %s\n", (long long)k, st.error);
	}
	encoded_free(&enc);
	collected_free(&col);
	return rc ? -1 : 0;
}

/* Prints the figures as one JSON object; the size is what a second open of
 * the store reads back, as the daemon would find it. */
static void print_figures(struct bench *b, const struct wf_store_opts *opts, int64_t nwin, double hours,
			  int64_t end_all, double t_start, FILE *out)
{
	struct wf_catalog *cat2 = catalog_new();
	struct wf_store *s2 = cat2 ? store_open(opts, cat2, end_all) : NULL;
	struct wf_store_status st = { 0 };
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	if (s2)
		store_status(s2, &st);
	store_close(s2);
	catalog_free(cat2);
	qsort(b->write_ms, (size_t)nwin, sizeof(*b->write_ms), cmp_double);
	fprintf(out,
		"{\"windows\": %lld, \"hours\": %.2f, \"targets\": %d, \"edges_per_window_per_target\": %d,"
		" \"chains_per_window_per_target\": %d,"
		" \"db_bytes\": %llu, \"db_bytes_per_day\": %.0f, \"write_ms_mean\": %.3f, \"write_ms_p50\": %.3f,"
		" \"write_ms_p99\": %.3f, \"write_ms_max\": %.3f, \"fill_seconds\": %.1f, \"fill_max_rss_kib\": %ld}\n",
		(long long)nwin, hours, BENCH_TARGETS, BENCH_EDGES_PER_WINDOW, b->chains_per_window,
		(unsigned long long)st.size_bytes,
		(double)st.size_bytes * 24.0 / hours, b->total_ms / (double)nwin, b->write_ms[nwin / 2],
		b->write_ms[(size_t)((double)nwin * 0.99)], b->write_ms[nwin - 1], (mono_ms() - t_start) / 1000.0, ru.ru_maxrss);
}

static void bench_free(struct bench *b)
{
	history_free(b->hist);
	store_close(b->store);
	free(b->write_ms);
	if (b->cat) {
		for (int t = 0; t < BENCH_TARGETS; t++)
			for (int e = 0; e < BENCH_EDGE_POOL; e++)
				catalog_free_edge(&b->pool[t][e]);
		for (int t = 0; t < BENCH_TARGETS; t++)
			for (int p = 0; p < BENCH_CHAIN_PREFIXES; p++)
				catalog_free_edge(&b->causes[t][p][0]);
		catalog_free(b->cat);
	}
	free(b);
}

int benchfill_run(const struct wf_store_opts *opts, int64_t window_ms, double hours, FILE *out)
{
	struct bench *b = calloc(1, sizeof(*b));
	int64_t end_all, start_all, nwin;
	double t_start = mono_ms();
	struct wf_store_status st;
	int status = 1;

	if (!b)
		return 1;
	b->rng = 0x9e3779b97f4a7c15ULL;
	b->window_ms = window_ms;
	b->chains_per_window = BENCH_CHAINS_PER_WINDOW;
	if (getenv("WAKEFLOW_BENCH_CHAINS")) {
		char *end;
		long v = strtol(getenv("WAKEFLOW_BENCH_CHAINS"), &end, 10);

		if (*end || v < 0 || v > BENCH_CHAIN_POOL) {
			fprintf(stderr, "wakeflow-agent: WAKEFLOW_BENCH_CHAINS must be 0 to %d\n", BENCH_CHAIN_POOL);
			free(b);
			return 1;
		}
		b->chains_per_window = (int)v;
	}
	end_all = (int64_t)time(NULL) * 1000 / window_ms * window_ms;
	nwin = (int64_t)(hours * 3600 * 1000) / window_ms;
	start_all = end_all - nwin * window_ms;
	b->cat = catalog_new();
	if (!b->cat || setup(b, start_all)) {
		fprintf(stderr, "wakeflow-agent: out of memory\n");
		goto out;
	}
	b->store = store_open(opts, b->cat, start_all);
	b->write_ms = calloc((size_t)nwin + 1, sizeof(*b->write_ms));
	/* The daemon's in-memory ring too, so the writer's peak RSS is what a
	 * daemon under this load holds (catalog, ring, writer cache). */
	b->hist = b->store ? history_new(b->store, b->cat, window_ms, opts->fine_retention_ms,
					 (size_t)(WF_RING_SPAN_MS / window_ms))
			   : NULL;
	if (!b->store || !b->write_ms || !b->hist)
		goto out;
	store_status(b->store, &st);
	if (st.state != WF_STORE_OK) {
		fprintf(stderr, "wakeflow-agent: %s\n", st.error);
		goto out;
	}
	for (int64_t k = 0; k < nwin; k++) {
		int64_t start = start_all + k * window_ms, end = start + window_ms;

		if (write_window(b, k, start, end))
			goto out;
		if ((end - start_all) % WF_CATALOG_PRUNE_INTERVAL_MS == 0)
			catalog_prune(b->cat, end - opts->retention_ms, end - WF_RING_SPAN_MS);
	}
	/* Closed before the figures: its last writes and the peak RSS count. */
	history_free(b->hist);
	b->hist = NULL;
	store_close(b->store);
	b->store = NULL;
	print_figures(b, opts, nwin, hours, end_all, t_start, out);
	status = 0;
out:
	bench_free(b);
	return status;
}
