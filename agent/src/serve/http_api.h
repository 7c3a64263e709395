/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's HTTP server (libmicrohttpd): routing, bearer-token auth,
 * JSON answers and errors (docs/api.md). One thread per connection, with a
 * cap on connections and an idle timeout, so /healthz answers while a long
 * query runs and no request can hold up capture (queries read the store
 * through their own SQLite connection).
 */
#ifndef WAKEFLOW_HTTP_API_H
#define WAKEFLOW_HTTP_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "catalog.h"
#include "history.h"
#include "json.h"
#include "metrics.h"
#include "store.h"

struct wf_rules; /* classify.h: passed on to report.c */

#define WF_DEFAULT_PORT 9781
/* Connection limits, the /healthz reserve and the header deadline are in
 * http_conn.h. Idle connections are closed after WF_HTTP_TIMEOUT_S. */
#define WF_HTTP_TIMEOUT_S 15
/* Series and edges queries running at once; more wait (up to the timeout,
 * then 503), which bounds the memory and CPU queries can take. */
#define WF_HTTP_MAX_QUERIES 4

struct wf_http_ctx {
	struct wf_catalog *cat;
	struct wf_history *history;
	struct wf_store *store;
	struct wf_metrics *metrics;
	const struct wf_rules *rules; /* explains each edge's classification */
	const char *token; /* NULL: no auth */
	/* Writes the daemon's own keys (capture counters, programs, ...) into
	 * the open /api/v1/status object. */
	void (*status)(void *ctx, struct json *j);
	void *status_ctx;
};

/* "127.0.0.1:9781", "[::1]:9781", "0.0.0.0:9781", ":9781" (all IPv4
 * addresses). Returns 0, or -1 with one sentence in err. */
int http_parse_listen(const char *s, struct sockaddr_storage *out, socklen_t *len, char *err, size_t errlen);
/* True for 127.0.0.0/8 and ::1. */
int http_is_loopback(const struct sockaddr_storage *addr);

struct wf_http;

/* Starts serving; NULL with one sentence in err (address in use, ...). */
struct wf_http *http_start(const struct sockaddr_storage *addr, socklen_t addrlen, const struct wf_http_ctx *ctx,
			   char *err, size_t errlen);
void http_stop(struct wf_http *h);

/* Whether an Authorization header value (len bytes, which may hold a NUL)
 * is "Bearer <token>": the scheme in any case, optional whitespace around
 * (RFC 9110), no control characters; the token compared in constant time.
 * Exposed for the unit tests. */
int http_token_ok(const char *value, size_t len, const char *token);

#endif
