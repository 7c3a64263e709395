/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A range of rolled-up minutes (tier 1) read through a cache of blocks
 * (minute_blocks.h): the one driver of the edges' sums (edge_blocks.h) and
 * the series' totals (series_blocks.h). A kind of block says only what
 * differs (struct wf_block_kind): which blobs it is made of, how it is
 * built from them and how it, or a blob outside it, is added to an answer.
 *
 * [from, to) is read as a head [from, a), whole blocks [a, b) and a tail
 * [b, to), a and b aligned to the block's length and b no later than the
 * last whole block before the roll-up's progress (a block still being
 * rolled up is never kept). The head and tail are read straight from the
 * store, as is every block that may not be kept (too old, no bound) or
 * cannot be (no memory); the others are answered from memory while the
 * fingerprint of their minutes' window rows is unchanged, else built from
 * the store and kept. The fingerprints are read in the same snapshot as
 * the blobs, in one scan of the window rows before any blob.
 */
#ifndef WAKEFLOW_BLOCK_RANGE_H
#define WAKEFLOW_BLOCK_RANGE_H

#include <stdint.h>

#include "minute_blocks.h"
#include "store.h"

struct wf_block_kind {
	int64_t block_ms; /* a block's length, a whole number of minutes */
	/* The tier's blobs a block is made of (store_read_edges, store_read_totals). */
	int (*read_blobs)(struct wf_store_reader *r, int tier, int64_t from, int64_t to, wf_store_blob_cb cb,
			  void *ctx);
	/* A blob straight into the answer (ctx: the answer). */
	wf_store_blob_cb add_blob;
	/* Each window row of the whole range into the answer, or NULL for an
	 * answer that has no use for them (then only the rows of the whole
	 * blocks are read, for their fingerprints). */
	wf_store_window_cb add_window;
	/* Building the block starting at start_ms: begin afresh (the builder
	 * is reused from block to block), each of its blobs (ctx: the
	 * builder), then the block with refs 1, or NULL if it cannot be kept
	 * (its blobs are then read again straight into the answer). */
	void (*build_begin)(void *builder, int64_t start_ms);
	wf_store_blob_cb build_blob;
	struct wf_block *(*build_end)(void *builder, uint64_t fingerprint);
	/* A block, kept or just built, into the answer. */
	void (*add_block)(const struct wf_block *b, void *answer);
};

/*
 * Adds tier 1 of [from, to) to answer as the kind's add_window and add_blob
 * over the store's rows would. builder is the kind's, zeroed before the
 * first call; the caller frees what it holds after. rolled_until_ms is the
 * roll-up's progress: no block from the one it falls in on is kept (a range
 * past it reads those minutes straight). 0, or -1 if the store could not be
 * read (answer then holds part of the range).
 */
int block_range_read(struct wf_block_cache *c, const struct wf_block_kind *k, void *builder,
		     struct wf_store_reader *r, int64_t from, int64_t to, int64_t rolled_until_ms, void *answer);

#endif
