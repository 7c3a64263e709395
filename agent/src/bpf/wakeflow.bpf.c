// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel side of the live capture: for every off-CPU interval of a target
 * thread, who woke it (or who took its CPU), from which context, how long it
 * was blocked and how long it then waited for a CPU; aggregated in a hash of
 * edges that user space drains with batch operations.
 *
 * Life of one interval, per target thread (state keyed by tid, globally:
 * threads migrate between CPUs):
 *   sched_switch, target is prev  -> note time, state, syscall, user stack;
 *                                    for preemptions the edge is known here
 *   sched_waking, target is p     -> the waker is current: its identity,
 *                                    context and cheap facts; stacks when
 *                                    sampled or when the block was long
 *                                    (a wakeup can also arrive just before
 *                                    the switch-out: see claim_early_wakeup)
 *   sched_switch, target is next  -> add the interval to its edge
 *
 * Stack policy (see docs/performance.md): --stacks full walks every stack and
 * makes the stack ids part of the edge key, like offwaketime. The default
 * counts every interval exactly by its facts and walks stacks only for the
 * first interval of an edge, then at most once per sample period per edge,
 * and always for blocks longer than long_block_ns (which get edges of their
 * own, keyed by stacks, so they are never folded away). User stacks are
 * memoized by (thread, registers, frame link) in both modes.
 *
 * Where the parts are: this file holds the settings, the maps of threads
 * and edges, the interval's state machine (switch_out, handle_waking,
 * switch_in) and the programs. Beside it:
 *   task.bpf.h            task fields; the current task's syscall and fd kind
 *   edge_memo.bpf.h       adding an interval to its edge; the last edge's memo
 *   targets.bpf.h         which processes are traced; exec, fork and exit
 *   stacks.bpf.h          stack walks and the stack map (orc_unwind.bpf.h)
 *   irq_state.bpf.h       per-CPU interrupt state, the wake context
 *   softirq_origin.bpf.h  an experiment's histogram (off in captures)
 *   core_fixes.bpf.h      kernel-version differences
 *   wakeflow.h            map keys and values, shared with user space
 */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "core_fixes.bpf.h"
#include "wakeflow.h"

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0
#define TASK_INTERRUPTIBLE 0x1
#define TASK_UNINTERRUPTIBLE 0x2
#define PF_EXITING 0x00000004

/* Settings, fixed before load (the verifier prunes disabled branches). */
const volatile bool stacks_full = false;
const volatile bool exec_events_all = false; /* --comm given: report every exec */
const volatile __u64 long_block_ns = 10000000ULL;
const volatile __u64 sample_period_ns = 1000000000ULL;
const volatile __u64 ksym_start[WF_KSYM__COUNT] = {};
const volatile __u64 ksym_end[WF_KSYM__COUNT] = {};
/* Bit n set: syscall n takes a file descriptor as its first argument. */
const volatile __u64 fd_syscalls[8] = {};
const volatile int nr_sched_yield = 24;
/* sched_switch passes prev_state (5.18+); older kernels: read the task. */
const volatile bool switch_has_prev_state = true;
/* A softirq starting this soon after a hard irq handler returned runs on irq exit. */
const volatile __u64 irq_exit_window_ns = 2000;
/* Experiment switch (bench only): record how softirqs start, see debug_origin. */
const volatile bool debug_softirq_origin = false;
/* Set before load (WAKEFLOW_ORC_CHECK=all): compare every ORC walk with the
 * kernel's, not only the sampled ones (stacks.bpf.h). For tests. */
const volatile bool orc_check_all = false;

/*
 * Per target thread: the interval in progress and running totals, looked
 * up on every switch and wakeup of a target (targets.bpf.h, thread_state).
 * Direct-mapped by tid: slot tid & thread_slot_mask, an array lookup the
 * verifier inlines (a hash lookup is a helper call and a hash of the key:
 * ~10 ns each, six per ping-pong round trip). A thread whose slot another
 * thread holds goes to the threads hash, sized for every thread on its own
 * so that collisions never drop state. User space sizes the array from
 * its thread limit and pid_max (capture_attach.c) and reads it mmapped. The
 * sizes of these, edges, totals and the stack maps are placeholders: user
 * space sets them from its flags before load.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct wf_thread);
} thread_slots SEC(".maps");
const volatile __u32 thread_slot_mask = 4095; /* max_entries - 1: a power of two */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct wf_thread);
} threads SEC(".maps");

