// SPDX-License-Identifier: Apache-2.0
/*
 * Live capture, user side (see capture.h): keeps the kernel's target map in
 * step with targets.c's decisions as processes exec, fork and exit, and
 * turns the kernel aggregates into symbolized edges. Loading and attaching
 * wakeflow.bpf.c is capture_attach.c's (capture_int.h: what both share).
 *
 * Stacks: the kernel stores each walked stack once under a hash of its
 * frames. Drained edges refer to them by id; ids are resolved through a
 * user-space cache so that the kernel map (and the user-stack memo that
 * points into it) can be cleared when it fills up without losing stacks
 * that in-flight intervals still refer to.
 */
#include "capture_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "symbolize.h"
#include "syscalls.h"
#include "targets.h"
#include "wakeflow.h"
#include "wakeflow.skel.h"

/* targets.c's flags go into the targets map as they are. */
_Static_assert(TARGET_BY_PID == WF_TARGET_BY_PID, "target flag BY_PID: targets.h and wakeflow.h differ");
_Static_assert(TARGET_BY_COMM == WF_TARGET_BY_COMM, "target flag BY_COMM: targets.h and wakeflow.h differ");

/* Cached stacks unused for this many drains are forgotten. */
#define STACK_CACHE_KEEP_GENERATIONS 3

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, but returned by some map operations */
#endif

/* Mapping snapshots of a new target are refreshed after these delays,
 * growing each time, then every WATCH_MAX_STEP_MS while it lives. */
#define WATCH_FIRST_STEP_MS 50.0
#define WATCH_MAX_STEP_MS 30000.0

/* ---- stack cache ---------------------------------------------------- */

static struct raw_stack *cache_slot(struct stack_cache *sc, uint64_t id)
{
	size_t i;

	if (!sc->nslots)
		return NULL;
	i = (id * 0x9e3779b97f4a7c15ULL >> 20) & (sc->nslots - 1);
	while (sc->slots[i].id && sc->slots[i].id != id)
		i = (i + 1) & (sc->nslots - 1);
	return &sc->slots[i];
}

static int cache_rehash(struct stack_cache *sc, size_t nslots, uint32_t min_gen)
{
	struct stack_cache fresh = { .nslots = nslots };

	fresh.slots = calloc(nslots, sizeof(*fresh.slots));
	if (!fresh.slots)
		return -1;
	for (size_t i = 0; i < sc->nslots; i++) {
		struct raw_stack *s = &sc->slots[i];

		if (!s->id)
			continue;
		if (s->gen < min_gen) {
			free(s->ip);
			continue;
		}
		*cache_slot(&fresh, s->id) = *s;
		fresh.nused++;
	}
	free(sc->slots);
	*sc = fresh;
	return 0;
}

static struct raw_stack *cache_put(struct stack_cache *sc, uint64_t id, const struct wf_stack_val *v, uint32_t gen)
{
	struct raw_stack *s;
	uint32_t nr = v->nr > WF_MAX_STACK_DEPTH ? WF_MAX_STACK_DEPTH : v->nr;

	if ((sc->nused + 1) * 2 > sc->nslots && cache_rehash(sc, sc->nslots ? sc->nslots * 2 : 1024, 0))
		return NULL;
	s = cache_slot(sc, id);
	if (s->id)
		return s;
	s->ip = malloc((nr ? nr : 1) * sizeof(uint64_t));
	if (!s->ip)
		return NULL;
	memcpy(s->ip, v->ip, nr * sizeof(uint64_t));
	s->nr = nr;
	s->id = id;
	s->gen = gen;
	sc->nused++;
	return s;
}

static void cache_free(struct stack_cache *sc)
{
	for (size_t i = 0; i < sc->nslots; i++)
		free(sc->slots[i].ip);
	free(sc->slots);
	memset(sc, 0, sizeof(*sc));
}

const struct raw_stack *capture_stack_get(struct wf_capture *c, uint64_t id)
{
	struct raw_stack *s = cache_slot(&c->cache, id);
	struct wf_stack_val v;

	if (s && s->id == id) {
		s->gen = c->gen;
		return s;
	}
	if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.stacks), &id, &v))
		return NULL;
	return cache_put(&c->cache, id, &v, c->gen);
}

