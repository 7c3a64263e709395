/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Query evaluation for /api/v1/series and /api/v1/edges, apart from where
 * the windows come from (store.h, the in-memory ring) and from HTTP/JSON:
 *   planning  which tier answers which part of the range and the step the
 *             answer really has (docs/api.md, "Resolution");
 *   series    per point, the metric of each group (by=...) over the windows
 *             whose start falls in the point's step;
 *   edges     the edges of the range merged by id, filtered, sorted, top N.
 * Targets are matched on labels once per query (a snapshot from the
 * catalog); threads, roles, categories and activities per record.
 */
#ifndef WAKEFLOW_SERIES_H
#define WAKEFLOW_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "taxonomy.h"
#include "query.h"
#include "store.h" /* the tiers (WF_TIER_*) a segment is read from */

#define WF_SERIES_MAX_POINTS 5000
#define WF_SERIES_MAX_SERIES 500
/* series x points: bounds one answer's memory (and JSON) to a few MiB. */
#define WF_SERIES_MAX_CELLS 200000
#define WF_SERIES_AUTO_POINTS 300 /* points when no step is given */

/* A time range [from, to) answered from one tier. */
struct wf_segment {
	int tier;
	int64_t from_ms, to_ms;
};

struct wf_resolution {
	int64_t window_ms;	 /* tier 0 resolution (divides a minute) */
	int64_t fine_since_ms;	 /* oldest time tier 0 still holds */
	int64_t rolled_until_ms; /* minutes before this are rolled up into tier 1 */
};

struct wf_series_plan {
	int64_t t0, step_ms; /* point k covers [t0 + k*step, t0 + (k+1)*step) */
	size_t npoints;
	bool step_raised; /* the requested step was raised (resolution or point cap) */
	struct wf_segment seg[2];
	size_t nseg;
};

/* Chooses the step and tiers for a series query (never fails: q is valid). */
void series_plan(const struct wf_query *q, const struct wf_resolution *res, struct wf_series_plan *p);
/* Splits an edges query into at most 3 segments: whole minutes from tier 1,
 * the rest from tier 0. Returns the number of segments. */
size_t edges_plan(const struct wf_query *q, const struct wf_resolution *res, struct wf_segment seg[3]);

/* ---- target matching ---- */

/* The targets a query may see, from a catalog snapshot. */
struct wf_target_match {
	struct wf_target *targets; /* sorted by id */
	size_t ntargets;
	bool *allowed; /* per targets[i] */
	uint32_t *pod;	    /* by=pod: index of the (namespace, pod) group of targets[i] */
	uint32_t *workload; /* by=workload: index of its (namespace, workload) group */
};
int target_match_init(struct wf_target_match *m, struct wf_catalog *cat, const struct wf_filter *f);
/* Index into m->targets of an allowed target, or -1. */
long target_match_find(const struct wf_target_match *m, uint32_t target_id);
void target_match_free(struct wf_target_match *m);

/* ---- per-record filters (threads, roles, categories, activities) ---- */

struct wf_record_filter {
	uint32_t threads[WF_FILTER_MAX_VALUES]; /* name ids; 0 = a name never seen */
	int nthreads;
	const int *roles;
	int nroles;
	bool category_ok[WF_CAT__COUNT];
	bool any_category;
	uint32_t activities[WF_FILTER_MAX_VALUES];
	int nactivities;
};
/* f's values must outlive rf (roles points into f). */
void record_filter_init(struct wf_record_filter *rf, const struct wf_filter *f, struct wf_catalog *cat);
bool record_filter_thread(const struct wf_record_filter *rf, uint32_t thread, int role);
bool record_filter_class(const struct wf_record_filter *rf, int category, uint32_t activity);
/* Both of the above on an edge's catalog record (an edges row, a chain's
 * last link). */
bool record_filter_meta(const struct wf_record_filter *rf, const struct wf_edge_meta *m);

/* ---- series ---- */

struct wf_series_acc;

struct wf_series_acc *series_acc_new(const struct wf_query *q, const struct wf_series_plan *p,
				     struct wf_catalog *cat);
void series_acc_free(struct wf_series_acc *a);
/* Forget everything added (a source failed half-way; another answers). */
void series_acc_reset(struct wf_series_acc *a);
/* A window of the range existed (the agent was running) whether or not any
 * target was active in it: its points are 0 rather than missing, and rates
 * are per second of the windows a point holds (a point only partly covered,
 * after a start or the one in progress, is no dip). */
