// SPDX-License-Identifier: Apache-2.0
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "logging.h"
#include "store_int.h"
#include "window.h"

#define SCHEMA_VERSION 1
#define REOPEN_INTERVAL_MS (30 * 1000LL)
#define RETENTION_INTERVAL_MS (60 * 1000LL)
#define CATALOG_EXPIRY_INTERVAL_MS (3600 * 1000LL)
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
	"CREATE TABLE IF NOT EXISTS stacks(hash INTEGER PRIMARY KEY, nkernel INTEGER NOT NULL,"
	" frames TEXT NOT NULL);"
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
	"CREATE TABLE IF NOT EXISTS edge_windows(tier INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
	" target_id INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(tier, start_ms, target_id));";

enum {
	ST_NAME,
	ST_TARGET,
	ST_STACK,
	ST_EDGE_NEW,
	ST_EDGE_SEEN,
	ST_WINDOW,
	ST_TOTALS,
	ST_EDGEWIN,
	ST_META,
	ST__COUNT,
};

/* The writer's statements, prepared once per connection (open_db). */
static const char *const stmt_sql[ST__COUNT] = {
	/* A catalog name (thread, activity) under its catalog id; never changes. */
	[ST_NAME] = "INSERT OR IGNORE INTO names(id, s) VALUES(?, ?)",
	/* A target as the catalog has it now (last_seen_ms and alive change). */
	[ST_TARGET] = "INSERT OR REPLACE INTO targets(id, pid, start_time, comm, exe, labels, first_seen_ms,"
		      " last_seen_ms, alive) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
	/* A stack, once: its hash is over its frames (stack_hash). */
	[ST_STACK] = "INSERT OR IGNORE INTO stacks(hash, nkernel, frames) VALUES(?, ?, ?)",
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
	/* Per target, its edges' numbers blob (window.h). */
	[ST_EDGEWIN] = "INSERT OR REPLACE INTO edge_windows(tier, start_ms, target_id, data) VALUES(?, ?, ?, ?)",
	/* schema version and rolled_until_ms, the roll-up's progress. */
	[ST_META] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
};

struct wf_store {
	struct wf_store_opts opts;
	char *path;
	struct wf_catalog *cat;
	sqlite3 *db; /* the writer; main loop only */
	sqlite3_stmt *st[ST__COUNT];
	int64_t last_open_try_ms;
	int64_t last_retention_ms, last_expiry_ms;

