// SPDX-License-Identifier: Apache-2.0
/*
 * Live capture, user side (see capture.h): loads wakeflow.bpf.c, keeps the
 * kernel's target map in step with targets.c's decisions as processes exec,
 * fork and exit, and turns the kernel aggregates into symbolized edges.
 *
 * Stacks: the kernel stores each walked stack once under a hash of its
 * frames. Drained edges refer to them by id; ids are resolved through a
 * user-space cache so that the kernel map (and the user-stack memo that
 * points into it) can be cleared when it fills up without losing stacks
 * that in-flight intervals still refer to.
 */
#include "capture.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "intern.h"
#include "kallsyms.h"
#include "symbolize.h"
#include "syscalls.h"
#include "targets.h"
#include "unwinder.h"
#include "wakeflow.h"
#include "wakeflow.skel.h"

/*
 * wakeflow.h numbers what the kernel side records the way the user side's
 * enums do, so a value from a map is used as the enum as it is (build_edge,
 * and the flags targets.c hands to the targets map): the two must agree.
 */
_Static_assert(WF_BPF_CTX_NONE == WF_CTX_NONE, "wake context NONE: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_CTX_TASK == WF_CTX_TASK, "wake context TASK: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_CTX_SOFTIRQ == WF_CTX_SOFTIRQ, "wake context SOFTIRQ: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_CTX_HARDIRQ == WF_CTX_HARDIRQ, "wake context HARDIRQ: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_CTX_UNKNOWN == WF_CTX_UNKNOWN, "wake context UNKNOWN: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_KIND_BLOCKED == WF_SWITCH_BLOCKED, "switch kind BLOCKED: wakeflow.h and edge.h differ");
_Static_assert(WF_BPF_KIND_PREEMPTED == WF_SWITCH_PREEMPTED, "switch kind PREEMPTED: wakeflow.h and edge.h differ");
_Static_assert(TARGET_BY_PID == WF_TARGET_BY_PID, "target flag BY_PID: targets.h and wakeflow.h differ");
_Static_assert(TARGET_BY_COMM == WF_TARGET_BY_COMM, "target flag BY_COMM: targets.h and wakeflow.h differ");

/* Default kernel map sizes (entries); all preallocated, see capture.h. */
#define DEFAULT_MAX_EDGES 16384
#define DEFAULT_MAX_STACKS 8192
#define DEFAULT_MAX_THREADS 4096
#define DEFAULT_LONG_BLOCK_MS 10
#define DEFAULT_SAMPLE_PERIOD_MS 1000
/* Cached stacks unused for this many drains are forgotten. */
#define STACK_CACHE_KEEP_GENERATIONS 3

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, but returned by some map operations */
#endif

struct raw_stack {
	uint64_t id; /* 0: empty slot */
	uint32_t nr;
	uint32_t gen;
	uint64_t *ip;
};

struct stack_cache {
	struct raw_stack *slots;
	size_t nslots; /* power of two */
	size_t nused;
};

struct watched {
	int32_t pid;
	double next_ms; /* CLOCK_MONOTONIC */
	double step_ms;
};

/* Mapping snapshots of a new target are refreshed after these delays,
 * growing each time, then every WATCH_MAX_STEP_MS while it lives. */
#define WATCH_FIRST_STEP_MS 50.0
#define WATCH_MAX_STEP_MS 30000.0

#define TOT_FIELDS 7

struct tsnap {
	uint64_t pstart; /* 0: empty slot */
	uint32_t tid;
	uint64_t v[TOT_FIELDS];
};

struct tsnap_table {
	struct tsnap *slots;
	size_t nslots; /* power of two */
};

struct capture {
	struct wakeflow_bpf *skel;
	struct ring_buffer *rb;
	struct targets *targets;
	struct symbolizer *sym;
	bool stacks_full;
	bool raw_tp;
	uint32_t max_edges, max_stacks;

	struct wf_edge_list pending; /* drained early (a process exited or exec'ed) */
	struct stack_cache cache;
	struct tsnap_table tsnap; /* per-thread totals at the last drain */
	uint32_t gen;
	bool batch_unsupported;

	struct wf_edge_key *keys; /* batch buffers, max_edges each */
	struct wf_edge_val *vals;

	/* Traced processes whose mappings are re-read while they start up
	 * (the dynamic loader maps libraries after the exec we hear about). */
	struct watched *watched;
	size_t nwatched, capwatched;

	uint64_t symbolize_failures;
	double last_drain_ms;
	struct unwinder_plan orc;
	bool orc_usable;
	int orc_load_error; /* loading with the unwind table maps failed: errno */
	char unwinder[200]; /* which walker walks kernel stacks, and why */
	/* The scheduler programs run only while something is traced. */
	struct bpf_link *sched_links[3];
	uint64_t sched_attaches;
	int nprogs;
	const char *progs[32];
};

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (!verbose)
		return 0; /* our own one-line errors say what failed */
	return vfprintf(stderr, fmt, args);
}

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

