// SPDX-License-Identifier: Apache-2.0
/*
 * The live capture's BPF object, from open to attach (capture_int.h): its
 * settings (rodata, map sizes), which program of each tp_btf/raw_tp pair
 * and which kernel stack walker this kernel gets, the load with its
 * fallbacks, and the scheduler programs attached only while something is
 * traced. Every decision about the kernel reads one parse of its BTF
 * (read_kernel_facts).
 */
#include "capture_int.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kallsyms.h"
#include "syscalls.h"
#include "wakeflow.skel.h"

#define DEFAULT_LONG_BLOCK_MS 10
#define DEFAULT_SAMPLE_PERIOD_MS 1000

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (!verbose)
		return 0; /* our own one-line errors say what failed */
	return vfprintf(stderr, fmt, args);
}

/* The one place the capture reads its environment switches. */
void capture_read_env(struct capture_env *env)
{
	const char *attach = getenv("WAKEFLOW_ATTACH"), *unwinder = getenv("WAKEFLOW_UNWINDER");
	const char *check = getenv("WAKEFLOW_ORC_CHECK");

	env->force_raw_tp = attach && !strcmp(attach, "raw_tp");
	env->kernel_unwinder = unwinder && !strcmp(unwinder, "kernel");
	env->orc_check_all = check && !strcmp(check, "all");
	env->softirq_origin = getenv("WAKEFLOW_DEBUG_SOFTIRQ_ORIGIN") != NULL;
	env->no_edge_memo = getenv("WAKEFLOW_EDGE_MEMO") && !strcmp(getenv("WAKEFLOW_EDGE_MEMO"), "off");
}

/*
 * Slots of the thread-state array (wakeflow.bpf.c, thread_slots): a power
 * of two, as many as threads may be traced, so that threads seldom share a
 * slot (a process's threads have nearby tids and never do until there are
 * more of them than slots), and no more than pid_max allows: a tid is
 * below pid_max, so slots past it would never be indexed. (pid_max unread:
 * the kernel's limit, 2^22.) Each slot is a struct wf_thread (1,416 bytes),
 * preallocated like the threads hash beside it.
 */
static uint32_t thread_slot_count(uint32_t threads)
{
	unsigned long pid_max = 1UL << 22;
	uint32_t n = 1;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");

	if (f) {
		if (fscanf(f, "%lu", &pid_max) != 1 || !pid_max)
			pid_max = 1UL << 22;
		fclose(f);
	}
	while (n < threads && n < pid_max && n < (1U << 22))
		n <<= 1;
	return n;
}

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
 * task on the node, the interrupt-state ones (irq, softirq, timer and x86
 * vector tracepoints: irq_state.bpf.h) on every interrupt, softirq and timer.
 * Even a program that returns at once costs each of them the kernel's
 * dispatch (about 100 ns here, with retpolines and SRSO return thunks), so
 * these programs are attached only while at least one process is traced,
 * and detached when the last one is gone: a node without a matching process
 * pays nothing. The interrupt state is read only by the scheduler programs;
 * attached first, it is kept from before their first run, and an interrupt
 * already under way when it attaches is healed at the next switch
 * (irq_state_heal). Process exec/fork/exit programs stay attached (rare
 * events; exec is how a match is found).
 */
static const char *const process_tps[] = { "sched_process_exec", "sched_process_fork", "sched_process_exit" };

/* Whether tracepoint tp's program follows the targets (sched_attach_update). */
static bool on_demand_program(const char *tp)
{
	for (int i = 0; i < (int)(sizeof(process_tps) / sizeof(process_tps[0])); i++)
		if (!strcmp(tp, process_tps[i]))
			return false;
	return true;
}

static bool is_sched_program(const char *tp)
{
	return !strcmp(tp, "sched_switch") || !strcmp(tp, "sched_waking");
}

void sched_detach(struct wf_capture *c)
{
	/* The scheduler programs (attached last) first: none runs without the
	 * interrupt state. */
	for (int i = c->nsched_links - 1; i >= 0; i--) {
		bpf_link__destroy(c->sched_links[i]);
		c->sched_links[i] = NULL;
	}
	c->nsched_links = 0;
}

bool sched_attached(const struct wf_capture *c)
{
	return c->nsched_links > 0;
}

/* Attaches the on-demand programs whose tracepoint is (sched) or is not
 * (!sched) a scheduler one. Returns 0, or -1 with errno set. */
static int attach_on_demand(struct wf_capture *c, bool sched)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, c->skel->obj)
	{
		const char *name = bpf_program__name(prog);
		const char *tp = name + (strncmp(name, "raw_", 4) ? 3 : 4);
		struct bpf_link *link;

		if (!strncmp(name, "util_", 5) || !on_demand_program(tp) || is_sched_program(tp) != sched ||
		    !bpf_program__autoload(prog))
			continue;
		if (c->nsched_links >= (int)(sizeof(c->sched_links) / sizeof(c->sched_links[0]))) {
			errno = E2BIG;
			return -1;
		}
		link = bpf_program__attach(prog);
		if (!link)
			return -1;
		c->sched_links[c->nsched_links++] = link;
	}
	return 0;
}

