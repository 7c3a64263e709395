/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reports of classified edges, shared by `import` and `record`:
 *   text   reads like offwaketime with the classification added (category
 *          breakdown first, then each edge: waker stack, "--", target stack,
 *          category, activity, count, times);
 *   folded one line per edge for FlameGraph tools;
 *   json   {"edges": [...], "lost": {...}, "capture": {...}} (schema in
 *          docs/agent.md; "capture" for live captures only).
 */
#ifndef WAKEFLOW_REPORT_H
#define WAKEFLOW_REPORT_H

#include <stdint.h>
#include <stdio.h>

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
};

/* Returns 0, or -1 if writing failed (errno set). */
int report_write(FILE *out, enum wf_format fmt, const struct wf_edge_list *edges,
		 const struct wf_report_meta *meta);

/* Writes the edge's members (the schema of `record --format json`) into the
 * JSON object the caller has open, so that it can add its own. */
void report_json_edge_members(struct json *j, const struct wf_edge *e, const struct wf_rules *rules);

#endif
