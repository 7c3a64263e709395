// SPDX-License-Identifier: Apache-2.0
#include "chains.h"

#include <string.h>

#include "window.h"

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

static uint64_t us(uint64_t ns)
{
	return (ns + 500) / 1000;
}

/*
 * The link as an edge of the chain's target: its catalog id, 0 on ENOMEM.
 * Its identity leaves the stacks out, as the kernel's chain key does: a
 * link's stacks are samples (the first hop's walked at most once a second,
 * the target's when its edge was sampled), present in one window and
 * absent or different in the next, and with them in the identity one chain
 * became a new entry every few windows. The record keeps the stacks it was
 * first seen with.
 */
static uint32_t link_id(const struct wf_collect_ctx *ctx, const struct wf_edge *link, uint32_t target_id)
{
	struct wf_edge_meta m;
	struct wf_edge bare = *link;

	bare.waker_stack = (struct wf_stack){ .nkernel = -1 };
	bare.target_stack = (struct wf_stack){ .nkernel = -1 };
	bare.stacks_sampled = false;
	memset(&m, 0, sizeof(m));
	m.target_id = target_id;
	m.thread = catalog_name_id(ctx->cat, link->target.comm);
	m.role = (uint8_t)link->role;
	m.category = (uint8_t)link->category;
	m.activity = link->activity ? catalog_name_id(ctx->cat, link->activity) : 0;
	m.hash = catalog_edge_hash(&bare, target_id);
	m.first_seen_ms = m.last_seen_ms = ctx->now_ms;
	return catalog_edge_put(ctx->cat, &m, link);
}

int collect_chains(const struct wf_collect_ctx *ctx, struct wf_chain_list *chains, struct wf_collected *out,
		   uint64_t *skipped)
{
	for (size_t i = 0; chains && i < chains->len; i++) {
		struct wf_chain *c = &chains->items[i];
		struct wf_wchain wc = { 0 };
		const struct wf_task *target;
		const char *pcomm;
		struct wf_wtarget *t;
		uint32_t tid;

		if (c->nlinks < 1 || c->nlinks > WF_CHAIN_MAX_LINKS) {
			if (skipped)
				(*skipped)++;
			continue;
		}
		target = &c->links[c->nlinks - 1].target;
		pcomm = target->proc_comm[0] ? target->proc_comm : target->comm;
		tid = ctx->target_of(ctx->ctx, target->pid, pcomm);
		if (!tid)
			continue;
		if (ctx->rules)
			for (int l = 0; l < c->nlinks; l++)
				classify_edge(ctx->rules, &c->links[l]);
		wc.nlinks = (uint8_t)c->nlinks;
		wc.ended_by = (uint8_t)(c->ended_by <= WF_CHAIN_END_UNTRACKED ? c->ended_by : WF_CHAIN_END_NONE);
		for (int l = 0; l < c->nlinks; l++) {
			wc.links[l] = link_id(ctx, &c->links[l], tid);
			if (!wc.links[l])
				return -1;
		}
		wc.count = c->count;
		wc.offcpu_us = us(c->offcpu_ns);
		wc.runq_us = us(c->runq_ns);
		t = collected_target(out, tid);
		if (!t || wtarget_add_chain(t, &wc))
			return -1;
	}
	for (size_t i = 0; i < out->n; i++)
		wtarget_normalize(&out->t[i]);
	return 0;
}
