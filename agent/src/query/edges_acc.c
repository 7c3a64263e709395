// SPDX-License-Identifier: Apache-2.0
/*
 * /api/v1/edges' aggregation (series.h, "edges"): the edge blobs of a range
 * summed by edge id, filtered on the catalog's few fields per edge, and the
 * top `limit` of them by the sort key.
 *
 * An hour of a busy node is ~240 blobs of ~2,500 edges each, so the sums are
 * found through a table indexed by the id itself (ids are small and dense:
 * the catalog hands them out in order), two levels deep so that a few old
 * ids far below the rest cost a page of slots, not a slot per id between.
 * Ranking keeps the best `limit` rows in a heap and sorts only those.
 */
#include <stdlib.h>
#include <string.h>

#include "series.h"
#include "window.h"

#define PAGE_BITS 8
#define PAGE_SLOTS (1u << PAGE_BITS)

/* One edge's sums over the range. */
struct sums {
	uint32_t id, target_id;
	uint64_t count, offcpu_us, runq_us, max_us;
	int64_t first_ms, last_ms;
};

struct wf_edges_acc {
	struct wf_query q;
	struct wf_catalog *cat;
	struct wf_target_match tm;
	struct wf_record_filter rf;
	uint32_t id_limit; /* the catalog's first unassigned id, as last read */
	uint32_t **pages;  /* pages[id >> PAGE_BITS][id % PAGE_SLOTS]: index into sums + 1, 0 = none yet */
	size_t npages;
	struct sums *sums;
	size_t nsums, csums;
	struct wf_edge_row *rows; /* the answer, after edges_acc_finish */
	size_t nrows, matched;
	struct wf_wtarget scratch;
};

struct wf_edges_acc *edges_acc_new(const struct wf_query *q, struct wf_catalog *cat)
{
	struct wf_edges_acc *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	query_copy(&a->q, q);
	a->cat = cat;
	if (target_match_init(&a->tm, cat, &a->q.filter)) {
		free(a);
		return NULL;
	}
	record_filter_init(&a->rf, &a->q.filter, cat);
	a->id_limit = catalog_edge_id_limit(cat);
	return a;
}

static void free_pages(struct wf_edges_acc *a)
{
	for (size_t i = 0; i < a->npages; i++)
		free(a->pages[i]);
	free(a->pages);
	a->pages = NULL;
	a->npages = 0;
}

void edges_acc_free(struct wf_edges_acc *a)
{
	if (!a)
		return;
	free_pages(a);
	free(a->sums);
	free(a->rows);
	target_match_free(&a->tm);
	wtarget_free(&a->scratch);
	free(a);
}

void edges_acc_reset(struct wf_edges_acc *a)
{
	free_pages(a);
	a->nsums = 0;
	a->nrows = 0;
	a->matched = 0;
}

/* The slot of an id whose page is not there yet: the page allocated; NULL
 * for an id the catalog never handed out (it could not be answered) or on
 * ENOMEM. */
static uint32_t *slot_slow(struct wf_edges_acc *a, uint32_t id)
{
	size_t page = id >> PAGE_BITS;

	if (id >= a->id_limit) {
		/* New edges may have been added since the query began. */
		a->id_limit = catalog_edge_id_limit(a->cat);
		if (id >= a->id_limit)
			return NULL;
	}
	if (page >= a->npages) {
		size_t n = ((size_t)a->id_limit >> PAGE_BITS) + 1;
		uint32_t **p = realloc(a->pages, n * sizeof(*p));

		if (!p)
			return NULL;
		memset(p + a->npages, 0, (n - a->npages) * sizeof(*p));
		a->pages = p;
		a->npages = n;
	}
	a->pages[page] = calloc(PAGE_SLOTS, sizeof(uint32_t));
	if (!a->pages[page])
		return NULL;
	return &a->pages[page][id & (PAGE_SLOTS - 1)];
}

/* The slot of id: one load while its page exists (every add goes through
 * here), the rest apart. */
static inline __attribute__((always_inline)) uint32_t *slot(struct wf_edges_acc *a, uint32_t id)
{
	size_t page = id >> PAGE_BITS;

	if (page < a->npages && a->pages[page])
		return &a->pages[page][id & (PAGE_SLOTS - 1)];
	return slot_slow(a, id);
}

