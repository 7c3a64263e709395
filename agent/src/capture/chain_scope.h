/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which processes share a pod with a target, for the chain scope
 * (docs/chains.md): pure procfs parsing, no BPF (capture_chains.c applies
 * it to the kernel's bitmap). A cgroup is written with the hierarchy it
 * came from: "0:/path" (cgroup v2) or "1:/path" (v1, the cpu controller),
 * so that paths of different hierarchies never match.
 */
#ifndef WAKEFLOW_CHAIN_SCOPE_H
#define WAKEFLOW_CHAIN_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The cgroup that places pid (v2's if not the root, else v1's cpu
 * controller's) as /proc/PID/cgroup shows it under proc_root; "" if none,
 * or the root. */
void chain_scope_cgroup(const char *proc_root, int32_t pid, char *out, size_t len);
/* The pod of a cgroup: its parent if that is a pod's cgroup (its name
 * holds "pod", as Kubernetes names them), else the cgroup itself. */
void chain_scope_pod(const char *cgroup, char *out, size_t len);
/* Whether cgroup is pod or below it. */
bool chain_scope_in_pod(const char *cgroup, const char *pod);

#endif
