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

static struct wf_orc_kind decode(const uint8_t *r)
{
	struct wf_orc_kind k;

	k.sp_offset = (int16_t)(r[0] | r[1] << 8);
	k.bp_offset = (int16_t)(r[2] | r[3] << 8);
	k.sp_reg = r[4] & 0xf;
	k.bp_reg = r[4] >> 4;
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
static int kind_of(struct orc_index *idx, struct kind_map *m, const uint8_t *raw)
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
	idx->kinds[idx->nkinds] = decode(raw);
	return (int)idx->nkinds++;
}

static int by_ip(const void *a, const void *b)
{
	const struct wf_orc_entry *x = a, *y = b;

	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

int orc_index_build(struct orc_index *idx, const struct orc_layout *l, const int32_t *rel, const uint8_t *raw,
		    size_t n, char *err, size_t errlen)
{
	struct kind_map *m = NULL;
	size_t nblocks = orc_layout_blocks(l), e = 0;
	bool sorted = true;

	memset(idx, 0, sizeof(*idx));
	idx->text_start = l->text_start;
	idx->text_end = l->text_end;
	if (!nblocks || l->text_end - l->text_start > UINT32_MAX) {
		snprintf(err, errlen, "the kernel's text range is not usable (%#llx-%#llx)",
			 (unsigned long long)l->text_start, (unsigned long long)l->text_end);
		return -1;
	}
	m = calloc(1, sizeof(*m));
	idx->entries = calloc(n ? n : 1, sizeof(*idx->entries));
	idx->blocks = calloc(nblocks + 1, sizeof(*idx->blocks));
	if (!m || !idx->entries || !idx->blocks) {
		snprintf(err, errlen, "out of memory for the unwind table");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t ip = l->ip_table + 4 * i + (int64_t)rel[i];
		int kind;

		if (ip < l->text_start || ip >= l->text_end)
			continue;
		kind = kind_of(idx, m, raw + ORC_RAW_ENTRY_SIZE * i);
		if (kind < 0) {
			snprintf(err, errlen, "the unwind table has more than %d distinct frame kinds", WF_ORC_MAX_KINDS);
			goto fail;
		}
		idx->entries[e].ip = (uint32_t)(ip - l->text_start);
		idx->entries[e].kind = (uint16_t)kind;
		if (e && idx->entries[e].ip < idx->entries[e - 1].ip)
			sorted = false;
		e++;
	}
	if (!e) {
		snprintf(err, errlen, "the unwind table has no entry for the kernel's text");
		goto fail;
	}
	/* The kernel sorts its table at build time; a table that is not is
	 * sorted here rather than trusted. */
	if (!sorted)
		qsort(idx->entries, e, sizeof(*idx->entries), by_ip);
	idx->nentries = e;
	/* blocks[b]: the last entry at or before the start of block b, so the
	 * entry for an address in block b lies in [blocks[b], blocks[b + 1]]. */
	for (size_t b = 0, i = 0; b <= nblocks; b++) {
		uint64_t start = (uint64_t)b << WF_ORC_BLOCK_SHIFT;

		while (i + 1 < e && idx->entries[i + 1].ip <= start)
			i++;
		idx->blocks[b] = (uint32_t)i;
	}
	for (size_t b = 0; b < nblocks; b++) {
		if (idx->blocks[b + 1] - idx->blocks[b] >= (1u << WF_ORC_SEARCH_STEPS)) {
			snprintf(err, errlen, "a block of text has more unwind entries than the BPF search covers");
			goto fail;
		}
	}
	idx->nblocks = nblocks;
	free(m);
	return 0;
fail:
	free(m);
	orc_index_free(idx);
	return -1;
}

/* Reads big tables in pieces the reader can take. */
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
	size_t n = orc_layout_entries(l);
	int32_t *rel = NULL;
	uint8_t *raw = NULL;
	int rc = -1;

	memset(idx, 0, sizeof(*idx));
	if (!n || !l->entries) {
		snprintf(err, errlen, "the kernel's unwind table is not in /proc/kallsyms");
		return -1;
	}
	rel = malloc(n * sizeof(*rel));
	raw = malloc(n * ORC_RAW_ENTRY_SIZE);
	if (!rel || !raw) {
		snprintf(err, errlen, "out of memory for the unwind table");
		goto out;
	}
	if (read_all(read, arg, l->ip_table, rel, n * sizeof(*rel)) ||
	    read_all(read, arg, l->entries, raw, n * ORC_RAW_ENTRY_SIZE)) {
		snprintf(err, errlen, "could not read the kernel's unwind table");
		goto out;
	}
	rc = orc_index_build(idx, l, rel, raw, n, err, errlen);
out:
	free(rel);
	free(raw);
	return rc;
}

void orc_index_free(struct orc_index *idx)
{
	free(idx->blocks);
	free(idx->entries);
	idx->blocks = NULL;
	idx->entries = NULL;
	idx->nblocks = idx->nentries = idx->nkinds = 0;
}