/*
 * When the kernel stack map is half full, copy what it holds into the cache
 * and clear it together with the user-stack memo (whose values are ids in
 * it). Stacks keep resolving from the cache; the kernel re-stores the ones
 * still in use on their next walk.
 */
static void stacks_housekeeping(struct wf_capture *c)
{
	int sfd = bpf_map__fd(c->skel->maps.stacks), mfd = bpf_map__fd(c->skel->maps.ustack_memo);
	size_t n = 0, cap = 1024;
	uint64_t *ids = malloc(cap * sizeof(*ids)), key, next;
	struct wf_ustack_memo_key mk;
	void *prev = NULL;

	if (!ids)
		return;
	while (bpf_map_get_next_key(sfd, prev, &next) == 0) {
		if (n == cap) {
			uint64_t *more = realloc(ids, cap * 2 * sizeof(*ids));

			if (!more)
				break;
			ids = more;
			cap *= 2;
		}
		ids[n++] = next;
		key = next;
		prev = &key;
	}
	if (n * 2 >= c->max_stacks) {
		for (size_t i = 0; i < n; i++) {
			capture_stack_get(c, ids[i]);
			bpf_map_delete_elem(sfd, &ids[i]);
		}
		while (bpf_map_get_next_key(mfd, NULL, &mk) == 0) {
			if (bpf_map_delete_elem(mfd, &mk))
				break;
		}
		c->skel->bss->stack_epoch++;
	}
	free(ids);
	if (c->gen > STACK_CACHE_KEEP_GENERATIONS)
		cache_rehash(&c->cache, c->cache.nslots ? c->cache.nslots : 1024, c->gen - STACK_CACHE_KEEP_GENERATIONS);
}

/* ---- edges ------------------------------------------------------------ */

int64_t capture_boot_to_real(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
}

/* Removes up to max_edges entries from the kernel edge map into keys/vals. */
static int take_edges(struct wf_capture *c, uint32_t *taken)
{
	int fd = bpf_map__fd(c->skel->maps.edges);
	uint32_t total = 0, batch = 0;
	bool first = true;

	*taken = 0;
	if (!c->batch_unsupported) {
		for (;;) {
			uint32_t count = c->max_edges - total;
			int err;

			if (!count)
				break;
			err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &batch, &batch, c->keys + total,
							      c->vals + total, &count, NULL);
			total += count;
			first = false;
			if (!err)
				continue;
			err = -errno;
			if (err == -ENOENT)
				break;
			if (total == 0 && (err == -EINVAL || err == -ENOTSUPP || err == -EOPNOTSUPP)) {
				c->batch_unsupported = true;
				break;
			}
			*taken = total;
			return err;
		}
		if (!c->batch_unsupported) {
			*taken = total;
			return 0;
		}
	}
	/* Kernels without batch operations on hash maps: one key at a time. */
	while (total < c->max_edges && bpf_map_get_next_key(fd, NULL, &c->keys[total]) == 0) {
		bool found = bpf_map_lookup_elem(fd, &c->keys[total], &c->vals[total]) == 0;

		if (bpf_map_delete_elem(fd, &c->keys[total]))
			break;
		if (found)
			total++;
	}
	*taken = total;
	return 0;
}

/* Moves the kernel's edges, symbolized, onto c->pending. */
static int drain_edges(struct wf_capture *c)
{
	int64_t off = capture_boot_to_real();
	uint32_t n;
	int err;

	/* The intervals the threads' memos hold first (capture_threads.c):
	 * late, not lost, if that fails. */
	capture_drain_memos(c);
	err = take_edges(c, &n);

	c->gen++;
	for (uint32_t i = 0; i < n; i++) {
		struct wf_edge e;

		capture_build_edge(c, &c->keys[i], &c->vals[i], off, &e);
		if (edge_list_push(&c->pending, &e)) {
			free(e.waker_stack.frames);
			free(e.target_stack.frames);
			return -ENOMEM;
		}
	}
	return err;
}

