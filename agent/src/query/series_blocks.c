// SPDX-License-Identifier: Apache-2.0
#include "series_blocks.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "block_range.h"
#include "window.h"

/* One target's totals of one minute in a block. */
struct minute_totals {
	int64_t start_ms;
	struct wf_totals t; /* its records point into the block */
};

/* A block as kept: immutable once built, shared by reference. */
struct block {
	struct wf_block head;
	size_t n;
	struct minute_totals *minutes; /* in the store's order */
	struct wf_wcat *cats;	       /* what they point to */
	struct wf_wthread *threads;
};

static void block_destroy(struct wf_block *head)
{
	struct block *b = (struct block *)head;

	free(b->minutes);
	free(b->cats);
	free(b->threads);
	free(b);
}

struct wf_block_cache *series_blocks_new(size_t max_bytes)
{
	return block_cache_new(max_bytes, WF_SERIES_BLOCKS_SPAN_MS, block_destroy);
}

/* ---- building a block from the store ---- */

/* A minute of a target while a block is built: its records as indexes into
 * the builder's arrays, which move while they grow. */
struct building_minute {
	int64_t start_ms;
	uint32_t target_id;
	uint64_t throttled_us;
	size_t cat0, ncats, thread0, nthreads;
};

struct builder {
	int64_t start_ms;
	bool enomem;
	struct wf_wtarget scratch;
	struct building_minute *minutes;
	size_t n, cap;
	struct wf_wcat *cats;
	size_t ncats, ccats;
	struct wf_wthread *threads;
	size_t nthreads, cthreads;
};

static void builder_free(struct builder *b)
{
	free(b->minutes);
	free(b->cats);
	free(b->threads);
	wtarget_free(&b->scratch);
}

/* Room for more elements of size sz at *p (holding n of cap); false on ENOMEM. */
static bool reserve(void **p, size_t *cap, size_t n, size_t more, size_t sz)
{
	size_t c = *cap ? *cap : 64;
	void *q;

	if (n + more <= *cap)
		return true;
	while (c < n + more)
		c *= 2;
	q = realloc(*p, c * sz);
	if (!q)
		return false;
	*p = q;
	*cap = c;
	return true;
}

/* One minute's totals blob of one target, decoded and appended (a blob that
 * does not decode adds nothing, as series_acc_add adds nothing for it). */
static int build_cb(void *ctx, int64_t start, int64_t end, uint32_t target_id, const uint8_t *blob, size_t len)
{
	struct builder *b = ctx;
	struct wf_wtarget *w = &b->scratch;

	(void)end;
	if (b->enomem || wtarget_decode_totals(w, blob, len))
		return 0;
	if (!reserve((void **)&b->minutes, &b->cap, b->n, 1, sizeof(*b->minutes)) ||
	    !reserve((void **)&b->cats, &b->ccats, b->ncats, w->ncats, sizeof(*b->cats)) ||
	    !reserve((void **)&b->threads, &b->cthreads, b->nthreads, w->nthreads, sizeof(*b->threads))) {
		b->enomem = true;
		return 0;
	}
	b->minutes[b->n++] = (struct building_minute){ .start_ms = start, .target_id = target_id,
						       .throttled_us = w->throttled_us,
						       .cat0 = b->ncats, .ncats = w->ncats,
						       .thread0 = b->nthreads, .nthreads = w->nthreads };
	if (w->ncats)
		memcpy(b->cats + b->ncats, w->cats, w->ncats * sizeof(*w->cats));
	b->ncats += w->ncats;
	if (w->nthreads)
		memcpy(b->threads + b->nthreads, w->threads, w->nthreads * sizeof(*w->threads));
	b->nthreads += w->nthreads;
	return 0;
}

/* p cut to bytes (NULL for none); p itself if it cannot be. */
static void *shrink(void *p, size_t bytes)
{
	void *q;

	if (!bytes) {
		free(p);
		return NULL;
	}
	q = realloc(p, bytes);
	return q ? q : p;
}

/* The block of what b built: b's records move into it (b starts afresh),
 * so nothing is copied a second time. */
static struct block *block_from(struct builder *b, int64_t start_ms, uint64_t fp)
{
	struct block *blk = calloc(1, sizeof(*blk));

	if (!blk || !(blk->minutes = malloc((b->n ? b->n : 1) * sizeof(*blk->minutes)))) {
		free(blk);
		return NULL;
	}
	/* Grown by doubling while built: shrunk to what they hold. */
	blk->cats = shrink(b->cats, b->ncats * sizeof(*b->cats));
	blk->threads = shrink(b->threads, b->nthreads * sizeof(*b->threads));
	for (size_t i = 0; i < b->n; i++) {
		const struct building_minute *m = &b->minutes[i];

		blk->minutes[i] = (struct minute_totals){
			.start_ms = m->start_ms,
			.t = { .target_id = m->target_id, .throttled_us = m->throttled_us,
			       .cats = m->ncats ? blk->cats + m->cat0 : NULL, .ncats = m->ncats,
			       .threads = m->nthreads ? blk->threads + m->thread0 : NULL, .nthreads = m->nthreads },
		};
	}
	blk->n = b->n;
	blk->head = (struct wf_block){ .refs = 1, .start_ms = start_ms, .fingerprint = fp,
				       .bytes = sizeof(*blk) + b->n * sizeof(*blk->minutes) +
						b->ncats * sizeof(*b->cats) + b->nthreads * sizeof(*b->threads) };
	b->cats = NULL;
	b->threads = NULL;
	b->ccats = b->cthreads = 0;
	return blk;
}

static void build_begin(void *builder, int64_t start_ms)
{
	struct builder *b = builder;

	b->start_ms = start_ms;
	b->enomem = false;
	b->n = b->ncats = b->nthreads = 0;
}

/* NULL on ENOMEM. */
static struct wf_block *build_end(void *builder, uint64_t fp)
{
	struct builder *b = builder;
	struct block *blk = b->enomem ? NULL : block_from(b, b->start_ms, fp);

	return blk ? &blk->head : NULL;
}

static void block_add(const struct wf_block *head, void *acc)
{
	const struct block *b = (const struct block *)head;

	for (size_t i = 0; i < b->n; i++)
		series_acc_add_totals(acc, b->minutes[i].start_ms, &b->minutes[i].t);
}

/* ---- reading a range ---- */

static const struct wf_block_kind series_kind = {
	.block_ms = WF_SERIES_BLOCK_MS,
	.read_blobs = store_read_totals,
	.add_blob = series_acc_add_cb,
	/* The rows say where the agent ran: a minute without totals is 0, not a gap. */
	.add_window = series_acc_cover_cb,
	.build_begin = build_begin,
	.build_blob = build_cb,
	.build_end = build_end,
	.add_block = block_add,
};

int series_blocks_read(struct wf_block_cache *c, struct wf_store_reader *r, int64_t from, int64_t to,
		       int64_t rolled_until_ms, struct wf_series_acc *acc)
{
	struct builder bld = { 0 };
	int rc = block_range_read(c, &series_kind, &bld, r, from, to, rolled_until_ms, acc);

	builder_free(&bld);
	return rc;
}
