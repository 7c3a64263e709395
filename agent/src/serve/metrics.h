/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /metrics: the Prometheus text exposition format (version 0.0.4) of
 * counters accumulated from every window since the daemon started, plus the
 * agent's own health. Names and labels are listed in docs/metrics.md.
 * Thread-safe: the main loop adds, HTTP threads render.
 */
#ifndef WAKEFLOW_METRICS_H
#define WAKEFLOW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "window.h"

enum wf_metric_family {
	WF_M_WAKEUPS = 0,
	WF_M_OFFCPU,
	WF_M_RUNQ,
	WF_M_ONCPU,
	WF_M_PREEMPTED,
	WF_M_SWITCHES,
	WF_M_INVOLUNTARY,
	WF_M_THROTTLED,
	WF_M_THROTTLED_PERIODS,
	/* the agent's health */
	WF_M_LOST,
	WF_M_SYMBOLIZE_FAILURES,
	WF_M_STORE_ERRORS,
	WF_M_STORE_OK,
	WF_M_STORE_BYTES,
	WF_M_DRAIN_SECONDS,
	WF_M_STORE_WRITE_SECONDS,
	WF_M_WINDOWS,
	WF_M_TARGETS,
	WF_M_EVENTS,
	WF_M_HTTP_REQUESTS,
	WF_M__COUNT,
};

struct wf_metrics;

struct wf_metrics *metrics_new(void);
void metrics_free(struct wf_metrics *m);

/* One label set: NULL-terminated name/value pairs, e.g.
 * (const char *[]){"reason", "edges_dropped", NULL}. */
void metrics_add(struct wf_metrics *m, enum wf_metric_family f, const char *const *labels, double v);
void metrics_set(struct wf_metrics *m, enum wf_metric_family f, const char *const *labels, double v);

/* Adds one target's window (window.h) to the wakeflow_* counters. */
void metrics_add_window(struct wf_metrics *m, const struct wf_wtarget *w, const struct wf_target *t,
			struct wf_catalog *cat);

/* Drops the series of a target that is gone (pid label), so exited
 * processes do not accumulate for weeks. */
void metrics_forget_pid(struct wf_metrics *m, int32_t pid);

/* Renders everything into a malloc'ed, NUL-terminated buffer; NULL on ENOMEM. */
char *metrics_render(struct wf_metrics *m, size_t *len);

#endif
