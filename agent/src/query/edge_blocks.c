// SPDX-License-Identifier: Apache-2.0
#include "edge_blocks.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "block_range.h"
#include "window.h"

/* One target's sums in a block. */
struct block_target {
	uint32_t target_id;
	size_t n;
	const struct wf_edge_sum *sums; /* into the block's sums */
};

/* A block as kept: immutable once built, shared by reference. */
struct block {
	struct wf_block head;
	size_t ntargets;
	struct block_target *targets;
	struct wf_edge_sum *sums;
};

static void block_destroy(struct wf_block *head)
{
	struct block *b = (struct block *)head;

	free(b->targets);
	free(b->sums);
	free(b);
}

struct wf_block_cache *edge_blocks_new(size_t max_bytes)
{
	return block_cache_new(max_bytes, WF_EDGE_BLOCKS_SPAN_MS, block_destroy);
}

/* ---- building a block from the store ---- */

/* The sums of one (target, edge) while a block is built. */
struct building_sum {
	uint32_t target; /* index into the builder's targets */
	struct wf_edge_sum s;
};

struct builder {
	int64_t start_ms;
	bool fits; /* every window's times fit the offsets */
	bool enomem;
	struct wf_wtarget scratch;
	struct building_sum *sums;
	size_t n, cap;
	uint32_t *slots; /* open addressing on (target, id): index + 1 into sums */
	size_t nslots;
	/* The targets met, in order, and their sums' count: blobs come a
	 * target at a time, and a block holds a few targets. */
	uint32_t *targets;
	size_t *per_target;
	size_t ntargets, ctargets;
};

/* The index of target_id among the builder's targets, added if new; -1 on ENOMEM. */
static long builder_target(struct builder *b, uint32_t target_id)
{
	for (size_t i = b->ntargets; i-- > 0;)
		if (b->targets[i] == target_id)
			return (long)i;
	if (b->ntargets == b->ctargets) {
		size_t cap = b->ctargets ? 2 * b->ctargets : 16;
		uint32_t *t = realloc(b->targets, cap * sizeof(*t));
		size_t *c;

		if (!t)
			return -1;
		b->targets = t;
		c = realloc(b->per_target, cap * sizeof(*c));
		if (!c)
			return -1;
		b->per_target = c;
		b->ctargets = cap;
	}
	b->targets[b->ntargets] = target_id;
	b->per_target[b->ntargets] = 0;
	return (long)b->ntargets++;
}

static size_t slot_of(uint32_t target, uint32_t id, size_t nslots)
{
	uint64_t k = ((uint64_t)target << 32 | id) * 0x9e3779b97f4a7c15ull;

	return (size_t)(k >> 32) & (nslots - 1);
}

static bool grow_slots(struct builder *b)
{
	size_t n = b->nslots ? 2 * b->nslots : 4096;
	uint32_t *p = calloc(n, sizeof(*p));

	if (!p)
		return false;
	for (size_t i = 0; i < b->n; i++) {
		size_t k = slot_of(b->sums[i].target, b->sums[i].s.id, n);

		while (p[k])
			k = (k + 1) & (n - 1);
		p[k] = (uint32_t)(i + 1);
	}
	free(b->slots);
	b->slots = p;
	b->nslots = n;
	return true;
}

static struct building_sum *builder_sum(struct builder *b, uint32_t target, uint32_t id)
{
	size_t k;

	if (2 * (b->n + 1) > b->nslots && !grow_slots(b))
		return NULL;
	for (k = slot_of(target, id, b->nslots); b->slots[k]; k = (k + 1) & (b->nslots - 1)) {
		struct building_sum *s = &b->sums[b->slots[k] - 1];

		if (s->s.id == id && s->target == target)
			return s;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 4096;
		struct building_sum *p = realloc(b->sums, cap * sizeof(*p));

		if (!p)
			return NULL;
		b->sums = p;
		b->cap = cap;
	}
	b->sums[b->n] = (struct building_sum){ .target = target, .s = { .id = id, .first_off_ms = INT32_MAX,
									  .last_off_ms = INT32_MIN } };
	b->per_target[target]++;
	b->slots[k] = (uint32_t)++b->n;
	return &b->sums[b->n - 1];
}

/* One minute's blob of one target, summed as edges_acc_add sums it (a blob
 * that does not decode adds nothing, as there). */
