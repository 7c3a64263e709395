// SPDX-License-Identifier: Apache-2.0
/*
 * The store's readers (store.h, "reading"): each query opens its own
 * read-only connection and reads one snapshot (WAL), so the writer is never
 * waited for. What the writer and readers share is in store_int.h.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Page cache per reader, in KiB. A reader lives for one query and reads
 * each blob page once, so a large cache only holds memory: the daemon runs
 * 4 queries at once, and 2 MiB each was up to 8 MiB under bench:api's
 * load, with the same query times at 256 KiB (bench-query, 1 h and 24 h
 * edges). The B-tree's inner pages, looked up again for each edge record,
 * fit. */
#define CACHE_KIB_READER 512
/* Distinct range statements a reader keeps prepared (there are six). */
#define READER_SCANS 8

struct wf_store_reader {
	struct wf_store *s;
	sqlite3 *db;
	/* store_read_edge's statement, prepared on first use and kept: an
	 * edges answer reads up to 1,000 records on one reader. */
	sqlite3_stmt *edge_q;
	/* scan's statements, prepared on first use and kept the same way: a
	 * series answer over a day scans up to 290 ranges (one per block of
	 * minutes it decodes, series_blocks.c), and preparing one costs as
	 * much as decoding 15 blobs. Found by their text (a copy), not the
	 * caller's pointer: store_read_chains builds one in a stack buffer. */
	struct {
		char *sql;
		sqlite3_stmt *q;
	} scans[READER_SCANS];
	size_t nscans;
};

static void reader_error(struct wf_store_reader *r, int rc, const char *what)
{
	store_note_error(r->s, rc, what, r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
}

/* A reader: the header checked (a replaced file is corruption, not an
 * empty store), its own read-only connection, one snapshot for all its
 * statements. */
struct wf_store_reader *store_reader_open(struct wf_store *s)
{
	struct wf_store_reader *r;
	char sql[64];
	int rc;

	if (!store_readable(s))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->s = s;
	rc = store_check_header(store_path(s));
	if (rc == SQLITE_NOTADB) {
		reader_error(r, rc, "reading");
		free(r);
		return NULL;
	}
	rc = store_open_connection(s, &r->db, false);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(r->db, 2000);
		snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", CACHE_KIB_READER);
		store_exec(r->db, sql);
		/* One snapshot for all the statements of a query. */
		rc = store_exec(r->db, "BEGIN");
	}
	if (rc != SQLITE_OK) {
		reader_error(r, rc, "reading");
		store_reader_close(r);
		return NULL;
	}
	return r;
}

void store_reader_close(struct wf_store_reader *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->edge_q);
	for (size_t i = 0; i < r->nscans; i++) {
		sqlite3_finalize(r->scans[i].q);
		free(r->scans[i].sql);
	}
	if (r->db) {
		store_exec(r->db, "COMMIT");
		sqlite3_close_v2(r->db);
	}
	free(r);
}

/* Runs one range statement (?1 tier, ?2 from, ?3 to) and hands each row to
 * blob_cb (start, end, target, blob) or win_cb (start, end) until one of
 * them returns non-zero, which is then returned; -1 on an SQLite error. */
