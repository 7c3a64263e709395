/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which processes the live capture traces: those named by --pid and those
 * whose process name (the group leader's comm) matches a --comm regex, now
 * or later (after an exec). Pure selection logic: no BPF here; capture.c
 * applies the decisions to the kernel-side target map.
 */
#ifndef WAKEFLOW_TARGETS_H
#define WAKEFLOW_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wf_targets;

/* At most this many --pid and --comm (struct capture_opts holds as many). */
#define CAPTURE_MAX_PIDS 64
#define CAPTURE_MAX_COMMS 8

/* Flags as in wakeflow.h's struct wf_target (capture.c asserts they agree). */
#define TARGET_BY_PID 0x1
#define TARGET_BY_COMM 0x2

/* Compiles the regexes (POSIX extended) and checks that every pid exists
 * under proc_root (NULL: "/proc"; a DaemonSet may mount the host's procfs
 * elsewhere). On failure returns NULL with one sentence in err. */
struct wf_targets *targets_new(const char *proc_root, const int32_t *pids, int npids, const char *const *regex,
			    int nregex, char *err, size_t errlen);
void targets_free(struct wf_targets *t);

bool targets_by_comm(const struct wf_targets *t); /* any --comm given */
bool targets_comm_matches(const struct wf_targets *t, const char *comm);

/* Calls add(pid, flags) for each --pid and each running process whose name
 * matches now. Returns the number added, or -1 if add failed. */
int targets_scan(const struct wf_targets *t, int (*add)(void *ctx, int32_t pid, uint32_t flags), void *ctx);

/* After process pid exec'ed into comm: the flags it should be traced with,
 * or 0 to stop (or not start) tracing it. old_flags is 0 if it was not traced. */
uint32_t targets_after_exec(const struct wf_targets *t, uint32_t old_flags, const char *comm);

/* A one-line description for the progress note, e.g. "pids 12, 34 and
 * processes named /^envoy$/". */
void targets_describe(const struct wf_targets *t, char *buf, size_t len);

#endif
