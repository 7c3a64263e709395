// SPDX-License-Identifier: Apache-2.0
/*
 * The churn behind npm run bench:soak (agent/bench/bench-soak): what weeks of
 * pod churn do to a node-local agent, in minutes.
 *
 *   wf-soak-churn driver SECONDS   every second starts one traced process
 *                                  (it execs itself, so `serve --comm
 *                                  '^wf-soak-churn$'` matches it at exec) and
 *                                  lets the one before exit; the next process
 *                                  is given the pid of the one that just
 *                                  exited (/proc/sys/kernel/ns_last_pid), so
 *                                  pid reuse happens every second.
 *   wf-soak-churn child N          lives ~1.5 s: starts threads with names
 *                                  never used before ("s<N>-<k>"), each ping-
 *                                  pongs with its partner over a pipe through
 *                                  a tiny read/write stub copied to a fresh
 *                                  random offset of anonymous executable
 *                                  memory, so its user stacks hold frames
 *                                  ("[anon]+0x...") the agent never saw: new
 *                                  symbols all the time. Threads end and are
 *                                  replaced while it runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* x86-64: long stub(long nr, long fd, void *buf, long n) { return syscall(nr, fd, buf, n); } */
static const unsigned char stub_code[] = {
	0x48, 0x89, 0xf8, /* mov rax, rdi */
	0x48, 0x89, 0xf7, /* mov rdi, rsi */
	0x48, 0x89, 0xd6, /* mov rsi, rdx */
	0x48, 0x89, 0xca, /* mov rdx, rcx */
	0x0f, 0x05,	  /* syscall */
	0xc3,		  /* ret */
};
typedef long (*stub_fn)(long nr, long fd, void *buf, long n);

#define STUB_AREA (1 << 20)

struct pair {
	int ab[2], ba[2];
	stub_fn fn;
	int rounds;
};

static void *pinger(void *arg)
{
	struct pair *p = arg;
	char c = 'x';

	for (int i = 0; i < p->rounds; i++) {
		if (p->fn(SYS_write, p->ab[1], &c, 1) != 1 || p->fn(SYS_read, p->ba[0], &c, 1) != 1)
			break;
		usleep(2000);
	}
	close(p->ab[1]);
	return NULL;
}

static void *ponger(void *arg)
{
	struct pair *p = arg;
	char c;

	while (p->fn(SYS_read, p->ab[0], &c, 1) == 1)
		if (p->fn(SYS_write, p->ba[1], &c, 1) != 1)
			break;
	return NULL;
}

static int child(long n)
{
	unsigned char *area = mmap(NULL, STUB_AREA, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timespec t0, t;
	int k = 0;

	if (area == MAP_FAILED)
		return 1;
	srand((unsigned)(n * 7919 + getpid()));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		/* Two pairs at a time, each a new pair of names and a new stub offset. */
		struct pair pairs[2];
		pthread_t th[4];
		char name[16];

		for (int j = 0; j < 2; j++, k++) {
			size_t off = ((size_t)rand() % (STUB_AREA / 16 - 1)) * 16;

			memcpy(area + off, stub_code, sizeof(stub_code));
			__builtin___clear_cache((char *)area + off, (char *)area + off + sizeof(stub_code));
			pairs[j].fn = (stub_fn)(void *)(area + off);
			pairs[j].rounds = 50;
			if (pipe(pairs[j].ab) || pipe(pairs[j].ba))
				return 1;
			pthread_create(&th[2 * j], NULL, pinger, &pairs[j]);
			pthread_create(&th[2 * j + 1], NULL, ponger, &pairs[j]);
			snprintf(name, sizeof(name), "s%ld-%d", n % 100000, k % 1000);
			pthread_setname_np(th[2 * j], name);
			snprintf(name, sizeof(name), "r%ld-%d", n % 100000, k % 1000);
			pthread_setname_np(th[2 * j + 1], name);
		}
		for (int j = 0; j < 4; j++)
			pthread_join(th[j], NULL);
		for (int j = 0; j < 2; j++) {
			close(pairs[j].ab[0]);
			close(pairs[j].ba[0]);
			close(pairs[j].ba[1]);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 1500);
	return 0;
}

/* The next fork gets pid want if it is free: pid reuse on demand. */
static void reuse_pid(pid_t want)
{
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
	char s[24];
	int len = snprintf(s, sizeof(s), "%d", want - 1);

	if (fd < 0)
		return;
	if (write(fd, s, (size_t)len) < 0)
		fprintf(stderr, "wf-soak-churn: ns_last_pid: %s\n", strerror(errno));
	close(fd);
}

static int driver(const char *self, long seconds)
{
	pid_t last_exited = 0;
	long n = 0, reused = 0;

	for (long s = 0; s < seconds; s++) {
		int status;
		pid_t p;

		/* Reap whatever ended; the newest exit is the pid to reuse. */
		while ((p = waitpid(-1, &status, WNOHANG)) > 0)
			last_exited = p;
		if (last_exited)
			reuse_pid(last_exited);
		p = fork();
		if (p == 0) {
			char arg[24];

			snprintf(arg, sizeof(arg), "%ld", n);
			execl(self, "wf-soak-churn", "child", arg, (char *)NULL);
			_exit(127);
		}
		if (p > 0) {
			reused += p == last_exited;
			last_exited = 0;

			n++;
		}
		sleep(1);
	}

	while (wait(NULL) > 0)
		;
	printf("wf-soak-churn: %ld processes started, %ld of them on a reused pid\n", n, reused);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "child"))
		return child(strtol(argv[2], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "driver")) {
		/* exec by the real path: the process name (comm) is its basename */
		static char self[4096];
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (len <= 0)
			return 1;
		self[len] = '\0';
		return driver(self, strtol(argv[2], NULL, 10));
	}
	fprintf(stderr, "usage: wf-soak-churn driver SECONDS\n");
	return 2;
}
