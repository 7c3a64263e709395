/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the HTTP API's two halves share, and nothing else sees: http_api.c
 * (listening, auth, routing, status, targets, categories, metrics) and
 * http_answers.c (the history answers: series, edges, chains). The public
 * face is http_api.h.
 */
#ifndef WAKEFLOW_HTTP_INT_H
#define WAKEFLOW_HTTP_INT_H

#include <microhttpd.h>
#include <semaphore.h>

#include "http_api.h"
#include "json.h"
#include "query.h"

struct wf_http {
	struct MHD_Daemon *d;
	sem_t queries; /* WF_HTTP_MAX_QUERIES slots */
	struct wf_conn_guard *guard;
	int running;   /* queries in progress (atomic) */
	struct wf_http_ctx ctx;
	int64_t started_ms;
};

/* A connection's context in libmicrohttpd (its socket context): the server
 * it belongs to, for what the library's own refusals count
 * (http_library_errors.c), and its admission record (http_conn.c). */
struct wf_http_conn {
	struct wf_http *h;
	struct wf_conn *conn;
};

/* One answer of this status in wakeflow_agent_http_requests_total. */
void http_count_answer(struct wf_http *h, unsigned status);

/* The JSON answer j (consumed) with this status; the documented one-line error. */
enum MHD_Result http_send_json(struct wf_http *h, struct MHD_Connection *c, unsigned status, struct json *j);
enum MHD_Result http_send_error(struct wf_http *h, struct MHD_Connection *c, unsigned status, const char *msg);
/* The documented error body {"error": msg} into j (initialized here). */
void http_error_json(struct json *j, const char *msg);

/* MHD_queue_response for an answer the daemon made itself: passed to the
 * library unchanged (http_library_errors.c rewrites only the library's own
 * error pages). */
enum MHD_Result http_queue_own_answer(struct MHD_Connection *c, unsigned int status, struct MHD_Response *r);

/* A target's labels as a JSON object (only those it has). */
void http_json_labels(struct json *j, const struct wf_labels *l);

/* GET /api/v1/series, /edges and /chains for a parsed query (http_answers.c). */
enum MHD_Result http_answer_series(struct wf_http *h, struct MHD_Connection *c, const struct wf_query *q);
enum MHD_Result http_answer_edges(struct wf_http *h, struct MHD_Connection *c, const struct wf_query *q);
enum MHD_Result http_answer_chains(struct wf_http *h, struct MHD_Connection *c, const struct wf_query *q);

#endif
