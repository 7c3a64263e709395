// SPDX-License-Identifier: Apache-2.0
#include "history.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "edge_blocks.h"
#include "series_blocks.h"
#include "logging.h"

/* A window in the ring: immutable once added (but for persisted, under the
 * lock), shared by reference so a query never holds the lock while it
 * decodes. */
struct ring_window {
	int refs;
	int64_t start_ms, end_ms;
	bool persisted;
	size_t ntargets;
	struct wf_store_target *targets; /* blobs point into data */
	uint8_t *data;
};

struct wf_history {
	struct wf_store *store;
	struct wf_catalog *cat;
	wf_detail_hook detail_hook; /* history_set_detail_hook */
	void *detail_ctx;
	int64_t window_ms, fine_retention_ms;
	pthread_mutex_t lock;
	struct ring_window **ring; /* circular, oldest at head */
	size_t cap, head, len;
	/* Blocks of rolled-up minutes kept in memory, per kind (history.h):
	 * the edges' sums, the series' decoded totals. */
	struct wf_block_cache *blocks[WF_BLOCKS__COUNT];
};

static void window_unref(struct wf_history *h, struct ring_window *w)
{
	bool last;

	if (!w)
		return;
	pthread_mutex_lock(&h->lock);
	last = --w->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (last) {
		free(w->targets);
		free(w->data);
		free(w);
	}
}

