// SPDX-License-Identifier: Apache-2.0
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taxonomy.h"

/* A ceiling on label sets, against a flood of short-lived targets. */
#define MAX_SERIES 50000

static const struct {
	const char *name;
	const char *type;
	const char *help;
} families[WF_M__COUNT] = {
	[WF_M_WAKEUPS] = { "wakeflow_wakeups_total", "counter",
			   "Off-CPU intervals of target threads that ended, by wake category and activity." },
	[WF_M_OFFCPU] = { "wakeflow_offcpu_seconds_total", "counter",
			  "Time target threads spent off CPU (blocked or preempted), by wake category and activity." },
	[WF_M_RUNQ] = { "wakeflow_runq_seconds_total", "counter",
			"Time target threads waited for a CPU after their wakeup, by wake category and activity." },
	[WF_M_ONCPU] = { "wakeflow_oncpu_seconds_total", "counter", "Time target threads ran on a CPU." },
	[WF_M_PREEMPTED] = { "wakeflow_preempted_seconds_total", "counter",
			     "Time target threads were runnable but off CPU after being preempted." },
	[WF_M_SWITCHES] = { "wakeflow_switches_total", "counter", "Times target threads were switched out." },
	[WF_M_INVOLUNTARY] = { "wakeflow_involuntary_switches_total", "counter",
			       "Times target threads were switched out while still runnable (preempted)." },
	[WF_M_THROTTLED] = { "wakeflow_throttled_seconds_total", "counter",
			     "Time the target's cgroup was throttled by its CPU limit (cpu.stat throttled_usec)." },
	[WF_M_THROTTLED_PERIODS] = { "wakeflow_throttled_periods_total", "counter",
				     "CFS periods in which the target's cgroup ran out of CPU quota (nr_throttled)." },
	[WF_M_LOST] = { "wakeflow_agent_lost_events_total", "counter",
			"Events the capture could not record in full, by reason." },
	[WF_M_SYMBOLIZE_FAILURES] = { "wakeflow_agent_symbolization_failures_total", "counter",
				      "Stack frames that could not be named (shown as module+offset)." },
	[WF_M_STORE_ERRORS] = { "wakeflow_agent_store_errors_total", "counter",
				"Failed reads and writes of the history store." },
	[WF_M_STORE_OK] = { "wakeflow_agent_store_ok", "gauge",
			    "1 while the history store is written, 0 while it fails (see /api/v1/status)." },
	[WF_M_STORE_BYTES] = { "wakeflow_agent_store_bytes", "gauge", "Size of the store (database and WAL)." },
	[WF_M_DRAIN_SECONDS] = { "wakeflow_agent_window_drain_seconds", "gauge",
				 "Time the last window took to drain, classify and aggregate." },
	[WF_M_STORE_WRITE_SECONDS] = { "wakeflow_agent_store_write_seconds", "gauge",
				       "Time the last window took to write to the store." },
	[WF_M_WINDOWS] = { "wakeflow_agent_windows_total", "counter", "Windows completed." },
	[WF_M_TARGETS] = { "wakeflow_agent_targets", "gauge", "Processes traced now." },
	[WF_M_EVENTS] = { "wakeflow_agent_events_total", "counter", "Off-CPU intervals the capture saw." },
	[WF_M_HTTP_REQUESTS] = { "wakeflow_agent_http_requests_total", "counter", "HTTP requests answered, by code." },
};

struct series {
	enum wf_metric_family f;
	char *labels; /* rendered: {a="b",c="d"} or "" */
	int32_t pid;  /* from the pid label, for metrics_forget_pid; 0 if none */
	double value;
};

struct wf_metrics {
	pthread_mutex_t lock;
	struct series *s;
	size_t n, cap;
	uint32_t *index; /* open addressing: series index + 1 */
	size_t icap;
	bool overflow_logged;
};

struct wf_metrics *metrics_new(void)
{
	struct wf_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_free(struct wf_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->s[i].labels);
	free(m->s);
	free(m->index);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static uint64_t hash_key(enum wf_metric_family f, const char *labels)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)f;

	for (; *labels; labels++) {
		h ^= (unsigned char)*labels;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static int reindex(struct wf_metrics *m, size_t want)
{
	size_t cap = 1024;
	uint32_t *ix;

	while (cap < want * 2)
		cap *= 2;
	ix = calloc(cap, sizeof(*ix));
	if (!ix)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		size_t j = hash_key(m->s[i].f, m->s[i].labels) & (cap - 1);

		while (ix[j])
			j = (j + 1) & (cap - 1);
		ix[j] = (uint32_t)i + 1;
	}
	free(m->index);
	m->index = ix;
	m->icap = cap;
	return 0;
}

