// SPDX-License-Identifier: Apache-2.0
/* Target discovery: labels from /proc/PID/{environ,cgroup}, CPU throttling
 * from cpu.stat. See discovery.h for the contract; what a cgroup path names
 * (container, pod) is parsed in cgroup_path.c. */
#include "discovery.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const label_names[WF_LABEL__COUNT] = {
	[WF_LABEL_POD] = "pod",
	[WF_LABEL_NAMESPACE] = "namespace",
	[WF_LABEL_WORKLOAD] = "workload",
	[WF_LABEL_SERVICE_ACCOUNT] = "service_account",
	[WF_LABEL_NODE] = "node",
	[WF_LABEL_INSTANCE_IP] = "instance_ip",
	[WF_LABEL_MESH] = "mesh",
	[WF_LABEL_CLUSTER] = "cluster",
	[WF_LABEL_CONTAINER_ID] = "container",
	[WF_LABEL_POD_UID] = "pod_uid",
};

const char *discovery_label_name(enum wf_label l)
{
	return (unsigned)l < WF_LABEL__COUNT ? label_names[l] : "";
}

/*
 * Environment variables per label, best first. These are what Istio's
 * sidecar injector sets on istio-proxy (downward API and ISTIO_META_*);
 * HOSTNAME is the fallback for any pod since Kubernetes sets it to the pod
 * name. Envoy inherits them from pilot-agent.
 */
#define ENV_MAX_NAMES 2
static const struct {
	enum wf_label label;
	const char *names[ENV_MAX_NAMES];
} env_labels[] = {
	{ WF_LABEL_POD, { "POD_NAME", "HOSTNAME" } },
	{ WF_LABEL_NAMESPACE, { "POD_NAMESPACE" } },
	{ WF_LABEL_WORKLOAD, { "ISTIO_META_WORKLOAD_NAME" } },
	{ WF_LABEL_SERVICE_ACCOUNT, { "SERVICE_ACCOUNT" } },
	{ WF_LABEL_NODE, { "ISTIO_META_NODE_NAME", "NODE_NAME" } },
	{ WF_LABEL_INSTANCE_IP, { "INSTANCE_IP" } },
	{ WF_LABEL_MESH, { "ISTIO_META_MESH_ID" } },
	{ WF_LABEL_CLUSTER, { "ISTIO_META_CLUSTER_ID" } },
};
#define N_ENV_LABELS (sizeof(env_labels) / sizeof(env_labels[0]))

/* Reads at most cap bytes of path into buf. Returns 0 and the length, or
 * -errno. A file that shrinks or vanishes mid-read ends the read early. */
static int read_bounded(const char *path, char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	*len = 0;
	if (fd < 0)
		return -errno;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			close(fd);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return 0;
}

/* Length of the valid, printable UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_printable_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */

	if (c >= 0x20 && c < 0x7f)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0; /* ASCII controls, DEL, continuation bytes, overlong leads */
	if (c < 0xe0) {
		need = 2;
		if (c == 0xc2)
			lo = 0xa0; /* U+0080..U+009F are C1 control characters */
	} else if (c < 0xf0) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else {
		need = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	}
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

