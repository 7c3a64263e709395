// SPDX-License-Identifier: Apache-2.0
/*
 * series: query planning (steps, tiers, point caps), the arithmetic of each
 * metric (rates per second, the preemption ratios), grouping, filters,
 * coverage gaps, and the edges merge/filter/sort/limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "classify.h"
#include "query.h"
#include "series.h"
#include "window.h"

#define T0 1699999800000LL /* a multiple of 5 minutes */
#define W 10000LL

static struct wf_query *parse(enum wf_endpoint ep, const char *qs)
{
	struct wf_query *q = malloc(sizeof(*q));
	char err[256];

	assert_non_null(q);
	if (query_parse(ep, qs, strlen(qs), T0 + 3600000, q, err, sizeof(err))) {
		print_error("%s: %s\n", qs, err);
		fail();
	}
	return q;
}

static void test_plan(void **state)
{
	struct wf_resolution res = { .window_ms = W, .fine_since_ms = T0 - 3 * 3600000LL, .rolled_until_ms = T0 + 1800000 };
	struct wf_series_plan p;
	struct wf_query *q;
	char qs[200];

	(void)state;
	/* A step that is not a multiple of the window is rounded up. */
	snprintf(qs, sizeof(qs), "from=%lld&to=%lld&step=15000", T0, T0 + 3600000);
	q = parse(WF_EP_SERIES, qs);
	series_plan(q, &res, &p);
	assert_int_equal(p.step_ms, 20000);
	assert_true(p.step_raised);
	assert_int_equal(p.t0, T0);
	assert_int_equal(p.npoints, 180);
	assert_int_equal(p.nseg, 1);
	assert_int_equal(p.seg[0].tier, WF_TIER_WINDOW);
	free(q);

	/* Whole minutes: rolled-up minutes from tier 1, the rest from windows. */
	snprintf(qs, sizeof(qs), "from=%lld&to=%lld&step=60000", T0, T0 + 3600000);
	q = parse(WF_EP_SERIES, qs);
	series_plan(q, &res, &p);
	assert_int_equal(p.step_ms, 60000);
	assert_false(p.step_raised);
	assert_int_equal(p.nseg, 2);
	assert_int_equal(p.seg[0].tier, WF_TIER_MINUTE);
	assert_int_equal(p.seg[0].from_ms, T0);
	assert_int_equal(p.seg[0].to_ms, T0 + 1800000);
	assert_int_equal(p.seg[1].tier, WF_TIER_WINDOW);
	assert_int_equal(p.seg[1].from_ms, T0 + 1800000);
	free(q);

	/* Older than the windows' retention: minutes only. */
	snprintf(qs, sizeof(qs), "from=%lld&to=%lld&step=10000", T0 - 5 * 3600000LL, T0 - 4 * 3600000LL);
	q = parse(WF_EP_SERIES, qs);
	series_plan(q, &res, &p);
	assert_int_equal(p.step_ms, 60000);
	assert_int_equal(p.seg[0].tier, WF_TIER_MINUTE);
	free(q);

	/* No step: about 300 points, the step a multiple of the window. */
	snprintf(qs, sizeof(qs), "from=%lld&to=%lld", T0, T0 + 24 * 3600000LL);
	q = parse(WF_EP_SERIES, qs);
	series_plan(q, &res, &p);
	assert_int_equal(p.step_ms, 290000);
	assert_int_equal(p.npoints, 299); /* t0 is the step boundary before from */
	free(q);

	/* A step far too small for the range is raised to the point cap. */
	snprintf(qs, sizeof(qs), "from=%lld&to=%lld&step=10000", T0 - 30 * 24 * 3600000LL, T0);
	q = parse(WF_EP_SERIES, qs);
	series_plan(q, &res, &p);
	assert_true(p.npoints <= WF_SERIES_MAX_POINTS);
	assert_true(p.step_raised);
	assert_int_equal(p.step_ms % 60000, 0);
	free(q);
}

