// SPDX-License-Identifier: Apache-2.0
/*
 * Query evaluation (series.h): a plan says which tier answers which part of
 * the range; the accumulators then take the windows' blobs one by one
 * (from the in-memory ring or the store, history.c decides) and keep only
 * what the answer needs: per group and point a sum, or a ratio's two sums.
 */
#include "series.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taxonomy.h"
#include "window.h"

/* ---- planning ---- */

static int64_t round_up(int64_t v, int64_t unit)
{
	return (v + unit - 1) / unit * unit;
}

static int64_t floor_to(int64_t v, int64_t unit)
{
	return v / unit * unit;
}

void series_plan(const struct wf_query *q, const struct wf_resolution *res, struct wf_series_plan *p)
{
	int64_t range = q->to_ms - q->from_ms;
	int64_t step = q->step_ms;
	int64_t unit = res->window_ms;

	memset(p, 0, sizeof(*p));
	/* The step: as asked, or about WF_SERIES_AUTO_POINTS points; then a
	 * whole number of windows (or minutes), then raised to the point cap. */
	if (!step)
		step = (range + WF_SERIES_AUTO_POINTS - 1) / WF_SERIES_AUTO_POINTS;
	/* Windows are the finest grain; older than tier 0's retention only
	 * minutes are left. */
	if (q->from_ms < res->fine_since_ms)
		unit = WF_MINUTE_MS;
	if (step < unit || step % unit)
		step = round_up(step, unit);
	if ((range + step - 1) / step + 1 > WF_SERIES_MAX_POINTS)
		step = round_up((range + WF_SERIES_MAX_POINTS - 2) / (WF_SERIES_MAX_POINTS - 1), unit);
	/* Points start on a multiple of the step, so every agent's points
	 * line up and the backend can add them. */
	p->step_raised = q->step_ms && step != q->step_ms;
	p->step_ms = step;
	p->t0 = floor_to(q->from_ms, step);
	p->npoints = (size_t)((q->to_ms - p->t0 + step - 1) / step);

	/* Whole minutes come from tier 1 where they are rolled up; points then
	 * hold whole minutes, so nothing is split. */
	if (step % WF_MINUTE_MS == 0 && res->rolled_until_ms > p->t0) {
		int64_t split = res->rolled_until_ms < q->to_ms ? res->rolled_until_ms : q->to_ms;

		p->seg[p->nseg++] = (struct wf_segment){ WF_TIER_MINUTE, p->t0, split };
		if (split < q->to_ms)
			p->seg[p->nseg++] = (struct wf_segment){ WF_TIER_WINDOW, split, q->to_ms };
	} else {
		p->seg[p->nseg++] = (struct wf_segment){ WF_TIER_WINDOW, p->t0, q->to_ms };
	}
}

/* The range's whole rolled-up minutes [a, b) from tier 1, the fringes
 * before and after from tier 0. */
size_t edges_plan(const struct wf_query *q, const struct wf_resolution *res, struct wf_segment seg[3])
{
	int64_t a = round_up(q->from_ms, WF_MINUTE_MS);
	int64_t b = floor_to(q->to_ms, WF_MINUTE_MS);
	size_t n = 0;

	if (b > res->rolled_until_ms)
		b = res->rolled_until_ms;
	/* Before tier 0's retention the fringes of partial minutes are gone:
	 * widen to whole minutes there rather than lose them. */
	if (q->from_ms < res->fine_since_ms)
		a = floor_to(q->from_ms, WF_MINUTE_MS);
	if (a >= b) {
		seg[n++] = (struct wf_segment){ WF_TIER_WINDOW, q->from_ms, q->to_ms };
		return n;
	}
	if (q->from_ms < a)
		seg[n++] = (struct wf_segment){ WF_TIER_WINDOW, q->from_ms, a };
	seg[n++] = (struct wf_segment){ WF_TIER_MINUTE, a, b };
	if (b < q->to_ms)
		seg[n++] = (struct wf_segment){ WF_TIER_WINDOW, b, q->to_ms };
	return n;
}

/* ---- target matching ---- */

static bool any_equal(const char *const *values, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(values[i], s))
			return true;
	return false;
}

static int cmp_target_id(const void *a, const void *b)
{
	const struct wf_target *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Whether a target passes the query's target filters (namespace, workload,
 * pod, comm, pid): each given filter must match one of its values. */
