// SPDX-License-Identifier: Apache-2.0
/*
 * The store's writer (store.h, "writing"): one transaction per window (the
 * catalog's changes, the window row, its blobs), then the roll-up of
 * finished minutes and, once a minute, retention. Main loop only.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "store_int.h"
#include "window.h"

#define REOPEN_INTERVAL_MS (30 * 1000LL)
#define RETENTION_INTERVAL_MS (60 * 1000LL)
#define CATALOG_EXPIRY_INTERVAL_MS (3600 * 1000LL)

/* Runs a prepared statement once and readies it for the next bindings. */
static int step_reset(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* FNV-1a of a text, continuing from h. */
static uint64_t fnv_text(uint64_t h, const char *p)
{
	for (; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	return h;
}

/* FNV-1a over the frames and nkernel (and the builds, where the stack has
 * them: two builds of one basename show the same texts): the stacks
 * table's key, so a stack shared by many edges is stored once. */
static uint64_t stack_hash(const struct wf_stack *st)
{
	uint64_t h = 1469598103934665603ULL;

	for (int i = 0; i < st->nframes; i++) {
		const char *f = st->frames[i] ? st->frames[i] : "";

		for (const char *p = f; *p; p++) {
			h ^= (unsigned char)*p;
			h *= 1099511628211ULL;
		}
		h ^= '\n';
		h *= 1099511628211ULL;
	}
	h ^= (uint64_t)(int64_t)st->nkernel;
	h *= 1099511628211ULL;
	if (st->builds) {
		h ^= '\n';
		h *= 1099511628211ULL;
		h = fnv_text(h, st->builds);
	}
	return h;
}

/* Frames joined by newlines (a newline inside a frame name becomes a space). */
static char *join_frames(const struct wf_stack *st)
{
	size_t len = 1;
	char *buf, *p;

	for (int i = 0; i < st->nframes; i++)
		len += strlen(st->frames[i] ? st->frames[i] : "") + 1;
	buf = malloc(len);
	if (!buf)
		return NULL;
	p = buf;
	for (int i = 0; i < st->nframes; i++) {
		const char *f = st->frames[i] ? st->frames[i] : "";

		if (i)
			*p++ = '\n';
		for (; *f; f++)
			*p++ = *f == '\n' ? ' ' : *f;
	}
	*p = '\0';
	return buf;
}

/* Stores a stack's builds text unless stored already; *hash_out is its key. */
static int put_builds(struct wf_store *s, const char *builds, int64_t *hash_out)
{
	sqlite3_stmt *q = s->st[ST_BUILDS];
	uint64_t h = fnv_text(1469598103934665603ULL, builds);

	*hash_out = (int64_t)(h ? h : 1);
	sqlite3_bind_int64(q, 1, *hash_out);
	sqlite3_bind_text(q, 2, builds, -1, SQLITE_STATIC);
	return step_reset(q);
}

/* Stores a stack unless stored already; *hash_out is its key. */
static int put_stack(struct wf_store *s, const struct wf_stack *st, int64_t *hash_out)
{
	sqlite3_stmt *q = s->st[ST_STACK];
	int64_t builds = 0;
	char *frames;
	int rc;

	if (st->builds && (rc = put_builds(s, st->builds, &builds)) != SQLITE_OK)
		return rc;
	frames = join_frames(st);
	if (!frames)
		return SQLITE_NOMEM;
	*hash_out = (int64_t)stack_hash(st);
	sqlite3_bind_int64(q, 1, *hash_out);
	sqlite3_bind_int(q, 2, st->nkernel);
	sqlite3_bind_text(q, 3, frames, -1, free);
	if (st->builds)
		sqlite3_bind_int64(q, 4, builds);
	else
		sqlite3_bind_null(q, 4);
	rc = step_reset(q);
	return rc;
}

/* Facts one per line, as store_read_edge splits them. */
static void join_facts(const struct wf_edge *e, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < e->nfacts && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "\n" : "", e->facts[i]);
}

/* An edge the catalog marked dirty: with e (new, or details to store),
 * the whole record and its two stacks; without, only last_seen_ms. */
static int put_edge(struct wf_store *s, const struct wf_edge_meta *m, const struct wf_edge *e)
{
	sqlite3_stmt *q;
	int64_t wh = 0, th = 0;
	char facts[WF_MAX_FACTS * 64];
	int rc, c = 1, flags;

	if (!e) {
		q = s->st[ST_EDGE_SEEN];
		sqlite3_bind_int64(q, 1, m->last_seen_ms);
		sqlite3_bind_int64(q, 2, m->id);
		return step_reset(q);
	}
	rc = put_stack(s, &e->waker_stack, &wh);
	if (rc == SQLITE_OK)
		rc = put_stack(s, &e->target_stack, &th);
	if (rc != SQLITE_OK)
		return rc;
	join_facts(e, facts, sizeof(facts));
	flags = (e->count_known ? EF_COUNT_KNOWN : 0) | (e->runq_known ? EF_RUNQ_KNOWN : 0) |
		(e->stacks_sampled ? EF_STACKS_SAMPLED : 0) | (e->offcpu_unknown ? EF_OFFCPU_UNKNOWN : 0);
	q = s->st[ST_EDGE_NEW];
	sqlite3_bind_int64(q, c++, m->id);
	sqlite3_bind_int64(q, c++, (int64_t)m->hash);
	sqlite3_bind_int64(q, c++, m->target_id);
	sqlite3_bind_int64(q, c++, m->thread);
	sqlite3_bind_int(q, c++, m->role);
	sqlite3_bind_int(q, c++, m->category);
	sqlite3_bind_int64(q, c++, m->activity);
	sqlite3_bind_int64(q, c++, m->first_seen_ms);
	sqlite3_bind_int64(q, c++, m->last_seen_ms);
	sqlite3_bind_text(q, c++, e->waker.comm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, c++, e->waker.proc_comm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, c++, e->waker.pid);
	sqlite3_bind_int(q, c++, e->waker.tid);
	sqlite3_bind_text(q, c++, e->target.comm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, c++, e->target.proc_comm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, c++, e->target.pid);
	sqlite3_bind_int(q, c++, e->target.tid);
	sqlite3_bind_text(q, c++, e->preemptor.comm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(q, c++, e->preemptor.pid);
	sqlite3_bind_int(q, c++, e->preemptor.tid);
	sqlite3_bind_int(q, c++, e->context);
	sqlite3_bind_int(q, c++, e->kind);
	sqlite3_bind_int(q, c++, flags);
	sqlite3_bind_int64(q, c++, wh);
	sqlite3_bind_int64(q, c++, th);
	sqlite3_bind_text(q, c++, facts, -1, SQLITE_TRANSIENT);
	return step_reset(q);
}

static void labels_to_text(const struct wf_labels *l, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < WF_LABEL__COUNT && used < len; i++)
		if (l->value[i][0])
			used += (size_t)snprintf(buf + used, len - used, "%s=%s\n",
						 discovery_label_name((enum wf_label)i), l->value[i]);
}

/* What the catalog gained, changed or forgot since the last write: names,
 * then targets, then edges (which refer to both). */
static int put_catalog(struct wf_store *s, const struct wf_catalog_dirty *d)
{
	int rc = SQLITE_OK;
	char labels[WF_LABEL__COUNT * (WF_LABEL_MAX + 32)];

	/* Forgotten names first: a new name may take one of their ids. */
	for (size_t i = 0; i < d->nforgotten && rc == SQLITE_OK; i++) {
		sqlite3_bind_int64(s->st[ST_NAME_FORGET], 1, d->forgotten_names[i]);
		rc = step_reset(s->st[ST_NAME_FORGET]);
	}
	for (size_t i = 0; i < d->nnames && rc == SQLITE_OK; i++) {
		sqlite3_bind_int64(s->st[ST_NAME], 1, d->name_ids[i]);
		sqlite3_bind_text(s->st[ST_NAME], 2, d->names[i], -1, SQLITE_STATIC);
		rc = step_reset(s->st[ST_NAME]);
	}
	for (size_t i = 0; i < d->ntargets && rc == SQLITE_OK; i++) {
		const struct wf_target *t = &d->targets[i];
		sqlite3_stmt *q = s->st[ST_TARGET];

		labels_to_text(&t->labels, labels, sizeof(labels));
		sqlite3_bind_int64(q, 1, t->id);
		sqlite3_bind_int(q, 2, t->pid);
		sqlite3_bind_int64(q, 3, (int64_t)t->start_time);
		sqlite3_bind_text(q, 4, t->comm, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 5, t->exe, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 6, labels, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 7, t->first_seen_ms);
		sqlite3_bind_int64(q, 8, t->last_seen_ms);
		sqlite3_bind_int(q, 9, t->alive);
		rc = step_reset(q);
	}
	for (size_t i = 0; i < d->nedges && rc == SQLITE_OK; i++)
		rc = put_edge(s, &d->edges[i], d->has_detail[i] ? &d->details[i] : NULL);
	return rc;
}

/* One per-target totals row of a window or minute. */
static int put_totals(struct wf_store *s, int tier, int64_t start, uint32_t target, const uint8_t *data, size_t len)
{
	sqlite3_stmt *q = s->st[ST_TOTALS];

	sqlite3_bind_int(q, 1, tier);
	sqlite3_bind_int64(q, 2, start);
	sqlite3_bind_int64(q, 3, target);
	sqlite3_bind_blob64(q, 4, data, len, SQLITE_STATIC);
	return step_reset(q);
}

/* One per-target edges row of a window or minute: the edges blob and the
 * chains blob in its second column (NULL when chains_len is 0). */
static int put_edges(struct wf_store *s, int tier, int64_t start, uint32_t target, const uint8_t *edges,
		     size_t edges_len, const uint8_t *chains, size_t chains_len)
{
	sqlite3_stmt *q = s->st[ST_EDGEWIN];

	sqlite3_bind_int(q, 1, tier);
	sqlite3_bind_int64(q, 2, start);
	sqlite3_bind_int64(q, 3, target);
	sqlite3_bind_blob64(q, 4, edges, edges_len, SQLITE_STATIC);
	if (chains_len)
		sqlite3_bind_blob64(q, 5, chains, chains_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 5);
	return step_reset(q);
}

/* The row that says the agent ran over [start, end) at this tier. */
static int put_window(struct wf_store *s, int tier, int64_t start, int64_t end)
{
	sqlite3_stmt *q = s->st[ST_WINDOW];

	sqlite3_bind_int(q, 1, tier);
	sqlite3_bind_int64(q, 2, start);
	sqlite3_bind_int64(q, 3, end);
	return step_reset(q);
}

/* One meta value (schema, rolled_until_ms). */
static int put_meta(struct wf_store *s, const char *key, int64_t v)
{
	sqlite3_stmt *q = s->st[ST_META];

	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, v);
	return step_reset(q);
}

