// SPDX-License-Identifier: Apache-2.0
/*
 * Workloads with known multi-hop wake chains, for agent/tests/chains.test.ts
 * (built by the test). Every mode runs for DURATION_MS (default 1500) and
 * prints "ready\n" once its threads are named.
 *
 *   pipeline      one process: wf-a sleeps 1 ms (a timer wakes it), then
 *                 posts to wf-b through an eventfd; wf-b writes a pipe to
 *                 wf-c. Chain of wf-c: [timer] -> wf-a -> wf-b -> wf-c.
 *   udp-server PORT   wf-srv receives UDP datagrams and passes each on to
 *                 wf-tgt over a unix socket pair (same process).
 *   udp-client PORT   a process of its own (name wfc-client): sleeps 1 ms,
 *                 sends one datagram. Chain of wf-tgt:
 *                 [timer] -> wfc-client -> wf-srv -> wf-tgt.
 *   blocked       wf-x posts to wf-w through an eventfd; wf-w then sleeps
 *                 2 ms (blocks: its cause from wf-x is void) and, woken by
 *                 the timer, writes a pipe to wf-t. Chain of wf-t:
 *                 [timer] -> wf-w -> wf-t, never wf-x -> wf-w -> wf-t.
 *   reuse PID     two generations of a pipeline process, one after the
 *                 other, both with the pid PID (clone3 set_tid; root): the
 *                 main thread (named wf-gen1, then wf-gen2) reads the pipe.
 *                 Prints "ready" and starts the first on SIGUSR1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

static long duration_ms = 1500;
static volatile int done;
static int efd, pfd[2], usock[2];

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "chainload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- pipeline / blocked ---- */

static void *stage_a(void *arg)
{
	uint64_t one = 1;
	double end = mono_ms() + duration_ms;

	prctl(PR_SET_NAME, arg);
	while (mono_ms() < end) {
		sleep_us(1000);
		if (write(efd, &one, sizeof(one)) != sizeof(one))
			die("eventfd write");
	}
	done = 1;
	if (write(efd, &one, sizeof(one)) != sizeof(one))
		die("eventfd write");
	return NULL;
}

/* Reads the eventfd; after delay_us of sleep (blocked mode) writes the pipe. */
struct stage_b_arg {
	const char *name;
	long delay_us;
};

static void *stage_b(void *p)
{
	struct stage_b_arg *a = p;
	uint64_t v;
	char c = 'x';

	prctl(PR_SET_NAME, a->name);
	while (!done) {
		if (read(efd, &v, sizeof(v)) != sizeof(v))
			die("eventfd read");
		if (a->delay_us)
			sleep_us(a->delay_us);
		if (write(pfd[1], &c, 1) != 1)
			die("pipe write");
	}
	close(pfd[1]);
	return NULL;
}

static void stage_c(const char *name)
{
	char buf[64];

	prctl(PR_SET_NAME, name);
	while (read(pfd[0], buf, sizeof(buf)) > 0)
		;
}

static void *stage_c_thread(void *name)
{
	stage_c(name);
	return NULL;
}

static int run_pipeline(const char *a, const char *b, const char *cname, long b_delay_us, bool c_is_main)
{
	pthread_t ta, tb, tc;
	struct stage_b_arg barg = { b, b_delay_us };

	efd = eventfd(0, 0);
	if (efd < 0 || pipe(pfd))
		die("eventfd/pipe");
	if (pthread_create(&tb, NULL, stage_b, &barg))
		die("thread");
	if (!c_is_main) {
		if (pthread_create(&tc, NULL, stage_c_thread, (void *)cname))
			die("thread");
	}
	usleep(20000);
	printf("ready\n");
	fflush(stdout);
	if (pthread_create(&ta, NULL, stage_a, (void *)a))
		die("thread");
	if (c_is_main)
		stage_c(cname);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (!c_is_main)
		pthread_join(tc, NULL);
	return 0;
}

