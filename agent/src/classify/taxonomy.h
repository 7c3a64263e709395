/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The taxonomy every stage speaks: wake categories, Envoy activities and
 * target thread roles, with their ids, names and descriptions. Apart from
 * the rules engine (classify.h), which assigns them: the query, series,
 * metrics, report and HTTP code need the lists, not the rules.
 */
#ifndef WAKEFLOW_TAXONOMY_H
#define WAKEFLOW_TAXONOMY_H

#include <stddef.h>

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

#endif