/* Merged windows of one minute, per target. */
struct rollup {
	struct wf_wtarget *t;
	size_t n, cap;
	struct wf_wtarget scratch;
	struct wf_buf buf;
};

/* The minute's accumulator for target id, added on first sight. */
static struct wf_wtarget *rollup_target(struct rollup *r, uint32_t id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->t[i].target_id == id)
			return &r->t[i];
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct wf_wtarget *p = realloc(r->t, cap * sizeof(*p));

		if (!p)
			return NULL;
		r->t = p;
		r->cap = cap;
	}
	wtarget_init(&r->t[r->n], id);
	return &r->t[r->n++];
}

static void rollup_clear(struct rollup *r)
{
	for (size_t i = 0; i < r->n; i++)
		wtarget_free(&r->t[i]);
	r->n = 0;
}

static void rollup_free(struct rollup *r)
{
	rollup_clear(r);
	free(r->t);
	wtarget_free(&r->scratch);
	wf_buf_free(&r->buf);
}

/* Decodes one row's blob into the scratch and merges it into the target's
 * accumulator; decode is one of window.h's decoders (each fills only its
 * own list, so the scratch is cleared first). */
static int rollup_merge(struct rollup *r, uint32_t target, int (*decode)(struct wf_wtarget *, const uint8_t *, size_t),
			const void *blob, int len)
{
	struct wf_wtarget *t = rollup_target(r, target);

	if (!t)
		return SQLITE_NOMEM;
	wtarget_clear(&r->scratch);
	/* A row that does not decode is corruption in all but name. */
	if (decode(&r->scratch, blob, (size_t)len))
		return SQLITE_CORRUPT;
	return wtarget_merge(t, &r->scratch) ? SQLITE_NOMEM : SQLITE_OK;
}

