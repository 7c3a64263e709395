// SPDX-License-Identifier: Apache-2.0
/*
 * The errors libmicrohttpd answers by itself, in the daemon's JSON.
 *
 * A request the library cannot take in (a header section over the
 * connection's 64 KiB, a request line it cannot parse, an HTTP version it
 * does not speak) never reaches http_api.c's handler: the library answers it
 * with a short HTML page compiled into it, and 0.9.75 (Debian 12's) has no
 * option or callback for that body. It queues that answer through its own
 * exported MHD_queue_response, which it calls through its PLT, so the
 * dynamic linker binds that call to a definition of the same name in the
 * executable (the Makefile exports it: --export-dynamic-symbol). This file is
 * that definition: answers the daemon makes itself (send_buf marks them)
 * pass through unchanged; an error the library makes on its own gets the
 * documented {"error": "..."} body instead, same status, the connection
 * closed as the library asked. serve.test.ts's raw requests (a 70 KiB header,
 * a 70 KiB request line, a malformed request line) would see HTML if a build
 * of the library ever bound the call inside itself.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

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

static struct MHD_Response *library_error_json(unsigned status)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", library_error_message(status));
	struct MHD_Response *r = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);

	if (!r)
		return NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return r;
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
	struct MHD_Response *json;
	enum MHD_Result ret;

	pthread_once(&real_queue_once, find_real_queue);
	if (!real_queue) /* cannot happen while the library is linked in */
		return MHD_NO;
	if (answering_ourselves || status < 400)
		return real_queue(c, status, r);
	json = library_error_json(status);
	if (!json)
		return real_queue(c, status, r);
	wf_log(WF_LOG_DEBUG, "http: the server library refused a request with %u; answered as JSON", status);
	ret = real_queue(c, status, json);
	MHD_destroy_response(json);
	return ret;
}
