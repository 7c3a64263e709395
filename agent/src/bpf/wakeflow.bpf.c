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
 *                                    the switch-out: see handle_wakeup)
 *   sched_switch, target is next  -> add the interval to its edge
 *
 * Stack policy (see docs/performance.md): --stacks full walks every stack and
 * makes the stack ids part of the edge key, like offwaketime. The default
 * counts every interval exactly by its facts and walks stacks only for the
 * first interval of an edge, then at most once per sample period per edge,
 * and always for blocks longer than long_block_ns (which get edges of their
 * own, keyed by stacks, so they are never folded away). User stacks are
 * memoized by (thread, registers, frame link) in both modes.
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
#define PF_KTHREAD 0x00200000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_MPTCP 262

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

/* Bumped by user space whenever it clears the stack map: user stack ids
 * remembered per thread from an older epoch are no longer stored. */
__u32 stack_epoch = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct wf_target);
} targets SEC(".maps");

/*
 * One bit per pid (pid_max is at most 2^22): set for every traced process.
 * Array lookups are inlined by the verifier, so the filter every scheduler
 * event goes through costs no helper call; the targets hash is consulted
 * only on a hit. User space keeps it in step with the targets map.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WF_TARGET_BITS_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} target_bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct wf_thread);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct wf_edge_key);
	__type(value, struct wf_edge_val);
} edges SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct wf_stack_val);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct wf_ustack_memo_key);
	__type(value, __u64);
} ustack_memo SEC(".maps");

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

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} proc_events SEC(".maps");

/*
 * What interrupt work this CPU is doing right now, kept from the irq,
 * softirq and timer tracepoints (see core_fixes.bpf.h for why not from the
 * preempt count).
 */
struct wf_cpu {
	__u64 timer_fn[2];	/* running timer callback: [1] hard irq, [0] softirq */
	__u64 hardirq_exit_ns;	/* when the last hard interrupt handler returned */
	__u64 softirq_exit_ns;	/* when the last softirq vector finished */
	__u32 hardirq_depth;	/* nested hard interrupt handlers running */
	__u8 softirq;		/* vector + 1 while one is served, else 0 */
	__u8 softirq_from_irq;	/* the vector runs on irq exit or in ksoftirqd */
	__u8 pad[2];
	__u32 orc_walks;	/* walks by the ORC unwinder on this CPU: picks the checked ones */
	__u32 pad2;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_cpu);
} cpu_state SEC(".maps");

struct wf_scratch {
	struct wf_stack_val stack;
	struct wf_stack_val check; /* the kernel's walk, to compare the unwinder's with */
	struct wf_edge_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_scratch);
} scratch SEC(".maps");

#include "orc_unwind.bpf.h"

static const struct wf_thread zero_thread;
static const struct wf_edge_val zero_edge;

static __always_inline struct wf_cpu *this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_state, &zero);
}

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1; /* per-CPU: no atomics needed */
}

/*
 * Task fields. In tp_btf programs the tracepoint's task arguments are BTF
 * pointers and a field is a plain load; raw_tp programs get bare addresses
 * and need probe reads. The current task is a BTF pointer in both
 * (bpf_get_current_task_btf). Helper calls are dear on kernels with
 * retpoline/SRSO return thunks, so the hot paths load directly where the
 * verifier allows it.
 */
static __always_inline __u32 task_tgid(struct task_struct *t, bool btf)
{
	return btf ? t->tgid : BPF_CORE_READ(t, tgid);
}

static __always_inline __u32 task_tid(struct task_struct *t, bool btf)
{
	return btf ? t->pid : BPF_CORE_READ(t, pid);
}

static __always_inline __u64 task_pstart(struct task_struct *t, bool btf)
{
	return btf ? t->group_leader->start_time : BPF_CORE_READ(t, group_leader, start_time);
}

/* The thread's name and its process's (group leader's) name. */
static __always_inline void task_comms(struct task_struct *t, bool btf, char *comm, char *pcomm)
{
	if (btf) {
		__builtin_memcpy(comm, t->comm, WF_TASK_COMM_LEN);
		__builtin_memcpy(pcomm, t->group_leader->comm, WF_TASK_COMM_LEN);
	} else {
		BPF_CORE_READ_STR_INTO((char(*)[WF_TASK_COMM_LEN])comm, t, comm);
		BPF_CORE_READ_STR_INTO((char(*)[WF_TASK_COMM_LEN])pcomm, t, group_leader, comm);
	}
}

static __always_inline bool maybe_target(__u32 tgid)
{
	__u32 idx = (tgid >> 6) & (WF_TARGET_BITS_WORDS - 1);
	__u64 *w = bpf_map_lookup_elem(&target_bits, &idx);

	return w && ((*w >> (tgid & 63)) & 1);
}

/*
 * The state of a thread of a traced process, or NULL for any other thread.
 * The pid bitmap answers for almost every task without a helper call; a
 * thread already known and of the same process (same process start time:
 * pid reuse never mixes two processes) needs one lookup. Otherwise the
 * targets map decides, and a target added by pid binds to the first process
 * seen with that pid.
 */
static __always_inline struct wf_thread *target_thread(struct task_struct *t, __u32 tgid, __u32 tid, bool btf,
						      bool create)
{
	struct wf_target *tg;
	struct wf_thread *th;
	__u64 ps;

	if (!tgid || !maybe_target(tgid))
		return NULL;
	ps = task_pstart(t, btf);
	th = bpf_map_lookup_elem(&threads, &tid);
	if (th && th->pstart == ps)
		return th;
	tg = bpf_map_lookup_elem(&targets, &tgid);
	if (!tg)
		return NULL;
	if (tg->pstart != ps) {
		if (tg->pstart)
			return NULL;
		tg->pstart = ps;
	}
	if (th) {
		/* The tid belonged to a process that is gone. */
		__builtin_memset(th, 0, sizeof(*th));
	} else {
		if (!create)
			return NULL;
		if (bpf_map_update_elem(&threads, &tid, &zero_thread, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&threads, &tid)) {
			stat_inc(WF_STAT_STATE_DROPPED);
			return NULL;
		}
		th = bpf_map_lookup_elem(&threads, &tid);
		if (!th)
			return NULL;
	}
	th->pstart = ps;
	th->tgid = tgid;
	return th;
}

