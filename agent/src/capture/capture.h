/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Live capture: loads and attaches the BPF programs (wakeflow.bpf.c), keeps
 * the set of target processes current (by pid and by process-name regex,
 * following exec, fork and exit), and drains the in-kernel aggregates into
 * symbolized (not yet classified) edges plus per-thread totals.
 * Used by `record` (one drain at the end) and `serve` (one drain per window).
 */
#ifndef WAKEFLOW_CAPTURE_H
#define WAKEFLOW_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "edge.h"
#include "targets.h" /* CAPTURE_MAX_PIDS, CAPTURE_MAX_COMMS */

#define CAPTURE_MAX_SYMBOL_DIRS 8 /* SYM_MAX_DIRS */

struct capture_opts {
	int32_t pids[CAPTURE_MAX_PIDS];
	int npids;
	const char *comm_regex[CAPTURE_MAX_COMMS]; /* POSIX extended regex on the process name */
	int ncomm;
	const char *proc_root; /* procfs to read targets and mappings from (NULL: "/proc") */
	bool stacks_full;      /* every event carries full stacks (like offwaketime) */
	bool verbose;	  /* libbpf debug output */
	/* Default mode: blocks at least this long always get full stacks and an
	 * edge of their own (0: 10 ms). */
	uint32_t long_block_ms;
	/* Default mode: an edge's stacks are walked again at most this often (0: 1000 ms). */
	uint32_t sample_period_ms;
	/* Kernel map sizes, preallocated (0: defaults 16384 edges, 4096 threads,
	 * 8192 stacks: about 20 MiB of kernel memory); full maps are counted
	 * in stats. */
	uint32_t max_edges, max_threads, max_stacks;
	/* Told (main loop: inside capture_open and capture_poll) each time a
	 * process starts being traced: at start-up, on a --comm match at exec,
	 * a traced process's forked child. serve reads who it is right then. */
	void (*on_target)(void *ctx, int32_t pid);
	void *on_target_ctx;
	/* --symbols: directories of separate symbol files, by build-id
	 * (symbolize.h); filled by capture_opts_add_symbols. */
	const char *symbol_dirs[CAPTURE_MAX_SYMBOL_DIRS];
	int nsymbol_dirs;
	/* Wake chains (docs/chains.md): links per chain, 1 = off, at most
	 * WF_CHAIN_MAX_LINKS (0: WF_CHAIN_DEFAULT_LINKS, 3); see
	 * capture_parse_chains. Besides the targets, the tasks of their pods
	 * and of processes whose name matches a chain_comm regex carry their
	 * cause, so chains go through them. */
	uint32_t chains;
	const char *chain_comm[CAPTURE_MAX_COMMS];
	int nchain_comm;
	uint32_t max_chains; /* kernel chain map entries (0: 4096) */
};

/* --symbols DIR, for record and serve: dir must be a directory we can
 * read. 0, or -1 with the error (naming dir) in err. */
int capture_opts_add_symbols(struct capture_opts *o, const char *dir, char *err, size_t errlen);
/* `--chains N`: 1..WF_CHAIN_MAX_LINKS into *out, else -1 with one sentence in err. */
int capture_parse_chains(const char *arg, uint32_t *out, char *err, size_t errlen);
/* `--chain-comm REGEX`: 0 if it compiles (POSIX extended), else -1 with one sentence in err. */
int capture_check_chain_comm(const char *regex, char *err, size_t errlen);

/* Per-thread totals since the previous drain, for the daemon's series. */
struct capture_thread_totals {
	struct wf_task task;
	uint64_t oncpu_ns;
	uint64_t preempted_ns;	   /* runnable but off CPU after a preemption */
	uint64_t blocked_ns;	   /* asleep until woken */
	uint64_t runq_ns;	   /* wakeup-to-running delay */
	uint64_t switches;	   /* times switched out */
	uint64_t involuntary;	   /* of which preemptions */
	uint64_t wakeups;
};

struct capture_totals {
	struct capture_thread_totals *items;
	size_t len, cap;
};