struct wf_history *history_new(struct wf_store *store, struct wf_catalog *cat, int64_t window_ms,
			       int64_t fine_retention_ms, size_t ring_windows)
{
	struct wf_history *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ring = calloc(ring_windows ? ring_windows : 1, sizeof(*h->ring));
	h->blocks[WF_BLOCKS_EDGES] = edge_blocks_new(WF_EDGE_BLOCKS_MAX_BYTES);
	h->blocks[WF_BLOCKS_SERIES] = series_blocks_new(WF_SERIES_BLOCKS_MAX_BYTES);
	if (!h->ring || !h->blocks[WF_BLOCKS_EDGES] || !h->blocks[WF_BLOCKS_SERIES]) {
		free(h->ring);
		for (int k = 0; k < WF_BLOCKS__COUNT; k++)
			block_cache_free(h->blocks[k]);
		free(h);
		return NULL;
	}
	h->store = store;
	h->cat = cat;
	h->window_ms = window_ms;
	h->fine_retention_ms = fine_retention_ms;
	h->cap = ring_windows ? ring_windows : 1;
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

void history_free(struct wf_history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->len; i++)
		window_unref(h, h->ring[(h->head + i) % h->cap]);
	free(h->ring);
	for (int k = 0; k < WF_BLOCKS__COUNT; k++)
		block_cache_free(h->blocks[k]);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int history_blocks_limit(struct wf_history *h, enum wf_blocks_kind kind, size_t max_bytes)
{
	struct wf_block_cache *b = kind == WF_BLOCKS_EDGES ? edge_blocks_new(max_bytes) : series_blocks_new(max_bytes);

	if (!b)
		return -1;
	block_cache_free(h->blocks[kind]);
	h->blocks[kind] = b;
	return 0;
}

void history_blocks_stats(struct wf_history *h, enum wf_blocks_kind kind, struct wf_block_cache_stats *out)
{
	block_cache_stats(h->blocks[kind], out);
}

int history_add(struct wf_history *h, const struct wf_store_window *w, bool persisted)
{
	struct ring_window *rw = calloc(1, sizeof(*rw)), *old = NULL;
	size_t bytes = 0;
	uint8_t *p;

	if (!rw)
		return -1;
	for (size_t i = 0; i < w->ntargets; i++)
		bytes += w->targets[i].totals_len + w->targets[i].edges_len + w->targets[i].chains_len;
	rw->targets = calloc(w->ntargets ? w->ntargets : 1, sizeof(*rw->targets));
	rw->data = malloc(bytes ? bytes : 1);
	if (!rw->targets || !rw->data) {
		free(rw->targets);
		free(rw->data);
		free(rw);
		return -1;
	}
	p = rw->data;
	for (size_t i = 0; i < w->ntargets; i++) {
		struct wf_store_target *t = &rw->targets[i];

		*t = w->targets[i];
		memcpy(p, t->totals, t->totals_len);
		t->totals = p;
		p += t->totals_len;
		memcpy(p, t->edges, t->edges_len);
		t->edges = p;
		p += t->edges_len;
		if (t->chains_len)
			memcpy(p, t->chains, t->chains_len);
		t->chains = p;
		p += t->chains_len;
	}
	rw->ntargets = w->ntargets;
	rw->start_ms = w->start_ms;
	rw->end_ms = w->end_ms;
	rw->persisted = persisted;
	rw->refs = 1;

	pthread_mutex_lock(&h->lock);
	if (h->len == h->cap) {
		old = h->ring[h->head];
		h->head = (h->head + 1) % h->cap;
		h->len--;
	}
	h->ring[(h->head + h->len) % h->cap] = rw;
	h->len++;
	pthread_mutex_unlock(&h->lock);
	window_unref(h, old);
	return 0;
}

size_t history_ring_len(struct wf_history *h, int64_t *oldest_ms)
{
	size_t n;

	pthread_mutex_lock(&h->lock);
	n = h->len;
	if (oldest_ms)
		*oldest_ms = n ? h->ring[h->head]->start_ms : -1;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* References to the ring's windows starting in [from, to). */
static size_t ring_take(struct wf_history *h, int64_t from, int64_t to, struct ring_window ***out)
{
	size_t n = 0;

	pthread_mutex_lock(&h->lock);
	*out = malloc((h->len ? h->len : 1) * sizeof(**out));
	if (*out) {
		for (size_t i = 0; i < h->len; i++) {
			struct ring_window *w = h->ring[(h->head + i) % h->cap];

			if (w->start_ms >= from && w->start_ms < to) {
				w->refs++;
				(*out)[n++] = w;
			}
		}
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}

static void ring_drop(struct wf_history *h, struct ring_window **ws, size_t n)
{
	for (size_t i = 0; i < n; i++)
		window_unref(h, ws[i]);
	free(ws);
}

static void resolution(struct wf_history *h, int64_t now_ms, bool store_ok, struct wf_resolution *res)
{
	struct wf_store_status st;

	res->window_ms = h->window_ms;
	res->fine_since_ms = now_ms - h->fine_retention_ms;
	res->rolled_until_ms = 0;
	if (store_ok) {
		store_status(h->store, &st);
		res->rolled_until_ms = st.rolled_until_ms;
	} else {
		/* Memory holds windows only, and only recent ones. */
		res->fine_since_ms = 0;
	}
}

/* ---- series ---- */

/* Tier 1 through the series' blocks (series_blocks.h), tier 0 from its rows. */
static int series_from_store(struct wf_history *h, struct wf_series_acc *a, const struct wf_series_plan *p,
			     int64_t rolled_until_ms)
{
	struct wf_store_reader *r = store_reader_open(h->store);
	int rc = 0;

	if (!r)
		return -1;
	for (size_t i = 0; i < p->nseg && !rc; i++) {
		const struct wf_segment *s = &p->seg[i];

		if (s->tier == WF_TIER_MINUTE) {
			rc = series_blocks_read(h->blocks[WF_BLOCKS_SERIES], r, s->from_ms, s->to_ms, rolled_until_ms, a);
			continue;
		}
		rc = store_read_windows(r, s->tier, s->from_ms, s->to_ms, series_acc_cover_cb, a);
		if (!rc)
			rc = store_read_totals(r, s->tier, s->from_ms, s->to_ms, series_acc_add_cb, a);
	}
	store_reader_close(r);
	return rc;
}

struct wf_series_acc *history_series(struct wf_history *h, const struct wf_query *q, int64_t now_ms,
				     struct wf_series_plan *plan, struct wf_answer_info *info)
{
	bool store_ok = store_readable(h->store);
	struct wf_resolution res;
	struct wf_series_acc *a;
	struct ring_window **ws;
	size_t n;

	memset(info, 0, sizeof(*info));
	resolution(h, now_ms, store_ok, &res);
	series_plan(q, &res, plan);
	a = series_acc_new(q, plan, h->cat);
	if (!a)
		return NULL;
	if (store_ok && series_from_store(h, a, plan, res.rolled_until_ms)) {
		series_acc_reset(a);
		store_ok = false;
	}
	if (!store_ok) {
		/* The plan may have used tier 1; memory has windows only. */
		resolution(h, now_ms, false, &res);
		series_plan(q, &res, plan);
		series_acc_free(a);
		a = series_acc_new(q, plan, h->cat);
		if (!a)
			return NULL;
		info->from_memory_only = true;
	}
	n = ring_take(h, plan->t0, q->to_ms, &ws);
	for (size_t i = 0; i < n; i++) {
		if (store_ok && ws[i]->persisted)
			continue;
		series_acc_cover(a, ws[i]->start_ms, ws[i]->end_ms);
		for (size_t t = 0; t < ws[i]->ntargets; t++)
			series_acc_add(a, ws[i]->start_ms, ws[i]->targets[t].target_id, ws[i]->targets[t].totals,
				       ws[i]->targets[t].totals_len);
	}
	ring_drop(h, ws, n);
	return a;
}

/* ---- edges and chains: the same sources and plan ---- */

/*
 * What an edges or a chains answer reads: the store's blobs of that kind
 * (read), which ring-target blob (ring_blob), and the accumulator's add and
 * reset. The two answers differ in nothing else.
 */
struct blob_kind {
	int (*read)(struct wf_store_reader *r, int tier, int64_t from, int64_t to, wf_store_blob_cb cb, void *ctx);
	wf_store_blob_cb add; /* a blob that does not decode is skipped, as for series */
	void (*reset)(void *acc);
	bool chains;
	bool blocks; /* tier 1 through the edges' block sums (edge_blocks.h) */
};

/* The store's segments of the plan, then the ring's windows it does not
 * hold yet (or all of them when the store cannot be read). */
static void read_blobs(struct wf_history *h, const struct wf_query *q, int64_t now_ms, const struct blob_kind *k,
		       void *acc, struct wf_answer_info *info)
{
	bool store_ok = store_readable(h->store);
	struct wf_resolution res;
	struct wf_segment seg[3];
	struct ring_window **ws;
	size_t nseg, n;

	memset(info, 0, sizeof(*info));
	if (store_ok) {
		struct wf_store_reader *r = store_reader_open(h->store);
		int rc = r ? 0 : -1;

		resolution(h, now_ms, true, &res);
		nseg = edges_plan(q, &res, seg);
		for (size_t i = 0; i < nseg && !rc; i++) {
			if (k->blocks && seg[i].tier == WF_TIER_MINUTE)
				rc = edge_blocks_read(h->blocks[WF_BLOCKS_EDGES], r, seg[i].from_ms, seg[i].to_ms,
						      res.rolled_until_ms, acc);
			else
				rc = k->read(r, seg[i].tier, seg[i].from_ms, seg[i].to_ms, k->add, acc);
		}
		store_reader_close(r);
		if (rc) {
			k->reset(acc);
			store_ok = false;
		}
	}
	info->from_memory_only = !store_ok;
	n = ring_take(h, q->from_ms, q->to_ms, &ws);
	for (size_t i = 0; i < n; i++) {
		if (store_ok && ws[i]->persisted)
			continue;
		for (size_t t = 0; t < ws[i]->ntargets; t++) {
			const struct wf_store_target *rt = &ws[i]->targets[t];
			const uint8_t *blob = k->chains ? rt->chains : rt->edges;
			size_t len = k->chains ? rt->chains_len : rt->edges_len;

			if (len || !k->chains)
				k->add(acc, ws[i]->start_ms, ws[i]->end_ms, rt->target_id, blob, len);
		}
	}
	ring_drop(h, ws, n);
}

static void edges_reset(void *acc)
{
	edges_acc_reset(acc);
}

static int chains_add(void *acc, int64_t start, int64_t end, uint32_t target, const uint8_t *blob, size_t len)
{
	chains_acc_add(acc, start, end, target, blob, len);
	return 0;
}

static void chains_reset(void *acc)
{
	chains_acc_reset(acc);
}

struct wf_edges_acc *history_edges(struct wf_history *h, const struct wf_query *q, int64_t now_ms,
				   struct wf_answer_info *info)
{
	static const struct blob_kind edges = { store_read_edges, edges_acc_add_cb, edges_reset, false, true };
	struct wf_edges_acc *a = edges_acc_new(q, h->cat);

	if (!a)
		return NULL;
	read_blobs(h, q, now_ms, &edges, a, info);
	if (edges_acc_finish(a) < 0) {
		edges_acc_free(a);
		return NULL;
	}
	return a;
}

struct wf_chains_acc *history_chains(struct wf_history *h, const struct wf_query *q, int64_t now_ms,
				     struct wf_answer_info *info)
{
	static const struct blob_kind chains = { store_read_chains, chains_add, chains_reset, true, false };
	struct wf_chains_acc *a = chains_acc_new(q, h->cat);

	if (!a)
		return NULL;
	read_blobs(h, q, now_ms, &chains, a, info);
	if (chains_acc_finish(a) < 0) {
		chains_acc_free(a);
		return NULL;
	}
	return a;
}

void history_edge_details(struct wf_history *h, const uint32_t *ids, size_t n, struct wf_edge_detail *out,
			  bool *found)
{
	struct wf_store_reader *r = NULL;
	bool tried = false;

	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		found[i] = catalog_edge_detail(h->cat, ids[i], &out[i].edge) == 0;
		if (found[i])
			continue;
		if (!tried) {
			tried = true;
			if (store_readable(h->store))
				r = store_reader_open(h->store);
		}
		found[i] = r && store_read_edge(r, ids[i], &out[i]) == 0;
	}
	store_reader_close(r);
	for (size_t i = 0; h->detail_hook && i < n; i++)
		if (found[i])
			h->detail_hook(&out[i].edge, &out[i].arena, h->detail_ctx);
}

void history_set_detail_hook(struct wf_history *h, wf_detail_hook fn, void *ctx)
{
	h->detail_hook = fn;
	h->detail_ctx = ctx;
}

int history_write_pending(struct wf_history *h, int64_t now_ms)
{
	struct ring_window **todo;
	size_t n = 0, done = 0;

	pthread_mutex_lock(&h->lock);
	todo = malloc((h->len ? h->len : 1) * sizeof(*todo));
	for (size_t i = 0; todo && i < h->len; i++) {
		struct ring_window *w = h->ring[(h->head + i) % h->cap];

		if (!w->persisted) {
			w->refs++;
			todo[n++] = w;
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (!todo)
		return -1;
	/* Oldest first, so that a minute is rolled up with all its windows. */
	for (; done < n; done++) {
		struct wf_store_window sw = { .start_ms = todo[done]->start_ms,
					      .end_ms = todo[done]->end_ms,
					      .targets = todo[done]->targets,
					      .ntargets = todo[done]->ntargets };

		/* The time now, not the window's end: a closed store is
		 * reopened only once 30 s have passed since the last try,
		 * which a window's own (older) end never shows. */
		if (store_write_window(h->store, &sw, now_ms))
			break;
		pthread_mutex_lock(&h->lock);
		todo[done]->persisted = true;
		pthread_mutex_unlock(&h->lock);
	}
	if (n && done == n)
		wf_log(WF_LOG_INFO, "store: wrote the %zu window(s) kept in memory while it failed", n);
	for (size_t i = 0; i < n; i++)
		window_unref(h, todo[i]);
	free(todo);
	return done == n ? 0 : -1;
}