static int build_cb(void *ctx, int64_t start, int64_t end, uint32_t target_id, const uint8_t *blob, size_t len)
{
	struct builder *b = ctx;
	int64_t first = start - b->start_ms, last = end - b->start_ms;
	long target;

	if (b->enomem)
		return 0;
	if (first < INT32_MIN || first > INT32_MAX || last < INT32_MIN || last > INT32_MAX)
		b->fits = false;
	if (wtarget_decode_edges(&b->scratch, blob, len))
		return 0;
	target = builder_target(b, target_id);
	if (target < 0) {
		b->enomem = true;
		return 0;
	}
	for (size_t i = 0; i < b->scratch.nedges; i++) {
		const struct wf_wedge *e = &b->scratch.edges[i];
		struct building_sum *s = builder_sum(b, (uint32_t)target, e->id);

		if (!s) {
			b->enomem = true;
			return 0;
		}
		s->s.count += e->count;
		s->s.offcpu_us += e->offcpu_us;
		s->s.runq_us += e->runq_us;
		if (e->max_us > s->s.max_us)
			s->s.max_us = e->max_us;
		if ((int32_t)first < s->s.first_off_ms)
			s->s.first_off_ms = (int32_t)first;
		if ((int32_t)last > s->s.last_off_ms)
			s->s.last_off_ms = (int32_t)last;
	}
	return 0;
}

/* The builder's sums grouped by target, in the order the targets were met. */
static struct block *block_from(struct builder *b, uint64_t fp)
{
	struct block *blk = calloc(1, sizeof(*blk));
	size_t nt = b->ntargets, *at = calloc(nt + 1, sizeof(*at));

	if (!blk || !at)
		goto fail;
	blk->targets = calloc(nt ? nt : 1, sizeof(*blk->targets));
	blk->sums = malloc((b->n ? b->n : 1) * sizeof(*blk->sums));
	if (!blk->targets || !blk->sums)
		goto fail;
	/* Each target's run starts where the previous ones' end. */
	for (size_t t = 0; t < nt; t++) {
		blk->targets[t] = (struct block_target){ .target_id = b->targets[t], .n = b->per_target[t],
							 .sums = blk->sums + at[t] };
		at[t + 1] = at[t] + b->per_target[t];
	}
	for (size_t i = 0; i < b->n; i++)
		blk->sums[at[b->sums[i].target]++] = b->sums[i].s;
	blk->ntargets = nt;
	blk->head.start_ms = b->start_ms;
	blk->head.fingerprint = fp;
	blk->head.refs = 1;
	blk->head.bytes = sizeof(*blk) + nt * sizeof(*blk->targets) + b->n * sizeof(*blk->sums);
	free(at);
	return blk;
fail:
	if (blk) {
		free(blk->targets);
		free(blk->sums);
		free(blk);
	}
	free(at);
	return NULL;
}

static void build_begin(void *builder, int64_t start_ms)
{
	struct builder *b = builder;

	b->start_ms = start_ms;
	b->fits = true;
	b->enomem = false;
	b->n = 0;
	b->ntargets = 0;
	if (b->nslots)
		memset(b->slots, 0, b->nslots * sizeof(*b->slots));
}

/* NULL where a window's times do not fit the offsets, or on ENOMEM. */
static struct wf_block *build_end(void *builder, uint64_t fp)
{
	struct builder *b = builder;
	struct block *blk = b->fits && !b->enomem ? block_from(b, fp) : NULL;

	return blk ? &blk->head : NULL;
}

static void block_add(const struct wf_block *head, void *acc)
{
	const struct block *b = (const struct block *)head;

	for (size_t t = 0; t < b->ntargets; t++)
		edges_acc_add_sums(acc, b->targets[t].target_id, b->head.start_ms, b->targets[t].sums, b->targets[t].n);
}

static const struct wf_block_kind edge_kind = {
	.block_ms = WF_EDGE_BLOCK_MS,
	.read_blobs = store_read_edges,
	.add_blob = edges_acc_add_cb,
	.add_window = NULL, /* an edges answer has no use for the window rows */
	.build_begin = build_begin,
	.build_blob = build_cb,
	.build_end = build_end,
	.add_block = block_add,
};

int edge_blocks_read(struct wf_block_cache *c, struct wf_store_reader *r, int64_t from, int64_t to,
		     int64_t rolled_until_ms, struct wf_edges_acc *acc)
{
	struct builder bld = { 0 };
	int rc = block_range_read(c, &edge_kind, &bld, r, from, to, rolled_until_ms, acc);

	free(bld.sums);
	free(bld.slots);
	free(bld.targets);
	free(bld.per_target);
	wtarget_free(&bld.scratch);
	return rc;
}
