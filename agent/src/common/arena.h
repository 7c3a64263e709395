/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bump allocator for memory that lives exactly as long as one answer: the
 * full records of the edges a query returns (their stacks, facts and names)
 * are thousands of small strings and arrays, all freed at once.
 * Not thread-safe: one answer, one thread.
 */
#ifndef WAKEFLOW_ARENA_H
#define WAKEFLOW_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct wf_arena_chunk;

struct wf_arena {
	struct wf_arena_chunk *head; /* the chunk being filled; older ones behind it */
	bool failed;		     /* an allocation failed (and returned NULL) */
	size_t next_cap;	     /* the next chunk's size (they grow: arena.c) */
};

void arena_init(struct wf_arena *a);
void arena_free(struct wf_arena *a);
/* n bytes aligned for any type; NULL (and a->failed set) on ENOMEM. */
void *arena_alloc(struct wf_arena *a, size_t n);
/* Bytes held: every chunk, with its header. */
size_t arena_bytes(const struct wf_arena *a);
/* A NUL-terminated copy of the first len bytes of s. */
char *arena_strndup(struct wf_arena *a, const char *s, size_t len);

#endif
