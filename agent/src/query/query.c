// SPDX-License-Identifier: Apache-2.0
#include "query.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "taxonomy.h"

static const char *const by_names[] = { "category", "activity", "target", "role", "pod", "workload", "thread" };
static const char *const metric_names[] = { "offcpu",	 "wakeups",   "runq",	  "preempt_ratio", "preempt_count_ratio",
					    "throttled", "oncpu",     "preempted", "switches",	    "involuntary" };
static const char *const sort_names[] = { "offcpu", "count", "runq" };
static const char *const fields_names[] = { "all", "numbers", "paths" };
static const char *const filter_names[] = { "namespace", "workload", "pod",	 "pid",	    "comm",
					    "thread",	 "role",     "category", "activity" };

const char *query_by_name(enum wf_by by)
{
	return (unsigned)by < sizeof(by_names) / sizeof(by_names[0]) ? by_names[by] : "?";
}

const char *query_metric_name(enum wf_metric m)
{
	return (unsigned)m < sizeof(metric_names) / sizeof(metric_names[0]) ? metric_names[m] : "?";
}

bool query_metric_per_thread(enum wf_metric m)
{
	return m == WF_METRIC_PREEMPT_RATIO || m == WF_METRIC_PREEMPT_COUNT_RATIO || m == WF_METRIC_ONCPU ||
	       m == WF_METRIC_PREEMPTED || m == WF_METRIC_SWITCHES || m == WF_METRIC_INVOLUNTARY;
}

const char *query_filter_name(enum wf_filter_field f)
{
	return (unsigned)f < WF_F__COUNT ? filter_names[f] : "?";
}

static int fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return status;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes application/x-www-form-urlencoded bytes into the arena; NULL if
 * a %-escape is malformed or decodes to NUL (err says which). */
static const char *decode(struct wf_query *q, const char *s, size_t len, const char *what, char *err, size_t errlen)
{
	char *out = q->arena + q->arena_used;
	size_t n = 0;

	/* Decoding never grows a string, and the whole query string is bounded
	 * by WF_QUERY_MAX_LEN, so the arena always has room. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi = i + 2 < len ? hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < len ? hexval((unsigned char)s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				fail(err, errlen, 400, "malformed %%-escape in %s", what);
				return NULL;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == 0 || c < 0x20 || c == 0x7f) {
			fail(err, errlen, 400, "control character in %s", what);
			return NULL;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	q->arena_used += n + 1;
	return out;
}

/* Strict non-negative decimal integer: no sign, no spaces, no overflow. */
static bool parse_i64(const char *s, int64_t max, int64_t *out)
{
	int64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (max - (*s - '0')) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return true;
}

static int lookup(const char *const *names, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], v))
			return (int)i;
	return -1;
}

/* "a, b, c" for error messages. */
static void join(char *buf, size_t len, const char *const *names, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
}

void query_copy(struct wf_query *dst, const struct wf_query *src)
{
	*dst = *src;
	for (int f = 0; f < WF_F__COUNT; f++)
		for (int i = 0; i < dst->filter.n[f]; i++)
			dst->filter.values[f][i] = dst->arena + (src->filter.values[f][i] - src->arena);
}

bool query_category_matches(const char *prefix, const char *category_id)
{
	size_t n = strlen(prefix);

	return !strncmp(prefix, category_id, n) && (category_id[n] == '\0' || category_id[n] == '.');
}

static bool category_prefix_known(const char *v)
{
	for (int i = 0; i < WF_CAT__COUNT; i++) {
		const struct wf_taxon *t = wf_category(i);

		if (t && query_category_matches(v, t->id))
			return true;
	}
	return false;
}

enum param_kind { P_FROM, P_TO, P_STEP, P_BY, P_METRIC, P_LIMIT, P_SORT, P_DEPTH, P_FIELDS, P_FILTER, P__COUNT };

struct param {
	const char *name;
	enum param_kind kind;
	int field; /* for P_FILTER */
};

