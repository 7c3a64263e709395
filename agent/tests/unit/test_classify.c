// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for classification (classify.c + rules/default.rules): every
 * category from 6.x stacks alone, from live facts alone and from both (the
 * paths must agree), context inference from stacks, activities, roles, and
 * the rules language with its one-line errors. The 5.x captures themselves
 * are checked end to end by agent/tests/import.test.ts against labels.json.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "edge.h"

#define MAXF 40

/* An edge over caller-owned frame arrays (NULL-terminated, innermost first). */
struct tedge {
	struct wf_edge e;
	const char *wf[MAXF], *tf[MAXF];
};

static void setup_edge(struct tedge *t, const char *waker, const char *target, enum wf_context ctx,
		       const char *const *wframes, const char *const *tframes, const char *const *facts)
{
	int n;

	edge_init(&t->e);
	snprintf(t->e.waker.comm, WF_COMM_LEN, "%s", waker);
	snprintf(t->e.target.comm, WF_COMM_LEN, "%s", target);
	t->e.context = ctx;
	if (ctx == WF_CTX_NONE)
		t->e.kind = WF_SWITCH_PREEMPTED;
	for (n = 0; wframes && wframes[n] && n < MAXF; n++)
		t->wf[n] = wframes[n];
	t->e.waker_stack.frames = t->wf;
	t->e.waker_stack.nframes = n;
	for (n = 0; tframes && tframes[n] && n < MAXF; n++)
		t->tf[n] = tframes[n];
	t->e.target_stack.frames = t->tf;
	t->e.target_stack.nframes = n;
	for (n = 0; facts && facts[n]; n++)
		edge_add_fact(&t->e, facts[n]);
	t->e.stacks_sampled = t->e.waker_stack.nframes || t->e.target_stack.nframes;
}

static struct wf_rules *defaults;

static int load_defaults(void **state)
{
	char err[256];

	(void)state;
	defaults = rules_load_default(err, sizeof(err));
	if (!defaults)
		fprintf(stderr, "default rules: %s\n", err);
	return defaults ? 0 : -1;
}

static int free_defaults(void **state)
{
	(void)state;
	rules_free(defaults);
	return 0;
}

static const char *cat(int c)
{
	return wf_category(c) ? wf_category(c)->id : "?";
}

/* ---- one row per mechanism: 6.x stacks, the facts a live edge carries ---- */

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const char *const epoll_target[] = { "__schedule", "schedule", "schedule_hrtimeout_range_clock", "ep_poll",
					    "do_epoll_wait", "__x64_sys_epoll_wait", "do_syscall_64",
					    "entry_SYSCALL_64_after_hwframe", "epoll_wait", NULL };

struct mech {
	const char *name;
	const char *category;
	enum wf_context stack_context; /* what the waker stack says */
	const char *const *waker_frames;
	const char *const *target_frames;
	const char *const *facts; /* a live edge of the same event */
};

