// SPDX-License-Identifier: Apache-2.0
/*
 * The catalog and the store (catalog_int.h): the snapshot of what changed
 * since the last commit, marking it clean once committed, expiry of old
 * edges and targets, and the marks of the intern table's sweep.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog_int.h"

/* ---- persistence ---- */

void catalog_dirty_free(struct wf_catalog_dirty *d)
{
	if (d->names)
		for (size_t i = 0; i < d->nnames; i++)
			free(d->names[i]);
	free(d->names);
	free(d->name_ids);
	free(d->forgotten_names);
	free(d->targets);
	if (d->details)
		for (size_t i = 0; i < d->nedges; i++)
			if (d->has_detail[i])
				catalog_free_edge(&d->details[i]);
	free(d->details);
	free(d->has_detail);
	free(d->edges);
	memset(d, 0, sizeof(*d));
}

int catalog_dirty(struct wf_catalog *c, struct wf_catalog_dirty *d)
{
	size_t n;

	memset(d, 0, sizeof(*d));
	pthread_rwlock_rdlock(&c->lock);
	d->generation = c->generation;
	/* Forgotten rows first: a new name may reuse one of their ids. */
	if (c->names_forgotten.n) {
		d->forgotten_names = malloc(c->names_forgotten.n * sizeof(*d->forgotten_names));
		if (!d->forgotten_names)
			goto fail;
		memcpy(d->forgotten_names, c->names_forgotten.ids, c->names_forgotten.n * sizeof(uint32_t));
		d->nforgotten = c->names_forgotten.n;
	}
	d->names_listed = c->names_unsaved.n;
	if (c->names_unsaved.n) {
		d->names = calloc(c->names_unsaved.n, sizeof(char *));
		d->name_ids = malloc(c->names_unsaved.n * sizeof(*d->name_ids));
		if (!d->names || !d->name_ids)
			goto fail;
		for (size_t i = 0; i < c->names_unsaved.n; i++) {
			uint32_t id = c->names_unsaved.ids[i];

			/* Forgotten before it was ever stored: nothing to write. */
			if (!c->names[id].s || c->names[id].saved)
				continue;
			d->names[d->nnames] = strdup(c->names[id].s);
			if (!d->names[d->nnames])
				goto fail;
			d->name_ids[d->nnames++] = id;
		}
	}
	n = 0;
	for (size_t i = 0; i < c->ntargets; i++)
		n += c->targets[i].changed > c->targets[i].saved;
	if (n) {
		d->targets = malloc(n * sizeof(*d->targets));
		if (!d->targets)
			goto fail;
		for (size_t i = 0; i < c->ntargets; i++)
			if (c->targets[i].changed > c->targets[i].saved)
				d->targets[d->ntargets++] = c->targets[i].t;
	}
	n = 0;
	for (size_t i = 0; i < c->nedges; i++)
		n += c->edges[i].changed > c->edges[i].saved;
	if (n) {
		d->edges = malloc(n * sizeof(*d->edges));
		d->details = calloc(n, sizeof(*d->details));
		d->has_detail = calloc(n, sizeof(*d->has_detail));
		if (!d->edges || !d->details || !d->has_detail)
			goto fail;
		for (size_t i = 0; i < c->nedges; i++) {
			struct edge_entry *e = &c->edges[i];

			if (e->changed <= e->saved)
				continue;
			d->edges[d->nedges] = e->meta;
			if (e->is_new && e->detail && !catalog_copy_edge(&d->details[d->nedges], e->detail))
				d->has_detail[d->nedges] = true;
			d->nedges++;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return 0;
fail:
	pthread_rwlock_unlock(&c->lock);
	catalog_dirty_free(d);
	return -1;
}

void catalog_mark_clean(struct wf_catalog *c, const struct wf_catalog_dirty *d)
{
	pthread_rwlock_wrlock(&c->lock);
	/* The main loop takes the snapshot, writes it and marks it clean with
	 * nothing in between, so the lists still start with what d holds. */
	for (size_t i = 0; i < d->nnames; i++) {
		struct name_entry *n = &c->names[d->name_ids[i]];

		if (n->s && !strcmp(n->s, d->names[i]))
			n->saved = true;
	}
	if (d->names_listed <= c->names_unsaved.n) {
		memmove(c->names_unsaved.ids, c->names_unsaved.ids + d->names_listed,
			(c->names_unsaved.n - d->names_listed) * sizeof(uint32_t));
		c->names_unsaved.n -= d->names_listed;
	}
	if (d->nforgotten <= c->names_forgotten.n) {
		memmove(c->names_forgotten.ids, c->names_forgotten.ids + d->nforgotten,
			(c->names_forgotten.n - d->nforgotten) * sizeof(uint32_t));
		c->names_forgotten.n -= d->nforgotten;
	}
	for (size_t i = 0; i < d->ntargets; i++) {
		struct target_entry *t = catalog_target_entry(c, d->targets[i].id);

		if (t)
			t->saved = d->generation;
	}
	for (size_t i = 0; i < d->nedges; i++) {
		struct edge_entry *e = catalog_edge_entry(c, d->edges[i].id);

		if (!e)
			continue;
		e->saved = d->generation;
		e->saved_last_seen = d->edges[i].last_seen_ms;
		if (d->has_detail[i])
			e->is_new = false;
		else if (e->is_new && !e->detail)
			e->is_new = false; /* stored without stacks (allocation failed) */
	}
	pthread_rwlock_unlock(&c->lock);
}

void catalog_mark_interned(struct wf_catalog *c)
{
	pthread_rwlock_rdlock(&c->lock);
	for (size_t i = 0; i < c->nedges; i++) {
		const struct wf_edge *e = c->edges[i].detail;

		if (e)
			edge_mark_interned(e);
	}
	pthread_rwlock_unlock(&c->lock);
}

/*
 * Forgets the names last handed out before cutoff_ms that no edge still held
 * uses (write lock held): the windows that named them are past the
 * retention. Their ids go on the free list, stored ones on the forgotten
 * list for the store; the index is rebuilt without them.
 */
static void prune_names(struct wf_catalog *c, int64_t cutoff_ms)
{
	bool *held = calloc(c->nnames ? c->nnames : 1, sizeof(*held));
	size_t forgotten = 0;

	if (!held)
		return; /* out of memory: forget nothing this time */
	for (size_t i = 0; i < c->nedges; i++) {
		const struct wf_edge_meta *m = &c->edges[i].meta;

		if (m->thread < c->nnames)
			held[m->thread] = true;
		if (m->activity < c->nnames)
			held[m->activity] = true;
	}
	c->names_free.n = 0;
	for (uint32_t id = 1; id < c->nnames; id++) {
		struct name_entry *n = &c->names[id];

		if (n->s && (held[id] || n->used_ms >= cutoff_ms))
			continue;
		if (n->s) {
			if (n->saved && id_list_push(&c->names_forgotten, id))
				continue; /* keep it rather than leave its row behind */
			free(n->s);
			*n = (struct name_entry){ 0 };
			c->live_names--;
			forgotten++;
		}
		/* Free ids, highest last: a stack hands the lowest out first. */
		id_list_push(&c->names_free, id);
	}
	/* Reversed: the next new name takes the lowest free id. */
	for (size_t i = 0, j = c->names_free.n; i + 1 < j; i++, j--) {
		uint32_t t = c->names_free.ids[i];

		c->names_free.ids[i] = c->names_free.ids[j - 1];
		c->names_free.ids[j - 1] = t;
	}
	if (forgotten)
		catalog_names_reindex(c, c->live_names * 2);
	free(held);
}

void catalog_prune(struct wf_catalog *c, int64_t cutoff_ms, int64_t detail_cutoff_ms)
{
	size_t n = 0, t = 0;

	pthread_rwlock_wrlock(&c->lock);
	for (size_t i = 0; i < c->nedges; i++) {
		struct edge_entry *e = &c->edges[i];
		bool dirty = e->changed > e->saved;

		if (e->meta.last_seen_ms < cutoff_ms && !dirty) {
			if (e->detail) {
				catalog_free_edge(e->detail);
				free(e->detail);
			}
			continue;
		}
		if (e->detail && !e->is_new && e->meta.last_seen_ms < detail_cutoff_ms) {
			catalog_free_edge(e->detail);
			free(e->detail);
			e->detail = NULL;
		}
		c->edges[n++] = *e;
	}
	if (n != c->nedges) {
		c->nedges = n;
		catalog_edges_reindex(c, n * 2);
	}
	for (size_t i = 0; i < c->ntargets; i++) {
		struct target_entry *e = &c->targets[i];

		if (!e->t.alive && e->t.last_seen_ms < cutoff_ms && e->changed <= e->saved)
			continue;
		c->targets[t++] = *e;
	}
	c->ntargets = t;
	prune_names(c, cutoff_ms - c->seen_slack_ms - CATALOG_NAME_MARGIN_MS);
	pthread_rwlock_unlock(&c->lock);
}
