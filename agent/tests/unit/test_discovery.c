// SPDX-License-Identifier: Apache-2.0
/*
 * discovery: parsers on crafted buffers, the readers on fake /proc and
 * cgroup trees in a temporary directory, and the same readers on this
 * machine's real /proc and cgroup hierarchies (real children with chosen
 * environments, a real CPU-limited cgroup that gets throttled, a real
 * private cgroup namespace).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "discovery.h"
#include "fake_fs.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID_DASH "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
#define UID_UNDER "1b2c3d4e_5f60_4a7b_8c9d_0e1f2a3b4c5d"

/* ---- helpers --------------------------------------------------------- */

static char tmpdir[256];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/wf-discovery-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *label(const struct wf_labels *l, enum wf_label k)
{
	return l->value[k];
}

/* ---- pure parsers ----------------------------------------------------- */

static void test_label_names(void **state)
{
	(void)state;
	for (int i = 0; i < WF_LABEL__COUNT; i++) {
		assert_true(strlen(discovery_label_name(i)) > 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(discovery_label_name(i), discovery_label_name(j));
	}
	assert_string_equal(discovery_label_name(WF_LABEL_POD), "pod");
	assert_string_equal(discovery_label_name(WF_LABEL_NAMESPACE), "namespace");
	assert_string_equal(discovery_label_name(WF_LABEL_WORKLOAD), "workload");
	assert_string_equal(discovery_label_name(WF_LABEL_CONTAINER_ID), "container");
	assert_string_equal(discovery_label_name(WF_LABEL__COUNT), "");
}

/* An istio-proxy environment as the injector writes it (abridged). */
static const char istio_env[] = "PATH=/usr/local/sbin:/usr/bin\0"
				"HOSTNAME=reviews-v2-5b667bcbf8-x7k2p\0"
				"POD_NAME=reviews-v2-5b667bcbf8-x7k2p\0"
				"POD_NAMESPACE=bookinfo\0"
				"INSTANCE_IP=10.244.1.17\0"
				"SERVICE_ACCOUNT=bookinfo-reviews\0"
				"HOST_IP=172.18.0.3\0"
				"ISTIO_META_NODE_NAME=worker-1\0"
				"ISTIO_META_CLUSTER_ID=Kubernetes\0"
				"ISTIO_META_WORKLOAD_NAME=reviews-v2\0"
				"ISTIO_META_OWNER=kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/reviews-v2\0"
				"ISTIO_META_MESH_ID=cluster.local\0";

static void test_environ_istio(void **state)
{
	struct wf_labels l = { 0 };

	(void)state;
	assert_int_equal(discovery_parse_environ(istio_env, sizeof(istio_env) - 1, &l), 8);
	assert_string_equal(label(&l, WF_LABEL_POD), "reviews-v2-5b667bcbf8-x7k2p");
	assert_string_equal(label(&l, WF_LABEL_NAMESPACE), "bookinfo");
	assert_string_equal(label(&l, WF_LABEL_WORKLOAD), "reviews-v2");
	assert_string_equal(label(&l, WF_LABEL_SERVICE_ACCOUNT), "bookinfo-reviews");
	assert_string_equal(label(&l, WF_LABEL_NODE), "worker-1");
	assert_string_equal(label(&l, WF_LABEL_INSTANCE_IP), "10.244.1.17");
	assert_string_equal(label(&l, WF_LABEL_MESH), "cluster.local");
	assert_string_equal(label(&l, WF_LABEL_CLUSTER), "Kubernetes");
	assert_string_equal(label(&l, WF_LABEL_CONTAINER_ID), "");
}

static void test_environ_priority_and_fallback(void **state)
{
	(void)state;
	/* POD_NAME wins over HOSTNAME whichever comes first. */
	static const char before[] = "HOSTNAME=host\0POD_NAME=pod\0";
	static const char after[] = "POD_NAME=pod\0HOSTNAME=host\0";
	static const char only_host[] = "HOSTNAME=web-0\0NODE_NAME=n1\0";
	static const char empty_pod[] = "POD_NAME=\0HOSTNAME=web-1\0";
	static const char empty_pod_after[] = "HOSTNAME=web-2\0POD_NAME=\0";
	struct wf_labels l;

	memset(&l, 0, sizeof(l));
	discovery_parse_environ(before, sizeof(before) - 1, &l);
	assert_string_equal(label(&l, WF_LABEL_POD), "pod");
	memset(&l, 0, sizeof(l));
	discovery_parse_environ(after, sizeof(after) - 1, &l);
	assert_string_equal(label(&l, WF_LABEL_POD), "pod");
	memset(&l, 0, sizeof(l));
	assert_int_equal(discovery_parse_environ(only_host, sizeof(only_host) - 1, &l), 2);
	assert_string_equal(label(&l, WF_LABEL_POD), "web-0");
	assert_string_equal(label(&l, WF_LABEL_NODE), "n1");
	assert_string_equal(label(&l, WF_LABEL_NAMESPACE), "");
	/* An empty value is no value: the fallback still applies. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(discovery_parse_environ(empty_pod, sizeof(empty_pod) - 1, &l), 1);
	assert_string_equal(label(&l, WF_LABEL_POD), "web-1");
	memset(&l, 0, sizeof(l));
	assert_int_equal(discovery_parse_environ(empty_pod_after, sizeof(empty_pod_after) - 1, &l), 1);
	assert_string_equal(label(&l, WF_LABEL_POD), "web-2");
}

static void test_environ_hostile(void **state)
{
	struct wf_labels l;
	char *big;
	size_t n;

	(void)state;
	/* An entry cut off by the read cap (no final NUL) is ignored. */
	static const char cut[] = "POD_NAMESPACE=ns\0POD_NAME=half";
	memset(&l, 0, sizeof(l));
	assert_int_equal(discovery_parse_environ(cut, sizeof(cut) - 1, &l), 1);
	assert_string_equal(label(&l, WF_LABEL_POD), "");
	assert_string_equal(label(&l, WF_LABEL_NAMESPACE), "ns");

	/* Entries without '=', names that only share a prefix, control bytes
	 * and invalid UTF-8 in values. */
	static const char junk[] = "POD_NAME\0POD_NAMESPACEX=no\0=x\0POD_NAMESPACE=a\x01"
				   "b\xff\0ISTIO_META_WORKLOAD_NAME=caf\xc3\xa9\0";
	memset(&l, 0, sizeof(l));
	assert_int_equal(discovery_parse_environ(junk, sizeof(junk) - 1, &l), 2);
	assert_string_equal(label(&l, WF_LABEL_NAMESPACE), "a?b?");
	assert_string_equal(label(&l, WF_LABEL_WORKLOAD), "caf\xc3\xa9");
	assert_string_equal(label(&l, WF_LABEL_POD), "");

	/* A huge value is capped at WF_LABEL_MAX - 1 bytes. */
	n = 10000;
	big = malloc(n + 32);
	assert_non_null(big);
	int h = sprintf(big, "POD_NAME=");
	memset(big + h, 'p', n);
	big[h + n] = '\0';
	memset(&l, 0, sizeof(l));
	assert_int_equal(discovery_parse_environ(big, (size_t)h + n + 1, &l), 1);
	assert_int_equal(strlen(label(&l, WF_LABEL_POD)), WF_LABEL_MAX - 1);
	free(big);

	/* Nothing at all. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(discovery_parse_environ("", 0, &l), 0);
}

static void test_sanitize(void **state)
{
	static const struct {
		const char *in;
		size_t cap;
		const char *out;
	} cases[] = {
		{ "plain-name_1.2", 64, "plain-name_1.2" },
		{ "tab\there", 64, "tab?here" },
		{ "del\x7f", 64, "del?" },
		{ "\xc3\xa9t\xc3\xa9", 64, "\xc3\xa9t\xc3\xa9" },		 /* é */
		{ "\xe6\x97\xa5\xe6\x9c\xac", 64, "\xe6\x97\xa5\xe6\x9c\xac" }, /* 日本 */
		{ "\xf0\x9f\x90\xb3", 64, "\xf0\x9f\x90\xb3" },		 /* U+1F433 */
		{ "\xc2\x85", 64, "??" },		/* C1 control NEL */
		{ "\xc0\x80", 64, "??" },		/* overlong NUL */
		{ "\xed\xa0\x80", 64, "???" },		/* UTF-16 surrogate */
		{ "\xf4\x90\x80\x80", 64, "????" },	/* above U+10FFFF */
		{ "ab\xe6\x97", 64, "ab??" },		/* sequence cut by the end */
		{ "\x80x", 64, "?x" },			/* stray continuation byte */
		{ "abcdef", 4, "abc" },			/* capped */
		{ "ab\xe6\x97\xa5", 5, "ab" },		/* cap never splits a sequence */
		{ "ab\xe6\x97\xa5", 6, "ab\xe6\x97\xa5" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = discovery_sanitize(out, cases[i].cap, cases[i].in, strlen(cases[i].in));

		assert_string_equal(out, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
	}
	assert_int_equal(discovery_sanitize(out, 0, "x", 1), 0);
}

static void test_container_id(void **state)
{
	static const struct {
		const char *path;
		const char *runtime; /* NULL: no id */
		const char *id;
	} cases[] = {
		/* containerd, systemd driver, cgroup v2 */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER
		  ".slice/cri-containerd-" ID_A ".scope",
		  "containerd", ID_A },
		/* docker, systemd driver */
		{ "/system.slice/docker-" ID_B ".scope", "docker", ID_B },
		/* CRI-O, with crun's extra "container" sub-cgroup */
		{ "/kubepods.slice/kubepods-pod" UID_UNDER ".slice/crio-" ID_A ".scope/container", "cri-o", ID_A },
		/* the runtime monitor is not a container */
		{ "/kubepods.slice/kubepods-pod" UID_UNDER ".slice/crio-conmon-" ID_A ".scope", NULL, NULL },
		{ "/machine.slice/libpod-" ID_B ".scope", "podman", ID_B },
		/* cgroupfs driver: bare id (v1 kubepods, plain docker) */
		{ "/kubepods/burstable/pod" UID_DASH "/" ID_B, "", ID_B },
		{ "/docker/" ID_A, "docker", ID_A },
		/* in another cgroup namespace */
		{ "/../../kubepods-besteffort-pod" UID_UNDER ".slice/cri-containerd-" ID_B ".scope", "containerd",
		  ID_B },
		/* uppercase hex is accepted and normalised */
		{ "/docker/0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF", "docker", ID_A },
		/* near misses */
		{ "/docker/" ID_A "0", NULL, NULL },
		{ "/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", NULL, NULL },
		{ "/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", NULL, NULL },
		{ "/user.slice/user-0.slice/session-3.scope", NULL, NULL },
		{ "/", NULL, NULL },
		{ "", NULL, NULL },
	};
	char id[65];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *rt = discovery_container_id(cases[i].path, id);

		if (!cases[i].runtime) {
			assert_null(rt);
			assert_string_equal(id, "");
			continue;
		}
		assert_non_null(rt);
		assert_string_equal(rt, cases[i].runtime);
		assert_string_equal(id, cases[i].id);
	}
}

