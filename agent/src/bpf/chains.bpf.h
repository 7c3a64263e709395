/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wake chains (docs/chains.md): who woke the waker. Every task in the chain
 * scope carries its cause (struct wf_cause): the links of the wakeups that
 * made it runnable, first cause first, its own wakeup last. A target keeps
 * it in its thread state (every path that needs it has that state at hand,
 * so it costs no lookup of its own); any other task of the scope in
 * task-local storage. At sched_waking the wakee inherits the waker's cause shifted
 * by one link (cut at the depth) and the new link appended; at a target's
 * switch-in after a wakeup its cause is added to the chain map, which user
 * space drains like the edges.
 *
 * A cause is current only during the run its wakeup started. Instead of a
 * write at every blocking switch-out of every task in scope, the cause
 * records the task's voluntary switch count (nvcsw) as of its wakeup: the
 * task blocks again -> nvcsw moves -> the cause no longer matches. A
 * preemption does not count as voluntary and keeps the cause, as it should.
 * The count is final at the waking when the wakee is off its CPU (its
 * switch-out is complete: the common case). A wakee still on its CPU is on
 * its way to sleep, or about to have the sleep cancelled, and its
 * switch-out may or may not have counted yet: its cause matches the count
 * read or the one after (cause_current). The one after is only ever seen
 * by a mistake of one block, which cannot name a wrong waker: a task that
 * blocked is off its CPU, and the wakeup that brings it back rewrites its
 * cause before it can wake anyone. (sched_wakeup stamped the final count
 * before: one program run more for every wakeup of every task.)
 *
 * Under the raw_tp fallback the wakee is a bare task address, and task
 * storage needs a BTF task pointer: there the scope is the targets alone
 * (their causes live in their thread state), and a waker outside it ends a
 * chain as untracked (docs/chains.md). Part of
 * wakeflow.bpf.c, included after its settings, targets.bpf.h and
 * stacks.bpf.h.
 */
#ifndef WAKEFLOW_CHAINS_BPF_H
#define WAKEFLOW_CHAINS_BPF_H

/* Links per chain (--chains N); 1: chains off, every branch below pruned. */
const volatile __u32 chain_links = 1;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct wf_cause);
} causes SEC(".maps");

/* The aggregates: a target thread's intervals summed per chain. Sized by
 * user space (1 entry when chains are off). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct wf_chain_key);
	__type(value, struct wf_chain_val);
} chains SEC(".maps");

/* Processes whose tasks carry causes besides the targets (the targets'
 * pods, --chain-comm): one bit per pid, as target_bits. User space keeps
 * it current; the fork handler adds children at once. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WF_TARGET_BITS_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} chain_bits SEC(".maps");

static const struct wf_chain_val zero_chain;

static __always_inline bool chains_on(bool btf)
{
	(void)btf; /* both twins: raw_tp follows targets only (in_scope) */
	return chain_links > 1;
}

static __always_inline bool chain_bit(__u32 tgid)
{
	__u32 idx = (tgid >> 6) & (WF_TARGET_BITS_WORDS - 1);
	__u64 *w = bpf_map_lookup_elem(&chain_bits, &idx);

	return w && ((*w >> (tgid & 63)) & 1);
}

/* Whether tasks of process tgid carry their cause. */
static __always_inline bool in_chain_scope(__u32 tgid)
{
	return tgid && (maybe_target(tgid) || chain_bit(tgid));
}

/* The scope a twin can follow: raw_tp has no task storage for a wakee
 * (a bare task address), so only targets, whose thread state holds it. */
static __always_inline bool in_scope(__u32 tgid, bool btf)
{
	return btf ? in_chain_scope(tgid) : tgid && maybe_target(tgid);
}

/* A task's voluntary switch count, and whether it is on a CPU. */
static __always_inline __u64 task_nvcsw(struct task_struct *t, bool btf)
{
	return btf ? t->nvcsw : BPF_CORE_READ(t, nvcsw);
}

static __always_inline bool task_on_cpu(struct task_struct *t, bool btf)
{
	return btf ? t->on_cpu : BPF_CORE_READ(t, on_cpu);
}