/* ---- targets and process events -------------------------------------- */


/* Snapshots a traced process's mappings now and schedules refreshes. */
static void watch_process(struct wf_capture *c, int32_t pid)
{
	size_t i;

	sym_process_seen(c->sym, pid);
	for (i = 0; i < c->nwatched && c->watched[i].pid != pid; i++)
		;
	if (i == c->nwatched) {
		if (c->nwatched == c->capwatched) {
			size_t cap = c->capwatched ? c->capwatched * 2 : 64;
			struct watched *w = realloc(c->watched, cap * sizeof(*w));

			if (!w)
				return; /* refreshes are an improvement, not a necessity */
			c->watched = w;
			c->capwatched = cap;
		}
		c->nwatched++;
	}
	c->watched[i].pid = pid;
	c->watched[i].step_ms = WATCH_FIRST_STEP_MS;
	c->watched[i].next_ms = mono_ms() + WATCH_FIRST_STEP_MS;
}

static void unwatch_process(struct wf_capture *c, int32_t pid)
{
	for (size_t i = 0; i < c->nwatched; i++) {
		if (c->watched[i].pid == pid) {
			c->watched[i] = c->watched[--c->nwatched];
			return;
		}
	}
}

static void refresh_watched(struct wf_capture *c)
{
	double now = mono_ms();

	for (size_t i = 0; i < c->nwatched; i++) {
		struct watched *w = &c->watched[i];

		if (now < w->next_ms)
			continue;
		sym_process_seen(c->sym, w->pid);
		w->step_ms = w->step_ms * 4 > WATCH_MAX_STEP_MS ? WATCH_MAX_STEP_MS : w->step_ms * 4;
		w->next_ms = now + w->step_ms;
	}
}

/* Keeps the kernel's pid bitmap (its cheap pre-filter) in step with the
 * targets map. The kernel also sets bits itself for forked children. */
static void target_bit(struct wf_capture *c, int32_t pid, bool on)
{
	int fd = bpf_map__fd(c->skel->maps.target_bits);
	uint32_t idx = ((uint32_t)pid >> 6) & (WF_TARGET_BITS_WORDS - 1);
	uint64_t word = 0, bit = 1ULL << (pid & 63);

	bpf_map_lookup_elem(fd, &idx, &word);
	word = on ? word | bit : word & ~bit;
	bpf_map_update_elem(fd, &idx, &word, BPF_ANY);
}

/* pid is traced from now on (start-up, a traced process's child, a --comm
 * match at exec): the kernel's pre-filter, its mappings watched while it
 * starts, and the caller told (capture_opts.on_target). */
static void trace_started(struct wf_capture *c, int32_t pid)
{
	target_bit(c, pid, true);
	watch_process(c, pid);
	if (c->on_target)
		c->on_target(c->on_target_ctx, pid);
}

static int target_add(void *ctx, int32_t pid, uint32_t flags)
{
	struct wf_capture *c = ctx;
	struct wf_target t = { .flags = flags };
	uint32_t key = (uint32_t)pid;

	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.targets), &key, &t, BPF_ANY))
		return -1;
	trace_started(c, pid);
	return 0;
}

