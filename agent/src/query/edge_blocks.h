/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The edges' sums per block of rolled-up minutes, kept in memory so that an
 * edges answer over an hour adds 12 blocks of sums instead of decoding 60
 * minutes of blobs per target (docs/performance.md, "Third pass").
 *
 * A block is WF_EDGE_BLOCK_MS of tier 1 (aligned to its length), summed per
 * target and edge id exactly as edges_acc_add sums the minutes' blobs, so an
 * answer built from blocks is the one built from the minutes, byte for byte.
 * Only whole blocks before the roll-up's progress are kept: their tier-1
 * rows are written once, in one transaction, and never change after; a late
 * window of such a minute stays in tier 0 (never rolled into it), and
 * minutes the store has not taken yet are beyond the roll-up's progress. What
 * can still change them is a deletion (retention, a store file replaced):
 * each block remembers a fingerprint of its minutes' window rows (count,
 * starts and ends, read in the same snapshot as the blobs) and is used only
 * while the store's rows give the same one; otherwise it is rebuilt. The
 * cache belongs to one history (one daemon), so nothing of it outlives a
 * restart.
 *
 * Bounded: at most max_bytes of blocks (WF_EDGE_BLOCKS_MAX_BYTES in the
 * daemon: 48 bytes per edge and target a block saw, so ~25 blocks, 2 hours,
 * of a node with 2,500 distinct edges a minute on each of 4 targets; within
 * the daemon's RSS goal), and only blocks within WF_EDGE_BLOCKS_SPAN_MS
 * before the newest rolled minute (the dashboards' last hours); older ones
 * are read from the store as before. The oldest block goes first when the
 * bound is reached. Thread-safe: blocks are shared
 * by reference, so no query holds the lock while it adds one.
 */
#ifndef WAKEFLOW_EDGE_BLOCKS_H
#define WAKEFLOW_EDGE_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "series.h"
#include "store.h"

#define WF_EDGE_BLOCK_MS (5 * WF_MINUTE_MS)
#define WF_EDGE_BLOCKS_SPAN_MS (3 * 3600 * 1000LL)
#define WF_EDGE_BLOCKS_MAX_BYTES (12u << 20)

struct wf_edge_blocks;

struct wf_edge_blocks_stats {
	uint64_t hits, misses; /* blocks answered from memory / (re)built from the store */
	uint64_t stale;	       /* of the misses: a kept block whose minutes changed */
	size_t blocks, bytes;  /* held now */
};

/* max_bytes 0: nothing is kept (every block is read from the store). */
struct wf_edge_blocks *edge_blocks_new(size_t max_bytes);
void edge_blocks_free(struct wf_edge_blocks *c);

/*
 * Adds tier 1's edges blobs of [from, to) to acc, as store_read_edges with
 * edges_acc_add would: whole blocks from memory where a kept one is still
 * valid, else summed from the store (and kept if within the span and the
 * bound), the minutes outside whole blocks straight from the store.
 * rolled_until_ms is the roll-up's progress (to must not pass it). 0, or -1
 * if the store could not be read (acc then holds part of the range).
 */
int edge_blocks_read(struct wf_edge_blocks *c, struct wf_store_reader *r, int64_t from, int64_t to,
		     int64_t rolled_until_ms, struct wf_edges_acc *acc);

void edge_blocks_stats(struct wf_edge_blocks *c, struct wf_edge_blocks_stats *out);

#endif
