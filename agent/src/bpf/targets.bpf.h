/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which processes are traced: the targets map user space fills (by pid, and
 * by name on exec), a pid bitmap in step with it that filters every other
 * task without a helper call, the lookup of a target thread's state
 * (target_thread: thread_slots, else threads), and the exec, fork and exit
 * handlers that keep the set current and tell user space (proc_events).
 * Part of wakeflow.bpf.c, included after its maps of threads and totals,
 * task.bpf.h and edge_memo.bpf.h.
 */
#ifndef WAKEFLOW_TARGETS_BPF_H
#define WAKEFLOW_TARGETS_BPF_H

/* The traced processes, by tgid (struct wf_target: how each was chosen). */
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

/* Exec, fork and exit of traced processes (and every exec with --comm). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} proc_events SEC(".maps");

/* The bitmap's answer: false means certainly not traced. */
static __always_inline bool maybe_target(__u32 tgid)
{
	__u32 idx = (tgid >> 6) & (WF_TARGET_BITS_WORDS - 1);
	__u64 *w = bpf_map_lookup_elem(&target_bits, &idx);

	return w && ((*w >> (tgid & 63)) & 1);
}

/* A thread's state, wherever it is kept: in its slot (one inlined array
 * lookup), else in the hash, where a thread whose slot another holds
 * lives. It may be a stale one of a tid that was reused: see pstart. */
static __always_inline struct wf_thread *thread_state(__u32 tid)
{
	__u32 slot = tid & thread_slot_mask;
	struct wf_thread *th = bpf_map_lookup_elem(&thread_slots, &slot);

	if (th && th->slot_tid == tid)
		return th;
	return bpf_map_lookup_elem(&threads, &tid);
}

/* New state for tid: its slot if free (claimed by compare-and-swap: two
 * CPUs may create colliding tids at once), else an entry of the hash. */
static __always_inline struct wf_thread *thread_create(__u32 tid)
{
	__u32 slot = tid & thread_slot_mask;
	struct wf_thread *th = bpf_map_lookup_elem(&thread_slots, &slot);

	if (th && !th->slot_tid && __sync_val_compare_and_swap(&th->slot_tid, 0, tid) == 0)
		return th; /* a free slot is all zero (thread_release) */
	if (bpf_map_update_elem(&threads, &tid, &zero_thread, BPF_NOEXIST) && !bpf_map_lookup_elem(&threads, &tid)) {
		stat_inc(WF_STAT_STATE_DROPPED);
		return NULL;
	}
	return bpf_map_lookup_elem(&threads, &tid);
}

/* Empties a thread's state for another thread of the same tid, its memos
 * moved into the edges map first. (Its cause is emptied, not cleared, and
 * the memos only marked empty: clang expands no memset this large.) */
static __always_inline void thread_reset(struct wf_thread *th)
{
	memo_flush_all(th);
	__builtin_memset(th, 0, __builtin_offsetof(struct wf_thread, memo));
	th->memo[0].epoch = 0;
	th->memo[1].epoch = 0;
	th->cause.n = 0;
	th->cause.gen = 0;
	th->cause.last_walk_ns = 0;
}

/* The state of an exited thread (tid) goes: a slot is emptied, then freed
 * (slot_tid last, so a thread claiming it finds it empty); a hash entry is
 * deleted. */
static __always_inline void thread_release(struct wf_thread *th, __u32 tid)
{
	if (th->slot_tid == tid) {
		thread_reset(th);
		barrier();
		th->slot_tid = 0;
		return;
	}
	memo_flush_all(th);
	bpf_map_delete_elem(&threads, &tid);
}

/*
 * The state of a thread of a traced process, or NULL for any other thread.
 * The pid bitmap answers for almost every task without a helper call; a
 * thread already known and of the same process (same process start time:
 * pid reuse never mixes two processes) needs one array lookup (or one hash
 * lookup more where its slot is another's). Otherwise the targets map
 * decides, and a target added by pid binds to the first process seen with
 * that pid.
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
	th = thread_state(tid);
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
		thread_reset(th); /* the tid belonged to a process that is gone */
	} else {
		if (!create)
			return NULL;
		th = thread_create(tid);
		if (!th)
			return NULL;
	}
	th->pstart = ps;
	th->tgid = tgid;
	return th;
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
	th = thread_state(tid);
	if (th) {
		/* Hand the thread's final totals over for the next drain. */
		struct wf_totals_key tk = { .tid = tid, .pid = tgid, .pstart = th->pstart };

		if (bpf_map_update_elem(&totals, &tk, &th->tot, BPF_ANY))
			stat_inc(WF_STAT_TOTALS_DROPPED);
		thread_release(th, tid);
	}
	if (BPF_CORE_READ(p, signal, live.counter) == 0) {
		/* The whole process is gone: stop matching its pid, which may be
		 * reused by an unrelated process. */
		bpf_map_delete_elem(&targets, &tgid);
		emit_proc_event(WF_PEV_EXIT, p, 1);
	}
	return 0;
}

#endif
