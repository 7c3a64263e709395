// SPDX-License-Identifier: Apache-2.0
#include "http_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "logging.h"

struct wf_conn {
	struct wf_conn *prev, *next;
	int fd;
	unsigned char addr[16]; /* IPv4 mapped into IPv6 form */
	enum wf_conn_class cls;
	bool in_request;
	bool shut;
	bool gone; /* its fd was seen again: closed, but not yet reported closed */
	int64_t deadline_ms;
};

/* What the minute's summary reports. */
struct tally {
	uint64_t refused, health_only, timed_out, repeats;
	char refused_addr[INET6_ADDRSTRLEN]; /* the last address refused */
	char message[200];		     /* the message that repeated */
};

struct wf_conn_guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stopping;
	long next_deadline_ms;
	struct wf_conn *head;
	struct tally t;
	int64_t last_summary_ms;
};

static void peer_key(const struct sockaddr *sa, unsigned char out[16])
{
	memset(out, 0, 16);
	if (sa && sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else if (sa && sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	}
}

static void peer_name(const unsigned char key[16], char *buf, size_t len)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (!memcmp(key, mapped, 12))
		inet_ntop(AF_INET, key + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, key, buf, (socklen_t)len);
}

static void write_summary(struct wf_conn_guard *g, int64_t now)
{
	struct tally t = g->t;

	memset(&g->t, 0, sizeof(g->t));
	g->last_summary_ms = now;
	if (t.refused || t.health_only || t.timed_out)
		wf_log(WF_LOG_WARN,
		       "http: in the last %llds: %llu connections refused over the limits (last from %s), %llu "
		       "served /healthz only, %llu closed without a whole request within the deadline",
		       (long long)(WF_HTTP_SUMMARY_INTERVAL_MS / 1000), (unsigned long long)t.refused,
		       t.refused ? t.refused_addr : "-", (unsigned long long)t.health_only,
		       (unsigned long long)t.timed_out);
	if (t.repeats)
		wf_log(WF_LOG_WARN, "http: %s (%llu more times in the last %llds)", t.message,
		       (unsigned long long)t.repeats, (long long)(WF_HTTP_SUMMARY_INTERVAL_MS / 1000));
}

/* Closes connections past their deadline; the minute's summary. */
static void *watch(void *arg)
{
	struct wf_conn_guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		struct timespec until;
		int64_t now = wall_ms();

		for (struct wf_conn *c = g->head; c; c = c->next) {
			if (c->in_request || c->shut || c->gone || now < c->deadline_ms)
				continue;
			/* The connection's thread sees the end of input and closes
			 * it; the fd stays ours to shut until conn_guard_close. */
			shutdown(c->fd, SHUT_RDWR);
			c->shut = true;
			g->t.timed_out++;
		}
		if (now - g->last_summary_ms >= WF_HTTP_SUMMARY_INTERVAL_MS)
			write_summary(g, now);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct wf_conn_guard *conn_guard_new(long next_deadline_ms)
{
	struct wf_conn_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	g->next_deadline_ms = next_deadline_ms;
	g->last_summary_ms = wall_ms();
	if (pthread_create(&g->thread, NULL, watch, g)) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return NULL;
	}
	return g;
}

void conn_guard_free(struct wf_conn_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	write_summary(g, wall_ms());
	while (g->head) {
		struct wf_conn *c = g->head;

		g->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* Whether the client has gone: libmicrohttpd reports a closed connection
 * only once its thread gets round to it, and a client that reconnects at
 * once (wrk between runs) would find its own old connections counted. */
static bool peer_closed(int fd)
{
	char b;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

struct counts {
	int normal, from_peer, reserve;
};

static void count(struct wf_conn_guard *g, const struct wf_conn *c, bool probe, struct counts *n)
{
	memset(n, 0, sizeof(*n));
	for (struct wf_conn *o = g->head; o; o = o->next) {
		/* A new connection on an fd is proof the old one on it is closed,
		 * whenever libmicrohttpd gets round to saying so: it no longer
		 * counts, and its fd is no longer its to shut. */
		if (o->fd == c->fd || (probe && !o->gone && !o->shut && peer_closed(o->fd)))
			o->gone = true;
		/* Shut ones are closing: they serve nobody any more. */
		if (o->gone || o->shut)
			continue;
		if (o->cls == WF_CONN_NORMAL) {
			n->normal++;
			n->from_peer += !memcmp(o->addr, c->addr, sizeof(c->addr));
		} else if (o->cls == WF_CONN_HEALTH_ONLY) {
			n->reserve++;
		}
	}
}

static bool normal_fits(const struct counts *n)
{
	return n->normal < WF_HTTP_MAX_CONNECTIONS && n->from_peer < WF_HTTP_MAX_PER_ADDRESS;
}

struct wf_conn *conn_guard_open(struct wf_conn_guard *g, int fd, const struct sockaddr *peer)
{
	struct wf_conn *c = calloc(1, sizeof(*c));
	struct counts n;

	if (!c)
		return NULL;
	c->fd = fd;
	peer_key(peer, c->addr);
	pthread_mutex_lock(&g->lock);
	count(g, c, false, &n);
	/* Over a limit: count again without the connections whose clients
	 * have already gone (only then, it costs a system call each). */
	if (!normal_fits(&n))
		count(g, c, true, &n);
	if (normal_fits(&n)) {
		c->cls = WF_CONN_NORMAL;
		c->deadline_ms = wall_ms() + WF_HTTP_HEADER_DEADLINE_MS;
	} else if (n.reserve < WF_HTTP_HEALTH_RESERVE) {
		/* Whoever holds the normal slots (even from the probe's own
		 * address) cannot hold these long: they serve /healthz and must
		 * send it at once. */
		c->cls = WF_CONN_HEALTH_ONLY;
		c->deadline_ms = wall_ms() + WF_HTTP_RESERVE_DEADLINE_MS;
		g->t.health_only++;
	} else {
		c->cls = WF_CONN_REFUSED;
		c->shut = true;
		shutdown(fd, SHUT_RDWR);
		g->t.refused++;
		peer_name(c->addr, g->t.refused_addr, sizeof(g->t.refused_addr));
	}
	c->next = g->head;
	if (g->head)
		g->head->prev = c;
	g->head = c;
	pthread_mutex_unlock(&g->lock);
	return c;
}

void conn_guard_close(struct wf_conn_guard *g, struct wf_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&g->lock);
	free(c);
}

enum wf_conn_class conn_class(const struct wf_conn *c)
{
	return c ? c->cls : WF_CONN_REFUSED;
}

void conn_request_begins(struct wf_conn_guard *g, struct wf_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->in_request = true;
	pthread_mutex_unlock(&g->lock);
}

void conn_request_ends(struct wf_conn_guard *g, struct wf_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->in_request = false;
	c->deadline_ms = wall_ms() + g->next_deadline_ms;
	pthread_mutex_unlock(&g->lock);
}

void conn_guard_log(struct wf_conn_guard *g, const char *msg)
{
	bool first;

	pthread_mutex_lock(&g->lock);
	first = strcmp(g->t.message, msg) != 0;
	if (first) {
		/* A new message: say it now; its repeats go into the summary. */
		snprintf(g->t.message, sizeof(g->t.message), "%s", msg);
		g->t.repeats = 0;
	} else {
		g->t.repeats++;
	}
	pthread_mutex_unlock(&g->lock);
	if (first)
		wf_log(WF_LOG_WARN, "http: %s", msg);
}
