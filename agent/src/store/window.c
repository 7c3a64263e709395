// SPDX-License-Identifier: Apache-2.0
/*
 * A target's window (window.h): built by collect.c, merged by the roll-up
 * and by queries, and encoded into the two blobs the store keeps. The
 * layouts below are the on-disk format: changing one means a new
 * CODEC_VERSION (and old blobs then read as corrupt).
 */
#include "window.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The first varint of every blob. */
#define CODEC_VERSION 1
/* A blob never describes more entries than this; anything larger is corrupt. */
#define MAX_ENTRIES (1u << 22)

void wtarget_init(struct wf_wtarget *t, uint32_t target_id)
{
	memset(t, 0, sizeof(*t));
	t->target_id = target_id;
}

void wtarget_free(struct wf_wtarget *t)
{
	free(t->threads);
	free(t->cats);
	free(t->edges);
	free(t->chains);
	memset(t, 0, sizeof(*t));
}

/* Empties t, keeping its arrays for the next decode. */
void wtarget_clear(struct wf_wtarget *t)
{
	t->nr_periods = t->nr_throttled = t->throttled_us = 0;
	t->nthreads = t->ncats = t->nedges = t->nchains = 0;
}

/* Grows *items (of size sz) to hold at least need entries. */
static int reserve(void **items, size_t *cap, size_t need, size_t sz)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*items, ncap * sz);
	if (!p)
		return -1;
	*items = p;
	*cap = ncap;
	return 0;
}

int wtarget_add_thread(struct wf_wtarget *t, const struct wf_wthread *th)
{
	if (reserve((void **)&t->threads, &t->cthreads, t->nthreads + 1, sizeof(*th)))
		return -1;
	t->threads[t->nthreads++] = *th;
	return 0;
}

int wtarget_add_cat(struct wf_wtarget *t, const struct wf_wcat *c)
{
	if (reserve((void **)&t->cats, &t->ccats, t->ncats + 1, sizeof(*c)))
		return -1;
	t->cats[t->ncats++] = *c;
	return 0;
}

int wtarget_add_edge(struct wf_wtarget *t, const struct wf_wedge *e)
{
	if (reserve((void **)&t->edges, &t->cedges, t->nedges + 1, sizeof(*e)))
		return -1;
	t->edges[t->nedges++] = *e;
	return 0;
}

int wtarget_add_chain(struct wf_wtarget *t, const struct wf_wchain *c)
{
	if (c->nlinks < 1 || c->nlinks > WF_CHAIN_MAX_LINKS)
		return -1;
	if (reserve((void **)&t->chains, &t->cchains, t->nchains + 1, sizeof(*c)))
		return -1;
	t->chains[t->nchains] = *c;
	/* Unused slots are zero, so that equal chains compare equal. */
	for (int i = c->nlinks; i < WF_CHAIN_MAX_LINKS; i++)
		t->chains[t->nchains].links[i] = 0;
	t->nchains++;
	return 0;
}

/* Appends src's entries to dst (normalize afterwards to add up equal keys);
 * throttling adds up directly. */