static __always_inline bool in_range(__u64 ip, int sym)
{
	if (sym < 0 || sym >= WF_KSYM__COUNT)
		return false;
	return ip >= ksym_start[sym] && ip < ksym_end[sym];
}

static __always_inline struct wf_scratch *this_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

/* The kernel's walk into st: task != NULL walks that (sleeping) task's
 * kernel stack, else the current one's. Returns the frames, 0 if none. */
static __always_inline __u32 kernel_walk(void *ctx, struct task_struct *task, bool user, __u32 depth,
					 struct wf_stack_val *st)
{
	__u32 size = depth * sizeof(__u64);
	long n;

	if (size > sizeof(st->ip))
		size = sizeof(st->ip);
	if (task)
		n = bpf_get_task_stack(task, st->ip, size, 0);
	else
		n = bpf_get_stack(ctx, st->ip, size, user ? BPF_F_USER_STACK : 0);
	if (n <= 0) {
		st->nr = 0;
		return 0;
	}
	st->nr = n / sizeof(__u64);
	st->user = user;
	return st->nr;
}

/* Stores the walked stack in s->stack once under a 64-bit hash of its
 * frames; returns the hash (the stack id) or 0. */
static __always_inline __u64 store_stack(struct wf_scratch *s, bool user, __u32 tgid)
{
	__u64 h = user ? 0x9e3779b97f4a7c15ULL ^ tgid : 0xcbf29ce484222325ULL;

	for (__u32 i = 0; i < WF_MAX_STACK_DEPTH; i++) {
		if (i >= s->stack.nr)
			break;
		/* Code built without frame pointers can leave a frame link
		 * pointing at itself: the rest would be the same frame again. */
		if (user && i > 0 && s->stack.ip[i] == s->stack.ip[i - 1]) {
			s->stack.nr = i;
			break;
		}
		h ^= s->stack.ip[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	if (!h)
		h = 1;
	if (bpf_map_lookup_elem(&stacks, &h))
		return h;
	if (bpf_map_update_elem(&stacks, &h, &s->stack, BPF_NOEXIST) && !bpf_map_lookup_elem(&stacks, &h)) {
		stat_inc(WF_STAT_STACKS_DROPPED);
		return 0;
	}
	return h;
}

/* Walks a stack with the kernel's walker and stores it (store_stack).
 * task != NULL walks that (sleeping) task's kernel stack. */
static __always_inline __u64 walk_stack(void *ctx, struct task_struct *task, bool user,
					__u32 tgid, __u32 depth, struct wf_stack_val **out)
{
	struct wf_scratch *s = this_scratch();

	if (!s)
		return 0;
	stat_inc(WF_STAT_STACKS_WALKED);
	if (!kernel_walk(ctx, task, user, depth, &s->stack)) {
		stat_inc(WF_STAT_STACKS_DROPPED);
		return 0;
	}
	if (out)
		*out = &s->stack;
	return store_stack(s, user, tgid);
}

/*
 * Kernel stacks through the ORC unwinder (orc_unwind.bpf.h) where it can,
 * else the kernel's helper. Either way the same frames come out: a walk of
 * the unwinder is compared with the kernel's for the first 64 walks on each
 * CPU and one in 1024 after that, and a single difference turns the
 * unwinder off for good (counted in WF_STAT_ORC_MISMATCHES).
 */
static __always_inline bool same_stack(const struct wf_stack_val *a, const struct wf_stack_val *b)
{
	if (a->nr != b->nr)
		return false;
	for (__u32 i = 0; i < WF_MAX_STACK_DEPTH; i++) {
		if (i >= a->nr)
			break;
		if (a->ip[i] != b->ip[i])
			return false;
	}
	return true;
}

static __always_inline void drop_frames(struct wf_stack_val *st, __u32 skip)
{
	if (skip >= st->nr) {
		st->nr = 0;
		return;
	}
	for (__u32 i = 0; i < WF_MAX_STACK_DEPTH; i++) {
		__u32 j = i + skip;

		if (j >= st->nr || j >= WF_MAX_STACK_DEPTH)
			break;
		barrier_var(j); /* index from the base, as checked (not &ip[i] + skip) */
		st->ip[i] = st->ip[j];
	}
	st->nr -= skip;
}

/* Set before load (WAKEFLOW_ORC_CHECK=all): compare every walk. For tests. */
const volatile bool orc_check_all = false;

static __always_inline bool orc_check_due(void)
{
	struct wf_cpu *cpu = this_cpu();
	__u32 n;

	if (!cpu || orc_check_all)
		return true;
	n = cpu->orc_walks++;
	return n < 64 || !(n & 1023);
}

/* s->stack from the unwinder, s->check from the kernel: the kernel's wins. */
static __always_inline void orc_compare(struct wf_scratch *s)
{
	stat_inc(WF_STAT_ORC_CHECKS);
	if (same_stack(&s->stack, &s->check))
		return;
	stat_inc(WF_STAT_ORC_MISMATCHES);
	unwind_off = 1;
	__builtin_memcpy(&s->stack, &s->check, sizeof(s->stack));
}

/*
 * The ORC walk from *st into s->stack, now and then compared with the
 * kernel's walk of the same stack (task: that sleeping task, or NULL for
 * the current one, whose first skip frames of the kernel's walk are glue).
 * false: the walker gave up and the kernel's must walk.
 */
static __always_inline bool orc_walk_checked(void *ctx, struct wf_scratch *s, struct wf_unwind_start *st,
					     struct task_struct *task, __u32 skip)
{
	if (wf_orc_walk(st, &s->stack) <= 0)
		return false;
	stat_inc(WF_STAT_ORC_WALKS);
	if (orc_check_due()) {
		if (kernel_walk(ctx, task, false, WF_MAX_STACK_DEPTH, &s->check))
			drop_frames(&s->check, skip);
		orc_compare(s);
	}
	return true;
}

/* Stores the kernel stack walked into s->stack; 0 if the walk found none. */
static __always_inline __u64 store_kstack(struct wf_scratch *s)
{
	if (!s->stack.nr) {
		stat_inc(WF_STAT_STACKS_DROPPED);
		return 0;
	}
	return store_stack(s, false, 0);
}

/* A task that is not running (next at the switch-in, or a task being
 * woken): its walk starts at the frame its last switch-out saved. */
static __always_inline __u64 walk_sleeping_kstack(void *ctx, struct task_struct *t)
{
	struct wf_scratch *s = this_scratch();
	struct wf_unwind_start st = {};
	__u64 tsp;

	if (!s)
		return 0;
	stat_inc(WF_STAT_STACKS_WALKED);
	if (unwind_usable()) {
		tsp = t->thread.sp;
		st.lo = tsp;
		st.end = (__u64)bpf_task_pt_regs(t);
		st.ip_at = tsp + bpf_core_field_offset(struct inactive_task_frame, ret_addr);
		st.bp_at = tsp + bpf_core_field_offset(struct inactive_task_frame, bp);
		st.max = WF_MAX_STACK_DEPTH;
		st.nosched = 1;
		if (orc_walk_checked(ctx, s, &st, t, 0))
			return store_kstack(s);
	}
	kernel_walk(ctx, t, false, WF_MAX_STACK_DEPTH, &s->stack);
	return store_kstack(s);
}

/*
 * The waker's walk starts inside this program. The kernel's walk begins
 * with the BPF and tracepoint glue (this program, bpf_trace_run1, ...);
 * user space leaves those frames out anyway (glue_frame in capture.c). The
 * unwinder starts at the first frame after them instead: where its return
 * address sits relative to ctx is fixed for a kernel build, and is learnt
 * from the first walk (calibrate_waker). From then on every waker walk,
 * the kernel's too, leaves those frames out, so both give the same ids.
 */
#define WAKER_UNCALIBRATED 0
#define WAKER_CALIBRATED 1
#define WAKER_UNCALIBRATABLE 2
#define WAKER_CALIBRATION_TRIES 16
__u32 waker_state = WAKER_UNCALIBRATED;
__u32 waker_tries = 0;
__u32 waker_skip = 0;	  /* glue frames at the start of the kernel's walk */
__u32 waker_slot = 0;	  /* offset from ctx of the first frame kept */
__u64 waker_first_ip = 0; /* that frame: the tracepoint's return address */

static __always_inline void calibrate_waker(void *ctx, __u64 end, struct wf_scratch *s)
{
	struct wf_unwind_start st = {};
	__u32 zero = 0, skip = 0, slot = 0;
	struct wf_stack_copy *cp = bpf_map_lookup_elem(&stack_copy, &zero);
	bool found = false;

	if (!cp || end - (__u64)ctx < 64 * sizeof(__u64) || bpf_probe_read_kernel(cp->w, 64 * sizeof(__u64), ctx))
		goto failed;
	for (__u32 k = 1; k <= 3 && !found; k++) {
		if (k >= s->stack.nr)
			break;
		for (__u32 j = 0; j < 64; j++) {
			if (cp->w[j] == s->stack.ip[k]) {
				skip = k;
				slot = j * sizeof(__u64);
				found = true;
				break;
			}
		}
	}
	if (!found || skip >= WF_MAX_STACK_DEPTH)
		goto failed;
	/* Prove it on this very stack before relying on it. */
	st.lo = (__u64)ctx;
	st.end = end;
	st.ip_at = st.lo + slot;
	st.expect_ip = s->stack.ip[skip];
	st.max = WF_MAX_STACK_DEPTH - skip;
	if (wf_orc_walk(&st, &s->check) <= 0)
		goto failed;
	drop_frames(&s->stack, skip);
	if (!same_stack(&s->stack, &s->check)) {
		waker_state = WAKER_UNCALIBRATABLE; /* the kernel's walk of this stack differs */
		return;
	}
	waker_skip = skip;
	waker_slot = slot;
	waker_first_ip = st.expect_ip;
	waker_state = WAKER_CALIBRATED;
	return;
failed:
	/* This stack may be unusual (an interrupt frame, say): try others. */
	if (++waker_tries >= WAKER_CALIBRATION_TRIES)
		waker_state = WAKER_UNCALIBRATABLE;
}

static __always_inline __u64 walk_waker_kstack(void *ctx, struct task_struct *cur)
{
	struct wf_scratch *s = this_scratch();
	struct wf_unwind_start st = {};
	__u64 c = (__u64)ctx, end = 0;
	bool usable = false;

	if (!s)
		return 0;
	stat_inc(WF_STAT_STACKS_WALKED);
	if (unwind_usable()) {
		end = (__u64)bpf_task_pt_regs(cur);
		/* Interrupt work runs on the irq stack: the kernel's walker hops over. */
		usable = c >= (__u64)cur->stack && c < end;
	}
	if (usable && waker_state == WAKER_CALIBRATED) {
		st.lo = c;
		st.end = end;
		st.ip_at = c + waker_slot;
		st.expect_ip = waker_first_ip;
		st.max = WF_MAX_STACK_DEPTH - waker_skip;
		if (orc_walk_checked(ctx, s, &st, NULL, waker_skip))
			return store_kstack(s);
	}
	if (kernel_walk(ctx, NULL, false, WF_MAX_STACK_DEPTH, &s->stack)) {
		if (usable && waker_state == WAKER_UNCALIBRATED)
			calibrate_waker(ctx, end, s);
		else if (waker_state == WAKER_CALIBRATED)
			drop_frames(&s->stack, waker_skip);
	}
	return store_kstack(s);
}

/* The current task's user stack, walked only when its registers and frame
 * link at this syscall were not seen before. th, when given, remembers the
 * last registers so a thread blocking at the same place again needs no
 * lookup at all. */
static __always_inline __u64 current_user_stack(void *ctx, struct pt_regs *regs, __u32 tgid, __u32 tid,
						struct wf_thread *th)
{
	struct wf_ustack_memo_key mk = {};
	__u64 frame[2] = {};
	__u64 *memo, id;

	if (!regs)
		return 0;
	mk.tid = tid;
	mk.pid = tgid;
	mk.ip = regs->ip;
	mk.sp = regs->sp;
	mk.bp = regs->bp;
	/* Same thread, same registers: the same call chain, in practice. */
	if (th && th->tu_id && th->mk_ip == mk.ip && th->mk_sp == mk.sp && th->mk_bp == mk.bp &&
	    th->mk_epoch == stack_epoch) {
		stat_inc(WF_STAT_USTACK_MEMO_HITS);
		return th->tu_id;
	}
	/* Across threads and over time the frame link is checked too. */
	if (bpf_probe_read_user(frame, sizeof(frame), (void *)mk.bp) == 0)
		mk.ret = frame[1];
	memo = bpf_map_lookup_elem(&ustack_memo, &mk);
	if (memo) {
		stat_inc(WF_STAT_USTACK_MEMO_HITS);
		id = *memo;
	} else {
		id = walk_stack(ctx, NULL, true, tgid, WF_MAX_STACK_DEPTH, NULL);
		if (id)
			bpf_map_update_elem(&ustack_memo, &mk, &id, BPF_ANY);
	}
	if (th) {
		th->mk_ip = mk.ip;
		th->mk_sp = mk.sp;
		th->mk_bp = mk.bp;
		th->mk_epoch = stack_epoch;
	}
	return id;
}

/* The current task's saved user registers, or NULL for kernel threads. */
static __always_inline struct pt_regs *current_regs(struct task_struct *cur)
{
	if (cur->flags & PF_KTHREAD)
		return NULL;
	return (struct pt_regs *)bpf_task_pt_regs(cur);
}

/* The syscall the current task is in, or -1. Exceptions from user space
 * (page faults) also leave a small number in orig_ax: a syscall entered via
 * SYSCALL is recognised by rcx/r11 holding the user rip/rflags. */
static __always_inline int current_syscall(struct pt_regs *regs, __u64 *arg0)
{
	long nr;

	if (!regs)
		return -1;
	nr = regs->orig_ax;
	if (nr < 0 || nr > 0x7fff)
		return -1;
	if (regs->cx != regs->ip || regs->r11 != regs->flags)
		return -1;
	if (arg0)
		*arg0 = regs->di;
	return nr;
}

/* Kind of file behind fd in the current task, by its poll method (data
 * symbols such as eventfd_fops are not in kallsyms; functions are). */
static __always_inline __u8 current_fd_kind(__u64 fd)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct fdtable *fdt = cur->files->fdt;
	struct file **fds;
	struct file *f;
	struct socket *sock;
	struct sock *sk;
	__u64 poll;
	__u16 family, protocol, type;

	if (!fdt || fd >= fdt->max_fds)
		return WF_FD_NONE;
	fds = fdt->fd;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return WF_FD_NONE; /* e.g. close(): the slot is empty by the wakeup */
	poll = (__u64)BPF_CORE_READ(f, f_op, poll);
	if (in_range(poll, WF_KSYM_EVENTFD_POLL))
		return WF_FD_EVENTFD;
	if (in_range(poll, WF_KSYM_PIPE_POLL))
		return WF_FD_PIPE;
	if (in_range(poll, WF_KSYM_TIMERFD_POLL))
		return WF_FD_TIMERFD;
	if (in_range(poll, WF_KSYM_SIGNALFD_POLL))
		return WF_FD_SIGNALFD;
	if (!in_range(poll, WF_KSYM_SOCK_POLL)) {
		umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);

		return (mode & 0170000) == 0100000 ? WF_FD_FILE : WF_FD_OTHER;
	}
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return WF_FD_SOCKET;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	protocol = BPF_CORE_READ(sk, sk_protocol);
	type = BPF_CORE_READ(sk, sk_type);
	if (family == AF_UNIX)
		return WF_FD_UNIX;
	if (family == AF_INET || family == AF_INET6) {
		if (protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP || type == SOCK_STREAM)
			return WF_FD_TCP;
		if (protocol == IPPROTO_UDP || type == SOCK_DGRAM)
			return WF_FD_UDP;
	}
	return WF_FD_SOCKET;
}

