// SPDX-License-Identifier: Apache-2.0
#include "block_range.h"

#include <stdlib.h>

/* ---- fingerprints of the whole blocks ---- */

struct prints {
	int64_t from_ms, block_ms; /* blocks [from + k * block_ms, + block_ms) */
	uint64_t *fp;		   /* per block; 0 to start with */
	size_t n;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

/* One window row into its block's fingerprint (rows outside the blocks are
 * the head's and tail's: ignored). */
static void prints_add(struct prints *p, int64_t start_ms, int64_t end_ms)
{
	size_t k;

	if (start_ms < p->from_ms)
		return;
	k = (size_t)((start_ms - p->from_ms) / p->block_ms);
	if (k < p->n)
		p->fp[k] = mix(mix(p->fp[k], (uint64_t)start_ms), (uint64_t)end_ms);
}

/* The scan of the window rows: fingerprints, and the rows to the answer if
 * it wants them. */
struct rows_scan {
	const struct wf_block_kind *k;
	void *answer;
	struct prints p;
};

static int rows_scan_cb(void *ctx, int64_t start_ms, int64_t end_ms)
{
	struct rows_scan *s = ctx;

	prints_add(&s->p, start_ms, end_ms);
	return s->k->add_window ? s->k->add_window(s->answer, start_ms, end_ms) : 0;
}

/* ---- reading ---- */

/* The blobs of [from, to) straight into the answer. */
static int read_blobs(const struct wf_block_kind *k, struct wf_store_reader *r, int64_t from, int64_t to,
		      void *answer)
{
	return k->read_blobs(r, WF_TIER_MINUTE, from, to, k->add_blob, answer) ? -1 : 0;
}

/* [from, to) without blocks: the rows (if wanted), then the blobs. */
static int read_straight(const struct wf_block_kind *k, struct wf_store_reader *r, int64_t from, int64_t to,
			 void *answer)
{
	if (k->add_window && store_read_windows(r, WF_TIER_MINUTE, from, to, k->add_window, answer))
		return -1;
	return read_blobs(k, r, from, to, answer);
}

/* One whole block: kept, or built (and kept if it may be), or where it may
 * not be kept (no bound, or too old) read as before. */
static int read_block(struct wf_block_cache *c, const struct wf_block_kind *k, void *builder,
		      struct wf_store_reader *r, int64_t start, uint64_t fp, int64_t rolled_until_ms, void *answer)
{
	int64_t end = start + k->block_ms;
	struct wf_block *b;

	if (!block_cache_keeps(c, start, rolled_until_ms))
		return read_blobs(k, r, start, end, answer);
	b = block_cache_lookup(c, start, fp);
	if (!b) {
		k->build_begin(builder, start);
		if (k->read_blobs(r, WF_TIER_MINUTE, start, end, k->build_blob, builder))
			return -1;
		b = k->build_end(builder, fp);
		if (!b) /* cannot be kept: the blobs once more, straight into the answer */
			return read_blobs(k, r, start, end, answer);
		block_cache_keep(c, b, rolled_until_ms);
	}
	k->add_block(b, answer);
	block_cache_unref(c, b);
	return 0;
}

int block_range_read(struct wf_block_cache *c, const struct wf_block_kind *k, void *builder,
		     struct wf_store_reader *r, int64_t from, int64_t to, int64_t rolled_until_ms, void *answer)
{
	int64_t len = k->block_ms;
	int64_t a = (from + len - 1) / len * len, b = to / len * len, last = rolled_until_ms / len * len;
	struct rows_scan s = { .k = k, .answer = answer, .p = { .from_ms = a, .block_ms = len } };
	int rc;

	if (b > last)
		b = last;
	/* No whole block, none kept, or all of them too old to be: as before. */
	if (from < 0 || a >= b || !block_cache_keeps(c, b - len, rolled_until_ms))
		return read_straight(k, r, from, to, answer);
	s.p.n = (size_t)((b - a) / len);
	s.p.fp = calloc(s.p.n, sizeof(*s.p.fp));
	if (!s.p.fp)
		return read_straight(k, r, from, to, answer);
	/* One scan of the rows: the answer's over the whole range, or only the
	 * blocks' for their fingerprints. */
	rc = k->add_window ? store_read_windows(r, WF_TIER_MINUTE, from, to, rows_scan_cb, &s)
			   : store_read_windows(r, WF_TIER_MINUTE, a, b, rows_scan_cb, &s);
	if (!rc && from < a)
		rc = read_blobs(k, r, from, a, answer);
	for (size_t i = 0; i < s.p.n && !rc; i++)
		rc = read_block(c, k, builder, r, a + (int64_t)i * len, s.p.fp[i], rolled_until_ms, answer);
	if (!rc && b < to)
		rc = read_blobs(k, r, b, to, answer);
	free(s.p.fp);
	return rc ? -1 : 0;
}