int wtarget_merge(struct wf_wtarget *dst, const struct wf_wtarget *src)
{
	if (reserve((void **)&dst->threads, &dst->cthreads, dst->nthreads + src->nthreads, sizeof(*src->threads)) ||
	    reserve((void **)&dst->cats, &dst->ccats, dst->ncats + src->ncats, sizeof(*src->cats)) ||
	    reserve((void **)&dst->edges, &dst->cedges, dst->nedges + src->nedges, sizeof(*src->edges)) ||
	    reserve((void **)&dst->chains, &dst->cchains, dst->nchains + src->nchains, sizeof(*src->chains)))
		return -1;
	if (src->nthreads)
		memcpy(dst->threads + dst->nthreads, src->threads, src->nthreads * sizeof(*src->threads));
	if (src->ncats)
		memcpy(dst->cats + dst->ncats, src->cats, src->ncats * sizeof(*src->cats));
	if (src->nedges)
		memcpy(dst->edges + dst->nedges, src->edges, src->nedges * sizeof(*src->edges));
	if (src->nchains)
		memcpy(dst->chains + dst->nchains, src->chains, src->nchains * sizeof(*src->chains));
	dst->nchains += src->nchains;
	dst->nthreads += src->nthreads;
	dst->ncats += src->ncats;
	dst->nedges += src->nedges;
	dst->nr_periods += src->nr_periods;
	dst->nr_throttled += src->nr_throttled;
	dst->throttled_us += src->throttled_us;
	return 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* The sort orders of the three lists: their keys, which encoding
 * delta-codes and normalize adds up. */
static int cmp_thread(const void *a, const void *b)
{
	const struct wf_wthread *x = a, *y = b;

	return x->name != y->name ? cmp_u64(x->name, y->name) : cmp_u64(x->role, y->role);
}

static int cmp_cat(const void *a, const void *b)
{
	const struct wf_wcat *x = a, *y = b;

	if (x->thread != y->thread)
		return cmp_u64(x->thread, y->thread);
	if (x->role != y->role)
		return cmp_u64(x->role, y->role);
	if (x->category != y->category)
		return cmp_u64(x->category, y->category);
	return cmp_u64(x->activity, y->activity);
}

static int cmp_edge(const void *a, const void *b)
{
	const struct wf_wedge *x = a, *y = b;

	return cmp_u64(x->id, y->id);
}

int wchain_cmp(const struct wf_wchain *x, const struct wf_wchain *y)
{
	if (x->links[x->nlinks - 1] != y->links[y->nlinks - 1])
		return cmp_u64(x->links[x->nlinks - 1], y->links[y->nlinks - 1]);
	if (x->nlinks != y->nlinks)
		return cmp_u64(x->nlinks, y->nlinks);
	for (int i = x->nlinks - 2; i >= 0; i--)
		if (x->links[i] != y->links[i])
			return cmp_u64(x->links[i], y->links[i]);
	return cmp_u64(x->ended_by, y->ended_by);
}

static int cmp_chain(const void *a, const void *b)
{
	return wchain_cmp(a, b);
}

/*
 * Sorts each list by its key and adds up entries with equal keys (a merge
 * of windows, or a thread seen twice), in place: after it every key is
 * there once, as encoding and the query side expect. Max off-CPU is a max.
 */
void wtarget_normalize(struct wf_wtarget *t)
{
	size_t n = 0;

	if (t->nthreads > 1) {
		qsort(t->threads, t->nthreads, sizeof(*t->threads), cmp_thread);
		n = 0;
		for (size_t i = 1; i < t->nthreads; i++) {
			struct wf_wthread *d = &t->threads[n], *s = &t->threads[i];

			if (!cmp_thread(d, s)) {
				d->oncpu_us += s->oncpu_us;
				d->preempted_us += s->preempted_us;
				d->blocked_us += s->blocked_us;
				d->runq_us += s->runq_us;
				d->switches += s->switches;
				d->involuntary += s->involuntary;
				d->wakeups += s->wakeups;
			} else {
				t->threads[++n] = *s;
			}
		}
		t->nthreads = n + 1;
	}
	if (t->ncats > 1) {
		qsort(t->cats, t->ncats, sizeof(*t->cats), cmp_cat);
		n = 0;
		for (size_t i = 1; i < t->ncats; i++) {
			struct wf_wcat *d = &t->cats[n], *s = &t->cats[i];

			if (!cmp_cat(d, s)) {
				d->count += s->count;
				d->offcpu_us += s->offcpu_us;
				d->runq_us += s->runq_us;
			} else {
				t->cats[++n] = *s;
			}
		}
		t->ncats = n + 1;
	}
	if (t->nedges > 1) {
		qsort(t->edges, t->nedges, sizeof(*t->edges), cmp_edge);
		n = 0;
		for (size_t i = 1; i < t->nedges; i++) {
			struct wf_wedge *d = &t->edges[n], *s = &t->edges[i];

			if (d->id == s->id) {
				d->count += s->count;
				d->offcpu_us += s->offcpu_us;
				d->runq_us += s->runq_us;
				if (s->max_us > d->max_us)
					d->max_us = s->max_us;
			} else {
				t->edges[++n] = *s;
			}
		}
		t->nedges = n + 1;
	}
	if (t->nchains > 1) {
		qsort(t->chains, t->nchains, sizeof(*t->chains), cmp_chain);
		n = 0;
		for (size_t i = 1; i < t->nchains; i++) {
			struct wf_wchain *d = &t->chains[n], *s = &t->chains[i];

			if (!wchain_cmp(d, s)) {
				d->count += s->count;
				d->offcpu_us += s->offcpu_us;
				d->runq_us += s->runq_us;
			} else {
				t->chains[++n] = *s;
			}
		}
		t->nchains = n + 1;
	}
}

/* ---- encoding ---- */

void wf_buf_free(struct wf_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Makes room for n more bytes; a failure sticks (b->failed) and later puts do nothing. */
static void put_bytes_room(struct wf_buf *b, size_t n)
{
	if (b->failed)
		return;
	if (reserve((void **)&b->data, &b->cap, b->len + n, 1))
		b->failed = 1;
}

/* LEB128: 7 bits a byte, low first, the high bit set on all but the last. */
static void put_varint(struct wf_buf *b, uint64_t v)
{
	put_bytes_room(b, 10);
	if (b->failed)
		return;
	while (v >= 0x80) {
		b->data[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->data[b->len++] = (uint8_t)v;
}

/* Totals blob: version, throttling (3), thread count, per thread (name as a
 * delta from the previous one) 9 fields, cat count, per cat 7 fields. */
int wtarget_encode_totals(const struct wf_wtarget *t, struct wf_buf *out)
{
	uint32_t prev = 0;

	out->len = 0;
	out->failed = 0;
	put_varint(out, CODEC_VERSION);
	put_varint(out, t->nr_periods);
	put_varint(out, t->nr_throttled);
	put_varint(out, t->throttled_us);
	put_varint(out, t->nthreads);
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct wf_wthread *th = &t->threads[i];

		put_varint(out, th->name - prev); /* sorted: deltas stay small */
		prev = th->name;
		put_varint(out, th->role);
		put_varint(out, th->oncpu_us);
		put_varint(out, th->preempted_us);
		put_varint(out, th->blocked_us);
		put_varint(out, th->runq_us);
		put_varint(out, th->switches);
		put_varint(out, th->involuntary);
		put_varint(out, th->wakeups);
	}
	put_varint(out, t->ncats);
	prev = 0;
	for (size_t i = 0; i < t->ncats; i++) {
		const struct wf_wcat *c = &t->cats[i];

		put_varint(out, c->thread - prev);
		prev = c->thread;
		put_varint(out, c->role);
		put_varint(out, c->category);
		put_varint(out, c->activity);
		put_varint(out, c->count);
		put_varint(out, c->offcpu_us);
		put_varint(out, c->runq_us);
	}
	return out->failed ? -1 : 0;
}

/* Edges blob: version, edge count, per edge (id as a delta) 5 fields. */
int wtarget_encode_edges(const struct wf_wtarget *t, struct wf_buf *out)
{
	uint32_t prev = 0;

	out->len = 0;
	out->failed = 0;
	put_varint(out, CODEC_VERSION);
	put_varint(out, t->nedges);
	for (size_t i = 0; i < t->nedges; i++) {
		const struct wf_wedge *e = &t->edges[i];

		put_varint(out, e->id - prev);
		prev = e->id;
		put_varint(out, e->count);
		put_varint(out, e->offcpu_us);
		put_varint(out, e->runq_us);
		put_varint(out, e->max_us);
	}
	return out->failed ? -1 : 0;
}

/*
 * Chains blob: version, then the distinct prefixes (all but the last link,
 * with the length and ended_by: what led to the target's waker), then the
 * chains in wchain_cmp's order, each the last link as a delta from the
 * previous chain's, its prefix's index, count, off-CPU, run-queue. Many
 * chains of a target share a prefix (the workers all woken by what woke the
 * main thread), so a three-link chain costs about 8 bytes, not 15.
 *   prefix: (nlinks - 1) * 4 + ended_by, then nlinks - 1 link ids.
 */
#define CHAINS_CODEC_VERSION 2

static int cmp_prefix(const struct wf_wchain *x, const struct wf_wchain *y)
{
	if (x->nlinks != y->nlinks)
		return cmp_u64(x->nlinks, y->nlinks);
	if (x->ended_by != y->ended_by)
		return cmp_u64(x->ended_by, y->ended_by);
	for (int i = 0; i < x->nlinks - 1; i++)
		if (x->links[i] != y->links[i])
			return cmp_u64(x->links[i], y->links[i]);
	return 0;
}

static int cmp_prefix_at(const void *a, const void *b, void *chains)
{
	const struct wf_wchain *c = chains;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = cmp_prefix(&c[x], &c[y]);

	return r ? r : cmp_u64(x, y);
}

int wtarget_encode_chains(const struct wf_wtarget *t, struct wf_buf *out)
{
	size_t n = t->nchains, nprefix = 0;
	size_t *order = malloc((n ? n : 1) * sizeof(*order));
	uint32_t *prefix_of = malloc((n ? n : 1) * sizeof(*prefix_of));
	uint32_t prev = 0;

	out->len = 0;
	out->failed = 0;
	if (!order || !prefix_of) {
		free(order);
		free(prefix_of);
		return -1;
	}
	/* The prefixes in their own order, each once; every chain notes its own. */
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_prefix_at, t->chains);
	for (size_t i = 0; i < n; i++) {
		if (i && cmp_prefix(&t->chains[order[i - 1]], &t->chains[order[i]]))
			nprefix++;
		prefix_of[order[i]] = (uint32_t)nprefix;
	}
	put_varint(out, CHAINS_CODEC_VERSION);
	put_varint(out, n ? nprefix + 1 : 0);
	for (size_t i = 0; i < n; i++) {
		const struct wf_wchain *c = &t->chains[order[i]];

		if (i && !cmp_prefix(&t->chains[order[i - 1]], c))
			continue;
		put_varint(out, (uint64_t)(c->nlinks - 1) * 4 + c->ended_by);
		for (int l = 0; l < c->nlinks - 1; l++)
			put_varint(out, c->links[l]);
	}
	put_varint(out, n);
	for (size_t i = 0; i < n; i++) {
		const struct wf_wchain *c = &t->chains[i];
		uint32_t last = c->links[c->nlinks - 1];

		put_varint(out, last - prev);
		prev = last;
		put_varint(out, prefix_of[i]);
		put_varint(out, c->count);
		put_varint(out, c->offcpu_us);
		put_varint(out, c->runq_us);
	}
	free(order);
	free(prefix_of);
	return out->failed ? -1 : 0;
}

/* ---- decoding ---- */

struct reader {
	const uint8_t *p, *end;
	int bad;
};

/*
 * A varint of at most 5 bytes with 5 bytes readable, unrolled: an hour of
 * edges is ~3 million varints (docs/performance.md, "Store"), and this is
 * a third faster than the byte loop (branch-free forms measured slower:
 * each varint's start depends on the last one's end). Returns false,
 * reading nothing, for a longer varint.
 */
/* Always inlined: the entry decoders call it 5 to 9 times in a row. */
static inline __attribute__((always_inline)) bool get_varint5(struct reader *r, uint64_t *out)
{
	const uint8_t *p = r->p;
	uint64_t v = p[0] & 0x7f;

	if (p[0] < 0x80) {
		r->p = p + 1;
	} else if (v |= (uint64_t)(p[1] & 0x7f) << 7, p[1] < 0x80) {
		r->p = p + 2;
	} else if (v |= (uint64_t)(p[2] & 0x7f) << 14, p[2] < 0x80) {
		r->p = p + 3;
	} else if (v |= (uint64_t)(p[3] & 0x7f) << 21, p[3] < 0x80) {
		r->p = p + 4;
	} else if (v |= (uint64_t)(p[4] & 0x7f) << 28, p[4] < 0x80) {
		r->p = p + 5;
	} else {
		return false;
	}
	*out = v;
	return true;
}

/* A varint anywhere: the unrolled form when 5 bytes are left, else byte by
 * byte with every read bounded; a varint past the end or over 64 bits marks r bad. */
static inline uint64_t get_varint(struct reader *r)
{
	uint64_t v = 0;

	if (r->end - r->p >= 5 && get_varint5(r, &v))
		return v;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end) {
			r->bad = 1;
			return 0;
		}
		uint8_t byte = *r->p++;

		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

/* Varints that must fit a narrower field: larger is corruption. */
static uint32_t get_u32(struct reader *r)
{
	uint64_t v = get_varint(r);

	if (v > UINT32_MAX)
		r->bad = 1;
	return (uint32_t)v;
}

static uint8_t get_u8(struct reader *r)
{
	uint64_t v = get_varint(r);

	if (v > UINT8_MAX)
		r->bad = 1;
	return (uint8_t)v;
}

/* Reads an entry count and makes room for it; every entry takes at least
 * one byte per field, which bounds a count that lies about the length. */
static size_t get_count(struct reader *r, void **items, size_t *cap, size_t sz, size_t min_bytes)
{
	uint64_t n = get_varint(r);

	if (r->bad || n > MAX_ENTRIES || n * min_bytes > (uint64_t)(r->end - r->p)) {
		r->bad = 1;
		return 0;
	}
	if (reserve(items, cap, (size_t)n, sz)) {
		r->bad = 1;
		return 0;
	}
	return (size_t)n;
}

/* The totals blob back into t (the layout of wtarget_encode_totals); -1 for a
 * wrong version, a bound broken or bytes left over, with t left empty. */
int wtarget_decode_totals(struct wf_wtarget *t, const uint8_t *p, size_t len)
{
	struct reader r = { p, p + len, 0 };
	uint32_t prev = 0;
	size_t n;

	wtarget_clear(t);
	if (get_varint(&r) != CODEC_VERSION)
		return -1;
	t->nr_periods = get_varint(&r);
	t->nr_throttled = get_varint(&r);
	t->throttled_us = get_varint(&r);
	n = get_count(&r, (void **)&t->threads, &t->cthreads, sizeof(*t->threads), 9);
	for (size_t i = 0; i < n && !r.bad; i++) {
		struct wf_wthread *th = &t->threads[i];
		const uint8_t *start = r.p;
		uint64_t d, role;

		/* 9 varints: with 45 bytes left, unchecked reads as in the edges below. */
		if (r.end - r.p >= 45 && get_varint5(&r, &d) && d <= UINT32_MAX && get_varint5(&r, &role) && role <= UINT8_MAX &&
		    get_varint5(&r, &th->oncpu_us) && get_varint5(&r, &th->preempted_us) &&
		    get_varint5(&r, &th->blocked_us) && get_varint5(&r, &th->runq_us) && get_varint5(&r, &th->switches) &&
		    get_varint5(&r, &th->involuntary) && get_varint5(&r, &th->wakeups)) {
			th->name = prev + (uint32_t)d;
			th->role = (uint8_t)role;
			prev = th->name;
			continue;
		}
		r.p = start;
		th->name = prev + get_u32(&r);
		prev = th->name;
		th->role = get_u8(&r);
		th->oncpu_us = get_varint(&r);
		th->preempted_us = get_varint(&r);
		th->blocked_us = get_varint(&r);
		th->runq_us = get_varint(&r);
		th->switches = get_varint(&r);
		th->involuntary = get_varint(&r);
		th->wakeups = get_varint(&r);
	}
	t->nthreads = r.bad ? 0 : n;
	prev = 0;
	n = get_count(&r, (void **)&t->cats, &t->ccats, sizeof(*t->cats), 7);
	for (size_t i = 0; i < n && !r.bad; i++) {
		struct wf_wcat *c = &t->cats[i];
		const uint8_t *start = r.p;
		uint64_t d, role, category, activity;

		/* 7 varints: with 35 bytes left, unchecked reads as in the edges below. */
		if (r.end - r.p >= 35 && get_varint5(&r, &d) && d <= UINT32_MAX && get_varint5(&r, &role) && role <= UINT8_MAX &&
		    get_varint5(&r, &category) && category <= UINT8_MAX && get_varint5(&r, &activity) &&
		    activity <= UINT32_MAX && get_varint5(&r, &c->count) && get_varint5(&r, &c->offcpu_us) &&
		    get_varint5(&r, &c->runq_us)) {
			c->thread = prev + (uint32_t)d;
			c->role = (uint8_t)role;
			c->category = (uint8_t)category;
			c->activity = (uint32_t)activity;
			prev = c->thread;
			continue;
		}
		r.p = start;
		c->thread = prev + get_u32(&r);
		prev = c->thread;
		c->role = get_u8(&r);
		c->category = get_u8(&r);
		c->activity = get_u32(&r);
		c->count = get_varint(&r);
		c->offcpu_us = get_varint(&r);
		c->runq_us = get_varint(&r);
	}
	t->ncats = r.bad ? 0 : n;
	if (r.bad || r.p != r.end) {
		wtarget_clear(t);
		return -1;
	}
	return 0;
}

/* The edges blob into t's edges only (its totals are left as they are). */
int wtarget_decode_edges(struct wf_wtarget *t, const uint8_t *p, size_t len)
{
	struct reader r = { p, p + len, 0 };
	uint32_t prev = 0;
	size_t n;

	t->nedges = 0;
	if (get_varint(&r) != CODEC_VERSION)
		return -1;
	n = get_count(&r, (void **)&t->edges, &t->cedges, sizeof(*t->edges), 5);
	for (size_t i = 0; i < n && !r.bad; i++) {
		struct wf_wedge *e = &t->edges[i];
		const uint8_t *start = r.p;
		uint64_t d;

		/* An edge is 5 varints: with 25 bytes left, each of up to 5 bytes
		 * is read with no bounds check of its own (an hour's answer reads
		 * ~950,000 of them); anything longer takes the checked path. */
		if (r.end - r.p >= 25 && get_varint5(&r, &d) && d <= UINT32_MAX && get_varint5(&r, &e->count) &&
		    get_varint5(&r, &e->offcpu_us) && get_varint5(&r, &e->runq_us) && get_varint5(&r, &e->max_us)) {
			e->id = prev + (uint32_t)d;
			prev = e->id;
			continue;
		}
		r.p = start;
		e->id = prev + get_u32(&r);
		prev = e->id;
		e->count = get_varint(&r);
		e->offcpu_us = get_varint(&r);
		e->runq_us = get_varint(&r);
		e->max_us = get_varint(&r);
	}
	if (r.bad || r.p != r.end) {
		t->nedges = 0;
		return -1;
	}
	t->nedges = n;
	return 0;
}

int wtarget_decode_chains(struct wf_wtarget *t, const uint8_t *p, size_t len)
{
	struct reader r = { p, p + len, 0 };
	struct wf_wchain *prefixes = NULL;
	size_t cprefixes = 0, np, n = 0;
	uint32_t prev = 0;

	t->nchains = 0;
	if (get_varint(&r) != CHAINS_CODEC_VERSION)
		return -1;
	np = get_count(&r, (void **)&prefixes, &cprefixes, sizeof(*prefixes), 1);
	for (size_t i = 0; i < np && !r.bad; i++) {
		struct wf_wchain *c = &prefixes[i];
		uint64_t head = get_varint(&r);

		memset(c, 0, sizeof(*c));
		if (head >= 4 * WF_CHAIN_MAX_LINKS || head % 4 > WF_CHAIN_END_UNTRACKED) {
			r.bad = 1;
			break;
		}
		c->nlinks = (uint8_t)(head / 4 + 1);
		c->ended_by = (uint8_t)(head % 4);
		for (int l = 0; l < c->nlinks - 1; l++)
			c->links[l] = get_u32(&r);
	}
	if (!r.bad)
		n = get_count(&r, (void **)&t->chains, &t->cchains, sizeof(*t->chains), 5);
	for (size_t i = 0; i < n && !r.bad; i++) {
		struct wf_wchain *c = &t->chains[i];
		uint32_t last = prev + get_u32(&r);
		uint64_t pi = get_varint(&r);

		if (r.bad || pi >= np) {
			r.bad = 1;
			break;
		}
		prev = last;
		*c = prefixes[pi];
		c->links[c->nlinks - 1] = last;
		c->count = get_varint(&r);
		c->offcpu_us = get_varint(&r);
		c->runq_us = get_varint(&r);
	}
	free(prefixes);
	if (r.bad || r.p != r.end) {
		t->nchains = 0;
		return -1;
	}
	t->nchains = n;
	return 0;
}
