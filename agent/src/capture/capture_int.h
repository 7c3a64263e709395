/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the live capture's halves share; no other module includes this:
 *   capture.c         targets and process events, draining edges and
 *                     totals, the stack cache, open and close;
 *   capture_edge.c    a drained kernel edge as a symbolized wake edge;
 *   capture_chains.c  the chain scope (pods, --chain-comm) and the drain
 *                     of the kernel chain map into chains of such edges;
 *   capture_attach.c  the BPF object's settings, which programs load, the
 *                     load and its fallbacks, and attaching the scheduler
 *                     programs only while something is traced.
 */
#ifndef WAKEFLOW_CAPTURE_INT_H
#define WAKEFLOW_CAPTURE_INT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capture.h"
#include "unwinder.h"
#include "wakeflow.h"

/* Default kernel map sizes (entries); all preallocated, see capture.h. */
#define DEFAULT_MAX_EDGES 16384
#define DEFAULT_MAX_STACKS 8192
#define DEFAULT_MAX_THREADS 4096

/*
 * The environment switches of the capture, read once at open. They exist
 * for tests and benchmarks, never for production settings (those are
 * flags: struct capture_opts).
 */
struct capture_env {
	bool force_raw_tp;    /* WAKEFLOW_ATTACH=raw_tp: the raw_tp twins where tp_btf works too */
	bool kernel_unwinder; /* WAKEFLOW_UNWINDER=kernel: --stacks full without the ORC walker */
	bool orc_check_all;   /* WAKEFLOW_ORC_CHECK=all: every ORC walk compared with the kernel's */
	bool softirq_origin;  /* WAKEFLOW_DEBUG_SOFTIRQ_ORIGIN set: the experiment's histogram */
	bool no_edge_memo;    /* WAKEFLOW_EDGE_MEMO=off: every interval into the edges map (tests) */
};

/* What the running kernel's BTF says, for every load attempt (read once,
 * by the first: read_kernel_facts in capture_attach.c). */
struct kernel_facts {
	bool read;		    /* filled in (by the first load attempt) */
	bool have_btf;		    /* vmlinux BTF could be read */
	bool sched_tp_btf;	    /* sched_switch and sched_waking have BTF-typed tracepoints */
	bool switch_has_prev_state; /* sched_switch passes prev_state (5.18+) */
	int orc_format;		    /* enum orc_format of the kernel's struct orc_entry, or -1 */
	uint64_t prog_tp;	    /* bit i: the tracepoint of the object's program i exists */
};

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

#define WF_CGROUP_PATH 1024

/* Which processes besides the targets carry causes (capture_chains.c). */
struct chain_scope {
	const char *proc_root;
	regex_t comm_re[CAPTURE_MAX_COMMS]; /* --chain-comm */
	int ncomm;
	uint64_t *bits, *want; /* the kernel's chain_bits as last written; the rescan's */
	uint64_t count;	       /* processes in it at the last rescan */
	int npods;
	double next_ms;
};

struct wf_capture {
	struct capture_env env;
	struct kernel_facts kernel;
	struct wakeflow_bpf *skel;
	struct ring_buffer *rb;
	struct wf_targets *targets;
	struct wf_symbolizer *sym;
	bool stacks_full;
	bool raw_tp;
	uint32_t max_edges, max_stacks;
	void (*on_target)(void *ctx, int32_t pid); /* capture_opts.on_target */
	void *on_target_ctx;

	struct wf_edge_list pending; /* drained early (a process exited or exec'ed) */
	struct stack_cache cache;
	struct tsnap_table tsnap; /* per-thread totals at the last drain */
	uint32_t gen;
	bool batch_unsupported;

	struct wf_edge_key *keys; /* batch buffers, max_edges each */
	struct wf_edge_val *vals;

	/* Thread state (wakeflow.bpf.c): the thread_slots array, mmapped,
	 * and the map whose update waits for running programs (capture.c,
	 * wait_for_programs), its fd and the inner map's. */
	const struct wf_thread *slots;
	uint32_t nslots;
	size_t slots_len;
	int sync_outer, sync_inner;

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
	/* The scheduler and interrupt-state programs run only while something
	 * is traced (sched_attach_update): their links, scheduler ones last. */
	struct bpf_link *sched_links[32];
	int nsched_links;
	uint64_t sched_attaches;
	int nprogs;
	const char *progs[32];