static const struct raw_stack *stack_get(struct capture *c, uint64_t id)
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
static void stacks_housekeeping(struct capture *c)
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
			stack_get(c, ids[i]);
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

/* Leading kernel frames that belong to the tracing machinery, not to the
 * traced code path. */
static bool glue_frame(const char *name)
{
	static const char *const prefixes[] = { "bpf_", "__bpf_", "__traceiter_", "__probestub_", "trace_call_bpf",
						"perf_trace_", "bpf_trace_run" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	}
	return false;
}

/* Kernel frames (glue trimmed) then user frames; innermost first. */
static void build_stack(struct capture *c, struct wf_stack *out, uint64_t kid, uint64_t uid, int32_t pid)
{
	const struct raw_stack *k = kid ? stack_get(c, kid) : NULL;
	const struct raw_stack *u = uid ? stack_get(c, uid) : NULL;
	size_t max = (k ? k->nr : 0) + (u ? u->nr : 0);
	bool leading = true;
	int n = 0;

	out->frames = NULL;
	out->nframes = 0;
	out->nkernel = 0;
	if ((kid && !k) || (uid && !u))
		c->symbolize_failures++;
	if (!max)
		return;
	out->frames = malloc(max * sizeof(*out->frames));
	if (!out->frames)
		return;
	for (uint32_t i = 0; k && i < k->nr; i++) {
		const char *name = sym_kernel(c->sym, k->ip[i]);

		if (!name) {
			c->symbolize_failures++;
			continue;
		}
		if (leading && glue_frame(name))
			continue;
		leading = false;
		out->frames[n++] = name;
	}
	out->nkernel = n;
	for (uint32_t i = 0; u && i < u->nr; i++) {
		const char *name;

		if (!u->ip[i])
			continue;
		name = sym_user(c->sym, pid, u->ip[i]);
		if (!name) {
			c->symbolize_failures++;
			continue;
		}
		/* A return address in heap or stack memory means the frame-pointer
		 * walk went astray (code without frame pointers): stop there. */
		if (!strncmp(name, "[heap]", 6) || !strncmp(name, "[stack]", 7))
			break;
		out->frames[n++] = name;
	}
	out->nframes = n;
}

static void copy_comm(char *dst, const char *src)
{
	memcpy(dst, src, WF_COMM_LEN);
	dst[WF_COMM_LEN - 1] = '\0';
}

static void add_fact(struct wf_edge *e, const char *key, const char *value)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "%s=%s", key, value);
	edge_add_fact(e, buf);
}

static const char *const tstate_names[] = { "runnable", "sleeping", "uninterruptible" };
static const char *const resched_names[] = { NULL, "cond_resched", "user_return", "irq", "yield" };
static const char *const fd_names[] = { NULL,	    "eventfd",	"pipe", "tcp",	"udp",	"unix",
					"socket", "timerfd", "signalfd", "file", "other" };
/* include/linux/interrupt.h, enum softirq order */
static const char *const softirq_names[] = { "hi",	"timer",   "net_tx", "net_rx", "block",
					     "irq_poll", "tasklet", "sched",  "hrtimer", "rcu" };

#define NAME_AT(arr, i) ((size_t)(i) < sizeof(arr) / sizeof((arr)[0]) ? (arr)[i] : NULL)
/* One name per value wakeflow.h defines (a new value needs its fact name). */
_Static_assert(sizeof(tstate_names) / sizeof(tstate_names[0]) == WF_TSTATE_UNINTERRUPTIBLE + 1, "a WF_TSTATE_* has no name");
_Static_assert(sizeof(resched_names) / sizeof(resched_names[0]) == WF_RESCHED_YIELD + 1, "a WF_RESCHED_* has no name");
_Static_assert(sizeof(fd_names) / sizeof(fd_names[0]) == WF_FD_OTHER + 1, "a WF_FD_* has no name");