	pthread_mutex_t lock; /* guards status and opened */
	struct wf_store_status status;
	bool opened; /* the database was opened at least once */
	bool read_only; /* on a read-only file system: read as immutable, never written */
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

static bool is_corruption(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* Records an error (any thread); corruption is sticky until restart. */
void store_note_error(struct wf_store *s, int rc, const char *what, const char *detail)
{
	bool corrupt = is_corruption(rc);
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

static void note_ok(struct wf_store *s)
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

static void close_db(struct wf_store *s)
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
static void count_error(struct wf_store *s)
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

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
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

static void labels_to_text(const struct wf_labels *l, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < WF_LABEL__COUNT && used < len; i++)
		if (l->value[i][0])
			used += (size_t)snprintf(buf + used, len - used, "%s=%s\n",
						 discovery_label_name((enum wf_label)i), l->value[i]);
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
static void refresh_extent(struct wf_store *s)
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
	if (rc != SQLITE_OK) {
		s->read_only = false;
		close_db(s);
		return;
	}
	refresh_extent(s);
	close_db(s);
	pthread_mutex_lock(&s->lock);
	s->opened = true;
	pthread_mutex_unlock(&s->lock);
	wf_log(WF_LOG_WARN, "store: %s is on a read-only file system: serving the history it holds, writing nothing",
	       s->path);
}

/* Opens the writer connection, creating the schema; loads the catalog the
 * first time. */
static int open_db(struct wf_store *s, bool load)
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
	exec(s->db, err);
	/* auto_vacuum only takes effect before the first table exists: new
	 * stores give freed pages back with incremental_vacuum. */
	exec(s->db, "PRAGMA auto_vacuum = INCREMENTAL");
	rc = exec(s->db, "PRAGMA journal_mode = WAL");
	if (rc != SQLITE_OK)
		goto fail;
	/* NORMAL in WAL mode: a commit survives a process crash (kill -9), only
	 * a power cut may lose the last windows. */
	exec(s->db, "PRAGMA synchronous = NORMAL");
	exec(s->db, "PRAGMA journal_size_limit = 16777216");
	rc = exec(s->db, schema);
	if (rc != SQLITE_OK)
		goto fail;
	/* A new store records its schema version; an existing one must match. */
	if (meta_get(s->db, "schema", 0) == 0) {
		char sql[64];

		snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO meta VALUES('schema', %d)", SCHEMA_VERSION);
		rc = exec(s->db, sql);
		if (rc != SQLITE_OK)
			goto fail;
	} else if (meta_get(s->db, "schema", 0) != SCHEMA_VERSION) {
		store_note_error(s, SQLITE_MISMATCH, "opening", "written by another version of wakeflow (schema differs)");
		close_db(s);
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
	if (rolled > s->status.rolled_until_ms)
		s->status.rolled_until_ms = rolled;
	pthread_mutex_unlock(&s->lock);
	refresh_extent(s);
	return 0;
fail:
	store_note_error(s, rc, "opening", s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	close_db(s);
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
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->status.path, sizeof(s->status.path), "%s", opts->path);
	s->status.oldest_ms = s->status.newest_ms = -1;
	s->last_open_try_ms = now_ms;
	if (open_db(s, true) == 0)
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
	close_db(s);
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

/* ---- writing ---- */

/* Runs a prepared statement once and readies it for the next bindings. */
static int step_reset(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* FNV-1a over the frames and nkernel: the stacks table's key, so a stack
 * shared by many edges is stored once. */
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

/* Stores a stack unless stored already; *hash_out is its key. */
static int put_stack(struct wf_store *s, const struct wf_stack *st, int64_t *hash_out)
{
	sqlite3_stmt *q = s->st[ST_STACK];
	char *frames = join_frames(st);
	int rc;

	if (!frames)
		return SQLITE_NOMEM;
	*hash_out = (int64_t)stack_hash(st);
	sqlite3_bind_int64(q, 1, *hash_out);
	sqlite3_bind_int(q, 2, st->nkernel);
	sqlite3_bind_text(q, 3, frames, -1, free);
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

/* What the catalog gained or changed since the last write: names, then
 * targets, then edges (which refer to both). */
static int put_catalog(struct wf_store *s, const struct wf_catalog_dirty *d)
{
	int rc = SQLITE_OK;
	char labels[WF_LABEL__COUNT * (WF_LABEL_MAX + 32)];

	for (uint32_t id = d->names_from; id < d->names_to && rc == SQLITE_OK; id++) {
		sqlite3_bind_int64(s->st[ST_NAME], 1, id);
		sqlite3_bind_text(s->st[ST_NAME], 2, d->names[id - d->names_from], -1, SQLITE_STATIC);
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

/* One per-target blob row (ST_TOTALS or ST_EDGEWIN) of a window or minute. */
static int put_blob(sqlite3_stmt *q, int tier, int64_t start, uint32_t target, const uint8_t *data, size_t len)
{
	sqlite3_bind_int(q, 1, tier);
	sqlite3_bind_int64(q, 2, start);
	sqlite3_bind_int64(q, 3, target);
	sqlite3_bind_blob64(q, 4, data, len, SQLITE_STATIC);
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

/* Rolls the tier-0 rows of table in [m, m + 1 min) into one tier-1 row per target. */
static int rollup_table(struct wf_store *s, struct rollup *r, const char *table, bool edges, int64_t m)
{
	char sql[160];
	sqlite3_stmt *q;
	int rc;

	rollup_clear(r);
	/* Every tier-0 row of the minute, each decoded and merged into its
	 * target's accumulator (the same merge a query does). */
	snprintf(sql, sizeof(sql), "SELECT target_id, data FROM %s WHERE tier = 0 AND start_ms >= ? AND start_ms < ?",
		 table);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(q, 1, m);
	sqlite3_bind_int64(q, 2, m + WF_MINUTE_MS);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct wf_wtarget *t = rollup_target(r, (uint32_t)sqlite3_column_int64(q, 0));
		const uint8_t *blob = sqlite3_column_blob(q, 1);
		size_t len = (size_t)sqlite3_column_bytes(q, 1);
		int bad = edges ? wtarget_decode_edges(&r->scratch, blob, len) :
				  wtarget_decode_totals(&r->scratch, blob, len);

		if (!t) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (bad) {
			/* A row that does not decode is corruption in all but name. */
			rc = SQLITE_CORRUPT;
			break;
		}
		if (wtarget_merge(t, &r->scratch)) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return rc;
	/* Then one tier-1 row per target: the minute's merged blob. */
	rc = SQLITE_OK;
	for (size_t i = 0; i < r->n && rc == SQLITE_OK; i++) {
		wtarget_normalize(&r->t[i]);
		if (edges ? wtarget_encode_edges(&r->t[i], &r->buf) : wtarget_encode_totals(&r->t[i], &r->buf))
			return SQLITE_NOMEM;
		rc = put_blob(s->st[edges ? ST_EDGEWIN : ST_TOTALS], WF_TIER_MINUTE, m, r->t[i].target_id, r->buf.data,
			      r->buf.len);
	}
	return rc;
}

/*
 * Rolls up every minute with tier-0 windows before until_ms not yet rolled:
 * find those minutes, then in one transaction merge each minute's totals
 * and edges into tier-1 rows, write the minute's window row and move
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
	rc = exec(s->db, "BEGIN IMMEDIATE");
	for (size_t i = 0; i < n && rc == SQLITE_OK; i += 2) {
		rc = rollup_table(s, &r, "totals", false, minutes[i]);
		if (rc == SQLITE_OK)
			rc = rollup_table(s, &r, "edge_windows", true, minutes[i]);
		if (rc == SQLITE_OK)
			rc = put_window(s, WF_TIER_MINUTE, minutes[i], minutes[i + 1]);
	}
	if (rc == SQLITE_OK)
		rc = put_meta(s, "rolled_until_ms", until_ms);
	if (rc == SQLITE_OK)
		rc = exec(s->db, "COMMIT");
	if (rc != SQLITE_OK) {
		exec(s->db, "ROLLBACK");
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

/*
 * Drops what is older than the retention, in one transaction: tier-0 rows
 * past fine_retention and tier-1 rows past retention; once an hour also
 * the catalog rows nothing refers to any more. Then gives back some free
 * pages.
 */
static int retention(struct wf_store *s, int64_t now_ms)
{
	int64_t fine_cut = now_ms - s->opts.fine_retention_ms;
	int64_t cut = now_ms - s->opts.retention_ms;
	static const char *const tables[] = { "totals", "edge_windows", "windows" };
	char sql[160];
	int rc = exec(s->db, "BEGIN IMMEDIATE");

	/* One statement per tier, so each walks the (tier, start_ms) key. */
	for (size_t i = 0; i < 6 && rc == SQLITE_OK; i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE tier = %zu AND start_ms < %lld", tables[i / 2], i % 2,
			 (long long)(i % 2 ? cut : fine_cut));
		rc = exec(s->db, sql);
	}
	if (rc == SQLITE_OK && now_ms - s->last_expiry_ms >= CATALOG_EXPIRY_INTERVAL_MS) {
		/* The catalog: edges and gone targets no window refers to any more,
		 * then stacks no edge refers to. */
		snprintf(sql, sizeof(sql), "DELETE FROM edges WHERE last_seen_ms < %lld", (long long)cut);
		rc = exec(s->db, sql);
		if (rc == SQLITE_OK) {
			snprintf(sql, sizeof(sql), "DELETE FROM targets WHERE last_seen_ms < %lld AND alive = 0",
				 (long long)cut);
			rc = exec(s->db, sql);
		}
		if (rc == SQLITE_OK)
			rc = exec(s->db, "DELETE FROM stacks WHERE hash NOT IN (SELECT waker_stack FROM edges)"
					 " AND hash NOT IN (SELECT target_stack FROM edges)");
		if (rc == SQLITE_OK)
			s->last_expiry_ms = now_ms;
	}
	if (rc == SQLITE_OK)
		rc = exec(s->db, "COMMIT");
	if (rc != SQLITE_OK) {
		exec(s->db, "ROLLBACK");
		return rc;
	}
	/* Hand freed pages back to the file system a little at a time, so the
	 * file shrinks after a burst without one long stall. */
	exec(s->db, "PRAGMA incremental_vacuum(2048)");
	s->last_retention_ms = now_ms;
	refresh_extent(s);
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
		count_error(s);
		return -1;
	}
	if (!s->db) {
		if (now_ms - s->last_open_try_ms < REOPEN_INTERVAL_MS) {
			count_error(s);
			return -1;
		}
		s->last_open_try_ms = now_ms;
		/* The catalog is already in memory (ids assigned from it): a store
		 * that appears later is only written to. */
		if (open_db(s, false))
			return -1;
	}
	rc = store_check_header(s->path);
	if (rc) {
		store_note_error(s, rc, "writing", rc == SQLITE_NOTADB ? "the file is no longer an SQLite database" :
								     "the file disappeared");
		close_db(s);
		return -1;
	}
	return 0;
}

/* One transaction: the catalog's new and changed rows, the window's row,
 * then each target's totals and edges blobs. 0, or -1 rolled back. */
static int write_window_tx(struct wf_store *s, const struct wf_store_window *w, struct wf_catalog_dirty *d)
{
	int rc = exec(s->db, "BEGIN IMMEDIATE");

	if (rc == SQLITE_OK)
		rc = put_catalog(s, d);
	if (rc == SQLITE_OK)
		rc = put_window(s, WF_TIER_WINDOW, w->start_ms, w->end_ms);
	for (size_t i = 0; i < w->ntargets && rc == SQLITE_OK; i++) {
		const struct wf_store_target *t = &w->targets[i];

		rc = put_blob(s->st[ST_TOTALS], WF_TIER_WINDOW, w->start_ms, t->target_id, t->totals, t->totals_len);
		if (rc == SQLITE_OK)
			rc = put_blob(s->st[ST_EDGEWIN], WF_TIER_WINDOW, w->start_ms, t->target_id, t->edges,
				      t->edges_len);
	}
	if (rc == SQLITE_OK)
		rc = exec(s->db, "COMMIT");
	if (rc != SQLITE_OK) {
		const char *msg = sqlite3_errmsg(s->db);
		char detail[200];

		snprintf(detail, sizeof(detail), "%s", msg);
		exec(s->db, "ROLLBACK");
		store_note_error(s, rc, "writing", detail);
		if (is_corruption(rc))
			close_db(s);
		return -1;
	}
	return 0;
}

int store_write_window(struct wf_store *s, const struct wf_store_window *w, int64_t now_ms)
{
	struct wf_catalog_dirty d;
	double t0 = mono_ms();
	int rc;

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
	note_ok(s);
	return 0;
}