static const struct mech mechs[] = {
	{ "eventfd", "ipc.eventfd", WF_CTX_TASK,
	  L("ep_autoremove_wake_function", "__wake_up_common", "__wake_up", "ep_poll_callback", "__wake_up_common",
	    "__wake_up_locked_key", "eventfd_write", "vfs_write", "ksys_write", "do_syscall_64",
	    "entry_SYSCALL_64_after_hwframe", "write"),
	  epoll_target, L("waker.syscall=write", "waker.fd=eventfd", "target.syscall=epoll_wait") },
	{ "futex", "ipc.futex", WF_CTX_TASK,
	  L("wake_up_q", "futex_wake", "do_futex", "__x64_sys_futex", "do_syscall_64", "entry_SYSCALL_64_after_hwframe",
	    "syscall", "pthread_cond_signal"),
	  L("__schedule", "schedule", "futex_wait_queue", "__futex_wait", "futex_wait", "do_futex"),
	  L("waker.syscall=futex", "target.syscall=futex") },
	{ "pipe", "ipc.pipe", WF_CTX_TASK,
	  L("autoremove_wake_function", "__wake_up_common", "__wake_up_sync_key", "pipe_write", "vfs_write",
	    "ksys_write", "do_syscall_64"),
	  L("__schedule", "schedule", "pipe_read", "vfs_read"), L("waker.syscall=write", "waker.fd=pipe") },
	{ "signal", "ipc.signal", WF_CTX_TASK,
	  L("signal_wake_up_state", "complete_signal", "__send_signal_locked", "do_send_sig_info", "do_tkill",
	    "__x64_sys_tgkill", "do_syscall_64"),
	  L("__schedule", "schedule", "do_nanosleep"), L("waker.syscall=tgkill") },
	{ "unix", "net.unix", WF_CTX_TASK,
	  L("ep_autoremove_wake_function", "__wake_up_common", "__wake_up", "ep_poll_callback", "__wake_up_common",
	    "__wake_up_sync_key", "sock_def_readable", "unix_stream_sendmsg", "sock_sendmsg", "__sys_sendto"),
	  epoll_target, L("waker.syscall=sendto", "waker.fd=unix") },
	{ "udp (loopback, softirq at local_bh_enable)", "net.udp", WF_CTX_TASK,
	  L("ep_autoremove_wake_function", "__wake_up_common", "__wake_up", "ep_poll_callback", "__wake_up_common",
	    "__wake_up_sync_key", "sock_def_readable", "__udp_enqueue_schedule_skb", "udp_queue_rcv_one_skb",
	    "udp_unicast_rcv_skb", "__udp4_lib_rcv", "ip_protocol_deliver_rcu", "ip_local_deliver_finish",
	    "__netif_receive_skb_one_core", "process_backlog", "__napi_poll", "net_rx_action", "handle_softirqs",
	    "do_softirq", "__local_bh_enable_ip", "__dev_queue_xmit", "ip_finish_output2", "udp_send_skb",
	    "udp_sendmsg", "__sys_sendto"),
	  epoll_target, L("waker.syscall=sendto", "waker.fd=udp") },
	{ "tcp data", "net.tcp.data", WF_CTX_TASK,
	  L("ep_autoremove_wake_function", "__wake_up_common", "__wake_up", "ep_poll_callback", "__wake_up_common",
	    "__wake_up_sync_key", "sock_def_readable", "tcp_data_queue", "tcp_rcv_established", "tcp_v4_do_rcv",
	    "tcp_v4_rcv", "ip_protocol_deliver_rcu", "__netif_receive_skb_one_core", "process_backlog",
	    "net_rx_action", "handle_softirqs", "do_softirq.part.0", "__local_bh_enable_ip", "__dev_queue_xmit",
	    "__tcp_transmit_skb", "tcp_write_xmit", "tcp_sendmsg_locked", "tcp_sendmsg", "sock_write_iter",
	    "vfs_write", "ksys_write"),
	  epoll_target, L("waker.syscall=write", "waker.fd=tcp") },
	{ "tcp close (FIN)", "net.tcp.close", WF_CTX_TASK,
	  L("ep_autoremove_wake_function", "__wake_up_common", "__wake_up", "ep_poll_callback", "__wake_up_common",
	    "__wake_up", "sock_def_wakeup", "tcp_fin", "tcp_data_queue", "tcp_rcv_established", "tcp_v4_do_rcv",
	    "tcp_v4_rcv", "net_rx_action", "handle_softirqs", "do_softirq", "__local_bh_enable_ip",
	    "__tcp_transmit_skb", "tcp_send_fin", "__tcp_close", "tcp_close", "inet_release", "__sock_release",
	    "sock_close", "__fput", "task_work_run", "exit_to_user_mode_loop", "syscall_exit_to_user_mode"),
	  epoll_target, L("waker.syscall=close", "waker.fd=tcp") },
	{ "tcp connect (listener readable)", "net.tcp.connect", WF_CTX_TASK,
	  L("ep_autoremove_wake_function", "__wake_up_common", "__wake_up", "ep_poll_callback", "__wake_up_common",
	    "__wake_up_sync_key", "sock_def_readable", "tcp_child_process", "tcp_v4_rcv", "net_rx_action",
	    "handle_softirqs", "do_softirq", "__local_bh_enable_ip", "__tcp_send_ack", "tcp_rcv_synsent_state_process",
	    "tcp_rcv_state_process", "tcp_v4_do_rcv", "__release_sock", "release_sock", "__inet_stream_connect",
	    "inet_stream_connect", "__sys_connect"),
	  epoll_target, L("waker.syscall=connect", "waker.fd=tcp") },
	{ "tcp writable", "net.tcp.writable", WF_CTX_TASK,
	  L("ep_autoremove_wake_function", "__wake_up_common", "__wake_up", "ep_poll_callback", "__wake_up_common",
	    "__wake_up_sync_key", "sk_stream_write_space", "tcp_check_space", "tcp_rcv_established", "tcp_v4_do_rcv",
	    "tcp_v4_rcv", "net_rx_action", "handle_softirqs", "do_softirq", "__local_bh_enable_ip", "tcp_cleanup_rbuf",
	    "tcp_recvmsg", "inet_recvmsg", "sock_recvmsg", "__sys_recvfrom"),
	  epoll_target, L("waker.syscall=recvfrom", "waker.fd=tcp") },
	{ "hrtimer on an idle CPU", "timer", WF_CTX_HARDIRQ,
	  L("hrtimer_wakeup", "__hrtimer_run_queues", "hrtimer_interrupt", "__sysvec_apic_timer_interrupt",
	    "sysvec_apic_timer_interrupt", "asm_sysvec_apic_timer_interrupt", "pv_native_safe_halt", "default_idle",
	    "do_idle", "cpu_startup_entry"),
	  epoll_target, L("irq=hardirq", "irq.timer=hrtimer_wakeup") },
	{ "timer-wheel timeout in softirq", "timer", WF_CTX_SOFTIRQ,
	  L("process_timeout", "call_timer_fn", "__run_timers", "run_timer_softirq", "handle_softirqs", "__irq_exit_rcu",
	    "sysvec_apic_timer_interrupt", "asm_sysvec_apic_timer_interrupt"),
	  L("__schedule", "schedule", "schedule_timeout"),
	  L("irq=softirq", "irq.softirq=timer", "irq.timer=process_timeout") },
	{ "block completion in softirq", "io.block", WF_CTX_SOFTIRQ,
	  L("wake_up_process", "complete", "submit_bio_wait_endio", "bio_endio", "blk_update_request",
	    "blk_mq_end_request", "blk_complete_reqs", "blk_done_softirq", "handle_softirqs", "__irq_exit_rcu",
	    "common_interrupt"),
	  L("__schedule", "schedule", "io_schedule", "submit_bio_wait"), L("irq=softirq", "irq.softirq=block") },
	{ "netlink", "net.other", WF_CTX_TASK,
	  L("autoremove_wake_function", "__wake_up_common", "sock_def_readable", "netlink_unicast", "netlink_sendmsg",
	    "__sys_sendto"),
	  L("__schedule", "schedule", "netlink_recvmsg"), L("waker.syscall=sendto", "waker.fd=socket") },
	{ "unknown mechanism", "other", WF_CTX_TASK, L("wake_up_process", "kick_some_driver"), epoll_target,
	  L("target.syscall=epoll_wait") },
};

