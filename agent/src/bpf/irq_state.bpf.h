/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interrupt state: what interrupt work this CPU is doing right now, kept
 * per CPU from the irq, softirq, timer and x86 vector tracepoints (see
 * core_fixes.bpf.h for why not from the preempt count). A wakeup reads it
 * to tell whose doing the wakeup is (waker_context): a hard interrupt's, a
 * softirq's run on irq exit, or the current task's own (task context, also
 * for softirq work at its own local_bh_enable). Gives the irq, irq.softirq
 * and irq.timer facts. Part of wakeflow.bpf.c, included after task.bpf.h
 * and softirq_origin.bpf.h.
 */
#ifndef WAKEFLOW_IRQ_STATE_BPF_H
#define WAKEFLOW_IRQ_STATE_BPF_H

struct wf_cpu {
	__u64 timer_fn[2];	/* running timer callback: [1] hard irq, [0] softirq */
	__u64 hardirq_exit_ns;	/* when the last hard interrupt handler returned */
	__u64 softirq_exit_ns;	/* when the last softirq vector finished */
	__u32 hardirq_depth;	/* nested hard interrupt handlers running */
	__u8 softirq;		/* vector + 1 while one is served, else 0 */
	__u8 softirq_from_irq;	/* the vector runs on irq exit or in ksoftirqd */
	__u8 pad[2];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_cpu);
} cpu_state SEC(".maps");

static __always_inline struct wf_cpu *this_cpu(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_state, &zero);
}

/* No interrupt handler is running while the CPU switches tasks: heals the
 * per-CPU state from entry/exit pairs cut by attach or detach. */
static __always_inline void irq_state_heal(void)
{
	struct wf_cpu *cpu = this_cpu();

	if (cpu && (cpu->hardirq_depth || cpu->softirq)) {
		cpu->hardirq_depth = 0;
		cpu->softirq = 0;
	}
}

/*
 * The context of a wakeup from what this CPU is running: sets k's ctx, irq,
 * softirq and timer_fn. True when the current task (thread wtid) is the
 * waker, so its syscall and stacks are the waker's.
 */
static __always_inline bool waker_context(struct wf_edge_key *k, __u32 wtid)
{
	struct wf_cpu *cpu = this_cpu();

	if (cpu && cpu->hardirq_depth) {
		k->ctx = WF_BPF_CTX_HARDIRQ;
		k->irq = WF_IRQ_HARDIRQ;
		k->timer_fn = cpu->timer_fn[1];
		return false;
	}
	if (cpu && cpu->softirq) {
		k->irq = WF_IRQ_SOFTIRQ;
		k->softirq = cpu->softirq - 1;
		k->timer_fn = cpu->timer_fn[0];
		/* Softirq work done at local_bh_enable inside the waker's own
		 * syscall belongs to the waker (task context); on irq exit, in
		 * ksoftirqd or on the idle task it does not. */
		if (!wtid || cpu->softirq_from_irq) {
			k->ctx = WF_BPF_CTX_SOFTIRQ;
			return false;
		}
		k->ctx = WF_BPF_CTX_TASK;
		return true;
	}
	k->ctx = WF_BPF_CTX_TASK;
	return wtid != 0;
}

/* (The name read through the task's BTF pointer: plain loads, no helper.) */
static __always_inline bool is_ksoftirqd(struct task_struct *cur)
{
	const char *comm = cur->comm;

	if (!(cur->flags & PF_KTHREAD))
		return false;
	return comm[0] == 'k' && comm[1] == 's' && comm[2] == 'o' && comm[3] == 'f' && comm[4] == 't' &&
	       comm[5] == 'i' && comm[6] == 'r' && comm[7] == 'q' && comm[8] == 'd';
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
	bool from_irq, recent;
	__u64 now = 0;

	if (!cpu)
		return 0;
	/* The clock (a helper call, dear here) is read only where a time is
	 * compared: a vector's end matters only after a vector run on irq
	 * exit (the next one of that run follows it closely), and a start
	 * only when a hard irq handler returned since the last start or the
	 * last vector ran on irq exit. Under a loopback proxy most softirqs
	 * run at local_bh_enable in a task's send and need neither. */
	if (!entry) {
		cpu->softirq = 0;
		cpu->softirq_exit_ns = cpu->softirq_from_irq ? bpf_ktime_get_boot_ns() : 0;
		return 0;
	}
	recent = cpu->hardirq_exit_ns || (cpu->softirq_from_irq && cpu->softirq_exit_ns);
	if (recent || debug_softirq_origin)
		now = bpf_ktime_get_boot_ns();
	cur = bpf_get_current_task_btf();
	from_irq = cur->pid == 0 || is_ksoftirqd(cur) ||
		   (recent && cpu->hardirq_exit_ns && now - cpu->hardirq_exit_ns <= irq_exit_window_ns) ||
		   (recent && cpu->softirq_from_irq && cpu->softirq_exit_ns &&
		    now - cpu->softirq_exit_ns <= irq_exit_window_ns);
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

#endif
