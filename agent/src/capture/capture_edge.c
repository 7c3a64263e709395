// SPDX-License-Identifier: Apache-2.0
/*
 * One kernel edge (wakeflow.h's key and value) as the agent's wake edge
 * (edge.h): both stacks symbolized, the waker or preemptor named, the cheap
 * facts as "key=value" strings (docs/classification.md). See capture_int.h.
 */
#include "capture_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize.h"
#include "syscalls.h"

/*
 * wakeflow.h numbers what the kernel side records the way the user side's
 * enums do, so a value from a map is used as the enum as it is: the two
 * must agree.
 */
_Static_assert(WF_BPF_CTX_NONE == WF_CTX_NONE, "wake context NONE: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_CTX_TASK == WF_CTX_TASK, "wake context TASK: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_CTX_SOFTIRQ == WF_CTX_SOFTIRQ, "wake context SOFTIRQ: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_CTX_HARDIRQ == WF_CTX_HARDIRQ, "wake context HARDIRQ: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_CTX_UNKNOWN == WF_CTX_UNKNOWN, "wake context UNKNOWN: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_KIND_BLOCKED == WF_SWITCH_BLOCKED, "switch kind BLOCKED: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_KIND_PREEMPTED == WF_SWITCH_PREEMPTED, "switch kind PREEMPTED: wakeflow.h and edge.h differ");

/* Leading kernel frames that belong to the tracing machinery, not to the
 * traced code path. */
static bool glue_frame(const char *name)
{
	static const char *const prefixes[] = { "bpf_", "__bpf_", "__traceiter_", "__probestub_", "trace_call_bpf",
						"perf_trace_", "bpf_trace_run" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	}
	return false;
}

/* Kernel frames (glue trimmed) then user frames; innermost first. */
static void build_stack(struct wf_capture *c, struct wf_stack *out, uint64_t kid, uint64_t uid, int32_t pid)
{
	const struct raw_stack *k = kid ? capture_stack_get(c, kid) : NULL;
	const struct raw_stack *u = uid ? capture_stack_get(c, uid) : NULL;
	size_t max = (k ? k->nr : 0) + (u ? u->nr : 0);
	bool leading = true;
	int n = 0;

	out->frames = NULL;
	out->nframes = 0;
	out->nkernel = 0;
	out->builds = NULL;
	if ((kid && !k) || (uid && !u))
		c->symbolize_failures++;
	if (!max)
		return;
	out->frames = malloc(max * sizeof(*out->frames));
	if (!out->frames)
		return;
	for (uint32_t i = 0; k && i < k->nr; i++) {
		const char *name = sym_kernel(c->sym, k->ip[i]);

		if (!name) {
			c->symbolize_failures++;
			continue;
		}
		if (leading && glue_frame(name))
			continue;
		leading = false;
		out->frames[n++] = name;
	}
	out->nkernel = n;
	sym_stack_begin(c->sym);
	for (uint32_t i = 0; u && i < u->nr; i++) {
		const char *name;

		if (!u->ip[i])
			continue;
		name = sym_user(c->sym, pid, u->ip[i]);
		if (!name) {
			c->symbolize_failures++;
			continue;
		}
		/* A return address in heap or stack memory means the frame-pointer
		 * walk went astray (code without frame pointers): stop there. */
		if (!strncmp(name, "[heap]", 6) || !strncmp(name, "[stack]", 7))
			break;
		out->frames[n++] = name;
	}
	out->nframes = n;
	/* Which builds the unnamed frames are of: the store keeps them, so
	 * they are named at read time once a symbol file exists, even after
	 * a restart. */
	out->builds = sym_stack_builds(c->sym);
}

static void add_fact(struct wf_edge *e, const char *key, const char *value)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "%s=%s", key, value);
	edge_add_fact(e, buf);
}

static const char *const tstate_names[] = { "runnable", "sleeping", "uninterruptible" };
static const char *const resched_names[] = { NULL, "cond_resched", "user_return", "irq", "yield" };
static const char *const fd_names[] = { NULL,	    "eventfd",	"pipe", "tcp",	"udp",	"unix",
					"socket", "timerfd", "signalfd", "file", "other" };
/* include/linux/interrupt.h, enum softirq order */
static const char *const softirq_names[] = { "hi",	"timer",   "net_tx", "net_rx", "block",
					     "irq_poll", "tasklet", "sched",  "hrtimer", "rcu" };

#define NAME_AT(arr, i) ((size_t)(i) < sizeof(arr) / sizeof((arr)[0]) ? (arr)[i] : NULL)
/* One name per value wakeflow.h defines (a new value needs its fact name). */
_Static_assert(sizeof(tstate_names) / sizeof(tstate_names[0]) == WF_TSTATE_UNINTERRUPTIBLE + 1, "a WF_TSTATE_* has no name");
_Static_assert(sizeof(resched_names) / sizeof(resched_names[0]) == WF_RESCHED_YIELD + 1, "a WF_RESCHED_* has no name");
_Static_assert(sizeof(fd_names) / sizeof(fd_names[0]) == WF_FD_OTHER + 1, "a WF_FD_* has no name");

