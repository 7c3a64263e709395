// SPDX-License-Identifier: Apache-2.0
/*
 * The store's file and its writer connection (store.h): creating it
 * privately, the schema, loading the catalog, errors and status. What is
 * written into it, window by window, is store_write.c; the readers are
 * store_read.c; what the three share is store_int.h.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "logging.h"
#include "store_int.h"

#define SCHEMA_VERSION 1
/* Page cache per connection, in KiB (negative: SQLite's unit for KiB). */
#define CACHE_KIB_WRITER 4096

/* The schema, created on first open (store.h and docs/api.md describe the
 * tables): names, targets, stacks and edges are the catalog; windows,
 * totals and edge_windows hold one row per window (tier 0) or per minute
 * (tier 1), keyed by (tier, start_ms) so range scans and retention walk
 * the primary key. */
static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS names(id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE);"
	"CREATE TABLE IF NOT EXISTS targets(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL,"
	" start_time INTEGER NOT NULL, comm TEXT NOT NULL, exe TEXT NOT NULL, labels TEXT NOT NULL,"
	" first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, alive INTEGER NOT NULL);"
	/* builds: the stack's builds text (edge.h, wf_stack.builds) by its
	 * hash in the builds table, NULL where it has none; a store from
	 * before gains the column (store_migrate). A stack's builds are few
	 * and shared by thousands of stacks, so each is stored once. */
	"CREATE TABLE IF NOT EXISTS stacks(hash INTEGER PRIMARY KEY, nkernel INTEGER NOT NULL,"
	" frames TEXT NOT NULL, builds INTEGER);"
	"CREATE TABLE IF NOT EXISTS builds(hash INTEGER PRIMARY KEY, text TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS edges(id INTEGER PRIMARY KEY, hash INTEGER NOT NULL UNIQUE,"
	" target_id INTEGER NOT NULL, thread INTEGER NOT NULL, role INTEGER NOT NULL,"
	" category INTEGER NOT NULL, activity INTEGER NOT NULL,"
	" first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
	" waker_comm TEXT, waker_proc TEXT, waker_pid INTEGER, waker_tid INTEGER,"
	" target_comm TEXT, target_proc TEXT, target_pid INTEGER, target_tid INTEGER,"
	" preemptor_comm TEXT, preemptor_pid INTEGER, preemptor_tid INTEGER,"
	" context INTEGER, kind INTEGER, flags INTEGER, waker_stack INTEGER, target_stack INTEGER,"
	" facts TEXT);"
	"CREATE TABLE IF NOT EXISTS windows(tier INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
	" end_ms INTEGER NOT NULL, PRIMARY KEY(tier, start_ms)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS totals(tier INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
	" target_id INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(tier, start_ms, target_id));"
	/* chains: the window's chains blob beside its edges blob, NULL where the
	 * target had none. One row holds both, so a chains blob of 2-4 KB costs
	 * its bytes, not a page of its own (docs/performance.md, "Chains in the
	 * store"). A store from before gains the column (store_migrate). */
	"CREATE TABLE IF NOT EXISTS edge_windows(tier INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
	" target_id INTEGER NOT NULL, data BLOB NOT NULL, chains BLOB, PRIMARY KEY(tier, start_ms, target_id));"
	/* Where the first version with chains kept them, one row per window and
	 * target: never written now, still read, rolled up and expired, so a store
	 * written by that version keeps its chains until they expire (empty in a
	 * store created since: two pages). */
	"CREATE TABLE IF NOT EXISTS chain_windows(tier INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
	" target_id INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(tier, start_ms, target_id));";