/* Health counters (lost events, full maps, ...), cumulative since open. */
struct capture_stats {
	uint64_t events;	/* off-CPU intervals seen */
	uint64_t edges_dropped; /* edge map full: interval counted in totals only */
	uint64_t stacks_dropped; /* stack map full or walk failed */
	uint64_t state_dropped;	 /* per-thread state map full */
	uint64_t ringbuf_dropped;
	uint64_t stacks_walked;
	uint64_t targets; /* processes currently traced */
	uint64_t symbolize_failures;
	uint64_t ustack_memo_hits; /* user stacks reused without a walk */
	uint64_t edge_memo_hits;   /* intervals added to their thread's memo of its last edge */
	uint64_t wakeups_unseen;   /* switch-ins without a wakeup seen (context unknown) */
	uint64_t totals_dropped;   /* per-thread totals map full */
	/* Kernel stacks walked by the BPF ORC walker, how many of those the
	 * kernel's walker also walked to compare, and how many differed (the
	 * first difference turns the ORC walker off). */
	uint64_t orc_walks, orc_checks, orc_mismatches;
	const char *unwinder; /* "orc", or "kernel (why)" */
	/* The scheduler programs are attached only while something is traced:
	 * whether they are now, and how many times they were attached. */
	bool sched_attached;
	uint64_t sched_attaches;
	double last_drain_ms;
	const char *attach_mode; /* "tp_btf" or "raw_tp" */
	uint32_t chain_links;	 /* links per chain in effect (1: chains off) */
	uint64_t chains_in_map;	 /* entries of the kernel chain map at the last drain */
	uint64_t chains_dropped; /* cumulative: chain map full */
	uint64_t causes_dropped; /* cumulative: a task's cause could not be stored */
	uint64_t chain_scope;	 /* processes besides the targets whose tasks carry causes */
};

struct wf_capture;

/* On failure returns NULL and writes one sentence into err saying what is
 * missing (privileges, BTF, a bad regex) and what to do. */
struct wf_capture *capture_open(const struct capture_opts *opts, char *err, size_t errlen);
/* Handles process events (exec/exit/fork) for up to timeout_ms, then
 * attaches or detaches the scheduler programs as targets come and go;
 * returns -1 with errno set if either failed, else 0. Call it in the main
 * loop. */
int capture_poll(struct wf_capture *c, int timeout_ms);
/* Moves everything aggregated since the last drain into edges and totals
 * (either may be NULL). Edges are symbolized but not classified. */
int capture_drain(struct wf_capture *c, struct wf_edge_list *edges, struct capture_totals *totals);
/* Moves the chains aggregated since the last call into chains (appended;
 * NULL discards them): call it right after capture_drain, for the same
 * window. Links are symbolized edges, not yet classified (classify them
 * like edges); a link's stacks are there where they were sampled: the
 * target's own link with its edge's sampled stacks, the first hop's at
 * most once per sample period per wakee. Nothing with chains off. */
int capture_drain_chains(struct wf_capture *c, struct wf_chain_list *chains);
void capture_get_stats(const struct wf_capture *c, struct capture_stats *out);
/* Marks the interned strings the capture holds between drains (the
 * symbolizer's caches, edges and chains drained early), for intern_sweep
 * (intern.h). */
void capture_mark_interned(const struct wf_capture *c);

/*
 * What the capture could not record, as named counters: one definition for
 * record's JSON "lost" object, serve's /api/v1/status and the reason label
 * of wakeflow_agent_lost_events_total. Fills out (CAPTURE_LOST_COUNTERS
 * entries, always in the same order).
 */
#define CAPTURE_LOST_COUNTERS 5
/* How the capture went: stacks_walked, ustack_memo_hits, orc_walks,
 * orc_checks, orc_mismatches, sched_attaches, edge_memo_hits. */
#define CAPTURE_COUNTERS 7
void capture_counters(const struct capture_stats *st, struct wf_counter out[CAPTURE_COUNTERS]);
void capture_lost_counters(const struct capture_stats *st, struct wf_counter out[CAPTURE_LOST_COUNTERS]);
/* Names of the attached BPF programs, for /api/v1/status. */
size_t capture_programs(const struct wf_capture *c, const char **names, size_t max);
void capture_totals_free(struct capture_totals *t);
void capture_close(struct wf_capture *c);
/* The capture's symbolizer, for what may be used from other threads
 * (symbolize.h: sym_name_late, names at read time); it lives until
 * capture_close. */
struct wf_symbolizer *capture_symbolizer(struct wf_capture *c);

#endif