static void add_facts(struct wf_capture *c, struct wf_edge *e, const struct wf_edge_key *k)
{
	char buf[32];
	const char *s;

	if ((s = NAME_AT(tstate_names, k->tstate)))
		add_fact(e, "target.state", s);
	add_fact(e, "target.preempt", (k->flags & WF_EF_PREEMPT) ? "1" : "0");
	if (k->kind == WF_BPF_KIND_PREEMPTED && (s = NAME_AT(resched_names, k->resched)))
		add_fact(e, "target.resched", s);
	if (k->tsyscall >= 0)
		add_fact(e, "target.syscall", syscall_name(k->tsyscall, buf, sizeof(buf)));
	if (k->kind != WF_BPF_KIND_BLOCKED || k->ctx == WF_BPF_CTX_UNKNOWN)
		return;
	if (k->wsyscall >= 0)
		add_fact(e, "waker.syscall", syscall_name(k->wsyscall, buf, sizeof(buf)));
	if ((s = NAME_AT(fd_names, k->wfd)))
		add_fact(e, "waker.fd", s);
	if (k->irq == WF_IRQ_HARDIRQ)
		add_fact(e, "irq", "hardirq");
	else if (k->irq == WF_IRQ_SOFTIRQ)
		add_fact(e, "irq", "softirq");
	if (k->irq == WF_IRQ_SOFTIRQ && (s = NAME_AT(softirq_names, k->softirq)))
		add_fact(e, "irq.softirq", s);
	if (k->timer_fn && (s = sym_kernel(c->sym, k->timer_fn)))
		add_fact(e, "irq.timer", s);
}

/* The waker of an interrupt-context wakeup is the interrupt: "[timer]" for a
 * timer callback in a hard interrupt, "[net-rx]" for that softirq, else
 * "[hardirq]"/"[softirq]". */
static void interrupt_waker(const struct wf_edge_key *k, char comm[WF_COMM_LEN])
{
	const char *s = k->irq == WF_IRQ_SOFTIRQ ? NAME_AT(softirq_names, k->softirq) : NULL;
	char *p;

	if (k->ctx == WF_BPF_CTX_HARDIRQ)
		s = k->timer_fn ? "timer" : "hardirq";
	snprintf(comm, WF_COMM_LEN, "[%s]", s ? s : "softirq");
	for (p = comm; *p; p++)
		if (*p == '_')
			*p = '-';
}

void capture_build_edge(struct wf_capture *c, const struct wf_edge_key *k, const struct wf_edge_val *v,
			int64_t boot_to_real, struct wf_edge *e)
{
	bool keyed = c->stacks_full || (k->flags & WF_EF_LONG);
	uint64_t wk = keyed ? k->wkstack : v->wkstack, wu = keyed ? k->wustack : v->wustack;
	uint64_t tk = keyed ? k->tkstack : v->tkstack, tu = keyed ? k->tustack : v->tustack;

	edge_init(e);
	copy_comm(e->target.comm, k->tcomm);
	copy_comm(e->target.proc_comm, k->tpcomm);
	e->target.pid = (int32_t)k->tpid;
	e->target.tid = (int32_t)k->ttid;
	e->context = (enum wf_context)k->ctx;
	e->kind = k->kind == WF_BPF_KIND_PREEMPTED ? WF_SWITCH_PREEMPTED : WF_SWITCH_BLOCKED;
	if (e->kind == WF_SWITCH_PREEMPTED) {
		e->context = WF_CTX_NONE;
		copy_comm(e->preemptor.comm, k->wcomm);
		copy_comm(e->preemptor.proc_comm, k->wpcomm);
		e->preemptor.pid = (int32_t)k->wpid;
		e->preemptor.tid = (int32_t)k->wtid;
	} else if (k->ctx == WF_BPF_CTX_HARDIRQ || k->ctx == WF_BPF_CTX_SOFTIRQ) {
		interrupt_waker(k, e->waker.comm);
	} else if (k->ctx != WF_BPF_CTX_UNKNOWN) {
		copy_comm(e->waker.comm, k->wcomm);
		copy_comm(e->waker.proc_comm, k->wpcomm);
		e->waker.pid = (int32_t)k->wpid;
		e->waker.tid = (int32_t)k->wtid;
	}
	e->count_known = true;
	e->count = v->count;
	e->offcpu_ns = v->offcpu_ns;
	e->offcpu_max_ns = v->offcpu_max_ns;
	e->runq_known = v->runq_count > 0;
	e->runq_ns = v->runq_ns;
	build_stack(c, &e->waker_stack, wk, wu, (int32_t)k->wpid);
	build_stack(c, &e->target_stack, tk, tu, (int32_t)k->tpid);
	e->stacks_sampled = tk || wk;
	add_facts(c, e, k);
	if (v->first_ns)
		e->first_seen_ns = (uint64_t)((int64_t)v->first_ns + boot_to_real);
	if (v->last_ns)
		e->last_seen_ns = (uint64_t)((int64_t)v->last_ns + boot_to_real);
}
