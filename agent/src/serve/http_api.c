// SPDX-License-Identifier: Apache-2.0
#include "http_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "clock.h"
#include "http_conn.h"
#include "http_int.h"
#include "logging.h"
#include "query.h"
#include "taxonomy.h"

#ifndef WAKEFLOW_VERSION
#define WAKEFLOW_VERSION "dev"
#endif


/* ---- listen address ---- */

int http_parse_listen(const char *s, struct sockaddr_storage *out, socklen_t *len, char *err, size_t errlen)
{
	char host[256];
	const char *colon, *port_s;
	char *end;
	long port;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host)) {
			snprintf(err, errlen, "--listen '%s': expected [IPV6]:PORT", s);
			return -1;
		}
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port_s = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host)) {
			snprintf(err, errlen, "--listen '%s': expected ADDRESS:PORT, e.g. 127.0.0.1:%d", s, WF_DEFAULT_PORT);
			return -1;
		}
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port_s = colon + 1;
	}
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (!*port_s || *end || errno || port < 1 || port > 65535) {
		snprintf(err, errlen, "--listen '%s': the port must be a number from 1 to 65535", s);
		return -1;
	}
	if (!host[0] || strchr(host, ':')) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;

		if (!host[0]) {
			struct sockaddr_in *a4 = (struct sockaddr_in *)out;

			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			a4->sin_addr.s_addr = htonl(INADDR_ANY);
			*len = sizeof(*a4);
			return 0;
		}
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
			snprintf(err, errlen, "--listen '%s': '%s' is not an IPv6 address", s, host);
			return -1;
		}
		*len = sizeof(*a6);
		return 0;
	}
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)out;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
			snprintf(err, errlen, "--listen '%s': '%s' is not an IPv4 address (names are not resolved)", s,
				 host);
			return -1;
		}
		*len = sizeof(*a4);
	}
	return 0;
}

int http_is_loopback(const struct sockaddr_storage *addr)
{
	if (addr->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127;
	if (addr->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)addr)->sin6_addr);
	return 0;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

int http_token_ok(const char *value, size_t len, const char *token)
{
	const char *given, *end = value ? value + len : NULL;
	size_t gl, tl;
	unsigned char diff;

	if (!value)
		return 0;
	/* Control bytes anywhere (a NUL would cut the value for strcmp). */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 ? value[i] != '\t' : (unsigned char)value[i] == 0x7f)
			return 0;
	/* RFC 9110: optional whitespace around the value, the scheme in any case. */
	while (value < end && is_ows(*value))
		value++;
	while (end > value && is_ows(end[-1]))
		end--;
	if (end - value < 7 || strncasecmp(value, "Bearer", 6) || !is_ows(value[6]))
		return 0;
	for (given = value + 6; given < end && is_ows(*given); given++)
		;
	gl = (size_t)(end - given);
	tl = strlen(token);
	/* Time depends on the token's length only, never on where the first
	 * differing byte is. */
	diff = gl != tl;
	for (size_t i = 0; i < tl; i++)
		diff |= (unsigned char)token[i] ^ (unsigned char)(i < gl ? given[i] : 0);
	return diff == 0;
}

/* ---- responses ---- */

