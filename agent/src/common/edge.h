/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wake edge: the one record every part of the agent speaks.
 *
 * An edge aggregates the off-CPU intervals of one target thread that share a
 * waker, a wake context and (where known) the same pair of stacks. Both the
 * importer (BCC offwaketime captures) and the live capture produce edges; the
 * classifier fills in category/activity/role; the reporters and the store
 * consume them. Keeping one shape for both sources is what lets the captures
 * in the fixtures test the very rules the live agent uses.
 */
#ifndef WAKEFLOW_EDGE_H
#define WAKEFLOW_EDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WF_COMM_LEN 16

/* Where the wakeup ran (see docs/classification.md). */
enum wf_context {
	WF_CTX_NONE = 0, /* no waker: the target was preempted or yielded */
	WF_CTX_TASK,	 /* waker's own process context (incl. softirq at local_bh_enable) */
	WF_CTX_SOFTIRQ,	 /* softirq on irq exit or in ksoftirqd */
	WF_CTX_HARDIRQ,	 /* hard interrupt (timer, device) */
	WF_CTX_UNKNOWN,	 /* switched in without a wakeup seen (e.g. tracing started mid-block) */
};

/* How the target left the CPU. */
enum wf_switch_kind {
	WF_SWITCH_BLOCKED = 0, /* went to sleep; someone woke it */
	WF_SWITCH_PREEMPTED,   /* still runnable; the scheduler took the CPU */
};

struct wf_task {
	char comm[WF_COMM_LEN];	     /* thread name, e.g. "wrk:worker_0"; "" if unknown */
	char proc_comm[WF_COMM_LEN]; /* process (group leader) name, e.g. "envoy"; "" if unknown */
	int32_t pid;		     /* process id (tgid); -1 if unknown */
	int32_t tid;		     /* thread id; -1 if unknown */
};

/*
 * A stack as frame names, innermost first. For live stacks, kernel frames
 * come first and nkernel counts them; user frames follow. Imported stacks
 * do not say where the boundary is: nkernel is -1 there.
 * Frame strings are interned (intern.h) and live as long as the process.
 */
struct wf_stack {
	const char **frames;
	int nframes;
	int nkernel;
	/*
	 * The GNU build-id of each stripped module whose frames this stack
	 * shows unnamed ("module+0xOFF"): "HEX:module" lines joined by '\n',
	 * sorted, interned; NULL when there is none (or the stack is not a live
	 * one). It tells two builds of one basename apart, and lets the store
	 * name those frames at read time after a restart (symbolize.h,
	 * sym_name_edge_late; docs/agent.md, "Names at read time").
	 */
	const char *builds;
};

/*
 * Cheap facts the live capture records for every event, so that edges whose
 * stacks were not sampled still classify exactly. Each is a "key=value"
 * string (interned), e.g. "waker.syscall=write", "waker.fd=eventfd",
 * "irq.softirq=net_rx", "irq.hrtimer=hrtimer_wakeup", "target.syscall=epoll_wait".
 * The vocabulary is documented in docs/classification.md; the rules file
 * can test any of them.
 */
#define WF_MAX_FACTS 12

struct wf_edge {
	struct wf_task waker;
	struct wf_task target;
	struct wf_task preemptor; /* for preemptions: who took the CPU; pid -1 if unknown */
	enum wf_context context;
	enum wf_switch_kind kind;

	bool count_known; /* false for imported default-format blocks (no count) */
	uint64_t count;	  /* off-CPU intervals aggregated */
	uint64_t offcpu_ns;	/* total time blocked (switch-out to wakeup, or to switch-in if preempted) */
	bool offcpu_unknown;	/* imported block without its value line: offcpu_ns means nothing */
	uint64_t offcpu_max_ns; /* longest single interval */
	bool runq_known;
	uint64_t runq_ns; /* total wakeup-to-running delay */

	struct wf_stack waker_stack;
	struct wf_stack target_stack;
	bool stacks_sampled; /* false when default mode did not walk stacks for this edge */

	const char *facts[WF_MAX_FACTS];
	int nfacts;

	uint64_t first_seen_ns; /* CLOCK_REALTIME ns; 0 if unknown */
	uint64_t last_seen_ns;

	/* Classification results (classify.h). */
	int category;	      /* enum wf_category */
	const char *activity; /* interned activity id, e.g. "envoy.xds"; NULL when none applies */
	int role;	      /* enum wf_role, for the target thread */
};

/* A named counter, e.g. one entry of a report's "lost" object. */
struct wf_counter {
	const char *name;
	uint64_t value;
};

/* A growable list of edges; edge_list_push copies the edge in. */
struct wf_edge_list {
	struct wf_edge *items;
	size_t len;
	size_t cap;
};

void edge_init(struct wf_edge *e);
int edge_list_push(struct wf_edge_list *list, const struct wf_edge *e);
void edge_list_free(struct wf_edge_list *list);
/* Adds a fact (interned); silently ignores facts beyond WF_MAX_FACTS. */
void edge_add_fact(struct wf_edge *e, const char *fact);
/* Marks e's interned strings (frames, facts, activity) during an
 * intern sweep (intern.h). */
void edge_mark_interned(const struct wf_edge *e);
/* Returns the value of fact "key=..." or NULL. */
const char *edge_fact(const struct wf_edge *e, const char *key);

const char *wf_context_name(enum wf_context c);

#endif
