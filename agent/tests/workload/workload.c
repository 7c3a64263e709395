// SPDX-License-Identifier: Apache-2.0
/*
 * wakeflow-workload: one process that creates one wake mechanism at a time,
 * for the live tests and the benchmark. Every thread is named (pthread
 * setname) so a test can assert who woke whom:
 *
 *   eventfd    wf-poster writes an eventfd that wf-loop waits for in epoll
 *   futex      wf-signaler signals a condition variable wf-waiter waits on
 *   nanosleep  wf-sleeper sleeps 1 ms at a time (woken by the timer)
 *   timerfd    wf-timerfd waits in read() on a 1 ms periodic timerfd
 *   tcp        wf-client connects to wf-server on loopback, sends a request,
 *              reads the reply and closes, again and again; wf-server
 *              serves from an epoll loop
 *   udp        wf-udp-send sends datagrams that wf-udp-recv waits for
 *   unix       wf-unix-send writes a unix stream socket wf-unix-recv reads
 *   pipe       wf-pipe-send writes a pipe wf-pipe-recv reads
 *   preempt    wf-spin-a and wf-spin-b spin on one CPU and preempt each other
 *   pingpong   wf-ping and wf-pong bounce a byte over two pipes on one CPU
 *              as fast as they can (the benchmark); prints round trips/s;
 *              --linger keeps both threads, asleep, after the last one
 *
 * Built with frame pointers so user stacks unwind.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: wakeflow-workload MODE [--duration SECONDS] [--delay SECONDS] [--iterations N] [--interval-us US]\n"
	"                         [--cpu N] [--linger SECONDS]\n"
	"modes: eventfd futex nanosleep timerfd tcp udp unix pipe preempt pingpong\n";

static double duration = 2.0;	/* seconds */
static double delay;		/* seconds asleep before the mode starts */
static long iterations;		/* pingpong: round trips (0: run for duration) */
static double linger;		/* pingpong: seconds both threads stay, asleep, after the last round trip */
static long interval_us = 1000; /* pause between posts */
static int cpu = 0;
static atomic_bool stop;

static void die(const char *what)
{
	fprintf(stderr, "wakeflow-workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pause_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void pin(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

struct thread {
	pthread_t t;
	const char *name;
	void *(*fn)(void *);
	void *arg;
};

/* Thread bodies name themselves first, so even their first block is named. */
static void name_self(const char *name)
{
	pthread_setname_np(pthread_self(), name);
}

static void run_threads(struct thread *ts, int n)
{
	double end = now_s() + duration;

	for (int i = 0; i < n; i++) {
		if (pthread_create(&ts[i].t, NULL, ts[i].fn, ts[i].arg))
			die("pthread_create");
	}
	while (!atomic_load(&stop) && now_s() < end)
		pause_us(10000);
	atomic_store(&stop, true);
}

static void join_threads(struct thread *ts, int n)
{
	for (int i = 0; i < n; i++)
		pthread_join(ts[i].t, NULL);
}

/* ---- eventfd -> epoll ---- */

static int efd;

static void *eventfd_poster(void *arg)
{
	(void)arg;
	name_self("wf-poster");
	while (!atomic_load(&stop)) {
		uint64_t one = 1;

		if (write(efd, &one, sizeof(one)) != sizeof(one))
			die("eventfd write");
		pause_us(interval_us);
	}
	return NULL;
}

static void *eventfd_loop(void *arg)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = efd };

	(void)arg;
	name_self("wf-loop");
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev))
		die("epoll");
	while (!atomic_load(&stop)) {
		uint64_t v;

		if (epoll_wait(ep, &ev, 1, 100) == 1 && read(efd, &v, sizeof(v)) < 0)
			die("eventfd read");
	}
	close(ep);
	return NULL;
}

static void mode_eventfd(void)
{
	struct thread ts[] = { { .fn = eventfd_loop }, { .fn = eventfd_poster } };

	efd = eventfd(0, EFD_NONBLOCK);
	if (efd < 0)
		die("eventfd");
	run_threads(ts, 2);
	join_threads(ts, 2);
}

/* ---- condition variable (futex) ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long posted, taken;

static void *futex_signaler(void *arg)
{
	(void)arg;
	name_self("wf-signaler");
	while (!atomic_load(&stop)) {
		pthread_mutex_lock(&mu);
		posted++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
		pause_us(interval_us);
	}
	pthread_mutex_lock(&mu);
	posted = -1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *futex_waiter(void *arg)
{
	(void)arg;
	name_self("wf-waiter");
	pthread_mutex_lock(&mu);
	while (posted >= 0) {
		while (posted >= 0 && taken == posted)
			pthread_cond_wait(&cv, &mu);
		if (posted >= 0)
			taken = posted;
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void mode_futex(void)
{
	struct thread ts[] = { { .fn = futex_waiter }, { .fn = futex_signaler } };

	run_threads(ts, 2);
	join_threads(ts, 2);
}

/* ---- timers ---- */