/* The writer's statements, prepared once per connection (store_open_db). */
static const char *const stmt_sql[ST__COUNT] = {
	/* A catalog name (thread, activity) under its catalog id. The id may be
	 * one the catalog forgot and handed out again, and a row whose delete
	 * was lost may still hold the string: REPLACE drops either. */
	[ST_NAME] = "INSERT OR REPLACE INTO names(id, s) VALUES(?, ?)",
	/* A name the catalog forgot (catalog_prune): no stored row refers to it. */
	[ST_NAME_FORGET] = "DELETE FROM names WHERE id = ?",
	/* A target as the catalog has it now (last_seen_ms and alive change). */
	[ST_TARGET] = "INSERT OR REPLACE INTO targets(id, pid, start_time, comm, exe, labels, first_seen_ms,"
		      " last_seen_ms, alive) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
	/* A stack, once: its hash is over its frames (stack_hash). */
	[ST_STACK] = "INSERT OR IGNORE INTO stacks(hash, nkernel, frames, builds) VALUES(?, ?, ?, ?)",
	/* A stack's builds text, once: its hash is over the text. */
	[ST_BUILDS] = "INSERT OR IGNORE INTO builds(hash, text) VALUES(?, ?)",
	/* An edge's first record: identity, classification, stacks by hash. */
	[ST_EDGE_NEW] = "INSERT OR REPLACE INTO edges(id, hash, target_id, thread, role, category, activity,"
			" first_seen_ms, last_seen_ms, waker_comm, waker_proc, waker_pid, waker_tid, target_comm,"
			" target_proc, target_pid, target_tid, preemptor_comm, preemptor_pid, preemptor_tid,"
			" context, kind, flags, waker_stack, target_stack, facts)"
			" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	/* An edge seen again: only its last_seen_ms moves. */
	[ST_EDGE_SEEN] = "UPDATE edges SET last_seen_ms = max(last_seen_ms, ?) WHERE id = ?",
	/* The window (or rolled-up minute) itself: tells "no data" from "not running". */
	[ST_WINDOW] = "INSERT OR REPLACE INTO windows(tier, start_ms, end_ms) VALUES(?, ?, ?)",
	/* Per target, its threads' totals blob (window.h). */
	[ST_TOTALS] = "INSERT OR REPLACE INTO totals(tier, start_ms, target_id, data) VALUES(?, ?, ?, ?)",
	/* Per target, its edges' numbers blob and its chains' (NULL: none), window.h. */
	[ST_EDGEWIN] = "INSERT OR REPLACE INTO edge_windows(tier, start_ms, target_id, data, chains)"
		       " VALUES(?, ?, ?, ?, ?)",
	/* schema version and rolled_until_ms, the roll-up's progress. */
	[ST_META] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
};


const char *store_state_name(enum wf_store_state st)
{
	switch (st) {
	case WF_STORE_OK:
		return "ok";
	case WF_STORE_FAILING:
		return "failing";
	case WF_STORE_CORRUPT:
		return "corrupt";
	}
	return "?";
}