static void add_facts(struct capture *c, struct wf_edge *e, const struct wf_edge_key *k)
{
	char buf[32];
	const char *s;

	if ((s = NAME_AT(tstate_names, k->tstate)))
		add_fact(e, "target.state", s);
	add_fact(e, "target.preempt", (k->flags & WF_EF_PREEMPT) ? "1" : "0");
	if (k->kind == WF_BPF_KIND_PREEMPTED && (s = NAME_AT(resched_names, k->resched)))
		add_fact(e, "target.resched", s);
	if (k->tsyscall >= 0)
		add_fact(e, "target.syscall", syscall_name(k->tsyscall, buf, sizeof(buf)));
	if (k->kind != WF_BPF_KIND_BLOCKED || k->ctx == WF_BPF_CTX_UNKNOWN)
		return;
	if (k->wsyscall >= 0)
		add_fact(e, "waker.syscall", syscall_name(k->wsyscall, buf, sizeof(buf)));
	if ((s = NAME_AT(fd_names, k->wfd)))
		add_fact(e, "waker.fd", s);
	if (k->irq == WF_IRQ_HARDIRQ)
		add_fact(e, "irq", "hardirq");
	else if (k->irq == WF_IRQ_SOFTIRQ)
		add_fact(e, "irq", "softirq");
	if (k->irq == WF_IRQ_SOFTIRQ && (s = NAME_AT(softirq_names, k->softirq)))
		add_fact(e, "irq.softirq", s);
	if (k->timer_fn && (s = sym_kernel(c->sym, k->timer_fn)))
		add_fact(e, "irq.timer", s);
}

/* The waker of an interrupt-context wakeup is the interrupt: "[timer]" for a
 * timer callback in a hard interrupt, "[net-rx]" for that softirq, else
 * "[hardirq]"/"[softirq]". */
static void interrupt_waker(const struct wf_edge_key *k, char comm[WF_COMM_LEN])
{
	const char *s = k->irq == WF_IRQ_SOFTIRQ ? NAME_AT(softirq_names, k->softirq) : NULL;
	char *p;

	if (k->ctx == WF_BPF_CTX_HARDIRQ)
		s = k->timer_fn ? "timer" : "hardirq";
	snprintf(comm, WF_COMM_LEN, "[%s]", s ? s : "softirq");
	for (p = comm; *p; p++)
		if (*p == '_')
			*p = '-';
}

static void build_edge(struct capture *c, const struct wf_edge_key *k, const struct wf_edge_val *v,
		       int64_t boot_to_real, struct wf_edge *e)
{
	bool keyed = c->stacks_full || (k->flags & WF_EF_LONG);
	uint64_t wk = keyed ? k->wkstack : v->wkstack, wu = keyed ? k->wustack : v->wustack;
	uint64_t tk = keyed ? k->tkstack : v->tkstack, tu = keyed ? k->tustack : v->tustack;

	edge_init(e);
	copy_comm(e->target.comm, k->tcomm);
	copy_comm(e->target.proc_comm, k->tpcomm);
	e->target.pid = (int32_t)k->tpid;
	e->target.tid = (int32_t)k->ttid;
	e->context = (enum wf_context)k->ctx;
	e->kind = k->kind == WF_BPF_KIND_PREEMPTED ? WF_SWITCH_PREEMPTED : WF_SWITCH_BLOCKED;
	if (e->kind == WF_SWITCH_PREEMPTED) {
		e->context = WF_CTX_NONE;
		copy_comm(e->preemptor.comm, k->wcomm);
		copy_comm(e->preemptor.proc_comm, k->wpcomm);
		e->preemptor.pid = (int32_t)k->wpid;
		e->preemptor.tid = (int32_t)k->wtid;
	} else if (k->ctx == WF_BPF_CTX_HARDIRQ || k->ctx == WF_BPF_CTX_SOFTIRQ) {
		interrupt_waker(k, e->waker.comm);
	} else if (k->ctx != WF_BPF_CTX_UNKNOWN) {
		copy_comm(e->waker.comm, k->wcomm);
		copy_comm(e->waker.proc_comm, k->wpcomm);
		e->waker.pid = (int32_t)k->wpid;
		e->waker.tid = (int32_t)k->wtid;
	}
	e->count_known = true;
	e->count = v->count;
	e->offcpu_ns = v->offcpu_ns;
	e->offcpu_max_ns = v->offcpu_max_ns;
	e->runq_known = v->runq_count > 0;
	e->runq_ns = v->runq_ns;
	build_stack(c, &e->waker_stack, wk, wu, (int32_t)k->wpid);
	build_stack(c, &e->target_stack, tk, tu, (int32_t)k->tpid);
	e->stacks_sampled = tk || wk;
	add_facts(c, e, k);
	if (v->first_ns)
		e->first_seen_ns = (uint64_t)((int64_t)v->first_ns + boot_to_real);
	if (v->last_ns)
		e->last_seen_ns = (uint64_t)((int64_t)v->last_ns + boot_to_real);
}