static void *sleeper(void *arg)
{
	(void)arg;
	name_self("wf-sleeper");
	while (!atomic_load(&stop))
		pause_us(interval_us);
	return NULL;
}

static void *timerfd_waiter(void *arg)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = { { 0, interval_us * 1000 }, { 0, interval_us * 1000 } };

	(void)arg;
	name_self("wf-timerfd");
	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL))
		die("timerfd");
	while (!atomic_load(&stop)) {
		uint64_t n;

		if (read(fd, &n, sizeof(n)) < 0)
			die("timerfd read");
	}
	close(fd);
	return NULL;
}

static void mode_nanosleep(void)
{
	struct thread ts[] = { { .fn = sleeper } };

	run_threads(ts, 1);
	join_threads(ts, 1);
}

static void mode_timerfd(void)
{
	struct thread ts[] = { { .fn = timerfd_waiter } };

	run_threads(ts, 1);
	join_threads(ts, 1);
}

/* ---- TCP on loopback ---- */

static int listen_fd;
static struct sockaddr_in tcp_addr;

static void *tcp_server(void *arg)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = listen_fd }, evs[16];

	(void)arg;
	name_self("wf-server");
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev))
		die("epoll");
	while (!atomic_load(&stop)) {
		int n = epoll_wait(ep, evs, 16, 100);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			char buf[512];
			ssize_t r;

			if (fd == listen_fd) {
				int c = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK);

				if (c >= 0) {
					struct epoll_event cev = { .events = EPOLLIN, .data.fd = c };

					epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
				}
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r > 0) {
				if (write(fd, buf, r) < 0)
					die("tcp write");
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
	}
	close(ep);
	return NULL;
}

static void *tcp_client(void *arg)
{
	(void)arg;
	name_self("wf-client");
	while (!atomic_load(&stop)) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
		char buf[64] = "request";

		struct timeval tv = { 0, 200000 };

		if (fd < 0)
			die("socket");
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* The server stops at the same time: never wait for it for long. */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&tcp_addr, sizeof(tcp_addr)))
			die("connect");
		/* Let the server block again between the phases, so connect,
		 * data and close each wake it on their own. */
		pause_us(interval_us / 3);
		for (int i = 0; i < 3 && !atomic_load(&stop); i++) {
			ssize_t r = -1;

			if (write(fd, buf, 8) == 8) {
				/* The timeout only bounds the wait at the stop: a slow
				 * echo (6.1 under emulation, 100x slower) is waited for. */
				while ((r = read(fd, buf, sizeof(buf))) < 0 &&
				       (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && !atomic_load(&stop))
					;
			}
			if (r <= 0) {
				if (atomic_load(&stop))
					break;
				die("tcp exchange");
			}
			pause_us(interval_us / 3);
		}
		close(fd);
		pause_us(interval_us / 3);
	}
	return NULL;
}

static void mode_tcp(void)
{
	struct thread ts[] = { { .fn = tcp_server }, { .fn = tcp_client } };
	socklen_t len = sizeof(tcp_addr);
	int one = 1;

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	tcp_addr.sin_family = AF_INET;
	tcp_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&tcp_addr, sizeof(tcp_addr)) ||
	    listen(listen_fd, 128) || getsockname(listen_fd, (struct sockaddr *)&tcp_addr, &len))
		die("listen");
	run_threads(ts, 2);
	join_threads(ts, 2);
}

/* ---- UDP, unix stream, pipe: one sender, one blocking receiver ---- */

static int chan[2]; /* [0] read end, [1] write end */
static struct sockaddr_in udp_addr;

static void *chan_sender(void *arg)
{
	const char *name = arg;

	name_self(name);
	while (!atomic_load(&stop)) {
		ssize_t w = name[3] == 'u' && name[4] == 'd' /* wf-udp-send */
				    ? sendto(chan[1], "x", 1, 0, (struct sockaddr *)&udp_addr, sizeof(udp_addr))
				    : write(chan[1], "x", 1);

		if (w != 1)
			die("send");
		pause_us(interval_us);
	}
	/* Wake the receiver once more so it sees stop. */
	if (name[3] == 'u' && name[4] == 'd')
		sendto(chan[1], "x", 1, 0, (struct sockaddr *)&udp_addr, sizeof(udp_addr));
	else
		close(chan[1]);
	return NULL;
}

static void *chan_receiver(void *arg)
{
	char buf[64];

	name_self(arg);
	while (!atomic_load(&stop)) {
		if (read(chan[0], buf, sizeof(buf)) <= 0)
			break;
	}
	return NULL;
}