/* The aggregates user space drains: intervals summed per edge. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct wf_edge_key);
	__type(value, struct wf_edge_val);
} edges SEC(".maps");

/* Final totals of threads that exited since the last drain (handle_exit). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct wf_totals_key);
	__type(value, struct wf_totals_val);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WF_STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static const struct wf_thread zero_thread;
static const struct wf_edge_val zero_edge;

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1; /* per-CPU: no atomics needed */
}

/* Whether ip (a frame or a function pointer) lies in kernel function sym. */
static __always_inline bool in_range(__u64 ip, int sym)
{
	if (sym < 0 || sym >= WF_KSYM__COUNT)
		return false;
	return ip >= ksym_start[sym] && ip < ksym_end[sym];
}

/* Whether two edge keys are equal (compared a word at a time). */
static __always_inline bool same_key(const struct wf_edge_key *a, const struct wf_edge_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	for (int i = 0; i < (int)(sizeof(*a) / sizeof(__u64)); i++) {
		if (x[i] != y[i])
			return false;
	}
	return true;
}

/* The parts, each relying only on what is above it. */
#include "task.bpf.h"
#include "edge_memo.bpf.h"
#include "targets.bpf.h"
#include "stacks.bpf.h"
#include "softirq_origin.bpf.h"
#include "irq_state.bpf.h"
#include "chains.bpf.h"

/* Why a runnable task left the CPU, from the sched_switch arguments and,
 * for preempt=1, the frames just above __schedule. */
static __always_inline __u8 resched_reason(void *ctx, bool preempt, int syscall)
{
	struct wf_stack_val *st = NULL;

	if (!preempt)
		return syscall == nr_sched_yield ? WF_RESCHED_YIELD : WF_RESCHED_USER_RETURN;
	if (!walk_stack(ctx, NULL, false, 0, WF_SHALLOW_DEPTH, &st) || !st)
		return WF_RESCHED_IRQ;
	for (int i = 0; i < WF_SHALLOW_DEPTH; i++) {
		__u64 ip = st->ip[i];

		if (i >= st->nr)
			break;
		if (in_range(ip, WF_KSYM_COND_RESCHED))
			return WF_RESCHED_COND;
		if (in_range(ip, WF_KSYM_PREEMPT_SCHEDULE_IRQ) || in_range(ip, WF_KSYM_PREEMPT_SCHEDULE) ||
		    in_range(ip, WF_KSYM_PREEMPT_SCHEDULE_NOTRACE))
			return WF_RESCHED_IRQ;
	}
	return WF_RESCHED_IRQ;
}

/* Walk this interval's stacks? Yes for the first interval of an edge and
 * then once per sample period. A thread usually meets the edge of its
 * previous interval again: that case needs no edge lookup. */
static __always_inline bool sample_due(struct wf_thread *th, struct wf_edge_key *key, __u64 now)
{
	struct wf_edge_val *v;
	__u64 last;

	if (th->last_sample_ns && same_key(key, last_key(th))) {
		last = th->last_sample_ns;
	} else {
		v = bpf_map_lookup_elem(&edges, key);
		last = v ? v->last_sample_ns : 0;
	}
	return !last || now - last >= sample_period_ns;
}

#define WAKER_PART_OFF __builtin_offsetof(struct wf_edge_key, wpid)
/* An early wakeup older than this at the switch-out is not its (a safety
 * net: an early wakeup that ends the interval is microseconds from it). */
#define EARLY_WAKE_MAX_NS 10000000ULL

#define WAKER_PART_LEN (sizeof(struct wf_edge_key) - WAKER_PART_OFF)

/*
 * An early wakeup (see edge_waking) came while the target was still on its
 * CPU by our account: either it ends the interval the target's switch-out
 * was about to begin, or it cancelled the sleep (the target never blocked).
 * The switch-in that ends the interval (switch_out to ts_out, here to now)
 * tells which, with no race left: a blocked task is woken exactly once
 * (until it runs again no other wakeup matches its state), so a waking seen
 * after the switch-out (th->woken) proves the early one stale, and without
 * one the early wakeup is the one that ended this block. Its program has
 * finished by then: sched_waking runs before try_to_wake_up queues the task.
 * (Settled in sched_wakeup before, one program run more for every wakeup of
 * every task: docs/performance.md, "What untraced tasks pay".)
 */