static int64_t boot_to_realtime_ns(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
}

/* Removes up to max_edges entries from the kernel edge map into keys/vals. */
static int take_edges(struct capture *c, uint32_t *taken)
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
static int drain_edges(struct capture *c)
{
	int64_t off = boot_to_realtime_ns();
	uint32_t n;
	int err = take_edges(c, &n);

	c->gen++;
	for (uint32_t i = 0; i < n; i++) {
		struct wf_edge e;

		build_edge(c, &c->keys[i], &c->vals[i], off, &e);
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
static void watch_process(struct capture *c, int32_t pid)
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

static void unwatch_process(struct capture *c, int32_t pid)
{
	for (size_t i = 0; i < c->nwatched; i++) {
		if (c->watched[i].pid == pid) {
			c->watched[i] = c->watched[--c->nwatched];
			return;
		}
	}
}

static void refresh_watched(struct capture *c)
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
static void target_bit(struct capture *c, int32_t pid, bool on)
{
	int fd = bpf_map__fd(c->skel->maps.target_bits);
	uint32_t idx = ((uint32_t)pid >> 6) & (WF_TARGET_BITS_WORDS - 1);
	uint64_t word = 0, bit = 1ULL << (pid & 63);

	bpf_map_lookup_elem(fd, &idx, &word);
	word = on ? word | bit : word & ~bit;
	bpf_map_update_elem(fd, &idx, &word, BPF_ANY);
}

static int target_add(void *ctx, int32_t pid, uint32_t flags)
{
	struct capture *c = ctx;
	struct wf_target t = { .flags = flags };
	uint32_t key = (uint32_t)pid;

	if (bpf_map_update_elem(bpf_map__fd(c->skel->maps.targets), &key, &t, BPF_ANY))
		return -1;
	target_bit(c, pid, true);
	watch_process(c, pid);
	return 0;
}

static int on_proc_event(void *ctx, void *data, size_t size)
{
	struct capture *c = ctx;
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
		target_bit(c, (int32_t)e->pid, true);
		watch_process(c, (int32_t)e->pid);
		break;
	case WF_PEV_EXIT:
		/* Name what it left behind while its mappings are still known. */
		drain_edges(c);
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
			sym_process_gone(c->sym, (int32_t)e->pid);
		}
		flags = targets_after_exec(c->targets, old, comm);
		if (flags) {
			t.flags = flags;
			t.pstart = e->pstart;
			t.pad = 0;
			bpf_map_update_elem(tfd, &key, &t, BPF_ANY);
			target_bit(c, (int32_t)e->pid, true);
			watch_process(c, (int32_t)e->pid);
		} else if (old) {
			bpf_map_delete_elem(tfd, &key);
			target_bit(c, (int32_t)e->pid, false);
			unwatch_process(c, (int32_t)e->pid);
		}
		break;
	}
	}
	return 0;
}

/* ---- open / close ------------------------------------------------------ */