/* New sums for id in its (empty) slot; NULL on ENOMEM. Apart from the adds'
 * loops, which find an existing sum in one load. */
static struct sums *new_sums(struct wf_edges_acc *a, uint32_t *sl, uint32_t id, uint32_t target_id, int64_t first_ms,
			     int64_t last_ms)
{
	struct sums *s;

	if (a->nsums == a->csums) {
		size_t cap = a->csums ? a->csums * 2 : 1024;
		struct sums *p = realloc(a->sums, cap * sizeof(*p));

		if (!p)
			return NULL;
		a->sums = p;
		a->csums = cap;
	}
	s = &a->sums[a->nsums++];
	*sl = (uint32_t)a->nsums;
	*s = (struct sums){ .id = id, .target_id = target_id, .first_ms = first_ms, .last_ms = last_ms };
	return s;
}

/* One edge's numbers, seen from first_ms to last_ms, added to its sums
 * (created on first sight), first/last seen widened. The one addition of
 * both callers below: a window's blob and a block's sums. 0, -1 on ENOMEM. */
static inline int add_edge(struct wf_edges_acc *a, uint32_t id, uint32_t target_id, int64_t first_ms,
			   int64_t last_ms, uint64_t count, uint64_t offcpu_us, uint64_t runq_us, uint64_t max_us)
{
	uint32_t *sl = slot(a, id);
	struct sums *s;

	if (!sl)
		return id < a->id_limit ? -1 /* ENOMEM */ : 0;
	s = *sl ? &a->sums[*sl - 1] : new_sums(a, sl, id, target_id, first_ms, last_ms);
	if (!s)
		return -1;
	s->count += count;
	s->offcpu_us += offcpu_us;
	s->runq_us += runq_us;
	if (max_us > s->max_us)
		s->max_us = max_us;
	if (first_ms < s->first_ms)
		s->first_ms = first_ms;
	if (last_ms > s->last_ms)
		s->last_ms = last_ms;
	return 0;
}

/* One window's edges blob of one target. */
int edges_acc_add(struct wf_edges_acc *a, int64_t start_ms, int64_t end_ms, uint32_t target_id, const uint8_t *edges,
		  size_t len)
{
	struct wf_wtarget *w = &a->scratch;

	if (target_match_find(&a->tm, target_id) < 0)
		return 0;
	if (wtarget_decode_edges(w, edges, len))
		return -1;
	for (size_t i = 0; i < w->nedges; i++) {
		const struct wf_wedge *e = &w->edges[i];

		if (add_edge(a, e->id, target_id, start_ms, end_ms, e->count, e->offcpu_us, e->runq_us, e->max_us))
			return -1;
	}
	return 0;
}

int edges_acc_add_cb(void *acc, int64_t start_ms, int64_t end_ms, uint32_t target_id, const uint8_t *edges,
		     size_t len)
{
	edges_acc_add(acc, start_ms, end_ms, target_id, edges, len);
	return 0;
}

/* A block's sums of one target (edge_blocks.c): the same additions, each
 * edge once for the whole block. */
int edges_acc_add_sums(struct wf_edges_acc *a, uint32_t target_id, int64_t base_ms, const struct wf_edge_sum *in,
		       size_t n)
{
	if (target_match_find(&a->tm, target_id) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct wf_edge_sum *e = &in[i];

		if (add_edge(a, e->id, target_id, base_ms + e->first_off_ms, base_ms + e->last_off_ms, e->count,
			     e->offcpu_us, e->runq_us, e->max_us))
			return -1;
	}
	return 0;
}

/* ---- ranking ---- */

static uint64_t sort_value(const struct sums *s, enum wf_sort key)
{
	return key == WF_SORT_COUNT ? s->count : key == WF_SORT_RUNQ ? s->runq_us : s->offcpu_us;
}

/* The answer's order: largest first, ties by id, so answers are stable. */
static bool ranks_before(const struct sums *x, const struct sums *y, enum wf_sort key)
{
	uint64_t vx = sort_value(x, key), vy = sort_value(y, key);

	return vx != vy ? vx > vy : x->id < y->id;
}