static __always_inline bool fd_syscall(int nr)
{
	if (nr < 0 || nr >= 512)
		return false;
	return (fd_syscalls[(nr >> 6) & 7] >> (nr & 63)) & 1;
}

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

static __always_inline bool same_key(const struct wf_edge_key *a, const struct wf_edge_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	for (int i = 0; i < (int)(sizeof(*a) / sizeof(__u64)); i++) {
		if (x[i] != y[i])
			return false;
	}
	return true;
}

/* Walk this interval's stacks? Yes for the first interval of an edge and
 * then once per sample period. A thread usually meets the edge of its
 * previous interval again: that case needs no edge lookup. */
static __always_inline bool sample_due(struct wf_thread *th, struct wf_edge_key *key, __u64 now)
{
	struct wf_edge_val *v;
	__u64 last;

	if (th->last_sample_ns && same_key(key, &th->last_key)) {
		last = th->last_sample_ns;
	} else {
		v = bpf_map_lookup_elem(&edges, key);
		last = v ? v->last_sample_ns : 0;
	}
	return !last || now - last >= sample_period_ns;
}

#define WAKER_PART_OFF __builtin_offsetof(struct wf_edge_key, wpid)
/* Safety net: sched_wakeup normally settles an early wakeup within
 * microseconds (see handle_wakeup); a lost event must not linger. */