static const struct param series_params[] = {
	{ "from", P_FROM, 0 },	   { "to", P_TO, 0 },	  { "step", P_STEP, 0 },
	{ "by", P_BY, 0 },	   { "metric", P_METRIC, 0 },
};
static const struct param edges_params[] = {
	{ "from", P_FROM, 0 },
	{ "to", P_TO, 0 },
	{ "limit", P_LIMIT, 0 },
	{ "sort", P_SORT, 0 },
	{ "fields", P_FIELDS, 0 },
};
static const struct param chains_params[] = {
	{ "from", P_FROM, 0 }, { "to", P_TO, 0 }, { "limit", P_LIMIT, 0 }, { "sort", P_SORT, 0 }, { "depth", P_DEPTH, 0 },
};

static const struct param *find_param(enum wf_endpoint ep, const char *name, struct param *filter_slot)
{
	const struct param *list = NULL;
	size_t n = 0;

	if (ep == WF_EP_SERIES) {
		list = series_params;
		n = sizeof(series_params) / sizeof(series_params[0]);
	} else if (ep == WF_EP_EDGES) {
		list = edges_params;
		n = sizeof(edges_params) / sizeof(edges_params[0]);
	} else if (ep == WF_EP_CHAINS) {
		list = chains_params;
		n = sizeof(chains_params) / sizeof(chains_params[0]);
	} else {
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i].name, name))
			return &list[i];
	for (int f = 0; f < WF_F__COUNT; f++) {
		if (!strcmp(filter_names[f], name)) {
			filter_slot->name = filter_names[f];
			filter_slot->kind = P_FILTER;
			filter_slot->field = f;
			return filter_slot;
		}
	}
	return NULL;
}

static int set_filter(struct wf_query *q, int field, const char *v, char *err, size_t errlen)
{
	struct wf_filter *f = &q->filter;
	int i = f->n[field];

	if (i >= WF_FILTER_MAX_VALUES)
		return fail(err, errlen, 400, "too many values for %s (at most %d)", filter_names[field],
			    WF_FILTER_MAX_VALUES);
	if (!*v)
		return fail(err, errlen, 400, "empty value for %s", filter_names[field]);
	switch (field) {
	case WF_F_PID: {
		int64_t pid;

		if (!parse_i64(v, INT32_MAX, &pid) || pid == 0)
			return fail(err, errlen, 400, "pid must be a positive integer");
		f->pids[i] = (int32_t)pid;
		break;
	}
	case WF_F_ROLE: {
		int role = wf_role_from_id(v);

		if (role < 0)
			return fail(err, errlen, 400, "unknown role '%.64s' (worker, main, watchdog, access_log, other)",
				    v);
		f->roles[i] = role;
		break;
	}
	case WF_F_CATEGORY:
		if (!category_prefix_known(v))
			return fail(err, errlen, 400, "unknown category '%.64s' (see /api/v1/categories)", v);
		break;
	default:
		break;
	}
	f->values[field][i] = v;
	f->n[field] = i + 1;
	return 0;
}

/* Which splits and filters make sense for a metric: time-based metrics of a
 * target's threads cannot be split by the wake category, and throttling is a
 * property of the whole cgroup. */
static int check_metric(const struct wf_query *q, char *err, size_t errlen)
{
	const struct wf_filter *f = &q->filter;
	bool per_thread = query_metric_per_thread(q->metric);
	bool per_cgroup = q->metric == WF_METRIC_THROTTLED;
	const char *m = metric_names[q->metric];

	if (per_thread || per_cgroup) {
		if (q->by == WF_BY_CATEGORY || q->by == WF_BY_ACTIVITY)
			return fail(err, errlen, 400,
				    "metric %s cannot be split by %s (use by=target, by=pod, by=workload%s)", m,
				    by_names[q->by], per_cgroup ? "" : ", by=role or by=thread");
		if (f->n[WF_F_CATEGORY] || f->n[WF_F_ACTIVITY])
			return fail(err, errlen, 400, "metric %s cannot be filtered by category or activity", m);
	}
	if (per_cgroup) {
		if (q->by == WF_BY_ROLE || q->by == WF_BY_THREAD)
			return fail(err, errlen, 400, "metric throttled is per cgroup: it cannot be split by %s",
				    by_names[q->by]);
		if (f->n[WF_F_THREAD] || f->n[WF_F_ROLE])
			return fail(err, errlen, 400, "metric throttled is per cgroup: it cannot be filtered by thread or role");
	}
	return 0;
}