	/* Wake chains (capture_chains.c); chain_links 1: off. */
	uint32_t chain_links, max_chains;
	struct wf_chain_key *ckeys; /* batch buffers, max_chains each */
	struct wf_chain_val *cvals;
	struct wf_chain_list pending_chains;
	uint64_t chains_in_map;
	struct chain_scope scope;
};

/* A kernel comm (WF_TASK_COMM_LEN bytes, maybe unterminated) as a string. */
_Static_assert(WF_COMM_LEN == WF_TASK_COMM_LEN, "comm length: edge.h and wakeflow.h differ");
static inline void copy_comm(char *dst, const char *src)
{
	memcpy(dst, src, WF_COMM_LEN);
	dst[WF_COMM_LEN - 1] = '\0';
}

/* capture_attach.c */
void capture_read_env(struct capture_env *env);
/* Opens and loads the BPF object into c->skel: the settings from o, the
 * programs of this kernel, and the fallbacks (without the ORC table's
 * maps, then raw_tp) when a load fails; starts the ORC walker where it is
 * usable. Returns 0, or a negative errno with one sentence in err. */
int capture_load(struct wf_capture *c, const struct capture_opts *o, char *err, size_t errlen);
/* Attaches the process programs; the scheduler and interrupt-state ones
 * follow the targets map (sched_attach_update). Returns 0, or -1 with one sentence in err. */
int capture_attach(struct wf_capture *c, char *err, size_t errlen);
int sched_attach_update(struct wf_capture *c);
void sched_detach(struct wf_capture *c);
bool sched_attached(const struct wf_capture *c);
/* The softirq-origin experiment's histogram on stderr (env.softirq_origin). */
void capture_print_softirq_origin(const struct wf_capture *c);

/* capture_threads.c: the kernel's thread state (its array mmapped) and
 * the drain of the threads' memos of their last edge into the edges map. */
void capture_threads_init(struct wf_capture *c); /* before open: nothing to close */
int capture_threads_open(struct wf_capture *c, char *err, size_t errlen); /* after the load */
void capture_threads_close(struct wf_capture *c);
int capture_drain_memos(struct wf_capture *c); /* 0 or a negative errno */
struct wf_thread;
int capture_each_thread(struct wf_capture *c, int (*fn)(void *ctx, uint32_t tid, const struct wf_thread *th),
			void *ctx);

/* capture_edge.c: one drained kernel edge as a symbolized wake edge (its
 * times on the wall clock: boot_to_real is added to boot-clock stamps). */
void capture_build_edge(struct wf_capture *c, const struct wf_edge_key *k, const struct wf_edge_val *v,
			int64_t boot_to_real, struct wf_edge *e);

/* capture_chains.c */
uint32_t capture_chain_links(const struct capture_opts *o); /* asked for (0: the default) */
/* Before the load: the depth, map size and regexes; -1 with err on a bad regex. */
int capture_chains_open(struct wf_capture *c, const struct capture_opts *o, char *err, size_t errlen);
/* After the load: chains off in raw_tp mode; buffers. */
void capture_chains_loaded(struct wf_capture *c);
void capture_chains_close(struct wf_capture *c);
/* Rebuilds the chain scope if due (now: at once, e.g. targets changed). */
void capture_chain_scope_poll(struct wf_capture *c, bool now);
void capture_chain_scope_add(struct wf_capture *c, int32_t pid);
bool capture_chain_comm_matches(const struct wf_capture *c, const char *comm);
void capture_chains_drain_pending(struct wf_capture *c);

/* capture.c: CLOCK_REALTIME minus CLOCK_BOOTTIME, in ns. */
int64_t capture_boot_to_real(void);

/* capture.c: a stack by id, from the cache or the kernel's stack map (NULL
 * if neither has it); cached for this drain's generation. */
const struct raw_stack *capture_stack_get(struct wf_capture *c, uint64_t id);

#endif
