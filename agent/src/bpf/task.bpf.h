/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a task is and what the current one is doing: ids, names and process
 * start time of any task; the saved user registers, the syscall and the
 * kind of file behind its first argument for the current task (the cheap
 * facts every interval is classified by). Part of wakeflow.bpf.c, included
 * after its settings (ksym ranges) and in_range().
 */
#ifndef WAKEFLOW_TASK_BPF_H
#define WAKEFLOW_TASK_BPF_H

#define PF_KTHREAD 0x00200000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_MPTCP 262

/*
 * Task fields. In tp_btf programs the tracepoint's task arguments are BTF
 * pointers and a field is a plain load; raw_tp programs get bare addresses
 * and need probe reads. The current task is a BTF pointer in both
 * (bpf_get_current_task_btf). Helper calls are dear on kernels with
 * retpoline/SRSO return thunks, so the hot paths load directly where the
 * verifier allows it.
 */
static __always_inline __u32 task_tgid(struct task_struct *t, bool btf)
{
	return btf ? t->tgid : BPF_CORE_READ(t, tgid);
}

static __always_inline __u32 task_tid(struct task_struct *t, bool btf)
{
	return btf ? t->pid : BPF_CORE_READ(t, pid);
}

static __always_inline __u64 task_pstart(struct task_struct *t, bool btf)
{
	return btf ? t->group_leader->start_time : BPF_CORE_READ(t, group_leader, start_time);
}

/* The thread's name and its process's (group leader's) name. */
static __always_inline void task_comms(struct task_struct *t, bool btf, char *comm, char *pcomm)
{
	if (btf) {
		__builtin_memcpy(comm, t->comm, WF_TASK_COMM_LEN);
		__builtin_memcpy(pcomm, t->group_leader->comm, WF_TASK_COMM_LEN);
	} else {
		BPF_CORE_READ_STR_INTO((char(*)[WF_TASK_COMM_LEN])comm, t, comm);
		BPF_CORE_READ_STR_INTO((char(*)[WF_TASK_COMM_LEN])pcomm, t, group_leader, comm);
	}
}

/* The current task's saved user registers, or NULL for kernel threads. */
static __always_inline struct pt_regs *current_regs(struct task_struct *cur)
{
	if (cur->flags & PF_KTHREAD)
		return NULL;
	return (struct pt_regs *)bpf_task_pt_regs(cur);
}

/* The syscall the current task is in, or -1. Exceptions from user space
 * (page faults) also leave a small number in orig_ax: a syscall entered via
 * SYSCALL is recognised by rcx/r11 holding the user rip/rflags. */
static __always_inline int current_syscall(struct pt_regs *regs, __u64 *arg0)
{
	long nr;

	if (!regs)
		return -1;
	nr = regs->orig_ax;
	if (nr < 0 || nr > 0x7fff)
		return -1;
	if (regs->cx != regs->ip || regs->r11 != regs->flags)
		return -1;
	if (arg0)
		*arg0 = regs->di;
	return nr;
}

/* Kind of file behind fd in the current task, by its poll method (data
 * symbols such as eventfd_fops are not in kallsyms; functions are). */
static __always_inline __u8 current_fd_kind(__u64 fd)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct fdtable *fdt = cur->files->fdt;
	struct file **fds;
	struct file *f;
	struct socket *sock;
	struct sock *sk;
	__u64 poll;
	__u16 family, protocol, type;

	if (!fdt || fd >= fdt->max_fds)
		return WF_FD_NONE;
	fds = fdt->fd;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return WF_FD_NONE; /* e.g. close(): the slot is empty by the wakeup */
	poll = (__u64)BPF_CORE_READ(f, f_op, poll);
	if (in_range(poll, WF_KSYM_EVENTFD_POLL))
		return WF_FD_EVENTFD;
	if (in_range(poll, WF_KSYM_PIPE_POLL))
		return WF_FD_PIPE;
	if (in_range(poll, WF_KSYM_TIMERFD_POLL))
		return WF_FD_TIMERFD;
	if (in_range(poll, WF_KSYM_SIGNALFD_POLL))
		return WF_FD_SIGNALFD;
	if (!in_range(poll, WF_KSYM_SOCK_POLL)) {
		umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);

		return (mode & 0170000) == 0100000 ? WF_FD_FILE : WF_FD_OTHER;
	}
	sock = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return WF_FD_SOCKET;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	protocol = BPF_CORE_READ(sk, sk_protocol);
	type = BPF_CORE_READ(sk, sk_type);
	if (family == AF_UNIX)
		return WF_FD_UNIX;
	if (family == AF_INET || family == AF_INET6) {
		if (protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP || type == SOCK_STREAM)
			return WF_FD_TCP;
		if (protocol == IPPROTO_UDP || type == SOCK_DGRAM)
			return WF_FD_UDP;
	}
	return WF_FD_SOCKET;
}

static __always_inline bool fd_syscall(int nr)
{
	if (nr < 0 || nr >= 512)
		return false;
	return (fd_syscalls[(nr >> 6) & 7] >> (nr & 63)) & 1;
}

#endif
