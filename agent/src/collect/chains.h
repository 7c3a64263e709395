/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Chains (chain.h) on their way from the capture to the reports and the
 * store: each link is classified by the very rules that classify edges
 * (a link is an edge whose target is the next hop), and a window's chains
 * are handed to the store beside its edges.
 */
#ifndef WAKEFLOW_COLLECT_CHAINS_H
#define WAKEFLOW_COLLECT_CHAINS_H

#include "chain.h"
#include "classify.h"

/* Sets category, activity and role of every link of every chain (in place).
 * NULL rules or list: nothing. `record` calls it before report_write. */
void chains_classify(const struct wf_rules *rules, struct wf_chain_list *chains);

#endif