static int scan(struct wf_store_reader *r, const char *sql, int tier, int64_t from, int64_t to, wf_store_blob_cb blob_cb,
		wf_store_window_cb win_cb, void *ctx)
{
	sqlite3_stmt *q = NULL;
	bool kept = false;
	int rc, stop = 0;

	for (size_t i = 0; i < r->nscans && !q; i++)
		if (!strcmp(r->scans[i].sql, sql))
			q = r->scans[i].q;
	kept = q != NULL;
	if (!q) {
		rc = sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL);
		if (rc != SQLITE_OK) {
			reader_error(r, rc, "reading");
			return -1;
		}
		if (r->nscans < READER_SCANS && (r->scans[r->nscans].sql = strdup(sql))) {
			r->scans[r->nscans++].q = q;
			kept = true;
		}
	}
	sqlite3_bind_int(q, 1, tier);
	sqlite3_bind_int64(q, 2, from);
	sqlite3_bind_int64(q, 3, to);
	while (!stop && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t start = sqlite3_column_int64(q, 0), end = sqlite3_column_int64(q, 1);

		if (blob_cb)
			stop = blob_cb(ctx, start, end, (uint32_t)sqlite3_column_int64(q, 2), sqlite3_column_blob(q, 3),
				       (size_t)sqlite3_column_bytes(q, 3));
		else
			stop = win_cb(ctx, start, end);
	}
	if (!stop && rc != SQLITE_DONE) {
		reader_error(r, rc, "reading");
		stop = -1;
	}
	if (kept)
		sqlite3_reset(q);
	else
		sqlite3_finalize(q);
	return stop;
}

/* The windows (or minutes) the agent ran in the range: the primary key's order. */
int store_read_windows(struct wf_store_reader *r, int tier, int64_t from, int64_t to, wf_store_window_cb cb, void *ctx)
{
	return scan(r,
		    "SELECT start_ms, end_ms FROM windows WHERE tier = ?1 AND start_ms >= ?2 AND start_ms < ?3"
		    " ORDER BY start_ms",
		    tier, from, to, NULL, cb, ctx);
}

/* Every target's totals blob in the range (start_ms twice: the callback's
 * end is not needed for totals, which are placed by their start). */
int store_read_totals(struct wf_store_reader *r, int tier, int64_t from, int64_t to, wf_store_blob_cb cb, void *ctx)
{
	return scan(r,
		    "SELECT start_ms, start_ms, target_id, data FROM totals WHERE tier = ?1 AND start_ms >= ?2 AND"
		    " start_ms < ?3 ORDER BY start_ms",
		    tier, from, to, cb, NULL, ctx);
}

/* Every target's edges blob in the range, with its window's end (from the
 * windows row) for the edges' last_seen. */
int store_read_edges(struct wf_store_reader *r, int tier, int64_t from, int64_t to, wf_store_blob_cb cb, void *ctx)
{
	return scan(r,
		    "SELECT e.start_ms, w.end_ms, e.target_id, e.data FROM edge_windows e JOIN windows w"
		    " ON w.tier = e.tier AND w.start_ms = e.start_ms"
		    " WHERE e.tier = ?1 AND e.start_ms >= ?2 AND e.start_ms < ?3 ORDER BY e.start_ms",
		    tier, from, to, cb, NULL, ctx);
}

/* Every target's chains blob in the range, as for edges: the chains column
 * of edge_windows, and the rows an earlier version wrote into a table of
 * their own (chain_windows, empty in a store created since), in one time
 * order. A store from that version opened read-only has no such column. */
int store_read_chains(struct wf_store_reader *r, int tier, int64_t from, int64_t to, wf_store_blob_cb cb, void *ctx)
{
	static const char legacy[] = "SELECT c.start_ms, w.end_ms, c.target_id, c.data FROM chain_windows c JOIN windows w"
				     " ON w.tier = c.tier AND w.start_ms = c.start_ms"
				     " WHERE c.tier = ?1 AND c.start_ms >= ?2 AND c.start_ms < ?3";
	static const char both[] = "SELECT e.start_ms, w.end_ms, e.target_id, e.chains FROM edge_windows e JOIN windows w"
				   " ON w.tier = e.tier AND w.start_ms = e.start_ms"
				   " WHERE e.tier = ?1 AND e.start_ms >= ?2 AND e.start_ms < ?3 AND e.chains IS NOT NULL"
				   " UNION ALL SELECT * FROM (SELECT c.start_ms, w.end_ms, c.target_id, c.data"
				   " FROM chain_windows c JOIN windows w ON w.tier = c.tier AND w.start_ms = c.start_ms"
				   " WHERE c.tier = ?1 AND c.start_ms >= ?2 AND c.start_ms < ?3)"
				   " ORDER BY 1";
	char sql[sizeof(legacy) + 32];

	if (store_has_chains_column(r->s))
		return scan(r, both, tier, from, to, cb, NULL, ctx);
	snprintf(sql, sizeof(sql), "%s ORDER BY 1", legacy);
	return scan(r, sql, tier, from, to, cb, NULL, ctx);
}