static void test_edges_plan(void **state)
{
	struct wf_resolution res = { .window_ms = W, .fine_since_ms = T0 - 3 * 3600000LL, .rolled_until_ms = T0 + 3000000 };
	struct wf_segment seg[3];
	struct wf_query *q;
	char qs[200];
	size_t n;

	(void)state;
	snprintf(qs, sizeof(qs), "from=%lld&to=%lld", T0 + 30000, T0 + 3600000);
	q = parse(WF_EP_EDGES, qs);
	n = edges_plan(q, &res, seg);
	assert_int_equal(n, 3);
	assert_int_equal(seg[0].tier, WF_TIER_WINDOW);
	assert_int_equal(seg[0].from_ms, T0 + 30000);
	assert_int_equal(seg[0].to_ms, T0 + 60000);
	assert_int_equal(seg[1].tier, WF_TIER_MINUTE);
	assert_int_equal(seg[1].from_ms, T0 + 60000);
	assert_int_equal(seg[1].to_ms, T0 + 3000000);
	assert_int_equal(seg[2].tier, WF_TIER_WINDOW);
	assert_int_equal(seg[2].from_ms, T0 + 3000000);
	assert_int_equal(seg[2].to_ms, T0 + 3600000);
	free(q);

	/* Less than a whole minute: windows only. */
	snprintf(qs, sizeof(qs), "from=%lld&to=%lld", T0 + 10000, T0 + 50000);
	q = parse(WF_EP_EDGES, qs);
	n = edges_plan(q, &res, seg);
	assert_int_equal(n, 1);
	assert_int_equal(seg[0].tier, WF_TIER_WINDOW);
	free(q);
}

/* ---- accumulation ---- */

struct fixture {
	struct wf_catalog *cat;
	uint32_t t1, t2, t3; /* t1, t2: pod a (same pod, two processes); t3: pod b */
	uint32_t worker, main_thread, xds;
	struct wf_buf buf;
};

static uint32_t add_target(struct wf_catalog *cat, int32_t pid, const char *pod, const char *ns)
{
	struct wf_target t;

	memset(&t, 0, sizeof(t));
	t.pid = pid;
	t.start_time = 100 + (uint64_t)pid;
	strcpy(t.comm, "envoy");
	strcpy(t.labels.value[WF_LABEL_POD], pod);
	strcpy(t.labels.value[WF_LABEL_NAMESPACE], ns);
	strcpy(t.labels.value[WF_LABEL_WORKLOAD], "wl");
	t.alive = true;
	return catalog_target_put(cat, &t);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->cat = catalog_new();
	f->t1 = add_target(f->cat, 11, "a", "ns1");
	f->t2 = add_target(f->cat, 12, "a", "ns1");
	f->t3 = add_target(f->cat, 13, "b", "ns2");
	f->worker = catalog_name_id(f->cat, "wrk:worker_0");
	f->main_thread = catalog_name_id(f->cat, "envoy");
	f->xds = catalog_name_id(f->cat, "envoy.xds");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	catalog_free(f->cat);
	wf_buf_free(&f->buf);
	free(f);
	return 0;
}

/* Encodes a target window: a worker with on-CPU/preempted time and two
 * categories, scaled by k. */
static const struct wf_buf *window_blob(struct fixture *f, uint32_t target, uint64_t k)
{
	struct wf_wtarget t;

	wtarget_init(&t, target);
	t.throttled_us = 250000 * k;
	t.nr_throttled = k;
	wtarget_add_thread(&t, &(struct wf_wthread){ .name = f->worker, .role = WF_ROLE_WORKER, .oncpu_us = 3000000 * k,
						     .preempted_us = 1000000 * k, .switches = 10 * k, .involuntary = 2 * k });
	wtarget_add_thread(&t, &(struct wf_wthread){ .name = f->main_thread, .role = WF_ROLE_MAIN, .oncpu_us = 1000000 * k,
						     .preempted_us = 0, .switches = 5 * k, .involuntary = 0 });
	wtarget_add_cat(&t, &(struct wf_wcat){ .thread = f->worker, .role = WF_ROLE_WORKER,
					       .category = WF_CAT_NET_TCP_DATA, .count = 100 * k,
					       .offcpu_us = 5000000 * k, .runq_us = 100000 * k });
	wtarget_add_cat(&t, &(struct wf_wcat){ .thread = f->main_thread, .role = WF_ROLE_MAIN,
					       .category = WF_CAT_TIMER, .activity = f->xds, .count = 10 * k,
					       .offcpu_us = 2000000 * k, .runq_us = 0 });
	wtarget_normalize(&t);
	assert_int_equal(wtarget_encode_totals(&t, &f->buf), 0);
	wtarget_free(&t);
	return &f->buf;
}