static void test_mechanisms_stacks_facts_agree(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		const struct mech *m = &mechs[i];
		struct tedge stack_only, facts_only, both;

		/* Imported: stacks, no facts, context to be inferred. */
		setup_edge(&stack_only, "waker", "wrk:worker_0", WF_CTX_UNKNOWN, m->waker_frames, m->target_frames, NULL);
		classify_edge(defaults, &stack_only.e);
		/* Live default mode: facts and the capture's context, no stacks. */
		setup_edge(&facts_only, "waker", "wrk:worker_0", m->stack_context, NULL, NULL, m->facts);
		classify_edge(defaults, &facts_only.e);
		/* Live full-stack mode: both. */
		setup_edge(&both, "waker", "wrk:worker_0", m->stack_context, m->waker_frames, m->target_frames, m->facts);
		classify_edge(defaults, &both.e);

		if (strcmp(cat(stack_only.e.category), m->category) || strcmp(cat(facts_only.e.category), m->category) ||
		    strcmp(cat(both.e.category), m->category) || stack_only.e.context != m->stack_context)
			fail_msg("%s: want %s/%s, stacks gave %s/%s, facts %s, both %s", m->name, m->category,
				 wf_context_name(m->stack_context), cat(stack_only.e.category),
				 wf_context_name(stack_only.e.context), cat(facts_only.e.category), cat(both.e.category));
	}
}

static const struct mech preempts[] = {
	{ "return to user (6.x)", "preempt.involuntary", WF_CTX_NONE,
	  NULL, L("__schedule", "schedule", "exit_to_user_mode_loop", "syscall_exit_to_user_mode", "do_syscall_64"),
	  L("target.state=runnable", "target.preempt=1", "target.resched=user_return") },
	{ "irq preemption", "preempt.involuntary", WF_CTX_NONE,
	  NULL, L("__schedule", "preempt_schedule_irq", "irqentry_exit", "asm_sysvec_apic_timer_interrupt"),
	  L("target.state=runnable", "target.preempt=1", "target.resched=irq") },
	{ "cond_resched (6.x)", "preempt.voluntary", WF_CTX_NONE,
	  NULL, L("__schedule", "__cond_resched", "mutex_lock", "ep_poll"),
	  L("target.state=runnable", "target.preempt=1", "target.resched=cond_resched") },
	{ "sched_yield", "preempt.voluntary", WF_CTX_NONE,
	  NULL, L("__schedule", "schedule", "do_sched_yield", "__x64_sys_sched_yield", "do_syscall_64"),
	  L("target.state=runnable", "target.preempt=0", "target.resched=yield") },
	{ "kernel preemption at preempt_enable", "preempt.involuntary", WF_CTX_NONE,
	  NULL, L("__schedule", "preempt_schedule_common", "preempt_schedule", "_raw_spin_unlock"),
	  L("target.state=runnable", "target.preempt=1", "target.resched=irq") },
};

static void test_preemptions_stacks_facts_agree(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(preempts) / sizeof(preempts[0]); i++) {
		const struct mech *m = &preempts[i];
		struct tedge s, f;

		setup_edge(&s, "", "wrk:worker_0", WF_CTX_NONE, NULL, m->target_frames, NULL);
		classify_edge(defaults, &s.e);
		setup_edge(&f, "", "wrk:worker_0", WF_CTX_NONE, NULL, NULL, m->facts);
		classify_edge(defaults, &f.e);
		if (strcmp(cat(s.e.category), m->category) || strcmp(cat(f.e.category), m->category))
			fail_msg("%s: want %s, stacks gave %s, facts %s", m->name, m->category, cat(s.e.category),
				 cat(f.e.category));
		assert_int_equal(s.e.context, WF_CTX_NONE);
		assert_null(s.e.activity);
	}
}

static void test_bare_preemption_is_involuntary(void **state)
{
	struct tedge t;

	(void)state;
	setup_edge(&t, "", "wrk:worker_0", WF_CTX_NONE, NULL, NULL, NULL);
	classify_edge(defaults, &t.e);
	assert_string_equal(cat(t.e.category), "preempt.involuntary");
}

