/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wake chain: the sequence of wakeups that made a target runnable
 * (docs/chains.md). X woke W and W, still in the run that wakeup started,
 * woke the target T: the chain X -> W -> T. A chain is a list of links, each
 * link an ordinary edge (edge.h) whose target is the next link's waker, so
 * that every link is classified by the very rules that classify edges, and
 * the last link is the target's own edge.
 *
 * This header is the contract between the live capture (which produces
 * chains from the kernel's aggregates), the reporters (record's json/text),
 * the store and the HTTP API (/api/v1/chains).
 */
#ifndef WAKEFLOW_CHAIN_H
#define WAKEFLOW_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "edge.h"

/* Links a chain holds at most (`--chains N` allows N up to this); hops are one more. */
#define WF_CHAIN_MAX_LINKS 4
#define WF_CHAIN_DEFAULT_LINKS 3

/* Why a chain has no earlier hop (the "ended_by" of the API). */
enum wf_chain_end {
	WF_CHAIN_END_NONE = 0,	/* the first hop was followed and had no cause recorded */
	WF_CHAIN_END_INTERRUPT, /* the first link ran in interrupt context: a device or a timer */
	WF_CHAIN_END_DEPTH,	/* cut at the depth asked for */
	WF_CHAIN_END_UNTRACKED, /* the first hop's task is outside what chains follow */
};

/*
 * One aggregated chain. links[0] is the first cause's wakeup (its waker is
 * the first hop), links[nlinks - 1] the wakeup of the target (its target is
 * the last hop). Hops are therefore links[0].waker, then each link's target.
 * The totals are those of the target's off-CPU intervals that had this
 * chain; each link's own count/offcpu fields are not used for chains.
 * Stacks are known where the capture sampled them (links[i].stacks_sampled).
 */
struct wf_chain {
	int nlinks; /* 1..WF_CHAIN_MAX_LINKS */
	struct wf_edge links[WF_CHAIN_MAX_LINKS];
	enum wf_chain_end ended_by;
	uint64_t count;
	uint64_t offcpu_ns;
	uint64_t runq_ns;
	uint64_t first_seen_ns; /* CLOCK_REALTIME ns; 0 if unknown */
	uint64_t last_seen_ns;
};

struct wf_chain_list {
	struct wf_chain *items;
	size_t len;
	size_t cap;
};

const char *wf_chain_end_name(enum wf_chain_end e);
/* Copies the chain in (its links' stack frame arrays become the list's). */
int chain_list_push(struct wf_chain_list *list, const struct wf_chain *c);
void chain_list_free(struct wf_chain_list *list);

#endif
