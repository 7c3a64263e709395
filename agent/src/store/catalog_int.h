/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The catalog's state, shared by its two halves and nothing else:
 * catalog.c (names, targets and edges: lookups and updates) and
 * catalog_persist.c (what is dirty for the store, expiry, the intern
 * sweep's marks). The public face is catalog.h.
 */
#ifndef WAKEFLOW_CATALOG_INT_H
#define WAKEFLOW_CATALOG_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"

/* An open-addressing index of entry numbers (0 = empty slot). */
struct index {
	uint32_t *slots; /* entry number + 1 */
	size_t cap;	 /* power of two */
	size_t used;
};

struct edge_entry {
	struct wf_edge_meta meta;
	struct wf_edge *detail; /* NULL once evicted, or for edges loaded from the store */
	uint64_t changed, saved; /* generations: dirty while changed > saved */
	int64_t saved_last_seen;
	bool is_new; /* never persisted: the store needs its detail */
};

/* A name id's slot: its string (NULL while the id is free) and when it was
 * last handed out, on the catalog's clock. */
struct name_entry {
	char *s;
	int64_t used_ms;
	bool saved; /* the store has it under this id */
};

/* A growable list of ids. */
struct id_list {
	uint32_t *ids;
	size_t n, cap;
};

struct target_entry {
	struct wf_target t;
	uint64_t changed, saved;
};

struct wf_catalog {
	pthread_rwlock_t lock;
	uint64_t generation;

	struct name_entry *names; /* names[id], 1 <= id < nnames */
	size_t nnames, cnames, live_names;
	struct index names_ix;
	struct id_list names_free;	/* ids to hand out again (catalog_prune fills it) */
	struct id_list names_unsaved;	/* ids handed out since the last commit */
	struct id_list names_forgotten; /* saved ids forgotten: their store rows go */
	/* catalog_advance_clock: the time a name is stamped with when handed out. */
	int64_t clock_ms;

	struct target_entry *targets;
	size_t ntargets, ctargets;
	uint32_t last_target_id;

	struct edge_entry *edges;
	size_t nedges, cedges;
	struct index edges_by_hash, edges_by_id;
	uint32_t next_edge_id;
	int64_t seen_slack_ms; /* catalog_set_seen_slack */
};

/* Lookups and the index rebuild the persistence half needs; the caller
 * holds the lock (the write lock for the rebuild). */
struct edge_entry *catalog_edge_entry(struct wf_catalog *c, uint32_t id);
struct target_entry *catalog_target_entry(struct wf_catalog *c, uint32_t id);
int catalog_edges_reindex(struct wf_catalog *c, size_t want);
/* The names index rebuilt from the live names (write lock). */
int catalog_names_reindex(struct wf_catalog *c, size_t want);
/* Appends id; -1 on ENOMEM. */
int id_list_push(struct id_list *l, uint32_t id);
void id_list_free(struct id_list *l);

#endif
