/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One window's worth of capture output (classified edges and per-thread
 * totals) turned into per-target window records (window.h): edges get
 * their catalog ids, threads their roles, and the per-category totals that
 * series queries read are summed here. Domain logic only: which process a
 * pid belongs to is asked through a callback (tracker.h in the daemon).
 */
#ifndef WAKEFLOW_COLLECT_H
#define WAKEFLOW_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "catalog.h"
#include "classify.h"
#include "store.h"
#include "window.h"

/* The per-target records of one window. */
struct wf_collected {
	struct wf_wtarget *t;
	size_t n, cap;
};

struct wf_collect_ctx {
	struct wf_catalog *cat;
	const struct wf_rules *rules; /* classifies the edges (they arrive unclassified) */
	/* The catalog id of the target process pid belongs to, or 0 to leave
	 * it out (not a target, filtered by --cgroup). comm: the process name
	 * as the capture saw it, for processes already gone. */
	uint32_t (*target_of)(void *ctx, int32_t pid, const char *comm);
	void *ctx;
	int64_t now_ms; /* the window's end: edges' last-seen time */
};

/* The record of target_id, added if new; NULL on ENOMEM. */
struct wf_wtarget *collected_target(struct wf_collected *c, uint32_t target_id);
void collected_free(struct wf_collected *c);

/* Classifies edges (in place) and adds edges and totals to out. Returns 0,
 * or -1 on ENOMEM (out holds what was added until then). */
int collect_window(const struct wf_collect_ctx *ctx, struct wf_edge_list *edges, const struct capture_totals *totals,
		   struct wf_collected *out);

/* The encoded form of a window, as the store and the ring take it. */
struct wf_encoded {
	struct wf_store_window window;
	struct wf_store_target *targets;
	struct wf_buf *bufs; /* three per target: totals, edges, chains */
	size_t n;
};
/* Encodes the (normalized) records of c as the window [start, end). */
int collected_encode(const struct wf_collected *c, int64_t start_ms, int64_t end_ms, struct wf_encoded *out);
void encoded_free(struct wf_encoded *e);

#endif
