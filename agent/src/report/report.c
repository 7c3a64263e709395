// SPDX-License-Identifier: Apache-2.0
/*
 * Reports of classified edges (report.h): text, folded and JSON. The JSON
 * schema and the folded annotation are documented in docs/agent.md
 * ("## Output formats"); change them there too.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "classify.h" /* classify_explain: why an edge got its category */
#include "json.h"
#include "report_int.h"

int report_parse_format(const char *s, enum wf_format *out)
{
	if (!s)
		return -1;
	if (!strcmp(s, "text"))
		*out = WF_FORMAT_TEXT;
	else if (!strcmp(s, "folded"))
		*out = WF_FORMAT_FOLDED;
	else if (!strcmp(s, "json"))
		*out = WF_FORMAT_JSON;
	else
		return -1;
	return 0;
}

const char *report_category_id(int category)
{
	const struct wf_taxon *t = wf_category(category);

	return t ? t->id : "other";
}

/* ---- ordering ---------------------------------------------------------- */

static int by_offcpu_desc(const void *a, const void *b, void *edges)
{
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	const struct wf_edge *ea = (const struct wf_edge *)edges + ia, *eb = (const struct wf_edge *)edges + ib;

	/* Unknown times last; ties keep input order so output is stable. */
	if (ea->offcpu_unknown != eb->offcpu_unknown)
		return ea->offcpu_unknown ? 1 : -1;
	if (ea->offcpu_ns != eb->offcpu_ns)
		return ea->offcpu_ns > eb->offcpu_ns ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

/* Indexes of the edges, longest off-CPU time first. NULL if out of memory. */
static size_t *sorted_order(const struct wf_edge_list *edges)
{
	size_t *idx = malloc((edges->len ? edges->len : 1) * sizeof(*idx));

	if (!idx)
		return NULL;
	for (size_t i = 0; i < edges->len; i++)
		idx[i] = i;
	qsort_r(idx, edges->len, sizeof(*idx), by_offcpu_desc, edges->items);
	return idx;
}

static uint64_t ns_to_us_rounded(uint64_t ns)
{
	return ns / 1000 + (ns % 1000 >= 500);
}

/* ---- text -------------------------------------------------------------- */

/* One row of a totals table: the edges of a category, or of a waker. */
struct total {
	char label[WF_COMM_LEN + 16];
	const char *context; /* wakers only */
	size_t edges;
	uint64_t count, offcpu_ns, runq_ns;
	bool count_known, runq_known; /* every edge of the row has one */
};

static void total_add(struct total *t, const struct wf_edge *e, size_t *unknown_time)
{
	if (!t->edges)
		t->count_known = t->runq_known = true;
	t->edges++;
	t->count += e->count_known ? e->count : 0;
	t->count_known &= e->count_known;
	t->runq_ns += e->runq_known ? e->runq_ns : 0;
	t->runq_known &= e->runq_known;
	if (e->offcpu_unknown)
		(*unknown_time)++;
	else
		t->offcpu_ns += e->offcpu_ns;
}

static int by_total_offcpu_desc(const void *a, const void *b)
{
	const struct total *x = a, *y = b;

	if (x->offcpu_ns != y->offcpu_ns)
		return x->offcpu_ns > y->offcpu_ns ? -1 : 1;
	return strcmp(x->label, y->label);
}

/* Off-CPU and run-queue time in columns of their own, largest first. */
static void write_totals(FILE *out, const char *what, bool with_context, struct total *rows, size_t n,
			 uint64_t total_ns)
{
	qsort(rows, n, sizeof(*rows), by_total_offcpu_desc);
	fprintf(out, "  %-20s %s%7s %10s %13s %11s %7s\n", what, with_context ? "CONTEXT  " : "", "EDGES", "COUNT",
		"OFF-CPU ms", "RUNQ ms", "SHARE");
	for (size_t i = 0; i < n; i++) {
		const struct total *t = &rows[i];
		char count[24], runq[24];

		if (!t->edges)
			continue;
		snprintf(count, sizeof(count), t->count_known ? "%" PRIu64 : "-", t->count);
		if (t->runq_known)
			snprintf(runq, sizeof(runq), "%.3f", t->runq_ns / 1e6);
		else
			snprintf(runq, sizeof(runq), "-");
		fprintf(out, "  %-20s ", t->label);
		if (with_context)
			fprintf(out, "%-8s ", t->context);
		fprintf(out, "%7zu %10s %13.3f %11s %6.1f%%\n", t->edges, count, t->offcpu_ns / 1e6, runq,
			total_ns ? 100.0 * t->offcpu_ns / total_ns : 0.0);
	}
}

static void waker_label(const struct wf_edge *e, struct total *t)
{
	if (e->context == WF_CTX_NONE)
		snprintf(t->label, sizeof(t->label), "(preempted)");
	else
		snprintf(t->label, sizeof(t->label), "%s", e->waker.comm[0] ? e->waker.comm : "(unknown)");
	t->context = wf_context_name(e->context);
}

static int by_waker(const void *a, const void *b)
{
	const struct total *x = a, *y = b;
	int c = strcmp(x->label, y->label);

	return c ? c : strcmp(x->context, y->context);
}

/* "Who wakes my proxy": the edges summed per waker (and context). */
static void write_wakers(FILE *out, const struct wf_edge_list *edges, uint64_t total_ns)
{
	struct total *rows = calloc(edges->len ? edges->len : 1, sizeof(*rows));
	size_t n = 0, unknown = 0;

	if (!rows)
		return;
	for (size_t i = 0; i < edges->len; i++)
		waker_label(&edges->items[i], &rows[i]);
	/* Sorted by waker, each run of one waker's labels becomes its row. */
	qsort(rows, edges->len, sizeof(*rows), by_waker);
	for (size_t i = 0; i < edges->len; i++)
		if (!n || by_waker(&rows[n - 1], &rows[i]))
			rows[n++] = rows[i];
	for (size_t i = 0; i < edges->len; i++) {
		struct total key;
		struct total *t;

		waker_label(&edges->items[i], &key);
		t = bsearch(&key, rows, n, sizeof(*rows), by_waker);
		if (t)
			total_add(t, &edges->items[i], &unknown);
	}
	fprintf(out, "\nWakers: who ended the off-CPU time\n\n");
	write_totals(out, "WAKER", true, rows, n, total_ns);
	free(rows);
}

/* Preemption most of the off-CPU time: say what usually causes it. */
static void write_preemption_note(FILE *out, const struct wf_edge_list *edges, uint64_t preempt_ns, uint64_t total_ns)
{
	int32_t tids[64];
	size_t ntids = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!total_ns || preempt_ns * 2 <= total_ns)
		return;
	for (size_t i = 0; i < edges->len && ntids < 64; i++) {
		const struct wf_edge *e = &edges->items[i];
		bool seen = false;

		if (e->context != WF_CTX_NONE)
			continue;
		for (size_t k = 0; k < ntids; k++)
			seen |= tids[k] == e->target.tid;
		if (!seen)
			tids[ntids++] = e->target.tid;
	}
	fprintf(out,
		"\nNote: preemption is %.0f%% of the off-CPU time: the threads were runnable and waited for a CPU.\n"
		"  %zu%s thread(s) were preempted; this machine has %ld CPU(s). When busy threads outnumber CPUs\n"
		"  they take turns: give the workload more CPUs (or fewer busy threads); the preemptor of each\n"
		"  edge says who took the CPU, and CPU throttling (docs/metrics.md) shows a CPU limit.\n",
		100.0 * preempt_ns / total_ns, ntids, ntids == 64 ? "+" : "", cpus);
}

