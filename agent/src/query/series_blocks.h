/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The series' totals per block of rolled-up minutes, kept decoded in memory
 * so that a series over 24 h adds 288 blocks of records instead of reading
 * and decoding 1,440 minutes of totals blobs per target from SQLite
 * (docs/performance.md, "Fourth pass").
 *
 * A block is WF_SERIES_BLOCK_MS of tier 1 (aligned to its length): each
 * minute's totals of each target as the blob decodes (window.h), in the
 * store's order, so an answer built from blocks adds the same numbers in the
 * same order as one built from the blobs: the same answer, byte for byte.
 * The points of a series are per step (a step of any whole number of
 * minutes), so what is kept is per minute, not summed over the block as the
 * edges' blocks are. Which blocks may be kept and for how long is
 * minute_blocks.h's (a fingerprint of the minutes' window rows, read in the
 * same snapshot as the answer; whole blocks before the roll-up's progress).
 *
 * Bounded: at most max_bytes (WF_SERIES_BLOCKS_MAX_BYTES in the daemon; a
 * minute of a target costs 48 bytes plus 40 per (thread, role, category,
 * activity) record and 64 per thread: 24 KB a block, 6.7 MiB a day, on the
 * bench store's 4 targets of 8 threads and 16 records; 8.3 MiB of RSS with
 * the allocator's share), within
 * WF_SERIES_BLOCKS_SPAN_MS (a day, the longest range the dashboards ask)
 * before the newest rolled minute; older blocks are read from the store as
 * before.
 */
#ifndef WAKEFLOW_SERIES_BLOCKS_H
#define WAKEFLOW_SERIES_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "minute_blocks.h"
#include "series.h"
#include "store.h"

#define WF_SERIES_BLOCK_MS (5 * WF_MINUTE_MS)
#define WF_SERIES_BLOCKS_SPAN_MS (24 * 3600 * 1000LL)
#define WF_SERIES_BLOCKS_MAX_BYTES (8u << 20)

/* A cache of these blocks (block_cache_free frees it, block_cache_stats
 * counts); max_bytes 0: nothing is kept (every block is read from the store). */
struct wf_block_cache *series_blocks_new(size_t max_bytes);

/*
 * Adds tier 1 of [from, to) to acc, as store_read_windows with
 * series_acc_cover and store_read_totals with series_acc_add would, through
 * the cache's blocks (block_range.h): the windows' rows from the store (they
 * say where the agent ran, and give the blocks' fingerprints), the totals of
 * whole blocks from memory where a kept one is still valid, else decoded
 * from the store and kept if they may be, those of the minutes outside them
 * from the store.
 * rolled_until_ms is the roll-up's progress (to must not pass it). 0, or -1
 * if the store could not be read (acc then holds part of the range).
 */
int series_blocks_read(struct wf_block_cache *c, struct wf_store_reader *r, int64_t from, int64_t to,
		       int64_t rolled_until_ms, struct wf_series_acc *acc);


#endif
