/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The history store: SQLite in WAL mode (schema in docs/api.md, "Store").
 *   windows       one row per window and tier (when the agent was running);
 *   totals        per window, tier and target: the totals blob (window.h);
 *   edge_windows  per window, tier and target: the edges blob and, where
 *                 the target had chains, the chains blob (a second column,
 *                 so it is rolled up and kept with the edges);
 *   chain_windows the chains of stores written by the first version with
 *                 chains (a row of their own): read, never written;
 *   edges, stacks, targets, names
 *                 the catalog (catalog.h) with each stack stored once,
 *                 keyed by its hash.
 * Tier 0 holds the windows themselves (kept fine_retention), tier 1 one row
 * per minute rolled up from them (kept retention). One transaction per
 * window: a crash loses at most the window in progress.
 *
 * One writer (the main loop) and any number of readers (HTTP threads), each
 * reader with its own connection: WAL lets them read while the writer
 * writes, so a slow query never holds up capture.
 *
 * Failure: an unwritable, missing or full store is retried every window;
 * a corrupt one (bad header, SQLITE_CORRUPT/NOTADB) is left alone until the
 * daemon restarts. Either way store_status says why and the daemon serves
 * recent windows from memory.
 */
#ifndef WAKEFLOW_STORE_H
#define WAKEFLOW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "catalog.h"
#include "edge.h"

/* The store's two tiers (the `tier` column) and the roll-up's unit. */
#define WF_TIER_WINDOW 0 /* one row per window (--window seconds) */
#define WF_TIER_MINUTE 1 /* one row per minute, rolled up from the windows */
#define WF_MINUTE_MS 60000LL

struct wf_store_opts {
	const char *path;
	int64_t retention_ms;	   /* tier 1 and the catalog */
	int64_t fine_retention_ms; /* tier 0 */
};

/* One window as written: blobs per target (window.h). */
struct wf_store_target {
	uint32_t target_id;
	const uint8_t *totals;
	size_t totals_len;
	const uint8_t *edges;
	size_t edges_len;
	const uint8_t *chains; /* chains_len 0: no chains this window (no row) */
	size_t chains_len;
};

struct wf_store_window {
	int64_t start_ms, end_ms;
	const struct wf_store_target *targets;
	size_t ntargets;
};

enum wf_store_state { WF_STORE_OK = 0, WF_STORE_FAILING, WF_STORE_CORRUPT };

struct wf_store_status {
	enum wf_store_state state;
	char error[256]; /* the last error; "" while OK */
	int64_t error_since_ms;
	char path[4096];
	uint64_t size_bytes; /* database + WAL */
	int64_t oldest_ms, newest_ms; /* windows held, -1 if none */
	int64_t rolled_until_ms;
	uint64_t errors; /* failed writes or reads, cumulative */
	uint64_t windows_written;
	double last_write_ms;
};

struct wf_store;

/* Opens (creating if needed) and loads the catalog from it. Returns NULL
 * only on ENOMEM: a store that cannot be opened is returned in a failed
 * state (store_status says why) and retried on the next write. */
struct wf_store *store_open(const struct wf_store_opts *opts, struct wf_catalog *cat, int64_t now_ms);
void store_close(struct wf_store *s);

/* Writes the catalog's changes and one window in one transaction, then rolls
 * complete minutes up into tier 1 and applies retention (now_ms is the
 * clock those use). Returns 0, or -1 (state and error updated, logged). */
int store_write_window(struct wf_store *s, const struct wf_store_window *w, int64_t now_ms);
void store_status(struct wf_store *s, struct wf_store_status *out);
const char *store_state_name(enum wf_store_state st);
/* Whether reads are worth trying (not corrupt, a database was opened). */
bool store_readable(struct wf_store *s);

/* ---- reading (any thread, one reader per thread at a time) ---- */

struct wf_store_reader;

struct wf_store_reader *store_reader_open(struct wf_store *s);
void store_reader_close(struct wf_store_reader *r);

typedef int (*wf_store_window_cb)(void *ctx, int64_t start_ms, int64_t end_ms);
typedef int (*wf_store_blob_cb)(void *ctx, int64_t start_ms, int64_t end_ms, uint32_t target_id, const uint8_t *blob,
				size_t len);

/* Each calls cb for the rows of tier with start in [from, to), in time
 * order; a callback returning non-zero stops the scan with that value.
 * Return 0, or -1 on a database error (recorded in the store's status). */
int store_read_windows(struct wf_store_reader *r, int tier, int64_t from, int64_t to, wf_store_window_cb cb,
		       void *ctx);
int store_read_totals(struct wf_store_reader *r, int tier, int64_t from, int64_t to, wf_store_blob_cb cb, void *ctx);
int store_read_edges(struct wf_store_reader *r, int tier, int64_t from, int64_t to, wf_store_blob_cb cb, void *ctx);
int store_read_chains(struct wf_store_reader *r, int tier, int64_t from, int64_t to, wf_store_blob_cb cb, void *ctx);

/* An edge's full record, read back from the store or copied from the
 * catalog: its two frames arrays are malloc'd; the strings it points to are
 * the catalog's (interned) or, read from the store, in the detail's arena. */
struct wf_edge_detail {
	struct wf_edge edge;
	struct wf_arena arena;
};
/* Returns 0, 1 if the id is unknown, -1 on a database error. */
int store_read_edge(struct wf_store_reader *r, uint32_t id, struct wf_edge_detail *out);
void store_edge_detail_free(struct wf_edge_detail *d);

#endif