/* One of a fixed list of names (by, metric, sort, fields): its index, or 400 naming the choices. */
static int set_choice(const char *const *list, size_t n, const char *what, const char *value, int *out, char *err,
		      size_t errlen)
{
	char names[192];
	int rc = lookup(list, n, value);

	if (rc < 0) {
		join(names, sizeof(names), list, n);
		return fail(err, errlen, 400, "unknown %s '%.32s' (%s)", what, value, names);
	}
	*out = rc;
	return 0;
}

#define CHOICE(list, what, value, out, err, errlen) \
	set_choice(list, sizeof(list) / sizeof(list[0]), what, value, out, err, errlen)

/* Sets what one parameter says; 0 or the HTTP status with err written. */
static int set_param(struct wf_query *q, const struct param *p, const char *value, char *err, size_t errlen)
{
	int64_t v;
	int rc = 0, choice;

	switch (p->kind) {
	case P_FROM:
	case P_TO:
		if (!parse_i64(value, WF_QUERY_MAX_TIME_MS, &v))
			return fail(err, errlen, 400, "%s must be milliseconds since the epoch (0 to %lld), got '%.32s'",
				    p->name, (long long)WF_QUERY_MAX_TIME_MS, value);
		*(p->kind == P_FROM ? &q->from_ms : &q->to_ms) = v;
		break;
	case P_STEP:
		if (!parse_i64(value, INT64_MAX / 4, &q->step_ms))
			return fail(err, errlen, 400, "step must be a positive number of milliseconds, got '%.32s'", value);
		if (q->step_ms == 0)
			return fail(err, errlen, 400, "step must be positive");
		if (q->step_ms > WF_QUERY_MAX_RANGE_MS)
			return fail(err, errlen, 400, "step longer than %lld ms (31 days)", (long long)WF_QUERY_MAX_RANGE_MS);
		break;
	case P_BY:
		if (!(rc = CHOICE(by_names, "by", value, &choice, err, errlen)))
			q->by = (enum wf_by)choice;
		break;
	case P_METRIC:
		if (!(rc = CHOICE(metric_names, "metric", value, &choice, err, errlen)))
			q->metric = (enum wf_metric)choice;
		break;
	case P_SORT:
		if (!(rc = CHOICE(sort_names, "sort", value, &choice, err, errlen)))
			q->sort = (enum wf_sort)choice;
		break;
	case P_FIELDS:
		if (!(rc = CHOICE(fields_names, "fields", value, &choice, err, errlen)))
			q->fields = (enum wf_edge_fields)choice;
		break;
	case P_LIMIT:
		if (value[0] == '-')
			return fail(err, errlen, 400, "limit must not be negative");
		if (!parse_i64(value, INT64_MAX, &v) || v == 0)
			return fail(err, errlen, 400, "limit must be a positive integer, got '%.32s'", value);
		q->limit = v > WF_QUERY_MAX_LIMIT ? WF_QUERY_MAX_LIMIT : (int)v;
		break;
	case P_DEPTH:
		if (!parse_i64(value, INT64_MAX, &v) || v < 1 || v > WF_QUERY_MAX_DEPTH)
			return fail(err, errlen, 400, "depth must be a number of links from 1 to %d, got '%.32s'",
				    WF_QUERY_MAX_DEPTH, value);
		q->depth = (int)v;
		break;
	case P_FILTER:
		rc = set_filter(q, p->field, value, err, errlen);
		break;
	case P__COUNT:
		break;
	}
	return rc;
}

