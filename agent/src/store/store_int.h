/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the store's file (store.c), its writer (store_write.c) and its
 * readers (store_read.c) share; no other module includes this.
 */
#ifndef WAKEFLOW_STORE_INT_H
#define WAKEFLOW_STORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include "catalog.h"
#include "store.h"

/* The edges table's flags column. */
#define EF_COUNT_KNOWN 1
#define EF_RUNQ_KNOWN 2
#define EF_STACKS_SAMPLED 4
#define EF_OFFCPU_UNKNOWN 8

/* The writer's prepared statements (store.c's stmt_sql). */
enum {
	ST_NAME,
	ST_NAME_FORGET,
	ST_TARGET,
	ST_STACK,
	ST_BUILDS,
	ST_EDGE_NEW,
	ST_EDGE_SEEN,
	ST_WINDOW,
	ST_TOTALS,
	ST_EDGEWIN,
	ST_META,
	ST__COUNT,
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
	/* edge_windows has its chains column: false only for a store from an
	 * earlier version opened read-only (it could not be migrated). */
	bool chains_column;
	/* stacks has its builds column (and the builds table exists): false
	 * only for an earlier version's store opened read-only. */
	bool builds_column;
};

/* sqlite3_exec without callbacks: the SQLite result code. */
int store_exec(sqlite3 *db, const char *sql);
/* SQLITE_CORRUPT or SQLITE_NOTADB (extended codes too). */
bool store_is_corruption(int rc);
/* Opens the writer connection (and with load, the catalog); 0 or -1 with
 * the error noted. */
int store_open_db(struct wf_store *s, bool load);
/* Closes the writer connection and its statements. */
void store_close_db(struct wf_store *s);
/* A write succeeded: a failing store is OK again. */
void store_note_ok(struct wf_store *s);
/* A window not taken while the store is known to be failing. */
void store_count_error(struct wf_store *s);
/* Re-reads the oldest and newest times held, for the status. */
void store_refresh_extent(struct wf_store *s);

/* A connection to the store's file: the writer's, or a reader's (read-only,
 * or immutable on a read-only file system). */
int store_open_connection(struct wf_store *s, sqlite3 **db, bool write);
/* 0 if the file starts like an SQLite database (or is empty), else
 * SQLITE_NOTADB or an SQLITE_* I/O code. */
int store_check_header(const char *path);
/* Records a failed operation in the status (any thread); corruption is
 * sticky until restart. */
void store_note_error(struct wf_store *s, int rc, const char *what, const char *detail);
struct wf_catalog *store_catalog(struct wf_store *s);
const char *store_path(struct wf_store *s);
/* Whether edge_windows has the chains column (readers pick their SQL by it). */
bool store_has_chains_column(struct wf_store *s);
/* Whether stacks has the builds column (store_read_edge picks its SQL by it). */
bool store_has_builds_column(struct wf_store *s);

#endif