static void test_softirq_without_stack_is_net_other(void **state)
{
	struct tedge t;

	/* A packet handled in softirq on another CPU: no fd, no stack. The
	 * protocol is unknowable from facts; say "network", not a guess. */
	(void)state;
	setup_edge(&t, "swapper/1", "envoy", WF_CTX_SOFTIRQ, NULL, NULL, L("irq=softirq", "irq.softirq=net_rx"));
	classify_edge(defaults, &t.e);
	assert_string_equal(cat(t.e.category), "net.other");
}

/* ---- context from stacks --------------------------------------------- */

static enum wf_context ctx_of(const char *waker, const char *const *frames)
{
	struct tedge t;

	setup_edge(&t, waker, "envoy", WF_CTX_UNKNOWN, frames, NULL, NULL);
	return classify_stack_context(defaults, &t.e);
}

static void test_context_inference(void **state)
{
	(void)state;
	/* 5.x: softirq on irq exit of an idle CPU. */
	assert_int_equal(ctx_of("swapper/1", L("sock_def_readable", "udp_rcv", "net_rx_action", "__softirqentry_text_start",
					      "irq_exit", "do_IRQ", "ret_from_intr", "native_safe_halt", "do_idle")),
			 WF_CTX_SOFTIRQ);
	/* 6.x: the same through common_interrupt, no irq_exit frame shown. */
	assert_int_equal(ctx_of("swapper/0", L("sock_def_readable", "udp_rcv", "net_rx_action", "handle_softirqs",
					      "__irq_exit_rcu", "common_interrupt", "asm_common_interrupt")),
			 WF_CTX_SOFTIRQ);
	/* softirq run at local_bh_enable inside the waker's own send: task. */
	assert_int_equal(ctx_of("kubelet", L("sock_def_readable", "tcp_data_queue", "net_rx_action", "__do_softirq",
					    "do_softirq_own_stack", "do_softirq.part.0", "__local_bh_enable_ip",
					    "ip_finish_output2", "tcp_sendmsg")),
			 WF_CTX_TASK);
	/* ksoftirqd */
	assert_int_equal(ctx_of("ksoftirqd/1", L("sock_def_readable", "tcp_data_queue", "net_rx_action", "handle_softirqs",
						"run_ksoftirqd", "smpboot_thread_fn", "kthread")),
			 WF_CTX_SOFTIRQ);
	/* A timer interrupt during softirq processing: the innermost wins. */
	assert_int_equal(ctx_of("swapper/1", L("hrtimer_wakeup", "__hrtimer_run_queues", "hrtimer_interrupt",
					      "smp_apic_timer_interrupt", "apic_timer_interrupt",
					      "__softirqentry_text_start", "irq_exit")),
			 WF_CTX_HARDIRQ);
	/* 6.x timer interrupt over a busy task. */
	assert_int_equal(ctx_of("calico-node", L("hrtimer_wakeup", "__hrtimer_run_queues", "hrtimer_interrupt",
						"__sysvec_apic_timer_interrupt", "sysvec_apic_timer_interrupt",
						"asm_sysvec_apic_timer_interrupt", "runtime.selectnbsend")),
			 WF_CTX_HARDIRQ);
	/* Plain syscall. */
	assert_int_equal(ctx_of("envoy", L("autoremove_wake_function", "eventfd_write", "vfs_write", "ksys_write")),
			 WF_CTX_TASK);
	/* The idle task with no interrupt frame left in the stack. */
	assert_int_equal(ctx_of("swapper/3", L("try_to_wake_up", "sched_ttwu_pending")), WF_CTX_SOFTIRQ);
	/* Nothing to go by. */
	assert_int_equal(ctx_of("pilot-agent", L("[unknown]", "[Missed Kernel Stack]")), WF_CTX_UNKNOWN);
}

static void test_given_context_not_overwritten(void **state)
{
	struct tedge t;

	/* The live capture knows the context; a stack must not override it. */
	(void)state;
	setup_edge(&t, "kubelet", "envoy", WF_CTX_SOFTIRQ,
		   L("sock_def_readable", "net_rx_action", "__do_softirq", "do_softirq", "__local_bh_enable_ip"), NULL,
		   NULL);
	classify_edge(defaults, &t.e);
	assert_int_equal(t.e.context, WF_CTX_SOFTIRQ);
}

/* ---- activities and roles --------------------------------------------- */

static const char *activity_of(const char *waker, const char *target, enum wf_context ctx, const char *const *wf,
			       const char *const *tf, const char *const *facts)
{
	struct tedge t;

	setup_edge(&t, waker, target, ctx, wf, tf, facts);
	classify_edge(defaults, &t.e);
	return t.e.activity ? t.e.activity : "(null)";
}