static void add_window(struct fixture *f, struct wf_series_acc *a, int64_t start, uint32_t target, uint64_t k)
{
	const struct wf_buf *b = window_blob(f, target, k);

	series_acc_cover(a, start, start + W);
	assert_int_equal(series_acc_add(a, start, target, b->data, b->len), 0);
}

static const char *label(struct wf_series_acc *a, size_t i, const char *name)
{
	struct wf_label_pair lp[16];
	size_t n = series_labels(a, i, lp, 16);

	for (size_t l = 0; l < n; l++)
		if (!strcmp(lp[l].name, name))
			return lp[l].value;
	return NULL;
}

/* Collects a series' points into arrays; returns the count. */
static size_t points(struct wf_series_acc *a, size_t i, int64_t *t, double *v, size_t max)
{
	size_t k = 0, n = 0;

	while (n < max && series_point(a, i, &k, &t[n], &v[n]))
		n++;
	return n;
}

static struct wf_series_acc *run(struct fixture *f, const char *extra, struct wf_series_plan *p)
{
	struct wf_resolution res = { .window_ms = W, .fine_since_ms = 0, .rolled_until_ms = 0 };
	char qs[300];
	struct wf_query *q;
	struct wf_series_acc *a;

	snprintf(qs, sizeof(qs), "from=%lld&to=%lld&step=20000%s", T0, T0 + 60000, extra);
	q = parse(WF_EP_SERIES, qs);
	series_plan(q, &res, p);
	a = series_acc_new(q, p, f->cat);
	assert_non_null(a);
	free(q);
	/* Windows at 0 s and 10 s (point 0), none at 20-30 s (a gap:
	 * point 1 absent), 40 s and 50 s (point 2). */
	add_window(f, a, T0, f->t1, 1);
	add_window(f, a, T0 + 10000, f->t1, 1);
	add_window(f, a, T0 + 10000, f->t3, 2);
	add_window(f, a, T0 + 40000, f->t2, 3);
	add_window(f, a, T0 + 50000, f->t1, 1);
	return a;
}

/* The first point of the only or first series of run(extra), whose
 * windows give it two points (0 and 2); the accumulator freed. */
static double first_point(struct fixture *f, const char *extra)
{
	struct wf_series_plan p;
	struct wf_series_acc *a = run(f, extra, &p);
	int64_t t[8];
	double v[8];

	assert_int_equal(points(a, 0, t, v, 8), 2);
	series_acc_free(a);
	return v[0];
}

static void test_offcpu_by_category(void **state)
{
	struct fixture *f = *state;
	struct wf_series_plan p;
	struct wf_series_acc *a = run(f, "&by=category", &p);
	int64_t t[8];
	double v[8];

	assert_int_equal(p.npoints, 3);
	assert_int_equal(series_count(a), 2);
	/* sorted by label: net.tcp.data, timer */
	assert_string_equal(label(a, 0, "category"), "net.tcp.data");
	assert_string_equal(label(a, 1, "category"), "timer");
	assert_int_equal(points(a, 0, t, v, 8), 2);
	assert_int_equal(t[0], T0);
	/* point 0: k = 1 + 1 + 2 = 4 times 5 s over a 20 s step -> 1 s/s */
	assert_true(fabs(v[0] - 4 * 5.0 / 20) < 1e-9);
	assert_int_equal(t[1], T0 + 40000);
	assert_true(fabs(v[1] - 4 * 5.0 / 20) < 1e-9); /* 3 + 1 */
	series_acc_free(a);
}

