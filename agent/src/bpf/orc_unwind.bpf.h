/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A kernel stack walker in BPF that reads the kernel's own ORC unwind table.
 *
 * Why: bpf_get_stack()/bpf_get_task_stack() cost about 250 ns per frame on
 * kernels with retpoline and SRSO return thunks (each step of the kernel's
 * unwinder is a dozen calls), and a walk from inside a tracepoint program
 * also steps through the helper, the JIT-ed program and the tracepoint glue
 * before it reaches the first frame anyone wants. --stacks full walks two
 * or three kernel stacks per context switch, so that cost was most of its
 * overhead (docs/performance.md).
 *
 * What: the same algorithm as the kernel's unwind_next_frame()
 * (arch/x86/kernel/unwind_orc.c) for the frames a sleeping or waking task
 * has on its own stack: find the ORC entry of each return address, step to
 * the caller's frame by the entry's stack offset, read the next return
 * address there, stop at the user registers at the top of the stack. The
 * stack is copied once per walk; the table lookups are array lookups the
 * verifier inlines. Anything else the kernel's walker handles specially
 * (interrupt frames, module or BPF text, frames found through the frame
 * pointer, return trampolines, an irq stack) makes the walk give up with -1
 * and the caller falls back to the kernel's helper, so a frame list from
 * here is always the one the kernel would have produced. Callers also
 * compare with the kernel's walk now and then (wakeflow.bpf.c) and turn
 * this walker off for good on any difference.
 *
 * The table comes from user space (orc.c): the kernel's .orc_unwind_ip and
 * .orc_unwind sections, read once at start-up, reindexed by 256-byte block
 * of text like the kernel's own orc_lookup.
 */
#ifndef WAKEFLOW_ORC_UNWIND_BPF_H
#define WAKEFLOW_ORC_UNWIND_BPF_H

/*
 * Set before load when --stacks full will use the walker. Otherwise the
 * verifier drops every path to it, so kernels without bpf_loop (before
 * 5.17) still load the programs.
 */
const volatile bool orc_walker = false;
/* Written by user space after load (all zero: the walker is not used). */
struct wf_unwind_cfg unwind_cfg = {};
/* Set when a walk differed from the kernel's: the kernel walks from then on. */
__u32 unwind_off = 0;

/* Per block of text: index of the last entry at or before the block start. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* sized by user space */
	__type(key, __u32);
	__type(value, __u32);
} orc_blocks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* sized by user space */
	__type(key, __u32);
	__type(value, struct wf_orc_entry);
} orc_entries SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WF_ORC_MAX_KINDS);
	__type(key, __u32);
	__type(value, struct wf_orc_kind);
} orc_kinds SEC(".maps");

/* 8 KiB of stack, half a task's: deeper stacks are left to the kernel. */
#define WF_UNWIND_COPY_WORDS 1024
#define WF_UNWIND_MAX_STEPS 160

struct wf_stack_copy {
	__u64 w[WF_UNWIND_COPY_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_stack_copy);
} stack_copy SEC(".maps");

/* Where a walk starts. */
struct wf_unwind_start {
	__u64 lo;	 /* the stack is copied from here ...                      */
	__u64 end;	 /* ... up to the task's user registers (struct pt_regs)  */
	__u64 ip_at;	 /* address of the first return address                   */
	__u64 bp_at;	 /* address of the saved frame pointer register, or 0     */
	__u64 expect_ip; /* the value ip_at must hold, or 0 for any               */
	__u32 max;	 /* frames to keep                                        */
	__u32 nosched;	 /* leave out scheduler and lock functions, as
			  * stack_trace_save_tsk() does for a sleeping task       */
};

static __always_inline bool unwind_usable(void)
{
	return orc_walker && unwind_cfg.ready && !unwind_off;
}

static __always_inline bool nosched_text(__u64 ip)
{
	return (ip >= unwind_cfg.sched_start && ip < unwind_cfg.sched_end) ||
	       (ip >= unwind_cfg.lock_start && ip < unwind_cfg.lock_end);
}

/* The ORC entry covering ip, as orc_find() would return it, or NULL. */
static __always_inline struct wf_orc_kind *orc_find(__u64 ip)
{
	struct wf_orc_entry *e;
	__u32 off, b, lo, hi, *p, kind;

	if (ip < unwind_cfg.text_start || ip >= unwind_cfg.text_end)
		return NULL;
	off = ip - unwind_cfg.text_start;
	b = off >> WF_ORC_BLOCK_SHIFT;
	p = bpf_map_lookup_elem(&orc_blocks, &b);
	if (!p)
		return NULL;
	lo = *p;
	b++;
	p = bpf_map_lookup_elem(&orc_blocks, &b);
	if (!p)
		return NULL;
	hi = *p;
	/* The last entry at or before off is in [lo, hi]. A fixed number of
	 * halvings, without branches on the comparison: the verifier would
	 * otherwise follow both ways of each. */
	for (int i = 0; i < WF_ORC_SEARCH_STEPS; i++) {
		__u32 mid = lo + (hi - lo + 1) / 2;
		__u64 le;

		e = bpf_map_lookup_elem(&orc_entries, &mid);
		if (!e)
			return NULL;
		le = 1 - (((__u64)off - (__u64)e->ip) >> 63); /* e->ip <= off */
		lo += (__u32)le * (mid - lo);
		hi -= (__u32)(1 - le) * (hi - mid + 1);
	}
	if (lo != hi)
		return NULL;
	e = bpf_map_lookup_elem(&orc_entries, &lo);
	if (!e || e->ip > off)
		return NULL;
	kind = e->kind;
	return bpf_map_lookup_elem(&orc_kinds, &kind);
}