bool store_is_corruption(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* Records an error (any thread); corruption is sticky until restart. */
void store_note_error(struct wf_store *s, int rc, const char *what, const char *detail)
{
	bool corrupt = store_is_corruption(rc);
	bool log_it;

	pthread_mutex_lock(&s->lock);
	s->status.errors++;
	/* Log transitions, not every failed window of a long outage. */
	log_it = s->status.state == WF_STORE_OK || (corrupt && s->status.state != WF_STORE_CORRUPT);
	if (s->status.state != WF_STORE_CORRUPT) {
		if (s->status.state == WF_STORE_OK)
			s->status.error_since_ms = wall_ms();
		s->status.state = corrupt ? WF_STORE_CORRUPT : WF_STORE_FAILING;
		snprintf(s->status.error, sizeof(s->status.error), "%s: %s%s", what, detail,
			 corrupt ? " (the file is corrupt: move it away and restart; serving recent windows from memory)"
				 : "");
	}
	pthread_mutex_unlock(&s->lock);
	if (log_it)
		wf_log(WF_LOG_ERROR, "store: %s %s: %s%s", what, s->path, detail,
		       corrupt ? "; the file is corrupt, history is served from memory until it is replaced" :
				 "; retrying every window, history is served from memory meanwhile");
}

void store_note_ok(struct wf_store *s)
{
	bool was_failing;

	pthread_mutex_lock(&s->lock);
	was_failing = s->status.state == WF_STORE_FAILING;
	if (was_failing) {
		s->status.state = WF_STORE_OK;
		s->status.error[0] = '\0';
		s->status.error_since_ms = 0;
	}
	pthread_mutex_unlock(&s->lock);
	if (was_failing)
		wf_log(WF_LOG_INFO, "store: writing %s again", s->path);
}

void store_close_db(struct wf_store *s)
{
	bool corrupt;

	for (int i = 0; i < ST__COUNT; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
	pthread_mutex_lock(&s->lock);
	corrupt = s->status.state == WF_STORE_CORRUPT;
	pthread_mutex_unlock(&s->lock);
	/* Closing the last connection checkpoints the WAL into the file: not
	 * into one found corrupt, which is left as it is for inspection. */
	if (s->db && corrupt)
		sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (s->db)
		sqlite3_close_v2(s->db);
	s->db = NULL;
}

/* A window the store did not take while it is known to be failing. */
void store_count_error(struct wf_store *s)
{
	pthread_mutex_lock(&s->lock);
	s->status.errors++;
	pthread_mutex_unlock(&s->lock);
}

/*
 * The cheapest check that catches a file overwritten under us: SQLite
 * keeps page 1 cached and may not look at the file again for a long time.
 * Returns 0 (fine or empty), SQLITE_NOTADB, or an SQLITE_* I/O code.
 */
int store_check_header(const char *path)
{
	static const char magic[16] = "SQLite format 3";
	char buf[16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? SQLITE_CANTOPEN : SQLITE_IOERR;
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(buf) || memcmp(buf, magic, sizeof(buf)))
		return SQLITE_NOTADB;
	return 0;
}

int store_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Whether table has a column of that name (PRAGMA table_info). */
static bool has_column(sqlite3 *db, const char *table, const char *column)
{
	char sql[96];
	sqlite3_stmt *st;
	bool found = false;

	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return false;
	while (!found && sqlite3_step(st) == SQLITE_ROW)
		found = !strcmp((const char *)sqlite3_column_text(st, 1), column);
	sqlite3_finalize(st);
	return found;
}

/*
 * Brings a store written by an earlier version to this shape without
 * rewriting it: the chains column is added to edge_windows (an instant
 * schema change: old rows read it as NULL), and the rows of chain_windows
 * that version wrote stay where they are, read beside the new column until
 * retention drops them. The schema version stays 1: every change is
 * additive, and the earlier version still reads this shape (without the
 * chains of the new column).
 */
static int store_migrate(sqlite3 *db)
{
	int rc = SQLITE_OK;

	if (!has_column(db, "edge_windows", "chains")) {
		wf_log(WF_LOG_INFO, "store: adding the chains column to edge_windows (a store from an earlier version)");
		rc = store_exec(db, "ALTER TABLE edge_windows ADD COLUMN chains BLOB");
	}
	/* Stacks stored before keep no builds (NULL): their frames are named
	 * late by the text-only rule (symbolize.h, sym_name_late). */
	if (rc == SQLITE_OK && !has_column(db, "stacks", "builds")) {
		wf_log(WF_LOG_INFO, "store: adding the builds column to stacks (a store from an earlier version)");
		rc = store_exec(db, "ALTER TABLE stacks ADD COLUMN builds INTEGER");
	}
	return rc;
}

/* One value of the meta table, or dflt. */
static int64_t meta_get(sqlite3 *db, const char *key, int64_t dflt)
{
	sqlite3_stmt *st;
	int64_t v = dflt;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
		return dflt;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}


static void labels_from_text(const char *text, struct wf_labels *l)
{
	memset(l, 0, sizeof(*l));
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		const char *eq = strchr(text, '=');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);

		if (eq && eq < text + len) {
			for (int i = 0; i < WF_LABEL__COUNT; i++) {
				const char *name = discovery_label_name((enum wf_label)i);
				size_t nlen = strlen(name);

				if ((size_t)(eq - text) == nlen && !strncmp(text, name, nlen)) {
					size_t vlen = len - nlen - 1;

					if (vlen >= WF_LABEL_MAX)
						vlen = WF_LABEL_MAX - 1;
					memcpy(l->value[i], eq + 1, vlen);
					l->value[i][vlen] = '\0';
				}
			}
		}
		text = nl ? nl + 1 : NULL;
	}
}

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	snprintf(dst, len, "%s", v ? (const char *)v : "");
}

