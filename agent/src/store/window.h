/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One target's share of one aggregation window, the unit the daemon keeps
 * in memory, stores and queries:
 *   threads  per thread name: on-CPU, preempted, blocked, run-queue time,
 *            switches, wakeups (from the capture's per-thread totals);
 *   cats     per (thread name, role, category, activity): intervals,
 *            off-CPU and run-queue time (from the classified edges);
 *            the pre-aggregation that keeps series queries fast;
 *   edges    per edge id (catalog.h): count, off-CPU, run-queue, max;
 *   chains   per multi-hop chain (chain.h) of a target thread: its links
 *            as catalog edge ids, first cause first, how it ended, and the
 *            target's count, off-CPU and run-queue time with that chain.
 * Times are microseconds. Names (thread, activity) are catalog name ids.
 *
 * Windows are encoded as compact byte strings (totals: throttling,
 * threads and cats; edges; chains) of LEB128 varints with delta-coded, sorted keys:
 * a store row per window and target is what keeps 8,000 edges per 10 s
 * window within the disk budget (docs/performance.md). Decoding checks
 * every bound: a corrupt blob gives -1, never a crash.
 */
#ifndef WAKEFLOW_WINDOW_H
#define WAKEFLOW_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "chain.h"

struct wf_wthread {
	uint32_t name; /* thread comm (name id) */
	uint8_t role;  /* enum wf_role */
	uint64_t oncpu_us, preempted_us, blocked_us, runq_us;
	uint64_t switches, involuntary, wakeups;
};

struct wf_wcat {
	uint32_t thread; /* name id */
	uint8_t role;
	uint8_t category; /* enum wf_category */
	uint32_t activity; /* name id; 0 = none */
	uint64_t count, offcpu_us, runq_us;
};

struct wf_wedge {
	uint32_t id; /* catalog edge id */
	uint64_t count, offcpu_us, runq_us, max_us;
};

/* A chain's identity is its links (edge ids, which carry the hops, their
 * classification and stacks) and how it ended; ids past nlinks are 0. */
struct wf_wchain {
	uint8_t nlinks;	  /* 1..WF_CHAIN_MAX_LINKS */
	uint8_t ended_by; /* enum wf_chain_end */
	uint32_t links[WF_CHAIN_MAX_LINKS];
	uint64_t count, offcpu_us, runq_us;
};

struct wf_wtarget {
	uint32_t target_id;
	uint64_t nr_periods, nr_throttled, throttled_us; /* cgroup throttling in this window */
	struct wf_wthread *threads;
	size_t nthreads, cthreads;
	struct wf_wcat *cats;
	size_t ncats, ccats;
	struct wf_wedge *edges;
	size_t nedges, cedges;
	struct wf_wchain *chains;
	size_t nchains, cchains;
};

void wtarget_init(struct wf_wtarget *t, uint32_t target_id);
void wtarget_free(struct wf_wtarget *t);
/* Reset the counts but keep the allocations (for reuse while decoding). */
void wtarget_clear(struct wf_wtarget *t);

/* Append; duplicates are merged by wtarget_normalize. Return -1 on ENOMEM. */
int wtarget_add_thread(struct wf_wtarget *t, const struct wf_wthread *th);
int wtarget_add_cat(struct wf_wtarget *t, const struct wf_wcat *c);
int wtarget_add_edge(struct wf_wtarget *t, const struct wf_wedge *e);
/* -1 also for a chain with nlinks outside 1..WF_CHAIN_MAX_LINKS. */
int wtarget_add_chain(struct wf_wtarget *t, const struct wf_wchain *c);
/* The order (and identity) of chains: last link, length, the other links
 * from the target back, then ended_by. 0 for the same chain. */
int wchain_cmp(const struct wf_wchain *a, const struct wf_wchain *b);
/* Adds everything in src into dst (both normalized afterwards by the caller). */
int wtarget_merge(struct wf_wtarget *dst, const struct wf_wtarget *src);
/* Sorts threads, cats and edges by key and sums entries with equal keys
 * (max_us takes the maximum). Encoding requires it. */
void wtarget_normalize(struct wf_wtarget *t);

/* A growable byte buffer for the encoders. */
struct wf_buf {
	uint8_t *data;
	size_t len, cap;
	int failed;
};
void wf_buf_free(struct wf_buf *b);

/* Encode a normalized target window; return 0 or -1 (ENOMEM). */
int wtarget_encode_totals(const struct wf_wtarget *t, struct wf_buf *out);
int wtarget_encode_edges(const struct wf_wtarget *t, struct wf_buf *out);
int wtarget_encode_chains(const struct wf_wtarget *t, struct wf_buf *out);
/* Decode into t (cleared first; target_id untouched); return 0 or -1 if
 * the bytes are malformed or allocation failed. */
int wtarget_decode_totals(struct wf_wtarget *t, const uint8_t *p, size_t len);
int wtarget_decode_edges(struct wf_wtarget *t, const uint8_t *p, size_t len);
/* Into t's chains only. */
int wtarget_decode_chains(struct wf_wtarget *t, const uint8_t *p, size_t len);

#endif