#define EARLY_WAKE_MAX_NS 10000000ULL

#define WAKER_PART_LEN (sizeof(struct wf_edge_key) - WAKER_PART_OFF)

/*
 * An early wakeup (see handle_waking) ends the interval that begins at the
 * thread's switch-out. The switch-out uses it if it is already there;
 * otherwise sched_wakeup, which fires once the wakeup is done, does
 * (handle_wakeup). Whichever clears early_ts first uses it: exactly once.
 */
static __always_inline void claim_early_wakeup(struct wf_thread *th)
{
	__u64 early = th->early_ts, out = th->ts_out;

	/* (Clocks of two CPUs: the waker's stamp may be the later one.) */
	if (!early || th->woken || th->key.kind != WF_BPF_KIND_BLOCKED || (out > early && out - early > EARLY_WAKE_MAX_NS))
		return;
	if (__sync_val_compare_and_swap(&th->early_ts, early, 0) != early)
		return; /* the other side has it */
	__builtin_memcpy((char *)&th->key + WAKER_PART_OFF, (char *)&th->early + WAKER_PART_OFF, WAKER_PART_LEN);
	th->ts_wake = early > out ? early : out; /* woken before, or as, it left: no blocked time */
	th->woken = 1;
}


/* prev (== current) leaves the CPU. */
static __always_inline void switch_out(void *ctx, bool preempt, struct task_struct *next, __u64 state,
				       __u64 *nowp, bool btf)
{
	/* prev is the current task: a BTF pointer in raw_tp programs too. */
	struct task_struct *prev = bpf_get_current_task_btf();
	__u32 tgid = prev->tgid, tid = prev->pid;
	struct wf_thread *th;
	struct wf_edge_key *k;
	struct pt_regs *regs;
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
	k = &th->key;
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

	if (runnable) {
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
		return;
	}
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
	 * (before, it takes the early path: see handle_waking). */
	barrier_var(k);
	th->ts_out = now;
	claim_early_wakeup(th);
}