/* Runs sql (?1, ?2: the minute) and merges each row's blobs, columns 1 and
 * (unless second is NULL) 2 of (target_id, blob[, blob]); a NULL blob is
 * skipped. */
static int rollup_scan(struct wf_store *s, struct rollup *r, const char *sql, int64_t m,
		       int (*first)(struct wf_wtarget *, const uint8_t *, size_t),
		       int (*second)(struct wf_wtarget *, const uint8_t *, size_t))
{
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(q, 1, m);
	sqlite3_bind_int64(q, 2, m + WF_MINUTE_MS);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		uint32_t target = (uint32_t)sqlite3_column_int64(q, 0);
		int merged = SQLITE_OK;

		for (int c = 1; c <= 2 && merged == SQLITE_OK; c++) {
			int (*decode)(struct wf_wtarget *, const uint8_t *, size_t) = c == 1 ? first : second;

			if (decode && sqlite3_column_type(q, c) != SQLITE_NULL)
				merged = rollup_merge(r, target, decode, sqlite3_column_blob(q, c),
						      sqlite3_column_bytes(q, c));
		}
		if (merged != SQLITE_OK) {
			rc = merged;
			break;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The minute [m, m + 1 min)'s totals rows, merged into one tier-1 row per target. */
static int rollup_totals(struct wf_store *s, struct rollup *r, int64_t m)
{
	int rc;

	rollup_clear(r);
	rc = rollup_scan(s, r, "SELECT target_id, data FROM totals WHERE tier = 0 AND start_ms >= ?1 AND start_ms < ?2",
			 m, wtarget_decode_totals, NULL);
	for (size_t i = 0; i < r->n && rc == SQLITE_OK; i++) {
		wtarget_normalize(&r->t[i]);
		if (wtarget_encode_totals(&r->t[i], &r->buf))
			return SQLITE_NOMEM;
		rc = put_totals(s, WF_TIER_MINUTE, m, r->t[i].target_id, r->buf.data, r->buf.len);
	}
	return rc;
}

/* The minute's edges and chains (the edge_windows column, and the legacy
 * chain_windows rows of a store from the earlier version), merged into one
 * tier-1 edge_windows row per target with both blobs. */
static int rollup_edges(struct wf_store *s, struct rollup *r, int64_t m)
{
	struct wf_buf chains = { 0 };
	int rc;

	rollup_clear(r);
	rc = rollup_scan(s, r,
			 "SELECT target_id, data, chains FROM edge_windows WHERE tier = 0 AND start_ms >= ?1 AND"
			 " start_ms < ?2",
			 m, wtarget_decode_edges, wtarget_decode_chains);
	if (rc == SQLITE_OK)
		rc = rollup_scan(s, r,
				 "SELECT target_id, data FROM chain_windows WHERE tier = 0 AND start_ms >= ?1 AND"
				 " start_ms < ?2",
				 m, wtarget_decode_chains, NULL);
	for (size_t i = 0; i < r->n && rc == SQLITE_OK; i++) {
		struct wf_wtarget *t = &r->t[i];

		wtarget_normalize(t);
		chains.len = 0;
		if (wtarget_encode_edges(t, &r->buf) || (t->nchains && wtarget_encode_chains(t, &chains))) {
			rc = SQLITE_NOMEM;
			break;
		}
		rc = put_edges(s, WF_TIER_MINUTE, m, t->target_id, r->buf.data, r->buf.len, chains.data,
			       t->nchains ? chains.len : 0);
	}
	wf_buf_free(&chains);
	return rc;
}

/*
 * Rolls up every minute with tier-0 windows before until_ms not yet rolled:
 * find those minutes, then in one transaction merge each minute's totals,
 * edges and chains into tier-1 rows, write the minute's window row and move
 * rolled_until_ms. A crash rolls the same minutes again (rows are keyed,
 * INSERT OR REPLACE), never half of one.
 */
static int rollup(struct wf_store *s, int64_t until_ms)
{
	int64_t from;
	int64_t *minutes = NULL;
	size_t n = 0, cap = 0;
	struct rollup r = { 0 };
	sqlite3_stmt *q;
	int rc;

	pthread_mutex_lock(&s->lock);
	from = s->status.rolled_until_ms;
	pthread_mutex_unlock(&s->lock);
	if (until_ms <= from)
		return SQLITE_OK;
	/* The minutes to roll, each with the end of its last window (a minute
	 * the agent ran only part of ends there, not at the full minute). */
	rc = sqlite3_prepare_v2(s->db,
				"SELECT DISTINCT start_ms / 60000, max(end_ms) FROM windows WHERE tier = 0 AND"
				" start_ms >= ? AND start_ms < ? GROUP BY start_ms / 60000",
				-1, &q, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(q, 1, from);
	sqlite3_bind_int64(q, 2, until_ms);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n + 2 > cap) {
			int64_t *p;

			cap = cap ? cap * 2 : 16;
			p = realloc(minutes, cap * sizeof(*p));
			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			minutes = p;
		}
		minutes[n++] = sqlite3_column_int64(q, 0) * WF_MINUTE_MS;
		minutes[n++] = sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE && rc != SQLITE_NOMEM)
		goto out;
	if (rc == SQLITE_NOMEM)
		goto out;
	rc = store_exec(s->db, "BEGIN IMMEDIATE");
	for (size_t i = 0; i < n && rc == SQLITE_OK; i += 2) {
		rc = rollup_totals(s, &r, minutes[i]);
		if (rc == SQLITE_OK)
			rc = rollup_edges(s, &r, minutes[i]);
		if (rc == SQLITE_OK)
			rc = put_window(s, WF_TIER_MINUTE, minutes[i], minutes[i + 1]);
	}
	if (rc == SQLITE_OK)
		rc = put_meta(s, "rolled_until_ms", until_ms);
	if (rc == SQLITE_OK)
		rc = store_exec(s->db, "COMMIT");
	if (rc != SQLITE_OK) {
		store_exec(s->db, "ROLLBACK");
	} else {
		pthread_mutex_lock(&s->lock);
		s->status.rolled_until_ms = until_ms;
		pthread_mutex_unlock(&s->lock);
	}
out:
	free(minutes);
	rollup_free(&r);
	return rc;
}

/* Hourly, or twice per retention when it is shorter: the catalog's tables
 * are then never more than half a retention past their bound. */
static int64_t catalog_expiry_interval(const struct wf_store *s)
{
	return CATALOG_EXPIRY_INTERVAL_MS < s->opts.retention_ms / 2 ? CATALOG_EXPIRY_INTERVAL_MS
								      : s->opts.retention_ms / 2;
}

/*
 * Drops what is older than the retention, in one transaction: tier-0 rows
 * past fine_retention and tier-1 rows past retention; once an hour (or
 * twice per retention, if shorter) also
 * the catalog rows nothing refers to any more. Then gives back some free
 * pages.
 */
static int retention(struct wf_store *s, int64_t now_ms)
{
	int64_t fine_cut = now_ms - s->opts.fine_retention_ms;
	int64_t cut = now_ms - s->opts.retention_ms;
	static const char *const tables[] = { "totals", "edge_windows", "chain_windows", "windows" };
	char sql[160];
	int rc = store_exec(s->db, "BEGIN IMMEDIATE");

	/* One statement per tier, so each walks the (tier, start_ms) key. */
	for (size_t i = 0; i < 2 * sizeof(tables) / sizeof(tables[0]) && rc == SQLITE_OK; i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE tier = %zu AND start_ms < %lld", tables[i / 2], i % 2,
			 (long long)(i % 2 ? cut : fine_cut));
		rc = store_exec(s->db, sql);
	}
	if (rc == SQLITE_OK && now_ms - s->last_expiry_ms >= catalog_expiry_interval(s)) {
		/* The catalog: edges and gone targets no window refers to any more,
		 * then stacks no edge refers to. An edge's stored last_seen lags
		 * by up to the catalog's slack: one still seen is never deleted. */
		snprintf(sql, sizeof(sql), "DELETE FROM edges WHERE last_seen_ms < %lld",
			 (long long)(cut - catalog_seen_slack(s->cat)));
		rc = store_exec(s->db, sql);
		if (rc == SQLITE_OK) {
			snprintf(sql, sizeof(sql), "DELETE FROM targets WHERE last_seen_ms < %lld AND alive = 0",
				 (long long)cut);
			rc = store_exec(s->db, sql);
		}
		if (rc == SQLITE_OK)
			rc = store_exec(s->db, "DELETE FROM stacks WHERE hash NOT IN (SELECT waker_stack FROM edges)"
					 " AND hash NOT IN (SELECT target_stack FROM edges)");
		if (rc == SQLITE_OK)
			rc = store_exec(s->db, "DELETE FROM builds WHERE hash NOT IN"
					 " (SELECT builds FROM stacks WHERE builds IS NOT NULL)");
		if (rc == SQLITE_OK)
			s->last_expiry_ms = now_ms;
	}
	if (rc == SQLITE_OK)
		rc = store_exec(s->db, "COMMIT");
	if (rc != SQLITE_OK) {
		store_exec(s->db, "ROLLBACK");
		return rc;
	}
	/* Hand freed pages back to the file system a little at a time, so the
	 * file shrinks after a burst without one long stall. */
	store_exec(s->db, "PRAGMA incremental_vacuum(2048)");
	s->last_retention_ms = now_ms;
	store_refresh_extent(s);
	return SQLITE_OK;
}

