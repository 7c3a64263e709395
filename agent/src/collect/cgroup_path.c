// SPDX-License-Identifier: Apache-2.0
/*
 * Reading a process's cgroup lines (discovery.h): which container and pod a
 * cgroup path names, under every common runtime and cgroup driver (the path
 * forms are listed beside each parser and table-tested with real paths in
 * test_discovery.c), and the --cgroup filter. Pure string work: nothing here
 * touches the file system, so each form is tested without the runtime.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "discovery.h"

static bool is_hex_n(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Container runtimes' cgroup names: "<prefix><64 hex>[.scope]" under the
 * systemd driver (CRI-O writes "crio-<id>" without ".scope" under the
 * cgroupfs driver), a bare "<64 hex>" under the cgroupfs driver. */
static const struct {
	const char *prefix;
	const char *runtime;
} runtime_prefixes[] = {
	{ "cri-containerd-", "containerd" },
	{ "docker-", "docker" },
	{ "crio-", "cri-o" },
	{ "libpod-", "podman" },
	{ "nerdctl-", "containerd" },
	{ "", "" },
};

/*
 * containerd given a systemd-style parent ("kubepods-burstable-pod<uid>.slice")
 * while it manages cgroups itself (SystemdCgroup = false) creates the
 * cgroup literally named "<slice>:<prefix>:<id>", e.g.
 * "kubepods-burstable-pod<uid>.slice:cri-containerd:<id>", often below
 * "/system.slice/containerd.service" on cgroup v1 hosts.
 */
static const struct {
	const char *prefix;
	const char *runtime;
} colon_prefixes[] = {
	{ "cri-containerd", "containerd" },
	{ "crio", "cri-o" },
	{ "docker", "docker" },
};

static const char *colon_container_id(const char *c, size_t n, char id[65])
{
	const char *end = c + n, *last = NULL, *mid = NULL;

	for (const char *p = c; p < end; p++) {
		if (*p == ':') {
			mid = last;
			last = p;
		}
	}
	if (!mid || end - last - 1 != 64 || !is_hex_n(last + 1, 64))
		return NULL;
	for (size_t k = 0; k < sizeof(colon_prefixes) / sizeof(colon_prefixes[0]); k++) {
		size_t pl = strlen(colon_prefixes[k].prefix);

		if ((size_t)(last - mid - 1) != pl || memcmp(mid + 1, colon_prefixes[k].prefix, pl))
			continue;
		for (int i = 0; i < 64; i++)
			id[i] = (char)tolower((unsigned char)last[1 + i]);
		id[64] = '\0';
		return colon_prefixes[k].runtime;
	}
	return NULL;
}

/* A bare id names no runtime; its parents often do ("/docker/<id>",
 * "/system.slice/containerd.service/..."). Only names that are exactly a
 * runtime's count: "/kubepods/..." says nothing. */
static const char *runtime_from_parents(const char *path, const char *leaf)
{
	static const struct {
		const char *component;
		const char *runtime;
	} parents[] = {
		{ "docker", "docker" },	      { "docker.service", "docker" },	{ "containerd.service", "containerd" },
		{ "crio.service", "cri-o" }, { "libpod_parent", "podman" },
	};
	const char *p = path;

	while (p < leaf) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (e < leaf && *e != '/')
			e++;
		for (size_t k = 0; k < sizeof(parents) / sizeof(parents[0]); k++)
			if (strlen(parents[k].component) == (size_t)(e - p) && !memcmp(p, parents[k].component, (size_t)(e - p)))
				return parents[k].runtime;
		p = e;
	}
	return "";
}

static const char *component_container_id(const char *c, size_t n, char id[65])
{
	static const char scope[] = ".scope";
	size_t sl = sizeof(scope) - 1;
	const char *rt = colon_container_id(c, n, id);

	if (rt)
		return rt;
	if (n > sl && !memcmp(c + n - sl, scope, sl))
		n -= sl;
	for (size_t k = 0; k < sizeof(runtime_prefixes) / sizeof(runtime_prefixes[0]); k++) {
		size_t pl = strlen(runtime_prefixes[k].prefix);

		/* "crio-conmon-<id>" and "libpod-conmon-<id>" hold the runtime's
		 * monitor, not the container: the length check rejects them. */
		if (n != pl + 64 || memcmp(c, runtime_prefixes[k].prefix, pl) || !is_hex_n(c + pl, 64))
			continue;
		for (int i = 0; i < 64; i++)
			id[i] = (char)tolower((unsigned char)c[pl + i]);
		id[64] = '\0';
		return runtime_prefixes[k].runtime;
	}
	return NULL;
}

const char *discovery_container_id(const char *path, char id[65])
{
	const char *end = path + strlen(path);

	id[0] = '\0';
	/* From the leaf up: crun and CRI-O may add a sub-cgroup ("/container")
	 * below the container's own scope. */
	while (end > path) {
		const char *start = end;

		while (start > path && start[-1] != '/')
			start--;
		const char *rt = component_container_id(start, (size_t)(end - start), id);
		if (rt)
			return rt[0] ? rt : runtime_from_parents(path, start);
		end = start > path ? start - 1 : path;
	}
	return NULL;
}