static void set_ksyms(struct wakeflow_bpf *skel)
{
	static const char *const names[WF_KSYM__COUNT] = {
		[WF_KSYM_COND_RESCHED] = "__cond_resched",
		[WF_KSYM_PREEMPT_SCHEDULE_IRQ] = "preempt_schedule_irq",
		[WF_KSYM_PREEMPT_SCHEDULE] = "preempt_schedule",
		[WF_KSYM_PREEMPT_SCHEDULE_NOTRACE] = "preempt_schedule_notrace",
		[WF_KSYM_EVENTFD_POLL] = "eventfd_poll",
		[WF_KSYM_PIPE_POLL] = "pipe_poll",
		[WF_KSYM_SOCK_POLL] = "sock_poll",
		[WF_KSYM_TIMERFD_POLL] = "timerfd_poll",
		[WF_KSYM_SIGNALFD_POLL] = "signalfd_poll",
		[WF_KSYM_IRQ_EXIT_RCU] = "__irq_exit_rcu",
		[WF_KSYM_LOCAL_BH_ENABLE_IP] = "__local_bh_enable_ip",
	};
	uint64_t start[WF_KSYM__COUNT] = { 0 }, end[WF_KSYM__COUNT] = { 0 };
	char line[512], name[256], type;
	unsigned long long addr;
	FILE *f;

	if (ksyms_lookup_names("/proc/kallsyms", names, start, WF_KSYM__COUNT) < 0)
		return;
	/* Each function ends where the next symbol above it starts. */
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		for (int i = 0; i < WF_KSYM__COUNT; i++) {
			if (start[i] && addr > start[i] && (!end[i] || addr < end[i]))
				end[i] = addr;
		}
	}
	fclose(f);
	for (int i = 0; i < WF_KSYM__COUNT; i++) {
		skel->rodata->ksym_start[i] = start[i];
		skel->rodata->ksym_end[i] = end[i] ? end[i] : start[i] + (start[i] ? 1 : 0);
	}
}

static void set_fd_syscalls(struct wakeflow_bpf *skel)
{
	/* Syscalls whose first argument is the file they act on. */
	static const char *const names[] = {
		"read",	    "write",	 "readv",     "writev",	   "pread64",	"pwrite64", "preadv",
		"pwritev",  "preadv2",	 "pwritev2",  "sendto",	   "recvfrom",	"sendmsg",  "recvmsg",
		"sendmmsg", "recvmmsg",	 "close",     "shutdown",  "connect",	"accept",   "accept4",
		"ioctl",    "fcntl",	 "fsync",     "fdatasync", "ftruncate", "splice",   "tee",
		"vmsplice", "sendfile",	 "getsockopt", "setsockopt", "bind",	"listen",   "flock",
	};
	int yield = syscall_number("sched_yield");

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int nr = syscall_number(names[i]);

		if (nr >= 0 && nr < 512)
			skel->rodata->fd_syscalls[nr / 64] |= 1ULL << (nr % 64);
	}
	if (yield >= 0)
		skel->rodata->nr_sched_yield = yield;
}

/* tp_btf needs the tracepoint's BTF type; libbpf resolves "btf_trace_<tp>". */
static bool kernel_has_tp(const struct btf *btf, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
}

/* sched_switch gained its prev_state argument in 5.18 (fa2c3254d7cf). */
static bool switch_has_prev_state(const struct btf *btf)
{
	int id = btf ? btf__find_by_name_kind(btf, "btf_trace_sched_switch", BTF_KIND_TYPEDEF) : -1;
	const struct btf_type *t;

	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	while (t && (btf_is_typedef(t) || btf_is_ptr(t)))
		t = btf__type_by_id(btf, t->type);
	/* (void *data, bool preempt, prev, next, unsigned int prev_state) */
	return t && btf_is_func_proto(t) && btf_vlen(t) >= 5;
}

/*
 * The scheduler tracepoints fire on every context switch and wakeup of every
 * task on the node. Even a program that returns at once costs each of them
 * the kernel's dispatch (about 100 ns here, with retpolines and SRSO return
 * thunks), so their programs are attached only while at least one process
 * is traced, and detached when the last one is gone: a node without a
 * matching process pays nothing. Process exec/fork/exit and interrupt
 * programs stay attached (rare events; exec is how a match is found).
 */
static const char *const sched_tps[] = { "sched_switch", "sched_waking", "sched_wakeup" };

static int sched_program(const char *tp)
{
	for (int i = 0; i < (int)(sizeof(sched_tps) / sizeof(sched_tps[0])); i++)
		if (!strcmp(tp, sched_tps[i]))
			return i;
	return -1;
}

static void sched_detach(struct capture *c)
{
	for (int i = 0; i < (int)(sizeof(sched_tps) / sizeof(sched_tps[0])); i++) {
		bpf_link__destroy(c->sched_links[i]);
		c->sched_links[i] = NULL;
	}
}

static bool sched_attached(const struct capture *c)
{
	return c->sched_links[0] != NULL;
}

/* Attaches or detaches the scheduler programs to match the targets map.
 * Returns 0, or -1 with errno set if attaching failed (nothing attached). */