static __always_inline void claim_early_wakeup(struct wf_thread *th, __u64 out, __u64 now)
{
	__u64 early = th->early_ts, wake;

	/* (Clocks of two CPUs: the waker's stamp may be the later one.) */
	if (!early || th->woken || th->key.kind != WF_BPF_KIND_BLOCKED || (out > early && out - early > EARLY_WAKE_MAX_NS))
		return;
	__builtin_memcpy((char *)&th->key + WAKER_PART_OFF, (char *)&th->early + WAKER_PART_OFF, WAKER_PART_LEN);
	wake = early > out ? early : out; /* woken before, or as, it left: no blocked time */
	th->ts_wake = wake < now ? wake : now;
	th->woken = 1;
}


/* The target part of the key, common to blocks and preemptions: who left
 * the CPU, from which syscall and user stack; clears the last interval's
 * wakeup and samples. Returns the syscall (or -1). */
static __always_inline int note_target(void *ctx, struct wf_thread *th, struct task_struct *prev, __u32 tgid,
				       __u32 tid, bool preempt)
{
	struct wf_edge_key *k = &th->key;
	struct pt_regs *regs;
	int sc;

	__builtin_memset(k, 0, sizeof(*k));
	k->tpid = tgid;
	k->ttid = tid;
	k->tpstart = th->pstart;
	task_comms(prev, true, k->tcomm, k->tpcomm);
	__builtin_memcpy(th->tot.comm, k->tcomm, sizeof(k->tcomm)); /* names change (pthread_setname_np) */
	__builtin_memcpy(th->tot.pcomm, k->tpcomm, sizeof(k->tpcomm));
	regs = current_regs(prev);
	sc = current_syscall(regs, NULL);
	k->tsyscall = sc;
	if (preempt)
		k->flags |= WF_EF_PREEMPT;
	th->ts_wake = 0;
	th->woken = 0;
	th->sampled = 0;
	th->s_wk = th->s_wu = th->s_tk = th->s_tu = 0;
	th->tu_id = current_user_stack(ctx, regs, tgid, tid, th);
	return sc;
}

/* A runnable target leaves the CPU: the edge is complete now, with the
 * task that takes the CPU in the waker's place. */
static __always_inline void note_preemption(void *ctx, struct wf_thread *th, struct task_struct *next, bool preempt,
					    int sc, __u64 now, bool btf)
{
	struct wf_edge_key *k = &th->key;

	k->kind = WF_BPF_KIND_PREEMPTED;
	k->tstate = WF_TSTATE_RUNNABLE;
	k->ctx = WF_BPF_CTX_NONE;
	k->wsyscall = -1;
	k->softirq = WF_SOFTIRQ_NONE;
	k->resched = resched_reason(ctx, preempt, sc);
	/* The preemptor stands in the waker's place. */
	k->wpid = task_tgid(next, btf);
	k->wtid = task_tid(next, btf);
	if (k->wtid)
		k->wpstart = task_pstart(next, btf);
	task_comms(next, btf, k->wcomm, k->wpcomm);
	if (stacks_full) {
		if (!btf) /* else walked when it switches in: see switch_in */
			k->tkstack = walk_stack(ctx, NULL, false, 0, WF_MAX_STACK_DEPTH, NULL);
		k->tustack = th->tu_id;
	} else if (sample_due(th, k, now)) {
		th->s_tk = walk_stack(ctx, NULL, false, 0, WF_MAX_STACK_DEPTH, NULL);
		th->s_tu = th->tu_id;
		th->sampled = 1;
	}
	th->ts_out = now; /* no wakeup comes for a runnable task: no ordering needed */
}

/* prev (== current) leaves the CPU. */
static __always_inline void switch_out(void *ctx, bool preempt, struct task_struct *prev_arg,
				       struct task_struct *next, __u64 state, __u64 *nowp, bool btf)
{
	/* tp_btf's argument is a BTF pointer already (no helper call: every
	 * task on the node pays this path); raw_tp's is a bare address, and
	 * the helper gives the current task's BTF pointer. */
	struct task_struct *prev = btf ? prev_arg : bpf_get_current_task_btf();
	__u32 tgid = prev->tgid, tid = prev->pid;
	struct wf_thread *th;
	struct wf_edge_key *k;
	bool runnable;
	__u64 now;
	int sc;