static void test_activities(void **state)
{
	const char *const *flush = L("autoremove_wake_function", "eventfd_write", "vfs_write",
				     "event_active", "Envoy::ThreadLocal::InstanceImpl::runOnAllThreads()",
				     "Envoy::Server::InstanceImpl::flushStats()", "event_base_loop");

	(void)state;
	assert_string_equal(activity_of("envoy", "wrk:worker_0", WF_CTX_UNKNOWN, flush, epoll_target, NULL),
			    "envoy.stats_flush");
	/* The same frames under a timer interrupt are the interrupted task's,
	 * not the reason for the wakeup. */
	assert_string_equal(activity_of("envoy", "wrk:worker_0", WF_CTX_HARDIRQ, flush, epoll_target, NULL), "(null)");
	/* Facts only: an eventfd post between Envoy threads. */
	assert_string_equal(activity_of("wrk:worker_3", "envoy", WF_CTX_TASK, NULL, NULL,
					L("waker.syscall=write", "waker.fd=eventfd")),
			    "envoy.dispatcher_post");
	/* ... but not from an unrelated process. */
	assert_string_equal(activity_of("haproxy", "envoy", WF_CTX_TASK, NULL, NULL,
					L("waker.syscall=write", "waker.fd=eventfd")),
			    "(null)");
	/* The access-log flusher's periodic timeout. */
	assert_string_equal(activity_of("swapper/0", "AccessLogFlush", WF_CTX_HARDIRQ, NULL, NULL,
					L("irq=hardirq", "irq.timer=hrtimer_wakeup")),
			    "envoy.access_log_flush");
	/* pilot-agent means xDS only over its unix socket. */
	assert_string_equal(activity_of("pilot-agent", "envoy", WF_CTX_TASK, NULL, NULL,
					L("waker.syscall=write", "waker.fd=unix")),
			    "envoy.xds");
	assert_string_equal(activity_of("pilot-agent", "wrk:worker_0", WF_CTX_TASK, NULL, NULL,
					L("waker.syscall=write", "waker.fd=tcp")),
			    "(null)");
	/* DNS only from a resolver. */
	assert_string_equal(activity_of("coredns", "envoy", WF_CTX_TASK, NULL, NULL,
					L("waker.syscall=sendmsg", "waker.fd=udp")),
			    "envoy.dns");
	assert_string_equal(activity_of("swapper/1", "envoy", WF_CTX_SOFTIRQ,
					L("sock_def_readable", "__udp_enqueue_schedule_skb", "udp_rcv", "net_rx_action",
					  "__softirqentry_text_start", "irq_exit"),
					NULL, NULL),
			    "(null)");
	/* Watchdog by thread name; a worker's GuardDog& argument is not it. */
	assert_string_equal(activity_of("swapper/0", "dog:workers_gua", WF_CTX_HARDIRQ, NULL, NULL, NULL),
			    "envoy.watchdog");
	assert_string_equal(activity_of("calico-node", "wrk:worker_1", WF_CTX_HARDIRQ, L("hrtimer_wakeup"),
					L("schedule", "Envoy::Server::WorkerImpl::threadRoutine(Envoy::Server::GuardDog&)"),
					NULL),
			    "(null)");
}

static void test_roles(void **state)
{
	static const struct {
		const char *comm, *role;
	} cases[] = {
		{ "wrk:worker_0", "worker" },	  { "wrk:worker_12", "worker" },    { "envoy", "main" },
		{ "dog:main_thread", "watchdog" }, { "dog:workers_gua", "watchdog" }, { "AccessLogFlush", "access_log" },
		{ "envoyx", "other" },		  { "nginx", "other" },		  { "", "other" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tedge t;

		setup_edge(&t, "x", cases[i].comm, WF_CTX_TASK, NULL, NULL, NULL);
		classify_edge(defaults, &t.e);
		assert_string_equal(wf_role_id(t.e.role), cases[i].role);
	}
}

static void test_taxonomy(void **state)
{
	(void)state;
	assert_int_equal(WF_CAT__COUNT, 16);
	for (int c = 0; c < WF_CAT__COUNT; c++) {
		const struct wf_taxon *t = wf_category(c);

		assert_non_null(t);
		assert_int_equal(wf_category_from_id(t->id), c);
		assert_true(strlen(t->description) > 10);
	}
	assert_null(wf_category(-1));
	assert_null(wf_category(WF_CAT__COUNT));
	assert_int_equal(wf_category_from_id("net.tcp"), -1);
	for (int r = 0; r < WF_ROLE__COUNT; r++)
		assert_int_equal(wf_role_from_id(wf_role_id(r)), r);
	assert_true(wf_activity_count() >= 7);
	assert_string_equal(wf_activity(0)->id, "envoy.dispatcher_post");
	assert_null(wf_activity(wf_activity_count()));
	assert_true(rules_count(defaults) > 20);
	assert_string_equal(rules_origin(defaults), "built-in rules");
}

/* ---- the rules language ------------------------------------------------ */

static struct wf_rules *load(const char *text, char *err)
{
	return rules_load_string(text, "t.rules", err, 256);
}

static void test_rule_errors(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
		{ "bogus x\n", "t.rules:1: unknown keyword 'bogus'" },
		{ "# c\n\ncategory timer\n", "t.rules:3: 'category' outside a rule" },
		{ "rule a\n  category net.tcp\n  when always\n", "t.rules:2: unknown category 'net.tcp'" },
		{ "rule a\n  role boss\n  when always\n", "t.rules:2: unknown role 'boss'" },
		{ "rule a\n  activity Envoy.X\n  when always\n", "t.rules:2: bad activity id 'Envoy.X'" },
		{ "rule a\n  category timer\n  when waker.fdd=tcp\n", "t.rules:3: unknown test 'waker.fdd'" },
		{ "rule a\n  category timer\n  when waker.frame\n", "t.rules:3: expected a test like" },
		{ "rule a\n  category timer\n  when waker.frame=a||b\n", "t.rules:3: empty alternative" },
		{ "rule a\n  category timer\n  when waker.frame=\n", "t.rules:3: empty pattern" },
		{ "rule a\n  category timer\n  when target.frame=\"virtual thunk\n", "t.rules:3: unterminated quote" },
		{ "rule a\n  category timer\n  when context=irq\n", "t.rules:3: unknown context 'irq'" },
		{ "rule a\n  category timer\n\nrule b\n  category timer\n  when always\n",
		  "t.rules:1: rule 'a' has no 'when' line" },
		{ "rule a\n  when always\n", "t.rules:1: rule 'a' sets nothing" },
		{ "rule a\n  category timer\n  category other\n  when always\n", "t.rules:3: rule 'a' sets category twice" },
		{ "rule a\n  category timer\n  when category=timer\n", "t.rules:1: rule 'a' tests category" },
		{ "rule a\n  role worker\n  when role=main\n", "t.rules:1: rule 'a' tests role" },
		{ "rule a\n  category timer\n  when always\nrule a\n  category other\n  when always\n",
		  "t.rules:4: duplicate rule name 'a' (first on line 1)" },
		{ "when always\n", "t.rules:1: 'when' outside a rule" },
		{ "rule a\n  category timer\n  when always context=none\n", "t.rules:3: 'always' must be alone" },
		{ "context-frames nmi foo\n", "t.rules:1: unknown context-frames kind 'nmi'" },
		{ "# only comments\n\n", "t.rules: no rules" },
		{ "", "t.rules: no rules" },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wf_rules *r = load(cases[i].text, err);

		if (r)
			fail_msg("case %zu loaded, expected error '%s'", i, cases[i].error);
		if (strncmp(err, cases[i].error, strlen(cases[i].error)))
			fail_msg("case %zu: got '%s', want '%s...'", i, err, cases[i].error);
		assert_null(strchr(err, '\n'));
	}
}