/* The frames found so far, per CPU (the callers copy them out). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_stack_val);
} orc_frames SEC(".maps");

/* One walk in progress: the unwinder's registers and where it stands. */
struct wf_walk {
	__u64 lo, len, end; /* the copied stack */
	__u64 ip, sp, bp;
	__u32 bp_known, nosched, n, max;
	__u32 signal; /* the last entry's signal bit: ip is not a return address */
	int status;   /* WALK_ON, WALK_DONE, or WALK_GIVE_UP */
};
#define WALK_ON 0
#define WALK_DONE 1
#define WALK_GIVE_UP (-1)

/* A word of the copied stack [lo, lo + len), or false outside it. */
static __always_inline bool stack_word(const struct wf_stack_copy *cp, const struct wf_walk *w, __u64 addr,
				       __u64 *v)
{
	__u64 off = addr - w->lo;

	if (addr < w->lo || (off & 7) || off + 8 > w->len || off >= sizeof(cp->w))
		return false;
	*v = cp->w[(off >> 3) & (WF_UNWIND_COPY_WORDS - 1)];
	return true;
}

/* One frame: keeps w->ip, then steps to the caller (unwind_next_frame()). */
static long orc_step(__u32 i, struct wf_walk *w)
{
	__u32 zero = 0;
	struct wf_stack_copy *cp = bpf_map_lookup_elem(&stack_copy, &zero);
	struct wf_stack_val *out = bpf_map_lookup_elem(&orc_frames, &zero);
	struct wf_orc_kind *k;
	__u64 ip = w->ip, nsp, bp = w->bp;

	w->status = WALK_GIVE_UP;
	if (!cp || !out || ip == unwind_cfg.trampoline[0] || ip == unwind_cfg.trampoline[1])
		return 1;
	if (!w->nosched || !nosched_text(ip)) {
		__u32 n = w->n;

		if (n >= w->max || n >= WF_MAX_STACK_DEPTH) {
			w->status = WALK_DONE;
			return 1;
		}
		out->ip[n] = ip;
		w->n = n + 1;
	}
	/* A return address follows its call: look up the call itself. */
	k = orc_find(w->signal ? ip : ip - 1);
	if (!k)
		return 1;
	if (k->type == WF_ORC_TYPE_END_OF_STACK) {
		w->status = WALK_DONE;
		return 1;
	}
	if (k->sp_reg == WF_ORC_REG_SP)
		nsp = w->sp + k->sp_offset;
	else if (k->sp_reg == WF_ORC_REG_BP && w->bp_known)
		nsp = w->bp + k->sp_offset;
	else
		return 1;
	if (k->type == WF_ORC_TYPE_REGS) {
		/* The registers user space entered with: the kernel stops here
		 * (the next address is not kernel text). Any other register
		 * frame is an interrupt: left to the kernel. */
		if (nsp == w->end)
			w->status = WALK_DONE;
		return 1;
	}
	if (k->type != WF_ORC_TYPE_CALL || nsp <= w->sp || !stack_word(cp, w, nsp - 8, &ip))
		return 1;
	if (k->bp_reg == WF_ORC_REG_PREV_SP) {
		if (!stack_word(cp, w, nsp + k->bp_offset, &bp))
			return 1;
		w->bp_known = 1;
	} else if (k->bp_reg == WF_ORC_REG_BP) {
		if (!w->bp_known || !stack_word(cp, w, w->bp + k->bp_offset, &bp))
			return 1;
	} else if (k->bp_reg != WF_ORC_REG_UNDEFINED) {
		return 1;
	}
	w->ip = ip;
	w->sp = nsp;
	w->bp = bp;
	w->signal = k->signal;
	w->status = WALK_ON;
	return 0;
}

/*
 * Walks from *st into out (innermost frame first); returns the number of
 * frames, or -1 where the kernel's walker must do it. A global function:
 * the verifier checks it once, not at every call site; the steps run under
 * bpf_loop() for the same reason.
 */
__noinline int wf_orc_walk(struct wf_unwind_start *st, struct wf_stack_val *out)
{
	struct wf_walk w = {};
	struct wf_stack_copy *cp;
	struct wf_stack_val *frames;
	__u32 zero = 0;

	/* Global functions are verified even where nothing calls them: this
	 * makes the rest dead code where the walker is off. */
	if (!orc_walker || !st || !out)
		return -1;
	cp = bpf_map_lookup_elem(&stack_copy, &zero);
	frames = bpf_map_lookup_elem(&orc_frames, &zero);
	if (!cp || !frames)
		return -1;
	w.lo = st->lo;
	w.end = st->end;
	w.len = st->end - st->lo;
	w.max = st->max;
	w.nosched = st->nosched;
	if (st->end <= st->lo || w.len > sizeof(cp->w))
		return -1;
	if (bpf_probe_read_kernel(cp->w, w.len, (void *)st->lo))
		return -1;
	if (!stack_word(cp, &w, st->ip_at, &w.ip) || (st->expect_ip && w.ip != st->expect_ip) ||
	    w.ip == unwind_cfg.fork_ret)
		return -1;
	if (st->bp_at) {
		if (!stack_word(cp, &w, st->bp_at, &w.bp))
			return -1;
		w.bp_known = 1;
	}
	w.sp = st->ip_at + 8;
	w.status = WALK_ON;
	bpf_loop(WF_UNWIND_MAX_STEPS, orc_step, &w, 0);
	if (w.status != WALK_DONE || !w.n || w.n > WF_MAX_STACK_DEPTH)
		return -1;
	for (__u32 i = 0; i < WF_MAX_STACK_DEPTH; i++) {
		if (i >= w.n)
			break;
		out->ip[i] = frames->ip[i];
	}
	out->nr = w.n;
	out->user = 0;
	return w.n;
}

#endif
