/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Target discovery: who a traced process is (Kubernetes/Istio labels read
 * from its environment and cgroup) and how much its cgroup was CPU-throttled.
 *
 * Pure file parsing, no BPF, no global state: every function takes the root
 * of the tree it reads ("/proc" and "/sys/fs/cgroup" on a plain host,
 * "/host/proc" and "/host/sys/fs/cgroup" in the DaemonSet), so tests build
 * fake trees in a temporary directory and also run against the real ones.
 *
 * Nothing read here is trusted: every read is bounded, label values are
 * sanitized to printable UTF-8 and capped, and a process that exits while it
 * is read gives -ESRCH, never a crash.
 *
 * Labels (docs/deployment.md lists them with their sources):
 *   pod, namespace, workload, service_account, node, instance_ip, mesh,
 *   cluster     from the environment Istio's injector gives istio-proxy
 *               (POD_NAME, POD_NAMESPACE, ISTIO_META_WORKLOAD_NAME, ...);
 *               pod falls back to HOSTNAME, which Kubernetes sets to the
 *               pod name; if the target lacks the namespace its parent in
 *               the same container is asked (pilot-agent starts envoy).
 *   container_id, pod_uid
 *               from /proc/PID/cgroup (docker, containerd, CRI-O, podman,
 *               nerdctl; systemd and cgroupfs drivers, and containerd's
 *               "<slice>:cri-containerd:<id>" under a systemd parent;
 *               cgroup v2 and v1; tests/unit/test_discovery.c has a table
 *               of real files).
 * An empty value means unknown; emit no label for it.
 */
#ifndef WAKEFLOW_DISCOVERY_H
#define WAKEFLOW_DISCOVERY_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kubernetes object names are DNS subdomains of up to 253 bytes. */
#define WF_LABEL_MAX 256
#define WF_CGROUP_PATH_MAX 1024
/* Upper bounds on what is read from one file; the rest is ignored. */
#define WF_ENVIRON_READ_MAX (256 * 1024)
#define WF_CGROUP_READ_MAX (16 * 1024)

enum wf_label {
	WF_LABEL_POD = 0,
	WF_LABEL_NAMESPACE,
	WF_LABEL_WORKLOAD,
	WF_LABEL_SERVICE_ACCOUNT,
	WF_LABEL_NODE,
	WF_LABEL_INSTANCE_IP,
	WF_LABEL_MESH,
	WF_LABEL_CLUSTER,
	WF_LABEL_CONTAINER_ID,
	WF_LABEL_POD_UID,
	WF_LABEL__COUNT,
};

struct wf_labels {
	char value[WF_LABEL__COUNT][WF_LABEL_MAX]; /* "" = unknown */
};

/* A process's cgroup as /proc/PID/cgroup shows it to the reader. Paths
 * start with "/"; inside a private cgroup namespace (a pod on cgroup v2)
 * another pod's path starts with "/.." (see discovery_cpu_throttling). */
struct wf_cgroup {
	char unified[WF_CGROUP_PATH_MAX]; /* cgroup v2 ("0::" line); "" if none */
	char cpu[WF_CGROUP_PATH_MAX];	  /* cgroup v1 cpu controller; "" if none */
};

struct wf_target_info {
	struct wf_labels labels;
	struct wf_cgroup cgroup;
	const char *runtime; /* "docker", "containerd", "cri-o", "podman", or "" */
	int environ_error;   /* 0, or the errno that kept the environment from
				being read (EACCES: missing capability) */
};

/* The label's name as it appears in JSON and Prometheus ("pod", ...). */
const char *discovery_label_name(enum wf_label l);

/*
 * Reads /PROC_ROOT/PID/cgroup and /PROC_ROOT/PID/environ. Returns 0, or
 * -ESRCH when the process does not exist (or exited meanwhile), or another
 * negative errno when its cgroup file cannot be read. An unreadable
 * environment is not an error: labels come from the cgroup alone and
 * out->environ_error says why.
 */
int discovery_target(int32_t pid, const char *proc_root, struct wf_target_info *out);

/* Reads only /PROC_ROOT/PID/cgroup (one small file: cheap enough to ask
 * every window whether a target moved). Returns 0 or -ESRCH, -errno. */
int discovery_cgroup_of(int32_t pid, const char *proc_root, struct wf_cgroup *cg);

/* The parsers behind discovery_target, for buffers already read. */
/* Fills the environment labels of out (others untouched) from NUL-separated
 * KEY=VALUE entries; returns how many labels were set. */
int discovery_parse_environ(const char *buf, size_t len, struct wf_labels *out);
/* Parses a /proc/PID/cgroup file; returns 0 or -EINVAL if no line parsed.
 * Sets container_id and pod_uid in labels (if labels is not NULL). */
int discovery_parse_cgroup(const char *buf, size_t len, struct wf_cgroup *cg, struct wf_labels *labels,
			   const char **runtime);