static int sched_attach_update(struct capture *c)
{
	uint32_t key;
	bool wanted = bpf_map_get_next_key(bpf_map__fd(c->skel->maps.targets), NULL, &key) == 0;
	struct bpf_program *prog;

	if (wanted == sched_attached(c))
		return 0;
	if (!wanted) {
		sched_detach(c);
		return 0;
	}
	bpf_object__for_each_program(prog, c->skel->obj)
	{
		const char *name = bpf_program__name(prog);
		int i = sched_program(name + (strncmp(name, "raw_", 4) ? 3 : 4));

		if (i < 0 || !bpf_program__autoload(prog))
			continue;
		c->sched_links[i] = bpf_program__attach(prog);
		if (!c->sched_links[i]) {
			int err = errno;

			c->sched_links[i] = NULL;
			sched_detach(c);
			errno = err;
			return -1;
		}
	}
	c->sched_attaches++;
	return 0;
}

/*
 * One program of each tp_btf/raw_tp pair is loaded. Tracepoints the kernel
 * lacks (irq_work_* exists on x86 only) are left out in both modes: the
 * state they keep then only misses that kind of interrupt.
 */
static void choose_programs(struct capture *c, const struct btf *btf)
{
	struct bpf_program *prog;

	c->nprogs = 0;
	bpf_object__for_each_program(prog, c->skel->obj)
	{
		const char *name = bpf_program__name(prog);
		bool raw = !strncmp(name, "raw_", 4);
		const char *tp = name + (raw ? 4 : 3);
		bool load = raw == c->raw_tp && (!btf || kernel_has_tp(btf, tp));

		if (!strncmp(name, "util_", 5)) {
			/* Run by user space (BPF_PROG_TEST_RUN), never attached. */
			bpf_program__set_autoload(prog, c->orc_usable);
			bpf_program__set_autoattach(prog, false);
			continue;
		}
		bpf_program__set_autoload(prog, load);
		if (sched_program(tp) >= 0)
			bpf_program__set_autoattach(prog, false); /* see sched_attach_update */
		if (load && c->nprogs < (int)(sizeof(c->progs) / sizeof(c->progs[0])))
			c->progs[c->nprogs++] = name;
	}
}

/* Kernel stacks are walked often only with --stacks full: the ORC walker
 * and its table (~4 MiB of maps) are set up for that mode. */
static void choose_unwinder(struct capture *c, const struct capture_opts *o, const struct btf *btf)
{
	char why[160];

	c->orc_usable = false;
	if (!o->stacks_full)
		snprintf(c->unwinder, sizeof(c->unwinder), "kernel (sampled stacks)");
	else if (c->raw_tp)
		snprintf(c->unwinder, sizeof(c->unwinder), "kernel (raw_tp attach)");
	else if (getenv("WAKEFLOW_UNWINDER") && !strcmp(getenv("WAKEFLOW_UNWINDER"), "kernel"))
		snprintf(c->unwinder, sizeof(c->unwinder), "kernel (WAKEFLOW_UNWINDER=kernel)");
	else if (c->orc_load_error)
		snprintf(c->unwinder, sizeof(c->unwinder), "kernel (loading with the unwind table failed: %s)",
			 strerror(c->orc_load_error));
	else if (!(c->orc_usable = unwinder_prepare(c->skel, btf, "/proc/kallsyms", &c->orc, why, sizeof(why))))
		snprintf(c->unwinder, sizeof(c->unwinder), "kernel (%s)", why);
}

