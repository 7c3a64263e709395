/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An address-range index: the one lookup structure behind both kernel
 * (kallsyms) and user (ELF) symbol tables, so both answer "which symbol
 * contains this address?" the same way.
 *
 * Entries are collected with sym_index_add(), then sym_index_finish() sorts
 * them, keeps the preferred name where several share an address, and closes
 * open-ended entries at the next symbol. A lookup is a binary search plus a
 * containment check: an address past a symbol's end is *not* attributed to
 * it (a wrong nearest name is worse than none; see docs/agent.md).
 */
#ifndef WAKEFLOW_SYM_INDEX_H
#define WAKEFLOW_SYM_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct sym_entry {
	uint64_t addr;
	uint64_t end;	  /* exclusive */
	uint64_t max_end; /* max(end) over this and all earlier entries (nesting) */
	const char *name; /* NULL: a boundary that ends other symbols, never a match */
	const char *shown; /* display name, filled lazily by the owner (interned) */
	int32_t rank;	  /* larger wins among names at one address */
	uint32_t open;	  /* 1: end is only a limit; the next symbol's start closes it */
};

struct sym_index {
	struct sym_entry *e;
	size_t n, cap;
};

/*
 * Add a symbol [addr, end). With open set, end is an upper bound (section or
 * module end, or UINT64_MAX) and the entry extends only up to the next
 * symbol: for kallsyms (no sizes) and zero-sized ELF symbols.
 * Returns 0 or -1 (out of memory).
 */
int sym_index_add(struct sym_index *ix, uint64_t addr, uint64_t end, int open,
		  const char *name, int32_t rank);
/* Sort, deduplicate and close open entries; call once after adding. */
void sym_index_finish(struct sym_index *ix);
/* The entry containing addr, or NULL. */
struct sym_entry *sym_index_find(const struct sym_index *ix, uint64_t addr);
/*
 * Preference among aliases at one address: fewer leading underscores first
 * (write over __write, pthread_cond_wait over __pthread_cond_wait), then the
 * stronger binding (0 local .. 2 global).
 */
int32_t sym_rank(const char *name, int binding);
void sym_index_free(struct sym_index *ix);

#endif