/* Loads names, targets and edges into the catalog. */
static int load_catalog(struct wf_store *s)
{
	sqlite3_stmt *st;
	int rc;
	size_t n_edges = 0;

	/* Names first: targets and edges refer to them by id. */
	rc = sqlite3_prepare_v2(s->db, "SELECT id, s FROM names ORDER BY id", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		catalog_load_name(s->cat, (uint32_t)sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;

	/* Targets, with the labels they had when last seen. */
	rc = sqlite3_prepare_v2(s->db,
				"SELECT id, pid, start_time, comm, exe, labels, first_seen_ms, last_seen_ms FROM targets",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct wf_target t;

		memset(&t, 0, sizeof(t));
		t.id = (uint32_t)sqlite3_column_int64(st, 0);
		t.pid = (int32_t)sqlite3_column_int64(st, 1);
		t.start_time = (uint64_t)sqlite3_column_int64(st, 2);
		copy_col(t.comm, sizeof(t.comm), st, 3);
		copy_col(t.exe, sizeof(t.exe), st, 4);
		labels_from_text((const char *)sqlite3_column_text(st, 5), &t.labels);
		t.first_seen_ms = sqlite3_column_int64(st, 6);
		t.last_seen_ms = sqlite3_column_int64(st, 7);
		catalog_load_target(s->cat, &t);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;

	/* Edges' identities only: the full record (stacks, names) is read
	 * per edge when an answer needs it (store_read_edge). */
	rc = sqlite3_prepare_v2(s->db,
				"SELECT id, hash, target_id, thread, role, category, activity, first_seen_ms,"
				" last_seen_ms FROM edges",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct wf_edge_meta m = {
			.id = (uint32_t)sqlite3_column_int64(st, 0),
			.hash = (uint64_t)sqlite3_column_int64(st, 1),
			.target_id = (uint32_t)sqlite3_column_int64(st, 2),
			.thread = (uint32_t)sqlite3_column_int64(st, 3),
			.role = (uint8_t)sqlite3_column_int64(st, 4),
			.category = (uint8_t)sqlite3_column_int64(st, 5),
			.activity = (uint32_t)sqlite3_column_int64(st, 6),
			.first_seen_ms = sqlite3_column_int64(st, 7),
			.last_seen_ms = sqlite3_column_int64(st, 8),
		};

		n_edges += catalog_load_edge(s->cat, &m) == 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	wf_log(WF_LOG_INFO, "store: loaded %zu edges from %s", n_edges, s->path);
	return SQLITE_OK;
}

/* The oldest and newest time the store holds, for /api/v1/status. */
void store_refresh_extent(struct wf_store *s)
{
	sqlite3_stmt *st;
	int64_t oldest = -1, newest = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT min(start_ms), max(end_ms) FROM windows", -1, &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		oldest = sqlite3_column_int64(st, 0);
		newest = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	pthread_mutex_lock(&s->lock);
	s->status.oldest_ms = oldest;
	s->status.newest_ms = newest;
	pthread_mutex_unlock(&s->lock);
}

/* mkdir -p for the store's directory: created 0700, as the store is private. */
static int make_parent_dirs(const char *path)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(dir, 0700) && errno != EEXIST ? -1 : 0;
}

/*
 * The history is readable without the token by anyone who can read these
 * files: the database is created 0600 (SQLite gives its -wal and -shm files
 * the database's mode), and an existing one that others may read is
 * tightened. Returns 0, or -1 with errno.
 */
static int make_private_file(struct wf_store *s)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	int fd;

	if (make_parent_dirs(s->path))
		return -1;
	fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char p[4200];
		struct stat sb;

		snprintf(p, sizeof(p), "%s%s", s->path, suffixes[i]);
		if (stat(p, &sb) == 0 && (sb.st_mode & 077) && chmod(p, sb.st_mode & 0700) == 0)
			wf_log(WF_LOG_WARN, "store: %s was readable by other users (mode %04o): now 0%o", p,
			       (unsigned)(sb.st_mode & 07777), (unsigned)(sb.st_mode & 0700));
	}
	return 0;
}

/* "file:PATH?immutable=1" with PATH escaped for SQLite's URI syntax. */
static void immutable_uri(const char *path, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "file:");

	for (; *path && n + 4 < len; path++)
		n += strchr("%?#", *path) ? (size_t)snprintf(out + n, len - n, "%%%02x", (unsigned char)*path)
					  : (size_t)snprintf(out + n, len - n, "%c", *path);
	snprintf(out + n, len - n, "?immutable=1");
}

