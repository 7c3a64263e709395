/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Chains (chain.h) on their way from the capture to the reports and the
 * store: each link is classified by the very rules that classify edges
 * (a link is an edge whose target is the next hop), and a window's chains
 * join the window's per-target records (collect.h) beside its edges.
 */
#ifndef WAKEFLOW_COLLECT_CHAINS_H
#define WAKEFLOW_COLLECT_CHAINS_H

#include "chain.h"
#include "classify.h"
#include "collect.h"

/* Sets category, activity and role of every link of every chain (in place).
 * NULL rules or list: nothing. `record` calls it before report_write. */
void chains_classify(const struct wf_rules *rules, struct wf_chain_list *chains);

/*
 * Classifies the chains (ctx->rules) and adds each to its target's record
 * in out: the target is the last hop's process (ctx->target_of; chains of
 * processes that are not targets are left out), each link becomes a catalog
 * edge of that target (so its hops, classification and stacks are stored
 * once, as edges' are) and the chain the list of those edge ids. Chains
 * with no link or more than WF_CHAIN_MAX_LINKS are skipped and counted in
 * *skipped (may be NULL). Returns 0, or -1 on ENOMEM.
 */
int collect_chains(const struct wf_collect_ctx *ctx, struct wf_chain_list *chains, struct wf_collected *out,
		   uint64_t *skipped);

#endif