static int on_proc_event(void *ctx, void *data, size_t size)
{
	struct wf_capture *c = ctx;
	const struct wf_proc_event *e = data;
	int tfd = bpf_map__fd(c->skel->maps.targets);
	uint32_t key;
	struct wf_target t;
	char comm[WF_COMM_LEN];

	if (size < sizeof(*e))
		return 0;
	key = e->pid;
	copy_comm(comm, e->comm);
	switch (e->type) {
	case WF_PEV_FORK:
		trace_started(c, (int32_t)e->pid);
		break;
	case WF_PEV_EXIT:
		/* Name what it left behind while its mappings are still known. */
		drain_edges(c);
		capture_chains_drain_pending(c);
		sym_process_gone(c->sym, (int32_t)e->pid);
		unwatch_process(c, (int32_t)e->pid);
		target_bit(c, (int32_t)e->pid, false);
		break;
	case WF_PEV_EXEC: {
		uint32_t old = 0, flags;

		if (bpf_map_lookup_elem(tfd, &key, &t) == 0)
			old = t.flags;
		if (old) {
			/* Stacks recorded before the exec belong to the old image. */
			drain_edges(c);
			capture_chains_drain_pending(c);
			sym_process_gone(c->sym, (int32_t)e->pid);
		}
		flags = targets_after_exec(c->targets, old, comm);
		if (flags) {
			t.flags = flags;
			t.pstart = e->pstart;
			t.pad = 0;
			bpf_map_update_elem(tfd, &key, &t, BPF_ANY);
			trace_started(c, (int32_t)e->pid);
		} else if (old) {
			bpf_map_delete_elem(tfd, &key);
			target_bit(c, (int32_t)e->pid, false);
			unwatch_process(c, (int32_t)e->pid);
		}
		if (capture_chain_comm_matches(c, comm))
			capture_chain_scope_add(c, (int32_t)e->pid);
		capture_chain_scope_poll(c, flags != old);
		break;
	}
	}
	return 0;
}

_Static_assert(CAPTURE_MAX_SYMBOL_DIRS == SYM_MAX_DIRS, "capture.h and symbolize.h differ");

int capture_opts_add_symbols(struct capture_opts *o, const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (o->nsymbol_dirs == CAPTURE_MAX_SYMBOL_DIRS) {
		snprintf(err, errlen, "too many --symbols (at most %d)", CAPTURE_MAX_SYMBOL_DIRS);
		return -1;
	}
	errno = 0;
	if (!dir[0] || stat(dir, &st) || !S_ISDIR(st.st_mode) || access(dir, R_OK | X_OK)) {
		snprintf(err, errlen, "--symbols '%s' is not a directory this user can read%s%s", dir,
			 errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	o->symbol_dirs[o->nsymbol_dirs++] = dir;
	return 0;
}

/* ---- open / close ------------------------------------------------------ */

/* Open, load and attach (capture_attach.c), then the targets already
 * running and the process event ring. Every failure ends in capture_close,
 * which also tears down a half-built capture. */
struct wf_capture *capture_open(const struct capture_opts *opts, char *err, size_t errlen)
{
	struct wf_capture *c;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errlen,
			 "kernel BTF is missing (/sys/kernel/btf/vmlinux): boot a kernel built with CONFIG_DEBUG_INFO_BTF=y");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	capture_read_env(&c->env);
	capture_threads_init(c);
	c->stacks_full = opts->stacks_full;
	c->on_target = opts->on_target;
	c->on_target_ctx = opts->on_target_ctx;
	c->max_edges = opts->max_edges ? opts->max_edges : DEFAULT_MAX_EDGES;
	c->max_stacks = opts->max_stacks ? opts->max_stacks : DEFAULT_MAX_STACKS;
	c->targets = targets_new(opts->proc_root, opts->pids, opts->npids, opts->comm_regex, opts->ncomm, err, errlen);
	if (!c->targets || capture_chains_open(c, opts, err, errlen))
		goto fail;
	c->keys = calloc(c->max_edges, sizeof(*c->keys));
	c->vals = calloc(c->max_edges, sizeof(*c->vals));
	c->sym = symbolizer_new_root(opts->proc_root ? opts->proc_root : "/proc");
	if (!c->keys || !c->vals || !c->sym) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (int i = 0; i < opts->nsymbol_dirs; i++) {
		if (symbolizer_add_dir(c->sym, opts->symbol_dirs[i])) {
			snprintf(err, errlen, "--symbols %s: %s", opts->symbol_dirs[i], strerror(errno));
			goto fail;
		}
	}
	/* Off unless DEBUGINFOD_URLS is set (symbolize.h). */
	if (symbolizer_use_debuginfod(c->sym, getenv("DEBUGINFOD_URLS"))) {
		snprintf(err, errlen, "DEBUGINFOD_URLS: %s", strerror(errno));
		goto fail;
	}
	if (capture_load(c, opts, err, errlen) || capture_threads_open(c, err, errlen))
		goto fail;
	capture_chains_loaded(c);
	if (targets_scan(c->targets, target_add, c) < 0) {
		snprintf(err, errlen, "failed to set up the traced processes: %s", strerror(errno));
		goto fail;
	}
	capture_chain_scope_poll(c, true);
	if (capture_attach(c, err, errlen))
		goto fail;
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.proc_events), on_proc_event, c, NULL);
	if (!c->rb) {
		snprintf(err, errlen, "failed to open the process event ring buffer: %s", strerror(errno));
		goto fail;
	}
	return c;
