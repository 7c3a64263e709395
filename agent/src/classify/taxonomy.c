// SPDX-License-Identifier: Apache-2.0
/*
 * The taxonomy (taxonomy.h): the fixed categories and roles and the
 * built-in activities, with the names and sentences /api/v1/categories
 * serves. docs/classification.md describes each; src/shared/ gives them
 * their colours on the Grafana side.
 */
#include "taxonomy.h"

#include <string.h>

static const struct wf_taxon categories[WF_CAT__COUNT] = {
	[WF_CAT_PREEMPT_INVOLUNTARY] = { "preempt.involuntary", "Involuntary preemption", "preempt",
					 "The thread was still runnable when the scheduler took the CPU (time slice or a higher-priority wakeup), at return to user space or on an interrupt." },
	[WF_CAT_PREEMPT_VOLUNTARY] = { "preempt.voluntary", "Voluntary preemption", "preempt",
				       "The thread offered the CPU itself while runnable: cond_resched() inside a long kernel path, or sched_yield()." },
	[WF_CAT_NET_TCP_CONNECT] = { "net.tcp.connect", "TCP connect/accept", "net",
				     "A TCP handshake completed: a new connection is ready to accept, or an outgoing connect finished." },
	[WF_CAT_NET_TCP_DATA] = { "net.tcp.data", "TCP data", "net",
				  "TCP data arrived on a socket the thread waits on (readable)." },
	[WF_CAT_NET_TCP_CLOSE] = { "net.tcp.close", "TCP close", "net",
				   "The peer closed or reset a TCP connection (FIN or RST)." },
	[WF_CAT_NET_TCP_WRITABLE] = { "net.tcp.writable", "TCP writable", "net",
				      "Send-buffer space was freed on a TCP socket (the peer acknowledged data)." },
	[WF_CAT_NET_UNIX] = { "net.unix", "Unix socket", "net",
			      "Activity on a unix domain socket (data, space or close)." },
	[WF_CAT_NET_UDP] = { "net.udp", "UDP", "net", "A UDP datagram arrived." },
	[WF_CAT_NET_OTHER] = { "net.other", "Other network", "net",
			       "Network wakeup of another or unknown protocol (e.g. a softirq seen without stacks)." },
	[WF_CAT_IPC_EVENTFD] = { "ipc.eventfd", "eventfd", "ipc",
				 "Another thread wrote an eventfd (Envoy's dispatcher post and thread-local updates)." },
	[WF_CAT_IPC_FUTEX] = { "ipc.futex", "futex", "ipc",
			       "A futex wake: mutex unlock, condition variable signal, thread exit." },
	[WF_CAT_IPC_PIPE] = { "ipc.pipe", "pipe", "ipc", "A pipe was written or read." },
	[WF_CAT_IPC_SIGNAL] = { "ipc.signal", "signal", "ipc", "A signal was sent to the thread." },
	[WF_CAT_TIMER] = { "timer", "Timer", "timer",
			   "A timeout or timer expired (sleep, epoll/futex timeout, timerfd)." },
	[WF_CAT_IO_BLOCK] = { "io.block", "Block I/O", "io", "A block device request completed." },
	[WF_CAT_OTHER] = { "other", "Other", "other", "No rule matched." },
};

static const char *const role_ids[WF_ROLE__COUNT] = {
	[WF_ROLE_OTHER] = "other",	 [WF_ROLE_WORKER] = "worker",	       [WF_ROLE_MAIN] = "main",
	[WF_ROLE_WATCHDOG] = "watchdog", [WF_ROLE_ACCESS_LOG] = "access_log",
};

static const struct wf_taxon activities[] = {
	{ "envoy.dispatcher_post", "Dispatcher post", "envoy",
	  "One Envoy thread posted a callback to another's dispatcher (eventfd)." },
	{ "envoy.stats_flush", "Stats flush", "envoy",
	  "The main thread's periodic stats flush merging histograms on every worker." },
	{ "envoy.date_refresh", "Date refresh", "envoy",
	  "The main thread pushing the cached Date header to every worker." },
	{ "envoy.access_log_flush", "Access log flush", "envoy",
	  "The access-log flusher thread being signalled or timing out to write logs." },
	{ "envoy.watchdog", "Watchdog", "envoy", "Envoy's GuardDog threads checking for stuck workers." },
	{ "envoy.xds", "xDS", "envoy", "Configuration pushed by pilot-agent / the xDS server." },
	{ "envoy.dns", "DNS", "envoy", "A DNS answer for Envoy's resolver." },
};

const struct wf_taxon *wf_category(int category)
{
	if (category < 0 || category >= WF_CAT__COUNT)
		return NULL;
	return &categories[category];
}

int wf_category_from_id(const char *id)
{
	for (int i = 0; i < WF_CAT__COUNT; i++) {
		if (!strcmp(categories[i].id, id))
			return i;
	}
	return -1;
}

const char *wf_role_id(int role)
{
	if (role < 0 || role >= WF_ROLE__COUNT)
		return role_ids[WF_ROLE_OTHER];
	return role_ids[role];
}

int wf_role_from_id(const char *id)
{
	for (int i = 0; i < WF_ROLE__COUNT; i++) {
		if (!strcmp(role_ids[i], id))
			return i;
	}
	return -1;
}

size_t wf_activity_count(void)
{
	return sizeof(activities) / sizeof(activities[0]);
}

const struct wf_taxon *wf_activity(size_t i)
{
	return i < wf_activity_count() ? &activities[i] : NULL;
}
