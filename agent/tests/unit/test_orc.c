// SPDX-License-Identifier: Apache-2.0
/*
 * orc: reindexing the kernel's ORC unwind table for the BPF walker. The
 * walker searches only [blocks[b], blocks[b + 1]] for an address in block
 * b, so that invariant is checked for every address of a synthetic text;
 * also the decoding of the 6-byte entries in both kernel layouts (6.4+ and
 * before, told apart by the kernel's BTF), the sharing of frame kinds,
 * unsorted input, entries outside the text, chunked reads, and each way
 * the build can refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/btf.h>
#include <stdlib.h>
#include <string.h>

#include "orc.h"
#include "unwinder.h"

#define TEXT 0xffffffff81000000ULL
#define TEXT_LEN 0x10000ULL /* 256 blocks */
#define IP_TABLE 0xffffffff83000000ULL
#define ENTRIES 0xffffffff83400000ULL

struct table {
	struct orc_layout l;
	size_t n;
	int32_t *rel;
	uint8_t *raw;
};

static void table_init(struct table *t, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->l = (struct orc_layout){ .text_start = TEXT,
				    .text_end = TEXT + TEXT_LEN,
				    .ip_table = IP_TABLE,
				    .ip_table_end = IP_TABLE + 4 * n,
				    .entries = ENTRIES };
	t->n = n;
	t->rel = calloc(n, sizeof(*t->rel));
	t->raw = calloc(n, ORC_RAW_ENTRY_SIZE);
	assert_non_null(t->rel);
	assert_non_null(t->raw);
}

static void table_free(struct table *t)
{
	free(t->rel);
	free(t->raw);
}

/* Slot i describes address ip with the given frame. */
static void set_entry(struct table *t, size_t i, uint64_t ip, int16_t sp_off, int16_t bp_off, unsigned sp_reg,
		      unsigned bp_reg, unsigned type, unsigned signal)
{
	uint8_t *r = t->raw + ORC_RAW_ENTRY_SIZE * i;

	t->rel[i] = (int32_t)(int64_t)(ip - (IP_TABLE + 4 * i));
	r[0] = (uint8_t)sp_off;
	r[1] = (uint8_t)((uint16_t)sp_off >> 8);
	r[2] = (uint8_t)bp_off;
	r[3] = (uint8_t)((uint16_t)bp_off >> 8);
	r[4] = (uint8_t)(sp_reg | bp_reg << 4);
	r[5] = (uint8_t)(type | signal << 3);
}

static void test_decodes_entries(void **state)
{
	struct table t;
	struct orc_index idx;
	char err[160];

	(void)state;
	table_init(&t, 2);
	set_entry(&t, 0, TEXT, -8, -16, WF_ORC_REG_SP, WF_ORC_REG_PREV_SP, WF_ORC_TYPE_CALL, 0);
	set_entry(&t, 1, TEXT + 0x40, 0, 0, WF_ORC_REG_SP, WF_ORC_REG_UNDEFINED, WF_ORC_TYPE_REGS, 1);
	assert_int_equal(orc_index_build(&idx, &t.l, t.rel, t.raw, t.n, err, sizeof(err)), 0);
	assert_int_equal(idx.nentries, 2);
	assert_int_equal(idx.nkinds, 2);
	assert_int_equal(idx.entries[0].ip, 0);
	assert_int_equal(idx.entries[1].ip, 0x40);
	assert_int_equal(idx.kinds[idx.entries[0].kind].sp_offset, -8);
	assert_int_equal(idx.kinds[idx.entries[0].kind].bp_offset, -16);
	assert_int_equal(idx.kinds[idx.entries[0].kind].sp_reg, WF_ORC_REG_SP);
	assert_int_equal(idx.kinds[idx.entries[0].kind].bp_reg, WF_ORC_REG_PREV_SP);
	assert_int_equal(idx.kinds[idx.entries[0].kind].type, WF_ORC_TYPE_CALL);
	assert_int_equal(idx.kinds[idx.entries[0].kind].signal, 0);
	assert_int_equal(idx.kinds[idx.entries[1].kind].type, WF_ORC_TYPE_REGS);
	assert_int_equal(idx.kinds[idx.entries[1].kind].signal, 1);
	orc_index_free(&idx);
	table_free(&t);
}

