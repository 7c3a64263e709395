/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types shared by the BPF programs (wakeflow.bpf.c) and the user-space side
 * of the live capture (capture.c). Only fixed-size fields: the same bytes
 * are map keys and values on both sides.
 */
#ifndef WAKEFLOW_WAKEFLOW_H
#define WAKEFLOW_WAKEFLOW_H

#define WF_TASK_COMM_LEN 16
#define WF_MAX_STACK_DEPTH 127
/* Frames walked when only the reason of a preemption is wanted. */
#define WF_SHALLOW_DEPTH 16
/* Words of the target pid bitmap: covers pid_max up to its limit, 2^22. */
#define WF_TARGET_BITS_WORDS 65536

/* Wake context; same numbering as enum wf_context in edge.h. */
#define WF_BPF_CTX_NONE 0
#define WF_BPF_CTX_TASK 1
#define WF_BPF_CTX_SOFTIRQ 2
#define WF_BPF_CTX_HARDIRQ 3
#define WF_BPF_CTX_UNKNOWN 4

/* enum wf_switch_kind */
#define WF_BPF_KIND_BLOCKED 0
#define WF_BPF_KIND_PREEMPTED 1

/* target.state */
#define WF_TSTATE_RUNNABLE 0
#define WF_TSTATE_SLEEPING 1
#define WF_TSTATE_UNINTERRUPTIBLE 2

/* target.resched (runnable switch-outs only) */
#define WF_RESCHED_NONE 0
#define WF_RESCHED_COND 1	 /* cond_resched / might_resched in the kernel */
#define WF_RESCHED_USER_RETURN 2 /* schedule() on the way back to user space */
#define WF_RESCHED_IRQ 3	 /* kernel preemption: irq return or preempt_enable */
#define WF_RESCHED_YIELD 4	 /* sched_yield */

/* waker.fd */
#define WF_FD_NONE 0
#define WF_FD_EVENTFD 1
#define WF_FD_PIPE 2
#define WF_FD_TCP 3
#define WF_FD_UDP 4
#define WF_FD_UNIX 5
#define WF_FD_SOCKET 6
#define WF_FD_TIMERFD 7
#define WF_FD_SIGNALFD 8
#define WF_FD_FILE 9
#define WF_FD_OTHER 10

/* irq */
#define WF_IRQ_NONE 0
#define WF_IRQ_HARDIRQ 1
#define WF_IRQ_SOFTIRQ 2

#define WF_SOFTIRQ_NONE 0xff

/* edge key flags */
#define WF_EF_PREEMPT 0x1 /* sched_switch's preempt argument */
#define WF_EF_LONG 0x2	  /* a long block: stacks are part of the key */

/*
 * One edge: what every off-CPU interval aggregated into it shares. The
 * target part is filled at switch-out, the waker part at the wakeup (for
 * preemptions it names the task that took the CPU); the waker part is kept
 * contiguous and last so a wakeup seen before the switch-out can be kept.
 * Stack ids are part of the key in --stacks full mode and for long blocks;
 * otherwise zero (the sampled stacks then live in the value).
 */
struct wf_edge_key {
	/* target part */
	__u32 tpid, ttid;
	__u64 tpstart; /* target process start time (boot ns): pid reuse never mixes */
	char tcomm[WF_TASK_COMM_LEN];
	char tpcomm[WF_TASK_COMM_LEN];
	__u64 tkstack, tustack;
	__s16 tsyscall; /* -1: not in a syscall */
	__u8 kind, tstate, resched, flags;
	__u8 tpad[2];
	/* waker part */
	__u32 wpid, wtid;
	__u64 wpstart;
	char wcomm[WF_TASK_COMM_LEN];
	char wpcomm[WF_TASK_COMM_LEN];
	__u64 timer_fn; /* hrtimer/timer callback running at the wakeup, or 0 */
	__u64 wkstack, wustack;
	__s16 wsyscall;
	__u8 ctx, wfd, irq, softirq;
	__u8 wpad[2]; /* keys are compared bytewise: keep every byte defined */
};
/* The BPF side compares keys a word at a time (same_key): no tail bytes. */
_Static_assert(sizeof(struct wf_edge_key) % 8 == 0, "struct wf_edge_key must be a whole number of 64-bit words");

