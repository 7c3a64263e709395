/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's in-memory catalog: everything a stored window refers to by
 * number, so windows stay small and queries resolve them without SQL.
 *   names    strings (thread names, activities) <-> small ids; 0 is "none";
 *   targets  traced processes, keyed by (pid, start time) so a reused pid
 *            never mixes two processes, with their labels (discovery.h);
 *   edges    one id per distinct edge (hash of who woke whom, how, both
 *            stacks and the classification), with the few fields queries
 *            filter on; the full edge (stacks) is kept only while recent.
 * The catalog is the authority for ids: the store persists it and loads it
 * back at start-up, and it keeps working from memory when the store fails.
 * Thread-safe: the main loop writes, HTTP threads read (one rwlock).
 */
#ifndef WAKEFLOW_CATALOG_H
#define WAKEFLOW_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "discovery.h"
#include "edge.h"

struct wf_target {
	uint32_t id;
	int32_t pid;
	uint64_t start_time; /* clock ticks after boot, /proc/PID/stat field 22 */
	char comm[WF_COMM_LEN];
	char exe[256];
	struct wf_labels labels;
	int64_t first_seen_ms, last_seen_ms;
	bool alive;
};

struct wf_edge_meta {
	uint32_t id;
	uint64_t hash;
	uint32_t target_id;
	uint32_t thread; /* target thread name id */
	uint8_t role, category;
	uint32_t activity; /* name id, 0 = none */
	int64_t first_seen_ms, last_seen_ms;
};

struct wf_catalog;

struct wf_catalog *catalog_new(void);
void catalog_free(struct wf_catalog *c);

/* ---- names ---- */
/* Id of s, adding it if new (main loop; stamps it as used at the newest time
 * the catalog was given); 0 for NULL/"" or on ENOMEM. An id of a forgotten
 * name (catalog_prune) may be handed out again. */
uint32_t catalog_name_id(struct wf_catalog *c, const char *s);
/* Id of s without adding it; 0 if unknown. */
uint32_t catalog_name_find(struct wf_catalog *c, const char *s);
/* Copies name id into buf ("" for 0 or unknown); returns buf. */
const char *catalog_name(struct wf_catalog *c, uint32_t id, char *buf, size_t len);
/* Names held (live ids, "none" not counted). */
size_t catalog_name_count(struct wf_catalog *c);
/* Loading from the store keeps the stored id; the name counts as used now
 * (the catalog's clock: the store keeps no time of use). */
int catalog_load_name(struct wf_catalog *c, uint32_t id, const char *s);
/* The catalog's clock, which stamps names as they are handed out: the
 * newest time it was given here, by the store (its open and each window's
 * write) or as a target's or edge's last_seen. It never goes back. */
void catalog_advance_clock(struct wf_catalog *c, int64_t now_ms);

/* ---- targets ---- */
/* Finds (pid, start_time) or adds t; updates comm, exe, labels, last seen
 * and alive. Returns the id (t->id is ignored), 0 on ENOMEM. */
uint32_t catalog_target_put(struct wf_catalog *c, const struct wf_target *t);
/* Marks a target alive or gone without touching the rest. */
void catalog_target_set_alive(struct wf_catalog *c, uint32_t id, bool alive);
int catalog_target_get(struct wf_catalog *c, uint32_t id, struct wf_target *out);
/* A malloc'ed copy of every target (free it); returns the count, -1 on ENOMEM. */
ssize_t catalog_targets(struct wf_catalog *c, struct wf_target **out);
int catalog_load_target(struct wf_catalog *c, const struct wf_target *t);

/* ---- edges ---- */
/* The identity hash of a classified edge: its target (catalog id), both
 * tasks, context, kind, stacks, facts and classification. */
uint64_t catalog_edge_hash(const struct wf_edge *e, uint32_t target_id);
/* Finds the edge by m->hash or adds it (copying e with its stacks); updates
 * last seen. Returns its id, 0 on ENOMEM. */
uint32_t catalog_edge_put(struct wf_catalog *c, const struct wf_edge_meta *m, const struct wf_edge *e);
/* Looks up n ids; found[i] false for ids not in the catalog. */
void catalog_edge_metas(struct wf_catalog *c, const uint32_t *ids, size_t n, struct wf_edge_meta *out, bool *found);
/* Deep copy of the edge's full record (free with edge_list_free semantics:
 * free frames arrays); -1 if it is no longer in memory. */
int catalog_edge_detail(struct wf_catalog *c, uint32_t id, struct wf_edge *out);
int catalog_load_edge(struct wf_catalog *c, const struct wf_edge_meta *m);
size_t catalog_edge_count(struct wf_catalog *c);
/* Every edge id the catalog has handed out is below this. */
uint32_t catalog_edge_id_limit(struct wf_catalog *c);

/* ---- persistence ---- */
/* What changed since the last successful catalog_mark_clean. */
struct wf_catalog_dirty {
	uint32_t *name_ids; /* names new since the last commit, each under its id */
	char **names;
	size_t nnames;
	size_t names_listed;	   /* how much of the catalog's list of new names that covers */
	uint32_t *forgotten_names; /* stored names forgotten (catalog_prune): their rows go first */
	size_t nforgotten;
	struct wf_target *targets;
	size_t ntargets;
	struct wf_edge_meta *edges; /* new or seen again */
	struct wf_edge *details;    /* details[i] valid where has_detail[i] (new edges) */
	bool *has_detail;
	size_t nedges;
	uint64_t generation;
};
int catalog_dirty(struct wf_catalog *c, struct wf_catalog_dirty *d);
/* After d was committed: clears what d held (later changes stay dirty). */
void catalog_mark_clean(struct wf_catalog *c, const struct wf_catalog_dirty *d);
void catalog_dirty_free(struct wf_catalog_dirty *d);

/* An edge seen again is written again (its last_seen) only once it moved
 * by more than the slack: an hour, or less when set (the store sets a
 * quarter of its retention); the stored last_seen lags by at most this. */
void catalog_set_seen_slack(struct wf_catalog *c, int64_t ms);
int64_t catalog_seen_slack(struct wf_catalog *c);

/* Forgets edges and gone targets last seen before cutoff_ms, and drops the
 * full records of persisted edges last seen before detail_cutoff_ms. Then
 * forgets the names nothing stored within the retention can refer to: not
 * handed out since cutoff_ms less CATALOG_NAME_MARGIN_MS and the seen
 * slack, and not used by an edge still held; their ids are handed out again
 * and the store deletes their rows. */
void catalog_prune(struct wf_catalog *c, int64_t cutoff_ms, int64_t detail_cutoff_ms);
/* The store deletes expired windows once a minute, and a minute's roll-up
 * row starts up to a minute before its windows: a name outlives its last
 * use by the retention, the slack and this, so no row still stored names a
 * reused id. */
#define CATALOG_NAME_MARGIN_MS (2 * 60 * 1000LL)

/* Marks the interned strings (frames, facts, activity) of the edge records
 * held in memory, for intern_sweep (intern.h); edges whose record was
 * dropped are named by the store alone. */
void catalog_mark_interned(struct wf_catalog *c);

/* Deep copies an edge's stacks (edge_list_free frees them). */
int catalog_copy_edge(struct wf_edge *dst, const struct wf_edge *src);
void catalog_free_edge(struct wf_edge *e);

#endif