/* next comes back on the CPU: its interval ends. */
static __always_inline void switch_in(void *ctx, struct task_struct *next, __u64 *nowp, bool btf)
{
	__u32 tgid = task_tgid(next, btf), tid = task_tid(next, btf);
	struct wf_edge_val *v;
	struct wf_thread *th;
	struct wf_edge_key *k;
	__u64 offcpu, runq = 0, ts_out, now;
	bool runq_known = false;

	th = target_thread(next, tgid, tid, btf, true);
	if (!th)
		return;
	if (!*nowp)
		*nowp = bpf_ktime_get_boot_ns();
	now = *nowp;
	ts_out = th->ts_out;
	th->ts_in = now;
	th->ts_out = 0;
	th->early_ts = 0;
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

	v = bpf_map_lookup_elem(&edges, k);
	if (!v) {
		if (bpf_map_update_elem(&edges, k, &zero_edge, BPF_NOEXIST) == 0 || bpf_map_lookup_elem(&edges, k))
			v = bpf_map_lookup_elem(&edges, k);
	}
	if (v) {
		/* The key names the target thread, whose switch-ins are never
		 * concurrent: plain adds suffice. */
		v->count++;
		v->offcpu_ns += offcpu;
		if (runq_known) {
			v->runq_ns += runq;
			v->runq_count++;
		}
		if (offcpu > v->offcpu_max_ns)
			v->offcpu_max_ns = offcpu;
		if (!v->first_ns)
			v->first_ns = now;
		v->last_ns = now;
		if (th->sampled) {
			v->last_sample_ns = now;
			v->wkstack = th->s_wk;
			v->wustack = th->s_wu;
			v->tkstack = th->s_tk;
			v->tustack = th->s_tu;
		}
		/* Remember this edge: the next interval is likely the same one. */
		th->last_key = *k;
		th->last_sample_ns = v->last_sample_ns;
	} else {
		stat_inc(WF_STAT_EDGES_DROPPED);
	}
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
	struct wf_cpu *cpu = this_cpu();

	/* No interrupt handler is running while the CPU switches tasks: heal
	 * the per-CPU state from entry/exit pairs cut by attach or detach. */
	if (cpu && (cpu->hardirq_depth || cpu->softirq)) {
		cpu->hardirq_depth = 0;
		cpu->softirq = 0;
	}
	switch_out(ctx, preempt, next, switch_has_prev_state ? prev_state : get_task_state(prev), &now, btf);
	switch_in(ctx, next, &now, btf);
	return 0;
}

static __always_inline bool is_ksoftirqd(struct task_struct *cur)
{
	char comm[10];

	if (!(cur->flags & PF_KTHREAD))
		return false;
	bpf_get_current_comm(comm, sizeof(comm));
	return comm[0] == 'k' && comm[1] == 's' && comm[2] == 'o' && comm[3] == 'f' && comm[4] == 't' &&
	       comm[5] == 'i' && comm[6] == 'r' && comm[7] == 'q' && comm[8] == 'd';
}