static void test_pod_uid(void **state)
{
	static const struct {
		const char *path;
		const char *uid;
	} cases[] = {
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER
		  ".slice/cri-containerd-" ID_A ".scope",
		  UID_DASH },
		{ "/kubepods.slice/kubepods-pod" UID_UNDER ".slice/crio-" ID_A ".scope", UID_DASH },
		{ "/kubepods/besteffort/pod" UID_DASH "/" ID_A, UID_DASH },
		{ "/kubepods/pod" UID_DASH, UID_DASH },
		{ "/kubepods/besteffort/pod" UID_DASH "x/" ID_A, "" },
		{ "/kubepods/besteffort/xpod" UID_DASH, "" },
		{ "/kubepods/besteffort/pod1b2c3d4e-5f60-4a7b-8c9d", "" },
		{ "/system.slice/docker-" ID_A ".scope", "" },
	};
	char uid[37];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(discovery_pod_uid(cases[i].path, uid), cases[i].uid[0] != '\0');
		assert_string_equal(uid, cases[i].uid);
	}
}

static void test_parse_cgroup_v2(void **state)
{
	static const char f[] = "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER
				".slice/cri-containerd-" ID_A ".scope\n";
	struct wf_cgroup cg;
	struct wf_labels l = { 0 };
	const char *rt = NULL;

	(void)state;
	assert_int_equal(discovery_parse_cgroup(f, sizeof(f) - 1, &cg, &l, &rt), 0);
	assert_string_equal(cg.unified, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER
					".slice/cri-containerd-" ID_A ".scope");
	assert_string_equal(cg.cpu, "");
	assert_string_equal(rt, "containerd");
	assert_string_equal(label(&l, WF_LABEL_CONTAINER_ID), ID_A);
	assert_string_equal(label(&l, WF_LABEL_POD_UID), UID_DASH);
}