static enum MHD_Result send_buf(struct wf_http *h, struct MHD_Connection *c, unsigned status, const char *type,
				char *buf, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;
	char keep_alive[24];

	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* How long an idle connection stays open (http_conn.c closes it then):
	 * a client that reuses connections (Node's http.Agent: the backend)
	 * drops it a second before, instead of sending a request into a
	 * connection being closed. */
	snprintf(keep_alive, sizeof(keep_alive), "timeout=%d", WF_HTTP_TIMEOUT_S);
	MHD_add_response_header(r, MHD_HTTP_HEADER_KEEP_ALIVE, keep_alive);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"wakeflow\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = http_queue_own_answer(c, status, r);
	MHD_destroy_response(r);
	http_count_answer(h, status);
	return ret;
}

void http_count_answer(struct wf_http *h, unsigned status)
{
	char code[12];

	snprintf(code, sizeof(code), "%u", status);
	metrics_add(h->ctx.metrics, WF_M_HTTP_REQUESTS, (const char *[]){ "code", code, NULL }, 1);
}

enum MHD_Result http_send_json(struct wf_http *h, struct MHD_Connection *c, unsigned status, struct json *j)
{
	char *buf;
	size_t len;

	if (j->failed) {
		json_free(j);
		return send_buf(h, c, 500, "application/json", strdup("{\"error\":\"out of memory\"}\n"), 25);
	}
	/* The writer's buffer becomes the response body (freed by MHD). */
	buf = j->buf;
	len = j->len;
	j->buf = NULL;
	json_free(j);
	return send_buf(h, c, status, "application/json", buf ? buf : strdup(""), buf ? len : 0);
}

void http_error_json(struct json *j, const char *msg)
{
	json_init(j);
	json_obj_begin(j);
	json_key(j, "error");
	json_str(j, msg);
	json_obj_end(j);
}

enum MHD_Result http_send_error(struct wf_http *h, struct MHD_Connection *c, unsigned status, const char *msg)
{
	struct json j;

	http_error_json(&j, msg);
	return http_send_json(h, c, status, &j);
}

/* ---- endpoints ---- */

void http_json_labels(struct json *j, const struct wf_labels *l)
{
	json_obj_begin(j);
	for (int i = 0; i < WF_LABEL__COUNT; i++) {
		if (!l->value[i][0])
			continue;
		json_key(j, discovery_label_name((enum wf_label)i));
		json_str(j, l->value[i]);
	}
	json_obj_end(j);
}

static enum MHD_Result do_status(struct wf_http *h, struct MHD_Connection *c)
{
	struct wf_store_status st;
	struct utsname un;
	struct json j;
	struct wf_target *targets = NULL;
	ssize_t n = catalog_targets(h->ctx.cat, &targets);
	size_t alive = 0, ring;
	int64_t ring_oldest;

	for (ssize_t i = 0; i < n; i++)
		alive += targets[i].alive;
	free(targets);
	store_status(h->ctx.store, &st);
	ring = history_ring_len(h->ctx.history, &ring_oldest);
	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "version");
	json_str(&j, WAKEFLOW_VERSION);
	json_key(&j, "kernel");
	json_str(&j, uname(&un) == 0 ? un.release : NULL);
	json_key(&j, "uptime_s");
	json_i64(&j, (wall_ms() - h->started_ms) / 1000);
	json_key(&j, "targets");
	json_u64(&j, alive);
	json_key(&j, "targets_known");
	json_i64(&j, n < 0 ? 0 : n);
	json_key(&j, "store");
	json_obj_begin(&j);
	json_key(&j, "path");
	json_str(&j, st.path);
	json_key(&j, "state");
	json_str(&j, store_state_name(st.state));
	json_key(&j, "error");
	json_str(&j, st.error[0] ? st.error : NULL);
	json_key(&j, "error_since_ms");
	if (st.error_since_ms)
		json_i64(&j, st.error_since_ms);
	else
		json_null(&j);
	json_key(&j, "size_bytes");
	json_u64(&j, st.size_bytes);
	json_key(&j, "oldest_ms");
	if (st.oldest_ms >= 0)
		json_i64(&j, st.oldest_ms);
	else
		json_null(&j);
	json_key(&j, "newest_ms");
	if (st.newest_ms >= 0)
		json_i64(&j, st.newest_ms);
	else
		json_null(&j);
	json_key(&j, "rolled_up_until_ms");
	json_i64(&j, st.rolled_until_ms);
	json_key(&j, "windows_written");
	json_u64(&j, st.windows_written);
	json_key(&j, "errors");
	json_u64(&j, st.errors);
	json_key(&j, "last_write_ms");
	json_f64(&j, st.last_write_ms);
	json_obj_end(&j);
	json_key(&j, "memory");
	json_obj_begin(&j);
	json_key(&j, "windows");
	json_u64(&j, ring);
	json_key(&j, "oldest_ms");
	if (ring_oldest >= 0)
		json_i64(&j, ring_oldest);
	else
		json_null(&j);
	json_key(&j, "edges");
	json_u64(&j, catalog_edge_count(h->ctx.cat));
	json_obj_end(&j);
	if (h->ctx.status)
		h->ctx.status(h->ctx.status_ctx, &j);
	json_obj_end(&j);
	return http_send_json(h, c, 200, &j);
}