static void test_wakeups_runq_and_filters(void **state)
{
	struct fixture *f = *state;
	struct wf_series_plan p;
	struct wf_series_acc *a;
	int64_t t[8];
	double v[8];

	a = run(f, "&metric=wakeups&by=role", &p);
	assert_int_equal(series_count(a), 2);
	assert_string_equal(label(a, 0, "role"), "main");
	assert_string_equal(label(a, 1, "role"), "worker");
	assert_int_equal(points(a, 1, t, v, 8), 2);
	assert_true(fabs(v[0] - 400.0 / 20) < 1e-9);
	series_acc_free(a);

	/* runq, filtered to pod b only */
	a = run(f, "&metric=runq&by=pod&pod=b", &p);
	assert_int_equal(series_count(a), 1);
	assert_string_equal(label(a, 0, "pod"), "b");
	assert_string_equal(label(a, 0, "namespace"), "ns2");
	assert_int_equal(points(a, 0, t, v, 8), 2);
	assert_true(fabs(v[0] - 0.2 / 20) < 1e-9);
	/* covered but nothing from pod b: a 0 point, not a missing one */
	assert_int_equal(t[1], T0 + 40000);
	assert_true(v[1] == 0);
	series_acc_free(a);

	/* by pod merges the two processes of pod a */
	a = run(f, "&by=pod", &p);
	assert_int_equal(series_count(a), 2);
	assert_string_equal(label(a, 0, "pod"), "a");
	assert_int_equal(points(a, 0, t, v, 8), 2);
	assert_true(fabs(v[1] - 4 * 7.0 / 20) < 1e-9);
	series_acc_free(a);

	/* category prefix, activity and thread filters */
	a = run(f, "&category=net", &p);
	assert_int_equal(series_count(a), 1);
	series_acc_free(a);
	a = run(f, "&activity=envoy.xds&by=activity", &p);
	assert_int_equal(series_count(a), 1);
	assert_string_equal(label(a, 0, "activity"), "envoy.xds");
	series_acc_free(a);
	a = run(f, "&activity=envoy.never_seen", &p);
	assert_int_equal(series_count(a), 0);
	series_acc_free(a);
	a = run(f, "&thread=wrk:worker_0&by=category", &p);
	assert_int_equal(series_count(a), 1);
	assert_string_equal(label(a, 0, "category"), "net.tcp.data");
	series_acc_free(a);
	a = run(f, "&pid=13&pid=12&by=target", &p);
	assert_int_equal(series_count(a), 2);
	assert_string_equal(label(a, 0, "pid"), "12");
	assert_string_equal(label(a, 1, "pid"), "13");
	assert_string_equal(label(a, 1, "pod"), "b");
	series_acc_free(a);
	a = run(f, "&namespace=nope", &p);
	assert_int_equal(series_count(a), 0);
	series_acc_free(a);
}

static void test_preempt_ratios(void **state)
{
	struct fixture *f = *state;
	struct wf_series_plan p;
	struct wf_series_acc *a;
	int64_t t[8];
	double v[8];

	/* time ratio: preempted / (on CPU + preempted), summed before dividing */
	a = run(f, "&metric=preempt_ratio&by=role", &p);
	assert_int_equal(series_count(a), 2);
	assert_string_equal(label(a, 1, "role"), "worker");
	assert_int_equal(points(a, 1, t, v, 8), 2);
	assert_true(fabs(v[0] - 1.0 / 4) < 1e-12);
	/* main: never preempted, 0 */
	assert_int_equal(points(a, 0, t, v, 8), 2);
	assert_true(v[0] == 0);
	series_acc_free(a);

	/* the whole target, two windows: workers 2 * 3 s on and 2 * 1 s
	 * preempted, main 2 * 1 s on -> 2 / (6 + 2 + 2) */
	assert_true(fabs(first_point(f, "&metric=preempt_ratio&by=target&pid=11") - 2.0 / 10) < 1e-12);

	/* count ratio: involuntary / switches = 2 / 15 */
	assert_true(fabs(first_point(f, "&metric=preempt_count_ratio&by=target&pid=11") - 4.0 / 30) < 1e-12);

	/* throttled seconds per second */
	assert_true(fabs(first_point(f, "&metric=throttled&by=target&pid=13") - 0.5 / 20) < 1e-12);
}