/* ---- one edge's full record ---- */

void store_edge_detail_free(struct wf_edge_detail *d)
{
	free(d->edge.waker_stack.frames);
	free(d->edge.target_stack.frames);
	arena_free(&d->arena);
	memset(d, 0, sizeof(*d));
}

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	snprintf(dst, len, "%s", v ? (const char *)v : "");
}

/* Column col as a string in the arena ("" for NULL). */
static char *arena_col(struct wf_arena *a, sqlite3_stmt *q, int col)
{
	const unsigned char *v = sqlite3_column_text(q, col);

	return arena_strndup(a, v ? (const char *)v : "", v ? (size_t)sqlite3_column_bytes(q, col) : 0);
}

/* Splits "a\nb\nc" (in place) into at most max lines; *out is malloc'd. */
static int split_lines(char *text, const char ***out, int *n, int max)
{
	int count = 0;

	*out = NULL;
	*n = 0;
	if (!*text)
		return 0;
	/* memchr and strchr scan a word at a time: a stack is ~1 kB of text
	 * and an edges answer splits 2,000 of them. */
	for (const char *p = text, *end = text + strlen(text); (p = memchr(p, '\n', (size_t)(end - p))); p++)
		count++;
	count++;
	if (count > max)
		count = max;
	*out = malloc((size_t)count * sizeof(char *));
	if (!*out)
		return -1;
	for (char *p = text; p && *n < count;) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		(*out)[(*n)++] = p;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* The text columns an edge's record keeps in its arena until they are split into lines. */
struct edge_text {
	char *facts, *waker_frames, *target_frames;
};

/* The current row of store_read_edge's statement into d (column order as in its SELECT). */
static void edge_from_row(struct wf_store_reader *r, sqlite3_stmt *q, struct wf_edge_detail *d, struct edge_text *t)
{
	struct wf_edge *e = &d->edge;
	char activity[256];
	int flags;

	copy_col(e->waker.comm, sizeof(e->waker.comm), q, 0);
	copy_col(e->waker.proc_comm, sizeof(e->waker.proc_comm), q, 1);
	e->waker.pid = sqlite3_column_int(q, 2);
	e->waker.tid = sqlite3_column_int(q, 3);
	copy_col(e->target.comm, sizeof(e->target.comm), q, 4);
	copy_col(e->target.proc_comm, sizeof(e->target.proc_comm), q, 5);
	e->target.pid = sqlite3_column_int(q, 6);
	e->target.tid = sqlite3_column_int(q, 7);
	copy_col(e->preemptor.comm, sizeof(e->preemptor.comm), q, 8);
	e->preemptor.pid = sqlite3_column_int(q, 9);
	e->preemptor.tid = sqlite3_column_int(q, 10);
	e->context = (enum wf_context)sqlite3_column_int(q, 11);
	e->kind = (enum wf_switch_kind)sqlite3_column_int(q, 12);
	flags = sqlite3_column_int(q, 13);
	e->count_known = flags & EF_COUNT_KNOWN;
	e->runq_known = flags & EF_RUNQ_KNOWN;
	e->stacks_sampled = flags & EF_STACKS_SAMPLED;
	e->offcpu_unknown = flags & EF_OFFCPU_UNKNOWN;
	e->category = sqlite3_column_int(q, 14);
	e->role = sqlite3_column_int(q, 15);
	t->facts = arena_col(&d->arena, q, 16);
	t->waker_frames = arena_col(&d->arena, q, 18);
	t->target_frames = arena_col(&d->arena, q, 20);
	/* The builds of the stacks' unnamed frames, for names at read time. */
	e->waker_stack.builds = sqlite3_column_type(q, 22) == SQLITE_NULL ? NULL : arena_col(&d->arena, q, 22);
	e->target_stack.builds = sqlite3_column_type(q, 23) == SQLITE_NULL ? NULL : arena_col(&d->arena, q, 23);
	/* The activity's name comes from the catalog. */
	catalog_name(store_catalog(r->s), (uint32_t)sqlite3_column_int64(q, 21), activity, sizeof(activity));
	e->activity = activity[0] ? arena_strndup(&d->arena, activity, strlen(activity)) : NULL;
	/* A stack never stored (not sampled) has no row: nkernel -1. */
	e->waker_stack.nkernel = sqlite3_column_type(q, 17) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 17);
	e->target_stack.nkernel = sqlite3_column_type(q, 19) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 19);
}

