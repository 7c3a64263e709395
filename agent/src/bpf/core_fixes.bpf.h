/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel-version differences the BPF side must bridge, in one place. Each
 * shim names the kernel change it papers over; CO-RE relocations and weak
 * ksyms pick the right branch at load time and the verifier prunes the rest.
 */
#ifndef WAKEFLOW_CORE_FIXES_BPF_H
#define WAKEFLOW_CORE_FIXES_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

/*
 * task_struct::state became __state (and unsigned int) in 5.14,
 * commit 2f064a59a11f ("sched: Change task_struct::state").
 */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

static __always_inline __s64 get_task_state(void *task)
{
	struct task_struct___x *t = task;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)task, state);
}

/*
 * hrtimer::is_soft (4.16, commit 5da70160462e "hrtimer: Implement support for
 * softirq based hrtimers") tells a callback run in HRTIMER_SOFTIRQ from one
 * run in hard interrupt context. Older kernels ran every hrtimer in hardirq.
 *
 * (Why not the preempt count: it is a per-CPU data symbol (__preempt_count,
 * or pcpu_hot.preempt_count in 6.2-6.14), and typed ksyms of data need
 * CONFIG_KALLSYMS_ALL, which our kernels do not have: the load fails with
 * "ldimm64 failed to find the address for kernel symbol". Interrupt state is
 * therefore kept per CPU from the irq, softirq and timer tracepoints.)
 */
struct hrtimer___x {
	__u8 is_soft;
} __attribute__((preserve_access_index));

static __always_inline bool hrtimer_is_soft(void *t, bool btf)
{
	struct hrtimer___x *h = t;

	if (!bpf_core_field_exists(h->is_soft))
		return false;
	/* A tp_btf argument is a BTF pointer: a plain load, no helper. */
	return btf ? h->is_soft : BPF_CORE_READ(h, is_soft);
}

#endif
