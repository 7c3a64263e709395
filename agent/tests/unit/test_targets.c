// SPDX-License-Identifier: Apache-2.0
/* Unit tests for target selection (targets.c) and the syscall table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syscalls.h"
#include "targets.h"

static void test_comm_regex(void **state)
{
	const char *re[] = { "^envoy$", "^wrk:" };
	char err[256];
	struct wf_targets *t = targets_new(NULL, NULL, 0, re, 2, err, sizeof(err));

	(void)state;
	assert_non_null(t);
	assert_true(targets_by_comm(t));
	assert_true(targets_comm_matches(t, "envoy"));
	assert_true(targets_comm_matches(t, "wrk:worker_0"));
	assert_false(targets_comm_matches(t, "envoy-proxy"));
	assert_false(targets_comm_matches(t, "pilot-agent"));
	targets_free(t);
}

static void test_bad_input(void **state)
{
	const char *bad[] = { "(" };
	int32_t pids[] = { 999999999 };
	char err[256];

	(void)state;
	assert_null(targets_new(NULL, NULL, 0, bad, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "bad --comm regex '('"));
	assert_null(targets_new(NULL, pids, 1, NULL, 0, err, sizeof(err)));
	assert_string_equal(err, "no such process: 999999999");
	assert_null(targets_new(NULL, NULL, 0, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "nothing to trace"));
}

/* A pid asked for by number stays traced across exec; one selected by
 * name is traced while its name matches, and a new name can select it. */
static void test_after_exec(void **state)
{
	const char *re[] = { "^envoy$" };
	char err[256];
	struct wf_targets *t = targets_new(NULL, NULL, 0, re, 1, err, sizeof(err));

	(void)state;
	assert_non_null(t);
	assert_int_equal(targets_after_exec(t, 0, "envoy"), TARGET_BY_COMM);
	assert_int_equal(targets_after_exec(t, 0, "bash"), 0);
	assert_int_equal(targets_after_exec(t, TARGET_BY_COMM, "sleep"), 0);
	assert_int_equal(targets_after_exec(t, TARGET_BY_PID, "sleep"), TARGET_BY_PID);
	assert_int_equal(targets_after_exec(t, TARGET_BY_PID, "envoy"), TARGET_BY_PID | TARGET_BY_COMM);
	targets_free(t);
}

static int32_t scan_child;

static int record_add(void *ctx, int32_t pid, uint32_t flags)
{
	int *seen = ctx;

	if (pid == 1 && (flags & TARGET_BY_PID))
		seen[0]++;
	if (pid == scan_child && (flags & TARGET_BY_COMM))
		seen[1]++;
	if (pid == getpid())
		seen[2]++;
	return 0;
}

/* The scan finds --pid processes and processes of a matching name, but
 * never the agent itself (a child of the same name stands in for a target). */
static void test_scan_finds_running_processes(void **state)
{
	char comm[32], re[64];
	const char *res[1] = { re };
	int32_t pids[] = { 1, 0 };
	int seen[3] = { 0, 0, 0 };
	char err[256];
	FILE *f = fopen("/proc/self/comm", "r");
	struct wf_targets *t;
	pid_t child;

	(void)state;
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	snprintf(re, sizeof(re), "^%s$", comm);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	pids[1] = (int32_t)getpid(); /* asked for by number: still not traced */
	t = targets_new(NULL, pids, 2, res, 1, err, sizeof(err));
	assert_non_null(t);
	scan_child = (int32_t)child;
	assert_int_equal(targets_scan(t, record_add, seen), 2);
	assert_int_equal(seen[0], 1); /* pid 1 */
	assert_int_equal(seen[1], 1); /* the child */
	assert_int_equal(seen[2], 0); /* ourselves, never */
	targets_free(t);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

static void test_describe(void **state)
{
	const char *re[] = { "^haproxy$" };
	int32_t pids[] = { 1, 2 };
	char err[256], buf[256];
	struct wf_targets *t = targets_new(NULL, pids, 2, re, 1, err, sizeof(err));

	(void)state;
	assert_non_null(t);
	targets_describe(t, buf, sizeof(buf));
	assert_string_equal(buf, "pids 1, 2 and processes named /^haproxy$/");
	targets_free(t);
	t = targets_new(NULL, NULL, 0, re, 1, err, sizeof(err));
	targets_describe(t, buf, sizeof(buf));
	assert_string_equal(buf, "processes named /^haproxy$/");
	targets_free(t);
}

static void test_syscall_names(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(syscall_name(0, buf, sizeof(buf)), "read");
	assert_string_equal(syscall_name(232, buf, sizeof(buf)), "epoll_wait");
	assert_string_equal(syscall_name(202, buf, sizeof(buf)), "futex");
	assert_string_equal(syscall_name(99999, buf, sizeof(buf)), "syscall_99999");
	assert_string_equal(syscall_name(-5, buf, sizeof(buf)), "syscall_-5");
	assert_int_equal(syscall_number("sched_yield"), 24);
	assert_int_equal(syscall_number("no_such_call"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comm_regex),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_after_exec),
		cmocka_unit_test(test_scan_finds_running_processes),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_syscall_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