static void test_rules_file_errors(void **state)
{
	char err[256], path[] = "/tmp/wakeflow-test-rules-XXXXXX";
	struct wf_rules *r;
	FILE *f;
	int fd;

	(void)state;
	r = rules_load_file("/nonexistent/x.rules", err, sizeof(err));
	assert_null(r);
	assert_string_equal(err, "/nonexistent/x.rules: cannot open rules file: No such file or directory");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("rule ok\r\n  category timer\r\n  when always\r\nrule bad\r\n  category nope\r\n", f);
	fclose(f);
	r = rules_load_file(path, err, sizeof(err));
	assert_null(r);
	{
		char want[300];

		snprintf(want, sizeof(want), "%s:5: unknown category 'nope'", path);
		assert_string_equal(err, want);
	}
	unlink(path);
}

static void test_rule_semantics(void **state)
{
	static const char text[] =
		"# '#' inside a token is literal; quoted patterns may hold spaces\n"
		"rule lambda\n"
		"    activity my.lambda   # a new activity id\n"
		"    when waker.frame=*{lambda(void*)#1}*\n"
		"rule thunk\n"
		"    activity my.thunk\n"
		"    when target.frame=\"virtual thunk to *\"\n"
		"rule fin\n"
		"    category net.tcp.close\n"
		"    when waker.frame=tcp_fin waker.comm!=kube*\n"
		"rule quiet\n"
		"    activity none\n"
		"    when category=net.tcp.close\n"
		"rule loud\n"
		"    activity my.loud\n"
		"    when category=net.tcp.close|timer\n"
		"rule catch-all\n"
		"    category timer\n"
		"    role main\n"
		"    when always\n";
	char err[256];
	struct wf_rules *r = load(text, err);
	struct tedge t;

	(void)state;
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(rules_count(r), 6);

	/* Clone suffix ignored (tcp_fin.part.0), negation, first match per
	 * output: "quiet" sets activity to none before "loud" is reached. */
	setup_edge(&t, "curl", "envoy", WF_CTX_TASK, L("sock_def_wakeup", "tcp_fin.part.0"), NULL, NULL);
	classify_edge(r, &t.e);
	assert_string_equal(cat(t.e.category), "net.tcp.close");
	assert_null(t.e.activity);
	assert_string_equal(wf_role_id(t.e.role), "main");

	/* Negated comm test fails: falls to the catch-all, then "loud". */
	setup_edge(&t, "kubelet", "envoy", WF_CTX_TASK, L("tcp_fin"), NULL, NULL);
	classify_edge(r, &t.e);
	assert_string_equal(cat(t.e.category), "timer");
	assert_string_equal(t.e.activity, "my.loud");

	/* A frame name with '#', and one with spaces. */
	setup_edge(&t, "x", "y", WF_CTX_TASK, L("Envoy::Thread::{lambda(void*)#1}::__invoke(void*)"), NULL, NULL);
	classify_edge(r, &t.e);
	assert_string_equal(t.e.activity, "my.lambda");
	setup_edge(&t, "x", "y", WF_CTX_TASK, NULL, L("virtual thunk to Envoy::Http::decodeHeaders()"), NULL);
	classify_edge(r, &t.e);
	assert_string_equal(t.e.activity, "my.thunk");
	rules_free(r);
}