/* The ratios' parts, summed over the group's threads, and the workload and
 * thread splits: a ratio computed from summed parts equals the agent's. */
static void test_ratio_parts_and_splits(void **state)
{
	struct fixture *f = *state;
	struct wf_series_plan p;
	struct wf_series_acc *a;
	int64_t t[8];
	double v[8], oncpu, preempted;

	/* Point 0 of (ns1, wl): pid 11 twice at k = 1: 2 * (3 s + 1 s) on CPU */
	a = run(f, "&metric=oncpu&by=workload", &p);
	assert_int_equal(series_count(a), 2);
	assert_string_equal(label(a, 0, "namespace"), "ns1");
	assert_string_equal(label(a, 0, "workload"), "wl");
	assert_null(label(a, 0, "pod"));
	assert_int_equal(points(a, 0, t, v, 8), 2);
	assert_true(fabs(v[0] - 8.0 / 20) < 1e-12);
	oncpu = v[0];
	/* point 2: pid 12 at k = 3 and pid 11 at k = 1, one workload */
	assert_true(fabs(v[1] - 16.0 / 20) < 1e-12);
	series_acc_free(a);

	a = run(f, "&metric=preempted&by=workload&namespace=ns1", &p);
	assert_int_equal(series_count(a), 1);
	assert_int_equal(points(a, 0, t, v, 8), 2);
	assert_true(fabs(v[0] - 2.0 / 20) < 1e-12);
	preempted = v[0];
	series_acc_free(a);
	assert_true(fabs(first_point(f, "&metric=preempt_ratio&by=workload&namespace=ns1") -
			 preempted / (oncpu + preempted)) < 1e-12);

	/* switches and involuntary switches per second: 2 * 15 and 2 * 2 */
	assert_true(fabs(first_point(f, "&metric=switches&by=workload&namespace=ns1") - 30.0 / 20) < 1e-12);
	assert_true(fabs(first_point(f, "&metric=involuntary&by=workload&namespace=ns1&role=worker") - 4.0 / 20) <
		    1e-12);

	/* by=pod carries the workload too */
	a = run(f, "&metric=oncpu&by=pod", &p);
	assert_int_equal(series_count(a), 2);
	assert_string_equal(label(a, 0, "pod"), "a");
	assert_string_equal(label(a, 0, "workload"), "wl");
	series_acc_free(a);

	/* by=thread: the target threads' names, over every target */
	a = run(f, "&metric=oncpu&by=thread", &p);
	assert_int_equal(series_count(a), 2);
	assert_string_equal(label(a, 0, "thread"), "envoy");
	assert_string_equal(label(a, 1, "thread"), "wrk:worker_0");
	assert_int_equal(points(a, 1, t, v, 8), 2);
	assert_true(fabs(v[0] - 3.0 * 4 / 20) < 1e-12);
	series_acc_free(a);
	a = run(f, "&by=thread&category=net", &p);
	assert_int_equal(series_count(a), 1);
	assert_string_equal(label(a, 0, "thread"), "wrk:worker_0");
	assert_int_equal(points(a, 0, t, v, 8), 2);
	assert_true(fabs(v[0] - 5.0 * 4 / 20) < 1e-12);
	series_acc_free(a);
	a = run(f, "&metric=throttled&by=workload", &p);
	assert_int_equal(series_count(a), 2);
	series_acc_free(a);
}

/* A point only partly covered (the first window after a start is short) is
 * a rate over the time covered, not a dip. */
