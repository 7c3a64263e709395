/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where queries get their windows: the store (store.h) and an in-memory ring
 * of the most recent windows. The ring answers for windows the store failed
 * to take, and for everything it holds while the store cannot be read, so a
 * broken disk costs history, not the daemon's usefulness.
 * Thread-safe: the main loop adds windows, HTTP threads query.
 */
#ifndef WAKEFLOW_HISTORY_H
#define WAKEFLOW_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "chains_acc.h"
#include "query.h"
#include "series.h"
#include "store.h"

/* The ring holds this much; the catalog keeps full edges (stacks) as long. */
#define WF_RING_SPAN_MS (30 * 60 * 1000LL)
/* How often the daemon expires the catalog. */
#define WF_CATALOG_PRUNE_INTERVAL_MS (10 * 60 * 1000LL)

struct wf_history;

struct wf_history *history_new(struct wf_store *store, struct wf_catalog *cat, int64_t window_ms,
			       int64_t fine_retention_ms, size_t ring_windows);
void history_free(struct wf_history *h);

/* Blocks of rolled-up minutes a history keeps in memory (minute_blocks.h):
 * the edges' sums (edge_blocks.h), the series' decoded totals
 * (series_blocks.h). */
enum wf_blocks_kind { WF_BLOCKS_EDGES, WF_BLOCKS_SERIES, WF_BLOCKS__COUNT };
/* Replaces a kind's cache by an empty one of at most max_bytes (0: none
 * kept; tests and benchmarks compare the two). Returns 0 or -1 (ENOMEM: the
 * old one stays). Before any query runs. */
int history_blocks_limit(struct wf_history *h, enum wf_blocks_kind kind, size_t max_bytes);
struct wf_block_cache_stats;
void history_blocks_stats(struct wf_history *h, enum wf_blocks_kind kind, struct wf_block_cache_stats *out);

/* Copies a finished window into the ring; persisted says whether the store
 * took it. Returns 0 or -1 (ENOMEM: the window is not kept in memory). */
int history_add(struct wf_history *h, const struct wf_store_window *w, bool persisted);
/* Writes the windows of the ring the store did not take (it failed, and
 * may work again), oldest first, stopping at the first failure: once space
 * returns, a restart loses none of them. now_ms is the wall time now (a
 * closed store is reopened at most every 30 s of it). Returns 0 when none
 * is left unwritten, -1 otherwise. */
int history_write_pending(struct wf_history *h, int64_t now_ms);

/* Windows in the ring, and the oldest start (-1 if empty). */
size_t history_ring_len(struct wf_history *h, int64_t *oldest_ms);

/* Where an answer came from. */
struct wf_answer_info {
	bool from_memory_only; /* the store could not be read: only the ring answered */
};

/* Evaluate a query (see series.h); NULL on ENOMEM. The caller frees. */
struct wf_series_acc *history_series(struct wf_history *h, const struct wf_query *q, int64_t now_ms,
				     struct wf_series_plan *plan, struct wf_answer_info *info);
struct wf_edges_acc *history_edges(struct wf_history *h, const struct wf_query *q, int64_t now_ms,
				   struct wf_answer_info *info);

/* /api/v1/chains: the chain blobs of the range from the store (tier 1 for
 * whole rolled-up minutes, as for edges) and from the ring where the store
 * did not take them; NULL on ENOMEM. */
struct wf_chains_acc *history_chains(struct wf_history *h, const struct wf_query *q, int64_t now_ms,
				     struct wf_answer_info *info);

/* The edges' full records: from memory where recent, else from the store
 * (one reader for all). found[i] is false where an edge is known nowhere.
 * Each found one is passed to the detail hook, if set. Free each found one
 * with store_edge_detail_free. */
/* Called from HTTP threads on each edge record an answer reads; may
 * rewrite its frames and classification in place, new strings in arena
 * (serve: names found since the edge was recorded, symbolize.h
 * sym_name_edge_late). Set before the first answer. */
typedef void (*wf_detail_hook)(struct wf_edge *e, struct wf_arena *arena, void *ctx);
void history_set_detail_hook(struct wf_history *h, wf_detail_hook fn, void *ctx);
void history_edge_details(struct wf_history *h, const uint32_t *ids, size_t n, struct wf_edge_detail *out,
			  bool *found);

#endif
