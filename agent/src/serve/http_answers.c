// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP API's history answers (docs/api.md): series, edges and chains
 * over a time range, read through the history (memory ring, then the
 * store) and written as JSON through report's per-edge and per-chain
 * writers. Routing, auth and limits are in http_api.c.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http_int.h"
#include "report.h"
#include "series.h"

static void memory_warning(struct json *j, struct wf_http *h)
{
	int64_t oldest;

	history_ring_len(h->ctx.history, &oldest);
	json_key(j, "warning");
	json_str(j, "the store cannot be read: answered from the windows kept in memory only (see /api/v1/status)");
	json_key(j, "memory_oldest_ms");
	if (oldest >= 0)
		json_i64(j, oldest);
	else
		json_null(j);
}

enum MHD_Result http_answer_series(struct wf_http *h, struct MHD_Connection *c, const struct wf_query *q)
{
	struct wf_series_plan plan;
	struct wf_answer_info info;
	struct wf_series_acc *a = history_series(h->ctx.history, q, wall_ms(), &plan, &info);
	struct json j;
	size_t n;

	if (!a)
		return http_send_error(h, c, 500, "out of memory");
	n = series_count(a);
	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "step_ms");
	json_i64(&j, plan.step_ms);
	json_key(&j, "from_ms");
	json_i64(&j, q->from_ms);
	json_key(&j, "to_ms");
	json_i64(&j, q->to_ms);
	json_key(&j, "metric");
	json_str(&j, query_metric_name(q->metric));
	json_key(&j, "by");
	json_str(&j, query_by_name(q->by));
	if (series_truncated(a)) {
		json_key(&j, "truncated");
		json_bool(&j, true);
	}
	if (info.from_memory_only)
		memory_warning(&j, h);
	json_key(&j, "series");
	json_arr_begin(&j);
	for (size_t i = 0; i < n && !j.failed; i++) {
		struct wf_label_pair lp[32];
		size_t nl = series_labels(a, i, lp, 32), k = 0;
		int64_t t;
		double v;

		json_obj_begin(&j);
		json_key(&j, "labels");
		json_obj_begin(&j);
		for (size_t l = 0; l < nl; l++) {
			json_key(&j, lp[l].name);
			json_str(&j, lp[l].value);
		}
		json_obj_end(&j);
		json_key(&j, "points");
		json_arr_begin(&j);
		while (series_point(a, i, &k, &t, &v)) {
			json_arr_begin(&j);
			json_i64(&j, t);
			json_f64(&j, v);
			json_arr_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_end(&j);
	series_acc_free(a);
	return http_send_json(h, c, 200, &j);
}

/* The full records of an answer's edges, in row order (found[i]: still stored). */
struct answer_details {
	size_t n;
	uint32_t *ids;
	struct wf_edge_detail *details;
	bool *found;
};

static void answer_details_free(struct answer_details *d)
{
	for (size_t i = 0; d->found && i < d->n; i++)
		if (d->found[i])
			store_edge_detail_free(&d->details[i]);
	free(d->ids);
	free(d->details);
	free(d->found);
}

/* Reads the records of a's rows; -1 when out of memory. */
static int answer_details_read(struct wf_http *h, struct wf_edges_acc *a, struct answer_details *d)
{
	memset(d, 0, sizeof(*d));
	while (edges_acc_row(a, d->n))
		d->n++;
	d->ids = calloc(d->n + 1, sizeof(*d->ids));
	d->details = calloc(d->n + 1, sizeof(*d->details));
	d->found = calloc(d->n + 1, sizeof(*d->found));
	if (!d->ids || !d->details || !d->found) {
		free(d->found);
		d->found = NULL;
		return -1;
	}
	for (size_t i = 0; i < d->n; i++)
		d->ids[i] = edges_acc_row(a, i)->id;
	history_edge_details(h->ctx.history, d->ids, d->n, d->details, d->found);
	return 0;
}

/* What an answer adds to a stored edge or chain: its id, its target's
 * labels ({} for a target no longer known) and the range it was seen in;
 * closes the object. */
static void json_answer_tail(struct json *j, uint64_t id, const struct wf_labels *labels, int64_t first_ms,
			     int64_t last_ms)
{
	json_key(j, "id");
	json_u64(j, id);
	json_key(j, "labels");
	if (labels) {
		http_json_labels(j, labels);
	} else {
		json_obj_begin(j);
		json_obj_end(j);
	}
	json_key(j, "first_seen_ms");
	json_i64(j, first_ms);
	json_key(j, "last_seen_ms");
	json_i64(j, last_ms);
	json_obj_end(j);
}

/* One edge of the answer: the stored edge is the identity, the numbers are
 * the range's; then the report's members, its id, labels and times. */
static void json_answer_edge(struct json *j, const struct wf_edge_row *r, struct wf_edge *e,
			     const struct wf_target_match *tm, const struct wf_rules *rules)
{
	long ti = target_match_find(tm, r->meta.target_id);

	e->count_known = true;
	e->count = r->count;
	e->offcpu_unknown = false;
	e->offcpu_ns = r->offcpu_us * 1000;
	e->offcpu_max_ns = r->max_us * 1000;
	e->runq_known = true;
	e->runq_ns = r->runq_us * 1000;
	e->first_seen_ns = (uint64_t)r->first_ms * 1000000;
	e->last_seen_ns = (uint64_t)r->last_ms * 1000000;
	json_obj_begin(j);
	report_json_edge_members(j, e, rules);
	json_answer_tail(j, r->id, ti >= 0 ? &tm->targets[ti].labels : NULL, r->first_ms, r->last_ms);
}

/* An edge's id and the range's numbers and times, into its open object:
 * the whole of a fields=numbers edge, nothing from its record. */
static void json_answer_numbers(struct json *j, const struct wf_edge_row *r)
{
	json_key(j, "id");
	json_u64(j, r->id);
	json_key(j, "count");
	json_u64(j, r->count);
	/* From nanoseconds, as the whole edge writes them: the same doubles. */
	report_json_us(j, "offcpu_us", true, r->offcpu_us * 1000);
	report_json_us(j, "offcpu_max_us", true, r->max_us * 1000);
	report_json_us(j, "runq_us", true, r->runq_us * 1000);
	json_key(j, "first_seen_ms");
	json_i64(j, r->first_ms);
	json_key(j, "last_seen_ms");
	json_i64(j, r->last_ms);
}

/* One edge of a fields=numbers or fields=paths answer; e is its record (paths only). */
static void json_answer_edge_part(struct json *j, const struct wf_edge_row *r, const struct wf_edge *e)
{
	json_obj_begin(j);
	json_answer_numbers(j, r);
	if (e)
		report_json_edge_path_members(j, e);
	json_obj_end(j);
}

enum MHD_Result http_answer_edges(struct wf_http *h, struct MHD_Connection *c, const struct wf_query *q)
{
	struct wf_answer_info info;
	struct wf_edges_acc *a = history_edges(h->ctx.history, q, wall_ms(), &info);
	struct answer_details d = { 0 };
	const struct wf_edge_row *r;
	struct json j;

	if (!a)
		return http_send_error(h, c, 500, "out of memory");
	/* A numbers answer reads no record: most of a whole answer's cost
	 * (docs/performance.md, "The backend's agent requests"). */
	if (q->fields != WF_FIELDS_NUMBERS && answer_details_read(h, a, &d)) {
		answer_details_free(&d);
		edges_acc_free(a);
		return http_send_error(h, c, 500, "out of memory");
	}
	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "from_ms");
	json_i64(&j, q->from_ms);
	json_key(&j, "to_ms");
	json_i64(&j, q->to_ms);
	json_key(&j, "matched");
	json_u64(&j, edges_acc_matched(a));
	if (info.from_memory_only)
		memory_warning(&j, h);
	json_key(&j, "edges");
	json_arr_begin(&j);
	if (q->fields == WF_FIELDS_NUMBERS) {
		for (size_t i = 0; (r = edges_acc_row(a, i)) && !j.failed; i++)
			json_answer_edge_part(&j, r, NULL);
	} else {
		for (size_t i = 0; i < d.n && !j.failed; i++) {
			if (!d.found[i]) /* expired between the scan and now */
				continue;
			if (q->fields == WF_FIELDS_PATHS)
				json_answer_edge_part(&j, edges_acc_row(a, i), &d.details[i].edge);
			else
				json_answer_edge(&j, edges_acc_row(a, i), &d.details[i].edge, edges_acc_targets(a),
						 h->ctx.rules);
		}
	}
	json_arr_end(&j);
	json_obj_end(&j);
	answer_details_free(&d);
	edges_acc_free(a);
	return http_send_json(h, c, 200, &j);
}