/* Whether a write may go ahead: not after corruption, a closed store is
 * reopened at most every REOPEN_INTERVAL_MS, and the file must still be
 * ours. 0, or -1 with the error counted. */
static int writable(struct wf_store *s, int64_t now_ms)
{
	bool corrupt;
	int rc;

	pthread_mutex_lock(&s->lock);
	corrupt = s->status.state == WF_STORE_CORRUPT;
	pthread_mutex_unlock(&s->lock);
	if (corrupt) {
		store_count_error(s);
		return -1;
	}
	if (!s->db) {
		if (now_ms - s->last_open_try_ms < REOPEN_INTERVAL_MS) {
			store_count_error(s);
			return -1;
		}
		s->last_open_try_ms = now_ms;
		/* The catalog is already in memory (ids assigned from it): a store
		 * that appears later is only written to. */
		if (store_open_db(s, false))
			return -1;
	}
	rc = store_check_header(s->path);
	if (rc) {
		store_note_error(s, rc, "writing", rc == SQLITE_NOTADB ? "the file is no longer an SQLite database" :
								     "the file disappeared");
		store_close_db(s);
		return -1;
	}
	return 0;
}

/* One transaction: the catalog's new and changed rows, the window's row,
 * then each target's totals blob and its edges and chains blobs. 0, or -1 rolled back. */