void series_acc_cover(struct wf_series_acc *a, int64_t start_ms, int64_t end_ms);
/* One target's totals blob (window.h) for the window starting at start_ms.
 * Returns 0, or -1 if the blob is corrupt. */
int series_acc_add(struct wf_series_acc *a, int64_t start_ms, uint32_t target_id, const uint8_t *totals,
		   size_t len);
/* The two above as store_read_windows and store_read_totals callbacks
 * (ctx: the accumulator). A blob that does not decode is skipped rather
 * than failing the whole answer: the store notices corruption on its own
 * reads. */
int series_acc_cover_cb(void *acc, int64_t start_ms, int64_t end_ms);
int series_acc_add_cb(void *acc, int64_t start_ms, int64_t end_ms, uint32_t target_id, const uint8_t *totals,
		      size_t len);
/* One target's totals of one window or minute, decoded from its blob: what
 * series_acc_add adds, and what a kept block (series_blocks.h) holds. */
struct wf_wcat;
struct wf_wthread;
struct wf_totals {
	uint32_t target_id;
	uint64_t throttled_us;
	const struct wf_wcat *cats;
	size_t ncats;
	const struct wf_wthread *threads;
	size_t nthreads;
};
/* Adds t as series_acc_add adds the blob it was decoded from. */
void series_acc_add_totals(struct wf_series_acc *a, int64_t start_ms, const struct wf_totals *t);

struct wf_label_pair {
	const char *name, *value;
};
/* Results, valid until the accumulator is freed or reset. Series are sorted
 * by their labels; points only where covered and the value is defined. */
size_t series_count(struct wf_series_acc *a);
/* More groups than WF_SERIES_MAX_SERIES or WF_SERIES_MAX_CELLS allow; the
 * first ones seen were kept. */
bool series_truncated(struct wf_series_acc *a);
/* Fills up to max label pairs for series i; returns how many. Strings are
 * valid until the accumulator is freed. */
size_t series_labels(struct wf_series_acc *a, size_t i, struct wf_label_pair *out, size_t max);
/* Iterates the points of series i: returns false when done. */
bool series_point(struct wf_series_acc *a, size_t i, size_t *k, int64_t *t_ms, double *value);

/* ---- edges ---- */

struct wf_edge_row {
	uint32_t id;
	struct wf_edge_meta meta;
	uint64_t count, offcpu_us, runq_us, max_us;
	int64_t first_ms, last_ms; /* first and last window (of the range) that saw it */
};

struct wf_edges_acc;

struct wf_edges_acc *edges_acc_new(const struct wf_query *q, struct wf_catalog *cat);
void edges_acc_free(struct wf_edges_acc *a);
void edges_acc_reset(struct wf_edges_acc *a);
int edges_acc_add(struct wf_edges_acc *a, int64_t start_ms, int64_t end_ms, uint32_t target_id, const uint8_t *edges,
		  size_t len);
/* The same as a store_read_edges callback (ctx: the accumulator); a blob
 * that does not decode is skipped, as series_acc_add_cb skips one. */
int edges_acc_add_cb(void *acc, int64_t start_ms, int64_t end_ms, uint32_t target_id, const uint8_t *edges,
		     size_t len);
/* One edge's sums over a block of windows (edge_blocks.h): first and last
 * seen as offsets from the block's start. */
struct wf_edge_sum {
	uint32_t id;
	int32_t first_off_ms, last_off_ms;
	uint64_t count, offcpu_us, runq_us, max_us;
};
/* Adds n sums of one target's edges, as if each block's windows had been
 * added one by one with edges_acc_add. 0, or -1 on ENOMEM. */
int edges_acc_add_sums(struct wf_edges_acc *a, uint32_t target_id, int64_t base_ms, const struct wf_edge_sum *s,
		       size_t n);
/* Applies the per-edge filters, sorts by q->sort (descending) and keeps
 * q->limit rows. Returns the number of rows, -1 on ENOMEM. */
ssize_t edges_acc_finish(struct wf_edges_acc *a);
const struct wf_edge_row *edges_acc_row(struct wf_edges_acc *a, size_t i);
/* Matching edges before the limit was applied. */
size_t edges_acc_matched(struct wf_edges_acc *a);
const struct wf_target_match *edges_acc_targets(struct wf_edges_acc *a);

#endif