/*
 * /api/v1/chains: the chains of the range (history_chains), then the full
 * records of every link of the rows in one lookup; a chain whose link has
 * expired between the scan and now is left out, as an edge would be.
 */
static void json_answer_chain(struct json *j, const struct wf_chain_row *r, const struct wf_edge_detail *links,
			      const struct wf_target_match *tm)
{
	struct wf_chain c;
	long ti = target_match_find(tm, r->target_id);

	memset(&c, 0, sizeof(c));
	c.nlinks = r->chain.nlinks;
	for (int l = 0; l < c.nlinks; l++)
		c.links[l] = links[l].edge; /* shallow: the details keep ownership */
	c.ended_by = (enum wf_chain_end)r->chain.ended_by;
	c.count = r->chain.count;
	c.offcpu_ns = r->chain.offcpu_us * 1000;
	c.runq_ns = r->chain.runq_us * 1000;
	json_obj_begin(j);
	report_json_chain_members(j, &c);
	json_answer_tail(j, r->id, ti >= 0 ? &tm->targets[ti].labels : NULL, r->first_ms, r->last_ms);
}

enum MHD_Result http_answer_chains(struct wf_http *h, struct MHD_Connection *c, const struct wf_query *q)
{
	struct wf_answer_info info;
	struct wf_chains_acc *a = history_chains(h->ctx.history, q, wall_ms(), &info);
	size_t nrows = 0, nids = 0, *first = NULL;
	uint32_t *ids = NULL;
	struct wf_edge_detail *details = NULL;
	bool *found = NULL;
	struct json j;