/* Label values escaped as the exposition format asks: \\, \" and \n. */
static size_t render_labels(char *buf, size_t len, const char *const *labels, int32_t *pid)
{
	size_t used = 0;

	*pid = 0;
	buf[0] = '\0';
	if (!labels || !labels[0])
		return 0;
	for (int i = 0; labels[i] && labels[i + 1]; i += 2) {
		const char *v = labels[i + 1];

		if (!strcmp(labels[i], "pid"))
			*pid = atoi(v);
		if (used + strlen(labels[i]) + 4 >= len)
			break;
		used += (size_t)snprintf(buf + used, len - used, "%c%s=\"", used ? ',' : '{', labels[i]);
		for (; *v && used + 3 < len; v++) {
			if (*v == '\\' || *v == '"') {
				buf[used++] = '\\';
				buf[used++] = *v;
			} else if (*v == '\n') {
				buf[used++] = '\\';
				buf[used++] = 'n';
			} else {
				buf[used++] = *v;
			}
		}
		if (used + 2 < len)
			buf[used++] = '"';
		buf[used] = '\0';
	}
	if (used && used + 2 < len) {
		buf[used++] = '}';
		buf[used] = '\0';
	}
	return used;
}

/* Caller holds the lock. NULL when out of memory or past MAX_SERIES. */
static struct series *find(struct wf_metrics *m, enum wf_metric_family f, const char *const *labels)
{
	char buf[4096];
	int32_t pid;
	size_t j;

	render_labels(buf, sizeof(buf), labels, &pid);
	if (m->icap) {
		for (j = hash_key(f, buf) & (m->icap - 1); m->index[j]; j = (j + 1) & (m->icap - 1)) {
			struct series *s = &m->s[m->index[j] - 1];

			if (s->f == f && !strcmp(s->labels, buf))
				return s;
		}
	}
	if (m->n >= MAX_SERIES)
		return NULL;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct series *p = realloc(m->s, cap * sizeof(*p));

		if (!p)
			return NULL;
		m->s = p;
		m->cap = cap;
	}
	m->s[m->n] = (struct series){ .f = f, .labels = strdup(buf), .pid = pid };
	if (!m->s[m->n].labels)
		return NULL;
	m->n++;
	if (m->n * 2 > m->icap) {
		if (reindex(m, m->n)) {
			m->n--;
			free(m->s[m->n].labels);
			return NULL;
		}
	} else {
		for (j = hash_key(f, buf) & (m->icap - 1); m->index[j]; j = (j + 1) & (m->icap - 1))
			;
		m->index[j] = (uint32_t)m->n;
	}
	return &m->s[m->n - 1];
}

void metrics_add(struct wf_metrics *m, enum wf_metric_family f, const char *const *labels, double v)
{
	struct series *s;

	pthread_mutex_lock(&m->lock);
	s = find(m, f, labels);
	if (s)
		s->value += v;
	pthread_mutex_unlock(&m->lock);
}

void metrics_set(struct wf_metrics *m, enum wf_metric_family f, const char *const *labels, double v)
{
	struct series *s;

	pthread_mutex_lock(&m->lock);
	s = find(m, f, labels);
	if (s)
		s->value = v;
	pthread_mutex_unlock(&m->lock);
}

/* The target's labels as pairs into out (from index *n); the strings must
 * outlive the call they are used in. */
static void target_labels(const struct wf_target *t, const char **out, int *n, char *pidbuf, size_t pidlen)
{
	static const enum wf_label shown[] = { WF_LABEL_NAMESPACE, WF_LABEL_WORKLOAD, WF_LABEL_POD,
					       WF_LABEL_CONTAINER_ID };

	snprintf(pidbuf, pidlen, "%d", t->pid);
	out[(*n)++] = "comm";
	out[(*n)++] = t->comm;
	out[(*n)++] = "pid";
	out[(*n)++] = pidbuf;
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		if (!t->labels.value[shown[i]][0])
			continue;
		out[(*n)++] = discovery_label_name(shown[i]);
		out[(*n)++] = t->labels.value[shown[i]];
	}
}