static void write_breakdown(FILE *out, const struct wf_edge_list *edges)
{
	struct total cats[WF_CAT__COUNT] = { 0 };
	uint64_t total_ns = 0, preempt_ns = 0;
	size_t unknown_time = 0;

	for (int c = 0; c < WF_CAT__COUNT; c++)
		snprintf(cats[c].label, sizeof(cats[c].label), "%s", report_category_id(c));
	for (size_t i = 0; i < edges->len; i++) {
		const struct wf_edge *e = &edges->items[i];
		int c = wf_category(e->category) ? e->category : WF_CAT_OTHER;

		total_add(&cats[c], e, &unknown_time);
		if (!e->offcpu_unknown) {
			total_ns += e->offcpu_ns;
			preempt_ns += (c == WF_CAT_PREEMPT_INVOLUNTARY || c == WF_CAT_PREEMPT_VOLUNTARY) ? e->offcpu_ns : 0;
		}
	}
	fprintf(out, "Category breakdown: %zu edges, %.3f ms off-CPU in total\n\n", edges->len, total_ns / 1e6);
	write_totals(out, "CATEGORY", false, cats, WF_CAT__COUNT, total_ns);
	write_wakers(out, edges, total_ns);
	fprintf(out, "\n  COUNT is the number of off-CPU intervals, RUNQ the wait for a CPU after the wakeup; '-' where\n"
		     "  the input has none");
	if (unknown_time)
		fprintf(out, ";\n  %zu edge(s) without an off-CPU time are not in the totals", unknown_time);
	fprintf(out, ".\n  Roles (worker, main, watchdog, access_log) and activities (envoy.*) are Envoy's: read from\n"
		     "  Envoy's thread names and frames (docs/classification.md).\n");
	write_preemption_note(out, edges, preempt_ns, total_ns);
}

