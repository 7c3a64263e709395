// SPDX-License-Identifier: Apache-2.0
/* Reindexing of the kernel's ORC unwind table; see orc.h. */
#include "orc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE (1ULL << WF_ORC_BLOCK_SHIFT)
/* Open-addressing table from a packed frame description to its kind. */
#define KIND_SLOTS (WF_ORC_MAX_KINDS * 2)

size_t orc_layout_blocks(const struct orc_layout *l)
{
	if (l->text_end <= l->text_start)
		return 0;
	return (size_t)((l->text_end - l->text_start + BLOCK_SIZE - 1) >> WF_ORC_BLOCK_SHIFT);
}

size_t orc_layout_entries(const struct orc_layout *l)
{
	if (l->ip_table_end <= l->ip_table)
		return 0;
	return (size_t)((l->ip_table_end - l->ip_table) / sizeof(int32_t));
}

/*
 * Before 6.4 the kernel's unwind_next_frame() told the end of a stack by an
 * undefined stack register with "end" set (without it, an error), and took
 * the next address literally (signal) after register frames only; 6.4 has
 * a type and a signal bit for each.
 */
static void decode_end_bit(struct wf_orc_kind *k, uint8_t last)
{
	static const uint8_t types[4] = { WF_ORC_TYPE_CALL, WF_ORC_TYPE_REGS, WF_ORC_TYPE_REGS_PARTIAL,
					  WF_ORC_TYPE_UNDEFINED };
	unsigned type = last & 0x3, end = (last >> 2) & 1;

	if (k->sp_reg == WF_ORC_REG_UNDEFINED) {
		k->type = end ? WF_ORC_TYPE_END_OF_STACK : WF_ORC_TYPE_UNDEFINED;
		k->signal = 0;
		return;
	}
	k->type = types[type];
	k->signal = k->type == WF_ORC_TYPE_REGS || k->type == WF_ORC_TYPE_REGS_PARTIAL;
}

static struct wf_orc_kind decode(const uint8_t *r, enum orc_format format)
{
	struct wf_orc_kind k;

	k.sp_offset = (int16_t)(r[0] | r[1] << 8);
	k.bp_offset = (int16_t)(r[2] | r[3] << 8);
	k.sp_reg = r[4] & 0xf;
	k.bp_reg = r[4] >> 4;
	if (format == ORC_FORMAT_END_BIT) {
		decode_end_bit(&k, r[5]);
		return k;
	}
	k.type = r[5] & 0x7;
	k.signal = (r[5] >> 3) & 1;
	return k;
}

static uint64_t pack(const uint8_t *r)
{
	return (uint64_t)r[0] | (uint64_t)r[1] << 8 | (uint64_t)r[2] << 16 | (uint64_t)r[3] << 24 |
	       (uint64_t)r[4] << 32 | (uint64_t)r[5] << 40;
}

struct kind_map {
	uint64_t key[KIND_SLOTS]; /* packed entry + 1 (0: empty slot) */
	uint16_t kind[KIND_SLOTS];
};

/* The kind of a raw entry, added if new; -1 when there are too many. */
static int kind_of(struct orc_index *idx, struct kind_map *m, const uint8_t *raw, enum orc_format format)
{
	uint64_t key = pack(raw) + 1;
	size_t slot = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 40) % KIND_SLOTS;

	while (m->key[slot] && m->key[slot] != key)
		slot = (slot + 1) % KIND_SLOTS;
	if (m->key[slot])
		return m->kind[slot];
	if (idx->nkinds >= WF_ORC_MAX_KINDS)
		return -1;
	m->key[slot] = key;
	m->kind[slot] = (uint16_t)idx->nkinds;
	idx->kinds[idx->nkinds] = decode(raw, format);
	return (int)idx->nkinds++;
}

