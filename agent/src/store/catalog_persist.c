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
		for (uint32_t i = 0; i < d->names_to - d->names_from; i++)
			free(d->names[i]);
	free(d->names);
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
	d->names_from = c->names_saved;
	d->names_to = (uint32_t)c->nnames;
	if (d->names_to > d->names_from) {
		d->names = calloc(d->names_to - d->names_from, sizeof(char *));
		if (!d->names)
			goto fail;
		for (uint32_t id = d->names_from; id < d->names_to; id++) {
			d->names[id - d->names_from] = strdup(c->names[id] ? c->names[id] : "");
			if (!d->names[id - d->names_from])
				goto fail;
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
	if (d->names_to > c->names_saved)
		c->names_saved = d->names_to;
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
	pthread_rwlock_unlock(&c->lock);
}
