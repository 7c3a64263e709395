// SPDX-License-Identifier: Apache-2.0
#include "chains.h"

void chains_classify(const struct wf_rules *rules, struct wf_chain_list *chains)
{
	if (!rules || !chains)
		return;
	for (size_t i = 0; i < chains->len; i++) {
		struct wf_chain *c = &chains->items[i];

		for (int l = 0; l < c->nlinks && l < WF_CHAIN_MAX_LINKS; l++)
			classify_edge(rules, &c->links[l]);
	}
}