/* Finds a container id (64 hex) in one cgroup path; returns the runtime name
 * ("" for a bare id whose parents name no runtime, as under "/kubepods")
 * or NULL when there is none. */
const char *discovery_container_id(const char *path, char id[65]);
/* Finds a Kubernetes pod UID in one cgroup path (dashes restored); false if none. */
bool discovery_pod_uid(const char *path, char uid[37]);
/* Copies at most dstlen-1 bytes of src[0..len) into dst: valid printable UTF-8
 * kept, control characters and invalid bytes replaced by '?', never a
 * sequence cut in half. Returns the length written. */
size_t discovery_sanitize(char *dst, size_t dstlen, const char *src, size_t len);

/* --cgroup REGEX: POSIX extended regex against a target's cgroup paths. */
struct wf_cgroup_filter {
	regex_t re;
	bool compiled;
};
/* Returns 0, or -1 with a one-line reason in err. */
int discovery_cgroup_filter_init(struct wf_cgroup_filter *f, const char *regex, char *err, size_t errlen);
/* True if the regex matches the v2 path or the v1 cpu path as read from
 * /proc/PID/cgroup (unanchored, like grep -E). */
bool discovery_cgroup_filter_match(const struct wf_cgroup_filter *f, const struct wf_cgroup *cg);
void discovery_cgroup_filter_free(struct wf_cgroup_filter *f);

/* CPU throttling counters of one cgroup (cumulative, as in cpu.stat). */
struct wf_throttle {
	uint64_t nr_periods;	 /* CFS periods with runnable tasks */
	uint64_t nr_throttled;	 /* of which ran out of quota */
	uint64_t throttled_usec; /* time throttled (v1 throttled_time ns / 1000) */
};

/* Where the cgroup hierarchies are, found once (discovery_cgroup_fs_init). */
struct wf_cgroup_fs {
	char root[WF_CGROUP_PATH_MAX];
	char unified_dir[WF_CGROUP_PATH_MAX]; /* cgroup2 mount: root or root/unified; "" */
	char cpu_dir[WF_CGROUP_PATH_MAX];     /* v1 cpu controller: root/cpu or root/cpu,cpuacct; "" */
	char proc_root[WF_CGROUP_PATH_MAX];
	int32_t self_pid; /* our pid as the cgroup.procs files show it */
	/* Where our own cgroup namespace is rooted in each hierarchy ("/" when
	 * we share the host's), found on first need: our own path as
	 * /proc/self/cgroup shows it is compared with where cgroup.procs lists
	 * self_pid. */
	int unified_nsroot_state, cpu_nsroot_state; /* 0 unknown, 1 found, -errno */
	char unified_nsroot[WF_CGROUP_PATH_MAX];
	char cpu_nsroot[WF_CGROUP_PATH_MAX];
};

/* Returns 0, or -ENOENT if cgroup_root holds neither a cgroup2 hierarchy
 * nor a v1 cpu controller, -ENAMETOOLONG. self_pid: getpid(), which with
 * hostPID is also our pid under proc_root. */
int discovery_cgroup_fs_init(struct wf_cgroup_fs *fs, const char *cgroup_root, const char *proc_root,
			     int32_t self_pid);

/*
 * Reads the throttling counters of the cgroup cg (from discovery_target):
 * the v1 cpu controller when the host has one, else the v2 cpu.stat.
 * Paths relative to our cgroup namespace ("/../x") are resolved against
 * where that namespace is rooted. Returns 0; -ENOENT if the cgroup is gone;
 * -ENODATA when its cpu.stat has no throttling fields (v2 without the cpu
 * controller enabled for it). The caller diffs successive readings
 * (discovery_throttle_delta).
 */
int discovery_cpu_throttling(struct wf_cgroup_fs *fs, const struct wf_cgroup *cg, struct wf_throttle *out);
/* Parses a cpu.stat file (v1 or v2); returns 0 or -ENODATA. */
int discovery_parse_cpu_stat(const char *buf, size_t len, struct wf_throttle *out);
/* cur - prev; when a counter went backwards (the cgroup was recreated under
 * the same path) the counters restarted at zero, so the delta is cur. */
void discovery_throttle_delta(const struct wf_throttle *prev, const struct wf_throttle *cur,
			      struct wf_throttle *delta);

/* Joins a path relative to a cgroup namespace ("/../../b/c") onto the
 * namespace's root ("/a/x/y") into out ("/a/b/c"). Returns 0, or -EINVAL if
 * it would climb above the hierarchy's root, -ENAMETOOLONG. */
int discovery_cgroup_join(const char *nsroot, const char *path, char *out, size_t outlen);
/* Walks the hierarchy mounted at dir for the cgroup whose cgroup.procs lists
 * pid; writes its path ("/" for the root) to out. Bounded in depth and in
 * directories visited. Returns 0 or -ENOENT. */
int discovery_find_pid_cgroup(const char *dir, int32_t pid, char *out, size_t outlen);

#endif