struct wf_edge_val {
	__u64 count;
	__u64 offcpu_ns;
	__u64 offcpu_max_ns;
	__u64 runq_ns;
	__u64 runq_count; /* intervals whose run-queue delay is known */
	__u64 first_ns, last_ns; /* bpf_ktime_get_boot_ns */
	__u64 last_sample_ns;
	/* sampled stacks (default mode); 0 = not walked */
	__u64 wkstack, wustack, tkstack, tustack;
};

/*
 * Wake chains (docs/chains.md). Every task in the chain scope (targets,
 * the tasks of their pods, --chain-comm processes) carries its cause in
 * task-local storage: the links of wakeups that made it runnable, first
 * cause first, its own wakeup last. A link is the waker part of an edge key
 * (same bytes, same meaning: identity, context, facts; the stack ids are
 * the first hop's, when sampled) plus the hash that names it in a chain.
 */
#define WF_CHAIN_LINKS 4 /* = WF_CHAIN_MAX_LINKS of chain.h */
/* ended_by: same numbering as enum wf_chain_end in chain.h */
#define WF_CEND_NONE 0
#define WF_CEND_INTERRUPT 1
#define WF_CEND_DEPTH 2
#define WF_CEND_UNTRACKED 3
/* wf_cause.gen while the cause is rewritten: matches no count. */
#define WF_CAUSE_VOID (~0ULL)

struct wf_chain_link {
	/* The waker part of struct wf_edge_key, byte for byte. */
	__u32 wpid, wtid;
	__u64 wpstart;
	char wcomm[WF_TASK_COMM_LEN];
	char wpcomm[WF_TASK_COMM_LEN];
	__u64 timer_fn;
	__u64 wkstack, wustack;
	__s16 wsyscall;
	__u8 ctx, wfd, irq, softirq;
	__u8 wpad[2];
	__u64 hash; /* of everything above but the stack ids */
};
_Static_assert(__builtin_offsetof(struct wf_chain_link, hash) ==
		       sizeof(struct wf_edge_key) - __builtin_offsetof(struct wf_edge_key, wpid),
	       "struct wf_chain_link must start with the waker part of struct wf_edge_key");

struct wf_cause {
	/* The task's voluntary switch count (nvcsw) when this cause began: the
	 * cause is current only while it is unchanged (a blocking switch-out
	 * increments it, a preemption does not). */
	__u64 gen;
	__u64 last_walk_ns; /* first-hop stacks walked for this task (rate limit) */
	__u8 n;		    /* links; 0: none */
	__u8 end;	    /* WF_CEND_*: why there is no earlier link */
	__u8 on_cpu;	    /* the wakee was on its CPU at the waking (cause_current) */
	__u8 pad[5];
	struct wf_chain_link links[WF_CHAIN_LINKS];
};

/* A chain aggregate: the target thread and a hash of its links. */
struct wf_chain_key {
	__u32 tpid, ttid;
	__u64 tpstart;
	__u64 hash;
};

struct wf_chain_val {
	__u64 count;
	__u64 offcpu_ns;
	__u64 runq_ns;
	__u64 runq_count;
	__u64 first_ns, last_ns; /* bpf_ktime_get_boot_ns */
	char tcomm[WF_TASK_COMM_LEN];
	char tpcomm[WF_TASK_COMM_LEN];
	__u64 tkstack, tustack; /* the target's stacks, sampled with its edge */
	__s16 tsyscall;		/* the syscall the target slept in, or -1 */
	__u8 tstate;
	__u8 n, end;
	__u8 pad[3];
	struct wf_chain_link links[WF_CHAIN_LINKS];
};

/* A walked stack, keyed by a hash of its frames. */
struct wf_stack_val {
	__u32 nr;
	__u32 user;
	__u64 ip[WF_MAX_STACK_DEPTH];
};

/* Memo of user stacks: the same registers and frame link at a blocking
 * site mean the same user stack, so steady event loops never re-walk. */
