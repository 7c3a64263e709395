/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Query strings of the HTTP API (docs/api.md): splitting, percent-decoding
 * and validating "from=..&to=..&by=..", with every error a one-line message
 * for {"error": "..."}. Pure: no I/O, no clock (the caller passes "now"),
 * no allocation, so it can be fuzzed on its own (tests/fuzz/fuzz_query.c).
 */
#ifndef WAKEFLOW_QUERY_H
#define WAKEFLOW_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WF_QUERY_MAX_LEN 4096	  /* longer query strings: 414 */
#define WF_QUERY_MAX_VALUE 256	  /* one decoded value */
#define WF_FILTER_MAX_VALUES 16	  /* repeated filter parameters are OR-ed */
#define WF_QUERY_MAX_RANGE_MS (31LL * 24 * 3600 * 1000) /* longer ranges are cut to the latest 31 days */
#define WF_QUERY_DEFAULT_RANGE_MS (3600LL * 1000)
#define WF_QUERY_MAX_TIME_MS 4102444800000LL /* 2100-01-01 */
#define WF_QUERY_MAX_LIMIT 1000		      /* larger limits are capped */
#define WF_QUERY_DEFAULT_LIMIT 100
#define WF_QUERY_MAX_DEPTH 4	 /* chains: links per chain (WF_CHAIN_MAX_LINKS) */
#define WF_QUERY_DEFAULT_DEPTH 3 /* WF_CHAIN_DEFAULT_LINKS */

/* Which parameters an endpoint accepts. */
enum wf_endpoint {
	WF_EP_PLAIN = 0, /* /healthz, /status, /targets, /categories, /metrics: none */
	WF_EP_SERIES,
	WF_EP_EDGES,
	WF_EP_CHAINS, /* the edges' parameters and depth */
};

enum wf_by { WF_BY_CATEGORY = 0, WF_BY_ACTIVITY, WF_BY_TARGET, WF_BY_ROLE, WF_BY_POD, WF_BY_WORKLOAD, WF_BY_THREAD };

enum wf_metric {
	WF_METRIC_OFFCPU = 0,	   /* off-CPU seconds per second */
	WF_METRIC_WAKEUPS,	   /* off-CPU intervals ended per second */
	WF_METRIC_RUNQ,		   /* run-queue delay seconds per second */
	WF_METRIC_PREEMPT_RATIO,   /* preempted / (on-CPU + preempted) time */
	WF_METRIC_PREEMPT_COUNT_RATIO, /* involuntary / all switches */
	WF_METRIC_THROTTLED,	   /* cgroup throttled seconds per second */
	/* The parts of the two ratios, so that callers sum them over agents
	 * and pods before dividing (never average ratios). */
	WF_METRIC_ONCPU,       /* on-CPU seconds per second */
	WF_METRIC_PREEMPTED,   /* runnable-but-preempted seconds per second */
	WF_METRIC_SWITCHES,    /* context switches per second */
	WF_METRIC_INVOLUNTARY, /* involuntary switches per second */
};

/* Metrics of a target's threads' scheduling totals, not of wake edges: they
 * cannot be split or filtered by category or activity. */
bool query_metric_per_thread(enum wf_metric m);

enum wf_sort { WF_SORT_OFFCPU = 0, WF_SORT_COUNT, WF_SORT_RUNQ };

/* What each edge of /api/v1/edges carries. */
enum wf_edge_fields {
	WF_FIELDS_ALL = 0, /* the whole edge: its record (names, stacks, explanation) and the range's numbers */
	/* Only its id, the range's numbers and times: no record is read from the
	 * store. For a client that merges several agents' top N and then asks
	 * each for the whole edges of those that made it (limit = how many). */
	WF_FIELDS_NUMBERS,
	/* The numbers and what an off-wake path needs: the waker's thread name
	 * and context, the target's thread name, both stacks; no explanation,
	 * facts, labels, role, kind or category (the flame graph's). */
	WF_FIELDS_PATHS,
};

enum wf_filter_field {
	WF_F_NAMESPACE = 0,
	WF_F_WORKLOAD,
	WF_F_POD,
	WF_F_PID,
	WF_F_COMM,
	WF_F_THREAD,
	WF_F_ROLE,
	WF_F_CATEGORY, /* a category id or a dotted prefix of one ("net", "net.tcp") */
	WF_F_ACTIVITY,
	WF_F__COUNT,
};

struct wf_filter {
	/* Decoded values (pointing into the owning wf_query's arena). */
	const char *values[WF_F__COUNT][WF_FILTER_MAX_VALUES];
	int n[WF_F__COUNT];
	int32_t pids[WF_FILTER_MAX_VALUES]; /* parsed values[WF_F_PID] */
	int roles[WF_FILTER_MAX_VALUES];    /* parsed values[WF_F_ROLE] (enum wf_role) */
};

struct wf_query {
	int64_t from_ms, to_ms; /* [from, to) */
	int64_t step_ms;	/* 0: not given (the series planner picks one) */
	enum wf_by by;
	enum wf_metric metric;
	int limit;
	enum wf_sort sort;
	int depth; /* chains: links kept per chain, 1..WF_QUERY_MAX_DEPTH */
	enum wf_edge_fields fields; /* edges only */
	bool range_capped; /* from was moved forward to keep within WF_QUERY_MAX_RANGE_MS */
	struct wf_filter filter;
	/* Decoded strings never outgrow their encoding plus one NUL per name or
	 * value; every part holds at least "x=", so twice the input suffices. */
	char arena[2 * WF_QUERY_MAX_LEN + 2];
	size_t arena_used;
};

/*
 * Parses the query string qs (len bytes, without the '?'; may be empty) for
 * endpoint ep. now_ms supplies the defaults (to = now, from = to - 1 h).
 * Returns 0, or an HTTP status (400, 414) with a one-line reason in err.
 */
int query_parse(enum wf_endpoint ep, const char *qs, size_t len, int64_t now_ms, struct wf_query *q, char *err,
		size_t errlen);

/* A copy of src that holds its own filter values: they point into the
 * query's arena, so a plain struct copy would still point into src's (an
 * accumulator outlives the request's query). */
void query_copy(struct wf_query *dst, const struct wf_query *src);

/* True if the dotted category id matches the filter value as itself or as
 * a prefix ending at a dot: "net" and "net.tcp" match "net.tcp.data",
 * "net.t" does not. */
bool query_category_matches(const char *prefix, const char *category_id);

const char *query_by_name(enum wf_by by);
const char *query_metric_name(enum wf_metric m);
const char *query_filter_name(enum wf_filter_field f);

#endif
