/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Classification: a rule set (agent/rules/default.rules compiled in, or an
 * override file) maps an edge's stacks, context and facts to a category, an
 * Envoy activity and the target thread's role (the lists are in
 * taxonomy.h). Domain logic only: no I/O but reading the rules file.
 */
#ifndef WAKEFLOW_CLASSIFY_H
#define WAKEFLOW_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "edge.h"
#include "taxonomy.h"

struct wf_rules;

/* Load the compiled-in default rules, or a file; on error return NULL and
 * write one line naming the file, line and problem into err. */
struct wf_rules *rules_load_default(char *err, size_t errlen);
struct wf_rules *rules_load_file(const char *path, char *err, size_t errlen);
struct wf_rules *rules_load_string(const char *text, const char *origin, char *err, size_t errlen);
void rules_free(struct wf_rules *rules);

/* Sets e->category, e->activity and e->role. Never fails: unmatched is "other".
 * When e->context is WF_CTX_UNKNOWN and the edge has a waker stack (imports),
 * it first sets e->context from that stack (classify_stack_context). */
void classify_edge(const struct wf_rules *rules, struct wf_edge *e);
/* Same for a thread that must not intern (an HTTP answer reclassifying an
 * edge named at read time): e->activity then points into rules, which must
 * outlive e. */
void classify_edge_no_intern(const struct wf_rules *rules, struct wf_edge *e);

/*
 * Why an edge got its category and activity: the deciding rule, its `when`
 * line that held (as written), the frames its frame tests matched (indexes
 * into the edge's waker_stack or target_stack, innermost first) and the
 * facts its fact tests matched. Strings belong to the rules and the edge.
 */
#define WF_REASON_MAX_FRAMES 32

struct wf_reason_frame {
	bool target; /* false: waker_stack */
	int index;
};

struct wf_reason {
	const char *rule; /* NULL: no rule decided (category "other") */
	const char *when; /* "waker.frame=tcp_fin|tcp_reset|tcp_done", "always" */
	struct wf_reason_frame frames[WF_REASON_MAX_FRAMES];
	int nframes;
	const char *facts[WF_MAX_FACTS];
	int nfacts;
};

struct wf_explanation {
	struct wf_reason category;
	bool has_activity; /* false: the edge has no activity */
	struct wf_reason activity;
};

/* Explains a classified edge (classify_edge ran on it, here or when it was
 * stored): the first rule that gives the edge its value and matches. With
 * the rules that classified it, that is the rule that decided. */
void classify_explain(const struct wf_rules *rules, const struct wf_edge *e, struct wf_explanation *out);

/* Where the wakeup ran, read from the waker stack with the rules'
 * context-frames lists (see docs/classification.md); WF_CTX_UNKNOWN when the
 * stack has no kernel frame to go by. */
enum wf_context classify_stack_context(const struct wf_rules *rules, const struct wf_edge *e);

/* Number of rules and where they came from ("built-in rules" or the file path). */
size_t rules_count(const struct wf_rules *rules);
const char *rules_origin(const struct wf_rules *rules);

/* The compiled-in default rules text (agent/rules/default.rules). */
extern const char wf_default_rules[];

#endif
