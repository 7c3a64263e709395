// SPDX-License-Identifier: Apache-2.0
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Chunks grow from FIRST_CHUNK_BYTES, doubling up to CHUNK_BYTES: most
 * arenas hold one edge's record (its stacks' text and facts, a few KiB),
 * and an edges answer keeps 100 to 1,000 of them at once. With 64 KiB from
 * the first byte, 100 records held 6.4 MiB for ~0.3 MiB of text, and the
 * 4 queries the daemon runs at once up to 25 MiB (19.7 MiB measured at
 * bench:api's heavy peak with heaptrack: the largest consumer).
 */
#define FIRST_CHUNK_BYTES 2048
#define CHUNK_BYTES (64 * 1024)
#define ALIGN 16

struct wf_arena_chunk {
	struct wf_arena_chunk *next;
	size_t used, cap;
	_Alignas(ALIGN) unsigned char data[];
};

void arena_init(struct wf_arena *a)
{
	memset(a, 0, sizeof(*a));
}

void arena_free(struct wf_arena *a)
{
	while (a->head) {
		struct wf_arena_chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
	a->failed = false;
	a->next_cap = 0;
}

size_t arena_bytes(const struct wf_arena *a)
{
	size_t n = 0;

	for (const struct wf_arena_chunk *c = a->head; c; c = c->next)
		n += sizeof(*c) + c->cap;
	return n;
}

void *arena_alloc(struct wf_arena *a, size_t n)
{
	struct wf_arena_chunk *c = a->head;
	size_t at;

	if (n > SIZE_MAX / 2) {
		a->failed = true;
		return NULL;
	}
	at = c ? (c->used + ALIGN - 1) & ~(size_t)(ALIGN - 1) : 0;
	if (!c || at + n > c->cap) {
		/* Larger requests get a chunk of their own size. */
		size_t grow = a->next_cap ? a->next_cap : FIRST_CHUNK_BYTES;
		size_t cap = n > CHUNK_BYTES / 4 || n > grow ? n : grow;

		c = malloc(sizeof(*c) + cap);
		if (!c) {
			a->failed = true;
			return NULL;
		}
		c->cap = cap;
		c->used = 0;
		at = 0;
		if (a->head && n > CHUNK_BYTES / 4) {
			/* Keep filling the current chunk: slot the big one behind it. */
			c->next = a->head->next;
			a->head->next = c;
			c->used = n;
			return c->data;
		}
		c->next = a->head;
		a->head = c;
		a->next_cap = grow < CHUNK_BYTES ? 2 * grow : CHUNK_BYTES;
	}
	c->used = at + n;
	return c->data + at;
}

char *arena_strndup(struct wf_arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);

	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}