static bool target_allowed(const struct wf_target *t, const struct wf_filter *f)
{
	static const struct {
		int field;
		enum wf_label label;
	} by_label[] = {
		{ WF_F_NAMESPACE, WF_LABEL_NAMESPACE },
		{ WF_F_WORKLOAD, WF_LABEL_WORKLOAD },
		{ WF_F_POD, WF_LABEL_POD },
	};

	for (size_t i = 0; i < sizeof(by_label) / sizeof(by_label[0]); i++) {
		int fl = by_label[i].field;

		if (f->n[fl] && !any_equal(f->values[fl], f->n[fl], t->labels.value[by_label[i].label]))
			return false;
	}
	if (f->n[WF_F_COMM] && !any_equal(f->values[WF_F_COMM], f->n[WF_F_COMM], t->comm))
		return false;
	if (f->n[WF_F_PID]) {
		bool ok = false;

		for (int i = 0; i < f->n[WF_F_PID]; i++)
			ok |= f->pids[i] == t->pid;
		if (!ok)
			return false;
	}
	return true;
}

/* Numbers the targets' groups of equal (namespace, label) values: pod and
 * workload names are unique per namespace. */
static void group_targets(const struct wf_target_match *m, enum wf_label label, uint32_t *group)
{
	uint32_t ngroups = 0;

	for (size_t i = 0; i < m->ntargets; i++) {
		const struct wf_labels *li = &m->targets[i].labels;

		group[i] = ngroups;
		for (size_t j = 0; j < i; j++) {
			const struct wf_labels *lj = &m->targets[j].labels;

			if (!strcmp(li->value[label], lj->value[label]) &&
			    !strcmp(li->value[WF_LABEL_NAMESPACE], lj->value[WF_LABEL_NAMESPACE])) {
				group[i] = group[j];
				break;
			}
		}
		if (group[i] == ngroups)
			ngroups++;
	}
}

int target_match_init(struct wf_target_match *m, struct wf_catalog *cat, const struct wf_filter *f)
{
	ssize_t n;

	memset(m, 0, sizeof(*m));
	/* A snapshot of the catalog's targets, sorted by id for
	 * target_match_find; each decided once here, not per record. */
	n = catalog_targets(cat, &m->targets);
	if (n < 0)
		return -1;
	m->ntargets = (size_t)n;
	qsort(m->targets, m->ntargets, sizeof(*m->targets), cmp_target_id);
	m->allowed = calloc(m->ntargets + 1, sizeof(*m->allowed));
	m->pod = calloc(m->ntargets + 1, sizeof(*m->pod));
	m->workload = calloc(m->ntargets + 1, sizeof(*m->workload));
	if (!m->allowed || !m->pod || !m->workload) {
		target_match_free(m);
		return -1;
	}
	for (size_t i = 0; i < m->ntargets; i++)
		m->allowed[i] = target_allowed(&m->targets[i], f);
	group_targets(m, WF_LABEL_POD, m->pod);
	group_targets(m, WF_LABEL_WORKLOAD, m->workload);
	return 0;
}

/* Binary search by id; -1 for a target unknown or filtered out. */
long target_match_find(const struct wf_target_match *m, uint32_t target_id)
{
	size_t lo = 0, hi = m->ntargets;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->targets[mid].id < target_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < m->ntargets && m->targets[lo].id == target_id && m->allowed[lo])
		return (long)lo;
	return -1;
}

void target_match_free(struct wf_target_match *m)
{
	free(m->targets);
	free(m->allowed);
	free(m->pod);
	free(m->workload);
	memset(m, 0, sizeof(*m));
}

/* ---- per-record filters (threads, roles, categories, activities) ---- */

/* Resolves the per-record filters once per query: thread and activity
 * names to catalog ids, category prefixes to a table by category. */
void record_filter_init(struct wf_record_filter *rf, const struct wf_filter *f, struct wf_catalog *cat)
{
	memset(rf, 0, sizeof(*rf));
	rf->nthreads = f->n[WF_F_THREAD];
	for (int i = 0; i < rf->nthreads; i++)
		rf->threads[i] = catalog_name_find(cat, f->values[WF_F_THREAD][i]);
	rf->roles = f->roles;
	rf->nroles = f->n[WF_F_ROLE];
	rf->any_category = f->n[WF_F_CATEGORY] == 0;
	for (int c = 0; c < WF_CAT__COUNT; c++) {
		const struct wf_taxon *t = wf_category(c);

		for (int i = 0; t && i < f->n[WF_F_CATEGORY]; i++)
			if (query_category_matches(f->values[WF_F_CATEGORY][i], t->id))
				rf->category_ok[c] = true;
	}
	rf->nactivities = f->n[WF_F_ACTIVITY];
	for (int i = 0; i < rf->nactivities; i++) {
		/* "none" selects edges no activity applies to (id 0). */
		const char *v = f->values[WF_F_ACTIVITY][i];

		rf->activities[i] = strcmp(v, "none") ? catalog_name_find(cat, v) : 0;
		if (strcmp(v, "none") && !rf->activities[i])
			rf->activities[i] = UINT32_MAX; /* never seen: matches nothing */
	}
}