/* Frames and facts are stored one per line: split them into the edge's arrays. */
static int edge_split_text(struct wf_edge *e, struct edge_text *t)
{
	const char **lines;
	int n;

	if (split_lines(t->waker_frames, &lines, &n, 1 << 16))
		return -1;
	e->waker_stack.frames = lines;
	e->waker_stack.nframes = n;
	if (split_lines(t->target_frames, &lines, &n, 1 << 16))
		return -1;
	e->target_stack.frames = lines;
	e->target_stack.nframes = n;
	if (split_lines(t->facts, &lines, &n, WF_MAX_FACTS))
		return -1;
	for (int i = 0; i < n; i++)
		e->facts[i] = lines[i];
	e->nfacts = n;
	free(lines);
	return 0;
}

int store_read_edge(struct wf_store_reader *r, uint32_t id, struct wf_edge_detail *out)
{
	/* The edge's record with both its stacks (and their builds), by id; a
	 * store from an earlier version opened read-only has no builds. */
#define EDGE_COLUMNS                                                                                     \
	"SELECT e.waker_comm, e.waker_proc, e.waker_pid, e.waker_tid, e.target_comm, e.target_proc,"    \
	" e.target_pid, e.target_tid, e.preemptor_comm, e.preemptor_pid, e.preemptor_tid, e.context,"   \
	" e.kind, e.flags, e.category, e.role, e.facts, ws.nkernel, ws.frames, ts.nkernel, ts.frames," \
	" e.activity"
#define EDGE_STACKS                                                       \
	" FROM edges e LEFT JOIN stacks ws ON ws.hash = e.waker_stack" \
	" LEFT JOIN stacks ts ON ts.hash = e.target_stack"
	static const char sql[] = EDGE_COLUMNS ", wb.text, tb.text" EDGE_STACKS
					       " LEFT JOIN builds wb ON wb.hash = ws.builds"
					       " LEFT JOIN builds tb ON tb.hash = ts.builds WHERE e.id = ?";
	static const char sql_no_builds[] = EDGE_COLUMNS ", NULL, NULL" EDGE_STACKS " WHERE e.id = ?";
#undef EDGE_COLUMNS
#undef EDGE_STACKS
	struct edge_text text;
	sqlite3_stmt *q;
	int rc;

	memset(out, 0, sizeof(*out));
	edge_init(&out->edge);
	arena_init(&out->arena);
	if (!r->edge_q) {
		rc = sqlite3_prepare_v3(r->db, store_has_builds_column(r->s) ? sql : sql_no_builds, -1,
					SQLITE_PREPARE_PERSISTENT, &r->edge_q, NULL);
		if (rc != SQLITE_OK) {
			reader_error(r, rc, "reading");
			return -1;
		}
	}
	q = r->edge_q;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			reader_error(r, rc, "reading");
		sqlite3_reset(q);
		return rc == SQLITE_DONE ? 1 : -1;
	}
	edge_from_row(r, q, out, &text);
	/* Reset for the next edge; the row's text is in the arena by now. */
	sqlite3_reset(q);
	if (out->arena.failed || edge_split_text(&out->edge, &text)) {
		store_edge_detail_free(out);
		return -1;
	}
	return 0;
}