static void test_parse_cgroup_v1(void **state)
{
	/* Hybrid host, cgroupfs driver: the v2 line is the systemd tree, the
	 * container lives in the v1 hierarchies; a path with a colon. */
	static const char f[] = "12:pids:/kubepods/burstable/pod" UID_DASH "/" ID_B "\n"
				"11:name=systemd:/kubepods/burstable/pod" UID_DASH "/" ID_B "\n"
				"4:cpu,cpuacct:/kubepods/burstable/pod" UID_DASH "/" ID_B "\n"
				"3:cpuset:/odd:name\n"
				"0::/system.slice/containerd.service";
	static const char no_cpu[] = "3:memory:/docker/" ID_A "\n1:name=systemd:/x\n";
	struct wf_cgroup cg;
	struct wf_labels l = { 0 };
	const char *rt = NULL;

	(void)state;
	assert_int_equal(discovery_parse_cgroup(f, sizeof(f) - 1, &cg, &l, &rt), 0);
	assert_string_equal(cg.cpu, "/kubepods/burstable/pod" UID_DASH "/" ID_B);
	assert_string_equal(cg.unified, "/system.slice/containerd.service");
	assert_string_equal(rt, "");
	assert_string_equal(label(&l, WF_LABEL_CONTAINER_ID), ID_B);
	assert_string_equal(label(&l, WF_LABEL_POD_UID), UID_DASH);

	/* "cpuacct" alone is not "cpu"; the id is found in another hierarchy. */
	static const char acct[] = "2:cpuacct:/a\n";
	assert_int_equal(discovery_parse_cgroup(acct, sizeof(acct) - 1, &cg, NULL, NULL), 0);
	assert_string_equal(cg.cpu, "");
	memset(&l, 0, sizeof(l));
	assert_int_equal(discovery_parse_cgroup(no_cpu, sizeof(no_cpu) - 1, &cg, &l, &rt), 0);
	assert_string_equal(label(&l, WF_LABEL_CONTAINER_ID), ID_A);
	assert_string_equal(cg.unified, "");
}

/* Whole /proc/PID/cgroup files as each runtime and cgroup driver writes
 * them for a container's process, on cgroup v2, v1 and hybrid hosts. */
#define SD_POD "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER ".slice"
#define FS_POD "/kubepods/burstable/pod" UID_DASH
#define V1_ALL(path)                                                                                    \
	"12:hugetlb:" path "\n11:pids:" path "\n10:memory:" path "\n9:devices:" path "\n8:blkio:" path \
	"\n7:net_cls,net_prio:" path "\n6:freezer:" path "\n5:perf_event:" path "\n4:cpuset:" path        \
	"\n3:cpu,cpuacct:" path "\n2:rdma:/\n1:name=systemd:" path "\n0::/\n"