static int write_window_tx(struct wf_store *s, const struct wf_store_window *w, struct wf_catalog_dirty *d)
{
	int rc = store_exec(s->db, "BEGIN IMMEDIATE");

	if (rc == SQLITE_OK)
		rc = put_catalog(s, d);
	if (rc == SQLITE_OK)
		rc = put_window(s, WF_TIER_WINDOW, w->start_ms, w->end_ms);
	for (size_t i = 0; i < w->ntargets && rc == SQLITE_OK; i++) {
		const struct wf_store_target *t = &w->targets[i];

		rc = put_totals(s, WF_TIER_WINDOW, w->start_ms, t->target_id, t->totals, t->totals_len);
		if (rc == SQLITE_OK)
			rc = put_edges(s, WF_TIER_WINDOW, w->start_ms, t->target_id, t->edges, t->edges_len, t->chains,
				       t->chains_len);
	}
	if (rc == SQLITE_OK)
		rc = store_exec(s->db, "COMMIT");
	if (rc != SQLITE_OK) {
		const char *msg = sqlite3_errmsg(s->db);
		char detail[200];

		snprintf(detail, sizeof(detail), "%s", msg);
		store_exec(s->db, "ROLLBACK");
		store_note_error(s, rc, "writing", detail);
		if (store_is_corruption(rc))
			store_close_db(s);
		return -1;
	}
	return 0;
}