bool record_filter_thread(const struct wf_record_filter *rf, uint32_t thread, int role)
{
	if (rf->nthreads) {
		bool ok = false;

		for (int i = 0; i < rf->nthreads; i++)
			ok |= rf->threads[i] && rf->threads[i] == thread;
		if (!ok)
			return false;
	}
	if (rf->nroles) {
		bool ok = false;

		for (int i = 0; i < rf->nroles; i++)
			ok |= rf->roles[i] == role;
		if (!ok)
			return false;
	}
	return true;
}

bool record_filter_class(const struct wf_record_filter *rf, int category, uint32_t activity)
{
	if (!rf->any_category && (category < 0 || category >= WF_CAT__COUNT || !rf->category_ok[category]))
		return false;
	if (rf->nactivities) {
		bool ok = false;

		for (int i = 0; i < rf->nactivities; i++)
			ok |= rf->activities[i] == activity;
		if (!ok)
			return false;
	}
	return true;
}

bool record_filter_meta(const struct wf_record_filter *rf, const struct wf_edge_meta *m)
{
	return record_filter_thread(rf, m->thread, m->role) && record_filter_class(rf, m->category, m->activity);
}

/* ---- a small map from 64-bit keys to indexes ----
 * Open addressing with linear probing, kept at most half full; a group's
 * key is a category, activity, role, thread name or target group id. */

