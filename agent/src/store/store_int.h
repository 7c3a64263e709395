/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the store's writer (store.c) and its readers (store_read.c) share;
 * no other module includes this.
 */
#ifndef WAKEFLOW_STORE_INT_H
#define WAKEFLOW_STORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "store.h"

/* The edges table's flags column. */
#define EF_COUNT_KNOWN 1
#define EF_RUNQ_KNOWN 2
#define EF_STACKS_SAMPLED 4
#define EF_OFFCPU_UNKNOWN 8

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

#endif
