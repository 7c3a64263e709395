// SPDX-License-Identifier: Apache-2.0
#include "edge.h"

#include <stdlib.h>
#include <string.h>

#include "intern.h"

void edge_init(struct wf_edge *e)
{
	memset(e, 0, sizeof(*e));
	e->waker.pid = e->waker.tid = -1;
	e->target.pid = e->target.tid = -1;
	e->preemptor.pid = e->preemptor.tid = -1;
	e->waker_stack.nkernel = -1;
	e->target_stack.nkernel = -1;
	e->context = WF_CTX_UNKNOWN;
}

int edge_list_push(struct wf_edge_list *list, const struct wf_edge *e)
{
	if (list->len == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		struct wf_edge *items = realloc(list->items, cap * sizeof(*items));

		if (!items)
			return -1;
		list->items = items;
		list->cap = cap;
	}
	list->items[list->len++] = *e;
	return 0;
}

void edge_list_free(struct wf_edge_list *list)
{
	/* Frame arrays are owned by the edges; frame strings by the intern table. */
	for (size_t i = 0; i < list->len; i++) {
		free(list->items[i].waker_stack.frames);
		free(list->items[i].target_stack.frames);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

void edge_add_fact(struct wf_edge *e, const char *fact)
{
	const char *s;

	if (e->nfacts >= WF_MAX_FACTS)
		return;
	s = intern(fact);
	if (s)
		e->facts[e->nfacts++] = s;
}

const char *edge_fact(const struct wf_edge *e, const char *key)
{
	size_t klen = strlen(key);

	for (int i = 0; i < e->nfacts; i++) {
		if (strncmp(e->facts[i], key, klen) == 0 && e->facts[i][klen] == '=')
			return e->facts[i] + klen + 1;
	}
	return NULL;
}

const char *wf_context_name(enum wf_context c)
{
	switch (c) {
	case WF_CTX_NONE:
		return "none";
	case WF_CTX_TASK:
		return "task";
	case WF_CTX_SOFTIRQ:
		return "softirq";
	case WF_CTX_HARDIRQ:
		return "hardirq";
	default:
		return "unknown";
	}
}

void edge_mark_interned(const struct wf_edge *e)
{
	const struct wf_stack *stacks[2] = { &e->waker_stack, &e->target_stack };

	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < stacks[k]->nframes; i++)
			intern_mark(stacks[k]->frames[i]);
		intern_mark(stacks[k]->builds);
	}
	for (int i = 0; i < e->nfacts; i++)
		intern_mark(e->facts[i]);
	intern_mark(e->activity);
}
