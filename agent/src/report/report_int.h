/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the report's two halves share (report.c: edges; report_chains.c:
 * chains), so that a chain's link and hop read exactly like an edge's.
 */
#ifndef WAKEFLOW_REPORT_INT_H
#define WAKEFLOW_REPORT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "edge.h"
#include "json.h"

/* The category's id ("ipc.eventfd"); "other" for an unknown one. */
const char *report_category_id(int category);
/* Opens the task's object and writes comm, proc (if known), pid, tid; the
 * caller adds its own members and closes it. */
void report_json_task(struct json *j, const struct wf_task *t);
/* "key": [frames, innermost first]. */
void report_json_stack(struct json *j, const char *key, const struct wf_stack *s);

#endif
