/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Classification: a rule set (agent/rules/default.rules compiled in, or an
 * override file) maps an edge's stacks, context and facts to a category, an
 * Envoy activity and the target thread's role. Domain logic only: no I/O but
 * reading the rules file.
 */
#ifndef WAKEFLOW_CLASSIFY_H
#define WAKEFLOW_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "edge.h"

/* The fixed category taxonomy; ids are the dotted names below. */
enum wf_category {
	WF_CAT_PREEMPT_INVOLUNTARY = 0, /* preempt.involuntary */
	WF_CAT_PREEMPT_VOLUNTARY,	/* preempt.voluntary */
	WF_CAT_NET_TCP_CONNECT,		/* net.tcp.connect */
	WF_CAT_NET_TCP_DATA,		/* net.tcp.data */
	WF_CAT_NET_TCP_CLOSE,		/* net.tcp.close */
	WF_CAT_NET_TCP_WRITABLE,	/* net.tcp.writable */
	WF_CAT_NET_UNIX,		/* net.unix */
	WF_CAT_NET_UDP,			/* net.udp */
	WF_CAT_NET_OTHER,		/* net.other */
	WF_CAT_IPC_EVENTFD,		/* ipc.eventfd */
	WF_CAT_IPC_FUTEX,		/* ipc.futex */
	WF_CAT_IPC_PIPE,		/* ipc.pipe */
	WF_CAT_IPC_SIGNAL,		/* ipc.signal */
	WF_CAT_TIMER,			/* timer */
	WF_CAT_IO_BLOCK,		/* io.block */
	WF_CAT_OTHER,			/* other */
	WF_CAT__COUNT,
};

enum wf_role {
	WF_ROLE_OTHER = 0,
	WF_ROLE_WORKER,	    /* wrk:worker_N */
	WF_ROLE_MAIN,	    /* envoy (the main thread) */
	WF_ROLE_WATCHDOG,   /* dog:* */
	WF_ROLE_ACCESS_LOG, /* AccessLogFlush */
	WF_ROLE__COUNT,
};

struct wf_taxon {
	const char *id;		 /* "net.tcp.data" */
	const char *name;	 /* "TCP data" */
	const char *group;	 /* "net" */
	const char *description; /* one sentence for humans */
};

const struct wf_taxon *wf_category(int category); /* NULL if out of range */
int wf_category_from_id(const char *id);	   /* -1 if unknown */
const char *wf_role_id(int role);		   /* "worker", ..., "other" */
int wf_role_from_id(const char *id);		   /* -1 if unknown */

/* Activities are open-ended (a rules file may add some); these are the built-in ones. */
size_t wf_activity_count(void);
const struct wf_taxon *wf_activity(size_t i);

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