struct wf_ustack_memo_key {
	__u32 tid, pid;
	__u64 ip, sp, bp, ret;
};

/* Per-thread totals since the last drain (the daemon's series). */
struct wf_totals_key {
	__u32 tid, pid;
	__u64 pstart;
};

struct wf_totals_val {
	char comm[WF_TASK_COMM_LEN];
	char pcomm[WF_TASK_COMM_LEN];
	__u64 oncpu_ns, preempted_ns, blocked_ns, runq_ns;
	__u64 switches, involuntary, wakeups;
};

/*
 * A thread's memo of its last edge (wakeflow.bpf.c, add_interval): the
 * intervals of key that are not yet in the edges map, summed as the edge
 * would sum them. A thread meets the edge of its previous interval again
 * most of the time, and adding here costs no lookup of the 152-byte key.
 * Two per thread, by the parity of drain_epoch: user space bumps the epoch
 * before a drain, waits until no program can still write the other one,
 * then has the kernel move it into the edges map (util_drain_memos). epoch: the
 * drain_epoch whose intervals val holds; 0: empty.
 */
struct wf_edge_memo {
	struct wf_edge_key key;
	struct wf_edge_val val;
	__u32 epoch;
	__u32 pad;
};

/*
 * Per target thread: the interval in progress and cumulative totals. Kept
 * in a direct-mapped array by tid (thread_slots, slot_tid says whose) and,
 * for a thread whose slot another holds, in a hash keyed by tid (threads).
 * User space reads tot to derive per-window deltas; when a thread exits
 * its final tot moves to the totals map.
 */
struct wf_thread {
	__u64 pstart;  /* start time of the process this state belongs to */
	__u32 tgid;
	__u32 mk_epoch; /* stack_epoch when tu_id was stored */
	__u64 ts_in;   /* last switch-in; 0 if not seen yet */
	__u64 ts_out;  /* switch-out of the current interval; 0 while on CPU */
	__u64 ts_wake;
	__u64 tu_id;   /* target user stack at switch-out */
	__u64 mk_ip, mk_sp, mk_bp; /* registers that user stack belongs to */
	__u64 s_wk, s_wu, s_tk, s_tu; /* stacks walked for this interval */
	__u64 early_ts; /* a wakeup seen while the thread was still switching out */
	__u64 last_sample_ns; /* of the edge of the previous interval */
	__u8 woken;
	__u8 sampled;
	__u8 last_bank; /* memo[last_bank].key is the edge of the previous interval */
	__u8 pad[5];
	struct wf_totals_val tot;
	struct wf_edge_key key;
	struct wf_edge_key early; /* waker part of that early wakeup */
	struct wf_edge_memo memo[2];
	/* A target's wake chain cause (docs/chains.md): kept here rather than
	 * in task storage because every path that reads or writes it (the
	 * waking, the wakeup, the switch-in) has this state at hand already;
	 * other tasks of the chain scope keep theirs in task storage. */
	struct wf_cause cause;
	/* thread_slots only: the tid owning the slot, 0 while free (last, so
	 * clearing the rest never frees it midway: targets.bpf.h). */
	__u32 slot_tid;
	__u32 slot_pad;
};

/* What the user side asked to trace. pstart 0: bind to the process seen first. */
#define WF_TARGET_BY_PID 0x1
#define WF_TARGET_BY_COMM 0x2
struct wf_target {
	__u64 pstart;
	__u32 flags;
	__u32 pad;
};

/* Health counters (a per-CPU array indexed by these). */
enum wf_stat {
	WF_STAT_EVENTS = 0,
	WF_STAT_EDGES_DROPPED,
	WF_STAT_STACKS_DROPPED,
	WF_STAT_STATE_DROPPED,
	WF_STAT_RINGBUF_DROPPED,
	WF_STAT_STACKS_WALKED,
	WF_STAT_USTACK_MEMO_HITS,
	WF_STAT_WAKEUPS_UNSEEN,
	WF_STAT_TOTALS_DROPPED,
	WF_STAT_ORC_WALKS,	/* kernel stacks walked by our ORC unwinder */
	WF_STAT_ORC_CHECKS,	/* ... of which also walked by the kernel, to compare */
	WF_STAT_ORC_MISMATCHES, /* ... and found different: the unwinder turns itself off */
	WF_STAT_CHAINS_DROPPED, /* chain map full: the interval's chain is lost (its edge is not) */
	WF_STAT_CAUSES_DROPPED, /* task storage refused: a task's cause was not recorded */
	WF_STAT_EDGE_MEMO_HITS, /* intervals added to their thread's memo of its last edge */
	WF_STAT__COUNT,
};