/* current wakes p (sched_waking runs in the waker's context). */
static __always_inline int handle_waking(void *ctx, struct task_struct *p, bool btf)
{
	__u32 tgid = task_tgid(p, btf), tid = task_tid(p, btf);
	struct task_struct *cur = bpf_get_current_task_btf();
	struct pt_regs *regs;
	__u64 now, arg0 = 0;
	__u32 wtid, wtgid;
	struct wf_thread *th;
	struct wf_edge_key *k;
	struct wf_cpu *cpu;
	bool in_task = false, sample, early = false;
	int sc;

	th = target_thread(p, tgid, tid, btf, false);
	if (!th || th->woken)
		return 0;
	if (!th->ts_out) {
		/* Still on the CPU by our account, yet already in a sleeping
		 * state (or no wakeup would be traced): either it is between
		 * that and its switch-out, and this wakeup ends the interval
		 * that is about to start, or the wakeup cancels the sleep.
		 * sched_wakeup tells which (handle_wakeup). Whether the thread
		 * is still queued cannot tell it here: the thread may dequeue
		 * itself while this handler runs, before try_to_wake_up looks
		 * (measured: 0.5% of haproxy's intervals lost their waker). */
		early = true;
	} else if (th->key.kind != WF_BPF_KIND_BLOCKED) {
		return 0;
	}
	now = bpf_ktime_get_boot_ns();
	/* An early wakeup is kept apart: the switch-out rewrites the key, and
	 * may run concurrently on the target's CPU. */
	k = early ? &th->early : &th->key;

	wtgid = cur->tgid;
	wtid = cur->pid;
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

	cpu = this_cpu();
	if (cpu && cpu->hardirq_depth) {
		k->ctx = WF_BPF_CTX_HARDIRQ;
		k->irq = WF_IRQ_HARDIRQ;
		k->timer_fn = cpu->timer_fn[1];
	} else if (cpu && cpu->softirq) {
		k->irq = WF_IRQ_SOFTIRQ;
		k->softirq = cpu->softirq - 1;
		k->timer_fn = cpu->timer_fn[0];
		/* Softirq work done at local_bh_enable inside the waker's own
		 * syscall belongs to the waker (task context); on irq exit, in
		 * ksoftirqd or on the idle task it does not. */
		if (!wtid || cpu->softirq_from_irq)
			k->ctx = WF_BPF_CTX_SOFTIRQ;
		else
			k->ctx = WF_BPF_CTX_TASK, in_task = true;
	} else {
		k->ctx = WF_BPF_CTX_TASK;
		in_task = wtid != 0;
	}
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
		return 0;
	}
	th->early_ts = 0;
	th->woken = 1;
	th->ts_wake = now;
	if (stacks_full)
		return 0;
	sample = now - th->ts_out >= long_block_ns;
	if (sample)
		k->flags |= WF_EF_LONG;
	else
		sample = sample_due(th, k, now);
	if (!sample)
		return 0;
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
	return 0;
}

/*
 * sched_wakeup settles a wakeup sched_waking saw while the target was still
 * on the CPU: it fires once the wakeup is done, after the target's
 * switch-out if the target did go to sleep (the switch-out has then used
 * the early wakeup, or ran before it was there: it is used now), before it
 * if the wakeup only cancelled the sleep (the early wakeup must then not be
 * pinned on a later, unrelated sleep).
 */
static __always_inline int handle_wakeup(struct task_struct *p, bool btf)
{
	__u32 tid;
	struct wf_thread *th;

	if (!maybe_target(task_tgid(p, btf)))
		return 0;
	tid = task_tid(p, btf);
	th = bpf_map_lookup_elem(&threads, &tid);
	if (!th || !th->early_ts)
		return 0;
	if (th->ts_out)
		claim_early_wakeup(th);
	th->early_ts = 0; /* used, or the sleep was cancelled */
	return 0;
}

static __always_inline void emit_proc_event(__u32 type, struct task_struct *t, __u32 target)
{
	struct wf_proc_event *e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);

	if (!e) {
		stat_inc(WF_STAT_RINGBUF_DROPPED);
		return;
	}
	e->type = type;
	e->pid = BPF_CORE_READ(t, tgid);
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->target = target;
	e->pstart = task_pstart(t, false);
	BPF_CORE_READ_STR_INTO(&e->comm, t, group_leader, comm);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int handle_exec(struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	bool target = bpf_map_lookup_elem(&targets, &tgid) != NULL;

	if (target || exec_events_all)
		emit_proc_event(WF_PEV_EXEC, p, target);
	return 0;
}

/* A traced process forks: a child keeps the process name it was matched
 * by, so --comm targets follow their children at once (no race with user
 * space); user space hears of it to snapshot the child's mappings. */
static __always_inline int handle_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
	struct wf_target *tg, ct = {};

	if (ptgid == ctgid)
		return 0; /* a new thread: covered by its process */
	tg = bpf_map_lookup_elem(&targets, &ptgid);
	if (!tg || !(tg->flags & WF_TARGET_BY_COMM))
		return 0;
	ct.flags = WF_TARGET_BY_COMM;
	ct.pstart = BPF_CORE_READ(child, start_time);
	bpf_map_update_elem(&targets, &ctgid, &ct, BPF_ANY);
	{
		__u32 idx = (ctgid >> 6) & (WF_TARGET_BITS_WORDS - 1);
		__u64 bit = 1ULL << (ctgid & 63), *w = bpf_map_lookup_elem(&target_bits, &idx);

		/* Bits of distinct pids: an atomic add is an atomic or. User
		 * space sets the bit again when it hears of the fork. */
		if (w && !(*w & bit))
			__sync_fetch_and_add(w, bit);
	}
	emit_proc_event(WF_PEV_FORK, child, 1);
	return 0;
}

static __always_inline int handle_exit(struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid), tid = BPF_CORE_READ(p, pid);

	struct wf_thread *th;

	if (!bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	th = bpf_map_lookup_elem(&threads, &tid);
	if (th) {
		/* Hand the thread's final totals over for the next drain. */
		struct wf_totals_key tk = { .tid = tid, .pid = tgid, .pstart = th->pstart };

		if (bpf_map_update_elem(&totals, &tk, &th->tot, BPF_ANY))
			stat_inc(WF_STAT_TOTALS_DROPPED);
	}
	bpf_map_delete_elem(&threads, &tid);
	if (BPF_CORE_READ(p, signal, live.counter) == 0) {
		/* The whole process is gone: stop matching its pid, which may be
		 * reused by an unrelated process. */
		bpf_map_delete_elem(&targets, &tgid);
		emit_proc_event(WF_PEV_EXIT, p, 1);
	}
	return 0;
}

