// SPDX-License-Identifier: Apache-2.0
#include "minute_blocks.h"

#include <pthread.h>
#include <stdlib.h>

struct wf_block_cache {
	pthread_mutex_t lock;
	size_t max_bytes, bytes;
	int64_t span_ms;
	void (*destroy)(struct wf_block *);
	struct wf_block **blocks; /* unordered; few (max_bytes / a block's size) */
	size_t n, cap;
	uint64_t hits, misses, stale;
};

void block_cache_unref(struct wf_block_cache *c, struct wf_block *b)
{
	bool last;

	if (!b)
		return;
	pthread_mutex_lock(&c->lock);
	last = --b->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		c->destroy(b);
}

struct wf_block_cache *block_cache_new(size_t max_bytes, int64_t span_ms, void (*destroy)(struct wf_block *))
{
	struct wf_block_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->max_bytes = max_bytes;
	c->span_ms = span_ms;
	c->destroy = destroy;
	return c;
}

void block_cache_free(struct wf_block_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		block_cache_unref(c, c->blocks[i]);
	free(c->blocks);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool block_cache_keeps(const struct wf_block_cache *c, int64_t start_ms, int64_t newest_ms)
{
	return c->max_bytes && start_ms >= newest_ms - c->span_ms;
}

void block_cache_stats(struct wf_block_cache *c, struct wf_block_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = (struct wf_block_cache_stats){ .hits = c->hits, .misses = c->misses, .stale = c->stale,
					      .blocks = c->n, .bytes = c->bytes };
	pthread_mutex_unlock(&c->lock);
}

/* Removes blocks[i] (the caller unrefs it after unlocking). Lock held. */
static struct wf_block *take_out(struct wf_block_cache *c, size_t i)
{
	struct wf_block *b = c->blocks[i];

	c->bytes -= b->bytes;
	c->blocks[i] = c->blocks[--c->n];
	return b;
}

struct wf_block *block_cache_lookup(struct wf_block_cache *c, int64_t start_ms, uint64_t fp)
{
	struct wf_block *b = NULL, *old = NULL;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++) {
		if (c->blocks[i]->start_ms != start_ms)
			continue;
		if (c->blocks[i]->fingerprint == fp) {
			b = c->blocks[i];
			b->refs++;
			c->hits++;
		} else {
			old = take_out(c, i);
			c->stale++;
		}
		break;
	}
	if (!b)
		c->misses++;
	pthread_mutex_unlock(&c->lock);
	block_cache_unref(c, old);
	return b;
}

/* First the blocks out of the span go, then the oldest until b fits. */
void block_cache_keep(struct wf_block_cache *c, struct wf_block *b, int64_t newest_ms)
{
	struct wf_block **gone;
	size_t ngone = 0;

	if (b->bytes > c->max_bytes || !block_cache_keeps(c, b->start_ms, newest_ms))
		return;
	pthread_mutex_lock(&c->lock);
	gone = malloc((c->n + 1) * sizeof(*gone));
	if (!gone) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	for (size_t i = 0; i < c->n;) {
		if (c->blocks[i]->start_ms == b->start_ms || c->blocks[i]->start_ms < newest_ms - c->span_ms)
			gone[ngone++] = take_out(c, i);
		else
			i++;
	}
	while (c->n && c->bytes + b->bytes > c->max_bytes) {
		size_t oldest = 0;

		for (size_t i = 1; i < c->n; i++)
			if (c->blocks[i]->start_ms < c->blocks[oldest]->start_ms)
				oldest = i;
		if (b->start_ms < c->blocks[oldest]->start_ms)
			goto out; /* b is the oldest of all: the newer ones stay */
		gone[ngone++] = take_out(c, oldest);
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct wf_block **p = realloc(c->blocks, cap * sizeof(*p));

		if (!p)
			goto out;
		c->blocks = p;
		c->cap = cap;
	}
	b->refs++;
	c->blocks[c->n++] = b;
	c->bytes += b->bytes;
out:
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < ngone; i++)
		block_cache_unref(c, gone[i]);
	free(gone);
}