static void write_task_line(FILE *out, const char *label, const struct wf_task *t)
{
	fprintf(out, "    %-16s %s", label, t->comm);
	if (t->tid >= 0)
		fprintf(out, " %" PRId32, t->tid);
	if (t->pid >= 0 && t->pid != t->tid)
		fprintf(out, " (pid %" PRId32 ")", t->pid);
	fputc('\n', out);
}

static void write_us_line(FILE *out, const char *label, bool known, uint64_t ns)
{
	if (known)
		fprintf(out, "    %-16s %" PRIu64 " us\n", label, ns_to_us_rounded(ns));
	else
		fprintf(out, "    %-16s -\n", label);
}

static bool reason_points_at(const struct wf_reason *r, bool target, int index)
{
	for (int i = 0; i < r->nframes; i++)
		if (r->frames[i].target == target && r->frames[i].index == index)
			return true;
	return false;
}

/* A frame line, with a note like the hand-annotated captures' where the
 * frame decided the category or the activity. */
static void write_frame(FILE *out, const struct wf_stack *s, int i, bool target, const struct wf_explanation *x)
{
	fprintf(out, "      %s", s->frames[i] ? s->frames[i] : "");
	if (x && reason_points_at(&x->category, target, i))
		fprintf(out, "  <<<< category (rule %s)", x->category.rule);
	if (x && x->has_activity && reason_points_at(&x->activity, target, i))
		fprintf(out, "  <<<< activity (rule %s)", x->activity.rule);
	fputc('\n', out);
}

static void write_reason_line(FILE *out, const char *label, const struct wf_reason *r)
{
	if (!r->rule)
		return;
	fprintf(out, "    %-16s rule %s: when %s", label, r->rule, r->when);
	for (int i = 0; i < r->nfacts; i++)
		fprintf(out, "%s%s", i ? " " : " (facts: ", r->facts[i]);
	fprintf(out, "%s\n", r->nfacts ? ")" : "");
}