/* One "name=value" part (percent-decoded into q's buffer); 0 or the HTTP status. */
static int parse_pair(enum wf_endpoint ep, const char *part, size_t plen, struct wf_query *q, bool seen[P__COUNT], char *err,
		      size_t errlen)
{
	const char *eq = memchr(part, '=', plen);
	size_t nlen = eq ? (size_t)(eq - part) : plen;
	const char *name, *value;
	const struct param *p;
	struct param slot;

	name = decode(q, part, nlen, "a parameter name", err, errlen);
	if (!name)
		return 400;
	if (!eq)
		return fail(err, errlen, 400, "parameter '%.64s' has no value", name);
	value = decode(q, eq + 1, plen - nlen - 1, name, err, errlen);
	if (!value)
		return 400;
	if (strlen(value) >= WF_QUERY_MAX_VALUE)
		return fail(err, errlen, 400, "value of %.64s longer than %d bytes", name, WF_QUERY_MAX_VALUE - 1);

	p = find_param(ep, name, &slot);
	if (!p) {
		if (ep == WF_EP_PLAIN)
			return fail(err, errlen, 400, "unknown parameter '%.64s' (this endpoint takes none)", name);
		return fail(err, errlen, 400, "unknown parameter '%.64s'", name);
	}
	if (p->kind != P_FILTER) {
		if (seen[p->kind])
			return fail(err, errlen, 400, "parameter %s given twice", p->name);
		seen[p->kind] = true;
	}
	return set_param(q, p, value, err, errlen);
}

/* Defaults for a missing from/to (the last hour up to now), then the range's checks and cap. */
static int settle_range(enum wf_endpoint ep, int64_t now_ms, struct wf_query *q, char *err, size_t errlen)
{
	if (q->to_ms < 0)
		q->to_ms = now_ms;
	if (q->from_ms < 0)
		q->from_ms = q->to_ms > WF_QUERY_DEFAULT_RANGE_MS ? q->to_ms - WF_QUERY_DEFAULT_RANGE_MS : 0;
	if (q->from_ms >= q->to_ms)
		return fail(err, errlen, 400, "from (%lld) must be before to (%lld)", (long long)q->from_ms,
			    (long long)q->to_ms);
	if (q->to_ms - q->from_ms > WF_QUERY_MAX_RANGE_MS) {
		q->from_ms = q->to_ms - WF_QUERY_MAX_RANGE_MS;
		q->range_capped = true;
	}
	if (ep == WF_EP_SERIES)
		return check_metric(q, err, errlen);
	return 0;
}

int query_parse(enum wf_endpoint ep, const char *qs, size_t len, int64_t now_ms, struct wf_query *q, char *err,
		size_t errlen)
{
	bool seen[P__COUNT] = { false };
	int rc;

	memset(q, 0, sizeof(*q));
	q->by = WF_BY_CATEGORY;
	q->metric = WF_METRIC_OFFCPU;
	q->sort = WF_SORT_OFFCPU;
	q->limit = WF_QUERY_DEFAULT_LIMIT;
	q->depth = WF_QUERY_DEFAULT_DEPTH;
	q->from_ms = q->to_ms = -1;
	if (err && errlen)
		err[0] = '\0';

	if (len > WF_QUERY_MAX_LEN)
		return fail(err, errlen, 414, "query string longer than %d bytes", WF_QUERY_MAX_LEN);

	for (size_t pos = 0; pos < len;) {
		const char *part = qs + pos;
		const char *amp = memchr(part, '&', len - pos);
		size_t plen = amp ? (size_t)(amp - part) : len - pos;

		pos += plen + 1;
		if (plen == 0)
			continue; /* "a=1&&b=2" and a trailing '&' are harmless */
		if ((rc = parse_pair(ep, part, plen, q, seen, err, errlen)))
			return rc;
	}
	if (ep == WF_EP_PLAIN)
		return 0;
	return settle_range(ep, now_ms, q, err, errlen);
}
