// SPDX-License-Identifier: Apache-2.0
#include "chain.h"

#include <stdlib.h>
#include <string.h>

int chain_list_push(struct wf_chain_list *list, const struct wf_chain *c)
{
	if (list->len == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 32;
		struct wf_chain *items = realloc(list->items, cap * sizeof(*items));

		if (!items)
			return -1;
		list->items = items;
		list->cap = cap;
	}
	list->items[list->len++] = *c;
	return 0;
}

void chain_list_free(struct wf_chain_list *list)
{
	/* As for edges: frame arrays are owned by the links, strings by the intern table. */
	for (size_t i = 0; i < list->len; i++) {
		for (int l = 0; l < list->items[i].nlinks; l++) {
			free(list->items[i].links[l].waker_stack.frames);
			free(list->items[i].links[l].target_stack.frames);
		}
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

const char *wf_chain_end_name(enum wf_chain_end e)
{
	switch (e) {
	case WF_CHAIN_END_INTERRUPT:
		return "interrupt";
	case WF_CHAIN_END_DEPTH:
		return "depth";
	case WF_CHAIN_END_UNTRACKED:
		return "untracked";
	default:
		return "none";
	}
}