static void test_partly_covered_point(void **state)
{
	struct fixture *f = *state;
	struct wf_resolution res = { .window_ms = W, .fine_since_ms = 0, .rolled_until_ms = 0 };
	char qs[200];
	struct wf_series_plan p;
	struct wf_query *q;
	struct wf_series_acc *a;
	const struct wf_buf *b;
	int64_t t[4];
	double v[4];

	snprintf(qs, sizeof(qs), "from=%lld&to=%lld&step=20000&by=category&category=net.tcp.data", T0, T0 + 40000);
	q = parse(WF_EP_SERIES, qs);
	series_plan(q, &res, &p);
	a = series_acc_new(q, &p, f->cat);
	free(q);
	/* point 0: one 4 s window (the agent started 6 s into it); point 1: two whole ones */
	b = window_blob(f, f->t1, 1);
	series_acc_cover(a, T0 + 6000, T0 + 10000);
	assert_int_equal(series_acc_add(a, T0 + 6000, f->t1, b->data, b->len), 0);
	for (int64_t s = T0 + 20000; s < T0 + 40000; s += W) {
		b = window_blob(f, f->t1, 1);
		series_acc_cover(a, s, s + W);
		assert_int_equal(series_acc_add(a, s, f->t1, b->data, b->len), 0);
	}
	assert_int_equal(series_count(a), 1);
	assert_int_equal(points(a, 0, t, v, 4), 2);
	assert_true(fabs(v[0] - 5.0 / 4) < 1e-12); /* 5 s off CPU in the 4 s it ran */
	assert_true(fabs(v[1] - 2 * 5.0 / 20) < 1e-12);
	series_acc_free(a);
}

static void test_reset_and_corrupt(void **state)
{
	struct fixture *f = *state;
	struct wf_series_plan p;
	struct wf_series_acc *a = run(f, "", &p);
	static const uint8_t junk[] = { 1, 0xff, 0xff, 0xff };
	int64_t t[8];
	double v[8];

	assert_int_equal(series_acc_add(a, T0, f->t1, junk, sizeof(junk)), -1);
	/* outside the range or for an unknown target: ignored */
	assert_int_equal(series_acc_add(a, T0 + 3600000, f->t1, junk, sizeof(junk)), 0);
	assert_int_equal(series_acc_add(a, T0, 999, junk, sizeof(junk)), 0);
	series_acc_reset(a);
	assert_int_equal(series_count(a), 0);
	add_window(f, a, T0 + 20000, f->t1, 1);
	assert_int_equal(series_count(a), 2);
	assert_int_equal(points(a, 0, t, v, 8), 1);
	assert_int_equal(t[0], T0 + 20000);
	series_acc_free(a);
}


static void test_caps(void **state)
{
	struct fixture *f = *state;
	struct wf_resolution res = { .window_ms = W, .fine_since_ms = 0, .rolled_until_ms = 0 };
	struct wf_series_plan p;
	struct wf_series_acc *a;
	struct wf_query *q;
	struct wf_wtarget t;
	char qs[200];

	/* 4999 points: 40 series fit in WF_SERIES_MAX_CELLS, the 41st does not */
	snprintf(qs, sizeof(qs), "from=%lld&to=%lld&step=10000&by=activity", T0, T0 + 4999 * W);
	q = parse(WF_EP_SERIES, qs);
	series_plan(q, &res, &p);
	assert_int_equal(p.npoints, 4999);
	a = series_acc_new(q, &p, f->cat);
	wtarget_init(&t, f->t1);
	for (uint32_t i = 0; i < 60; i++)
		wtarget_add_cat(&t, &(struct wf_wcat){ .thread = f->worker, .category = WF_CAT_TIMER, .activity = 100 + i,
						       .count = 1 });
	wtarget_normalize(&t);
	assert_int_equal(wtarget_encode_totals(&t, &f->buf), 0);
	series_acc_cover(a, T0, T0 + W);
	assert_int_equal(series_acc_add(a, T0, f->t1, f->buf.data, f->buf.len), 0);
	assert_int_equal(series_count(a), WF_SERIES_MAX_CELLS / 4999);
	assert_true(series_truncated(a));
	series_acc_free(a);
	wtarget_free(&t);
	free(q);
}