static int cmp_targets(const void *a, const void *b)
{
	const struct wf_target *x = a, *y = b;

	if (x->alive != y->alive)
		return x->alive ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static enum MHD_Result do_targets(struct wf_http *h, struct MHD_Connection *c)
{
	struct wf_target *t = NULL;
	ssize_t n = catalog_targets(h->ctx.cat, &t);
	struct json j;

	if (n < 0)
		return http_send_error(h, c, 500, "out of memory");
	qsort(t, (size_t)n, sizeof(*t), cmp_targets);
	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "targets");
	json_arr_begin(&j);
	for (ssize_t i = 0; i < n; i++) {
		json_obj_begin(&j);
		json_key(&j, "pid");
		json_i64(&j, t[i].pid);
		json_key(&j, "comm");
		json_str(&j, t[i].comm);
		json_key(&j, "exe");
		json_str(&j, t[i].exe);
		json_key(&j, "labels");
		http_json_labels(&j, &t[i].labels);
		json_key(&j, "alive");
		json_bool(&j, t[i].alive);
		json_key(&j, "first_seen_ms");
		json_i64(&j, t[i].first_seen_ms);
		json_key(&j, "last_seen_ms");
		json_i64(&j, t[i].last_seen_ms);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	free(t);
	return http_send_json(h, c, 200, &j);
}

static void json_taxon(struct json *j, const struct wf_taxon *t)
{
	json_obj_begin(j);
	json_key(j, "id");
	json_str(j, t->id);
	json_key(j, "name");
	json_str(j, t->name);
	json_key(j, "group");
	json_str(j, t->group);
	json_key(j, "description");
	json_str(j, t->description);
	json_obj_end(j);
}

static enum MHD_Result do_categories(struct wf_http *h, struct MHD_Connection *c)
{
	struct json j;

	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "categories");
	json_arr_begin(&j);
	for (int i = 0; i < WF_CAT__COUNT; i++)
		if (wf_category(i))
			json_taxon(&j, wf_category(i));
	json_arr_end(&j);
	json_key(&j, "activities");
	json_arr_begin(&j);
	for (size_t i = 0; i < wf_activity_count(); i++)
		if (wf_activity(i))
			json_taxon(&j, wf_activity(i));
	json_arr_end(&j);
	json_key(&j, "roles");
	json_arr_begin(&j);
	for (int i = 0; i < WF_ROLE__COUNT; i++)
		json_str(&j, wf_role_id(i));
	json_arr_end(&j);
	json_obj_end(&j);
	return http_send_json(h, c, 200, &j);
}

static enum MHD_Result do_metrics(struct wf_http *h, struct MHD_Connection *c)
{
	struct wf_store_status st;
	size_t len;
	char *buf;

