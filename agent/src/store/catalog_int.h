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

struct target_entry {
	struct wf_target t;
	uint64_t changed, saved;
};

struct wf_catalog {
	pthread_rwlock_t lock;
	uint64_t generation;

	char **names; /* names[id], id >= 1 */
	size_t nnames, cnames;
	struct index names_ix;
	uint32_t names_saved; /* ids below this are persisted */

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

#endif