/* ---- edges ---- */

static const struct wf_buf *edges_blob(struct fixture *f, uint32_t target, const uint32_t *ids, size_t n, uint64_t k)
{
	struct wf_wtarget t;

	wtarget_init(&t, target);
	for (size_t i = 0; i < n; i++)
		wtarget_add_edge(&t, &(struct wf_wedge){ .id = ids[i], .count = k * (i + 1), .offcpu_us = 1000 * k * (n - i),
							 .runq_us = 7 * k, .max_us = 10 * k });
	wtarget_normalize(&t);
	assert_int_equal(wtarget_encode_edges(&t, &f->buf), 0);
	wtarget_free(&t);
	return &f->buf;
}

static uint32_t put_edge(struct fixture *f, uint32_t target, uint32_t thread, int role, int category, uint64_t hash)
{
	struct wf_edge_meta m = { .hash = hash, .target_id = target, .thread = thread, .role = (uint8_t)role,
				  .category = (uint8_t)category, .last_seen_ms = T0 };

	return catalog_edge_put(f->cat, &m, NULL);
}

static void test_edges(void **state)
{
	struct fixture *f = *state;
	uint32_t ids[4];
	struct wf_query *q;
	struct wf_edges_acc *a;
	const struct wf_buf *b;
	char qs[200];

	ids[0] = put_edge(f, f->t1, f->worker, WF_ROLE_WORKER, WF_CAT_NET_TCP_DATA, 101);
	ids[1] = put_edge(f, f->t1, f->worker, WF_ROLE_WORKER, WF_CAT_IPC_EVENTFD, 102);
	ids[2] = put_edge(f, f->t1, f->main_thread, WF_ROLE_MAIN, WF_CAT_TIMER, 103);
	ids[3] = put_edge(f, f->t3, f->worker, WF_ROLE_WORKER, WF_CAT_NET_TCP_DATA, 104);
	/* the same hash gives the same id */
	assert_int_equal(put_edge(f, f->t1, f->worker, WF_ROLE_WORKER, WF_CAT_NET_TCP_DATA, 101), ids[0]);

	snprintf(qs, sizeof(qs), "from=%lld&to=%lld&limit=2", T0, T0 + 60000);
	q = parse(WF_EP_EDGES, qs);
	a = edges_acc_new(q, f->cat);
	b = edges_blob(f, f->t1, ids, 3, 1);
	assert_int_equal(edges_acc_add(a, T0, T0 + W, f->t1, b->data, b->len), 0);
	b = edges_blob(f, f->t1, ids, 3, 2);
	assert_int_equal(edges_acc_add(a, T0 + 30000, T0 + 40000, f->t1, b->data, b->len), 0);
	b = edges_blob(f, f->t3, &ids[3], 1, 100);
	assert_int_equal(edges_acc_add(a, T0 + 10000, T0 + 20000, f->t3, b->data, b->len), 0);
	assert_int_equal(edges_acc_finish(a), 2);
	assert_int_equal(edges_acc_matched(a), 4);
	/* by off-CPU: ids[3] 100 ms, then ids[0] 3 ms * 3 = 9 ms */
	assert_int_equal(edges_acc_row(a, 0)->id, ids[3]);
	assert_int_equal(edges_acc_row(a, 0)->offcpu_us, 100000);
	assert_int_equal(edges_acc_row(a, 1)->id, ids[0]);
	assert_int_equal(edges_acc_row(a, 1)->offcpu_us, 9000);
	assert_int_equal(edges_acc_row(a, 1)->count, 3);
	assert_int_equal(edges_acc_row(a, 1)->max_us, 20);
	assert_int_equal(edges_acc_row(a, 1)->first_ms, T0);
	assert_int_equal(edges_acc_row(a, 1)->last_ms, T0 + 40000);
	assert_int_equal(edges_acc_row(a, 1)->meta.category, WF_CAT_NET_TCP_DATA);
	assert_null(edges_acc_row(a, 2));
	edges_acc_free(a);
	free(q);

	/* sort by count, role filter, category prefix */
	snprintf(qs, sizeof(qs), "from=%lld&to=%lld&sort=count&role=worker&category=net&pod=a", T0, T0 + 60000);
	q = parse(WF_EP_EDGES, qs);
	a = edges_acc_new(q, f->cat);
	b = edges_blob(f, f->t1, ids, 3, 1);
	assert_int_equal(edges_acc_add(a, T0, T0 + W, f->t1, b->data, b->len), 0);
	b = edges_blob(f, f->t3, &ids[3], 1, 100);
	assert_int_equal(edges_acc_add(a, T0, T0 + W, f->t3, b->data, b->len), 0);
	assert_int_equal(edges_acc_finish(a), 1);
	assert_int_equal(edges_acc_row(a, 0)->id, ids[0]);
	edges_acc_free(a);
	free(q);
}

