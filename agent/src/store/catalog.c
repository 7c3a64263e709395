// SPDX-License-Identifier: Apache-2.0
#include "catalog.h"
#include "catalog_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/*
 * A stored edge's last-seen time is only used to expire it; rewriting every
 * active edge's row every window would cost more disk writes than the
 * windows themselves, so it is persisted again only after this much.
 */
#define EDGE_LAST_SEEN_SLACK_MS (3600 * 1000LL)

/* ---- an open-addressing index of entry numbers (0 = empty slot) ---- */

static void index_free(struct index *ix)
{
	free(ix->slots);
	memset(ix, 0, sizeof(*ix));
}

static uint64_t mix64(uint64_t x)
{
	/* splitmix64 finalizer: spreads sequential ids and FNV hashes alike. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t fnv(const void *p, size_t len, uint64_t h)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

#define FNV_INIT 1469598103934665603ULL

/* Inserts entry number e whose key hashes to h (no duplicate check). */
static int index_insert(struct index *ix, uint64_t h, uint32_t e)
{
	size_t i;

	if ((ix->used + 1) * 2 > ix->cap) {
		/* Grow and reinsert: the caller rebuilds from its entries instead,
		 * since the index holds no keys. Signal with -EAGAIN. */
		return -EAGAIN;
	}
	i = mix64(h) & (ix->cap - 1);
	while (ix->slots[i])
		i = (i + 1) & (ix->cap - 1);
	ix->slots[i] = e + 1;
	ix->used++;
	return 0;
}

static int index_reset(struct index *ix, size_t min_entries)
{
	size_t cap = 64;

	while (cap < (min_entries + 1) * 2)
		cap *= 2;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	ix->used = 0;
	return 0;
}

/* ---- the catalog ---- */

struct wf_catalog *catalog_new(void)
{
	struct wf_catalog *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_rwlock_init(&c->lock, NULL);
	c->nnames = 1; /* id 0 is "none" */
	c->next_edge_id = 1;
	c->seen_slack_ms = EDGE_LAST_SEEN_SLACK_MS;
	if (index_reset(&c->names_ix, 0) || index_reset(&c->edges_by_hash, 0) || index_reset(&c->edges_by_id, 0)) {
		catalog_free(c);
		return NULL;
	}
	return c;
}

void catalog_free_edge(struct wf_edge *e)
{
	free(e->waker_stack.frames);
	free(e->target_stack.frames);
	e->waker_stack.frames = e->target_stack.frames = NULL;
}

void catalog_free(struct wf_catalog *c)
{
	if (!c)
		return;
	for (size_t i = 1; i < c->nnames; i++)
		free(c->names[i].s);
	free(c->names);
	index_free(&c->names_ix);
	id_list_free(&c->names_free);
	id_list_free(&c->names_unsaved);
	id_list_free(&c->names_forgotten);
	free(c->targets);
	for (size_t i = 0; i < c->nedges; i++) {
		if (c->edges[i].detail) {
			catalog_free_edge(c->edges[i].detail);
			free(c->edges[i].detail);
		}
	}
	free(c->edges);
	index_free(&c->edges_by_hash);
	index_free(&c->edges_by_id);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

/* ---- names ---- */

/* Write lock held; catalog_name_id reads the clock under the read lock. */
static void advance_clock(struct wf_catalog *c, int64_t ms)
{
	if (ms > c->clock_ms)
		__atomic_store_n(&c->clock_ms, ms, __ATOMIC_RELAXED);
}

void catalog_advance_clock(struct wf_catalog *c, int64_t now_ms)
{
	pthread_rwlock_wrlock(&c->lock);
	advance_clock(c, now_ms);
	pthread_rwlock_unlock(&c->lock);
}

int id_list_push(struct id_list *l, uint32_t id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		uint32_t *p = realloc(l->ids, cap * sizeof(*p));

		if (!p)
			return -1;
		l->ids = p;
		l->cap = cap;
	}
	l->ids[l->n++] = id;
	return 0;
}

void id_list_free(struct id_list *l)
{
	free(l->ids);
	memset(l, 0, sizeof(*l));
}

static uint64_t str_hash(const char *s)
{
	return fnv(s, strlen(s), FNV_INIT);
}

static uint32_t names_lookup(struct wf_catalog *c, const char *s)
{
	size_t i = mix64(str_hash(s)) & (c->names_ix.cap - 1);

	while (c->names_ix.slots[i]) {
		uint32_t id = c->names_ix.slots[i] - 1;

		if (c->names[id].s && !strcmp(c->names[id].s, s))
			return id;
		i = (i + 1) & (c->names_ix.cap - 1);
	}
	return 0;
}

int catalog_names_reindex(struct wf_catalog *c, size_t want)
{
	if (index_reset(&c->names_ix, want))
		return -1;
	for (size_t id = 1; id < c->nnames; id++)
		if (c->names[id].s)
			index_insert(&c->names_ix, str_hash(c->names[id].s), (uint32_t)id);
	return 0;
}

/* Puts s under id (a free slot: past nnames, or forgotten); caller holds
 * the write lock. */
static int names_add(struct wf_catalog *c, uint32_t id, const char *s, int64_t used_ms)
{
	char *copy;

	if (id + 1 > c->cnames) {
		size_t cap = c->cnames ? c->cnames : 64;
		struct name_entry *p;

		while (cap < (size_t)id + 1)
			cap *= 2;
		p = realloc(c->names, cap * sizeof(*p));
		if (!p)
			return -1;
		memset(p + c->cnames, 0, (cap - c->cnames) * sizeof(*p));
		c->names = p;
		c->cnames = cap;
	}
	copy = strdup(s);
	if (!copy)
		return -1;
	c->names[id] = (struct name_entry){ .s = copy, .used_ms = used_ms };
	if ((size_t)id + 1 > c->nnames)
		c->nnames = (size_t)id + 1;
	c->live_names++;
	if (index_insert(&c->names_ix, str_hash(s), id) == -EAGAIN && catalog_names_reindex(c, c->live_names * 2))
		return -1;
	return 0;
}

uint32_t catalog_name_id(struct wf_catalog *c, const char *s)
{
	uint32_t id;

	if (!s || !*s)
		return 0;
	pthread_rwlock_rdlock(&c->lock);
	id = names_lookup(c, s);
	/* Handed out again: a window or edge about to be stored uses it. Only
	 * the main loop hands names out; readers never look at used_ms. */
	if (id)
		__atomic_store_n(&c->names[id].used_ms, __atomic_load_n(&c->clock_ms, __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&c->lock);
	if (id)
		return id;
	pthread_rwlock_wrlock(&c->lock);
	id = names_lookup(c, s);
	if (id) {
		c->names[id].used_ms = c->clock_ms;
	} else {
		/* A forgotten id first, so the table stays as large as the names
		 * in use, not as every name ever seen. */
		id = c->names_free.n ? c->names_free.ids[--c->names_free.n] : (uint32_t)c->nnames;
		if (names_add(c, id, s, c->clock_ms) || id_list_push(&c->names_unsaved, id)) {
			/* Out of memory: the id stays free, the name unnamed. */
			if (id < c->cnames && c->names[id].s) {
				free(c->names[id].s);
				c->names[id].s = NULL;
				c->live_names--;
				catalog_names_reindex(c, c->live_names * 2);
			}
			if (id < c->nnames)
				id_list_push(&c->names_free, id);
			id = 0;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return id;
}

uint32_t catalog_name_find(struct wf_catalog *c, const char *s)
{
	uint32_t id;

	if (!s || !*s)
		return 0;
	pthread_rwlock_rdlock(&c->lock);
	id = names_lookup(c, s);
	pthread_rwlock_unlock(&c->lock);
	return id;
}

const char *catalog_name(struct wf_catalog *c, uint32_t id, char *buf, size_t len)
{
	if (!len)
		return buf;
	buf[0] = '\0';
	pthread_rwlock_rdlock(&c->lock);
	if (id && id < c->nnames && c->names[id].s) {
		size_t n = strlen(c->names[id].s);

		if (n >= len)
			n = len - 1;
		memcpy(buf, c->names[id].s, n);
		buf[n] = '\0';
	}
	pthread_rwlock_unlock(&c->lock);
	return buf;
}

int catalog_load_name(struct wf_catalog *c, uint32_t id, const char *s)
{
	int rc = 0;

	if (!id || !s || !*s)
		return -1;
	pthread_rwlock_wrlock(&c->lock);
	if (id < c->nnames && c->names[id].s)
		rc = strcmp(c->names[id].s, s) ? -1 : 0;
	else if (names_lookup(c, s))
		rc = -1; /* the same string under two ids: keep the first */
	else
		rc = names_add(c, id, s, c->clock_ms);
	if (!rc)
		c->names[id].saved = true;
	pthread_rwlock_unlock(&c->lock);
	return rc;
}

/* ---- targets ---- */

static struct target_entry *target_find(struct wf_catalog *c, int32_t pid, uint64_t start_time)
{
	/* Targets are few (the processes traced over the retention period). */
	for (size_t i = 0; i < c->ntargets; i++)
		if (c->targets[i].t.pid == pid && c->targets[i].t.start_time == start_time)
			return &c->targets[i];
	return NULL;
}

struct target_entry *catalog_target_entry(struct wf_catalog *c, uint32_t id)
{
	for (size_t i = 0; i < c->ntargets; i++)
		if (c->targets[i].t.id == id)
			return &c->targets[i];
	return NULL;
}

static struct target_entry *target_append(struct wf_catalog *c)
{
	if (c->ntargets == c->ctargets) {
		size_t cap = c->ctargets ? c->ctargets * 2 : 16;
		struct target_entry *p = realloc(c->targets, cap * sizeof(*p));

		if (!p)
			return NULL;
		c->targets = p;
		c->ctargets = cap;
	}
	memset(&c->targets[c->ntargets], 0, sizeof(c->targets[0]));
	return &c->targets[c->ntargets++];
}

/* Ids only grow: windows still stored may name a target already forgotten. */
static uint32_t next_target_id(struct wf_catalog *c)
{
	return ++c->last_target_id;
}

uint32_t catalog_target_put(struct wf_catalog *c, const struct wf_target *t)
{
	struct target_entry *e;
	uint32_t id = 0;

	pthread_rwlock_wrlock(&c->lock);
	advance_clock(c, t->last_seen_ms);
	e = target_find(c, t->pid, t->start_time);
	if (e) {
		bool changed = strcmp(e->t.comm, t->comm) || strcmp(e->t.exe, t->exe) ||
			       memcmp(&e->t.labels, &t->labels, sizeof(t->labels)) || e->t.alive != t->alive ||
			       e->t.last_seen_ms != t->last_seen_ms;

		if (changed) {
			int64_t first = e->t.first_seen_ms;

			id = e->t.id;
			e->t = *t;
			e->t.id = id;
			e->t.first_seen_ms = first;
			e->changed = ++c->generation;
		}
		id = e->t.id;
	} else {
		uint32_t nid = next_target_id(c);

		e = target_append(c);
		if (e) {
			e->t = *t;
			e->t.id = nid;
			e->changed = ++c->generation;
			id = nid;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return id;
}

void catalog_target_set_alive(struct wf_catalog *c, uint32_t id, bool alive)
{
	struct target_entry *e;

	pthread_rwlock_wrlock(&c->lock);
	e = catalog_target_entry(c, id);
	if (e && e->t.alive != alive) {
		e->t.alive = alive;
		e->changed = ++c->generation;
	}
	pthread_rwlock_unlock(&c->lock);
}

int catalog_target_get(struct wf_catalog *c, uint32_t id, struct wf_target *out)
{
	struct target_entry *e;

	pthread_rwlock_rdlock(&c->lock);
	e = catalog_target_entry(c, id);
	if (e)
		*out = e->t;
	pthread_rwlock_unlock(&c->lock);
	return e ? 0 : -1;
}

ssize_t catalog_targets(struct wf_catalog *c, struct wf_target **out)
{
	ssize_t n;

	pthread_rwlock_rdlock(&c->lock);
	n = (ssize_t)c->ntargets;
	*out = malloc((c->ntargets ? c->ntargets : 1) * sizeof(**out));
	if (*out) {
		for (size_t i = 0; i < c->ntargets; i++)
			(*out)[i] = c->targets[i].t;
	} else {
		n = -1;
	}
	pthread_rwlock_unlock(&c->lock);
	return n;
}

int catalog_load_target(struct wf_catalog *c, const struct wf_target *t)
{
	struct target_entry *e;
	int rc = -1;

	pthread_rwlock_wrlock(&c->lock);
	if (!catalog_target_entry(c, t->id) && !target_find(c, t->pid, t->start_time)) {
		e = target_append(c);
		if (e) {
			e->t = *t;
			if (t->id > c->last_target_id)
				c->last_target_id = t->id;
			/* Whatever the store says, a process is alive only once the
			 * capture reports it again. */
			e->t.alive = false;
			rc = 0;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return rc;
}

/* ---- edges ---- */

static uint64_t hash_task(uint64_t h, const struct wf_task *t)
{
	h = fnv(t->comm, strnlen(t->comm, sizeof(t->comm)), h);
	h = fnv("\0", 1, h);
	h = fnv(t->proc_comm, strnlen(t->proc_comm, sizeof(t->proc_comm)), h);
	h = fnv(&t->pid, sizeof(t->pid), h);
	return fnv(&t->tid, sizeof(t->tid), h);
}

static uint64_t hash_stack(uint64_t h, const struct wf_stack *s)
{
	h = fnv(&s->nframes, sizeof(s->nframes), h);
	h = fnv(&s->nkernel, sizeof(s->nkernel), h);
	for (int i = 0; i < s->nframes; i++)
		h = fnv(s->frames[i] ? s->frames[i] : "", s->frames[i] ? strlen(s->frames[i]) + 1 : 1, h);
	/* Two builds of one basename show the same texts: their builds tell
	 * them apart (a stack without any hashes as it always did). */
	if (s->builds)
		h = fnv(s->builds, strlen(s->builds) + 1, h);
	return h;
}

uint64_t catalog_edge_hash(const struct wf_edge *e, uint32_t target_id)
{
	uint64_t h = FNV_INIT;
	int32_t v;

	h = fnv(&target_id, sizeof(target_id), h);
	h = hash_task(h, &e->waker);
	h = hash_task(h, &e->target);
	h = hash_task(h, &e->preemptor);
	v = e->context;
	h = fnv(&v, sizeof(v), h);
	v = e->kind;
	h = fnv(&v, sizeof(v), h);
	h = hash_stack(h, &e->waker_stack);
	h = hash_stack(h, &e->target_stack);
	for (int i = 0; i < e->nfacts; i++)
		h = fnv(e->facts[i], strlen(e->facts[i]) + 1, h);
	h = fnv(&e->category, sizeof(e->category), h);
	h = fnv(e->activity ? e->activity : "", e->activity ? strlen(e->activity) + 1 : 1, h);
	h = fnv(&e->role, sizeof(e->role), h);
	/* 0 marks "no hash" in the store; SQLite integers are signed 64-bit. */
	return h ? h : 1;
}

/* The probe both edge indexes share; they differ only in the key field they
 * hold (the index stores entry numbers, not keys). */
static struct edge_entry *edge_find(struct wf_catalog *c, const struct index *ix, uint64_t key, bool by_id)
{
	size_t i = mix64(key) & (ix->cap - 1);

	while (ix->slots[i]) {
		struct edge_entry *e = &c->edges[ix->slots[i] - 1];

		if ((by_id ? e->meta.id : e->meta.hash) == key)
			return e;
		i = (i + 1) & (ix->cap - 1);
	}
	return NULL;
}

static struct edge_entry *edge_by_hash(struct wf_catalog *c, uint64_t hash)
{
	return edge_find(c, &c->edges_by_hash, hash, false);
}

struct edge_entry *catalog_edge_entry(struct wf_catalog *c, uint32_t id)
{
	return edge_find(c, &c->edges_by_id, id, true);
}

int catalog_edges_reindex(struct wf_catalog *c, size_t want)
{
	if (index_reset(&c->edges_by_hash, want) || index_reset(&c->edges_by_id, want))
		return -1;
	for (size_t i = 0; i < c->nedges; i++) {
		index_insert(&c->edges_by_hash, c->edges[i].meta.hash, (uint32_t)i);
		index_insert(&c->edges_by_id, c->edges[i].meta.id, (uint32_t)i);
	}
	return 0;
}

/* Appends an entry and indexes it; caller holds the write lock. */
static struct edge_entry *edge_append(struct wf_catalog *c, const struct wf_edge_meta *m)
{
	struct edge_entry *e;

	if (c->nedges == c->cedges) {
		size_t cap = c->cedges ? c->cedges * 2 : 1024;
		struct edge_entry *p = realloc(c->edges, cap * sizeof(*p));

		if (!p)
			return NULL;
		c->edges = p;
		c->cedges = cap;
	}
	if ((c->nedges + 1) * 2 > c->edges_by_hash.cap && catalog_edges_reindex(c, (c->nedges + 1) * 2))
		return NULL;
	e = &c->edges[c->nedges];
	memset(e, 0, sizeof(*e));
	e->meta = *m;
	index_insert(&c->edges_by_hash, m->hash, (uint32_t)c->nedges);
	index_insert(&c->edges_by_id, m->id, (uint32_t)c->nedges);
	c->nedges++;
	if (m->id >= c->next_edge_id)
		c->next_edge_id = m->id + 1;
	return e;
}

int catalog_copy_edge(struct wf_edge *dst, const struct wf_edge *src)
{
	const struct wf_stack *stacks[2] = { &src->waker_stack, &src->target_stack };
	struct wf_stack *out[2];

	*dst = *src;
	out[0] = &dst->waker_stack;
	out[1] = &dst->target_stack;
	for (int i = 0; i < 2; i++) {
		out[i]->frames = NULL;
		if (stacks[i]->nframes <= 0) {
			out[i]->nframes = 0;
			continue;
		}
		out[i]->frames = malloc((size_t)stacks[i]->nframes * sizeof(char *));
		if (!out[i]->frames) {
			catalog_free_edge(dst);
			return -1;
		}
		memcpy(out[i]->frames, stacks[i]->frames, (size_t)stacks[i]->nframes * sizeof(char *));
	}
	return 0;
}

uint32_t catalog_edge_put(struct wf_catalog *c, const struct wf_edge_meta *m, const struct wf_edge *e)
{
	struct edge_entry *en;
	uint32_t id = 0;

	pthread_rwlock_wrlock(&c->lock);
	advance_clock(c, m->last_seen_ms);
	en = edge_by_hash(c, m->hash);
	if (en) {
		if (m->last_seen_ms > en->meta.last_seen_ms)
			en->meta.last_seen_ms = m->last_seen_ms;
		if (!en->detail && e) {
			/* Seen again after eviction or a restart: keep it while recent. */
			en->detail = malloc(sizeof(*en->detail));
			if (en->detail && catalog_copy_edge(en->detail, e)) {
				free(en->detail);
				en->detail = NULL;
			}
		} else if (en->detail && e && e->stacks_sampled && !en->detail->stacks_sampled) {
			/* Only chain links, whose identity leaves stacks out
			 * (collect/chains.c), meet this: first seen without
			 * stacks, now with them. Keep the stacks, and store the
			 * record again (the edge statement replaces by id). */
			struct wf_edge copy;

			if (!catalog_copy_edge(&copy, e)) {
				catalog_free_edge(en->detail);
				*en->detail = copy;
				en->is_new = true;
				en->changed = ++c->generation;
			}
		}
		if (en->meta.last_seen_ms - en->saved_last_seen > c->seen_slack_ms)
			en->changed = ++c->generation;
		id = en->meta.id;
	} else {
		struct wf_edge_meta nm = *m;

		nm.id = c->next_edge_id;
		en = edge_append(c, &nm);
		if (en) {
			en->is_new = true;
			en->changed = ++c->generation;
			if (e) {
				en->detail = malloc(sizeof(*en->detail));
				if (en->detail && catalog_copy_edge(en->detail, e)) {
					free(en->detail);
					en->detail = NULL;
				}
			}
			id = nm.id;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return id;
}

void catalog_edge_metas(struct wf_catalog *c, const uint32_t *ids, size_t n, struct wf_edge_meta *out, bool *found)
{
	pthread_rwlock_rdlock(&c->lock);
	for (size_t i = 0; i < n; i++) {
		struct edge_entry *e = catalog_edge_entry(c, ids[i]);

		found[i] = e != NULL;
		if (e)
			out[i] = e->meta;
	}
	pthread_rwlock_unlock(&c->lock);
}

int catalog_edge_detail(struct wf_catalog *c, uint32_t id, struct wf_edge *out)
{
	struct edge_entry *e;
	int rc = -1;

	pthread_rwlock_rdlock(&c->lock);
	e = catalog_edge_entry(c, id);
	if (e && e->detail)
		rc = catalog_copy_edge(out, e->detail);
	pthread_rwlock_unlock(&c->lock);
	return rc;
}

int catalog_load_edge(struct wf_catalog *c, const struct wf_edge_meta *m)
{
	struct edge_entry *e;
	int rc = -1;

	pthread_rwlock_wrlock(&c->lock);
	if (!edge_by_hash(c, m->hash) && !catalog_edge_entry(c, m->id)) {
		e = edge_append(c, m);
		if (e) {
			e->saved_last_seen = m->last_seen_ms;
			rc = 0;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	return rc;
}

uint32_t catalog_edge_id_limit(struct wf_catalog *c)
{
	uint32_t id;

	pthread_rwlock_rdlock(&c->lock);
	id = c->next_edge_id;
	pthread_rwlock_unlock(&c->lock);
	return id;
}

void catalog_set_seen_slack(struct wf_catalog *c, int64_t ms)
{
	pthread_rwlock_wrlock(&c->lock);
	c->seen_slack_ms = ms < EDGE_LAST_SEEN_SLACK_MS ? ms : EDGE_LAST_SEEN_SLACK_MS;
	pthread_rwlock_unlock(&c->lock);
}

int64_t catalog_seen_slack(struct wf_catalog *c)
{
	int64_t ms;

	pthread_rwlock_rdlock(&c->lock);
	ms = c->seen_slack_ms;
	pthread_rwlock_unlock(&c->lock);
	return ms;
}

size_t catalog_name_count(struct wf_catalog *c)
{
	size_t n;

	pthread_rwlock_rdlock(&c->lock);
	n = c->live_names;
	pthread_rwlock_unlock(&c->lock);
	return n;
}

size_t catalog_edge_count(struct wf_catalog *c)
{
	size_t n;

	pthread_rwlock_rdlock(&c->lock);
	n = c->nedges;
	pthread_rwlock_unlock(&c->lock);
	return n;
}