	if (prev->flags & PF_EXITING)
		return; /* its last switch: the exit handler dropped its state */
	th = target_thread(prev, tgid, tid, true, true);
	if (!th)
		return;
	runnable = preempt || (state & 0xff) == TASK_RUNNING;
	if (!*nowp)
		*nowp = bpf_ktime_get_boot_ns();
	now = *nowp;

	if (th->ts_in)
		th->tot.oncpu_ns += now - th->ts_in; /* only this thread's own switches write tot */
	th->tot.switches++;
	if (runnable)
		th->tot.involuntary++;

	if (runnable)
		th->early_ts = 0;
	sc = note_target(ctx, th, prev, tgid, tid, preempt);
	if (runnable) {
		note_preemption(ctx, th, next, preempt, sc, now, btf);
		return;
	}
	k = &th->key;
	k->kind = WF_BPF_KIND_BLOCKED;
	k->tstate = (state & TASK_UNINTERRUPTIBLE) ? WF_TSTATE_UNINTERRUPTIBLE : WF_TSTATE_SLEEPING;
	k->ctx = WF_BPF_CTX_UNKNOWN; /* until a wakeup is seen */
	k->wsyscall = -1;
	k->softirq = WF_SOFTIRQ_NONE;
	if (stacks_full) {
		if (!btf)
			k->tkstack = walk_stack(ctx, NULL, false, 0, WF_MAX_STACK_DEPTH, NULL);
		k->tustack = th->tu_id;
	}
	/* The key is complete: a waker on another CPU may use it from here
	 * (before, it takes the early path: see edge_waking). */
	barrier_var(k);
	th->ts_out = now;
}

/* next comes back on the CPU: its interval ends. */
static __always_inline void switch_in(void *ctx, struct task_struct *next, __u64 *nowp, bool btf)
{
	__u32 tgid = task_tgid(next, btf), tid = task_tid(next, btf);
	struct wf_thread *th;
	struct wf_edge_key *k;
	__u64 offcpu, runq = 0, ts_out, now;
	bool runq_known = false, woken = false;

	th = target_thread(next, tgid, tid, btf, true);
	if (!th)
		return;
	if (!*nowp)
		*nowp = bpf_ktime_get_boot_ns();
	now = *nowp;
	ts_out = th->ts_out;
	th->ts_in = now;
	th->ts_out = 0;
	if (ts_out && ts_out <= now)
		claim_early_wakeup(th, ts_out, now);
	th->early_ts = 0; /* used, stale, or of a sleep that was cancelled */
	if (!th->tot.comm[0])
		task_comms(next, btf, th->tot.comm, th->tot.pcomm);
	if (!ts_out || ts_out > now)
		return; /* first sight of this thread: no interval to close */
	k = &th->key;

	if (k->kind == WF_BPF_KIND_PREEMPTED) {
		offcpu = now - ts_out;
		runq = offcpu; /* runnable throughout: all of it was run-queue wait */
		runq_known = true;
	} else if (th->woken && th->ts_wake >= ts_out && th->ts_wake <= now) {
		offcpu = th->ts_wake - ts_out;
		runq = now - th->ts_wake;
		runq_known = true;
		woken = true;
	} else {
		/* Switched in without a wakeup we saw (tracing began mid-block). */
		offcpu = now - ts_out;
		__builtin_memset((char *)k + WAKER_PART_OFF, 0, WAKER_PART_LEN);
		k->ctx = WF_BPF_CTX_UNKNOWN;
		k->wsyscall = -1;
		k->softirq = WF_SOFTIRQ_NONE;
		stat_inc(WF_STAT_WAKEUPS_UNSEEN);
		if (!stacks_full && btf && sample_due(th, k, now)) {
			th->s_tk = walk_sleeping_kstack(ctx, next);
			th->s_tu = th->tu_id;
			th->sampled = 1;
		}
	}

	/* --stacks full: the target's kernel stack is the one it left the CPU
	 * with, untouched since (it has not run). Walked here from its saved
	 * switch frame rather than at the switch-out from inside this program,
	 * the walk skips the BPF and tracepoint frames above __schedule (build_stack
	 * trims them anyway), which the unwinder finds dear to step through
	 * (JIT code has no ORC data). tp_btf only: bpf_get_task_stack needs a BTF
	 * task pointer; the raw_tp fallback walked at the switch-out. */
	if (stacks_full && btf)
		k->tkstack = walk_sleeping_kstack(ctx, next);

	add_interval(th, k, offcpu, runq, runq_known, now);
	if (chains_on(btf) && woken)
		chain_interval(th, next, k, offcpu, runq, runq_known, now, btf);
	stat_inc(WF_STAT_EVENTS);

	if (k->kind == WF_BPF_KIND_PREEMPTED) {
		th->tot.preempted_ns += offcpu;
	} else {
		th->tot.blocked_ns += offcpu;
		if (runq_known)
			th->tot.runq_ns += runq;
	}
	th->woken = 0;
	th->sampled = 0;
}