static void write_text_edge(FILE *out, const struct wf_edge *e, const struct wf_rules *rules)
{
	const struct wf_stack *ws = &e->waker_stack, *ts = &e->target_stack;
	struct wf_explanation x;

	if (rules)
		classify_explain(rules, e, &x);

	if (e->context == WF_CTX_NONE) {
		if (e->preemptor.tid >= 0)
			fprintf(out, "    %-16s (preempted by %s %" PRId32 ")\n", "waker:", e->preemptor.comm,
				e->preemptor.tid);
		else
			fprintf(out, "    %-16s (preempted)\n", "waker:");
	} else {
		write_task_line(out, "waker:", &e->waker);
	}
	/* Both stacks innermost first (as in the JSON, whose indexes the
	 * explanation uses), each under a label saying whose it is. */
	if (ws->nframes)
		fprintf(out, "    -- waker stack, innermost first --\n");
	for (int i = 0; i < ws->nframes; i++)
		write_frame(out, ws, i, false, rules ? &x : NULL);
	if (ts->nframes)
		fprintf(out, "    -- target stack, innermost first --\n");
	for (int i = 0; i < ts->nframes; i++)
		write_frame(out, ts, i, true, rules ? &x : NULL);
	write_task_line(out, "target:", &e->target);
	fprintf(out, "    %-16s %s\n", "category:", report_category_id(e->category));
	if (rules)
		write_reason_line(out, "  decided by:", &x.category);
	fprintf(out, "    %-16s %s\n", "activity:", e->activity ? e->activity : "-");
	if (rules && x.has_activity)
		write_reason_line(out, "  decided by:", &x.activity);
	fprintf(out, "    %-16s %s\n", "context:", wf_context_name(e->context));
	fprintf(out, "    %-16s %s\n", "role:", wf_role_id(e->role));
	if (e->count_known)
		fprintf(out, "    %-16s %" PRIu64 "\n", "count:", e->count);
	else
		fprintf(out, "    %-16s -\n", "count:");
	write_us_line(out, "offcpu:", !e->offcpu_unknown, e->offcpu_ns);
	if (e->count_known && !e->offcpu_unknown)
		write_us_line(out, "offcpu max:", true, e->offcpu_max_ns);
	write_us_line(out, "runq:", e->runq_known, e->runq_ns);
	if (!e->stacks_sampled)
		fprintf(out, "    %-16s %s\n", "stacks:", "not sampled (classified from facts)");
	if (e->nfacts) {
		fprintf(out, "    %-16s", "facts:");
		for (int i = 0; i < e->nfacts; i++)
			fprintf(out, " %s", e->facts[i]);
		fputc('\n', out);
	}
	fputc('\n', out);
}

static void write_lost_text(FILE *out, const struct wf_report_meta *meta)
{
	bool any = false;

	for (int i = 0; meta && i < meta->nlost; i++) {
		if (!meta->lost[i].value)
			continue;
		fprintf(out, "%s%s=%" PRIu64, any ? " " : "Lost: ", meta->lost[i].name, meta->lost[i].value);
		any = true;
	}
	if (any)
		fputc('\n', out);
}

static int write_text(FILE *out, const struct wf_edge_list *edges, const struct wf_report_meta *meta,
		      const size_t *order)
{
	size_t n = edges->len;

	if (meta && meta->top > 0 && (size_t)meta->top < n)
		n = meta->top;
	write_breakdown(out, edges);
	write_lost_text(out, meta);
	if (n < edges->len)
		fprintf(out, "\nTop %zu of %zu edges by off-CPU time:\n\n", n, edges->len);
	else
		fprintf(out, "\nEdges by off-CPU time:\n\n");
	for (size_t i = 0; i < n; i++)
		write_text_edge(out, &edges->items[order[i]], meta ? meta->rules : NULL);
	if (meta && meta->chains)
		return report_chains_text(out, meta->chains, meta->top);
	return 0;
}

/* ---- folded ------------------------------------------------------------ */

/* ';' separates frames and a newline ends the record: neither may appear
 * inside a name. */
static void put_folded_name(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		char c = *s;

		fputc(c == ';' ? ':' : (c == '\n' || c == '\r') ? ' ' : c, out);
	}
}

static void write_folded_edge(FILE *out, const struct wf_edge *e)
{
	const struct wf_stack *ws = &e->waker_stack, *ts = &e->target_stack;

	/* The category as an annotation root frame: flame graphs then split by
	 * category first; `import` skips it when reading this output back. */
	fprintf(out, "[%s];", report_category_id(e->category));
	put_folded_name(out, e->target.comm);
	for (int i = ts->nframes - 1; i >= 0; i--) {
		fputc(';', out);
		put_folded_name(out, ts->frames[i]);
	}
	fputs(";--", out);
	for (int i = 0; i < ws->nframes; i++) {
		fputc(';', out);
		put_folded_name(out, ws->frames[i]);
	}
	fputc(';', out);
	put_folded_name(out, e->waker.comm);
	fprintf(out, " %" PRIu64 "\n", e->offcpu_unknown ? 0 : ns_to_us_rounded(e->offcpu_ns));
}