/* Many edges over several id pages, with ties: the top `limit` kept by
 * edges_acc (a heap) are exactly a full sort's first `limit`, ties by id;
 * an id the catalog never handed out is skipped. */
static void test_edges_top_many(void **state)
{
	enum { N = 700, LIMIT = 100 };
	struct fixture *f = *state;
	static uint32_t ids[N + 1];
	static uint64_t sum[N];
	static size_t order[N];
	struct wf_wtarget t;
	struct wf_query *q;
	struct wf_edges_acc *a;
	char qs[200];

	for (size_t i = 0; i < N; i++)
		ids[i] = put_edge(f, f->t1, f->worker, WF_ROLE_WORKER, WF_CAT_TIMER, 5000 + i);
	ids[N] = ids[N - 1] + 100000; /* never handed out */
	snprintf(qs, sizeof(qs), "from=%lld&to=%lld&limit=%d", T0, T0 + 60000, LIMIT);
	q = parse(WF_EP_EDGES, qs);
	a = edges_acc_new(q, f->cat);
	for (int w = 0; w < 3; w++) {
		wtarget_init(&t, f->t1);
		for (size_t i = 0; i <= N; i++) {
			/* values repeat every 37 ids: many ties at the cut */
			uint64_t v = (uint64_t)((i * 7919 + (size_t)w) % 37);

			wtarget_add_edge(&t, &(struct wf_wedge){ .id = ids[i], .count = 1, .offcpu_us = v });
			if (i < N)
				sum[i] += v;
		}
		wtarget_normalize(&t);
		assert_int_equal(wtarget_encode_edges(&t, &f->buf), 0);
		wtarget_free(&t);
		assert_int_equal(edges_acc_add(a, T0 + w * W, T0 + (w + 1) * W, f->t1, f->buf.data, f->buf.len), 0);
	}
	assert_int_equal(edges_acc_finish(a), LIMIT);
	assert_int_equal(edges_acc_matched(a), N);
	for (size_t i = 0; i < N; i++)
		order[i] = i;
	/* the reference: a plain insertion sort, largest first, then by id */
	for (size_t i = 1; i < N; i++)
		for (size_t j = i; j > 0; j--) {
			size_t x = order[j - 1], y = order[j];

			if (sum[x] > sum[y] || (sum[x] == sum[y] && ids[x] < ids[y]))
				break;
			order[j - 1] = y;
			order[j] = x;
		}
	for (size_t i = 0; i < LIMIT; i++) {
		assert_int_equal(edges_acc_row(a, i)->id, ids[order[i]]);
		assert_int_equal(edges_acc_row(a, i)->offcpu_us, sum[order[i]]);
		assert_int_equal(edges_acc_row(a, i)->count, 3);
	}
	assert_null(edges_acc_row(a, LIMIT));
	edges_acc_free(a);
	free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_edges_plan),
		cmocka_unit_test_setup_teardown(test_offcpu_by_category, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wakeups_runq_and_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preempt_ratios, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ratio_parts_and_splits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partly_covered_point, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edges_top_many, setup, teardown),
	};

	return cmocka_run_group_tests_name("series", tests, NULL, NULL);
}