void metrics_add_window(struct wf_metrics *m, const struct wf_wtarget *w, const struct wf_target *t,
			struct wf_catalog *cat)
{
	const char *labels[32];
	char pid[16], activity[256];
	int n, base;

	n = 0;
	target_labels(t, labels, &n, pid, sizeof(pid));
	base = n;
	for (size_t i = 0; i < w->ncats; i++) {
		const struct wf_wcat *c = &w->cats[i];
		const struct wf_taxon *tx = wf_category(c->category);
		const char *role = wf_role_id(c->role);

		n = base;
		labels[n++] = "category";
		labels[n++] = tx ? tx->id : "other";
		labels[n++] = "activity";
		labels[n++] = c->activity ? catalog_name(cat, c->activity, activity, sizeof(activity)) : "none";
		labels[n++] = "role";
		labels[n++] = role ? role : "other";
		labels[n] = NULL;
		metrics_add(m, WF_M_WAKEUPS, labels, (double)c->count);
		metrics_add(m, WF_M_OFFCPU, labels, (double)c->offcpu_us / 1e6);
		metrics_add(m, WF_M_RUNQ, labels, (double)c->runq_us / 1e6);
	}
	for (size_t i = 0; i < w->nthreads; i++) {
		const struct wf_wthread *th = &w->threads[i];
		const char *role = wf_role_id(th->role);

		n = base;
		labels[n++] = "role";
		labels[n++] = role ? role : "other";
		labels[n] = NULL;
		metrics_add(m, WF_M_ONCPU, labels, (double)th->oncpu_us / 1e6);
		metrics_add(m, WF_M_PREEMPTED, labels, (double)th->preempted_us / 1e6);
		metrics_add(m, WF_M_SWITCHES, labels, (double)th->switches);
		metrics_add(m, WF_M_INVOLUNTARY, labels, (double)th->involuntary);
	}
	labels[base] = NULL;
	metrics_add(m, WF_M_THROTTLED, labels, (double)w->throttled_us / 1e6);
	metrics_add(m, WF_M_THROTTLED_PERIODS, labels, (double)w->nr_throttled);
}

void metrics_forget_pid(struct wf_metrics *m, int32_t pid)
{
	size_t n = 0;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n; i++) {
		if (m->s[i].pid == pid) {
			free(m->s[i].labels);
			continue;
		}
		m->s[n++] = m->s[i];
	}
	if (n != m->n) {
		m->n = n;
		reindex(m, n);
	}
	pthread_mutex_unlock(&m->lock);
}

static int cmp_series(const void *a, const void *b)
{
	const struct series *x = *(const struct series *const *)a, *y = *(const struct series *const *)b;

	if (x->f != y->f)
		return x->f < y->f ? -1 : 1;
	return strcmp(x->labels, y->labels);
}

struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap * 2 + (size_t)n;
		char *p = realloc(o->buf, cap);

		if (!p) {
			o->failed = true;
			return;
		}
		o->buf = p;
		o->cap = cap;
	}
}

char *metrics_render(struct wf_metrics *m, size_t *len)
{
	struct out o = { .cap = 65536 };
	const struct series **order;
	int last = -1;

	o.buf = malloc(o.cap);
	if (!o.buf)
		return NULL;
	o.buf[0] = '\0';
	pthread_mutex_lock(&m->lock);
	order = malloc((m->n + 1) * sizeof(*order));
	if (!order) {
		pthread_mutex_unlock(&m->lock);
		free(o.buf);
		return NULL;
	}
	for (size_t i = 0; i < m->n; i++)
		order[i] = &m->s[i];
	qsort(order, m->n, sizeof(*order), cmp_series);
	for (size_t i = 0; i < m->n; i++) {
		const struct series *s = order[i];

		if ((int)s->f != last) {
			outf(&o, "# HELP %s %s\n# TYPE %s %s\n", families[s->f].name, families[s->f].help,
			     families[s->f].name, families[s->f].type);
			last = (int)s->f;
		}
		outf(&o, "%s%s %.17g\n", families[s->f].name, s->labels, s->value);
	}
	pthread_mutex_unlock(&m->lock);
	free(order);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}