/* ---- udp ---- */

static int udp_fd;

static void *server_thread(void *arg)
{
	char buf[64];

	(void)arg;
	prctl(PR_SET_NAME, "wf-srv");
	for (;;) {
		ssize_t n = recv(udp_fd, buf, sizeof(buf), 0);

		if (n <= 0 || buf[0] == 'q')
			break;
		if (write(usock[0], buf, 1) != 1)
			die("unix write");
	}
	close(usock[0]);
	return NULL;
}

static int udp_server(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { 0, 200000 };
	pthread_t t;
	char buf[64];
	double end;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (udp_fd < 0 || bind(udp_fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("udp bind");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, usock))
		die("socketpair");
	prctl(PR_SET_NAME, "wf-tgt");
	if (pthread_create(&t, NULL, server_thread, NULL))
		die("thread");
	printf("ready\n");
	fflush(stdout);
	/* The server runs until the client's 'q' (or twice its duration). */
	setsockopt(usock[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	end = mono_ms() + 2 * duration_ms + 5000;
	while (mono_ms() < end) {
		ssize_t n = read(usock[1], buf, sizeof(buf));

		if (n == 0)
			break;
	}
	pthread_join(t, NULL);
	return 0;
}

static int udp_client(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	double end = mono_ms() + duration_ms;

	prctl(PR_SET_NAME, "wfc-client");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("udp connect");
	printf("ready\n");
	fflush(stdout);
	while (mono_ms() < end) {
		sleep_us(1000);
		if (send(fd, "d", 1, 0) != 1)
			die("udp send");
	}
	send(fd, "q", 1, 0);
	return 0;
}

/* ---- pid reuse ---- */

static pid_t spawn_with_pid(pid_t pid)
{
	struct clone_args args = { .exit_signal = SIGCHLD };
	pid_t tid = pid;

	args.set_tid = (uint64_t)(uintptr_t)&tid;
	args.set_tid_size = 1;
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

static int reuse(pid_t pid)
{
	sigset_t go;
	int sig;

	/* Wait for the test's SIGUSR1, sent once the agent runs: the agent then
	 * found this process a target when it started, and follows the forks
	 * that follow. A generation forked before the agent knew its parent
	 * (and renamed, so --comm no longer names it) would not be traced. */
	sigemptyset(&go);
	sigaddset(&go, SIGUSR1);
	sigprocmask(SIG_BLOCK, &go, NULL);
	printf("ready\n");
	if (sigwait(&go, &sig))
		die("sigwait");
	for (int gen = 1; gen <= 2; gen++) {
		pid_t child = spawn_with_pid(pid);
		int status;

		if (child < 0)
			die("clone3 with set_tid (needs root and a free pid)");
		if (child == 0) {
			char name[16];

			snprintf(name, sizeof(name), "wf-gen%d", gen);
			prctl(PR_SET_NAME, name);
			exit(run_pipeline("wf-ra", "wf-rb", name, 0, true));
		}
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
			die("generation failed");
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *d = getenv("CHAINLOAD_MS");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (d)
		duration_ms = strtol(d, NULL, 10);
	if (!strcmp(mode, "pipeline"))
		return run_pipeline("wf-a", "wf-b", "wf-c", 0, false);
	if (!strcmp(mode, "blocked"))
		return run_pipeline("wf-x", "wf-w", "wf-t", 2000, false);
	if (!strcmp(mode, "udp-server") && argc > 2)
		return udp_server(atoi(argv[2]));
	if (!strcmp(mode, "udp-client") && argc > 2)
		return udp_client(atoi(argv[2]));
	if (!strcmp(mode, "reuse") && argc > 2)
		return reuse((pid_t)atoi(argv[2]));
	fprintf(stderr, "usage: chainload pipeline|blocked|udp-server PORT|udp-client PORT|reuse PID\n");
	return 2;
}
