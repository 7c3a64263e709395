/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blocks of rolled-up minutes (tier 1) kept in memory: what the edges' sums
 * (edge_blocks.h) and the series' decoded totals (series_blocks.h) have in
 * common. This module keeps blocks and decides which stay; what a block
 * holds is its user's (a struct that begins with struct wf_block), and
 * reading a range through them is block_range.h's.
 *
 * Why a block can be kept at all: tier-1 rows of a minute are written once,
 * in one transaction with the minute's window row, and never rewritten; a
 * late window of such a minute stays in tier 0 (never rolled into it), and
 * minutes the store has not taken yet are beyond the roll-up's progress. What
 * can still change them is a deletion (retention, a store file replaced):
 * each block remembers a fingerprint of its minutes' window rows (count,
 * starts and ends, read in the same snapshot as the blobs) and is used only
 * while the store's rows give the same one; otherwise it is rebuilt. A cache
 * belongs to one history (one daemon), so nothing of it outlives a restart.
 *
 * Bounded: at most max_bytes of blocks, and only blocks that start within
 * span_ms before the newest rolled minute; the oldest block goes first when
 * the bound is reached, unless the new one is older than all kept ones (an
 * answer over more blocks than fit keeps its newest ones, not its last read).
 * Thread-safe: blocks are shared by reference, so no query holds the lock
 * while it adds one.
 */
#ifndef WAKEFLOW_MINUTE_BLOCKS_H
#define WAKEFLOW_MINUTE_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The head of a kept block; its user's struct begins with it. */
struct wf_block {
	int refs;
	int64_t start_ms;
	uint64_t fingerprint;
	size_t bytes; /* what it holds, counted against the bound */
};

struct wf_block_cache_stats {
	uint64_t hits, misses; /* blocks answered from memory / (re)built from the store */
	uint64_t stale;	       /* of the misses: a kept block whose minutes changed */
	size_t blocks, bytes;  /* held now */
};

struct wf_block_cache;

/* max_bytes 0: nothing is kept. destroy frees a block once unreferenced. */
struct wf_block_cache *block_cache_new(size_t max_bytes, int64_t span_ms, void (*destroy)(struct wf_block *));
void block_cache_free(struct wf_block_cache *c);

/* Whether a block starting at start_ms may be kept at all (a bound, and
 * within the span before newest_ms, the roll-up's progress). */
bool block_cache_keeps(const struct wf_block_cache *c, int64_t start_ms, int64_t newest_ms);

/* The kept block starting at start_ms, referenced, if its fingerprint is
 * still fp; a kept one with another is dropped (its minutes changed). */
struct wf_block *block_cache_lookup(struct wf_block_cache *c, int64_t start_ms, uint64_t fp);

/* Keeps b (a new reference; b->refs counts the caller's) unless
 * block_cache_keeps says no or it is larger than the bound. A block of the
 * same start (built by a concurrent query) is replaced. */
void block_cache_keep(struct wf_block_cache *c, struct wf_block *b, int64_t newest_ms);

void block_cache_unref(struct wf_block_cache *c, struct wf_block *b);
void block_cache_stats(struct wf_block_cache *c, struct wf_block_cache_stats *out);

#endif