int store_write_window(struct wf_store *s, const struct wf_store_window *w, int64_t now_ms)
{
	struct wf_catalog_dirty d;
	double t0 = mono_ms();
	int rc;

	/* Names handed out for the next window are stamped no earlier than
	 * this one, even on a node where nothing was seen for a while. */
	catalog_advance_clock(s->cat, now_ms);
	if (writable(s, now_ms))
		return -1;
	if (catalog_dirty(s->cat, &d)) {
		store_note_error(s, SQLITE_NOMEM, "writing", "out of memory");
		return -1;
	}
	if (write_window_tx(s, w, &d)) {
		catalog_dirty_free(&d);
		return -1;
	}
	catalog_mark_clean(s->cat, &d);
	catalog_dirty_free(&d);

	/* Minutes before this window's are complete: windows are written in
	 * order and never straddle a minute. */
	rc = rollup(s, w->start_ms / WF_MINUTE_MS * WF_MINUTE_MS);
	if (rc == SQLITE_OK && now_ms - s->last_retention_ms >= RETENTION_INTERVAL_MS)
		rc = retention(s, now_ms);
	if (rc != SQLITE_OK) {
		store_note_error(s, rc, "rolling up", sqlite3_errmsg(s->db));
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	if (s->status.oldest_ms < 0 || w->start_ms < s->status.oldest_ms)
		s->status.oldest_ms = w->start_ms;
	if (w->end_ms > s->status.newest_ms)
		s->status.newest_ms = w->end_ms;
	s->status.windows_written++;
	s->status.last_write_ms = mono_ms() - t0;
	pthread_mutex_unlock(&s->lock);
	store_note_ok(s);
	return 0;
}
