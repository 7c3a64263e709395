/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stack walking: every stack is walked into per-CPU scratch space and
 * stored once in the stacks map under our own 64-bit hash of its frames
 * (no STACK_TRACE map, whose collisions lose stacks); edges carry the hash.
 *   kernel stacks  through the ORC unwinder (orc_unwind.bpf.h) where it
 *                  can, checked against the kernel's walker now and then,
 *                  else by the kernel's bpf_get_stack/bpf_get_task_stack;
 *   user stacks    bpf_get_stack, memoized per thread and register set.
 * Part of wakeflow.bpf.c, included after its settings and stat_inc().
 */
#ifndef WAKEFLOW_STACKS_BPF_H
#define WAKEFLOW_STACKS_BPF_H

/* Every walked stack once, keyed by the hash of its frames (its id). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct wf_stack_val);
} stacks SEC(".maps");

/* User stack ids by thread, registers and frame link (current_user_stack). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct wf_ustack_memo_key);
	__type(value, __u64);
} ustack_memo SEC(".maps");

struct wf_scratch {
	struct wf_stack_val stack;
	struct wf_stack_val check; /* the kernel's walk, to compare the unwinder's with */
	__u32 orc_walks;	   /* walks by the ORC unwinder on this CPU: picks the checked ones */
	__u32 pad;
};

/* Per CPU: room for a walk and its check (too big for the BPF stack), and
 * the count of unwinder walks (kept across calls, unlike the rest). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_scratch);
} scratch SEC(".maps");

/* Bumped by user space whenever it clears the stack map: user stack ids
 * remembered per thread from an older epoch are no longer stored. */
__u32 stack_epoch = 0;

#include "orc_unwind.bpf.h"

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

static __always_inline bool orc_check_due(struct wf_scratch *s)
{
	__u32 n;

	if (orc_check_all)
		return true;
	n = s->orc_walks++;
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
	if (orc_check_due(s)) {
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

#endif