static __always_inline __u64 mix64(__u64 h, __u64 w)
{
	h ^= w;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/* Whether cause c is of the task's current run (nvcsw: its voluntary
 * switch count now): the count its wakeup left it with, or, for a wakeup
 * that found it on its CPU, the one its switch-out then made. */
static __always_inline bool cause_current(const struct wf_cause *c, __u64 nvcsw)
{
	if (!c->n || c->gen == WF_CAUSE_VOID)
		return false;
	return nvcsw == c->gen || (c->on_cpu && nvcsw == c->gen + 1);
}

/* A link's name: its waker part without the stack ids (sampled stacks do
 * not make a chain of their own). */
static __always_inline __u64 link_hash(const struct wf_chain_link *l)
{
	const __u64 *w = (const __u64 *)l;
	__u64 h = 0x5157a9e1c0ffee11ULL;

	for (int i = 0; i < 7; i++) /* wpid .. timer_fn */
		h = mix64(h, w[i]);
	return mix64(h, w[9]); /* wsyscall, ctx, wfd, irq, softirq */
}

/* The current task's cause (thread wtid of process wtgid, in the chain
 * scope): in its thread state if it is a target, else in task storage. */
static __always_inline struct wf_cause *waker_cause(struct task_struct *cur, __u32 wtgid, __u32 wtid, bool btf)
{
	struct wf_thread *wth;

	if (maybe_target(wtgid)) {
		wth = target_thread(cur, wtgid, wtid, true, false);
		if (wth)
			return &wth->cause;
	}
	if (!btf)
		return NULL; /* raw_tp: only targets carry causes */
	return bpf_task_storage_get(&causes, cur, 0, 0);
}

/*
 * current (thread wtid of wtgid) wakes p (of process tgid; th: its state if
 * p is a target) of the chain scope; wk is the waker part of the wakeup
 * (an edge key's, filled by note_waker). p's cause becomes the waker's
 * current cause shifted by one, cut at chain_links, with this link last.
 * regs: the waker's user registers (for first-hop stacks); now: the time
 * if the edge's waking read it, else 0.
 */
static __always_inline void chain_waking(void *ctx, struct task_struct *p, __u32 tgid, struct wf_thread *th,
					 struct task_struct *cur, __u32 wtgid, __u32 wtid, const struct wf_edge_key *wk,
					 struct pt_regs *regs, __u64 now, bool btf)
{
	struct wf_cause *nc, *oc = NULL;
	struct wf_chain_link *l;
	__u32 m = 0, start = 0, keep;
	__u8 end;

	if (p == cur)
		return;
	if (th) {
		nc = &th->cause;
	} else {
		if (!btf || !in_chain_scope(tgid))
			return;
		nc = bpf_task_storage_get(&causes, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!nc) {
			stat_inc(WF_STAT_CAUSES_DROPPED);
			return;
		}
	}
	/* Void while it is rewritten: a wakee on its CPU may read its own
	 * cause meanwhile (as a waker). Its count is set last. */
	nc->gen = WF_CAUSE_VOID;
	barrier();
	if (wk->ctx != WF_BPF_CTX_TASK) {
		end = WF_CEND_INTERRUPT; /* a device or a timer: nothing before it */
	} else if (!in_scope(wtgid, btf)) {
		end = WF_CEND_UNTRACKED;
	} else {
		oc = waker_cause(cur, wtgid, wtid, btf);
		if (oc && !cause_current(oc, cur->nvcsw))
			oc = NULL; /* the waker blocked since its cause woke it */
		end = WF_CEND_NONE;
	}
	if (oc) {
		m = oc->n;
		if (m > WF_CHAIN_LINKS)
			m = WF_CHAIN_LINKS;
		end = oc->end;
		if (m + 1 > chain_links) {
			start = m + 1 - chain_links;
			end = WF_CEND_DEPTH;
		}
	}
	keep = m - start;
	for (int i = 0; i < WF_CHAIN_LINKS - 1; i++) {
		if (i >= keep || !oc)
			break;
		nc->links[i] = oc->links[(start + i) & (WF_CHAIN_LINKS - 1)];
	}
	keep &= WF_CHAIN_LINKS - 1;
	l = &nc->links[keep];
	__builtin_memcpy(l, (const char *)wk + __builtin_offsetof(struct wf_edge_key, wpid),
			 sizeof(struct wf_edge_key) - __builtin_offsetof(struct wf_edge_key, wpid));
	l->hash = link_hash(l);
	if (keep == 0 && !l->wkstack) {
		/* The first hop's stacks (an interrupt's: its kernel stack only):
		 * walked at most once per sample period per wakee, so a busy
		 * chain costs one walk a second. (A clock read is a helper
		 * call: the edge's is reused.) */
		if (!now)
			now = bpf_ktime_get_boot_ns();
		if (now - nc->last_walk_ns >= sample_period_ns) {
			nc->last_walk_ns = now;
			l->wkstack = btf ? walk_waker_kstack(ctx, cur)
					 : walk_stack(ctx, NULL, false, 0, WF_MAX_STACK_DEPTH, NULL);
			if (regs)
				l->wustack = current_user_stack(ctx, regs, wtgid, wtid, NULL);
		}
	}
	nc->n = keep + 1;
	nc->end = end;
	/* Off its CPU, the wakee's switch-out is complete and its count final
	 * (on_cpu is read first); on it, the count may still move by one
	 * (cause_current). */
	nc->on_cpu = task_on_cpu(p, btf);
	barrier();
	nc->gen = task_nvcsw(p, btf);
}

static __always_inline __u64 cause_hash(const struct wf_cause *c)
{
	__u64 h = mix64(0x3c6ef372fe94f82bULL, ((__u64)c->n << 8) | c->end);

	for (int i = 0; i < WF_CHAIN_LINKS; i++) {
		if (i >= c->n)
			break;
		h = mix64(h, c->links[i].hash);
	}
	return h;
}

/*
 * A target's interval that ended in a wakeup (k: its edge key) is added to
 * its chain: the target's current cause (in its state th), whose last link
 * is that wakeup.
 */
static __always_inline void chain_interval(struct wf_thread *th, struct task_struct *next,
					   const struct wf_edge_key *k, __u64 offcpu, __u64 runq, bool runq_known,
					   __u64 now, bool btf)
{
	struct wf_chain_key ck;
	struct wf_chain_val *v;
	const struct wf_cause *c = &th->cause;
	__u32 n;

	if (!cause_current(c, task_nvcsw(next, btf)))
		return;
	ck.tpid = k->tpid;
	ck.ttid = k->ttid;
	ck.tpstart = k->tpstart;
	ck.hash = cause_hash(c);
	v = bpf_map_lookup_elem(&chains, &ck);
	if (!v) {
		if (bpf_map_update_elem(&chains, &ck, &zero_chain, BPF_NOEXIST) == 0 || bpf_map_lookup_elem(&chains, &ck))
			v = bpf_map_lookup_elem(&chains, &ck);
		if (!v) {
			stat_inc(WF_STAT_CHAINS_DROPPED);
			return;
		}
		if (!v->n) {
			n = c->n > WF_CHAIN_LINKS ? WF_CHAIN_LINKS : c->n;
			__builtin_memcpy(v->tcomm, k->tcomm, sizeof(v->tcomm));
			__builtin_memcpy(v->tpcomm, k->tpcomm, sizeof(v->tpcomm));
			v->tsyscall = k->tsyscall;
			v->tstate = k->tstate;
			v->end = c->end;
			for (int i = 0; i < WF_CHAIN_LINKS; i++)
				v->links[i] = c->links[i];
			v->n = n;
		}
	} else if (c->links[0].wkstack) {
		/* Newer first-hop stacks (walked once per period at most). */
		v->links[0].wkstack = c->links[0].wkstack;
		v->links[0].wustack = c->links[0].wustack;
	}
	v->count++;
	v->offcpu_ns += offcpu;
	if (runq_known) {
		v->runq_ns += runq;
		v->runq_count++;
	}
	if (!v->first_ns)
		v->first_ns = now;
	v->last_ns = now;
	if (th->sampled) {
		/* The target's own link: the stacks its edge sampled. */
		n = (v->n - 1) & (WF_CHAIN_LINKS - 1);
		if (th->s_wk || th->s_wu) {
			v->links[n].wkstack = th->s_wk;
			v->links[n].wustack = th->s_wu;
		}
		v->tkstack = th->s_tk;
		v->tustack = th->s_tu;
	}
}

/* A child of a process in the chain scope is in it too (its bit at once;
 * user space's rescan keeps the map in step). */
static __always_inline void chain_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid, ctgid, idx;
	__u64 bit, *w;

	if (chain_links <= 1)
		return;
	ptgid = BPF_CORE_READ(parent, tgid);
	ctgid = BPF_CORE_READ(child, tgid);
	if (ptgid == ctgid || !chain_bit(ptgid))
		return;
	idx = (ctgid >> 6) & (WF_TARGET_BITS_WORDS - 1);
	bit = 1ULL << (ctgid & 63);
	w = bpf_map_lookup_elem(&chain_bits, &idx);
	if (w && !(*w & bit))
		__sync_fetch_and_add(w, bit); /* distinct pids' bits: an add is an or */
}

#endif
