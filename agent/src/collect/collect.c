// SPDX-License-Identifier: Apache-2.0
#include "collect.h"

#include <stdlib.h>
#include <string.h>

struct wf_wtarget *collected_target(struct wf_collected *c, uint32_t target_id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->t[i].target_id == target_id)
			return &c->t[i];
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct wf_wtarget *p = realloc(c->t, cap * sizeof(*p));

		if (!p)
			return NULL;
		c->t = p;
		c->cap = cap;
	}
	wtarget_init(&c->t[c->n], target_id);
	return &c->t[c->n++];
}

void collected_free(struct wf_collected *c)
{
	for (size_t i = 0; i < c->n; i++)
		wtarget_free(&c->t[i]);
	free(c->t);
	memset(c, 0, sizeof(*c));
}

static uint64_t us(uint64_t ns)
{
	return (ns + 500) / 1000;
}

/*
 * A thread's role comes from the rules, which look at the target thread of
 * an edge; a thread with totals but no edge this window is asked as the
 * target of an otherwise empty edge.
 */
static int thread_role(const struct wf_rules *rules, const struct wf_task *task)
{
	struct wf_edge e;

	if (!rules)
		return WF_ROLE_OTHER;
	edge_init(&e);
	e.target = *task;
	e.kind = WF_SWITCH_PREEMPTED;
	e.context = WF_CTX_NONE;
	classify_edge(rules, &e);
	return e.role;
}

int collect_window(const struct wf_collect_ctx *ctx, struct wf_edge_list *edges, const struct capture_totals *totals,
		   struct wf_collected *out)
{
	for (size_t i = 0; edges && i < edges->len; i++) {
		struct wf_edge *e = &edges->items[i];
		const char *pcomm = e->target.proc_comm[0] ? e->target.proc_comm : e->target.comm;
		uint32_t tid = ctx->target_of(ctx->ctx, e->target.pid, pcomm);
		struct wf_edge_meta m;
		struct wf_wtarget *t;
		uint64_t count;

		if (!tid)
			continue;
		if (ctx->rules)
			classify_edge(ctx->rules, e);
		memset(&m, 0, sizeof(m));
		m.target_id = tid;
		m.thread = catalog_name_id(ctx->cat, e->target.comm);
		m.role = (uint8_t)e->role;
		m.category = (uint8_t)e->category;
		m.activity = e->activity ? catalog_name_id(ctx->cat, e->activity) : 0;
		m.hash = catalog_edge_hash(e, tid);
		m.first_seen_ms = m.last_seen_ms = ctx->now_ms;
		m.id = catalog_edge_put(ctx->cat, &m, e);
		t = collected_target(out, tid);
		if (!m.id || !t)
			return -1;
		/* Live edges always count their intervals; an edge that does not
		 * is still one event. */
		count = e->count_known ? e->count : 1;
		if (wtarget_add_edge(t, &(struct wf_wedge){ .id = m.id,
							    .count = count,
							    .offcpu_us = e->offcpu_unknown ? 0 : us(e->offcpu_ns),
							    .runq_us = e->runq_known ? us(e->runq_ns) : 0,
							    .max_us = us(e->offcpu_max_ns) }) ||
		    wtarget_add_cat(t, &(struct wf_wcat){ .thread = m.thread,
							  .role = m.role,
							  .category = m.category,
							  .activity = m.activity,
							  .count = count,
							  .offcpu_us = e->offcpu_unknown ? 0 : us(e->offcpu_ns),
							  .runq_us = e->runq_known ? us(e->runq_ns) : 0 }))
			return -1;
	}
	for (size_t i = 0; totals && i < totals->len; i++) {
		const struct capture_thread_totals *th = &totals->items[i];
		const char *pcomm = th->task.proc_comm[0] ? th->task.proc_comm : th->task.comm;
		uint32_t tid = ctx->target_of(ctx->ctx, th->task.pid, pcomm);
		struct wf_wtarget *t;

		if (!tid)
			continue;
		t = collected_target(out, tid);
		if (!t)
			return -1;
		if (wtarget_add_thread(t, &(struct wf_wthread){ .name = catalog_name_id(ctx->cat, th->task.comm),
								.role = (uint8_t)thread_role(ctx->rules, &th->task),
								.oncpu_us = us(th->oncpu_ns),
								.preempted_us = us(th->preempted_ns),
								.blocked_us = us(th->blocked_ns),
								.runq_us = us(th->runq_ns),
								.switches = th->switches,
								.involuntary = th->involuntary,
								.wakeups = th->wakeups }))
			return -1;
	}
	for (size_t i = 0; i < out->n; i++)
		wtarget_normalize(&out->t[i]);
	return 0;
}

void encoded_free(struct wf_encoded *e)
{
	for (size_t i = 0; e->bufs && i < 3 * e->n; i++)
		wf_buf_free(&e->bufs[i]);
	free(e->bufs);
	free(e->targets);
	memset(e, 0, sizeof(*e));
}

int collected_encode(const struct wf_collected *c, int64_t start_ms, int64_t end_ms, struct wf_encoded *out)
{
	memset(out, 0, sizeof(*out));
	out->targets = calloc(c->n ? c->n : 1, sizeof(*out->targets));
	out->bufs = calloc(c->n ? 3 * c->n : 1, sizeof(*out->bufs));
	if (!out->targets || !out->bufs) {
		encoded_free(out);
		return -1;
	}
	out->n = c->n;
	for (size_t i = 0; i < c->n; i++) {
		struct wf_buf *tb = &out->bufs[3 * i], *eb = &out->bufs[3 * i + 1], *cb = &out->bufs[3 * i + 2];

		/* No chains (chains off, or none this window): no blob, no row. */
		if (wtarget_encode_totals(&c->t[i], tb) || wtarget_encode_edges(&c->t[i], eb) ||
		    (c->t[i].nchains && wtarget_encode_chains(&c->t[i], cb))) {
			encoded_free(out);
			return -1;
		}
		out->targets[i] = (struct wf_store_target){ .target_id = c->t[i].target_id,
							    .totals = tb->data,
							    .totals_len = tb->len,
							    .edges = eb->data,
							    .edges_len = eb->len,
							    .chains = cb->data,
							    .chains_len = cb->len };
	}
	out->window = (struct wf_store_window){ .start_ms = start_ms,
						.end_ms = end_ms,
						.targets = out->targets,
						.ntargets = out->n };
	return 0;
}
