// SPDX-License-Identifier: Apache-2.0
/*
 * /api/v1/chains' aggregation (chains_acc.h). Chains are keyed by their
 * links, not by a small dense id as edges are, so the sums live in an
 * open-addressing hash table keyed by the chain's hash; an answer is at most
 * a few thousand distinct chains at the bench load, bounded anyway by
 * WF_CHAINS_MAX_DISTINCT.
 */
#include "chains_acc.h"

#include <stdlib.h>
#include <string.h>

struct wf_chains_acc {
	struct wf_query q;
	struct wf_catalog *cat;
	struct wf_target_match tm;
	struct wf_record_filter rf;
	struct wf_chain_row *rows; /* the sums; after finish, the answer's rows first */
	size_t nrows, crows;
	uint32_t *slots; /* index into rows + 1, 0 = empty; cslots a power of two */
	size_t cslots;
	size_t matched, nanswer;
	bool overflow;
	struct wf_wtarget scratch;
};

void chain_cut(struct wf_wchain *c, int depth)
{
	int drop = c->nlinks - depth;

	if (depth < 1 || drop <= 0)
		return;
	memmove(c->links, c->links + drop, (size_t)depth * sizeof(c->links[0]));
	memset(c->links + depth, 0, (size_t)drop * sizeof(c->links[0]));
	c->nlinks = (uint8_t)depth;
	c->ended_by = WF_CHAIN_END_DEPTH;
}

uint64_t chain_id(const struct wf_wchain *c)
{
	uint64_t h = 1469598103934665603ULL;
	uint64_t parts[WF_CHAIN_MAX_LINKS + 1];

	for (int i = 0; i < WF_CHAIN_MAX_LINKS; i++)
		parts[i] = c->links[i];
	parts[WF_CHAIN_MAX_LINKS] = (uint64_t)c->nlinks << 8 | c->ended_by;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (int b = 0; b < 8; b++) {
			h ^= (parts[i] >> (8 * b)) & 0xff;
			h *= 1099511628211ULL;
		}
	h &= (1ULL << 53) - 1;
	return h ? h : 1;
}

struct wf_chains_acc *chains_acc_new(const struct wf_query *q, struct wf_catalog *cat)
{
	struct wf_chains_acc *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	query_copy(&a->q, q);
	if (a->q.depth < 1 || a->q.depth > WF_CHAIN_MAX_LINKS)
		a->q.depth = WF_CHAIN_DEFAULT_LINKS;
	a->cat = cat;
	if (target_match_init(&a->tm, cat, &a->q.filter)) {
		free(a);
		return NULL;
	}
	record_filter_init(&a->rf, &a->q.filter, cat);
	return a;
}

void chains_acc_free(struct wf_chains_acc *a)
{
	if (!a)
		return;
	free(a->rows);
	free(a->slots);
	target_match_free(&a->tm);
	wtarget_free(&a->scratch);
	free(a);
}

void chains_acc_reset(struct wf_chains_acc *a)
{
	a->nrows = a->matched = a->nanswer = 0;
	a->overflow = false;
	if (a->slots)
		memset(a->slots, 0, a->cslots * sizeof(*a->slots));
}

/* Doubles the table (or makes the first one), re-inserting every row. */
static int grow_slots(struct wf_chains_acc *a)
{
	size_t cap = a->cslots ? a->cslots * 2 : 1024;
	uint32_t *s = calloc(cap, sizeof(*s));

	if (!s)
		return -1;
	for (size_t i = 0; i < a->nrows; i++) {
		size_t k = (size_t)a->rows[i].id & (cap - 1);

		while (s[k])
			k = (k + 1) & (cap - 1);
		s[k] = (uint32_t)i + 1;
	}
	free(a->slots);
	a->slots = s;
	a->cslots = cap;
	return 0;
}

/* The row of chain c (cut already) of target_id, added if new; NULL when
 * the table is full (a->overflow) or on ENOMEM (*nomem). */
