/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Admission and deadlines for the HTTP server's connections, apart from
 * HTTP itself (http_api.c): any local user can open connections, so
 *   - limits count the connections open now (per client address and in
 *     all), not ones the server is still tearing down;
 *   - a reserve of connections beyond the limits serves /healthz only, so
 *     a liveness probe is answered while idle connections fill the rest;
 *   - a connection that has not sent a whole request's headers within a
 *     deadline is closed (one header line every few seconds held every
 *     slot for as long as the client liked);
 *   - refusals and closures are logged as one summary a minute, not a line
 *     each.
 * Thread-safe: libmicrohttpd's connection threads call in; a thread of its
 * own enforces the deadlines and writes the summaries.
 */
#ifndef WAKEFLOW_HTTP_CONN_H
#define WAKEFLOW_HTTP_CONN_H

#include <stdbool.h>
#include <sys/socket.h>

#define WF_HTTP_MAX_CONNECTIONS 128 /* serving every endpoint */
#define WF_HTTP_MAX_PER_ADDRESS 64
#define WF_HTTP_HEALTH_RESERVE 256	/* beyond those: /healthz only, a short deadline */
#define WF_HTTP_HEADER_DEADLINE_MS 5000 /* from accept to a whole request's headers */
#define WF_HTTP_RESERVE_DEADLINE_MS 2000
#define WF_HTTP_SUMMARY_INTERVAL_MS 60000

enum wf_conn_class {
	WF_CONN_NORMAL = 0,
	WF_CONN_HEALTH_ONLY, /* over the limits: /healthz, else 503 */
	WF_CONN_REFUSED,     /* over the reserve too: closed at once */
};

struct wf_conn;
struct wf_conn_guard;

/* next_deadline_ms: the time allowed for the headers of a connection's later
 * requests (after one completed), normally the idle timeout. */
struct wf_conn_guard *conn_guard_new(long next_deadline_ms);
void conn_guard_free(struct wf_conn_guard *g);

/* A connection was accepted (fd, peer address): classified, tracked. NULL
 * on ENOMEM (then it is refused). */
struct wf_conn *conn_guard_open(struct wf_conn_guard *g, int fd, const struct sockaddr *peer);
void conn_guard_close(struct wf_conn_guard *g, struct wf_conn *c);
enum wf_conn_class conn_class(const struct wf_conn *c);
/* Its request's headers are all in: no deadline while it is answered. */
void conn_request_begins(struct wf_conn_guard *g, struct wf_conn *c);
/* Answered: the next request's headers have the next deadline. */
void conn_request_ends(struct wf_conn_guard *g, struct wf_conn *c);
/* A message from libmicrohttpd: logged the first time, then counted into
 * the summary while it repeats. */
void conn_guard_log(struct wf_conn_guard *g, const char *msg);

#endif