int store_open_connection(struct wf_store *s, sqlite3 **db, bool write)
{
	char uri[8400];

	if (write)
		return sqlite3_open_v2(s->path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				       NULL);
	if (!__atomic_load_n(&s->read_only, __ATOMIC_SEQ_CST))
		return sqlite3_open_v2(s->path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	/* Nothing can write a store on a read-only file system, and SQLite
	 * could not create the WAL index it would lock. */
	immutable_uri(s->path, uri, sizeof(uri));
	return sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
}

/*
 * A store on a read-only file system (a volume mounted read-only, a node
 * disk remounted after errors) still holds history: its catalog is loaded
 * and queries read it; writes keep failing (and are retried) meanwhile.
 */
static void open_read_only(struct wf_store *s)
{
	int rc;

	if (access(s->path, R_OK) || store_check_header(s->path))
		return;
	s->read_only = true;
	rc = store_open_connection(s, &s->db, false);
	if (rc == SQLITE_OK)
		rc = load_catalog(s);
	if (rc == SQLITE_OK) {
		__atomic_store_n(&s->chains_column, has_column(s->db, "edge_windows", "chains"), __ATOMIC_SEQ_CST);
		__atomic_store_n(&s->builds_column, has_column(s->db, "stacks", "builds"), __ATOMIC_SEQ_CST);
	}
	if (rc != SQLITE_OK) {
		s->read_only = false;
		store_close_db(s);
		return;
	}
	store_refresh_extent(s);
	store_close_db(s);
	pthread_mutex_lock(&s->lock);
	s->opened = true;
	pthread_mutex_unlock(&s->lock);
	wf_log(WF_LOG_WARN, "store: %s is on a read-only file system: serving the history it holds, writing nothing",
	       s->path);
}

/* Opens the writer connection, creating the schema; loads the catalog the
 * first time. */
int store_open_db(struct wf_store *s, bool load)
{
	int rc;
	char err[256];
	int64_t rolled;

	if (make_private_file(s)) {
		int e = errno;

		store_note_error(s, SQLITE_CANTOPEN, "opening", strerror(e));
		if (e == EROFS && load)
			open_read_only(s);
		return -1;
	}
	rc = store_check_header(s->path);
	if (rc == SQLITE_NOTADB) {
		store_note_error(s, rc, "opening", "not an SQLite database");
		return -1;
	}
	rc = store_open_connection(s, &s->db, true);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(s->db, 2000);
	snprintf(err, sizeof(err), "PRAGMA cache_size = -%d", CACHE_KIB_WRITER);
	store_exec(s->db, err);
	/* auto_vacuum only takes effect before the first table exists: new
	 * stores give freed pages back with incremental_vacuum. */
	store_exec(s->db, "PRAGMA auto_vacuum = INCREMENTAL");
	rc = store_exec(s->db, "PRAGMA journal_mode = WAL");
	if (rc != SQLITE_OK)
		goto fail;
	/* NORMAL in WAL mode: a commit survives a process crash (kill -9), only
	 * a power cut may lose the last windows. */
	store_exec(s->db, "PRAGMA synchronous = NORMAL");
	store_exec(s->db, "PRAGMA journal_size_limit = 16777216");
	rc = store_exec(s->db, schema);
	if (rc == SQLITE_OK)
		rc = store_migrate(s->db);
	if (rc != SQLITE_OK)
		goto fail;
	/* A new store records its schema version; an existing one must match. */
	if (meta_get(s->db, "schema", 0) == 0) {
		char sql[64];

		snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO meta VALUES('schema', %d)", SCHEMA_VERSION);
		rc = store_exec(s->db, sql);
		if (rc != SQLITE_OK)
			goto fail;
	} else if (meta_get(s->db, "schema", 0) != SCHEMA_VERSION) {
		store_note_error(s, SQLITE_MISMATCH, "opening", "written by another version of wakeflow (schema differs)");
		store_close_db(s);
		return -1;
	}
	for (int i = 0; i < ST__COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	if (load) {
		rc = load_catalog(s);
		if (rc != SQLITE_OK)
			goto fail;
	}
	/* Where the roll-up stopped: minutes before it are in tier 1. */
	rolled = meta_get(s->db, "rolled_until_ms", 0);
	pthread_mutex_lock(&s->lock);
	s->opened = true;
	__atomic_store_n(&s->read_only, false, __ATOMIC_SEQ_CST); /* writable again */
	__atomic_store_n(&s->chains_column, true, __ATOMIC_SEQ_CST); /* store_migrate added it */
	__atomic_store_n(&s->builds_column, true, __ATOMIC_SEQ_CST);
	if (rolled > s->status.rolled_until_ms)
		s->status.rolled_until_ms = rolled;
	pthread_mutex_unlock(&s->lock);
	store_refresh_extent(s);
	return 0;
fail:
	store_note_error(s, rc, "opening", s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	store_close_db(s);
	return -1;
}

struct wf_store *store_open(const struct wf_store_opts *opts, struct wf_catalog *cat, int64_t now_ms)
{
	struct wf_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->opts = *opts;
	s->path = strdup(opts->path);
	if (!s->path) {
		free(s);
		return NULL;
	}
	s->cat = cat;
	/* The stored last_seen of a busy edge may lag by the slack: a quarter
	 * of the retention keeps that small beside it (retention() keeps
	 * edges for the retention plus the slack). */
	catalog_set_seen_slack(cat, opts->retention_ms / 4);
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->status.path, sizeof(s->status.path), "%s", opts->path);
	s->status.oldest_ms = s->status.newest_ms = -1;
	s->last_open_try_ms = now_ms;
	/* Names loaded count as used now: the windows they name may be as
	 * recent as this. */
	catalog_advance_clock(cat, now_ms);
	if (store_open_db(s, true) == 0)
		wf_log(WF_LOG_INFO, "store: opened %s (retention %llds, windows kept %llds)", s->path,
		       (long long)(opts->retention_ms / 1000), (long long)(opts->fine_retention_ms / 1000));
	return s;
}

void store_close(struct wf_store *s)
{
	if (!s)
		return;
	if (s->db) {
		/* Fold the WAL back so the file is self-contained after a clean stop. */
		sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	}
	store_close_db(s);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

struct wf_catalog *store_catalog(struct wf_store *s)
{
	return s->cat;
}

const char *store_path(struct wf_store *s)
{
	return s->path;
}

bool store_has_chains_column(struct wf_store *s)
{
	return __atomic_load_n(&s->chains_column, __ATOMIC_SEQ_CST);
}

bool store_has_builds_column(struct wf_store *s)
{
	return __atomic_load_n(&s->builds_column, __ATOMIC_SEQ_CST);
}

bool store_readable(struct wf_store *s)
{
	bool ok;

	/* Empty is readable (it answers nothing); never opened is not. */
	pthread_mutex_lock(&s->lock);
	ok = s->status.state != WF_STORE_CORRUPT && s->opened;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

void store_status(struct wf_store *s, struct wf_store_status *out)
{
	struct stat sb;
	char wal[4200];
	uint64_t size = 0;

	if (stat(s->path, &sb) == 0)
		size += (uint64_t)sb.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	if (stat(wal, &sb) == 0)
		size += (uint64_t)sb.st_size;
	pthread_mutex_lock(&s->lock);
	*out = s->status;
	pthread_mutex_unlock(&s->lock);
	out->size_bytes = size;
}