/* A heap of the best rows so far, the worst of them at the root. */
struct top {
	const struct sums **h;
	size_t n, cap;
	enum wf_sort key;
};

/* Moves h[i] down until neither child is worse than it (the root is the worst). */
static void top_sift_down(struct top *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, worst = i;

		if (l < t->n && ranks_before(t->h[worst], t->h[l], t->key))
			worst = l;
		if (r < t->n && ranks_before(t->h[worst], t->h[r], t->key))
			worst = r;
		if (worst == i)
			return;
		const struct sums *tmp = t->h[i];

		t->h[i] = t->h[worst];
		t->h[worst] = tmp;
		i = worst;
	}
}

/* A candidate: in while the heap has room (sifted up), else in place of
 * the worst if it ranks before it. */
static void top_offer(struct top *t, const struct sums *s)
{
	if (t->n < t->cap) {
		size_t i = t->n++;

		t->h[i] = s;
		while (i && ranks_before(t->h[(i - 1) / 2], t->h[i], t->key)) {
			const struct sums *tmp = t->h[i];

			t->h[i] = t->h[(i - 1) / 2];
			t->h[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
	} else if (t->cap && ranks_before(s, t->h[0], t->key)) {
		t->h[0] = s;
		top_sift_down(t, 0);
	}
}

/* Empties the heap into out, best first. */
static void top_drain(struct top *t, const struct sums **out)
{
	while (t->n) {
		out[t->n - 1] = t->h[0];
		t->h[0] = t->h[--t->n];
		top_sift_down(t, 0);
	}
}

/*
 * The answer: the catalog's metadata of every summed id in one call, the
 * per-record filters on it (matched counts what passes), the best `limit`
 * through the heap, then the rows best first. The id table is freed: no
 * more adds after this.
 */
ssize_t edges_acc_finish(struct wf_edges_acc *a)
{
	size_t n = a->nsums, limit = (size_t)a->q.limit;
	uint32_t *ids = malloc((n + 1) * sizeof(*ids));
	struct wf_edge_meta *metas = malloc((n + 1) * sizeof(*metas));
	bool *found = malloc((n + 1) * sizeof(*found));
	struct top t = { .key = a->q.sort };
	const struct sums **best;
	ssize_t rc = -1;

	if (limit > n)
		limit = n;
	t.cap = limit;
	t.h = malloc((limit + 1) * sizeof(*t.h));
	best = malloc((limit + 1) * sizeof(*best));
	free(a->rows);
	a->rows = malloc((limit + 1) * sizeof(*a->rows));
	if (!ids || !metas || !found || !t.h || !best || !a->rows)
		goto out;
	for (size_t i = 0; i < n; i++)
		ids[i] = a->sums[i].id;
	catalog_edge_metas(a->cat, ids, n, metas, found);
	a->matched = 0;
	for (size_t i = 0; i < n; i++) {
		/* An id the catalog no longer knows was expired with its target. */
		if (!found[i] || !record_filter_meta(&a->rf, &metas[i]))
			continue;
		a->matched++;
		top_offer(&t, &a->sums[i]);
	}
	a->nrows = t.n;
	top_drain(&t, best);
	for (size_t i = 0; i < a->nrows; i++) {
		const struct sums *s = best[i];

		a->rows[i] = (struct wf_edge_row){ .id = s->id,
						   .meta = metas[s - a->sums],
						   .count = s->count,
						   .offcpu_us = s->offcpu_us,
						   .runq_us = s->runq_us,
						   .max_us = s->max_us,
						   .first_ms = s->first_ms,
						   .last_ms = s->last_ms };
	}
	free_pages(a);
	rc = (ssize_t)a->nrows;
out:
	free(ids);
	free(metas);
	free(found);
	free(t.h);
	free(best);
	return rc;
}

const struct wf_edge_row *edges_acc_row(struct wf_edges_acc *a, size_t i)
{
	return i < a->nrows ? &a->rows[i] : NULL;
}

size_t edges_acc_matched(struct wf_edges_acc *a)
{
	return a->matched;
}

const struct wf_target_match *edges_acc_targets(struct wf_edges_acc *a)
{
	return &a->tm;
}