	if (!a)
		return http_send_error(h, c, 500, "out of memory");
	while (chains_acc_row(a, nrows))
		nrows++;
	ids = calloc(nrows * WF_CHAIN_MAX_LINKS + 1, sizeof(*ids));
	details = calloc(nrows * WF_CHAIN_MAX_LINKS + 1, sizeof(*details));
	found = calloc(nrows * WF_CHAIN_MAX_LINKS + 1, sizeof(*found));
	first = calloc(nrows + 1, sizeof(*first));
	if (!ids || !details || !found || !first) {
		free(first);
		free(ids);
		free(details);
		free(found);
		chains_acc_free(a);
		return http_send_error(h, c, 500, "out of memory");
	}
	/* Row i's links at [first[i], first[i] + nlinks): only real links are looked up. */
	for (size_t i = 0; i < nrows; i++) {
		const struct wf_chain_row *r = chains_acc_row(a, i);

		first[i] = nids;
		for (int l = 0; l < r->chain.nlinks; l++)
			ids[nids++] = r->chain.links[l];
	}
	history_edge_details(h->ctx.history, ids, nids, details, found);
	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "from_ms");
	json_i64(&j, q->from_ms);
	json_key(&j, "to_ms");
	json_i64(&j, q->to_ms);
	json_key(&j, "depth");
	json_i64(&j, q->depth);
	json_key(&j, "matched");
	json_u64(&j, chains_acc_matched(a));
	json_key(&j, "truncated");
	json_bool(&j, chains_acc_matched(a) > nrows || chains_acc_overflowed(a));
	if (info.from_memory_only)
		memory_warning(&j, h);
	json_key(&j, "chains");
	json_arr_begin(&j);
	for (size_t i = 0; i < nrows && !j.failed; i++) {
		const struct wf_chain_row *r = chains_acc_row(a, i);
		bool all = true;

		for (int l = 0; l < r->chain.nlinks; l++)
			all &= found[first[i] + (size_t)l];
		if (!all)
			continue;
		json_answer_chain(&j, r, &details[first[i]], chains_acc_targets(a));
	}
	json_arr_end(&j);
	json_obj_end(&j);
	for (size_t i = 0; i < nids; i++)
		if (found[i])
			store_edge_detail_free(&details[i]);
	free(first);
	free(ids);
	free(details);
	free(found);
	chains_acc_free(a);
	return http_send_json(h, c, 200, &j);
}