/* Experiment support: log2 histograms of (softirq entry - last hard irq
 * exit) for softirqs whose frames show irq exit [0..31] or local_bh_enable
 * [32..63], to choose irq_exit_window_ns. Off unless debug_softirq_origin. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} origin_hist SEC(".maps");

static __always_inline void debug_origin(void *ctx, __u64 d, bool verdict)
{
	struct wf_stack_val *st = NULL;
	__u32 slot = 0, base = 99;
	__u64 *v;

	if (!walk_stack(ctx, NULL, false, 0, 24, &st) || !st)
		return;
	for (int i = 0; i < 24; i++) {
		if (i >= st->nr)
			break;
		if (in_range(st->ip[i], WF_KSYM_IRQ_EXIT_RCU))
			base = 0;
		else if (in_range(st->ip[i], WF_KSYM_LOCAL_BH_ENABLE_IP))
			base = 32;
	}
	if (base == 99)
		return;
	/* slots 30/31 and 62/63: verdict irq-exit / task for each true origin */
	slot = base + 30 + (verdict ? 0 : 1);
	v = bpf_map_lookup_elem(&origin_hist, &slot);
	if (v)
		*v += 1;
	slot = 0;
	while (d > 1 && slot < 29)
		d >>= 1, slot++;
	slot += base;
	v = bpf_map_lookup_elem(&origin_hist, &slot);
	if (v)
		*v += 1;
}

/*
 * A softirq vector starts. It was raised and is run either on the way out of
 * a hard interrupt (or by ksoftirqd, or on the idle task): not the current
 * task's doing; or at local_bh_enable() inside the current task's own code
 * (a loopback send runs the receiver's stack right there). The first kind
 * starts within a few microseconds of a hard interrupt handler returning,
 * with nothing in between; vectors of one run follow each other as closely.
 */
static __always_inline int handle_softirq(void *ctx, __u32 vec, bool entry)
{
	struct wf_cpu *cpu = this_cpu();
	struct task_struct *cur;
	__u64 now = bpf_ktime_get_boot_ns();
	bool from_irq;

	if (!cpu)
		return 0;
	if (!entry) {
		cpu->softirq = 0;
		cpu->softirq_exit_ns = now;
		return 0;
	}
	cur = bpf_get_current_task_btf();
	from_irq = cur->pid == 0 || is_ksoftirqd(cur) ||
		   (cpu->hardirq_exit_ns && now - cpu->hardirq_exit_ns <= irq_exit_window_ns) ||
		   (cpu->softirq_from_irq && cpu->softirq_exit_ns && now - cpu->softirq_exit_ns <= irq_exit_window_ns);
	/* A user task outside any syscall was interrupted in user space: no
	 * local_bh_enable of its own can be running. */
	if (!from_irq && !(cur->flags & PF_KTHREAD))
		from_irq = current_syscall(current_regs(cur), NULL) < 0;
	if (debug_softirq_origin && cur->pid && !is_ksoftirqd(cur))
		debug_origin(ctx, cpu->hardirq_exit_ns ? now - cpu->hardirq_exit_ns : ~0ULL, from_irq);
	cpu->hardirq_exit_ns = 0;
	cpu->hardirq_depth = 0; /* softirqs never run inside a hard irq handler */
	cpu->softirq = (vec & 0xff) + 1;
	cpu->softirq_from_irq = from_irq;
	return 0;
}

static __always_inline int handle_hardirq(bool entry)
{
	struct wf_cpu *cpu = this_cpu();

	if (!cpu)
		return 0;
	if (entry) {
		cpu->hardirq_depth++;
	} else {
		if (cpu->hardirq_depth) /* tracing may start inside a handler */
			cpu->hardirq_depth--;
		cpu->hardirq_exit_ns = bpf_ktime_get_boot_ns();
	}
	return 0;
}

/* A timer callback runs: hrtimers in hard irq unless marked soft, timer_list
 * callbacks in the TIMER softirq. */
static __always_inline int handle_timer(__u64 fn, bool hard, bool entry)
{
	struct wf_cpu *cpu = this_cpu();

	if (hard)
		handle_hardirq(entry);
	if (cpu)
		cpu->timer_fn[hard ? 1 : 0] = entry ? fn : 0;
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

/* tp_btf programs and their raw_tp twins: one handler each. */

SEC("tp_btf/sched_switch")
int BPF_PROG(tp_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	/* ctx[3], prev_state, is read only where the kernel passes it. */
	return handle_switch(ctx, preempt, prev, next, switch_has_prev_state ? ctx[3] : 0, true);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, preempt, prev, next, switch_has_prev_state ? ctx[3] : 0, false);
}

SEC("tp_btf/sched_waking")
int BPF_PROG(tp_sched_waking, struct task_struct *p)
{
	return handle_waking(ctx, p, true);
}

