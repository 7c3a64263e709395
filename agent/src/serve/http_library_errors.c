// SPDX-License-Identifier: Apache-2.0
/*
 * The errors libmicrohttpd answers by itself, in the daemon's JSON, once.
 *
 * A request the library cannot take in (a header section or request line
 * over the connection's 64 KiB, a header line it cannot parse, a
 * Content-Length too large or not a number, an HTTP version it does not
 * speak) never reaches http_api.c's handler: the library answers it with an
 * HTML page compiled into it, and 0.9.75 (Debian 12's) has no option or
 * callback for that body. Worse, for a bad Content-Length it writes its
 * answer twice (headers, then headers and body again: a client reads two
 * answers to one request).
 *
 * It queues those answers through its own exported MHD_queue_response, which
 * it calls through its PLT, so the dynamic linker binds that call to a
 * definition of the same name in the executable (the Makefile exports it:
 * --export-dynamic-symbol). This file is that definition. Answers the daemon
 * makes itself (http_queue_own_answer marks them) pass to the library's
 * function unchanged. For an error the library makes on its own, the daemon
 * writes the documented {"error": "..."} answer to the socket itself, with
 * the library's status and "Connection: close", and declines the library's
 * answer: the library then closes the connection, as it would have after its
 * own, and counts it in wakeflow_agent_http_requests_total by its status, as
 * the daemon's own answers are. serve.test.ts's raw requests (each expects exactly one JSON answer)
 * fail if a build of the library ever bound the call inside itself.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "http_int.h"
#include "logging.h"

typedef enum MHD_Result (*queue_fn)(struct MHD_Connection *, unsigned int, struct MHD_Response *);

static queue_fn real_queue;
static pthread_once_t real_queue_once = PTHREAD_ONCE_INIT;
static __thread int answering_ourselves;

static void find_real_queue(void)
{
	real_queue = (queue_fn)dlsym(RTLD_NEXT, "MHD_queue_response");
}

/* What to tell a client whose request the library refused, by status. */
static const char *library_error_message(unsigned status)
{
	switch (status) {
	case MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE:
		return "request header section too large: request line and headers must fit in 64 KiB";
	case MHD_HTTP_URI_TOO_LONG:
		return "request line too long: request line and headers must fit in 64 KiB";
	case MHD_HTTP_CONTENT_TOO_LARGE:
		return "request too large: nothing here takes a body";
	case MHD_HTTP_HTTP_VERSION_NOT_SUPPORTED:
		return "HTTP version not supported (use HTTP/1.1 or HTTP/1.0)";
	case MHD_HTTP_BAD_REQUEST:
		return "malformed HTTP request (send GET /path HTTP/1.1 with a Host header)";
	default:
		return "the HTTP server could not take this request";
	}
}

/*
 * The whole answer on the connection's socket. The library has written
 * nothing of this request's answer yet (it was about to), and this is the
 * connection's own thread. The socket is non-blocking: an answer that does
 * not fit in the send buffer at once (a client that reads nothing) is cut,
 * as the connection is closed anyway.
 */
static void answer_on_socket(struct MHD_Connection *c, unsigned status)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	const char *reason = MHD_get_reason_phrase_for(status);
	struct json body;
	char answer[512];
	int na;

	if (!ci)
		return;
	http_error_json(&body, library_error_message(status));
	na = snprintf(answer, sizeof(answer),
		      "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Type: application/json\r\n"
		      "Cache-Control: no-store\r\nContent-Length: %zu\r\n\r\n%.*s",
		      status, reason && *reason ? reason : "Error", body.len, (int)body.len, body.buf ? body.buf : "");
	if (!body.failed && na > 0 && (size_t)na < sizeof(answer) &&
	    send(ci->connect_fd, answer, (size_t)na, MSG_NOSIGNAL) == na)
		shutdown(ci->connect_fd, SHUT_WR);
	json_free(&body);
}

/* Counted as an answer of that status, as the daemon's own answers are:
 * through the connection's context, the server it belongs to. */
static void count_refusal(struct MHD_Connection *c, unsigned status)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	const struct wf_http_conn *hc = ci ? ci->socket_context : NULL;

	if (hc)
		http_count_answer(hc->h, status);
}

enum MHD_Result http_queue_own_answer(struct MHD_Connection *c, unsigned int status, struct MHD_Response *r)
{
	enum MHD_Result ret;

	answering_ourselves = 1;
	ret = MHD_queue_response(c, status, r);
	answering_ourselves = 0;
	return ret;
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *c, unsigned int status, struct MHD_Response *r)
{
	pthread_once(&real_queue_once, find_real_queue);
	if (!real_queue) /* cannot happen while the library is linked in */
		return MHD_NO;
	if (answering_ourselves || status < 400)
		return real_queue(c, status, r);
	/* Counted first: the client may read /metrics as soon as it has the answer. */
	count_refusal(c, status);
	answer_on_socket(c, status);
	/* Declined: the library closes the connection ("failed to queue
	 * response"; http_api.c's logger leaves that line out). */
	return MHD_NO;
}
