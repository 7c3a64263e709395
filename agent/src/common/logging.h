/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's log: one line per event on stderr,
 *   2025-11-23T16:20:00.123Z warn store: disk full writing /var/lib/...
 * i.e. an RFC 3339 UTC timestamp, the level (debug, info, warn, error) and
 * the message, which starts with the part of the agent it concerns. Lines
 * are written with one write(2) each so threads never interleave them.
 */
#ifndef WAKEFLOW_LOGGING_H
#define WAKEFLOW_LOGGING_H

enum wf_log_level { WF_LOG_DEBUG = 0, WF_LOG_INFO, WF_LOG_WARN, WF_LOG_ERROR };

/* Messages below this level are dropped (default: info). */
void wf_log_set_level(enum wf_log_level level);
void wf_log(enum wf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