size_t discovery_sanitize(char *dst, size_t dstlen, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, i = 0;

	if (!dstlen)
		return 0;
	while (i < len) {
		size_t k = utf8_printable_len(s + i, len - i);

		if (k == 0) {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + k >= dstlen)
			break; /* never cut a sequence in half */
		memcpy(dst + o, s + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
	return o;
}

int discovery_parse_environ(const char *buf, size_t len, struct wf_labels *out)
{
	/* Priority of the variable that set each label: a later, better
	 * variable replaces an earlier fallback, never the other way round. */
	int best[N_ENV_LABELS];
	int set = 0;
	size_t i = 0;

	for (size_t k = 0; k < N_ENV_LABELS; k++)
		best[k] = ENV_MAX_NAMES;
	while (i < len) {
		const char *entry = buf + i;
		const char *end = memchr(entry, '\0', len - i);
		size_t elen;

		/* An entry cut off by the read cap is incomplete: ignore it. */
		if (!end)
			break;
		elen = (size_t)(end - entry);
		i += elen + 1;
		const char *eq = memchr(entry, '=', elen);
		if (!eq)
			continue;
		size_t nlen = (size_t)(eq - entry);
		for (size_t k = 0; k < N_ENV_LABELS; k++) {
			for (int p = 0; p < ENV_MAX_NAMES && p < best[k]; p++) {
				const char *name = env_labels[k].names[p];

				if (!name || strlen(name) != nlen || memcmp(name, entry, nlen))
					continue;
				char val[WF_LABEL_MAX];
				if (discovery_sanitize(val, sizeof(val), eq + 1, elen - nlen - 1) == 0)
					break; /* empty: not a source; keep any fallback found */
				memcpy(out->value[env_labels[k].label], val, sizeof(val));
				if (best[k] == ENV_MAX_NAMES)
					set++;
				best[k] = p;
				break;
			}
		}
	}
	return set;
}

static int proc_errno(int err)
{
	return err == -ENOENT || err == -ESRCH ? -ESRCH : err;
}

static int proc_path(char *out, size_t outlen, const char *proc_root, int32_t pid, const char *file)
{
	int n = snprintf(out, outlen, "%s/%" PRId32 "/%s", proc_root, pid, file);

	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

static int read_proc_cgroup(int32_t pid, const char *proc_root, struct wf_cgroup *cg, struct wf_labels *labels,
			    const char **runtime)
{
	char path[WF_CGROUP_PATH_MAX];
	char *buf;
	size_t len;
	int err;

	if (pid <= 0)
		return -ESRCH;
	err = proc_path(path, sizeof(path), proc_root, pid, "cgroup");
	if (err)
		return err;
	buf = malloc(WF_CGROUP_READ_MAX);
	if (!buf)
		return -ENOMEM;
	err = read_bounded(path, buf, WF_CGROUP_READ_MAX, &len);
	if (!err)
		err = discovery_parse_cgroup(buf, len, cg, labels, runtime);
	free(buf);
	/* An exited process's cgroup file reads empty. */
	return err == -EINVAL && len == 0 ? -ESRCH : proc_errno(err);
}

int discovery_cgroup_of(int32_t pid, const char *proc_root, struct wf_cgroup *cg)
{
	return read_proc_cgroup(pid, proc_root, cg, NULL, NULL);
}

static int read_proc_environ(int32_t pid, const char *proc_root, struct wf_labels *labels)
{
	char path[WF_CGROUP_PATH_MAX];
	char *buf;
	size_t len;
	int err;

	err = proc_path(path, sizeof(path), proc_root, pid, "environ");
	if (err)
		return err;
	buf = malloc(WF_ENVIRON_READ_MAX);
	if (!buf)
		return -ENOMEM;
	err = read_bounded(path, buf, WF_ENVIRON_READ_MAX, &len);
	if (!err)
		discovery_parse_environ(buf, len, labels);
	free(buf);
	return proc_errno(err);
}

static int32_t read_ppid(int32_t pid, const char *proc_root)
{
	char path[WF_CGROUP_PATH_MAX], buf[4096];
	size_t len;
	long ppid;

	if (proc_path(path, sizeof(path), proc_root, pid, "status") ||
	    read_bounded(path, buf, sizeof(buf) - 1, &len))
		return -1;
	buf[len] = '\0';
	const char *p = strstr(buf, "\nPPid:");
	if (!p)
		return -1;
	ppid = strtol(p + 6, NULL, 10);
	return ppid > 0 && ppid <= INT32_MAX ? (int32_t)ppid : -1;
}

/* pilot-agent starts envoy and passes its environment on, but a wrapper
 * (or a different control plane) may start envoy with a clean one: then
 * the parent, if it lives in the same container, knows the pod. */
static void fill_from_parent(int32_t pid, const char *proc_root, struct wf_target_info *out)
{
	struct wf_target_info *parent;
	int32_t ppid = read_ppid(pid, proc_root);

	if (ppid <= 1)
		return;
	parent = calloc(1, sizeof(*parent));
	if (!parent)
		return;
	if (!read_proc_cgroup(ppid, proc_root, &parent->cgroup, NULL, NULL) &&
	    !strcmp(parent->cgroup.unified, out->cgroup.unified) && !strcmp(parent->cgroup.cpu, out->cgroup.cpu) &&
	    !read_proc_environ(ppid, proc_root, &parent->labels)) {
		for (size_t k = 0; k < N_ENV_LABELS; k++) {
			enum wf_label l = env_labels[k].label;

			if (!out->labels.value[l][0])
				memcpy(out->labels.value[l], parent->labels.value[l], WF_LABEL_MAX);
		}
	}
	free(parent);
}

int discovery_target(int32_t pid, const char *proc_root, struct wf_target_info *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->runtime = "";
	err = read_proc_cgroup(pid, proc_root, &out->cgroup, &out->labels, &out->runtime);
	if (err)
		return err;
	err = read_proc_environ(pid, proc_root, &out->labels);
	if (err == -ESRCH)
		return err;
	/* EACCES (no CAP_SYS_PTRACE / DAC_READ_SEARCH) or a kernel thread:
	 * the cgroup labels still hold. */
	out->environ_error = -err;
	if (!out->labels.value[WF_LABEL_NAMESPACE][0])
		fill_from_parent(pid, proc_root, out);
	return 0;
}

int discovery_parse_cpu_stat(const char *buf, size_t len, struct wf_throttle *out)
{
	bool periods = false, throttled = false, time = false;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		const char *line = buf + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t n = nl ? (size_t)(nl - line) : len - i;
		char key[32], num[24];
		const char *sp;
		uint64_t v;

		i += n + 1;
		sp = memchr(line, ' ', n);
		if (!sp || (size_t)(sp - line) >= sizeof(key) || n - (size_t)(sp - line) - 1 >= sizeof(num))
			continue;
		memcpy(key, line, (size_t)(sp - line));
		key[sp - line] = '\0';
		memcpy(num, sp + 1, n - (size_t)(sp - line) - 1);
		num[n - (size_t)(sp - line) - 1] = '\0';
		if (!num[0] || !isdigit((unsigned char)num[0]))
			continue;
		errno = 0;
		char *e;
		v = strtoull(num, &e, 10);
		if (errno || *e)
			continue;
		if (!strcmp(key, "nr_periods")) {
			out->nr_periods = v;
			periods = true;
		} else if (!strcmp(key, "nr_throttled")) {
			out->nr_throttled = v;
			throttled = true;
		} else if (!strcmp(key, "throttled_usec")) { /* v2 */
			out->throttled_usec = v;
			time = true;
		} else if (!strcmp(key, "throttled_time")) { /* v1, nanoseconds */
			out->throttled_usec = v / 1000;
			time = true;
		}
	}
	return periods && throttled && time ? 0 : -ENODATA;
}

void discovery_throttle_delta(const struct wf_throttle *prev, const struct wf_throttle *cur,
			      struct wf_throttle *delta)
{
	if (cur->nr_periods < prev->nr_periods || cur->nr_throttled < prev->nr_throttled ||
	    cur->throttled_usec < prev->throttled_usec) {
		*delta = *cur;
		return;
	}
	delta->nr_periods = cur->nr_periods - prev->nr_periods;
	delta->nr_throttled = cur->nr_throttled - prev->nr_throttled;
	delta->throttled_usec = cur->throttled_usec - prev->throttled_usec;
}

static bool file_exists(const char *dir, const char *name)
{
	char p[WF_CGROUP_PATH_MAX + 64];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

int discovery_cgroup_fs_init(struct wf_cgroup_fs *fs, const char *cgroup_root, const char *proc_root,
			     int32_t self_pid)
{
	/* v1 mounts the cpu controller alone or co-mounted with cpuacct. */
	static const char *const cpu_dirs[] = { "cpu", "cpu,cpuacct", "cpuacct,cpu" };
	char d[WF_CGROUP_PATH_MAX];

	memset(fs, 0, sizeof(*fs));
	if (strlen(cgroup_root) + 32 >= sizeof(fs->root) || strlen(proc_root) >= sizeof(fs->proc_root))
		return -ENAMETOOLONG;
	strcpy(fs->root, cgroup_root);
	strcpy(fs->proc_root, proc_root);
	fs->self_pid = self_pid;
	if (file_exists(cgroup_root, "cgroup.controllers")) {
		strcpy(fs->unified_dir, cgroup_root);
	} else {
		snprintf(d, sizeof(d), "%s/unified", cgroup_root);
		if (file_exists(d, "cgroup.controllers"))
			strcpy(fs->unified_dir, d);
	}
	for (size_t k = 0; k < sizeof(cpu_dirs) / sizeof(cpu_dirs[0]); k++) {
		snprintf(d, sizeof(d), "%s/%s", cgroup_root, cpu_dirs[k]);
		if (file_exists(d, "cpu.stat") && file_exists(d, "cgroup.procs")) {
			strcpy(fs->cpu_dir, d);
			break;
		}
	}
	return fs->unified_dir[0] || fs->cpu_dir[0] ? 0 : -ENOENT;
}

int discovery_cgroup_join(const char *nsroot, const char *path, char *out, size_t outlen)
{
	/* Component stack over out: lens[i] is the length of out after i components. */
	size_t lens[WF_CGROUP_PATH_MAX / 2];
	size_t depth = 0, o = 0;
	const char *parts[2] = { nsroot, path };

	if (outlen < 2 || nsroot[0] != '/' || path[0] != '/')
		return -EINVAL;
	lens[0] = 0;
	for (int k = 0; k < 2; k++) {
		const char *p = parts[k];

		while (*p) {
			while (*p == '/')
				p++;
			const char *e = strchrnul(p, '/');
			size_t n = (size_t)(e - p);

			if (n == 0 || (n == 1 && p[0] == '.')) {
			} else if (n == 2 && p[0] == '.' && p[1] == '.') {
				if (depth == 0)
					return -EINVAL;
				o = lens[--depth];
			} else {
				if (o + 1 + n >= outlen || depth + 1 >= sizeof(lens) / sizeof(lens[0]))
					return -ENAMETOOLONG;
				out[o++] = '/';
				memcpy(out + o, p, n);
				o += n;
				lens[++depth] = o;
			}
			p = e;
		}
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

static bool procs_lists(const char *dir, int32_t pid)
{
	char p[WF_CGROUP_PATH_MAX + 32];
	FILE *f;
	long v;
	bool found = false;

	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	f = fopen(p, "re");
	if (!f)
		return false;
	while (!found && fscanf(f, "%ld", &v) == 1)
		found = v == pid;
	fclose(f);
	return found;
}

/* Bounds on the search: cgroup trees are shallow (kubepods.slice/
 * kubepods-burstable.slice/...-pod.slice/cri-containerd-x.scope is 4) and
 * a busy node has a few thousand cgroups. */
#define FIND_MAX_DEPTH 16
#define FIND_MAX_DIRS 100000

static int find_in(char *dir, size_t cap, int32_t pid, int depth, int *budget)
{
	DIR *d;
	struct dirent *de;
	size_t len = strlen(dir);
	int rc = -ENOENT;

	if (--*budget < 0)
		return -ENOENT;
	if (procs_lists(dir, pid))
		return 0;
	if (depth >= FIND_MAX_DEPTH)
		return -ENOENT;
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while (rc && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		size_t n = strlen(de->d_name);
		if (len + 1 + n >= cap)
			continue;
		dir[len] = '/';
		memcpy(dir + len + 1, de->d_name, n + 1);
		rc = find_in(dir, cap, pid, depth + 1, budget);
		if (rc)
			dir[len] = '\0';
	}
	closedir(d);
	return rc;
}

int discovery_find_pid_cgroup(const char *dir, int32_t pid, char *out, size_t outlen)
{
	char buf[WF_CGROUP_PATH_MAX * 2];
	size_t base = strlen(dir);
	int budget = FIND_MAX_DIRS;

	if (base >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, base + 1);
	if (find_in(buf, sizeof(buf), pid, 0, &budget))
		return -ENOENT;
	const char *rel = buf[base] ? buf + base : "/";
	if (strlen(rel) >= outlen)
		return -ENAMETOOLONG;
	strcpy(out, rel);
	return 0;
}

/*
 * Where our cgroup namespace is rooted in the hierarchy at dir. Our own
 * path as /proc shows it (shown) is relative to that root; the path under
 * which cgroup.procs lists us (actual) is absolute; the root is actual
 * minus the shown suffix. Without a namespace of our own both are equal.
 */
static int find_nsroot(const char *dir, const char *shown, int32_t self_pid, char *nsroot)
{
	char p[WF_CGROUP_PATH_MAX * 2], actual[WF_CGROUP_PATH_MAX];
	size_t al, sl;

	if (shown[0] != '/' || strstr(shown, "/.."))
		return -ENOENT;
	snprintf(p, sizeof(p), "%s%s", dir, strcmp(shown, "/") ? shown : "");
	if (procs_lists(p, self_pid)) {
		strcpy(nsroot, "/");
		return 0;
	}
	if (discovery_find_pid_cgroup(dir, self_pid, actual, sizeof(actual)))
		return -ENOENT;
	al = strlen(actual);
	sl = strcmp(shown, "/") ? strlen(shown) : 0;
	/* e.g. actual "/kubepods/pod1/ctr/sub", shown "/sub": root "/kubepods/pod1/ctr" */
	if (sl > al || strcmp(actual + al - sl, sl ? shown : ""))
		return -ENOENT;
	memcpy(nsroot, actual, al - sl);
	nsroot[al - sl] = '\0';
	if (!nsroot[0])
		strcpy(nsroot, "/");
	return 0;
}

int discovery_cpu_throttling(struct wf_cgroup_fs *fs, const struct wf_cgroup *cg, struct wf_throttle *out)
{
	const char *dir, *path;
	char *nsroot;
	int *state;
	char resolved[WF_CGROUP_PATH_MAX], file[WF_CGROUP_PATH_MAX * 2 + 16], buf[4096];
	size_t len;
	int err;

	/* Where the cpu controller lives: a v1 cpu hierarchy if the host has
	 * one (then the v2 tree, if any, carries no CPU limits), else v2. */
	if (fs->cpu_dir[0] && cg->cpu[0]) {
		dir = fs->cpu_dir;
		path = cg->cpu;
		nsroot = fs->cpu_nsroot;
		state = &fs->cpu_nsroot_state;
	} else if (fs->unified_dir[0] && cg->unified[0]) {
		dir = fs->unified_dir;
		path = cg->unified;
		nsroot = fs->unified_nsroot;
		state = &fs->unified_nsroot_state;
	} else {
		return -ENOENT;
	}
	if (*state == 0) {
		struct wf_cgroup self;

		err = read_proc_cgroup(fs->self_pid, fs->proc_root, &self, NULL, NULL);
		if (!err)
			err = find_nsroot(dir, dir == fs->cpu_dir ? self.cpu : self.unified, fs->self_pid, nsroot);
		*state = err ? (err < 0 ? err : -err) : 1;
	}
	if (*state < 0)
		return *state;
	err = discovery_cgroup_join(nsroot, path, resolved, sizeof(resolved));
	if (err)
		return err;
	snprintf(file, sizeof(file), "%s%s/cpu.stat", dir, strcmp(resolved, "/") ? resolved : "");
	err = read_bounded(file, buf, sizeof(buf), &len);
	if (err)
		return err == -ENOENT || err == -ENODEV ? -ENOENT : err;
	return discovery_parse_cpu_stat(buf, len, out);
}