/* Process lifecycle events for user space (ring buffer). */
#define WF_PEV_EXEC 1
#define WF_PEV_EXIT 2
#define WF_PEV_FORK 3
struct wf_proc_event {
	__u32 type;
	__u32 pid;
	__u32 ppid;
	__u32 target; /* 1 if the process was being traced */
	__u64 pstart;
	char comm[WF_TASK_COMM_LEN];
};

/* Address ranges of kernel functions the BPF side compares frames and
 * function pointers against (filled from /proc/kallsyms). */
enum wf_ksym {
	WF_KSYM_COND_RESCHED = 0,
	WF_KSYM_PREEMPT_SCHEDULE_IRQ,
	WF_KSYM_PREEMPT_SCHEDULE,
	WF_KSYM_PREEMPT_SCHEDULE_NOTRACE,
	WF_KSYM_EVENTFD_POLL,
	WF_KSYM_PIPE_POLL,
	WF_KSYM_SOCK_POLL,
	WF_KSYM_TIMERFD_POLL,
	WF_KSYM_SIGNALFD_POLL,
	WF_KSYM_IRQ_EXIT_RCU,	      /* experiment only (debug_softirq_origin) */
	WF_KSYM_LOCAL_BH_ENABLE_IP, /* experiment only */
	WF_KSYM__COUNT,
};

/*
 * The kernel's ORC unwind table (arch/x86/include/asm/orc_types.h, the
 * layout of 6.4 and later), reindexed by user space (orc.c) for the BPF
 * unwinder (orc_unwind.bpf.h): entries sorted by address as offsets from
 * the start of the kernel's text, the few distinct frame descriptions
 * stored once, and per 256-byte block of text the range of entries to
 * search.
 */
#define WF_ORC_BLOCK_SHIFT 8
#define WF_ORC_SEARCH_STEPS 12 /* a block's range holds fewer than 2^12 entries */
#define WF_ORC_MAX_KINDS 4096

#define WF_ORC_TYPE_UNDEFINED 0
#define WF_ORC_TYPE_END_OF_STACK 1
#define WF_ORC_TYPE_CALL 2
#define WF_ORC_TYPE_REGS 3
#define WF_ORC_TYPE_REGS_PARTIAL 4

#define WF_ORC_REG_UNDEFINED 0
#define WF_ORC_REG_PREV_SP 1
#define WF_ORC_REG_BP 4
#define WF_ORC_REG_SP 5

struct wf_orc_entry {
	__u32 ip;   /* offset from the start of the kernel's text */
	__u16 kind; /* index into the kinds */
	__u16 pad;
};

/* How to find the caller's frame from an address (struct orc_entry). */
struct wf_orc_kind {
	__s16 sp_offset;
	__s16 bp_offset;
	__u8 sp_reg;
	__u8 bp_reg;
	__u8 type;
	__u8 signal;
};

/* Set by user space once the table is loaded (zero: the unwinder is off). */
struct wf_unwind_cfg {
	__u64 text_start, text_end; /* the table covers [text_start, text_end) */
	/* Frames the kernel leaves out of a sleeping task's stack
	 * (in_sched_functions): scheduler and lock text. */
	__u64 sched_start, sched_end, lock_start, lock_end;
	/* Return trampolines (function graph tracer, rethook): the real return
	 * address is elsewhere; the kernel's walker handles them. */
	__u64 trampoline[2];
	/* Where a new task that never ran "returns" to: its saved frame is not
	 * a call frame (the kernel marks it with its signal flag). */
	__u64 fork_ret;
	__u32 ready;
	__u32 pad;
};

#endif
