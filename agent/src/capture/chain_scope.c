// SPDX-License-Identifier: Apache-2.0
/* The pods of the chain scope from procfs (chain_scope.h). */
#include "chain_scope.h"

#include <stdio.h>
#include <string.h>

/* The cgroup of pid that places it (cgroup v2's, else v1's cpu
 * controller's), as /proc/PID/cgroup shows it; "" if none or the root. */
void chain_scope_cgroup(const char *proc_root, int32_t pid, char *out, size_t len)
{
	char path[512], line[1024];
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root, pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *p;

		if (!ctl || !(p = strchr(ctl + 1, ':')))
			continue;
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		if (!strcmp(p, "/"))
			continue;
		ctl++;
		/* "0::/path" (v2), or a v1 line whose controllers include cpu. */
		if (!*ctl || !strcmp(ctl, "cpu") || !strncmp(ctl, "cpu,", 4) || strstr(ctl, ",cpu,") ||
		    (strlen(ctl) > 4 && !strcmp(ctl + strlen(ctl) - 4, ",cpu"))) {
			snprintf(out, len, "%s%s", *ctl ? "1:" : "0:", p);
			if (!*ctl)
				break; /* v2 wins */
		}
	}
	fclose(f);
}

/*
 * The pod of a cgroup: its parent when the parent is a Kubernetes pod's
 * cgroup (its name holds "pod": "pod<uid>" with the cgroupfs driver,
 * "kubepods-<qos>-pod<uid>.slice" with systemd's), whose other children are
 * the pod's other containers, so the application beside the Envoy sidecar
 * is in. Any other parent (the root, a systemd slice, docker's "/docker")
 * groups unrelated services: then the cgroup itself.
 */
void chain_scope_pod(const char *cg, char *out, size_t len)
{
	const char *slash = strrchr(cg, '/'), *pslash;
	size_t plen = slash ? (size_t)(slash - cg) : 0;

	snprintf(out, len, "%s", cg);
	if (plen <= 2) /* "0:" or "1:" then "/x": the parent is the root */
		return;
	pslash = memrchr(cg, '/', plen);
	if (!pslash || !memmem(pslash, plen - (size_t)(pslash - cg), "pod", 3))
		return;
	snprintf(out, len, "%.*s", (int)plen, cg);
}

bool chain_scope_in_pod(const char *cg, const char *pod)
{
	size_t n = strlen(pod);

	return cg[0] && !strncmp(cg, pod, n) && (cg[n] == '\0' || cg[n] == '/');
}

