/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reports of classified edges, shared by `import` and `record`:
 *   text   reads like offwaketime with the classification added (category
 *          breakdown first, then each edge: waker stack, "--", target stack,
 *          category, activity, count, times);
 *   folded one line per edge for FlameGraph tools;
 *   json   {"edges": [...], "chains": [...], "lost": {...}, "capture": {...}}
 *          (schema in docs/agent.md; "chains" when the capture followed
 *          chains, "capture" for live captures only).
 * Chains (chain.h, docs/chains.md) print after the edges: in text one line
 * per chain, X -[category]-> W -[category]-> T, with the target's numbers.
 */
#ifndef WAKEFLOW_REPORT_H
#define WAKEFLOW_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "chain.h"
#include "edge.h"
#include "json.h"
#include "taxonomy.h"

struct wf_rules; /* classify.h: the rules that explain each edge */

enum wf_format { WF_FORMAT_TEXT = 0, WF_FORMAT_FOLDED, WF_FORMAT_JSON };

/* "text", "folded", "json" -> 0 and *out; anything else -> -1. */
int report_parse_format(const char *s, enum wf_format *out);

struct wf_report_meta {
	const struct wf_counter *lost;
	int nlost;
	/* json, live captures: how the capture went ({"capture": {...}}) */
	const char *kernel_stack_walker;
	const struct wf_counter *capture;
	int ncapture;
	int top; /* text: how many edges to print with stacks (0 = all) */
	/* The rules that classified the edges: each edge's explanation (which
	 * rule, frames and facts decided); NULL writes none. */
	const struct wf_rules *rules;
	/* Multi-hop chains (links classified, e.g. by chain_classify): json
	 * writes "chains", text a chain section (meta->top bounds it as it
	 * bounds edges); folded writes none. NULL: no chains (chains off). */
	const struct wf_chain_list *chains;
};

/* Returns 0, or -1 if writing failed (errno set). */
int report_write(FILE *out, enum wf_format fmt, const struct wf_edge_list *edges,
		 const struct wf_report_meta *meta);

/* Writes the edge's members (the schema of `record --format json`) into the
 * JSON object the caller has open, so that it can add its own. */
void report_json_edge_members(struct json *j, const struct wf_edge *e, const struct wf_rules *rules);

/* "key": ns in microseconds, or null when not known: every answer's
 * microsecond members are written by this one, so they are the same doubles. */
void report_json_us(struct json *j, const char *key, bool known, uint64_t ns);

/* Writes what an off-wake path of the edge needs (docs/api.md, fields=paths):
 * "waker" {comm, context}, "target" {comm}, stacks_sampled and both stacks,
 * each as report_json_edge_members writes it. */
void report_json_edge_path_members(struct json *j, const struct wf_edge *e);

/* Writes the chain's members (hops, links, count, offcpu_us, runq_us,
 * ended_by: the chain object of `record --format json`, and of
 * /api/v1/chains before the API adds id, labels and times) into the JSON
 * object the caller has open. */
void report_json_chain_members(struct json *j, const struct wf_chain *c);

/* Writes "chains": [...] into the JSON object the caller has open, longest
 * off-CPU time first (ties: larger count first, then input order). */
void report_chains_json(struct json *j, const struct wf_chain_list *chains);

/* The chain section of the text report: one line per chain, longest
 * off-CPU time first, at most top chains (0 = all). Returns 0 or -1 (errno). */
int report_chains_text(FILE *out, const struct wf_chain_list *chains, int top);

/* "comm(tid)", or "proc/comm(tid)" where the process is named otherwise:
 * one hop as the text report prints it. Always NUL-terminates buf. */
void report_hop_label(const struct wf_task *t, char *buf, size_t len);

#endif