static bool points_at(const struct wf_reason *r, bool target, int index)
{
	for (int i = 0; i < r->nframes; i++)
		if (r->frames[i].target == target && r->frames[i].index == index)
			return true;
	return false;
}

/* classify_explain names the deciding rule, its `when` line as written, the
 * frames its frame tests matched and the facts its fact tests matched. */
static void test_explain(void **state)
{
	static const char text[] =
		"rule tcp\n"
		"    category net.tcp.close\n"
		"    when waker.fd=tcp waker.syscall=close\n"
		"    when waker.frame=tcp_fin|tcp_done  waker.frame=sock_def_*  waker.comm!=kube*   # a comment\n"
		"rule thunk\n"
		"    activity my.thunk\n"
		"    when category=net.tcp.close target.frame=\"virtual thunk to *\" target.frame!=never\n"
		"rule late\n"
		"    category timer\n"
		"    when waker.frame=tcp_fin\n";
	char err[256];
	struct wf_rules *r = load(text, err);
	struct wf_explanation x;
	struct tedge t;

	(void)state;
	if (!r)
		fail_msg("%s", err);
	/* The second line holds: every frame its positive frame tests match
	 * (clone suffixes too), none for the negated comm test; the line is
	 * quoted as written, without its comment. */
	setup_edge(&t, "curl", "envoy", WF_CTX_TASK, L("sock_def_wakeup", "tcp_fin.part.0", "tcp_done", "ip_rcv"),
		   L("finish_task_switch", "virtual thunk to Envoy::Http::decodeHeaders()"), NULL);
	classify_edge(r, &t.e);
	classify_explain(r, &t.e, &x);
	assert_string_equal(x.category.rule, "tcp");
	assert_string_equal(x.category.when, "waker.frame=tcp_fin|tcp_done  waker.frame=sock_def_*  waker.comm!=kube*");
	assert_int_equal(x.category.nframes, 3);
	assert_true(points_at(&x.category, false, 0) && points_at(&x.category, false, 1) &&
		    points_at(&x.category, false, 2));
	assert_int_equal(x.category.nfacts, 0);
	/* The activity rule: its quoted pattern as written, the target frame. */
	assert_true(x.has_activity);
	assert_string_equal(x.activity.rule, "thunk");
	assert_string_equal(x.activity.when,
			    "category=net.tcp.close target.frame=\"virtual thunk to *\" target.frame!=never");
	assert_int_equal(x.activity.nframes, 1);
	assert_true(points_at(&x.activity, true, 1));

	/* Facts: the first line holds; the facts it tested, none of the rest. */
	setup_edge(&t, "curl", "envoy", WF_CTX_TASK, NULL, NULL,
		   L("target.syscall=epoll_wait", "waker.syscall=close", "waker.fd=tcp"));
	classify_edge(r, &t.e);
	classify_explain(r, &t.e, &x);
	assert_string_equal(x.category.when, "waker.fd=tcp waker.syscall=close");
	assert_int_equal(x.category.nframes, 0);
	assert_int_equal(x.category.nfacts, 2);
	assert_string_equal(x.category.facts[0], "waker.fd=tcp");
	assert_string_equal(x.category.facts[1], "waker.syscall=close");
	assert_false(x.has_activity);

	/* No rule matched: category other, no rule, no activity. */
	setup_edge(&t, "curl", "envoy", WF_CTX_TASK, L("ip_rcv"), NULL, NULL);
	classify_edge(r, &t.e);
	classify_explain(r, &t.e, &x);
	assert_int_equal(t.e.category, WF_CAT_OTHER);
	assert_null(x.category.rule);
	assert_null(x.category.when);
	assert_int_equal(x.category.nframes + x.category.nfacts, 0);
	assert_false(x.has_activity);

	/* An edge stored under other rules: the first rule that gives its
	 * category and matches ("late"), not the first that matches. */
	setup_edge(&t, "kubelet", "envoy", WF_CTX_TASK, L("tcp_fin"), NULL, NULL);
	classify_edge(r, &t.e);
	assert_int_equal(t.e.category, WF_CAT_TIMER);
	classify_explain(r, &t.e, &x);
	assert_string_equal(x.category.rule, "late");
	t.e.category = WF_CAT_IPC_PIPE; /* no rule here gives it */
	classify_explain(r, &t.e, &x);
	assert_null(x.category.rule);
	rules_free(r);

	/* `when always` reads as such; the default rules explain a 6.x eventfd
	 * wakeup by its frame, and a dispatcher post by its frames' caller. */
	setup_edge(&t, "wrk:worker_1", "envoy", WF_CTX_TASK,
		   L("ep_poll_callback", "eventfd_signal_mask", "eventfd_write", "vfs_write",
		     "Envoy::Event::DispatcherImpl::post(std::function<void ()>)"),
		   NULL, L("waker.syscall=write", "waker.fd=eventfd"));
	classify_edge(defaults, &t.e);
	classify_explain(defaults, &t.e, &x);
	assert_string_equal(x.category.rule, "eventfd");
	assert_true(points_at(&x.category, false, 1) && points_at(&x.category, false, 2));
	assert_int_equal(x.category.nframes, 2);
	assert_int_equal(x.category.nfacts, 0); /* the frame line decided, before the fact line */
	assert_string_equal(x.activity.rule, "dispatcher-post");
	assert_true(points_at(&x.activity, false, 4));
	r = load("rule all\n    category timer\n    when always\n", err);
	assert_non_null(r);
	classify_edge(r, &t.e);
	classify_explain(r, &t.e, &x);
	assert_string_equal(x.category.when, "always");
	rules_free(r);
}