fail:
	capture_close(c);
	return NULL;
}

void capture_close(struct wf_capture *c)
{
	if (!c)
		return;
	if (c->skel && c->env.softirq_origin)
		capture_print_softirq_origin(c);
	ring_buffer__free(c->rb);
	sched_detach(c);
	capture_threads_close(c);
	wakeflow_bpf__destroy(c->skel);
	targets_free(c->targets);
	if (c->sym)
		symbolizer_free(c->sym);
	edge_list_free(&c->pending);
	capture_chains_close(c);
	cache_free(&c->cache);
	free(c->tsnap.slots);
	free(c->watched);
	free(c->keys);
	free(c->vals);
	free(c);
}

int capture_poll(struct wf_capture *c, int timeout_ms)
{
	int rc = ring_buffer__poll(c->rb, timeout_ms);

	refresh_watched(c);
	capture_chain_scope_poll(c, false);
	if (rc < 0 && rc != -EINTR) {
		errno = -rc;
		return -1;
	}
	return sched_attach_update(c);
}

/* ---- per-thread totals ------------------------------------------------ */

/*
 * The kernel keeps cumulative totals per live thread (in its state) and
 * hands over the final ones of threads that exit. A drain reports the
 * change since the previous drain: the last values seen are kept here,
 * keyed by (tid, process start time), rebuilt at every drain.
 */
static struct tsnap *tsnap_slot(struct tsnap_table *t, uint32_t tid, uint64_t pstart)
{
	size_t i;

	if (!t->nslots)
		return NULL;
	i = ((tid * 0x9e3779b97f4a7c15ULL) ^ pstart) & (t->nslots - 1);
	while (t->slots[i].pstart && (t->slots[i].tid != tid || t->slots[i].pstart != pstart))
		i = (i + 1) & (t->nslots - 1);
	return &t->slots[i];
}

static void tot_values(const struct wf_totals_val *v, uint64_t out[TOT_FIELDS])
{
	out[0] = v->oncpu_ns;
	out[1] = v->preempted_ns;
	out[2] = v->blocked_ns;
	out[3] = v->runq_ns;
	out[4] = v->switches;
	out[5] = v->involuntary;
	out[6] = v->wakeups;
}

