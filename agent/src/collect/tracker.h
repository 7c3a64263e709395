/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's view of its targets: which process a traced pid is (pid and
 * start time, so a reused pid is a new target), its labels (discovery.h),
 * whether it still runs, and its cgroup's CPU throttling per window.
 * Writes targets into the catalog. Main loop only.
 */
#ifndef WAKEFLOW_TRACKER_H
#define WAKEFLOW_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "discovery.h"

struct wf_tracker;

struct wf_tracker_opts {
	const char *proc_root;	 /* "/proc" */
	const char *cgroup_root; /* "/sys/fs/cgroup" */
	const char *cgroup_regex; /* --cgroup; NULL: every target */
};

/* NULL with one sentence in err (a bad --cgroup regex). */
struct wf_tracker *tracker_new(const struct wf_tracker_opts *o, struct wf_catalog *cat, char *err, size_t errlen);
void tracker_free(struct wf_tracker *t);

/* Target id of the process pid (comm: its name as the capture saw it, used
 * if it already exited; may be NULL), or 0 if --cgroup leaves it out. Reads
 * /proc the first time a pid is seen in a window. */
uint32_t tracker_resolve(struct wf_tracker *t, int32_t pid, const char *comm, int64_t now_ms);

/* The capture started tracing pid (at start-up, a --comm match at exec, a
 * traced process's child): reads who it is now, while it runs, and takes
 * its throttling baseline. A known process that exec'ed is read again
 * (name, executable and labels change with the image). Returns its target
 * id as tracker_resolve does. */
uint32_t tracker_appeared(struct wf_tracker *t, int32_t pid, int64_t now_ms);

/* End of a window: checks which targets still run, whether they moved to
 * another cgroup (then their labels are read again and replaced in the
 * catalog), and reads their cgroup throttling since the last window, or
 * since the target appeared (tracker_resolve takes the baseline). Calls
 * live() for each running target (with the throttling delta; zeros when
 * unknown) and gone() once for each target whose process exited. */
void tracker_end_window(struct wf_tracker *t, int64_t now_ms,
			void (*live)(void *ctx, uint32_t target_id, const struct wf_throttle *delta),
			void (*gone)(void *ctx, uint32_t target_id, int32_t pid), void *ctx);
/* Processes running now. */
size_t tracker_live_count(struct wf_tracker *t);

#endif