/* A pre-6.4 entry: sp_reg:4 bp_reg:4 type:2 end:1 (CALL 0, REGS 1, REGS_PARTIAL 2). */
static void set_old_entry(struct table *t, size_t i, uint64_t ip, int16_t sp_off, unsigned sp_reg, unsigned bp_reg,
			  unsigned type, unsigned end)
{
	set_entry(t, i, ip, sp_off, 0, sp_reg, bp_reg, 0, 0);
	t->raw[ORC_RAW_ENTRY_SIZE * i + 5] = (uint8_t)(type | end << 2);
}

/* 6.1's table read as the kinds the walker knows: the old types renumbered,
 * "end" with an undefined stack register the end of the stack, "signal"
 * set after register frames as the old unwind_next_frame() did. */
static void test_decodes_entries_before_6_4(void **state)
{
	static const struct {
		unsigned sp_reg, type, end;
		unsigned want_type, want_signal;
	} cases[] = {
		{ WF_ORC_REG_SP, 0, 0, WF_ORC_TYPE_CALL, 0 },
		{ WF_ORC_REG_SP, 1, 0, WF_ORC_TYPE_REGS, 1 },
		{ WF_ORC_REG_SP, 2, 0, WF_ORC_TYPE_REGS_PARTIAL, 1 },
		{ WF_ORC_REG_SP, 3, 0, WF_ORC_TYPE_UNDEFINED, 0 },
		{ WF_ORC_REG_UNDEFINED, 0, 1, WF_ORC_TYPE_END_OF_STACK, 0 }, /* UNWIND_HINT_EMPTY */
		{ WF_ORC_REG_UNDEFINED, 0, 0, WF_ORC_TYPE_UNDEFINED, 0 },    /* the kernel: an error */
		{ WF_ORC_REG_BP, 0, 1, WF_ORC_TYPE_CALL, 0 },		     /* "end" only counts without sp */
	};
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	struct table t;
	struct orc_index idx;
	char err[160];

	(void)state;
	table_init(&t, N);
	t.l.format = ORC_FORMAT_END_BIT;
	for (size_t i = 0; i < N; i++)
		set_old_entry(&t, i, TEXT + 0x10 * i, (int16_t)(8 + i), cases[i].sp_reg, WF_ORC_REG_PREV_SP,
			      cases[i].type, cases[i].end);
	assert_int_equal(orc_index_build(&idx, &t.l, t.rel, t.raw, t.n, err, sizeof(err)), 0);
	assert_int_equal(idx.nentries, N);
	for (size_t i = 0; i < N; i++) {
		const struct wf_orc_kind *k = &idx.kinds[idx.entries[i].kind];

		assert_int_equal(k->sp_offset, 8 + i);
		assert_int_equal(k->sp_reg, cases[i].sp_reg);
		assert_int_equal(k->bp_reg, WF_ORC_REG_PREV_SP);
		assert_int_equal(k->type, cases[i].want_type);
		assert_int_equal(k->signal, cases[i].want_signal);
	}
	orc_index_free(&idx);
	table_free(&t);
}

/* struct orc_entry as a kernel's BTF describes it. */
static struct btf *orc_btf(unsigned type_bits, const char *last, unsigned size)
{
	struct btf *btf = btf__new_empty();
	int s16, uint, id;

	assert_non_null(btf);
	s16 = btf__add_int(btf, "s16", 2, BTF_INT_SIGNED);
	uint = btf__add_int(btf, "unsigned int", 4, 0);
	id = btf__add_struct(btf, "orc_entry", size);
	assert_true(s16 > 0 && uint > 0 && id > 0);
	assert_int_equal(btf__add_field(btf, "sp_offset", s16, 0, 0), 0);
	assert_int_equal(btf__add_field(btf, "bp_offset", s16, 16, 0), 0);
	assert_int_equal(btf__add_field(btf, "sp_reg", uint, 32, 4), 0);
	assert_int_equal(btf__add_field(btf, "bp_reg", uint, 36, 4), 0);
	assert_int_equal(btf__add_field(btf, "type", uint, 40, type_bits), 0);
	if (last)
		assert_int_equal(btf__add_field(btf, last, uint, 40 + type_bits, 1), 0);
	return btf;
}

/* The layouts of 6.18 (this machine) and 6.1 (Debian 12, tests/kernels),
 * as bpftool btf dump shows them there; anything else is refused. */