/* Attaches or detaches the on-demand programs to match the targets map.
 * Returns 0, or -1 with errno set if attaching failed (nothing attached). */
int sched_attach_update(struct wf_capture *c)
{
	uint32_t key;
	bool wanted = bpf_map_get_next_key(bpf_map__fd(c->skel->maps.targets), NULL, &key) == 0;

	if (wanted == sched_attached(c))
		return 0;
	if (!wanted) {
		sched_detach(c);
		return 0;
	}
	if (attach_on_demand(c, false) || attach_on_demand(c, true) || !sched_attached(c)) {
		int err = errno ? errno : ENOENT;

		sched_detach(c);
		errno = err;
		return -1;
	}
	c->sched_attaches++;
	return 0;
}

/* Whether program i's tracepoint exists; without BTF to ask, assume so. */
static bool kernel_has_prog_tp(const struct kernel_facts *k, int i)
{
	return !k->have_btf || i >= 64 || ((k->prog_tp >> i) & 1);
}

/*
 * One program of each tp_btf/raw_tp pair is loaded. Tracepoints the kernel
 * lacks (irq_work_* exists on x86 only) are left out in both modes: the
 * state they keep then only misses that kind of interrupt.
 */
static void choose_programs(struct wf_capture *c)
{
	struct bpf_program *prog;
	int i = 0;

	c->nprogs = 0;
	bpf_object__for_each_program(prog, c->skel->obj)
	{
		const char *name = bpf_program__name(prog);
		bool raw = !strncmp(name, "raw_", 4);
		const char *tp = name + (raw ? 4 : 3);
		bool present = kernel_has_prog_tp(&c->kernel, i++); /* (every program: i is its index) */
		bool load = raw == c->raw_tp && present;

		if (!strncmp(name, "util_", 5)) {
			/* Run by user space (BPF_PROG_TEST_RUN), never attached:
			 * the kernel reader for the ORC walker only, the memos'
			 * drain always (capture_threads.c). */
			bpf_program__set_autoload(prog, !strcmp(name, "util_drain_memos") || c->orc_usable);
			bpf_program__set_autoattach(prog, false);
			continue;
		}
		bpf_program__set_autoload(prog, load);
		if (on_demand_program(tp))
			bpf_program__set_autoattach(prog, false); /* see sched_attach_update */
		if (load && c->nprogs < (int)(sizeof(c->progs) / sizeof(c->progs[0])))
			c->progs[c->nprogs++] = name;
	}
}

/* Kernel stacks are walked often only with --stacks full: the ORC walker
 * and its table (~4 MiB of maps) are set up for that mode. */
static void choose_unwinder(struct wf_capture *c, const struct capture_opts *o)
{
	char why[160];

	c->orc_usable = false;
	if (!o->stacks_full)
		snprintf(c->unwinder, sizeof(c->unwinder), "kernel (sampled stacks)");
	else if (c->raw_tp)
		snprintf(c->unwinder, sizeof(c->unwinder), "kernel (raw_tp attach)");
	else if (c->env.kernel_unwinder)
		snprintf(c->unwinder, sizeof(c->unwinder), "kernel (WAKEFLOW_UNWINDER=kernel)");
	else if (c->orc_load_error)
		snprintf(c->unwinder, sizeof(c->unwinder), "kernel (loading with the unwind table failed: %s)",
			 strerror(c->orc_load_error));
	else if (!(c->orc_usable = unwinder_prepare(c->skel, c->kernel.orc_format, "/proc/kallsyms", &c->orc, why, sizeof(why))))
		snprintf(c->unwinder, sizeof(c->unwinder), "kernel (%s)", why);
	/* Tests compare every walk with the kernel's, not only some. */
	c->skel->rodata->orc_check_all = c->orc_usable && c->env.orc_check_all;
}

/*
 * Everything the loads ask of the kernel's BTF, read in one parse by the
 * first attempt (skel: its just-opened object, for its programs'
 * tracepoints). The parsed BTF (5.5 MB here) is freed before any load:
 * libbpf parses its own copy to relocate the programs, and holding ours
 * beside it raised the agent's peak RSS from 18.6 to 24.0 MB (bench-agent).
 */
static void read_kernel_facts(struct kernel_facts *k, struct wakeflow_bpf *skel)
{
	struct btf *btf = btf__load_vmlinux_btf();
	struct bpf_program *prog;
	int i = 0;

	k->have_btf = btf != NULL;
	k->sched_tp_btf = kernel_has_tp(btf, "sched_switch") && kernel_has_tp(btf, "sched_waking");
	k->switch_has_prev_state = switch_has_prev_state(btf);
	k->orc_format = unwinder_orc_format(btf);
	k->prog_tp = 0;
	bpf_object__for_each_program(prog, skel->obj)
	{
		const char *name = bpf_program__name(prog);
		const char *tp = name + (strncmp(name, "raw_", 4) ? 3 : 4);

		if (i < 64 && kernel_has_tp(btf, tp))
			k->prog_tp |= 1ULL << i;
		i++;
	}
	k->read = true;
	btf__free(btf);
}

