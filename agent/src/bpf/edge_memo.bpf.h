/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Adding an interval to its edge, and each thread's memo of its last edge.
 *
 * A target thread meets the edge of its previous interval again most of
 * the time (a worker woken by the same peer over the same socket). Such a
 * repeated interval is added to the thread's memo (struct wf_edge_memo)
 * instead of the edges map: no lookup of the 152-byte key (~37 ns per
 * switch-in, docs/performance.md). The memo holds only intervals that are
 * not in the map yet, summed exactly as the map would sum them
 * (val_add_interval serves both), and goes into the map (memo_flush) when
 * the thread meets another edge, when it exits or its tid is reused, and
 * at every drain.
 *
 * The drain must collect memos that their threads keep writing, without an
 * atomic operation on the switch path. So each thread has two, chosen by
 * the parity of drain_epoch, and a memo is written only by its own thread's
 * programs while its epoch is current. User space bumps drain_epoch, waits
 * for every program that may have read the old value to finish (an RCU
 * grace period: capture_threads.c), then runs util_drain_memos, which
 * moves every memo of an older epoch into the map; only then does it read
 * the map. An older memo may also be moved by its thread's exit or reuse,
 * or by the thread itself when a failed drain left one in its current
 * bank: whoever moves it first claims it (a compare-and-swap of its epoch
 * to 0), so none is added twice.
 *
 * Part of wakeflow.bpf.c, included after its settings, its maps of threads
 * and edges and stat_inc().
 */
#ifndef WAKEFLOW_EDGE_MEMO_BPF_H
#define WAKEFLOW_EDGE_MEMO_BPF_H

/* Off (WAKEFLOW_EDGE_MEMO=off, for tests): every interval goes to the map. */
const volatile bool edge_memo = true;

/* Bumped by user space before each drain (never 0: a memo of epoch 0 is empty). */
__u32 drain_epoch = 1;

static __always_inline void stat_add(__u32 which, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += n; /* per-CPU: no atomics needed */
}

/* One interval into v, an edge's sums in the map or in a memo: the
 * target's stacks and the waker's if this interval sampled them. */
static __always_inline void val_add_interval(struct wf_edge_val *v, const struct wf_thread *th, __u64 offcpu,
					     __u64 runq, bool runq_known, __u64 now)
{
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
}

/* k's edge in the map, created on its first interval; NULL: the map is full. */
static __always_inline struct wf_edge_val *edge_get(const struct wf_edge_key *k)
{
	struct wf_edge_val *v = bpf_map_lookup_elem(&edges, k);

	if (!v && (bpf_map_update_elem(&edges, k, &zero_edge, BPF_NOEXIST) == 0 || bpf_map_lookup_elem(&edges, k)))
		v = bpf_map_lookup_elem(&edges, k);
	return v;
}

/* A memo's intervals into the map. They are all later than the map's
 * intervals of that edge (only this thread adds to it, in order), so the
 * result is the one adding them one by one would have given. */
static __always_inline void memo_flush(struct wf_edge_memo *m)
{
	struct wf_edge_val *v;

	if (!m->val.count)
		return;
	v = edge_get(&m->key);
	if (!v) {
		stat_add(WF_STAT_EDGES_DROPPED, m->val.count);
		return;
	}
	v->count += m->val.count;
	v->offcpu_ns += m->val.offcpu_ns;
	v->runq_ns += m->val.runq_ns;
	v->runq_count += m->val.runq_count;
	if (m->val.offcpu_max_ns > v->offcpu_max_ns)
		v->offcpu_max_ns = m->val.offcpu_max_ns;
	if (!v->first_ns)
		v->first_ns = m->val.first_ns;
	v->last_ns = m->val.last_ns;
	if (m->val.last_sample_ns) {
		v->last_sample_ns = m->val.last_sample_ns;
		v->wkstack = m->val.wkstack;
		v->wustack = m->val.wustack;
		v->tkstack = m->val.tkstack;
		v->tustack = m->val.tustack;
	}
}

/* Moves a memo of an epoch other than current into the map, unless another
 * mover claimed it first. current == 0 moves a memo of any epoch (a thread
 * exiting or reused: its own programs no longer run). */
static __always_inline void memo_claim_flush(struct wf_edge_memo *m, __u32 current)
{
	__u32 ep = m->epoch;

	if (!ep || ep == current)
		return;
	if (__sync_val_compare_and_swap(&m->epoch, ep, 0) == ep)
		memo_flush(m);
}

/*
 * Adds one interval to k's edge: to the thread's memo if k is the edge the
 * memo holds, else to the map, after moving the memo there; the memo then
 * holds k (empty), and k is the thread's last edge (last_key, with
 * th->last_sample_ns: sample_due). An interval that finds the map full is
 * dropped, and the last edge stays what it was, as without the memo.
 */
static __always_inline void add_interval(struct wf_thread *th, struct wf_edge_key *k, __u64 offcpu, __u64 runq,
					 bool runq_known, __u64 now)
{
	__u32 e = drain_epoch, bank = e & 1;
	struct wf_edge_memo *m = &th->memo[bank];
	struct wf_edge_val *v;

	if (edge_memo) {
		if (m->epoch == e && same_key(&m->key, k)) {
			val_add_interval(&m->val, th, offcpu, runq, runq_known, now);
			if (th->sampled)
				th->last_sample_ns = now;
			stat_inc(WF_STAT_EDGE_MEMO_HITS);
			return;
		}
		if (m->epoch == e)
			memo_flush(m); /* ours alone while its epoch is current */
		else
			memo_claim_flush(m, e); /* left by a drain that did not finish */
		m->epoch = 0;		/* empty until it holds k */
	}
	v = edge_get(k);
	if (!v) {
		stat_inc(WF_STAT_EDGES_DROPPED);
		return;
	}
	/* The key names the target thread, whose switch-ins are never
	 * concurrent: plain adds suffice. */
	val_add_interval(v, th, offcpu, runq, runq_known, now);
	th->last_sample_ns = v->last_sample_ns;
	m->key = *k;
	th->last_bank = bank;
	if (edge_memo) {
		__builtin_memset(&m->val, 0, sizeof(m->val));
		m->epoch = e;
	}
}

/* The key of the thread's previous interval (valid once last_sample_ns is
 * set: add_interval writes both). */
static __always_inline const struct wf_edge_key *last_key(const struct wf_thread *th)
{
	return &th->memo[th->last_bank & 1].key;
}

/* A thread that exits or whose tid is reused: both memos into the map. */
static __always_inline void memo_flush_all(struct wf_thread *th)
{
	memo_claim_flush(&th->memo[0], 0);
	memo_claim_flush(&th->memo[1], 0);
}

/* util_drain_memos, per thread state: the memo of the epoch before. */
static long drain_memo_of(struct bpf_map *map, const void *key, void *value, void *ctx)
{
	struct wf_thread *th = value;
	__u32 e = drain_epoch;

	(void)map;
	(void)key;
	(void)ctx;
	memo_claim_flush(&th->memo[(e & 1) ^ 1], e);
	return 0;
}

#endif