struct keymap {
	uint64_t *keys;
	uint32_t *vals; /* index + 1; 0 = empty */
	size_t cap, n;
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void keymap_free(struct keymap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static long keymap_get(const struct keymap *m, uint64_t key)
{
	if (!m->cap)
		return -1;
	for (size_t i = mix(key) & (m->cap - 1); m->vals[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			return (long)m->vals[i] - 1;
	return -1;
}

static int keymap_put(struct keymap *m, uint64_t key, uint32_t val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		struct keymap g = { 0 };

		g.cap = m->cap ? m->cap * 2 : 256;
		g.keys = malloc(g.cap * sizeof(*g.keys));
		g.vals = calloc(g.cap, sizeof(*g.vals));
		if (!g.keys || !g.vals) {
			keymap_free(&g);
			return -1;
		}
		for (size_t j = 0; j < m->cap; j++)
			if (m->vals[j])
				keymap_put(&g, m->keys[j], m->vals[j] - 1);
		keymap_free(m);
		*m = g;
	}
	for (i = mix(key) & (m->cap - 1); m->vals[i]; i = (i + 1) & (m->cap - 1))
		;
	m->keys[i] = key;
	m->vals[i] = val + 1;
	m->n++;
	return 0;
}

/* ---- series ---- */

#define MAX_LABELS (2 + WF_LABEL__COUNT)

struct series {
	uint64_t key;
	double *num, *den; /* per point; den only for ratios */
	struct wf_label_pair labels[MAX_LABELS];
	char *strings[MAX_LABELS]; /* owned label values */
	size_t nlabels;
};

struct wf_series_acc {
	struct wf_query q;
	struct wf_series_plan plan;
	struct wf_catalog *cat;
	struct wf_target_match tm;
	struct wf_record_filter rf;
	bool ratio;
	bool counts; /* events per second; otherwise microseconds -> seconds per second */
	int64_t *covered_ms; /* per point: how long the agent ran in windows starting in it */
	struct series *series;
	size_t nseries, cseries;
	bool truncated, sorted;
	struct keymap index;
	struct wf_wtarget scratch;
};

/* An accumulator for one plan: the query copied, targets matched and the
 * record filters resolved up front. */
struct wf_series_acc *series_acc_new(const struct wf_query *q, const struct wf_series_plan *p, struct wf_catalog *cat)
{
	struct wf_series_acc *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	query_copy(&a->q, q);
	a->plan = *p;
	a->cat = cat;
	a->ratio = q->metric == WF_METRIC_PREEMPT_RATIO || q->metric == WF_METRIC_PREEMPT_COUNT_RATIO;
	a->counts = q->metric == WF_METRIC_WAKEUPS || q->metric == WF_METRIC_SWITCHES ||
		    q->metric == WF_METRIC_INVOLUNTARY;
	a->covered_ms = calloc(p->npoints ? p->npoints : 1, sizeof(*a->covered_ms));
	if (!a->covered_ms || target_match_init(&a->tm, cat, &a->q.filter)) {
		series_acc_free(a);
		return NULL;
	}
	record_filter_init(&a->rf, &a->q.filter, cat);
	return a;
}

static void series_clear(struct wf_series_acc *a)
{
	for (size_t i = 0; i < a->nseries; i++) {
		free(a->series[i].num);
		free(a->series[i].den);
		for (size_t l = 0; l < a->series[i].nlabels; l++)
			free(a->series[i].strings[l]);
	}
	a->nseries = 0;
	a->truncated = false;
	a->sorted = false;
	keymap_free(&a->index);
}

void series_acc_free(struct wf_series_acc *a)
{
	if (!a)
		return;
	series_clear(a);
	free(a->series);
	free(a->covered_ms);
	target_match_free(&a->tm);
	wtarget_free(&a->scratch);
	free(a);
}

void series_acc_reset(struct wf_series_acc *a)
{
	series_clear(a);
	memset(a->covered_ms, 0, a->plan.npoints * sizeof(*a->covered_ms));
}

void series_acc_cover(struct wf_series_acc *a, int64_t start_ms, int64_t end_ms)
{
	int64_t t0 = a->plan.t0, step = a->plan.step_ms;
	int64_t last = t0 + (int64_t)a->plan.npoints * step;

	/* A window counts for the point its start falls in (like its data);
	 * its length makes the point's rate one over the time the agent ran,
	 * so the first window after a start is no dip. */
	if (start_ms < t0 || start_ms >= last)
		return;
	a->covered_ms[(start_ms - t0) / step] += end_ms > start_ms ? end_ms - start_ms : 1;
}

static int add_label(struct series *s, const char *name, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -1;
	s->strings[s->nlabels] = copy;
	s->labels[s->nlabels].name = name;
	s->labels[s->nlabels].value = copy;
	s->nlabels++;
	return 0;
}

static int add_target_labels(struct series *s, const struct wf_target *t)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", t->pid);
	if (add_label(s, "pid", pid) || add_label(s, "comm", t->comm))
		return -1;
	for (int l = 0; l < WF_LABEL__COUNT; l++)
		if (t->labels.value[l][0] && add_label(s, discovery_label_name((enum wf_label)l), t->labels.value[l]))
			return -1;
	return 0;
}

/* Labels of a new group; key as in group_key. */
static int make_labels(struct wf_series_acc *a, struct series *s, long ti, uint64_t key)
{
	char buf[WF_QUERY_MAX_VALUE];

	switch (a->q.by) {
	case WF_BY_CATEGORY: {
		const struct wf_taxon *t = wf_category((int)key);

		return add_label(s, "category", t ? t->id : "other");
	}
	case WF_BY_ACTIVITY:
		return add_label(s, "activity", key ? catalog_name(a->cat, (uint32_t)key, buf, sizeof(buf)) : "none");
	case WF_BY_ROLE: {
		const char *r = wf_role_id((int)key);

		return add_label(s, "role", r ? r : "other");
	}
	case WF_BY_TARGET:
		return add_target_labels(s, &a->tm.targets[ti]);
	case WF_BY_POD: {
		const struct wf_labels *l = &a->tm.targets[ti].labels;

		return add_label(s, "namespace", l->value[WF_LABEL_NAMESPACE]) ||
		       (l->value[WF_LABEL_WORKLOAD][0] && add_label(s, "workload", l->value[WF_LABEL_WORKLOAD])) ||
		       add_label(s, "pod", l->value[WF_LABEL_POD]);
	}
	case WF_BY_WORKLOAD: {
		const struct wf_labels *l = &a->tm.targets[ti].labels;

		return add_label(s, "namespace", l->value[WF_LABEL_NAMESPACE]) ||
		       add_label(s, "workload", l->value[WF_LABEL_WORKLOAD]);
	}
	case WF_BY_THREAD:
		return add_label(s, "thread", catalog_name(a->cat, (uint32_t)key, buf, sizeof(buf)));
	}
	return -1;
}

/* The series of a group, created (with its labels) on first sight; NULL
 * past the series or cell cap (the answer says truncated) or on ENOMEM. */
static struct series *group(struct wf_series_acc *a, long ti, uint64_t key)
{
	long idx = keymap_get(&a->index, key);
	struct series *s;

	if (idx >= 0)
		return &a->series[idx];
	if (a->nseries >= WF_SERIES_MAX_SERIES || (a->nseries + 1) * a->plan.npoints > WF_SERIES_MAX_CELLS) {
		a->truncated = true;
		return NULL;
	}
	if (a->nseries == a->cseries) {
		size_t cap = a->cseries ? a->cseries * 2 : 16;
		struct series *p = realloc(a->series, cap * sizeof(*p));

		if (!p)
			return NULL;
		a->series = p;
		a->cseries = cap;
	}
	s = &a->series[a->nseries];
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->num = calloc(a->plan.npoints, sizeof(double));
	s->den = a->ratio ? calloc(a->plan.npoints, sizeof(double)) : NULL;
	if (!s->num || (a->ratio && !s->den) || make_labels(a, s, ti, key) ||
	    keymap_put(&a->index, key, (uint32_t)a->nseries)) {
		free(s->num);
		free(s->den);
		for (size_t l = 0; l < s->nlabels; l++)
			free(s->strings[l]);
		return NULL;
	}
	a->sorted = false;
	return &a->series[a->nseries++];
}

/* A thread's part of a per-thread metric: the ratios' numerator and
 * denominator, or the one number the ratios' parts are. */
static void add_thread(enum wf_metric m, const struct wf_wthread *th, double *num, double *den)
{
	switch (m) {
	case WF_METRIC_PREEMPT_RATIO:
		*num += (double)th->preempted_us;
		*den += (double)(th->oncpu_us + th->preempted_us);
		break;
	case WF_METRIC_PREEMPT_COUNT_RATIO:
		*num += (double)th->involuntary;
		*den += (double)th->switches;
		break;
	case WF_METRIC_ONCPU:
		*num += (double)th->oncpu_us;
		break;
	case WF_METRIC_PREEMPTED:
		*num += (double)th->preempted_us;
		break;
	case WF_METRIC_SWITCHES:
		*num += (double)th->switches;
		break;
	case WF_METRIC_INVOLUNTARY:
		*num += (double)th->involuntary;
		break;
	default:
		break;
	}
}

/*
 * One target's totals of one window, added to the point its start falls in.
 * Three families: the wake metrics sum the per-category records, throttled
 * the target's cgroup figure, the rest the per-thread scheduling totals.
 */
void series_acc_add_totals(struct wf_series_acc *a, int64_t start_ms, const struct wf_totals *w)
{
	int64_t t0 = a->plan.t0, step = a->plan.step_ms;
	long ti = target_match_find(&a->tm, w->target_id);
	size_t k;
	uint64_t tkey;

	if (start_ms < t0 || start_ms >= t0 + (int64_t)a->plan.npoints * step || ti < 0)
		return;
	k = (size_t)((start_ms - t0) / step);
	tkey = a->q.by == WF_BY_POD ? a->tm.pod[ti] : a->q.by == WF_BY_WORKLOAD ? a->tm.workload[ti] : w->target_id;

	switch (a->q.metric) {
	case WF_METRIC_OFFCPU:
	case WF_METRIC_WAKEUPS:
	case WF_METRIC_RUNQ:
		for (size_t i = 0; i < w->ncats; i++) {
			const struct wf_wcat *c = &w->cats[i];
			uint64_t key;
			struct series *s;

			if (!record_filter_thread(&a->rf, c->thread, c->role) || !record_filter_class(&a->rf, c->category, c->activity))
				continue;
			key = a->q.by == WF_BY_CATEGORY ? c->category :
			      a->q.by == WF_BY_ACTIVITY ? c->activity :
			      a->q.by == WF_BY_ROLE	? c->role :
			      a->q.by == WF_BY_THREAD	? c->thread :
							  tkey;
			s = group(a, ti, key);
			if (!s)
				continue;
			s->num[k] += a->q.metric == WF_METRIC_OFFCPU  ? (double)c->offcpu_us :
				     a->q.metric == WF_METRIC_WAKEUPS ? (double)c->count :
									(double)c->runq_us;
		}
		break;
	case WF_METRIC_THROTTLED: {
		struct series *s = group(a, ti, tkey);

		if (s)
			s->num[k] += (double)w->throttled_us;
		break;
	}
	default: /* the per-thread scheduling totals */
		for (size_t i = 0; i < w->nthreads; i++) {
			const struct wf_wthread *th = &w->threads[i];
			struct series *s;

			if (!record_filter_thread(&a->rf, th->name, th->role))
				continue;
			s = group(a, ti, a->q.by == WF_BY_ROLE ? th->role : a->q.by == WF_BY_THREAD ? th->name : tkey);
			if (s)
				add_thread(a->q.metric, th, &s->num[k], s->den ? &s->den[k] : NULL);
		}
		break;
	}
}

int series_acc_add(struct wf_series_acc *a, int64_t start_ms, uint32_t target_id, const uint8_t *totals, size_t len)
{
	struct wf_wtarget *w = &a->scratch;
	int64_t t0 = a->plan.t0, step = a->plan.step_ms;

	/* Nothing to decode for a window outside the points or a target the
	 * query does not see (series_acc_add_totals would drop it). */
	if (start_ms < t0 || start_ms >= t0 + (int64_t)a->plan.npoints * step ||
	    target_match_find(&a->tm, target_id) < 0)
		return 0;
	if (wtarget_decode_totals(w, totals, len))
		return -1;
	series_acc_add_totals(a, start_ms,
			      &(struct wf_totals){ .target_id = target_id, .throttled_us = w->throttled_us,
						   .cats = w->cats, .ncats = w->ncats,
						   .threads = w->threads, .nthreads = w->nthreads });
	return 0;
}

static int cmp_series(const void *x, const void *y)
{
	const struct series *a = x, *b = y;

	for (size_t i = 0; i < a->nlabels && i < b->nlabels; i++) {
		int c = strcmp(a->labels[i].value, b->labels[i].value);

		if (c)
			return c;
	}
	return (a->nlabels > b->nlabels) - (a->nlabels < b->nlabels);
}

/* Series are answered sorted by their label values, so answers are stable;
 * the first read sorts them and rebuilds the index. */
size_t series_count(struct wf_series_acc *a)
{
	if (!a->sorted) {
		qsort(a->series, a->nseries, sizeof(*a->series), cmp_series);
		keymap_free(&a->index); /* indexes moved; no more adds after reading */
		for (size_t i = 0; i < a->nseries; i++)
			keymap_put(&a->index, a->series[i].key, (uint32_t)i);
		a->sorted = true;
	}
	return a->nseries;
}

bool series_truncated(struct wf_series_acc *a)
{
	return a->truncated;
}

size_t series_labels(struct wf_series_acc *a, size_t i, struct wf_label_pair *out, size_t max)
{
	size_t n = 0;

	if (i >= a->nseries)
		return 0;
	for (; n < a->series[i].nlabels && n < max; n++)
		out[n] = a->series[i].labels[n];
	return n;
}

/* The next point of series i with a value: a ratio of the two sums, or a
 * rate over the time the agent ran in the point (points where it did not
 * run, and ratios of nothing, are left out rather than given as 0). */
bool series_point(struct wf_series_acc *a, size_t i, size_t *k, int64_t *t_ms, double *value)
{
	const struct series *s;

	if (i >= a->nseries)
		return false;
	s = &a->series[i];
	for (; *k < a->plan.npoints; (*k)++) {
		size_t p = *k;
		int64_t ran = a->covered_ms[p] < a->plan.step_ms ? a->covered_ms[p] : a->plan.step_ms;
		double step_s = (double)ran / 1000.0;

		if (!ran)
			continue;
		if (a->ratio) {
			if (s->den[p] <= 0)
				continue; /* no time on or off CPU: the ratio is undefined */
			*value = s->num[p] / s->den[p];
		} else if (a->counts) {
			*value = s->num[p] / step_s;
		} else {
			*value = s->num[p] / 1e6 / step_s; /* microseconds per step -> seconds per second */
		}
		*t_ms = a->plan.t0 + (int64_t)p * a->plan.step_ms;
		(*k)++;
		return true;
	}
	return false;
}

int series_acc_cover_cb(void *acc, int64_t start_ms, int64_t end_ms)
{
	series_acc_cover(acc, start_ms, end_ms);
	return 0;
}

int series_acc_add_cb(void *acc, int64_t start_ms, int64_t end_ms, uint32_t target_id, const uint8_t *totals,
		      size_t len)
{
	(void)end_ms;
	series_acc_add(acc, start_ms, target_id, totals, len);
	return 0;
}