static void test_cgroup_forms(void **state)
{
	static const struct {
		const char *what, *file;
		const char *id, *pod_uid, *runtime; /* "" = none */
	} cases[] = {
		{ "containerd, systemd driver, v2", "0::" SD_POD "/cri-containerd-" ID_A ".scope\n", ID_A, UID_DASH,
		  "containerd" },
		{ "containerd, cgroupfs driver, v2", "0::" FS_POD "/" ID_A "\n", ID_A, UID_DASH, "" },
		{ "containerd, systemd driver, v1", V1_ALL(SD_POD "/cri-containerd-" ID_A ".scope"), ID_A, UID_DASH,
		  "containerd" },
		{ "containerd, cgroupfs driver, v1", V1_ALL(FS_POD "/" ID_A), ID_A, UID_DASH, "" },
		{ "containerd managing cgroups itself under kubelet's systemd parent, v1",
		  V1_ALL("/system.slice/containerd.service/kubepods-burstable-pod" UID_UNDER
			 ".slice:cri-containerd:" ID_B),
		  ID_B, UID_DASH, "containerd" },
		{ "the same on v2", "0::/kubepods-besteffort-pod" UID_UNDER ".slice:cri-containerd:" ID_B "\n", ID_B,
		  UID_DASH, "containerd" },
		{ "containerd, guaranteed QoS (no QoS slice)",
		  "0::/kubepods.slice/kubepods-pod" UID_UNDER ".slice/cri-containerd-" ID_A ".scope\n", ID_A, UID_DASH,
		  "containerd" },
		{ "kind: kubelet's slice nested in a node container",
		  "0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
		  "kubelet-kubepods-besteffort-pod" UID_UNDER ".slice/cri-containerd-" ID_A ".scope\n",
		  ID_A, UID_DASH, "containerd" },
		{ "kind with cgroupfs: the node container's id is not the pod's",
		  V1_ALL("/docker/" ID_B "/kubepods/burstable/pod" UID_DASH "/" ID_A), ID_A, UID_DASH, "docker" },
		{ "read from the agent's own cgroup namespace (DaemonSet on v2)",
		  "0::/../../kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER ".slice/cri-containerd-" ID_A
		  ".scope\n",
		  ID_A, UID_DASH, "containerd" },
		{ "CRI-O, systemd driver, v2", "0::" SD_POD "/crio-" ID_A ".scope\n", ID_A, UID_DASH, "cri-o" },
		{ "CRI-O with crun's container sub-cgroup", "0::" SD_POD "/crio-" ID_A ".scope/container\n", ID_A,
		  UID_DASH, "cri-o" },
		{ "CRI-O, systemd driver, v1", V1_ALL(SD_POD "/crio-" ID_A ".scope"), ID_A, UID_DASH, "cri-o" },
		{ "CRI-O, cgroupfs driver, v1", V1_ALL(FS_POD "/crio-" ID_A), ID_A, UID_DASH, "cri-o" },
		{ "CRI-O's conmon is not the container", "0::" SD_POD "/crio-conmon-" ID_A ".scope\n", "", UID_DASH,
		  "" },
		{ "Docker (dockershim), systemd driver, v1", V1_ALL(SD_POD "/docker-" ID_A ".scope"), ID_A, UID_DASH,
		  "docker" },
		{ "Docker (dockershim), cgroupfs driver, v1", V1_ALL(FS_POD "/" ID_A), ID_A, UID_DASH, "" },
		{ "Docker, systemd driver, v2", "0::/system.slice/docker-" ID_B ".scope\n", ID_B, "", "docker" },
		{ "Docker, systemd driver, v1", V1_ALL("/system.slice/docker-" ID_B ".scope"), ID_B, "", "docker" },
		{ "Docker, cgroupfs driver, v1", V1_ALL("/docker/" ID_B), ID_B, "", "docker" },
		{ "Docker, cgroupfs driver, v2", "0::/docker/" ID_B "\n", ID_B, "", "docker" },
		{ "nerdctl, systemd driver", "0::/system.slice/nerdctl-" ID_B ".scope\n", ID_B, "", "containerd" },
		{ "podman, rootless", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_B
				      ".scope/container\n",
		  ID_B, "", "podman" },
		{ "podman, cgroupfs driver", "0::/libpod_parent/libpod-" ID_B "\n", ID_B, "", "podman" },
		{ "hybrid host: systemd's v2 path, the container in v1",
		  "12:pids:" FS_POD "/" ID_B "\n4:cpu,cpuacct:" FS_POD "/" ID_B "\n1:name=systemd:" FS_POD "/" ID_B
		  "\n0::/system.slice/containerd.service\n",
		  ID_B, UID_DASH, "" },
		{ "a host service", "0::/system.slice/sshd.service\n", "", "", "" },
		{ "a host service, v1", V1_ALL("/system.slice/sshd.service"), "", "", "" },
		{ "a pod-level process outside any container", "0::" SD_POD "\n", "", UID_DASH, "" },
		{ "the root", "0::/\n", "", "", "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wf_cgroup cg;
		struct wf_labels l;
		const char *rt = NULL;

		memset(&l, 0, sizeof(l));
		if (discovery_parse_cgroup(cases[i].file, strlen(cases[i].file), &cg, &l, &rt))
			fail_msg("%s: not parsed", cases[i].what);
		if (strcmp(label(&l, WF_LABEL_CONTAINER_ID), cases[i].id) ||
		    strcmp(label(&l, WF_LABEL_POD_UID), cases[i].pod_uid) || strcmp(rt, cases[i].runtime))
			fail_msg("%s: container '%s' pod_uid '%s' runtime '%s'; want '%s' '%s' '%s'", cases[i].what,
				 label(&l, WF_LABEL_CONTAINER_ID), label(&l, WF_LABEL_POD_UID), rt, cases[i].id,
				 cases[i].pod_uid, cases[i].runtime);
	}
}

static void test_parse_cgroup_bad(void **state)
{
	static const char *const bad[] = { "", "\n\n", "garbage", "0::relative/path\n", "1:cpu\n", "0::\n" };
	struct wf_cgroup cg;
	struct wf_labels l = { 0 };
	char longline[WF_CGROUP_PATH_MAX + 16];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(discovery_parse_cgroup(bad[i], strlen(bad[i]), &cg, &l, NULL), -EINVAL);
	/* A path longer than we keep is dropped, not truncated into another path. */
	int h = sprintf(longline, "0::/");
	memset(longline + h, 'a', sizeof(longline) - (size_t)h - 1);
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(discovery_parse_cgroup(longline, strlen(longline), &cg, &l, NULL), -EINVAL);
	assert_string_equal(cg.unified, "");
}

static void test_cpu_stat(void **state)
{
	static const char v2[] = "usage_usec 8000\nuser_usec 5000\nsystem_usec 3000\nnr_periods 120\n"
				 "nr_throttled 33\nthrottled_usec 456789\nnr_bursts 0\nburst_usec 0\n";
	static const char v1[] = "nr_periods 10\nnr_throttled 4\nthrottled_time 123456789\nnr_bursts 0\n";
	static const char v2_no_cpu[] = "usage_usec 8000\nuser_usec 5000\nsystem_usec 3000\n";
	static const char junk[] = "nr_periods -1\nnr_throttled 1x\nthrottled_usec 99999999999999999999999\n";
	struct wf_throttle t;

	(void)state;
	assert_int_equal(discovery_parse_cpu_stat(v2, sizeof(v2) - 1, &t), 0);
	assert_int_equal(t.nr_periods, 120);
	assert_int_equal(t.nr_throttled, 33);
	assert_int_equal(t.throttled_usec, 456789);
	assert_int_equal(discovery_parse_cpu_stat(v1, sizeof(v1) - 1, &t), 0);
	assert_int_equal(t.nr_periods, 10);
	assert_int_equal(t.nr_throttled, 4);
	assert_int_equal(t.throttled_usec, 123456);
	assert_int_equal(discovery_parse_cpu_stat(v2_no_cpu, sizeof(v2_no_cpu) - 1, &t), -ENODATA);
	assert_int_equal(discovery_parse_cpu_stat(junk, sizeof(junk) - 1, &t), -ENODATA);
	assert_int_equal(discovery_parse_cpu_stat("", 0, &t), -ENODATA);
}

static void test_throttle_delta(void **state)
{
	struct wf_throttle a = { 100, 10, 5000 }, b = { 150, 12, 7000 }, d;

	(void)state;
	discovery_throttle_delta(&a, &b, &d);
	assert_int_equal(d.nr_periods, 50);
	assert_int_equal(d.nr_throttled, 2);
	assert_int_equal(d.throttled_usec, 2000);
	/* Counters went backwards: a new cgroup under the same path. */
	struct wf_throttle c = { 5, 1, 300 };
	discovery_throttle_delta(&b, &c, &d);
	assert_int_equal(d.nr_periods, 5);
	assert_int_equal(d.nr_throttled, 1);
	assert_int_equal(d.throttled_usec, 300);
}

static void test_cgroup_join(void **state)
{
	static const struct {
		const char *root, *path;
		int rc;
		const char *out;
	} cases[] = {
		{ "/", "/", 0, "/" },
		{ "/", "/a/b", 0, "/a/b" },
		{ "/a/b/c", "/", 0, "/a/b/c" },
		{ "/a/b/c", "/d", 0, "/a/b/c/d" },
		{ "/a/b/c", "/../../x/y", 0, "/a/x/y" },
		{ "/a/b/c", "/../../..", 0, "/" },
		{ "/a/b/c", "/../../../..", -EINVAL, "" },
		{ "/", "/../x", -EINVAL, "" },
		{ "/a//b/", "/./c//d/", 0, "/a/b/c/d" },
		{ "a", "/x", -EINVAL, "" },
		{ "/", "x", -EINVAL, "" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(discovery_cgroup_join(cases[i].root, cases[i].path, out, sizeof(out)), cases[i].rc);
		if (!cases[i].rc)
			assert_string_equal(out, cases[i].out);
	}
	assert_int_equal(discovery_cgroup_join("/aaaaaaaa", "/bbbbbbbb", out, 12), -ENAMETOOLONG);
}

static void test_cgroup_filter(void **state)
{
	struct wf_cgroup_filter f;
	struct wf_cgroup v2 = { .unified = "/kubepods.slice/kubepods-burstable.slice/x.scope", .cpu = "" };
	struct wf_cgroup v1 = { .unified = "/system.slice/foo", .cpu = "/kubepods/burstable/podx/abc" };
	struct wf_cgroup none = { .unified = "/user.slice/session-1.scope", .cpu = "/" };
	char err[256] = "";

	(void)state;
	assert_int_equal(discovery_cgroup_filter_init(&f, "kubepods[./-]burstable", err, sizeof(err)), 0);
	assert_true(discovery_cgroup_filter_match(&f, &v2));
	assert_true(discovery_cgroup_filter_match(&f, &v1));
	assert_false(discovery_cgroup_filter_match(&f, &none));
	discovery_cgroup_filter_free(&f);
	/* Freed or never set: no filter, everything matches. */
	assert_true(discovery_cgroup_filter_match(&f, &none));

	assert_int_equal(discovery_cgroup_filter_init(&f, "kube(pods", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad --cgroup regex 'kube(pods'"));
	assert_null(strchr(err, '\n'));
	discovery_cgroup_filter_free(&f);
}

/* ---- fake trees --------------------------------------------------------- */

static void fake_proc(const char *root, int pid, int ppid, const char *cgroup, const char *env, size_t envlen)
{
	char rel[64], status[128];

	snprintf(rel, sizeof(rel), "proc/%d/cgroup", pid);
	write_str(root, rel, cgroup);
	snprintf(rel, sizeof(rel), "proc/%d/environ", pid);
	write_file(root, rel, env, envlen);
	snprintf(rel, sizeof(rel), "proc/%d/status", pid);
	snprintf(status, sizeof(status), "Name:\tenvoy\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\n",
		 pid, pid, ppid);
	write_str(root, rel, status);
}

static void proc_root_of(char *out, size_t n)
{
	snprintf(out, n, "%s/proc", tmpdir);
}

static void test_fake_target(void **state)
{
	static const char cg[] = "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_UNDER
				 ".slice/cri-containerd-" ID_A ".scope\n";
	struct wf_target_info t;
	char proc[PATH_MAX];

	(void)state;
	fake_proc(tmpdir, 4242, 4200, cg, istio_env, sizeof(istio_env) - 1);
	proc_root_of(proc, sizeof(proc));
	assert_int_equal(discovery_target(4242, proc, &t), 0);
	assert_int_equal(t.environ_error, 0);
	assert_string_equal(t.runtime, "containerd");
	assert_string_equal(label(&t.labels, WF_LABEL_POD), "reviews-v2-5b667bcbf8-x7k2p");
	assert_string_equal(label(&t.labels, WF_LABEL_NAMESPACE), "bookinfo");
	assert_string_equal(label(&t.labels, WF_LABEL_WORKLOAD), "reviews-v2");
	assert_string_equal(label(&t.labels, WF_LABEL_CONTAINER_ID), ID_A);
	assert_string_equal(label(&t.labels, WF_LABEL_POD_UID), UID_DASH);
	assert_non_null(strstr(t.cgroup.unified, "cri-containerd-" ID_A));

	/* Missing process, bad pids. */
	assert_int_equal(discovery_target(4243, proc, &t), -ESRCH);
	assert_int_equal(discovery_target(0, proc, &t), -ESRCH);
	assert_int_equal(discovery_target(-5, proc, &t), -ESRCH);
	/* A cgroup file with nothing usable in it. */
	fake_proc(tmpdir, 4244, 1, "garbage\n", "", 0);
	assert_int_equal(discovery_target(4244, proc, &t), -EINVAL);
}

static void test_fake_environ_unreadable(void **state)
{
	char proc[PATH_MAX], p[PATH_MAX];
	struct wf_target_info t;

	(void)state;
	proc_root_of(proc, sizeof(proc));
	/* environ that cannot be read (a directory: EISDIR on read; in real
	 * life EACCES without the capability): cgroup labels still come. */
	write_str(tmpdir, "proc/77/cgroup", "0::/system.slice/docker-" ID_B ".scope\n");
	snprintf(p, sizeof(p), "%s/proc/77/environ", tmpdir);
	mkdir_p(p);
	assert_int_equal(discovery_target(77, proc, &t), 0);
	assert_int_equal(t.environ_error, EISDIR);
	assert_string_equal(label(&t.labels, WF_LABEL_CONTAINER_ID), ID_B);
	assert_string_equal(t.runtime, "docker");
	assert_string_equal(label(&t.labels, WF_LABEL_POD), "");

	/* environ gone between the two reads: the process exited. */
	write_str(tmpdir, "proc/78/cgroup", "0::/\n");
	assert_int_equal(discovery_target(78, proc, &t), -ESRCH);
}

static void test_fake_huge_environ(void **state)
{
	char proc[PATH_MAX];
	struct wf_target_info t;
	size_t len = WF_ENVIRON_READ_MAX + 4096;
	char *env = malloc(len);

	(void)state;
	assert_non_null(env);
	/* POD_NAME first, then filler up to past the read cap, then the
	 * namespace: only what lies within the cap counts. */
	size_t o = (size_t)sprintf(env, "POD_NAME=big-pod") + 1;
	while (o + 200 < WF_ENVIRON_READ_MAX) {
		o += (size_t)sprintf(env + o, "FILLER_%zu=%0150d", o, 0) + 1;
	}
	memset(env + o, 'x', WF_ENVIRON_READ_MAX - o + 10);
	o = WF_ENVIRON_READ_MAX + 10;
	env[o++] = '\0';
	o += (size_t)sprintf(env + o, "POD_NAMESPACE=too-far") + 1;
	assert_true(o <= len);
	proc_root_of(proc, sizeof(proc));
	fake_proc(tmpdir, 90, 1, "0::/a\n", env, o);
	assert_int_equal(discovery_target(90, proc, &t), 0);
	assert_string_equal(label(&t.labels, WF_LABEL_POD), "big-pod");
	assert_string_equal(label(&t.labels, WF_LABEL_NAMESPACE), "");
	free(env);
}

static void test_fake_parent_fallback(void **state)
{
	static const char cg[] = "0::/kubepods.slice/kubepods-pod" UID_UNDER ".slice/cri-containerd-" ID_A ".scope\n";
	static const char parent_env[] = "POD_NAME=p-1\0POD_NAMESPACE=team\0ISTIO_META_WORKLOAD_NAME=p\0";
	static const char child_env[] = "HOSTNAME=from-child\0";
	char proc[PATH_MAX];
	struct wf_target_info t;

	(void)state;
	proc_root_of(proc, sizeof(proc));
	fake_proc(tmpdir, 100, 1, cg, parent_env, sizeof(parent_env) - 1);
	fake_proc(tmpdir, 200, 100, cg, child_env, sizeof(child_env) - 1);
	assert_int_equal(discovery_target(200, proc, &t), 0);
	assert_string_equal(label(&t.labels, WF_LABEL_NAMESPACE), "team");
	assert_string_equal(label(&t.labels, WF_LABEL_WORKLOAD), "p");
	/* what the target itself says is kept */
	assert_string_equal(label(&t.labels, WF_LABEL_POD), "from-child");

	/* A parent in another container is not asked. */
	fake_proc(tmpdir, 300, 1, "0::/kubepods.slice/other.scope\n", parent_env, sizeof(parent_env) - 1);
	fake_proc(tmpdir, 301, 300, cg, child_env, sizeof(child_env) - 1);
	assert_int_equal(discovery_target(301, proc, &t), 0);
	assert_string_equal(label(&t.labels, WF_LABEL_NAMESPACE), "");
	/* A parent that is gone changes nothing. */
	fake_proc(tmpdir, 401, 400, cg, child_env, sizeof(child_env) - 1);
	assert_int_equal(discovery_target(401, proc, &t), 0);
	assert_string_equal(label(&t.labels, WF_LABEL_NAMESPACE), "");
}

static const char stat_v2[] = "usage_usec 1\nuser_usec 1\nsystem_usec 0\nnr_periods 50\nnr_throttled 7\n"
			      "throttled_usec 3500\n";

static void test_fake_cgroup_v2(void **state)
{
	char root[PATH_MAX], proc[PATH_MAX];
	struct wf_cgroup_fs fs;
	struct wf_throttle t;
	struct wf_cgroup cg = { .unified = "/kubepods.slice/pod-a.slice/cri-containerd-a.scope" };

	(void)state;
	snprintf(root, sizeof(root), "%s/v2", tmpdir);
	proc_root_of(proc, sizeof(proc));
	write_str(root, "cgroup.controllers", "cpuset cpu io memory pids\n");
	write_str(root, "cgroup.procs", "1\n55\n");
	write_str(root, "kubepods.slice/pod-a.slice/cri-containerd-a.scope/cpu.stat", stat_v2);
	write_str(root, "kubepods.slice/pod-b.slice/cri-containerd-b.scope/cpu.stat", "usage_usec 1\n");
	write_str(tmpdir, "proc/55/cgroup", "0::/\n");

	assert_int_equal(discovery_cgroup_fs_init(&fs, root, proc, 55), 0);
	assert_string_equal(fs.unified_dir, root);
	assert_string_equal(fs.cpu_dir, "");
	assert_int_equal(discovery_cpu_throttling(&fs, &cg, &t), 0);
	assert_int_equal(t.nr_periods, 50);
	assert_int_equal(t.nr_throttled, 7);
	assert_int_equal(t.throttled_usec, 3500);
	assert_string_equal(fs.unified_nsroot, "/");

	/* cpu controller not enabled for that cgroup */
	snprintf(cg.unified, sizeof(cg.unified), "/kubepods.slice/pod-b.slice/cri-containerd-b.scope");
	assert_int_equal(discovery_cpu_throttling(&fs, &cg, &t), -ENODATA);
	/* the container is gone */
	snprintf(cg.unified, sizeof(cg.unified), "/kubepods.slice/pod-c.slice");
	assert_int_equal(discovery_cpu_throttling(&fs, &cg, &t), -ENOENT);
	/* no cgroup known for the target */
	cg.unified[0] = '\0';
	assert_int_equal(discovery_cpu_throttling(&fs, &cg, &t), -ENOENT);
	/* climbing out of the hierarchy */
	snprintf(cg.unified, sizeof(cg.unified), "/../../etc");
	assert_int_equal(discovery_cpu_throttling(&fs, &cg, &t), -EINVAL);
}

/* The agent in a pod with its own cgroup namespace: /proc shows its own
 * cgroup as "/" and other pods' as "/../..."; the host hierarchy is mounted
 * elsewhere and lists the agent's pid in its container's cgroup.procs. */
static void test_fake_cgroup_v2_namespace(void **state)
{
	char root[PATH_MAX], proc[PATH_MAX];
	struct wf_cgroup_fs fs;
	struct wf_throttle t;
	struct wf_cgroup cg = { .unified = "/../../kubepods-burstable-pod-b.slice/cri-containerd-b.scope" };

	(void)state;
	snprintf(root, sizeof(root), "%s/v2ns", tmpdir);
	proc_root_of(proc, sizeof(proc));
	write_str(root, "cgroup.controllers", "cpu\n");
	write_str(root, "cgroup.procs", "1\n");
	write_str(root, "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod-agent.slice/"
			"cri-containerd-agent.scope/cgroup.procs",
		  "66\n");
	write_str(root, "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod-b.slice/"
			"cri-containerd-b.scope/cpu.stat",
		  stat_v2);
	write_str(tmpdir, "proc/66/cgroup", "0::/\n");

	assert_int_equal(discovery_cgroup_fs_init(&fs, root, proc, 66), 0);
	assert_int_equal(discovery_cpu_throttling(&fs, &cg, &t), 0);
	assert_int_equal(t.nr_throttled, 7);
	assert_string_equal(fs.unified_nsroot, "/kubepods.slice/kubepods-burstable.slice/"
					       "kubepods-burstable-pod-agent.slice/cri-containerd-agent.scope");

	/* Where we are not listed anywhere, relative paths cannot be resolved:
	 * a clear error, remembered (no second walk). */
	assert_int_equal(discovery_cgroup_fs_init(&fs, root, proc, 67), 0);
	write_str(tmpdir, "proc/67/cgroup", "0::/\n");
	assert_int_equal(discovery_cpu_throttling(&fs, &cg, &t), -ENOENT);
	assert_int_equal(fs.unified_nsroot_state, -ENOENT);
}

static void test_fake_cgroup_v1(void **state)
{
	char root[PATH_MAX], proc[PATH_MAX];
	struct wf_cgroup_fs fs;
	struct wf_throttle t;
	struct wf_cgroup cg = { .unified = "/system.slice/containerd.service", .cpu = "/kubepods/burstable/pod1/" ID_A };

	(void)state;
	snprintf(root, sizeof(root), "%s/v1", tmpdir);
	proc_root_of(proc, sizeof(proc));
	write_str(root, "cpu,cpuacct/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
	write_str(root, "cpu,cpuacct/cgroup.procs", "1\n88\n");
	write_str(root, "cpu,cpuacct/kubepods/burstable/pod1/" ID_A "/cpu.stat",
		  "nr_periods 9\nnr_throttled 2\nthrottled_time 2500000\n");
	write_str(root, "unified/cgroup.controllers", "");
	write_str(tmpdir, "proc/88/cgroup", "4:cpu,cpuacct:/\n0::/user.slice\n");

	assert_int_equal(discovery_cgroup_fs_init(&fs, root, proc, 88), 0);
	assert_non_null(strstr(fs.cpu_dir, "/cpu,cpuacct"));
	assert_non_null(strstr(fs.unified_dir, "/unified"));
	assert_int_equal(discovery_cpu_throttling(&fs, &cg, &t), 0);
	assert_int_equal(t.nr_periods, 9);
	assert_int_equal(t.nr_throttled, 2);
	assert_int_equal(t.throttled_usec, 2500);

	/* No hierarchy at all. */
	snprintf(root, sizeof(root), "%s/empty", tmpdir);
	mkdir_p(root);
	assert_int_equal(discovery_cgroup_fs_init(&fs, root, proc, 88), -ENOENT);
}

static void test_fake_find_pid_cgroup(void **state)
{
	char root[PATH_MAX], out[WF_CGROUP_PATH_MAX];

	(void)state;
	snprintf(root, sizeof(root), "%s/find", tmpdir);
	write_str(root, "cgroup.procs", "1\n2\n");
	write_str(root, "a/cgroup.procs", "10\n");
	write_str(root, "a/b/cgroup.procs", "");
	write_str(root, "a/b/c/cgroup.procs", "99\n100\n");
	write_str(root, "z/cgroup.procs", "1000\n");
	assert_int_equal(discovery_find_pid_cgroup(root, 100, out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b/c");
	assert_int_equal(discovery_find_pid_cgroup(root, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	/* 10 must not match 100 or 1000 */
	assert_int_equal(discovery_find_pid_cgroup(root, 10, out, sizeof(out)), 0);
	assert_string_equal(out, "/a");
	assert_int_equal(discovery_find_pid_cgroup(root, 5, out, sizeof(out)), -ENOENT);
	assert_int_equal(discovery_find_pid_cgroup(root, 100, out, 4), -ENAMETOOLONG);
}

/* ---- this machine ---------------------------------------------------- */

/* The lines of our own /proc/self/cgroup, read independently. */
static void own_cgroup_lines(char *unified, char *cpu, size_t n)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[4096];

	assert_non_null(f);
	unified[0] = cpu[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		line[strcspn(line, "\n")] = '\0';
		*c1 = *c2 = '\0';
		if (!strcmp(line, "0") && c2 == c1 + 1)
			snprintf(unified, n, "%s", c2 + 1);
		char ctrls[256];
		snprintf(ctrls, sizeof(ctrls), ",%s,", c1 + 1);
		if (strstr(ctrls, ",cpu,"))
			snprintf(cpu, n, "%s", c2 + 1);
	}
	fclose(f);
}

static void test_real_self(void **state)
{
	struct wf_target_info t;
	char unified[WF_CGROUP_PATH_MAX], cpu[WF_CGROUP_PATH_MAX];

	(void)state;
	own_cgroup_lines(unified, cpu, sizeof(unified));
	assert_true(unified[0] || cpu[0]);
	assert_int_equal(discovery_target(getpid(), "/proc", &t), 0);
	assert_int_equal(t.environ_error, 0);
	assert_string_equal(t.cgroup.unified, unified);
	assert_string_equal(t.cgroup.cpu, cpu);
	/* pid 1 is always there and readable by root */
	assert_int_equal(discovery_target(1, "/proc", &t), 0);
}

static pid_t spawn(char *const argv[], char *const envp[], int out_fd)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, 1);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	return pid;
}

/* Waits until pid has exec'd into a program called comm. */
static void wait_comm(pid_t pid, const char *comm)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	for (int i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			bool ok = fgets(buf, sizeof(buf), f) && !strncmp(buf, comm, strlen(comm));
			fclose(f);
			if (ok)
				return;
		}
		usleep(1000);
	}
	fail_msg("pid %d never became %s", pid, comm);
}

static void test_real_child_environ(void **state)
{
	char *argv[] = { "/bin/sleep", "30", NULL };
	char *envp[] = { "PATH=/bin", "POD_NAME=ratings-v1-7d", "POD_NAMESPACE=shop",
			 "ISTIO_META_WORKLOAD_NAME=ratings-v1", "INSTANCE_IP=10.0.0.9", "ISTIO_META_MESH_ID=\x01mesh",
			 NULL };
	struct wf_target_info t;
	int status;

	(void)state;
	pid_t pid = spawn(argv, envp, -1);
	wait_comm(pid, "sleep");
	assert_int_equal(discovery_target(pid, "/proc", &t), 0);
	assert_string_equal(label(&t.labels, WF_LABEL_POD), "ratings-v1-7d");
	assert_string_equal(label(&t.labels, WF_LABEL_NAMESPACE), "shop");
	assert_string_equal(label(&t.labels, WF_LABEL_WORKLOAD), "ratings-v1");
	assert_string_equal(label(&t.labels, WF_LABEL_INSTANCE_IP), "10.0.0.9");
	assert_string_equal(label(&t.labels, WF_LABEL_MESH), "?mesh");

	/* A zombie: either still described (without environment) or gone. */
	kill(pid, SIGKILL);
	usleep(20000);
	int rc = discovery_target(pid, "/proc", &t);
	assert_true(rc == 0 || rc == -ESRCH);
	if (rc == 0)
		assert_string_equal(label(&t.labels, WF_LABEL_NAMESPACE), "");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Reaped: gone. */
	assert_int_equal(discovery_target(pid, "/proc", &t), -ESRCH);
}

static void test_real_parent_fallback(void **state)
{
	/* The shell (the "pilot-agent") has the pod's environment and starts a
	 * "envoy" with an empty one; it prints that child's pid. */
	char *argv[] = { "/bin/sh", "-c", "env -i /bin/sleep 30 & echo $!; wait", NULL };
	char *envp[] = { "PATH=/bin:/usr/bin", "POD_NAME=gw-0", "POD_NAMESPACE=edge", NULL };
	struct wf_target_info t;
	int fds[2], status;
	char buf[32] = "";

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid_t sh = spawn(argv, envp, fds[1]);
	close(fds[1]);
	assert_true(read(fds[0], buf, sizeof(buf) - 1) > 0);
	close(fds[0]);
	pid_t envoy = (pid_t)atoi(buf);
	assert_true(envoy > 0);
	wait_comm(envoy, "sleep");
	assert_int_equal(discovery_target(envoy, "/proc", &t), 0);
	assert_string_equal(label(&t.labels, WF_LABEL_NAMESPACE), "edge");
	assert_string_equal(label(&t.labels, WF_LABEL_POD), "gw-0");
	kill(envoy, SIGKILL);
	assert_int_equal(waitpid(sh, &status, 0), sh);
}

#include "real_cgroup.h"

static void test_real_throttling(void **state)
{
	struct wf_cgroup_fs fs;
	struct limited_cgroup lc;
	struct wf_target_info t;
	struct wf_throttle before, after, d;
	struct wf_cgroup_filter f;
	char name[64], found[WF_CGROUP_PATH_MAX], err[128];
	int release, status;

	(void)state;
	assert_int_equal(discovery_cgroup_fs_init(&fs, "/sys/fs/cgroup", "/proc", getpid()), 0);
	snprintf(name, sizeof(name), "wakeflow-test-%d", getpid());
	make_limited_cgroup(&fs, name, &lc);
	pid_t pid = spinner(&release, 400);
	move_to(&lc, pid);

	assert_int_equal(discovery_target(pid, "/proc", &t), 0);
	const char *shown = fs.cpu_dir[0] ? t.cgroup.cpu : t.cgroup.unified;
	assert_string_equal(shown, lc.path);
	assert_int_equal(discovery_find_pid_cgroup(fs.cpu_dir[0] ? fs.cpu_dir : fs.unified_dir, pid, found,
						   sizeof(found)),
			 0);
	assert_string_equal(found, lc.path);
	assert_int_equal(discovery_cgroup_filter_init(&f, "wakeflow-test-[0-9]+$", err, sizeof(err)), 0);
	assert_true(discovery_cgroup_filter_match(&f, &t.cgroup));
	discovery_cgroup_filter_free(&f);

	assert_int_equal(discovery_cpu_throttling(&fs, &t.cgroup, &before), 0);
	assert_int_equal(write(release, "x", 1), 1);
	usleep(600000);
	assert_int_equal(discovery_cpu_throttling(&fs, &t.cgroup, &after), 0);
	discovery_throttle_delta(&before, &after, &d);
	/* 10% of a CPU over 400 ms of wanting all of it: throttled in most of
	 * ~40 periods, for most of each. */
	print_message("throttling: %lu periods, %lu throttled, %lu us\n", (unsigned long)d.nr_periods,
		      (unsigned long)d.nr_throttled, (unsigned long)d.throttled_usec);
	assert_true(d.nr_periods >= 10);
	assert_true(d.nr_throttled >= 5);
	assert_true(d.nr_throttled <= d.nr_periods);
	assert_true(d.throttled_usec >= 50000);

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(release);
	for (int i = 0; i < 100 && rmdir(lc.dir); i++)
		usleep(10000);
	/* The cgroup is gone now. */
	assert_int_equal(discovery_cpu_throttling(&fs, &t.cgroup, &after), -ENOENT);
}

/* The DaemonSet's situation, for real: the reader in a private cgroup
 * namespace sees the target's cgroup as "/../<name>" and must still find
 * its cpu.stat. */
static void test_real_cgroup_namespace(void **state)
{
	struct wf_cgroup_fs fs;
	struct limited_cgroup agent, target;
	char name[64];
	int release, status, fds[2];

	(void)state;
	assert_int_equal(discovery_cgroup_fs_init(&fs, "/sys/fs/cgroup", "/proc", getpid()), 0);
	snprintf(name, sizeof(name), "wakeflow-agent-%d", getpid());
	make_limited_cgroup(&fs, name, &agent);
	snprintf(name, sizeof(name), "wakeflow-target-%d", getpid());
	make_limited_cgroup(&fs, name, &target);
	pid_t spin = spinner(&release, 200);
	move_to(&target, spin);
	assert_int_equal(write(release, "x", 1), 1);
	usleep(300000);

	assert_int_equal(pipe(fds), 0);
	pid_t reader = fork();
	assert_true(reader >= 0);
	if (reader == 0) {
		/* Exit codes say which step failed. */
		struct wf_target_info t;
		struct wf_cgroup_fs cfs;
		struct wf_throttle th;
		char c;

		if (read(fds[0], &c, 1) != 1)
			_exit(10);
		if (unshare(CLONE_NEWCGROUP))
			_exit(11);
		if (discovery_target(spin, "/proc", &t))
			_exit(12);
		const char *shown = fs.cpu_dir[0] ? t.cgroup.cpu : t.cgroup.unified;
		char want[PATH_MAX + 8];
		snprintf(want, sizeof(want), "/..%s", target.path);
		if (strcmp(shown, want))
			_exit(13);
		if (discovery_cgroup_fs_init(&cfs, "/sys/fs/cgroup", "/proc", getpid()))
			_exit(14);
		if (discovery_cpu_throttling(&cfs, &t.cgroup, &th))
			_exit(15);
		if (th.nr_throttled == 0 || th.throttled_usec == 0)
			_exit(16);
		_exit(0);
	}
	close(fds[0]);
	move_to(&agent, reader);
	assert_int_equal(write(fds[1], "x", 1), 1);
	close(fds[1]);
	assert_int_equal(waitpid(reader, &status, 0), reader);
	kill(spin, SIGKILL);
	waitpid(spin, NULL, 0);
	close(release);
	for (int i = 0; i < 100 && (rmdir(agent.dir) || rmdir(target.dir)); i++)
		usleep(10000);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_names),
		cmocka_unit_test(test_environ_istio),
		cmocka_unit_test(test_environ_priority_and_fallback),
		cmocka_unit_test(test_environ_hostile),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_container_id),
		cmocka_unit_test(test_pod_uid),
		cmocka_unit_test(test_parse_cgroup_v2),
		cmocka_unit_test(test_parse_cgroup_v1),
		cmocka_unit_test(test_cgroup_forms),
		cmocka_unit_test(test_parse_cgroup_bad),
		cmocka_unit_test(test_cpu_stat),
		cmocka_unit_test(test_throttle_delta),
		cmocka_unit_test(test_cgroup_join),
		cmocka_unit_test(test_cgroup_filter),
		cmocka_unit_test(test_fake_target),
		cmocka_unit_test(test_fake_environ_unreadable),
		cmocka_unit_test(test_fake_huge_environ),
		cmocka_unit_test(test_fake_parent_fallback),
		cmocka_unit_test(test_fake_cgroup_v2),
		cmocka_unit_test(test_fake_cgroup_v2_namespace),
		cmocka_unit_test(test_fake_cgroup_v1),
		cmocka_unit_test(test_fake_find_pid_cgroup),
		cmocka_unit_test(test_real_self),
		cmocka_unit_test(test_real_child_environ),
		cmocka_unit_test(test_real_parent_fallback),
		cmocka_unit_test(test_real_throttling),
		cmocka_unit_test(test_real_cgroup_namespace),
	};

	return cmocka_run_group_tests_name("discovery", tests, setup_tmp, teardown_tmp);
}