static int open_and_load(struct wf_capture *c, const struct capture_opts *o, char *err, size_t errlen)
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
	/* The first attempt settles the kernel's facts and the attach mode;
	 * a retry changes the mode only by its own decision (capture_load). */
	if (!c->kernel.read) {
		read_kernel_facts(&c->kernel, c->skel);
		/* WAKEFLOW_ATTACH=raw_tp takes the fallback where tp_btf works too,
		 * so the raw_tp twins are tested on kernels that never need them. */
		c->raw_tp = !c->kernel.sched_tp_btf || c->env.force_raw_tp;
	}
	c->skel->rodata->stacks_full = o->stacks_full;
	/* --chain-comm matches on exec, like --comm. */
	c->skel->rodata->exec_events_all = o->ncomm > 0 || (c->chain_links > 1 && o->nchain_comm > 0);
	{
		/* Chains off: their maps shrink to one entry each. (raw_tp
		 * follows chains through targets only: chains.bpf.h.) */
		bool chains = c->chain_links > 1;

		c->skel->rodata->chain_links = chains ? c->chain_links : 1;
		bpf_map__set_max_entries(c->skel->maps.chains, chains ? c->max_chains : 1);
		bpf_map__set_max_entries(c->skel->maps.chain_bits, chains ? WF_TARGET_BITS_WORDS : 1);
	}
	c->skel->rodata->long_block_ns = (uint64_t)long_ms * 1000000ULL;
	c->skel->rodata->sample_period_ns = (uint64_t)period_ms * 1000000ULL;
	set_ksyms(c->skel);
	set_fd_syscalls(c->skel);
	bpf_map__set_max_entries(c->skel->maps.edges, c->max_edges);
	bpf_map__set_max_entries(c->skel->maps.stacks, c->max_stacks);
	bpf_map__set_max_entries(c->skel->maps.ustack_memo, c->max_stacks);
	c->nslots = thread_slot_count(threads);
	bpf_map__set_max_entries(c->skel->maps.thread_slots, c->nslots);
	c->skel->rodata->thread_slot_mask = c->nslots - 1;
	bpf_map__set_max_entries(c->skel->maps.threads, threads);
	bpf_map__set_max_entries(c->skel->maps.totals, threads);
	c->skel->rodata->edge_memo = !c->env.no_edge_memo;
	c->skel->rodata->debug_softirq_origin = c->env.softirq_origin;
	choose_unwinder(c, o);
	choose_programs(c);
	c->skel->rodata->switch_has_prev_state = c->kernel.switch_has_prev_state;
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

int capture_load(struct wf_capture *c, const struct capture_opts *o, char *err, size_t errlen)
{
	int rc;

	verbose = o->verbose;
	libbpf_set_print(libbpf_print);
	rc = open_and_load(c, o, err, errlen);
	if (rc && c->orc_usable && rc != -EPERM && rc != -EACCES) {
		/* The unwind table's 4.5 MiB of maps may not fit (a memory-limited
		 * cgroup): the kernel's walker needs none of it. */
		c->orc_load_error = -rc;
		rc = open_and_load(c, o, err, errlen);
	}
	if (rc && !c->raw_tp && rc != -EPERM && rc != -EACCES) {
		/* BTF-typed tracepoints refused: the raw twins take the same path. */
		c->raw_tp = true;
		rc = open_and_load(c, o, err, errlen);
	}
	if (rc)
		return rc;
	if (c->orc_usable) {
		char why[160];

		if (unwinder_start(c->skel, &c->orc, why, sizeof(why)))
			snprintf(c->unwinder, sizeof(c->unwinder), "orc");
		else
			snprintf(c->unwinder, sizeof(c->unwinder), "kernel (%s)", why);
	}
	return 0;
}

int capture_attach(struct wf_capture *c, char *err, size_t errlen)
{
	int rc;

	if (wakeflow_bpf__attach(c->skel) || sched_attach_update(c)) {
		rc = -errno;
		snprintf(err, errlen, "failed to attach the BPF programs to the scheduler tracepoints: %s%s",
			 strerror(-rc), rc == -EPERM ? " (run as root)" : "");
		return -1;
	}
	return 0;
}

/* Slots [0..29] and [32..61]: log2 of (softirq start - last hard irq exit)
 * for softirqs whose frames show irq exit, resp. local_bh_enable; 30/31 and
 * 62/63: how each was judged (softirq_origin.bpf.h). */
void capture_print_softirq_origin(const struct wf_capture *c)
{
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
