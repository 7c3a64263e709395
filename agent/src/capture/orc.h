/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel's ORC unwind table, reindexed for the BPF stack walker
 * (orc_unwind.bpf.h). The kernel keeps two parallel arrays in its image:
 * .orc_unwind_ip (32-bit offsets, each relative to its own slot, sorted by
 * the address they give) and .orc_unwind (6-byte struct orc_entry). This
 * turns them into entries sorted by offset from the start of the kernel's
 * text, the distinct frame descriptions stored once, and a block index.
 */
#ifndef WAKEFLOW_ORC_H
#define WAKEFLOW_ORC_H

#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "wakeflow.h"

/*
 * How the 6-byte struct orc_entry packs its last byte (the kernel's BTF
 * says which, unwinder.c). 6.4 renumbered the types and added "signal"
 * ("x86,objtool: Split UNWIND_HINT_EMPTY in two", "x86/unwind/orc: Add
 * 'signal' field to ORC metadata"); older kernels have a 2-bit type (call,
 * regs, partial regs) and an "end" bit. Both decode into the 6.4+ kinds
 * the BPF walker reads.
 */
enum orc_format {
	ORC_FORMAT_SIGNAL = 0,	/* 6.4+: type:3 signal:1 */
	ORC_FORMAT_END_BIT = 1, /* before 6.4: type:2 end:1 */
};

/* Where the table and the text it describes are (from /proc/kallsyms). */
struct orc_layout {
	uint64_t text_start, text_end; /* _stext, _etext */
	uint64_t ip_table, ip_table_end; /* __start_orc_unwind_ip, __stop_orc_unwind_ip */
	uint64_t entries;		 /* __start_orc_unwind */
	enum orc_format format;
};

struct orc_index {
	uint64_t text_start, text_end;
	uint32_t *blocks; /* nblocks + 1 values */
	size_t nblocks;
	struct wf_orc_entry *entries;
	size_t nentries;
	struct wf_orc_kind kinds[WF_ORC_MAX_KINDS];
	size_t nkinds;
};

/* Size of struct orc_entry in the kernel image. */
#define ORC_RAW_ENTRY_SIZE 6

/* Blocks of text the index has for this layout, and the most entries the
 * table can have: what the BPF maps must hold. */
size_t orc_layout_blocks(const struct orc_layout *l);
size_t orc_layout_entries(const struct orc_layout *l);

/*
 * Builds the index from n raw table slots: rel[i] is the i-th 32-bit value
 * of .orc_unwind_ip (address ip_table + 4 * i), raw the matching 6-byte
 * entries (sp_offset, bp_offset, then sp_reg:4 bp_reg:4 and the type bits
 * of l->format). Entries outside the text are left out. Returns 0, or -1
 * with err saying why (the caller then walks with the kernel's helper).
 */
int orc_index_build(struct orc_index *idx, const struct orc_layout *l, const int32_t *rel, const uint8_t *raw,
		    size_t n, char *err, size_t errlen);

/* Reads len bytes of kernel memory at addr into buf: 0 or -1. */
typedef int (*orc_read_fn)(void *arg, uint64_t addr, void *buf, size_t len);

/* Reads the kernel's table through read and builds the index. */
int orc_index_read(struct orc_index *idx, const struct orc_layout *l, orc_read_fn read, void *arg, char *err,
		   size_t errlen);

void orc_index_free(struct orc_index *idx);

#endif