static int open_and_load(struct capture *c, const struct capture_opts *o, char *err, size_t errlen)
{
	uint32_t long_ms = o->long_block_ms ? o->long_block_ms : DEFAULT_LONG_BLOCK_MS;
	uint32_t period_ms = o->sample_period_ms ? o->sample_period_ms : DEFAULT_SAMPLE_PERIOD_MS;
	uint32_t threads = o->max_threads ? o->max_threads : DEFAULT_MAX_THREADS;
	int rc;

	c->skel = wakeflow_bpf__open();
	if (!c->skel) {
		snprintf(err, errlen, "failed to open the BPF object: %s", strerror(errno));
		return -1;
	}
	c->skel->rodata->stacks_full = o->stacks_full;
	c->skel->rodata->exec_events_all = o->ncomm > 0;
	c->skel->rodata->long_block_ns = (uint64_t)long_ms * 1000000ULL;
	c->skel->rodata->sample_period_ns = (uint64_t)period_ms * 1000000ULL;
	set_ksyms(c->skel);
	set_fd_syscalls(c->skel);
	bpf_map__set_max_entries(c->skel->maps.edges, c->max_edges);
	bpf_map__set_max_entries(c->skel->maps.stacks, c->max_stacks);
	bpf_map__set_max_entries(c->skel->maps.ustack_memo, c->max_stacks);
	bpf_map__set_max_entries(c->skel->maps.threads, threads);
	bpf_map__set_max_entries(c->skel->maps.totals, threads);
	c->skel->rodata->debug_softirq_origin = getenv("WAKEFLOW_DEBUG_SOFTIRQ_ORIGIN") != NULL;
	{
		struct btf *btf = btf__load_vmlinux_btf();

		choose_unwinder(c, o, btf);
		choose_programs(c, btf);
		c->skel->rodata->switch_has_prev_state = switch_has_prev_state(btf);
		btf__free(btf);
	}
	rc = wakeflow_bpf__load(c->skel);
	if (rc) {
		rc = -errno;
		if (rc == -EPERM || rc == -EACCES)
			snprintf(err, errlen,
				 "permission denied loading BPF programs: run as root (needs CAP_BPF and CAP_PERFMON)");
		else
			snprintf(err, errlen, "failed to load the BPF programs (%s mode): %s%s",
				 c->raw_tp ? "raw_tp" : "tp_btf", strerror(-rc), verbose ? "" : "; rerun with -v for details");
		wakeflow_bpf__destroy(c->skel);
		c->skel = NULL;
		return rc;
	}
	return 0;
}

struct capture *capture_open(const struct capture_opts *opts, char *err, size_t errlen)
{
	struct capture *c;
	int rc;

	verbose = opts->verbose;
	libbpf_set_print(libbpf_print);
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
	c->stacks_full = opts->stacks_full;
	c->max_edges = opts->max_edges ? opts->max_edges : DEFAULT_MAX_EDGES;
	c->max_stacks = opts->max_stacks ? opts->max_stacks : DEFAULT_MAX_STACKS;
	c->targets = targets_new(opts->proc_root, opts->pids, opts->npids, opts->comm_regex, opts->ncomm, err, errlen);
	if (!c->targets)
		goto fail;
	c->keys = calloc(c->max_edges, sizeof(*c->keys));
	c->vals = calloc(c->max_edges, sizeof(*c->vals));
	c->sym = symbolizer_new_root(opts->proc_root ? opts->proc_root : "/proc");
	if (!c->keys || !c->vals || !c->sym) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	{
		struct btf *btf = btf__load_vmlinux_btf();

		c->raw_tp = !kernel_has_tp(btf, "sched_switch") || !kernel_has_tp(btf, "sched_waking");
		btf__free(btf);
	}
	/* WAKEFLOW_ATTACH=raw_tp takes the fallback where tp_btf works too, so
	 * the raw_tp twins are tested on kernels that never need them. */
	if (getenv("WAKEFLOW_ATTACH") && !strcmp(getenv("WAKEFLOW_ATTACH"), "raw_tp"))
		c->raw_tp = true;
	rc = open_and_load(c, opts, err, errlen);
	if (rc && c->orc_usable && rc != -EPERM && rc != -EACCES) {
		/* The unwind table's 4.5 MiB of maps may not fit (a memory-limited
		 * cgroup): the kernel's walker needs none of it. */
		c->orc_load_error = -rc;
		rc = open_and_load(c, opts, err, errlen);
	}
	if (rc && !c->raw_tp && rc != -EPERM && rc != -EACCES) {
		/* BTF-typed tracepoints refused: the raw twins take the same path. */
		c->raw_tp = true;
		rc = open_and_load(c, opts, err, errlen);
	}
	if (rc)
		goto fail;
	if (c->orc_usable) {
		char why[160];

		if (unwinder_start(c->skel, &c->orc, why, sizeof(why)))
			snprintf(c->unwinder, sizeof(c->unwinder), "orc");
		else
			snprintf(c->unwinder, sizeof(c->unwinder), "kernel (%s)", why);
	}
	if (targets_scan(c->targets, target_add, c) < 0) {
		snprintf(err, errlen, "failed to set up the traced processes: %s", strerror(errno));
		goto fail;
	}
	if (wakeflow_bpf__attach(c->skel) || sched_attach_update(c)) {
		rc = -errno;
		snprintf(err, errlen, "failed to attach the BPF programs to the scheduler tracepoints: %s%s",
			 strerror(-rc), rc == -EPERM ? " (run as root)" : "");
		goto fail;
	}
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

void capture_close(struct capture *c)
{
	if (!c)
		return;
	if (c->skel && getenv("WAKEFLOW_DEBUG_SOFTIRQ_ORIGIN")) {
		int ncpu = libbpf_num_possible_cpus();
		uint64_t v[256];

		for (uint32_t i = 0; i < 64 && ncpu <= 256; i++) {
			uint64_t sum = 0;

			if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.origin_hist), &i, v))
				continue;
			for (int k = 0; k < ncpu; k++)
				sum += v[k];
			if (sum && i % 32 >= 30)
				fprintf(stderr, "origin %s judged %s: %llu\n", i < 32 ? "irq_exit" : "bh_enable",
					i % 32 == 30 ? "irq_exit" : "task", (unsigned long long)sum);
			else if (sum)
				fprintf(stderr, "origin %s delta<2^%u ns: %llu\n", i < 32 ? "irq_exit" : "bh_enable", i % 32,
					(unsigned long long)sum);
		}
	}
	ring_buffer__free(c->rb);
	sched_detach(c);
	wakeflow_bpf__destroy(c->skel);
	targets_free(c->targets);
	if (c->sym)
		symbolizer_free(c->sym);
	edge_list_free(&c->pending);
	cache_free(&c->cache);
	free(c->tsnap.slots);
	free(c->watched);
	free(c->keys);
	free(c->vals);
	free(c);
}