static void mode_channel(const char *kind)
{
	char *send_name, *recv_name;

	if (!strcmp(kind, "udp")) {
		socklen_t len = sizeof(udp_addr);

		chan[0] = socket(AF_INET, SOCK_DGRAM, 0);
		chan[1] = socket(AF_INET, SOCK_DGRAM, 0);
		udp_addr.sin_family = AF_INET;
		udp_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (chan[0] < 0 || chan[1] < 0 || bind(chan[0], (struct sockaddr *)&udp_addr, sizeof(udp_addr)) ||
		    getsockname(chan[0], (struct sockaddr *)&udp_addr, &len))
			die("udp socket");
		send_name = "wf-udp-send";
		recv_name = "wf-udp-recv";
	} else if (!strcmp(kind, "unix")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, chan))
			die("socketpair");
		send_name = "wf-unix-send";
		recv_name = "wf-unix-recv";
	} else {
		if (pipe(chan))
			die("pipe");
		send_name = "wf-pipe-send";
		recv_name = "wf-pipe-recv";
	}
	{
		struct thread ts[] = { { .fn = chan_receiver, .arg = recv_name }, { .fn = chan_sender, .arg = send_name } };

		run_threads(ts, 2);
		join_threads(ts, 2);
	}
}

/* ---- preemption: two spinners on one CPU ---- */

static void *spinner(void *arg)
{
	volatile uint64_t n = 0;

	name_self(arg);
	pin();
	while (!atomic_load(&stop))
		n++;
	return NULL;
}

static void mode_preempt(void)
{
	struct thread ts[] = { { .fn = spinner, .arg = "wf-spin-a" }, { .fn = spinner, .arg = "wf-spin-b" } };

	run_threads(ts, 2);
	join_threads(ts, 2);
}

/* ---- pipe ping-pong (benchmark) ---- */

static int ping[2], pong[2];
static long round_trips;

static void *pinger(void *arg)
{
	char c = 'x';
	double end = now_s() + duration;

	(void)arg;
	name_self("wf-ping");
	pin();
	for (long i = 0; iterations ? i < iterations : (i & 1023) || now_s() < end; i++) {
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			die("ping");
		round_trips++;
	}
	if (linger > 0)
		pause_us((long)(linger * 1e6)); /* wf-pong waits in read meanwhile */
	atomic_store(&stop, true);
	close(ping[1]);
	return NULL;
}

static void *ponger(void *arg)
{
	char c;

	(void)arg;
	name_self("wf-pong");
	pin();
	while (read(ping[0], &c, 1) == 1) {
		if (write(pong[1], &c, 1) != 1)
			die("pong");
	}
	return NULL;
}

static void mode_pingpong(void)
{
	struct thread ts[] = { { .fn = ponger }, { .fn = pinger } };
	double t0;

	if (pipe(ping) || pipe(pong))
		die("pipe");
	t0 = now_s();
	for (int i = 0; i < 2; i++) {
		if (pthread_create(&ts[i].t, NULL, ts[i].fn, NULL))
			die("pthread_create");
	}
	join_threads(ts, 2);
	{
		double s = now_s() - t0;

		printf("round_trips %ld seconds %.6f per_second %.1f us_per_round_trip %.3f\n", round_trips, s,
		       round_trips / s, s * 1e6 / round_trips);
	}
}

int main(int argc, char **argv)
{
	const char *mode;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			fprintf(stderr, "wakeflow-workload: %s needs a value\n", argv[i]);
			return 2;
		}
		if (!strcmp(argv[i], "--duration"))
			duration = atof(v);
		else if (!strcmp(argv[i], "--delay"))
			delay = atof(v);
		else if (!strcmp(argv[i], "--iterations"))
			iterations = atol(v);
		else if (!strcmp(argv[i], "--interval-us"))
			interval_us = atol(v);
		else if (!strcmp(argv[i], "--linger"))
			linger = atof(v);
		else if (!strcmp(argv[i], "--cpu"))
			cpu = atoi(v);
		else {
			fprintf(stderr, "wakeflow-workload: unknown option '%s'\n%s", argv[i], usage);
			return 2;
		}
		i++;
	}
	if (duration <= 0 || delay < 0 || interval_us < 3 || cpu < 0 || linger < 0) {
		fprintf(stderr, "wakeflow-workload: bad --duration, --delay, --interval-us, --cpu or --linger\n");
		return 2;
	}
	if (delay > 0) {
		struct timespec ts = { .tv_sec = (time_t)delay, .tv_nsec = (long)((delay - (time_t)delay) * 1e9) };

		nanosleep(&ts, NULL);
	}
	if (!strcmp(mode, "eventfd"))
		mode_eventfd();
	else if (!strcmp(mode, "futex"))
		mode_futex();
	else if (!strcmp(mode, "nanosleep"))
		mode_nanosleep();
	else if (!strcmp(mode, "timerfd"))
		mode_timerfd();
	else if (!strcmp(mode, "tcp"))
		mode_tcp();
	else if (!strcmp(mode, "udp") || !strcmp(mode, "unix") || !strcmp(mode, "pipe"))
		mode_channel(mode);
	else if (!strcmp(mode, "preempt"))
		mode_preempt();
	else if (!strcmp(mode, "pingpong"))
		mode_pingpong();
	else {
		fprintf(stderr, "wakeflow-workload: unknown mode '%s'\n%s", mode, usage);
		return 2;
	}
	return 0;
}