	store_status(h->ctx.store, &st);
	metrics_set(h->ctx.metrics, WF_M_STORE_OK, NULL, st.state == WF_STORE_OK);
	metrics_set(h->ctx.metrics, WF_M_STORE_BYTES, NULL, (double)st.size_bytes);
	buf = metrics_render(h->ctx.metrics, &len);
	if (!buf)
		return http_send_error(h, c, 500, "out of memory");
	return send_buf(h, c, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
}

/* ---- routing ---- */

/*
 * The request target as sent, captured before libmicrohttpd splits and
 * decodes it: the query parser wants the bytes as sent. MHD hands it over
 * as a C string in its read buffer, where it wrote a NUL over the space
 * before the HTTP version, so a raw NUL would silently cut it
 * ("/healthz\0junk" read as "/healthz"): the version must follow at once.
 * (The buffer may move later: it is only looked at here.)
 */
struct request {
	bool control;  /* holds a control byte, or was cut by a raw NUL */
	bool answer_next; /* the headers were seen: answer on the next call */
	char uri[];    /* a copy */
};

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
	size_t len = uri ? strlen(uri) : 0;
	struct request *rq = malloc(sizeof(*rq) + len + 1);

	(void)cls;
	(void)con;
	if (!rq)
		return NULL;
	rq->control = uri && strncmp(uri + len + 1, "HTTP/", 5) != 0;
	rq->answer_next = false;
	for (size_t i = 0; i < len; i++)
		rq->control |= (unsigned char)uri[i] < 0x20 || (unsigned char)uri[i] == 0x7f;
	memcpy(rq->uri, uri ? uri : "", len + 1);
	return rq;
}

static struct wf_conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	const struct wf_http_conn *hc = ci ? ci->socket_context : NULL;

	return hc ? hc->conn : NULL;
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct wf_http *h = cls;

	(void)toe;
	conn_request_ends(h->guard, conn_of(c));
	free(*req_cls);
	*req_cls = NULL;
}

/* Every connection is admitted, tracked and given its deadline by http_conn.c. */
static void connection_event(void *cls, struct MHD_Connection *c, void **socket_context,
			     enum MHD_ConnectionNotificationCode code)
{
	struct wf_http *h = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *peer = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		struct wf_http_conn *hc = malloc(sizeof(*hc));

		/* No context (out of memory): refused, as conn_guard_open's NULL is. */
		if (hc) {
			hc->h = h;
			hc->conn = fd ? conn_guard_open(h->guard, fd->connect_fd, peer ? peer->client_addr : NULL)
				      : NULL;
		}
		*socket_context = hc;
	} else {
		struct wf_http_conn *hc = *socket_context;

		if (hc)
			conn_guard_close(h->guard, hc->conn);
		free(hc);
		*socket_context = NULL;
	}
}

struct header_count {
	const char *name;
	int n;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_count *hc = cls;

	(void)kind;
	(void)value;
	if (key && !strcasecmp(key, hc->name))
		hc->n++;
	return MHD_YES;
}

static bool has_body(struct MHD_Connection *c)
{
	const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return (len && strcmp(len, "0")) ||
	       MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/* What is wrong with the request as HTTP, before any endpoint looks at it
 * (NULL: nothing). */
static const char *malformed(struct MHD_Connection *c, const struct request *rq, const char *version)
{
	struct header_count auth = { MHD_HTTP_HEADER_AUTHORIZATION, 0 };

	if (!rq)
		return "out of memory";
	if (rq->control)
		return "control character in the request target";
	if (version && !strcmp(version, MHD_HTTP_VERSION_1_1) &&
	    !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))
		return "HTTP/1.1 request without a Host header";
	MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &auth);
	if (auth.n > 1)
		return "more than one Authorization header";
	return NULL;
}

struct header_starts {
	const char *key[64];
	size_t n;
};

static enum MHD_Result note_key(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
				const char *value, size_t value_size)
{
	struct header_starts *hs = cls;

	(void)kind;
	(void)key_size;
	(void)value;
	(void)value_size;
	if (hs->n < sizeof(hs->key) / sizeof(hs->key[0]))
		hs->key[hs->n++] = key;
	return MHD_YES;
}

/*
 * Whether a header value MHD handed over ended at a raw NUL rather than at
 * its line's end: MHD reads values as C strings in its read buffer, so
 * "Bearer TOKEN\0junk" would arrive as "Bearer TOKEN". A value ends where
 * MHD wrote its terminator over the CR or LF (or trimmed whitespace); what
 * follows is then the line end, the blank line or the next header's name.
 * The header section always ends in a blank line, so value[len + 1] is
 * still inside it.
 */