static void test_tells_the_layout_from_btf(void **state)
{
	static const struct {
		unsigned type_bits;
		const char *last;
		unsigned size;
		int want;
	} cases[] = {
		{ 3, "signal", 6, ORC_FORMAT_SIGNAL },
		{ 2, "end", 6, ORC_FORMAT_END_BIT },
		{ 3, "end", 6, -1 },
		{ 2, "signal", 6, -1 },
		{ 3, NULL, 6, -1 },
		{ 3, "signal", 8, -1 },
	};
	struct btf *empty = btf__new_empty();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct btf *btf = orc_btf(cases[i].type_bits, cases[i].last, cases[i].size);

		assert_int_equal(unwinder_orc_format(btf), cases[i].want);
		btf__free(btf);
	}
	assert_int_equal(unwinder_orc_format(empty), -1);
	assert_int_equal(unwinder_orc_format(NULL), -1);
	btf__free(empty);
}

/* The entry the kernel would use for off: the last at or before it. */
static long linear_find(const struct orc_index *idx, uint32_t off)
{
	long found = -1;

	for (size_t i = 0; i < idx->nentries; i++)
		if (idx->entries[i].ip <= off)
			found = (long)i;
	return found;
}

static void test_block_ranges_hold_every_answer(void **state)
{
	enum { N = 3000 };
	struct table t;
	struct orc_index idx;
	char err[160];
	uint64_t ip = TEXT + 0x10; /* no entry covers the first 16 bytes */

	(void)state;
	srand(7);
	table_init(&t, N);
	for (size_t i = 0; i < N; i++) {
		/* Dense and sparse stretches, three kinds in all. */
		ip += (i % 500 < 250) ? 1 + rand() % 4 : 1 + rand() % 60;
		assert_true(ip < TEXT + TEXT_LEN);
		set_entry(&t, i, ip, (int16_t)(8 * (i % 3)), 0, WF_ORC_REG_SP, 0, WF_ORC_TYPE_CALL, 0);
	}
	assert_int_equal(orc_index_build(&idx, &t.l, t.rel, t.raw, t.n, err, sizeof(err)), 0);
	assert_int_equal(idx.nentries, N);
	assert_int_equal(idx.nkinds, 3);
	assert_int_equal(idx.nblocks, TEXT_LEN >> WF_ORC_BLOCK_SHIFT);
	for (uint32_t off = 0; off < TEXT_LEN; off++) {
		long want = linear_find(&idx, off);
		uint32_t b = off >> WF_ORC_BLOCK_SHIFT, lo = idx.blocks[b], hi = idx.blocks[b + 1];

		assert_true(lo <= hi);
		assert_true(hi - lo < (1u << WF_ORC_SEARCH_STEPS));
		if (want < 0) {
			/* Nothing covers off: the walker must find nothing. */
			assert_true(idx.entries[lo].ip > off);
			continue;
		}
		assert_true((long)lo <= want && want <= (long)hi);
	}
	orc_index_free(&idx);
	table_free(&t);
}

static void test_sorts_and_leaves_out_other_text(void **state)
{
	struct table t;
	struct orc_index idx;
	char err[160];

	(void)state;
	table_init(&t, 5);
	set_entry(&t, 0, TEXT + 0x300, 8, 0, WF_ORC_REG_SP, 0, WF_ORC_TYPE_CALL, 0);
	set_entry(&t, 1, TEXT + 0x100, 16, 0, WF_ORC_REG_SP, 0, WF_ORC_TYPE_CALL, 0);
	set_entry(&t, 2, TEXT - 0x10, 24, 0, WF_ORC_REG_SP, 0, WF_ORC_TYPE_CALL, 0);		/* before */
	set_entry(&t, 3, TEXT + TEXT_LEN, 32, 0, WF_ORC_REG_SP, 0, WF_ORC_TYPE_CALL, 0);	/* init text */
	set_entry(&t, 4, TEXT + 0x200, 8, 0, WF_ORC_REG_SP, 0, WF_ORC_TYPE_CALL, 0);
	assert_int_equal(orc_index_build(&idx, &t.l, t.rel, t.raw, t.n, err, sizeof(err)), 0);
	assert_int_equal(idx.nentries, 3);
	assert_int_equal(idx.entries[0].ip, 0x100);
	assert_int_equal(idx.entries[1].ip, 0x200);
	assert_int_equal(idx.entries[2].ip, 0x300);
	assert_int_equal(idx.kinds[idx.entries[0].kind].sp_offset, 16);
	assert_int_equal(idx.kinds[idx.entries[2].kind].sp_offset, 8);
	assert_int_equal(idx.nkinds, 2);
	assert_int_equal(idx.blocks[3], 2); /* block 3 starts at 0x300 */
	orc_index_free(&idx);
	table_free(&t);
}

