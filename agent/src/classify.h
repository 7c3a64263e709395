/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Classification: a rule set (agent/rules/default.rules compiled in, or an
 * override file) maps an edge's stacks, context and facts to a category, an
 * Envoy activity and the target thread's role. Domain logic only: no I/O but
 * reading the rules file.
 */
#ifndef WAKEFLOW_CLASSIFY_H
#define WAKEFLOW_CLASSIFY_H

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