static struct wf_chain_row *row_of(struct wf_chains_acc *a, const struct wf_wchain *c, uint32_t target_id,
				   bool *nomem)
{
	uint64_t id = chain_id(c);
	size_t k;

	if (a->cslots) {
		for (k = (size_t)id & (a->cslots - 1); a->slots[k]; k = (k + 1) & (a->cslots - 1)) {
			struct wf_chain_row *r = &a->rows[a->slots[k] - 1];

			if (r->id == id && r->target_id == target_id && !wchain_cmp(&r->chain, c))
				return r;
		}
	}
	if (a->nrows >= WF_CHAINS_MAX_DISTINCT) {
		a->overflow = true;
		return NULL;
	}
	/* At most half full, so probes stay short. */
	if ((a->nrows + 1) * 2 > a->cslots && grow_slots(a)) {
		*nomem = true;
		return NULL;
	}
	if (a->nrows == a->crows) {
		size_t cap = a->crows ? a->crows * 2 : 256;
		struct wf_chain_row *p = realloc(a->rows, cap * sizeof(*p));

		if (!p) {
			*nomem = true;
			return NULL;
		}
		a->rows = p;
		a->crows = cap;
	}
	for (k = (size_t)id & (a->cslots - 1); a->slots[k]; k = (k + 1) & (a->cslots - 1))
		;
	a->slots[k] = (uint32_t)a->nrows + 1;
	a->rows[a->nrows] = (struct wf_chain_row){ .id = id, .target_id = target_id, .chain = *c };
	a->rows[a->nrows].chain.count = a->rows[a->nrows].chain.offcpu_us = a->rows[a->nrows].chain.runq_us = 0;
	a->rows[a->nrows].first_ms = INT64_MAX;
	a->rows[a->nrows].last_ms = INT64_MIN;
	return &a->rows[a->nrows++];
}

int chains_acc_add(struct wf_chains_acc *a, int64_t start_ms, int64_t end_ms, uint32_t target_id,
		   const uint8_t *blob, size_t len)
{
	struct wf_wtarget *w = &a->scratch;

	if (target_match_find(&a->tm, target_id) < 0)
		return 0;
	if (wtarget_decode_chains(w, blob, len))
		return -1;
	for (size_t i = 0; i < w->nchains; i++) {
		struct wf_wchain c = w->chains[i];
		struct wf_chain_row *r;
		bool nomem = false;

		chain_cut(&c, a->q.depth);
		r = row_of(a, &c, target_id, &nomem);
		if (!r) {
			if (nomem)
				return -1;
			continue;
		}
		r->chain.count += c.count;
		r->chain.offcpu_us += c.offcpu_us;
		r->chain.runq_us += c.runq_us;
		if (start_ms < r->first_ms)
			r->first_ms = start_ms;
		if (end_ms > r->last_ms)
			r->last_ms = end_ms;
	}
	return 0;
}

static uint64_t sort_value(const struct wf_chain_row *r, enum wf_sort key)
{
	return key == WF_SORT_COUNT ? r->chain.count : key == WF_SORT_RUNQ ? r->chain.runq_us : r->chain.offcpu_us;
}

static int by_sort_desc(const void *x, const void *y, void *key)
{
	const struct wf_chain_row *a = x, *b = y;
	uint64_t va = sort_value(a, *(enum wf_sort *)key), vb = sort_value(b, *(enum wf_sort *)key);

	if (va != vb)
		return va > vb ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/*
 * The filters need the last link's thread, role, category and activity:
 * the catalog's metadata of every row's last link in one call. Rows that
 * pass move to the front, sorted; the hash table is dropped (no more adds).
 */
ssize_t chains_acc_finish(struct wf_chains_acc *a)
{
	size_t n = a->nrows, kept = 0;
	uint32_t *ids = calloc(n + 1, sizeof(*ids));
	struct wf_edge_meta *metas = malloc((n + 1) * sizeof(*metas));
	bool *found = malloc((n + 1) * sizeof(*found));
	ssize_t rc = -1;

	if (!ids || !metas || !found)
		goto out;
	for (size_t i = 0; i < n; i++)
		ids[i] = a->rows[i].chain.links[a->rows[i].chain.nlinks - 1];
	catalog_edge_metas(a->cat, ids, n, metas, found);
	for (size_t i = 0; i < n; i++) {
		/* A link the catalog no longer knows was expired with its target. */
		if (!found[i] || !record_filter_meta(&a->rf, &metas[i]))
			continue;
		a->rows[kept++] = a->rows[i];
	}
	a->matched = kept;
	qsort_r(a->rows, kept, sizeof(*a->rows), by_sort_desc, &a->q.sort);
	a->nanswer = kept < (size_t)a->q.limit ? kept : (size_t)a->q.limit;
	free(a->slots);
	a->slots = NULL;
	a->cslots = 0;
	rc = (ssize_t)a->nanswer;
out:
	free(ids);
	free(metas);
	free(found);
	return rc;
}

const struct wf_chain_row *chains_acc_row(struct wf_chains_acc *a, size_t i)
{
	return i < a->nanswer ? &a->rows[i] : NULL;
}

size_t chains_acc_matched(struct wf_chains_acc *a)
{
	return a->matched;
}

bool chains_acc_overflowed(struct wf_chains_acc *a)
{
	return a->overflow;
}

const struct wf_target_match *chains_acc_targets(struct wf_chains_acc *a)
{
	return &a->tm;
}