static __always_inline int handle_switch(void *ctx, bool preempt, struct task_struct *prev,
					 struct task_struct *next, __u64 prev_state, bool btf)
{
	__u64 now = 0; /* read once, and only for targets */

	irq_state_heal();
	switch_out(ctx, preempt, prev, next, switch_has_prev_state ? prev_state : get_task_state(prev), &now, btf);
	switch_in(ctx, next, &now, btf);
	return 0;
}

/*
 * The waker part of the key from the current task (cur, thread wtid of
 * process wtgid): its identity, the wake context (irq_state.bpf.h) and, in
 * task context, its syscall and the kind of file it acts on. Returns the
 * waker's user registers, NULL unless the task itself is the waker.
 */
static __always_inline struct pt_regs *note_waker(struct wf_edge_key *k, struct task_struct *cur, __u32 wtgid,
						  __u32 wtid)
{
	struct pt_regs *regs;
	__u64 arg0 = 0;
	bool in_task;
	int sc;

	k->wpid = wtgid;
	k->wtid = wtid;
	k->wpstart = wtid ? task_pstart(cur, true) : 0;
	task_comms(cur, true, k->wcomm, k->wpcomm);
	k->timer_fn = 0;
	k->wkstack = k->wustack = 0;
	k->wsyscall = -1;
	k->wfd = WF_FD_NONE;
	k->irq = WF_IRQ_NONE;
	k->softirq = WF_SOFTIRQ_NONE;

	in_task = waker_context(k, wtid);
	/* An interrupt wakes on behalf of no task: the task it happened to
	 * land on is not the waker, and keying by it multiplied one timer's
	 * edges by every task it interrupted (measured: 24,677 waker threads
	 * in 17 minutes, most of them the daemon's own HTTP threads). The
	 * interrupt is the waker; user space names it from its facts. */
	if (k->ctx != WF_BPF_CTX_TASK) {
		k->wpid = k->wtid = 0;
		k->wpstart = 0;
		__builtin_memset(k->wcomm, 0, sizeof(k->wcomm));
		__builtin_memset(k->wpcomm, 0, sizeof(k->wpcomm));
	}
	regs = in_task ? current_regs(cur) : NULL;
	if (regs) {
		sc = current_syscall(regs, &arg0);
		k->wsyscall = sc;
		if (fd_syscall(sc))
			k->wfd = current_fd_kind(arg0);
	}
	return regs;
}

/*
 * current (cur: thread wtid of process wtgid) wakes target p: the waker
 * part of p's edge. Returns the key it filled (NULL if p is no target
 * waiting for a wakeup), in *regsp the waker's user registers and in *nowp
 * the time it read (left 0 if it read none).
 */
static __always_inline struct wf_edge_key *edge_waking(void *ctx, struct wf_thread *th, struct task_struct *p,
						       struct task_struct *cur, __u32 wtgid, __u32 wtid, bool btf,
						       struct pt_regs **regsp, __u64 *nowp)
{
	struct pt_regs *regs;
	struct wf_edge_key *k;
	bool sample, early = false;
	__u64 now;