static void test_refusals(void **state)
{
	struct table t;
	struct orc_index idx;
	char err[160];

	(void)state;
	table_init(&t, WF_ORC_MAX_KINDS + 1);
	/* Nothing inside the text. */
	for (size_t i = 0; i < t.n; i++)
		set_entry(&t, i, TEXT + TEXT_LEN + i, 0, 0, WF_ORC_REG_SP, 0, WF_ORC_TYPE_CALL, 0);
	assert_int_equal(orc_index_build(&idx, &t.l, t.rel, t.raw, t.n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no entry"));
	assert_null(idx.entries);
	/* More distinct kinds than the BPF map holds. */
	for (size_t i = 0; i < t.n; i++)
		set_entry(&t, i, TEXT + 4 * i, (int16_t)i, 0, WF_ORC_REG_SP, 0, WF_ORC_TYPE_CALL, 0);
	assert_int_equal(orc_index_build(&idx, &t.l, t.rel, t.raw, t.n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "distinct frame kinds"));
	/* A text range that makes no sense. */
	t.l.text_end = t.l.text_start;
	assert_int_equal(orc_index_build(&idx, &t.l, t.rel, t.raw, t.n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "text range"));
	assert_int_equal(orc_layout_blocks(&t.l), 0);
	table_free(&t);
}

/* Kernel memory as the test sees it: the two tables. */
struct fake_kernel {
	const struct table *t;
	int reads;
	int fail_at; /* this read fails (1-based), 0: none */
};

static int fake_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct fake_kernel *k = arg;
	const struct table *t = k->t;

	if (++k->reads == k->fail_at || len > 4096)
		return -1;
	if (addr >= IP_TABLE && addr + len <= IP_TABLE + 4 * t->n)
		memcpy(buf, (const char *)t->rel + (addr - IP_TABLE), len);
	else if (addr >= ENTRIES && addr + len <= ENTRIES + ORC_RAW_ENTRY_SIZE * t->n)
		memcpy(buf, t->raw + (addr - ENTRIES), len);
	else
		return -1;
	return 0;
}

static void test_reads_in_chunks(void **state)
{
	enum { N = 5000 }; /* five rounds of 1,024 slots: 4 KiB of offsets, 6 KiB (two reads) of entries */
	struct table t;
	struct orc_index idx;
	struct fake_kernel k = { .t = &t };
	char err[160];

	(void)state;
	table_init(&t, N);
	for (size_t i = 0; i < N; i++)
		set_entry(&t, i, TEXT + 8 * i, (int16_t)(i % 7), 0, WF_ORC_REG_SP, 0, WF_ORC_TYPE_CALL, 0);
	assert_int_equal(orc_layout_entries(&t.l), N);
	assert_int_equal(orc_index_read(&idx, &t.l, fake_read, &k, err, sizeof(err)), 0);
	assert_int_equal(k.reads, 5 * 3);
	assert_int_equal(idx.nentries, N);
	assert_int_equal(idx.nkinds, 7);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(idx.entries[i].ip, 8 * i);
		assert_int_equal(idx.kinds[idx.entries[i].kind].sp_offset, (int16_t)(i % 7));
	}
	orc_index_free(&idx);

	k = (struct fake_kernel){ .t = &t, .fail_at = 9 };
	assert_int_equal(orc_index_read(&idx, &t.l, fake_read, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "could not read"));
	t.l.entries = 0;
	assert_int_equal(orc_index_read(&idx, &t.l, fake_read, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not in /proc/kallsyms"));
	table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decodes_entries),
		cmocka_unit_test(test_decodes_entries_before_6_4),
		cmocka_unit_test(test_tells_the_layout_from_btf),
		cmocka_unit_test(test_block_ranges_hold_every_answer),
		cmocka_unit_test(test_sorts_and_leaves_out_other_text),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_reads_in_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