static bool value_cut_at_nul(struct MHD_Connection *c, const char *value, size_t len)
{
	struct header_starts hs = { .n = 0 };
	char next = value[len + 1];

	if (next == '\0' || next == '\r' || next == '\n' || next == ' ' || next == '\t')
		return false;
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, note_key, &hs);
	for (size_t i = 0; i < hs.n; i++)
		if (hs.key[i] == value + len + 1)
			return false;
	return true;
}

static bool authorized(struct MHD_Connection *c, const char *token)
{
	const char *value = NULL;
	size_t len = 0;

	if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
					  strlen(MHD_HTTP_HEADER_AUTHORIZATION), &value, &len) != MHD_YES ||
	    value_cut_at_nul(c, value, len))
		return false;
	return http_token_ok(value, len, token);
}

/*
 * A series or edges query, at most WF_HTTP_MAX_QUERIES at once. What a query
 * allocates is handed back to the system once no query runs: glibc keeps
 * freed memory in its arenas otherwise (measured: 154 MiB held for good
 * after a burst of 50 clients; serve caps the arenas too, see cmd_serve.c).
 */
static enum MHD_Result run_query(struct wf_http *h, struct MHD_Connection *c, enum wf_endpoint ep,
				 const struct wf_query *q)
{
	struct timespec until;
	enum MHD_Result ret;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WF_HTTP_TIMEOUT_S;
	if (sem_timedwait(&h->queries, &until))
		return http_send_error(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many queries at once; retry later");
	__atomic_add_fetch(&h->running, 1, __ATOMIC_SEQ_CST);
	ret = ep == WF_EP_SERIES ? http_answer_series(h, c, q) : ep == WF_EP_CHAINS ? http_answer_chains(h, c, q) : http_answer_edges(h, c, q);
	if (__atomic_sub_fetch(&h->running, 1, __ATOMIC_SEQ_CST) == 0)
		malloc_trim(0);
	sem_post(&h->queries);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct wf_http *h = cls;
	struct request *rq = *req_cls;
	const char *uri = rq ? rq->uri : "";
	const char *qmark = strchr(uri, '?');
	const char *qs = qmark ? qmark + 1 : "";
	enum wf_endpoint ep = WF_EP_PLAIN;
	const char *bad;
	struct wf_query *q;
	char err[256];
	enum MHD_Result ret;
	int rc;

	(void)upload_data;
	conn_request_begins(h->guard, conn_of(c));
	if (rq && !rq->answer_next && !has_body(c)) {
		/* libmicrohttpd 0.9.75 takes an answer queued in this first call
		 * (headers only) as an early refusal: it reads nothing more and
		 * closes the connection after it (every answer went out with
		 * "Connection: close", so no client could keep a connection).
		 * Answered on the next call instead, which comes at once. A request
		 * with a body is answered now, and closed: nothing here takes one,
		 * and reading it would let a client hold the thread. */
		rq->answer_next = true;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* Nothing here takes a body: drop it and answer once it is read. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if ((bad = malformed(c, rq, version)))
		return http_send_error(h, c, MHD_HTTP_BAD_REQUEST, bad);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return http_send_error(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed (use GET)");
	if (!strcmp(url, "/healthz")) {
		if (*qs)
			return http_send_error(h, c, MHD_HTTP_BAD_REQUEST, "/healthz takes no parameters");
		return send_buf(h, c, 200, "text/plain; charset=utf-8", strdup("ok\n"), 3);
	}
	if (conn_class(conn_of(c)) != WF_CONN_NORMAL)
		return http_send_error(h, c, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "too many connections open (128, 64 per address): this one serves /healthz only; retry "
				  "later");
	if (h->ctx.token && !authorized(c, h->ctx.token))
		return http_send_error(h, c, MHD_HTTP_UNAUTHORIZED,
				  "missing or wrong bearer token (send Authorization: Bearer <token>)");

	if (!strcmp(url, "/api/v1/series"))
		ep = WF_EP_SERIES;
	else if (!strcmp(url, "/api/v1/edges"))
		ep = WF_EP_EDGES;
	else if (!strcmp(url, "/api/v1/chains"))
		ep = WF_EP_CHAINS;
	else if (strcmp(url, "/api/v1/status") && strcmp(url, "/api/v1/targets") && strcmp(url, "/api/v1/categories") &&
		 strcmp(url, "/metrics")) {
		snprintf(err, sizeof(err), "no such endpoint: %.200s", url);
		return http_send_error(h, c, MHD_HTTP_NOT_FOUND, err);
	}

	q = malloc(sizeof(*q));
	if (!q)
		return http_send_error(h, c, 500, "out of memory");
	rc = query_parse(ep, qs, strlen(qs), wall_ms(), q, err, sizeof(err));
	if (rc) {
		ret = http_send_error(h, c, (unsigned)rc, err);
	} else if (ep == WF_EP_SERIES || ep == WF_EP_EDGES || ep == WF_EP_CHAINS) {
		ret = run_query(h, c, ep, q);
	} else if (!strcmp(url, "/api/v1/status")) {
		ret = do_status(h, c);
	} else if (!strcmp(url, "/api/v1/targets")) {
		ret = do_targets(h, c);
	} else if (!strcmp(url, "/api/v1/categories")) {
		ret = do_categories(h, c);
	} else {
		ret = do_metrics(h, c);
	}
	free(q);
	return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct wf_http *h = cls;
	char buf[512], *html;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	/* The library quotes the HTML page it meant to send; the client got
	 * the JSON error instead (http_library_errors.c), so say that. */
	if ((html = strstr(buf, " ('<html>")))
		snprintf(html, sizeof(buf) - (size_t)(html - buf), ", answered with the JSON error). Closing connection.");
	/* ...and that answer declined the library's, which it reports next. */
	if (!strcmp(buf, "Closing connection (failed to queue response)."))
		return;
	if (h->guard)
		conn_guard_log(h->guard, buf);
	else
		wf_log(WF_LOG_WARN, "http: %s", buf);
}

struct wf_http *http_start(const struct sockaddr_storage *addr, socklen_t addrlen, const struct wf_http_ctx *ctx,
			   char *err, size_t errlen)
{
	struct wf_http *h = calloc(1, sizeof(*h));
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	(void)addrlen;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->ctx = *ctx;
	h->started_ms = wall_ms();
	sem_init(&h->queries, 0, WF_HTTP_MAX_QUERIES);
	h->guard = conn_guard_new(WF_HTTP_TIMEOUT_S * 1000L);
	if (!h->guard) {
		snprintf(err, errlen, "out of memory");
		sem_destroy(&h->queries);
		free(h);
		return NULL;
	}
	if (addr->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The logger first, so that libmicrohttpd's own complaints about the
	 * options that follow go to our log too. */
	/* The limits are http_conn.c's, counted on open connections; MHD's own
	 * is only a backstop above them (it counts connections still closing). */
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)addr,
				MHD_OPTION_URI_LOG_CALLBACK, uri_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, h,
				MHD_OPTION_NOTIFY_CONNECTION, connection_event, h, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned)(WF_HTTP_MAX_CONNECTIONS + WF_HTTP_HEALTH_RESERVE + 64),
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WF_HTTP_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_THREAD_STACK_SIZE,
				(size_t)(1024 * 1024), MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "failed to listen on the --listen address: %s (in use, or not an address of this host?)",
			 strerror(errno ? errno : EADDRINUSE));
		conn_guard_free(h->guard);
		sem_destroy(&h->queries);
		free(h);
		return NULL;
	}
	return h;
}

void http_stop(struct wf_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	conn_guard_free(h->guard);
	sem_destroy(&h->queries);
	free(h);
}
