/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's file read with SQLite itself, on a connection of its own, for
 * the unit tests that check what the store wrote (test_store.c,
 * test_chains_store.c) without going through the store's own reader.
 */
#ifndef WAKEFLOW_TEST_STORE_FILE_H
#define WAKEFLOW_TEST_STORE_FILE_H

#include <sqlite3.h>

/* One integer an SQL statement answers on the store's file (-1 if no row). */
static inline long long store_file_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

#endif