	if (!th || th->woken)
		return NULL;
	if (!th->ts_out) {
		/* Still on the CPU by our account, yet already in a sleeping
		 * state (or no wakeup would be traced): either it is between
		 * that and its switch-out, and this wakeup ends the interval
		 * that is about to start, or the wakeup cancels the sleep.
		 * The switch-in tells which (claim_early_wakeup). Whether the
		 * thread is still queued cannot tell it here: the thread may
		 * dequeue itself while this handler runs, before try_to_wake_up
		 * looks (measured: 0.5% of haproxy's intervals lost their waker). */
		early = true;
	} else if (th->key.kind != WF_BPF_KIND_BLOCKED) {
		return NULL;
	}
	now = *nowp = bpf_ktime_get_boot_ns();
	/* An early wakeup is kept apart: the switch-out rewrites the key, and
	 * may run concurrently on the target's CPU. */
	k = early ? &th->early : &th->key;
	regs = note_waker(k, cur, wtgid, wtid);
	*regsp = regs;

	__sync_fetch_and_add(&th->tot.wakeups, 1); /* wakers run on any CPU */

	if (stacks_full) {
		k->wkstack = btf ? walk_waker_kstack(ctx, cur) : walk_stack(ctx, NULL, false, 0, WF_MAX_STACK_DEPTH, NULL);
		k->wustack = current_user_stack(ctx, regs, wtgid, wtid, NULL);
	}
	if (early) {
		/* Default mode leaves this rare race unsampled: the rest of the
		 * key is only known at the switch-out. */
		barrier_var(k);
		th->early_ts = now;
		return k;
	}
	th->early_ts = 0;
	th->woken = 1;
	th->ts_wake = now;
	if (stacks_full)
		return k;
	sample = now - th->ts_out >= long_block_ns;
	if (sample)
		k->flags |= WF_EF_LONG;
	else
		sample = sample_due(th, k, now);
	if (!sample)
		return k;
	th->s_wk = btf ? walk_waker_kstack(ctx, cur) : walk_stack(ctx, NULL, false, 0, WF_MAX_STACK_DEPTH, NULL);
	th->s_wu = current_user_stack(ctx, regs, wtgid, wtid, NULL);
	if (btf)
		th->s_tk = walk_sleeping_kstack(ctx, p);
	th->s_tu = th->tu_id;
	th->sampled = 1;
	if (k->flags & WF_EF_LONG) {
		k->wkstack = th->s_wk;
		k->wustack = th->s_wu;
		k->tkstack = th->s_tk;
		k->tustack = th->s_tu;
	}
	return k;
}

/* Room for the waker part of a wakeup no edge records (chain_waking). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_edge_key);
} chain_waker SEC(".maps");

/* current wakes p (sched_waking runs in the waker's context): p's edge if p
 * is a target, p's cause if it is in the chain scope. */
static __always_inline int handle_waking(void *ctx, struct task_struct *p, bool btf)
{
	__u32 tgid = task_tgid(p, btf), tid = task_tid(p, btf), wtgid, wtid, zero = 0;
	struct pt_regs *regs = NULL;
	struct task_struct *cur;
	struct wf_edge_key *k;
	struct wf_thread *th;
	__u64 now = 0;

	th = target_thread(p, tgid, tid, btf, false);
	/* Most wakeups are of tasks neither traced nor in the chain scope:
	 * they leave before the helper call for the waker. */
	if (!th && !(chains_on(btf) && in_scope(tgid, btf)))
		return 0;
	cur = bpf_get_current_task_btf();
	wtgid = cur->tgid;
	wtid = cur->pid;
	k = edge_waking(ctx, th, p, cur, wtgid, wtid, btf, &regs, &now);
	if (!chains_on(btf))
		return 0;
	if (!k) {
		k = bpf_map_lookup_elem(&chain_waker, &zero);
		if (!k)
			return 0;
		regs = note_waker(k, cur, wtgid, wtid);
	}
	chain_waking(ctx, p, tgid, th, cur, wtgid, wtid, k, regs, now, btf);
	return 0;
}

/*
 * Copies kernel memory out for user space, which reads the kernel's unwind
 * table with it (orc.c). Never attached: run with BPF_PROG_TEST_RUN, args
 * (address, length).
 */
char kread_buf[4096] = {};

SEC("raw_tp")
int util_read_kernel(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 src = ctx->args[0], len = ctx->args[1];

	if (len > sizeof(kread_buf))
		return 1;
	return bpf_probe_read_kernel(kread_buf, len, (void *)src) ? 1 : 0;
}

/*
 * Moves every thread's memo of the epoch before into the edges map
 * (edge_memo.bpf.h). Never attached: user space runs it with
 * BPF_PROG_TEST_RUN at each drain, once no program can still be writing
 * those memos.
 */
