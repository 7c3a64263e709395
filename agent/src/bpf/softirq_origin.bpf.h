/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An experiment, not part of a capture: how softirqs start, as log2
 * histograms to choose irq_exit_window_ns by (irq_state.bpf.h). Loaded
 * always, run only when user space sets debug_softirq_origin (the bench's
 * WAKEFLOW_DEBUG_SOFTIRQ_ORIGIN); capture.c prints the histogram at close.
 * Part of wakeflow.bpf.c, included after stacks.bpf.h.
 */
#ifndef WAKEFLOW_SOFTIRQ_ORIGIN_BPF_H
#define WAKEFLOW_SOFTIRQ_ORIGIN_BPF_H

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

#endif
