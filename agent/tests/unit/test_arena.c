// SPDX-License-Identifier: Apache-2.0
/*
 * arena: the bump allocator an edge's full record lives in while an answer
 * is written (store_read_edge, the symbolizer's late names). An edges answer
 * holds 100 to 1,000 such records at once and the daemon runs 4 queries at
 * once, so what one small record holds bounds the daemon's memory under
 * load: a record of a few KiB holds a few KiB, not a 64 KiB chunk (6.4 MiB
 * per answer of 100 edges before, the largest consumer at bench:api's
 * peak). Large arenas still end up in 64 KiB chunks, big requests in one
 * chunk of their own, and every allocation is aligned and kept intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arena.h"

/* What store_read_edge copies for a typical stored edge: its facts, two
 * stacks of 24 frames (~1 kB of text each) and its activity's name. */
static void fill_record(struct wf_arena *a)
{
	char text[1100];

	memset(text, 'f', sizeof(text));
	assert_non_null(arena_strndup(a, text, 120));
	assert_non_null(arena_strndup(a, text, 1050));
	assert_non_null(arena_strndup(a, text, 1080));
	assert_non_null(arena_strndup(a, text, 24));
}

static void test_small_record_holds_little(void **state)
{
	struct wf_arena a[100];
	size_t held = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		arena_init(&a[i]);
		assert_int_equal(arena_bytes(&a[i]), 0);
		fill_record(&a[i]);
		assert_false(a[i].failed);
		/* ~2.3 kB of text: at most 3 times that held (a 2 KiB chunk, then
		 * a 4 KiB one), never the 64 KiB chunk it took before. */
		assert_true(arena_bytes(&a[i]) <= 8 * 1024);
		held += arena_bytes(&a[i]);
	}
	/* An edges answer of 100 such records: under 1 MiB (6.4 MiB before). */
	assert_true(held < 1024 * 1024);
	for (int i = 0; i < 100; i++)
		arena_free(&a[i]);
}

static void test_large_arena_grows_to_full_chunks(void **state)
{
	struct wf_arena a;
	unsigned char *p[10000];
	size_t asked = 0;

	(void)state;
	arena_init(&a);
	for (int i = 0; i < 10000; i++) {
		size_t n = 50 + (size_t)(i % 200);

		p[i] = arena_alloc(&a, n);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		memset(p[i], i & 0xff, n);
		asked += n;
	}
	for (int i = 0; i < 10000; i++) {
		size_t n = 50 + (size_t)(i % 200);

		for (size_t k = 0; k < n; k++)
			assert_int_equal(p[i][k], i & 0xff);
	}
	/* ~1.5 MB asked, rounded to 16 bytes each: the chunks reach 64 KiB, so
	 * what is held stays within a chunk or two of it. */
	assert_true(arena_bytes(&a) >= asked);
	assert_true(arena_bytes(&a) <= asked + 10000 * 15 + 2 * 65 * 1024);
	arena_free(&a);
	assert_int_equal(arena_bytes(&a), 0);
	/* Used again after arena_free, it starts small again. */
	fill_record(&a);
	assert_true(arena_bytes(&a) <= 8 * 1024);
	arena_free(&a);
}

static void test_big_request_gets_its_own_chunk(void **state)
{
	struct wf_arena a;
	char *small, *big, *after;
	size_t before;

	(void)state;
	arena_init(&a);
	small = arena_strndup(&a, "schedule", 8);
	before = arena_bytes(&a);
	big = arena_alloc(&a, 100 * 1024);
	assert_non_null(big);
	memset(big, 'b', 100 * 1024);
	/* Exactly its size (and a header), behind the chunk being filled... */
	assert_true(arena_bytes(&a) > before + 100 * 1024);
	assert_true(arena_bytes(&a) <= before + 100 * 1024 + 64);
	/* ...which small allocations keep filling. */
	after = arena_strndup(&a, "ep_poll", 7);
	assert_true(after > small && after < small + 2048);
	assert_string_equal(small, "schedule");
	assert_string_equal(after, "ep_poll");
	assert_int_equal(big[100 * 1024 - 1], 'b');
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_record_holds_little),
		cmocka_unit_test(test_large_arena_grows_to_full_chunks),
		cmocka_unit_test(test_big_request_gets_its_own_chunk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