/* ---- json -------------------------------------------------------------- */

static void json_id(struct json *j, const char *key, int32_t id)
{
	json_key(j, key);
	if (id < 0)
		json_null(j);
	else
		json_i64(j, id);
}

/* Opens the task's object and writes its identity; the caller adds fields
 * and closes it. */
void report_json_task(struct json *j, const struct wf_task *t)
{
	json_obj_begin(j);
	json_key(j, "comm");
	json_str(j, t->comm);
	if (t->proc_comm[0]) {
		json_key(j, "proc");
		json_str(j, t->proc_comm);
	}
	json_id(j, "pid", t->pid);
	json_id(j, "tid", t->tid);
}

void report_json_us(struct json *j, const char *key, bool known, uint64_t ns)
{
	json_key(j, key);
	if (known)
		json_f64(j, ns / 1000.0);
	else
		json_null(j);
}

void report_json_stack(struct json *j, const char *key, const struct wf_stack *s)
{
	json_key(j, key);
	json_arr_begin(j);
	for (int i = 0; i < s->nframes; i++)
		json_str(j, s->frames[i] ? s->frames[i] : "");
	json_arr_end(j);
}

static void json_time(struct json *j, const char *key, uint64_t ns)
{
	char buf[32];

	json_key(j, key);
	if (!ns) {
		json_null(j);
		return;
	}
	/* RFC 3339 in UTC with milliseconds, which Date.parse reads. */
	json_format_rfc3339_ms(ns, buf);
	json_str(j, buf);
}

static void json_reason(struct json *j, const struct wf_reason *r)
{
	json_obj_begin(j);
	json_key(j, "rule");
	json_str(j, r->rule);
	json_key(j, "when");
	json_str(j, r->when);
	json_key(j, "frames");
	json_arr_begin(j);
	for (int i = 0; i < r->nframes; i++) {
		json_obj_begin(j);
		json_key(j, "stack");
		json_str(j, r->frames[i].target ? "target" : "waker");
		json_key(j, "index");
		json_i64(j, r->frames[i].index);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "facts");
	json_arr_begin(j);
	for (int i = 0; i < r->nfacts; i++)
		json_str(j, r->facts[i]);
	json_arr_end(j);
	json_obj_end(j);
}

static void json_explanation(struct json *j, const struct wf_edge *e, const struct wf_rules *rules)
{
	struct wf_explanation x;

	json_key(j, "explanation");
	if (!rules) {
		json_null(j);
		return;
	}
	classify_explain(rules, e, &x);
	json_obj_begin(j);
	json_key(j, "category");
	json_reason(j, &x.category);
	json_key(j, "activity");
	if (x.has_activity)
		json_reason(j, &x.activity);
	else
		json_null(j);
	json_obj_end(j);
}