int capture_poll(struct capture *c, int timeout_ms)
{
	int rc = ring_buffer__poll(c->rb, timeout_ms);

	refresh_watched(c);
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
static int tot_account(struct capture *c, struct tsnap_table *fresh, struct capture_totals *out, uint32_t tid,
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

static int drain_totals(struct capture *c, struct capture_totals *out)
{
	int thfd = bpf_map__fd(c->skel->maps.threads), tfd = bpf_map__fd(c->skel->maps.totals);
	struct tsnap_table fresh = { 0 };
	struct wf_totals_key tk, tnext;
	struct wf_thread th;
	uint32_t tid, next, *prev = NULL;
	size_t n = 0;
	int rc = 0;

	/* Size the new table for the live threads (a few hundred at most). */
	while (bpf_map_get_next_key(thfd, prev, &next) == 0) {
		n++;
		tid = next;
		prev = &tid;
	}
	fresh.nslots = 64;
	while (fresh.nslots < n * 2 + 2)
		fresh.nslots *= 2;
	fresh.slots = calloc(fresh.nslots, sizeof(*fresh.slots));
	if (!fresh.slots)
		return -ENOMEM;

	prev = NULL;
	while (bpf_map_get_next_key(thfd, prev, &next) == 0) {
		tid = next;
		prev = &tid;
		if (bpf_map_lookup_elem(thfd, &tid, &th) || !th.pstart)
			continue;
		if (tot_account(c, &fresh, out, tid, th.tgid, th.pstart, &th.tot, false))
			rc = -ENOMEM;
	}
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

int capture_drain(struct capture *c, struct wf_edge_list *edges, struct capture_totals *totals)
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

void capture_get_stats(const struct capture *c, struct capture_stats *out)
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
}

void capture_counters(const struct capture_stats *st, struct wf_counter out[CAPTURE_COUNTERS])
{
	out[0] = (struct wf_counter){ "stacks_walked", st->stacks_walked };
	out[1] = (struct wf_counter){ "ustack_memo_hits", st->ustack_memo_hits };
	out[2] = (struct wf_counter){ "orc_walks", st->orc_walks };
	out[3] = (struct wf_counter){ "orc_checks", st->orc_checks };
	out[4] = (struct wf_counter){ "orc_mismatches", st->orc_mismatches };
	out[5] = (struct wf_counter){ "sched_attaches", st->sched_attaches };
}

void capture_lost_counters(const struct capture_stats *st, struct wf_counter out[CAPTURE_LOST_COUNTERS])
{
	out[0] = (struct wf_counter){ "edges_dropped", st->edges_dropped };
	out[1] = (struct wf_counter){ "stacks_dropped", st->stacks_dropped };
	out[2] = (struct wf_counter){ "state_dropped", st->state_dropped };
	out[3] = (struct wf_counter){ "ringbuf_dropped", st->ringbuf_dropped };
	out[4] = (struct wf_counter){ "totals_dropped", st->totals_dropped };
}

size_t capture_programs(const struct capture *c, const char **names, size_t max)
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