static bool uid_at(const char *s, size_t n, char uid[37])
{
	if (n < 36)
		return false;
	for (int i = 0; i < 36; i++) {
		char ch = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			/* the systemd driver writes dashes as underscores */
			if (ch != '-' && ch != '_')
				return false;
			uid[i] = '-';
		} else {
			if (!isxdigit((unsigned char)ch))
				return false;
			uid[i] = (char)tolower((unsigned char)ch);
		}
	}
	/* The uid ends the component, or ".slice" follows it (then maybe
	 * ":<runtime>:<id>", containerd's own name under a systemd parent). */
	if (n != 36 && (n < 36 + 6 || memcmp(s + 36, ".slice", 6) || (n > 36 + 6 && s[36 + 6] != ':')))
		return false;
	uid[36] = '\0';
	return true;
}

bool discovery_pod_uid(const char *path, char uid[37])
{
	const char *end = path + strlen(path);

	uid[0] = '\0';
	while (end > path) {
		const char *start = end;

		while (start > path && start[-1] != '/')
			start--;
		/* "pod<uid>" (cgroupfs) or "kubepods-<qos>-pod<uid>.slice" (systemd) */
		for (const char *p = start; p + 3 <= end; p++) {
			if (memcmp(p, "pod", 3) || (p != start && p[-1] != '-'))
				continue;
			if (uid_at(p + 3, (size_t)(end - p - 3), uid))
				return true;
		}
		end = start > path ? start - 1 : path;
	}
	uid[0] = '\0';
	return false;
}

static bool has_controller(const char *list, size_t n, const char *name)
{
	size_t nl = strlen(name);
	const char *p = list, *end = list + n;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *q = comma ? comma : end;

		if ((size_t)(q - p) == nl && !memcmp(p, name, nl))
			return true;
		p = q + 1;
	}
	return false;
}

static bool copy_path(char *dst, const char *src, size_t n)
{
	if (n == 0 || n >= WF_CGROUP_PATH_MAX || src[0] != '/' || memchr(src, '\0', n))
		return false;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return true;
}

int discovery_parse_cgroup(const char *buf, size_t len, struct wf_cgroup *cg, struct wf_labels *labels,
			   const char **runtime)
{
	/* Paths in which to look for a container id, best first: the v2 path,
	 * the v1 cpu path, then any other v1 hierarchy's. */
	char other[WF_CGROUP_PATH_MAX] = "";
	const char *rt = NULL;
	char id[65] = "", uid[37] = "";
	size_t i = 0;
	int lines = 0;

	cg->unified[0] = cg->cpu[0] = '\0';
	while (i < len) {
		const char *line = buf + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t n = nl ? (size_t)(nl - line) : len - i;

		i += n + 1;
		/* hierarchy-ID:controller-list:path; the path may hold colons */
		const char *c1 = memchr(line, ':', n);
		if (!c1)
			continue;
		const char *c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line));
		if (!c2)
			continue;
		const char *path = c2 + 1;
		size_t plen = n - (size_t)(path - line);
		size_t clen = (size_t)(c2 - c1 - 1);

		if (c1 - line == 1 && line[0] == '0' && clen == 0) {
			if (copy_path(cg->unified, path, plen))
				lines++;
		} else if (has_controller(c1 + 1, clen, "cpu")) {
			if (copy_path(cg->cpu, path, plen))
				lines++;
		} else {
			char tmp[WF_CGROUP_PATH_MAX];

			if (copy_path(tmp, path, plen)) {
				lines++;
				if (!other[0] || (!discovery_container_id(other, id) && discovery_container_id(tmp, id)))
					memcpy(other, tmp, sizeof(tmp));
			}
		}
	}
	if (!lines)
		return -EINVAL;

	const char *order[] = { cg->unified, cg->cpu, other };
	for (size_t k = 0; k < 3 && !rt; k++)
		if (order[k][0])
			rt = discovery_container_id(order[k], id);
	for (size_t k = 0; k < 3 && !uid[0]; k++)
		if (order[k][0])
			discovery_pod_uid(order[k], uid);
	if (labels) {
		memcpy(labels->value[WF_LABEL_CONTAINER_ID], rt ? id : "", rt ? 65 : 1);
		memcpy(labels->value[WF_LABEL_POD_UID], uid, sizeof(uid));
	}
	if (runtime)
		*runtime = rt ? rt : "";
	return 0;
}

/* The process is gone (or never was) when its /proc entry is. */

int discovery_cgroup_filter_init(struct wf_cgroup_filter *f, const char *regex, char *err, size_t errlen)
{
	int rc;

	f->compiled = false;
	rc = regcomp(&f->re, regex, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char why[128];

		regerror(rc, &f->re, why, sizeof(why));
		snprintf(err, errlen, "bad --cgroup regex '%s': %s", regex, why);
		return -1;
	}
	f->compiled = true;
	return 0;
}

bool discovery_cgroup_filter_match(const struct wf_cgroup_filter *f, const struct wf_cgroup *cg)
{
	if (!f->compiled)
		return true;
	return (cg->unified[0] && !regexec(&f->re, cg->unified, 0, NULL, 0)) ||
	       (cg->cpu[0] && !regexec(&f->re, cg->cpu, 0, NULL, 0));
}

void discovery_cgroup_filter_free(struct wf_cgroup_filter *f)
{
	if (f->compiled)
		regfree(&f->re);
	f->compiled = false;
}