void report_json_edge_members(struct json *j, const struct wf_edge *e, const struct wf_rules *rules)
{
	json_key(j, "waker");
	report_json_task(j, &e->waker);
	json_key(j, "context");
	json_str(j, wf_context_name(e->context));
	json_obj_end(j);
	json_key(j, "target");
	report_json_task(j, &e->target);
	json_key(j, "role");
	json_str(j, wf_role_id(e->role));
	json_obj_end(j);
	json_key(j, "kind");
	json_str(j, e->kind == WF_SWITCH_PREEMPTED ? "preempted" : "blocked");
	json_key(j, "preemptor");
	if (e->kind == WF_SWITCH_PREEMPTED && (e->preemptor.tid >= 0 || e->preemptor.comm[0])) {
		report_json_task(j, &e->preemptor);
		json_obj_end(j);
	} else {
		json_null(j);
	}
	json_key(j, "category");
	json_str(j, report_category_id(e->category));
	json_key(j, "activity");
	json_str(j, e->activity);
	json_key(j, "count");
	if (e->count_known)
		json_u64(j, e->count);
	else
		json_null(j);
	report_json_us(j, "offcpu_us", !e->offcpu_unknown, e->offcpu_ns);
	/* The longest interval is only measured where intervals are counted. */
	report_json_us(j, "offcpu_max_us", e->count_known && !e->offcpu_unknown, e->offcpu_max_ns);
	report_json_us(j, "runq_us", e->runq_known, e->runq_ns);
	json_key(j, "stacks_sampled");
	json_bool(j, e->stacks_sampled);
	report_json_stack(j, "waker_stack", &e->waker_stack);
	json_key(j, "waker_stack_kernel_frames");
	if (e->waker_stack.nkernel >= 0)
		json_i64(j, e->waker_stack.nkernel);
	else
		json_null(j);
	report_json_stack(j, "target_stack", &e->target_stack);
	json_key(j, "target_stack_kernel_frames");
	if (e->target_stack.nkernel >= 0)
		json_i64(j, e->target_stack.nkernel);
	else
		json_null(j);
	json_key(j, "facts");
	json_arr_begin(j);
	for (int i = 0; i < e->nfacts; i++)
		json_str(j, e->facts[i]);
	json_arr_end(j);
	json_explanation(j, e, rules);
	json_time(j, "first_seen", e->first_seen_ns);
	json_time(j, "last_seen", e->last_seen_ns);
}

void report_json_edge_path_members(struct json *j, const struct wf_edge *e)
{
	json_key(j, "waker");
	json_obj_begin(j);
	json_key(j, "comm");
	json_str(j, e->waker.comm);
	json_key(j, "context");
	json_str(j, wf_context_name(e->context));
	json_obj_end(j);
	json_key(j, "target");
	json_obj_begin(j);
	json_key(j, "comm");
	json_str(j, e->target.comm);
	json_obj_end(j);
	json_key(j, "stacks_sampled");
	json_bool(j, e->stacks_sampled);
	report_json_stack(j, "waker_stack", &e->waker_stack);
	report_json_stack(j, "target_stack", &e->target_stack);
}

static int write_json(FILE *out, const struct wf_edge_list *edges, const struct wf_report_meta *meta,
		      const size_t *order)
{
	struct json j;
	int rc = 0;

	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "edges");
	json_arr_begin(&j);
	for (size_t i = 0; i < edges->len; i++) {
		json_obj_begin(&j);
		report_json_edge_members(&j, &edges->items[order[i]], meta ? meta->rules : NULL);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	if (meta && meta->chains)
		report_chains_json(&j, meta->chains);
	json_key(&j, "lost");
	json_obj_begin(&j);
	if (meta)
		json_counters(&j, meta->lost, meta->nlost);
	json_obj_end(&j);
	if (meta && meta->kernel_stack_walker) {
		json_key(&j, "capture");
		json_obj_begin(&j);
		json_key(&j, "kernel_stack_walker");
		json_str(&j, meta->kernel_stack_walker);
		json_counters(&j, meta->capture, meta->ncapture);
		json_obj_end(&j);
	}
	json_obj_end(&j);
	if (j.failed) {
		errno = ENOMEM;
		rc = -1;
	} else if (fwrite(j.buf, 1, j.len, out) != j.len || fputc('\n', out) == EOF) {
		rc = -1;
	}
	json_free(&j);
	return rc;
}

int report_write(FILE *out, enum wf_format fmt, const struct wf_edge_list *edges, const struct wf_report_meta *meta)
{
	size_t *order = sorted_order(edges);
	int rc = 0;

	if (!order) {
		errno = ENOMEM;
		return -1;
	}
	switch (fmt) {
	case WF_FORMAT_TEXT:
		rc = write_text(out, edges, meta, order);
		break;
	case WF_FORMAT_FOLDED:
		for (size_t i = 0; i < edges->len; i++)
			write_folded_edge(out, &edges->items[order[i]]);
		break;
	case WF_FORMAT_JSON:
		rc = write_json(out, edges, meta, order);
		break;
	default:
		errno = EINVAL;
		rc = -1;
	}
	free(order);
	if (!rc && (fflush(out) == EOF || ferror(out)))
		rc = -1;
	return rc;
}