static int by_ip(const void *a, const void *b)
{
	const struct wf_orc_entry *x = a, *y = b;

	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

/* The index under construction: slots go in by chunks (orc_index_read
 * never holds the kernel's whole table), then blocks are computed. */
struct builder {
	struct orc_index *idx;
	const struct orc_layout *l;
	struct kind_map *kinds;
	size_t cap;
	bool sorted;
};

static int builder_begin(struct builder *b, struct orc_index *idx, const struct orc_layout *l, size_t n, char *err,
			 size_t errlen)
{
	memset(idx, 0, sizeof(*idx));
	memset(b, 0, sizeof(*b));
	b->idx = idx;
	b->l = l;
	b->sorted = true;
	idx->text_start = l->text_start;
	idx->text_end = l->text_end;
	if (!orc_layout_blocks(l) || l->text_end - l->text_start > UINT32_MAX) {
		snprintf(err, errlen, "the kernel's text range is not usable (%#llx-%#llx)",
			 (unsigned long long)l->text_start, (unsigned long long)l->text_end);
		return -1;
	}
	b->cap = n ? n : 1;
	b->kinds = calloc(1, sizeof(*b->kinds));
	idx->entries = calloc(b->cap, sizeof(*idx->entries));
	if (!b->kinds || !idx->entries) {
		snprintf(err, errlen, "out of memory for the unwind table");
		return -1;
	}
	return 0;
}

/* Adds n slots starting at slot first: rel and raw as in orc_index_build. */
static int builder_add(struct builder *b, size_t first, const int32_t *rel, const uint8_t *raw, size_t n, char *err,
		       size_t errlen)
{
	struct orc_index *idx = b->idx;
	const struct orc_layout *l = b->l;

	for (size_t i = 0; i < n; i++) {
		uint64_t ip = l->ip_table + 4 * (first + i) + (int64_t)rel[i];
		size_t e = idx->nentries;
		int kind;

		if (ip < l->text_start || ip >= l->text_end)
			continue;
		if (e >= b->cap) {
			snprintf(err, errlen, "the unwind table has more entries than its symbols say");
			return -1;
		}
		kind = kind_of(idx, b->kinds, raw + ORC_RAW_ENTRY_SIZE * i, l->format);
		if (kind < 0) {
			snprintf(err, errlen, "the unwind table has more than %d distinct frame kinds", WF_ORC_MAX_KINDS);
			return -1;
		}
		idx->entries[e].ip = (uint32_t)(ip - l->text_start);
		idx->entries[e].kind = (uint16_t)kind;
		if (e && idx->entries[e].ip < idx->entries[e - 1].ip)
			b->sorted = false;
		idx->nentries = e + 1;
	}
	return 0;
}

static int builder_finish(struct builder *b, char *err, size_t errlen)
{
	struct orc_index *idx = b->idx;
	size_t nblocks = orc_layout_blocks(b->l), e = idx->nentries;

	if (!e) {
		snprintf(err, errlen, "the unwind table has no entry for the kernel's text");
		return -1;
	}
	/* The kernel sorts its table at build time; a table that is not is
	 * sorted here rather than trusted. */
	if (!b->sorted)
		qsort(idx->entries, e, sizeof(*idx->entries), by_ip);
	idx->blocks = calloc(nblocks + 1, sizeof(*idx->blocks));
	if (!idx->blocks) {
		snprintf(err, errlen, "out of memory for the unwind table");
		return -1;
	}
	/* blocks[b]: the last entry at or before the start of block b, so the
	 * entry for an address in block b lies in [blocks[b], blocks[b + 1]]. */
	for (size_t k = 0, i = 0; k <= nblocks; k++) {
		uint64_t start = (uint64_t)k << WF_ORC_BLOCK_SHIFT;

		while (i + 1 < e && idx->entries[i + 1].ip <= start)
			i++;
		idx->blocks[k] = (uint32_t)i;
	}
	for (size_t k = 0; k < nblocks; k++) {
		if (idx->blocks[k + 1] - idx->blocks[k] >= (1u << WF_ORC_SEARCH_STEPS)) {
			snprintf(err, errlen, "a block of text has more unwind entries than the BPF search covers");
			return -1;
		}
	}
	idx->nblocks = nblocks;
	return 0;
}

/* Frees what the builder itself holds; the index on failure. */
static int builder_end(struct builder *b, int rc)
{
	free(b->kinds);
	if (rc)
		orc_index_free(b->idx);
	return rc;
}

int orc_index_build(struct orc_index *idx, const struct orc_layout *l, const int32_t *rel, const uint8_t *raw,
		    size_t n, char *err, size_t errlen)
{
	struct builder b;
	int rc = builder_begin(&b, idx, l, n, err, errlen);

	if (!rc)
		rc = builder_add(&b, 0, rel, raw, n, err, errlen);
	if (!rc)
		rc = builder_finish(&b, err, errlen);
	return builder_end(&b, rc);
}

/* Slots read per round: 4 KiB of offsets, 6 KiB of entries. */
#define READ_SLOTS 1024

/* Reads big ranges in pieces the reader can take. */
static int read_all(orc_read_fn read, void *arg, uint64_t addr, void *buf, size_t len)
{
	const size_t chunk = 4096;

	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		if (read(arg, addr + off, (char *)buf + off, n))
			return -1;
	}
	return 0;
}

int orc_index_read(struct orc_index *idx, const struct orc_layout *l, orc_read_fn read, void *arg, char *err,
		   size_t errlen)
{
	int32_t rel[READ_SLOTS];
	uint8_t raw[READ_SLOTS * ORC_RAW_ENTRY_SIZE];
	size_t n = orc_layout_entries(l);
	struct builder b;
	int rc;

	memset(idx, 0, sizeof(*idx));
	if (!n || !l->entries) {
		snprintf(err, errlen, "the kernel's unwind table is not in /proc/kallsyms");
		return -1;
	}
	rc = builder_begin(&b, idx, l, n, err, errlen);
	for (size_t first = 0; !rc && first < n; first += READ_SLOTS) {
		size_t k = n - first < READ_SLOTS ? n - first : READ_SLOTS;

		if (read_all(read, arg, l->ip_table + 4 * first, rel, 4 * k) ||
		    read_all(read, arg, l->entries + ORC_RAW_ENTRY_SIZE * first, raw, ORC_RAW_ENTRY_SIZE * k)) {
			snprintf(err, errlen, "could not read the kernel's unwind table");
			rc = -1;
			break;
		}
		rc = builder_add(&b, first, rel, raw, k, err, errlen);
	}
	if (!rc)
		rc = builder_finish(&b, err, errlen);
	return builder_end(&b, rc);
}

void orc_index_free(struct orc_index *idx)
{
	free(idx->blocks);
	free(idx->entries);
	idx->blocks = NULL;
	idx->entries = NULL;
	idx->nblocks = idx->nentries = idx->nkinds = 0;
}