/* Emits the change of one thread's totals and records them in fresh. */
static int tot_account(struct wf_capture *c, struct tsnap_table *fresh, struct capture_totals *out, uint32_t tid,
		       uint32_t pid, uint64_t pstart, const struct wf_totals_val *v, bool last)
{
	struct tsnap *old = tsnap_slot(&c->tsnap, tid, pstart), *now;
	uint64_t cur[TOT_FIELDS], d[TOT_FIELDS];
	bool any = false;

	tot_values(v, cur);
	for (int i = 0; i < TOT_FIELDS; i++) {
		uint64_t prev = old && old->pstart ? old->v[i] : 0;

		/* A counter that went back belongs to a reset state: count it anew. */
		d[i] = cur[i] >= prev ? cur[i] - prev : cur[i];
		any |= d[i] != 0;
	}
	if (!last && (now = tsnap_slot(fresh, tid, pstart))) {
		now->pstart = pstart;
		now->tid = tid;
		memcpy(now->v, cur, sizeof(cur));
	}
	if (!any || !out)
		return 0;
	if (out->len == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 64;
		struct capture_thread_totals *items = realloc(out->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		out->items = items;
		out->cap = cap;
	}
	{
		struct capture_thread_totals *t = &out->items[out->len++];

		memset(t, 0, sizeof(*t));
		copy_comm(t->task.comm, v->comm);
		copy_comm(t->task.proc_comm, v->pcomm);
		t->task.pid = (int32_t)pid;
		t->task.tid = (int32_t)tid;
		t->oncpu_ns = d[0];
		t->preempted_ns = d[1];
		t->blocked_ns = d[2];
		t->runq_ns = d[3];
		t->switches = d[4];
		t->involuntary = d[5];
		t->wakeups = d[6];
	}
	return 0;
}

static int count_thread(void *ctx, uint32_t tid, const struct wf_thread *th)
{
	(void)tid;
	(void)th;
	++*(size_t *)ctx;
	return 0;
}

struct totals_pass {
	struct wf_capture *c;
	struct tsnap_table *fresh;
	struct capture_totals *out;
	int rc;
};

static int account_thread(void *ctx, uint32_t tid, const struct wf_thread *th)
{
	struct totals_pass *p = ctx;

	if (tot_account(p->c, p->fresh, p->out, tid, th->tgid, th->pstart, &th->tot, false))
		p->rc = -ENOMEM;
	return 0;
}

static int drain_totals(struct wf_capture *c, struct capture_totals *out)
{
	int tfd = bpf_map__fd(c->skel->maps.totals);
	struct tsnap_table fresh = { 0 };
	struct totals_pass pass = { .c = c, .fresh = &fresh, .out = out };
	struct wf_totals_key tk, tnext;
	size_t n = 0;
	int rc;

	/* Size the new table for the live threads (a few hundred at most; a
	 * thread started meanwhile only makes a probe longer). */
	capture_each_thread(c, count_thread, &n);
	fresh.nslots = 64;
	while (fresh.nslots < n * 2 + 2)
		fresh.nslots *= 2;
	fresh.slots = calloc(fresh.nslots, sizeof(*fresh.slots));
	if (!fresh.slots)
		return -ENOMEM;
	capture_each_thread(c, account_thread, &pass);
	rc = pass.rc;
	/* Threads that exited since: their final totals, then forget them. */
	while (bpf_map_get_next_key(tfd, NULL, &tnext) == 0) {
		struct wf_totals_val v;

		tk = tnext;
		if (bpf_map_lookup_elem(tfd, &tk, &v) == 0 &&
		    tot_account(c, &fresh, out, tk.tid, tk.pid, tk.pstart, &v, true))
			rc = -ENOMEM;
		if (bpf_map_delete_elem(tfd, &tk))
			break;
	}
	free(c->tsnap.slots);
	c->tsnap = fresh;
	return rc;
}

int capture_drain(struct wf_capture *c, struct wf_edge_list *edges, struct capture_totals *totals)
{
	double t0 = mono_ms();
	int rc;

	/* Process events first: an exit drains edges before forgetting its maps. */
	ring_buffer__consume(c->rb);
	rc = drain_edges(c);
	if (edges) {
		for (size_t i = 0; i < c->pending.len; i++) {
			if (edge_list_push(edges, &c->pending.items[i])) {
				rc = -ENOMEM;
				free(c->pending.items[i].waker_stack.frames);
				free(c->pending.items[i].target_stack.frames);
			}
		}
		free(c->pending.items);
		memset(&c->pending, 0, sizeof(c->pending));
	} else {
		edge_list_free(&c->pending);
	}
	if (drain_totals(c, totals))
		rc = -ENOMEM;
	stacks_housekeeping(c);
	c->last_drain_ms = mono_ms() - t0;
	return rc ? -1 : 0;
}

void capture_mark_interned(const struct wf_capture *c)
{
	sym_mark_interned(c->sym);
	for (size_t i = 0; i < c->pending.len; i++)
		edge_mark_interned(&c->pending.items[i]);
	for (size_t i = 0; i < c->pending_chains.len; i++)
		for (int l = 0; l < c->pending_chains.items[i].nlinks; l++)
			edge_mark_interned(&c->pending_chains.items[i].links[l]);
}

void capture_get_stats(const struct wf_capture *c, struct capture_stats *out)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(c->skel->maps.stats);
	uint64_t sums[WF_STAT__COUNT] = { 0 };
	uint64_t *percpu = ncpu > 0 ? calloc(ncpu, sizeof(uint64_t)) : NULL;
	uint32_t key, next, *prev = NULL;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; percpu && i < WF_STAT__COUNT; i++) {
		if (bpf_map_lookup_elem(fd, &i, percpu))
			continue;
		for (int cpu = 0; cpu < ncpu; cpu++)
			sums[i] += percpu[cpu];
	}
	free(percpu);
	out->events = sums[WF_STAT_EVENTS];
	out->edges_dropped = sums[WF_STAT_EDGES_DROPPED];
	out->stacks_dropped = sums[WF_STAT_STACKS_DROPPED];
	out->state_dropped = sums[WF_STAT_STATE_DROPPED];
	out->ringbuf_dropped = sums[WF_STAT_RINGBUF_DROPPED];
	out->stacks_walked = sums[WF_STAT_STACKS_WALKED];
	out->ustack_memo_hits = sums[WF_STAT_USTACK_MEMO_HITS];
	out->wakeups_unseen = sums[WF_STAT_WAKEUPS_UNSEEN];
	out->totals_dropped = sums[WF_STAT_TOTALS_DROPPED];
	out->orc_walks = sums[WF_STAT_ORC_WALKS];
	out->orc_checks = sums[WF_STAT_ORC_CHECKS];
	out->orc_mismatches = sums[WF_STAT_ORC_MISMATCHES];
	out->unwinder = c->unwinder;
	out->sched_attached = sched_attached(c);
	out->sched_attaches = c->sched_attaches;
	fd = bpf_map__fd(c->skel->maps.targets);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		out->targets++;
		key = next;
		prev = &key;
	}
	out->symbolize_failures = c->symbolize_failures;
	out->last_drain_ms = c->last_drain_ms;
	out->attach_mode = c->raw_tp ? "raw_tp" : "tp_btf";
	out->chain_links = c->chain_links;
	out->chains_in_map = c->chains_in_map;
	out->chains_dropped = sums[WF_STAT_CHAINS_DROPPED];
	out->causes_dropped = sums[WF_STAT_CAUSES_DROPPED];
	out->edge_memo_hits = sums[WF_STAT_EDGE_MEMO_HITS];
	out->chain_scope = c->scope.count;
}

