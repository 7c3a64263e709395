/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The edges' sums per block of rolled-up minutes, kept in memory so that an
 * edges answer over an hour adds 12 blocks of sums instead of decoding 60
 * minutes of blobs per target (docs/performance.md, "Third pass").
 *
 * A block is WF_EDGE_BLOCK_MS of tier 1 (aligned to its length), summed per
 * target and edge id exactly as edges_acc_add sums the minutes' blobs, so an
 * answer built from blocks is the one built from the minutes, byte for byte.
 * Only whole blocks before the roll-up's progress are kept, each while its
 * minutes' fingerprint is unchanged (minute_blocks.h says why that is
 * enough).
 *
 * Bounded: at most max_bytes of blocks (WF_EDGE_BLOCKS_MAX_BYTES in the
 * daemon: 48 bytes per edge and target a block saw, so ~25 blocks, 2 hours,
 * of a node with 2,500 distinct edges a minute on each of 4 targets; within
 * the daemon's RSS goal), and only blocks within WF_EDGE_BLOCKS_SPAN_MS
 * before the newest rolled minute (the dashboards' last hours); older ones
 * are read from the store as before.
 */
#ifndef WAKEFLOW_EDGE_BLOCKS_H
#define WAKEFLOW_EDGE_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "minute_blocks.h"
#include "series.h"
#include "store.h"

#define WF_EDGE_BLOCK_MS (5 * WF_MINUTE_MS)
#define WF_EDGE_BLOCKS_SPAN_MS (3 * 3600 * 1000LL)
#define WF_EDGE_BLOCKS_MAX_BYTES (12u << 20)

/* A cache of these blocks (block_cache_free frees it, block_cache_stats
 * counts); max_bytes 0: nothing is kept (every block is read from the store). */
struct wf_block_cache *edge_blocks_new(size_t max_bytes);

/*
 * Adds tier 1's edges blobs of [from, to) to acc, as store_read_edges with
 * edges_acc_add would, through the cache's blocks (block_range.h: whole
 * blocks from memory where a kept one is still valid, else summed from the
 * store and kept if they may be, the minutes outside them from the store).
 * rolled_until_ms is the roll-up's progress (to must not pass it). 0, or -1
 * if the store could not be read (acc then holds part of the range).
 */
int edge_blocks_read(struct wf_block_cache *c, struct wf_store_reader *r, int64_t from, int64_t to,
		     int64_t rolled_until_ms, struct wf_edges_acc *acc);


#endif
