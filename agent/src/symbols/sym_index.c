// SPDX-License-Identifier: Apache-2.0
/* Sorted address-range index shared by kallsyms and ELF tables; see sym_index.h. */
#include "sym_index.h"

#include <stdlib.h>
#include <string.h>

int sym_index_add(struct sym_index *ix, uint64_t addr, uint64_t end, int open,
		  const char *name, int32_t rank)
{
	struct sym_entry *e;

	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 256;
		struct sym_entry *fresh = realloc(ix->e, cap * sizeof(*fresh));

		if (!fresh)
			return -1;
		ix->e = fresh;
		ix->cap = cap;
	}
	e = &ix->e[ix->n++];
	e->addr = addr;
	e->end = end < addr ? addr : end;
	e->max_end = 0;
	e->name = name;
	e->shown = NULL;
	e->rank = rank;
	e->open = open ? 1 : 0;
	return 0;
}

int32_t sym_rank(const char *name, int binding)
{
	int32_t n = 0;

	while (name[n] == '_' && n < 64)
		n++;
	return binding - 4 * n;
}

/* Order by address, best name first: the dedup pass keeps the first. */
static int cmp_entry(const void *a, const void *b)
{
	const struct sym_entry *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	if (!x->name || !y->name)
		return x->name ? -1 : (y->name ? 1 : 0);
	/* Same rank: the shorter, then alphabetically first (deterministic). */
	size_t lx = strlen(x->name), ly = strlen(y->name);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

void sym_index_finish(struct sym_index *ix)
{
	size_t out = 0;
	uint64_t max_end = 0;

	if (!ix->n)
		return;
	qsort(ix->e, ix->n, sizeof(*ix->e), cmp_entry);

	/*
	 * One entry per address. The kept entry is sized by the largest known
	 * (closed) size among its aliases: aliases of one function may be
	 * listed with and without a size (e.g. .dynsym vs asm labels).
	 */
	for (size_t i = 0; i < ix->n; i++) {
		struct sym_entry *cur = &ix->e[i];
		struct sym_entry *kept = out ? &ix->e[out - 1] : NULL;

		if (kept && kept->addr == cur->addr) {
			/* Sorting put a real name (if any) first; boundaries add nothing. */
			if (!cur->name || !kept->name)
				continue;
			if (!cur->open && (kept->open || cur->end > kept->end)) {
				kept->end = cur->end;
				kept->open = 0;
			} else if (cur->open && kept->open && cur->end > kept->end) {
				kept->end = cur->end;
			}
			continue;
		}
		ix->e[out++] = *cur;
	}
	ix->n = out;

	/* Open entries (no size) reach up to the next symbol or their limit. */
	for (size_t i = 0; i < ix->n; i++) {
		struct sym_entry *cur = &ix->e[i];

		if (!cur->name) {
			cur->end = cur->addr; /* boundaries contain nothing */
			cur->open = 0;
		} else if (cur->open && i + 1 < ix->n && ix->e[i + 1].addr < cur->end) {
			cur->end = ix->e[i + 1].addr;
		}
		if (cur->end > max_end)
			max_end = cur->end;
		cur->max_end = max_end;
	}

	/* Give back the slack of the growth doubling. */
	struct sym_entry *tight = realloc(ix->e, ix->n * sizeof(*ix->e));

	if (tight) {
		ix->e = tight;
		ix->cap = ix->n;
	}
}

struct sym_entry *sym_index_find(const struct sym_index *ix, uint64_t addr)
{
	size_t lo = 0, hi = ix->n;

	/* Find the last entry starting at or below addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->e[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/*
	 * Walk back while an earlier symbol could still reach addr (a nested or
	 * overlapping symbol); max_end stops the walk at once in the usual case.
	 */
	for (size_t i = lo; i-- > 0;) {
		struct sym_entry *e = &ix->e[i];

		if (e->max_end <= addr)
			break;
		if (e->name && addr < e->end)
			return e;
	}
	return NULL;
}

void sym_index_free(struct sym_index *ix)
{
	free(ix->e);
	ix->e = NULL;
	ix->n = ix->cap = 0;
}
