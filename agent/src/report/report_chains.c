// SPDX-License-Identifier: Apache-2.0
/*
 * Chains in the reports (report.h): the JSON chain object and the text
 * line X -[category]-> W -[category]-> T. The shape is the one of
 * docs/agent.md ("chains") and docs/api.md (/api/v1/chains); change them
 * together.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "report.h"
#include "report_int.h"

static void json_kernel_frames(struct json *j, const char *key, const struct wf_stack *s)
{
	json_key(j, key);
	if (s->nkernel >= 0)
		json_i64(j, s->nkernel);
	else
		json_null(j);
}

/* A link: how the hop before woke the hop after; stacks only where sampled. */
static void json_link(struct json *j, const struct wf_edge *l)
{
	json_obj_begin(j);
	json_key(j, "category");
	json_str(j, report_category_id(l->category));
	json_key(j, "activity");
	json_str(j, l->activity);
	json_key(j, "context");
	json_str(j, wf_context_name(l->context));
	json_key(j, "stacks_sampled");
	json_bool(j, l->stacks_sampled);
	if (l->stacks_sampled) {
		report_json_stack(j, "waker_stack", &l->waker_stack);
		json_kernel_frames(j, "waker_stack_kernel_frames", &l->waker_stack);
		report_json_stack(j, "target_stack", &l->target_stack);
		json_kernel_frames(j, "target_stack_kernel_frames", &l->target_stack);
	}
	json_obj_end(j);
}

void report_json_chain_members(struct json *j, const struct wf_chain *c)
{
	int n = c->nlinks < 0 ? 0 : c->nlinks > WF_CHAIN_MAX_LINKS ? WF_CHAIN_MAX_LINKS : c->nlinks;

	json_key(j, "hops");
	json_arr_begin(j);
	if (n) {
		report_json_task(j, &c->links[0].waker);
		json_obj_end(j);
	}
	for (int i = 0; i < n; i++) {
		report_json_task(j, &c->links[i].target);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "links");
	json_arr_begin(j);
	for (int i = 0; i < n; i++)
		json_link(j, &c->links[i]);
	json_arr_end(j);
	json_key(j, "count");
	json_u64(j, c->count);
	report_json_us(j, "offcpu_us", true, c->offcpu_ns);
	report_json_us(j, "runq_us", true, c->runq_ns);
	json_key(j, "ended_by");
	json_str(j, wf_chain_end_name(c->ended_by));
}

static int by_chain_offcpu_desc(const void *a, const void *b, void *chains)
{
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	const struct wf_chain *x = (const struct wf_chain *)chains + ia, *y = (const struct wf_chain *)chains + ib;

	if (x->offcpu_ns != y->offcpu_ns)
		return x->offcpu_ns > y->offcpu_ns ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

/* Indexes of the chains, longest off-CPU time first; NULL on ENOMEM. */
static size_t *chain_order(const struct wf_chain_list *chains)
{
	size_t n = chains ? chains->len : 0;
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));

	if (!idx)
		return NULL;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	if (n)
		qsort_r(idx, n, sizeof(*idx), by_chain_offcpu_desc, chains->items);
	return idx;
}

void report_chains_json(struct json *j, const struct wf_chain_list *chains)
{
	size_t *order = chain_order(chains);

	json_key(j, "chains");
	json_arr_begin(j);
	if (!order) {
		j->failed = true;
	} else {
		for (size_t i = 0; chains && i < chains->len; i++) {
			json_obj_begin(j);
			report_json_chain_members(j, &chains->items[order[i]]);
			json_obj_end(j);
		}
	}
	json_arr_end(j);
	free(order);
}

void report_hop_label(const struct wf_task *t, char *buf, size_t len)
{
	const char *comm = t->comm[0] ? t->comm : "?";
	bool other_proc = t->proc_comm[0] && strcmp(t->proc_comm, t->comm);
	int n;

	if (!len)
		return;
	if (t->tid >= 0)
		n = snprintf(buf, len, "%s%s%s(%" PRId32 ")", other_proc ? t->proc_comm : "", other_proc ? "/" : "",
			     comm, t->tid);
	else
		n = snprintf(buf, len, "%s%s%s", other_proc ? t->proc_comm : "", other_proc ? "/" : "", comm);
	(void)n;
}

int report_chains_text(FILE *out, const struct wf_chain_list *chains, int top)
{
	size_t len = chains ? chains->len : 0, n = len;
	size_t *order = chain_order(chains);

	if (!order) {
		errno = ENOMEM;
		return -1;
	}
	if (top > 0 && (size_t)top < n)
		n = (size_t)top;
	if (n < len)
		fprintf(out, "\nTop %zu of %zu chains by off-CPU time (first cause -> target):\n\n", n, len);
	else
		fprintf(out, "\nChains by off-CPU time (first cause -> target): %zu\n\n", len);
	for (size_t i = 0; i < n; i++) {
		const struct wf_chain *c = &chains->items[order[i]];
		int nl = c->nlinks < 0 ? 0 : c->nlinks > WF_CHAIN_MAX_LINKS ? WF_CHAIN_MAX_LINKS : c->nlinks;
		char hop[2 * WF_COMM_LEN + 16];

		if (!nl)
			continue;
		report_hop_label(&c->links[0].waker, hop, sizeof(hop));
		fprintf(out, "  %s", hop);
		for (int l = 0; l < nl; l++) {
			report_hop_label(&c->links[l].target, hop, sizeof(hop));
			fprintf(out, " -[%s]-> %s", report_category_id(c->links[l].category), hop);
		}
		fprintf(out, "\n    count %" PRIu64 "  offcpu %.3f ms  runq %.3f ms  ended by %s\n", c->count,
			c->offcpu_ns / 1e6, c->runq_ns / 1e6, wf_chain_end_name(c->ended_by));
	}
	free(order);
	return ferror(out) ? -1 : 0;
}