/* Each pattern shape (exact, prefix, suffix, infix, general glob) matches
 * exactly what fnmatch would. */
static void test_pattern_shapes(void **state)
{
	static const struct {
		const char *pattern, *frame;
		bool match;
	} cases[] = {
		{ "tcp_fin", "tcp_fin", true },
		{ "tcp_fin", "tcp_fin2", false },
		{ "tcp_fin", "tcp_fin.isra.0", true }, /* clone suffix */
		{ "tcp_*", "tcp_fin", true },
		{ "tcp_*", "udp_rcv", false },
		{ "*::run()", "Envoy::Server::InstanceImpl::run()", true },
		{ "*::run()", "Envoy::Server::InstanceImpl::run() const", false },
		{ "*Dispatcher*", "Envoy::Event::DispatcherImpl::post()", true },
		{ "*Dispatcher*", "Envoy::Event::Timer", false },
		{ "*Disp*Impl*", "Envoy::Event::DispatcherImpl::post()", true },
		{ "ep_?oll", "ep_poll", true },
		{ "ep_?oll", "ep_ppoll", false },
		{ "[a-c]x", "bx", true },
		{ "[a-c]x", "dx", false },
		{ "\\[unknown]", "[unknown]", true },
		{ "*", "anything", true },
		{ "**", "", true },
	};
	char err[256], text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wf_rules *r;
		struct tedge t;

		snprintf(text, sizeof(text), "rule a\n category timer\n when waker.frame=\"%s\"\n", cases[i].pattern);
		r = load(text, err);
		if (!r)
			fail_msg("pattern '%s': %s", cases[i].pattern, err);
		setup_edge(&t, "x", "y", WF_CTX_TASK, L(cases[i].frame), NULL, NULL);
		classify_edge(r, &t.e);
		if ((t.e.category == WF_CAT_TIMER) != cases[i].match)
			fail_msg("pattern '%s' on '%s': want %s", cases[i].pattern, cases[i].frame,
				 cases[i].match ? "match" : "no match");
		rules_free(r);
	}
}

static void test_fact_tests(void **state)
{
	static const char text[] = "rule a\n  category ipc.pipe\n  when waker.fd=pipe waker.syscall=write*\n"
				   "rule b\n  category ipc.signal\n  when waker.fd!=pipe|eventfd\n";
	char err[256];
	struct wf_rules *r = load(text, err);
	struct tedge t;

	(void)state;
	assert_non_null(r);
	setup_edge(&t, "x", "y", WF_CTX_TASK, NULL, NULL, L("waker.fd=pipe", "waker.syscall=writev"));
	classify_edge(r, &t.e);
	assert_string_equal(cat(t.e.category), "ipc.pipe");
	/* All tests of a line must hold. */
	setup_edge(&t, "x", "y", WF_CTX_TASK, NULL, NULL, L("waker.fd=pipe", "waker.syscall=read"));
	classify_edge(r, &t.e);
	assert_string_equal(cat(t.e.category), "other");
	/* A timer callback symbol matches without its clone suffix, like a frame. */
	{
		struct wf_rules *d = defaults;

		setup_edge(&t, "x", "y", WF_CTX_HARDIRQ, NULL, NULL, L("irq=hardirq", "irq.timer=hrtimer_wakeup.cold"));
		classify_edge(d, &t.e);
		assert_string_equal(cat(t.e.category), "timer");
	}
	/* "!=" holds for an absent fact. */
	setup_edge(&t, "x", "y", WF_CTX_TASK, NULL, NULL, NULL);
	classify_edge(r, &t.e);
	assert_string_equal(cat(t.e.category), "ipc.signal");
	rules_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_taxonomy),
		cmocka_unit_test(test_mechanisms_stacks_facts_agree),
		cmocka_unit_test(test_preemptions_stacks_facts_agree),
		cmocka_unit_test(test_bare_preemption_is_involuntary),
		cmocka_unit_test(test_softirq_without_stack_is_net_other),
		cmocka_unit_test(test_context_inference),
		cmocka_unit_test(test_given_context_not_overwritten),
		cmocka_unit_test(test_activities),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_rule_errors),
		cmocka_unit_test(test_rules_file_errors),
		cmocka_unit_test(test_rule_semantics),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_pattern_shapes),
		cmocka_unit_test(test_fact_tests),
	};

	return cmocka_run_group_tests_name("classify", tests, load_defaults, free_defaults);
}
