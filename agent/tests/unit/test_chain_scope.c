// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the chain scope's pods (chain_scope.c) and the chain flags
 * (capture_parse_chains, capture_check_chain_comm), on fake procfs trees. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "chain_scope.h"

static char root[64];

static void put_cgroup(int pid, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%d", root, pid);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%d/cgroup", root, pid);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/wf-test-chain-scope-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd);
}

static void cgroup_of(int pid, const char *want)
{
	char cg[1024];

	chain_scope_cgroup(root, pid, cg, sizeof(cg));
	assert_string_equal(cg, want);
}

static void test_cgroup_lines(void **state)
{
	(void)state;
	/* cgroup v2, a Kubernetes pod (systemd driver). */
	put_cgroup(10, "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/"
		       "cri-containerd-abc.scope\n");
	cgroup_of(10, "0:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/cri-containerd-abc.scope");
	/* cgroup v1 (cgroupfs driver): the cpu controller's line, wherever it is. */
	put_cgroup(11, "12:memory:/kubepods/burstable/pod1a2b/def\n4:cpu,cpuacct:/kubepods/burstable/pod1a2b/def\n0::/\n");
	cgroup_of(11, "1:/kubepods/burstable/pod1a2b/def");
	/* Everything at the root (this machine): no pod. */
	put_cgroup(12, "4:memory:/process_api/0038eb\n1:cpu:/\n0::/\n");
	cgroup_of(12, "");
	/* No such process. */
	cgroup_of(13, "");
}

static void pod_of(const char *cg, const char *want)
{
	char pod[1024];

	chain_scope_pod(cg, pod, sizeof(pod));
	assert_string_equal(pod, want);
}

static void test_pods(void **state)
{
	(void)state;
	/* The parent: the pod, holding the sidecar and the application. */
	pod_of("1:/kubepods/burstable/pod1a2b/def", "1:/kubepods/burstable/pod1a2b");
	pod_of("0:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/cri-containerd-abc.scope",
	       "0:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice");
	/* A parent that is the root, a systemd slice or docker's is no pod: the cgroup itself. */
	pod_of("0:/system.slice/haproxy.service", "0:/system.slice/haproxy.service");
	pod_of("0:/system.slice/docker-0123.scope", "0:/system.slice/docker-0123.scope");
	pod_of("1:/docker/0123abcd", "1:/docker/0123abcd");
	pod_of("0:/user.slice/user-0.slice/session-3.scope", "0:/user.slice/user-0.slice/session-3.scope");
	pod_of("1:/mygroup", "1:/mygroup");
	pod_of("1:/wf-chains-pod-1/proxy", "1:/wf-chains-pod-1");

	assert_true(chain_scope_in_pod("1:/kubepods/burstable/pod1a2b/app", "1:/kubepods/burstable/pod1a2b"));
	assert_true(chain_scope_in_pod("1:/kubepods/burstable/pod1a2b", "1:/kubepods/burstable/pod1a2b"));
	/* Another pod whose name starts alike, another hierarchy, no cgroup. */
	assert_false(chain_scope_in_pod("1:/kubepods/burstable/pod1a2bc/app", "1:/kubepods/burstable/pod1a2b"));
	assert_false(chain_scope_in_pod("0:/kubepods/burstable/pod1a2b/app", "1:/kubepods/burstable/pod1a2b"));
	assert_false(chain_scope_in_pod("", "1:/kubepods/burstable/pod1a2b"));
}

static void test_flags(void **state)
{
	uint32_t n = 0;
	char err[256];

	(void)state;
	for (uint32_t i = 1; i <= WF_CHAIN_MAX_LINKS; i++) {
		char s[8];

		snprintf(s, sizeof(s), "%u", i);
		assert_int_equal(capture_parse_chains(s, &n, err, sizeof(err)), 0);
		assert_int_equal(n, i);
	}
	const char *bad[] = { "0", "5", "-1", "3x", "", " 3", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(capture_parse_chains(bad[i], &n, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "--chains needs a number of links from 1 (chains off) to 4"));
	}
	assert_int_equal(capture_check_chain_comm("^wfc-client$", err, sizeof(err)), 0);
	assert_int_equal(capture_check_chain_comm("(", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not a valid regex"));
	assert_int_equal(capture_check_chain_comm("", err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_lines),
		cmocka_unit_test(test_pods),
		cmocka_unit_test(test_flags),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