SEC("raw_tp")
int util_drain_memos(struct bpf_raw_tracepoint_args *ctx)
{
	(void)ctx;
	bpf_for_each_map_elem(&thread_slots, drain_memo_of, NULL, 0);
	bpf_for_each_map_elem(&threads, drain_memo_of, NULL, 0);
	return 0;
}

/*
 * A tracepoint's tp_btf program and its raw_tp twin (the fallback where the
 * kernel lacks tp_btf: capture_attach.c), one body for both: `btf` tells
 * the body which of the two runs. Names are tp_<tracepoint> and
 * raw_<tracepoint>, as user space looks them up.
 */
#define TWINS(tp, body, ...)                    \
	SEC("tp_btf/" #tp)                      \
	int BPF_PROG(tp_##tp, __VA_ARGS__)      \
	{                                       \
		const bool btf = true;          \
		(void)btf;                      \
		body                            \
	}                                       \
	SEC("raw_tp/" #tp)                      \
	int BPF_PROG(raw_##tp, __VA_ARGS__)     \
	{                                       \
		const bool btf = false;         \
		(void)btf;                      \
		body                            \
	}

/* ctx[3], prev_state, is read only where the kernel passes it. */
TWINS(sched_switch, return handle_switch(ctx, preempt, prev, next, switch_has_prev_state ? ctx[3] : 0, btf);,
      bool preempt, struct task_struct *prev, struct task_struct *next)
TWINS(sched_waking, return handle_waking(ctx, p, btf);, struct task_struct *p)
TWINS(sched_process_exec, return handle_exec(p);, struct task_struct *p)
TWINS(sched_process_fork, chain_fork(parent, child); return handle_fork(parent, child);,
      struct task_struct *parent, struct task_struct *child)
TWINS(sched_process_exit, return handle_exit(p);, struct task_struct *p)
TWINS(softirq_entry, return handle_softirq(ctx, vec, true);, unsigned int vec)
TWINS(softirq_exit, return handle_softirq(ctx, vec, false);, unsigned int vec)
/* (Timer arguments: plain loads in tp_btf, probe reads in raw_tp.) */
TWINS(hrtimer_expire_entry,
      return handle_timer(btf ? (__u64)t->function : (__u64)BPF_CORE_READ(t, function), !hrtimer_is_soft(t, btf), true);
      , struct hrtimer *t)
TWINS(hrtimer_expire_exit, return handle_timer(0, !hrtimer_is_soft(t, btf), false);, struct hrtimer *t)
TWINS(timer_expire_entry,
      return handle_timer(btf ? (__u64)t->function : (__u64)BPF_CORE_READ(t, function), false, true);
      , struct timer_list *t)
TWINS(timer_expire_exit, return handle_timer(0, false, false);, struct timer_list *t)

/*
 * Hard interrupt handlers and the x86 interrupt vectors (irq_vectors
 * tracepoints; user space leaves out the ones a kernel lacks): each
 * tracepoint's tp_btf program and raw_tp twin only count nesting and, on
 * exit, stamp the moment a handler returns (softirqs run on irq exit start
 * right after it: irq_state.bpf.h).
 */
#define HARDIRQ_TWINS(tp, entry)                         \
	SEC("tp_btf/" #tp)                               \
	int BPF_PROG(tp_##tp)                            \
	{                                                \
		return handle_hardirq(entry);            \
	}                                                \
	SEC("raw_tp/" #tp)                               \
	int BPF_PROG(raw_##tp)                           \
	{                                                \
		return handle_hardirq(entry);            \
	}

HARDIRQ_TWINS(irq_handler_entry, true)
HARDIRQ_TWINS(irq_handler_exit, false)
HARDIRQ_TWINS(local_timer_entry, true)
HARDIRQ_TWINS(local_timer_exit, false)
HARDIRQ_TWINS(irq_work_entry, true)
HARDIRQ_TWINS(irq_work_exit, false)
HARDIRQ_TWINS(reschedule_entry, true)
HARDIRQ_TWINS(reschedule_exit, false)
HARDIRQ_TWINS(call_function_entry, true)
HARDIRQ_TWINS(call_function_exit, false)
HARDIRQ_TWINS(call_function_single_entry, true)
HARDIRQ_TWINS(call_function_single_exit, false)