SEC("raw_tp/sched_waking")
int BPF_PROG(raw_sched_waking, struct task_struct *p)
{
	return handle_waking(ctx, p, false);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(tp_sched_wakeup, struct task_struct *p)
{
	return handle_wakeup(p, true);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(raw_sched_wakeup, struct task_struct *p)
{
	return handle_wakeup(p, false);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_sched_process_exec, struct task_struct *p)
{
	return handle_exec(p);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(raw_sched_process_exec, struct task_struct *p)
{
	return handle_exec(p);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tp_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(parent, child);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(raw_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(parent, child);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tp_sched_process_exit, struct task_struct *p)
{
	return handle_exit(p);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(raw_sched_process_exit, struct task_struct *p)
{
	return handle_exit(p);
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(tp_softirq_entry, unsigned int vec)
{
	return handle_softirq(ctx, vec, true);
}

SEC("raw_tp/softirq_entry")
int BPF_PROG(raw_softirq_entry, unsigned int vec)
{
	return handle_softirq(ctx, vec, true);
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(tp_softirq_exit, unsigned int vec)
{
	return handle_softirq(ctx, vec, false);
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(raw_softirq_exit, unsigned int vec)
{
	return handle_softirq(ctx, vec, false);
}

SEC("tp_btf/hrtimer_expire_entry")
int BPF_PROG(tp_hrtimer_expire_entry, struct hrtimer *t)
{
	return handle_timer((__u64)BPF_CORE_READ(t, function), !hrtimer_is_soft(t), true);
}

SEC("raw_tp/hrtimer_expire_entry")
int BPF_PROG(raw_hrtimer_expire_entry, struct hrtimer *t)
{
	return handle_timer((__u64)BPF_CORE_READ(t, function), !hrtimer_is_soft(t), true);
}

SEC("tp_btf/hrtimer_expire_exit")
int BPF_PROG(tp_hrtimer_expire_exit, struct hrtimer *t)
{
	return handle_timer(0, !hrtimer_is_soft(t), false);
}

SEC("raw_tp/hrtimer_expire_exit")
int BPF_PROG(raw_hrtimer_expire_exit, struct hrtimer *t)
{
	return handle_timer(0, !hrtimer_is_soft(t), false);
}

SEC("tp_btf/timer_expire_entry")
int BPF_PROG(tp_timer_expire_entry, struct timer_list *t)
{
	return handle_timer((__u64)BPF_CORE_READ(t, function), false, true);
}

SEC("raw_tp/timer_expire_entry")
int BPF_PROG(raw_timer_expire_entry, struct timer_list *t)
{
	return handle_timer((__u64)BPF_CORE_READ(t, function), false, true);
}

SEC("tp_btf/timer_expire_exit")
int BPF_PROG(tp_timer_expire_exit, struct timer_list *t)
{
	return handle_timer(0, false, false);
}

SEC("raw_tp/timer_expire_exit")
int BPF_PROG(raw_timer_expire_exit, struct timer_list *t)
{
	return handle_timer(0, false, false);
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(tp_irq_handler_entry)
{
	return handle_hardirq(true);
}

SEC("raw_tp/irq_handler_entry")
int BPF_PROG(raw_irq_handler_entry)
{
	return handle_hardirq(true);
}

SEC("tp_btf/irq_handler_exit")
int BPF_PROG(tp_irq_handler_exit)
{
	return handle_hardirq(false);
}

SEC("raw_tp/irq_handler_exit")
int BPF_PROG(raw_irq_handler_exit)
{
	return handle_hardirq(false);
}

/*
 * x86 interrupt vectors (irq_vectors tracepoints; user space leaves out the
 * ones a kernel lacks). Besides nesting depth they stamp the moment a
 * handler returns: softirqs run on irq exit start right after it.
 */
SEC("tp_btf/local_timer_entry")
int BPF_PROG(tp_local_timer_entry)
{
	return handle_hardirq(true);
}

SEC("raw_tp/local_timer_entry")
int BPF_PROG(raw_local_timer_entry)
{
	return handle_hardirq(true);
}

SEC("tp_btf/local_timer_exit")
int BPF_PROG(tp_local_timer_exit)
{
	return handle_hardirq(false);
}

SEC("raw_tp/local_timer_exit")
int BPF_PROG(raw_local_timer_exit)
{
	return handle_hardirq(false);
}

SEC("tp_btf/irq_work_entry")
int BPF_PROG(tp_irq_work_entry)
{
	return handle_hardirq(true);
}

SEC("raw_tp/irq_work_entry")
int BPF_PROG(raw_irq_work_entry)
{
	return handle_hardirq(true);
}

SEC("tp_btf/irq_work_exit")
int BPF_PROG(tp_irq_work_exit)
{
	return handle_hardirq(false);
}

SEC("raw_tp/irq_work_exit")
int BPF_PROG(raw_irq_work_exit)
{
	return handle_hardirq(false);
}

SEC("tp_btf/reschedule_entry")
int BPF_PROG(tp_reschedule_entry)
{
	return handle_hardirq(true);
}

SEC("raw_tp/reschedule_entry")
int BPF_PROG(raw_reschedule_entry)
{
	return handle_hardirq(true);
}

SEC("tp_btf/reschedule_exit")
int BPF_PROG(tp_reschedule_exit)
{
	return handle_hardirq(false);
}

SEC("raw_tp/reschedule_exit")
int BPF_PROG(raw_reschedule_exit)
{
	return handle_hardirq(false);
}

SEC("tp_btf/call_function_entry")
int BPF_PROG(tp_call_function_entry)
{
	return handle_hardirq(true);
}

SEC("raw_tp/call_function_entry")
int BPF_PROG(raw_call_function_entry)
{
	return handle_hardirq(true);
}

SEC("tp_btf/call_function_exit")
int BPF_PROG(tp_call_function_exit)
{
	return handle_hardirq(false);
}

SEC("raw_tp/call_function_exit")
int BPF_PROG(raw_call_function_exit)
{
	return handle_hardirq(false);
}

SEC("tp_btf/call_function_single_entry")
int BPF_PROG(tp_call_function_single_entry)
{
	return handle_hardirq(true);
}

SEC("raw_tp/call_function_single_entry")
int BPF_PROG(raw_call_function_single_entry)
{
	return handle_hardirq(true);
}

SEC("tp_btf/call_function_single_exit")
int BPF_PROG(tp_call_function_single_exit)
{
	return handle_hardirq(false);
}

SEC("raw_tp/call_function_single_exit")
int BPF_PROG(raw_call_function_single_exit)
{
	return handle_hardirq(false);
}