void capture_counters(const struct capture_stats *st, struct wf_counter out[CAPTURE_COUNTERS])
{
	out[0] = (struct wf_counter){ "stacks_walked", st->stacks_walked };
	out[1] = (struct wf_counter){ "ustack_memo_hits", st->ustack_memo_hits };
	out[2] = (struct wf_counter){ "orc_walks", st->orc_walks };
	out[3] = (struct wf_counter){ "orc_checks", st->orc_checks };
	out[4] = (struct wf_counter){ "orc_mismatches", st->orc_mismatches };
	out[5] = (struct wf_counter){ "sched_attaches", st->sched_attaches };
	out[6] = (struct wf_counter){ "edge_memo_hits", st->edge_memo_hits };
}

void capture_lost_counters(const struct capture_stats *st, struct wf_counter out[CAPTURE_LOST_COUNTERS])
{
	out[0] = (struct wf_counter){ "edges_dropped", st->edges_dropped };
	out[1] = (struct wf_counter){ "stacks_dropped", st->stacks_dropped };
	out[2] = (struct wf_counter){ "state_dropped", st->state_dropped };
	out[3] = (struct wf_counter){ "ringbuf_dropped", st->ringbuf_dropped };
	out[4] = (struct wf_counter){ "totals_dropped", st->totals_dropped };
}

size_t capture_programs(const struct wf_capture *c, const char **names, size_t max)
{
	size_t n = 0;

	for (int i = 0; i < c->nprogs && n < max; i++)
		names[n++] = c->progs[i];
	return n;
}

void capture_totals_free(struct capture_totals *t)
{
	free(t->items);
	memset(t, 0, sizeof(*t));
}

struct wf_symbolizer *capture_symbolizer(struct wf_capture *c)
{
	return c->sym;
}
