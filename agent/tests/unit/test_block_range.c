// SPDX-License-Identifier: Apache-2.0
/*
 * block_range: the driver both caches of blocks read a range through
 * (block_range.h), on a real store of 45 minutes of one target, with a kind
 * of block of the test's own whose answer counts, per rolled-up minute, how
 * often it was added straight from the store, through a block, and as a
 * window row. Each case names, minute by minute, where every minute must
 * come from: the head and tail at and off block boundaries, the clamp to
 * the roll-up's progress, no whole block, blocks too old to keep, blocks
 * that cannot be kept, and the second read from memory. Every minute of the
 * range exactly once, none outside it: a minute added twice (a block and
 * its edge both read) or lost (a boundary off by one) fails the case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_range.h"
#include "catalog.h"
#include "fake_fs.h"
#include "store.h"
#include "taxonomy.h"
#include "window.h"

#define MIN_MS 60000LL
#define T0 (28333335 * MIN_MS) /* a multiple of 5 minutes */
#define W 10000LL
#define NMIN 45		    /* minutes written */
#define BLOCK (5 * MIN_MS)  /* the test kind's block */
#define M(x) (T0 + (int64_t)((x) * MIN_MS))

/* What the test kind's answer saw of each minute. */
struct seen {
	int straight[NMIN], blocked[NMIN], rows[NMIN];
	int outside; /* anything not a minute of the store's */
};

static int minute_of(struct seen *s, int64_t start)
{
	int64_t m = (start - T0) / MIN_MS;

	if (start < T0 || (start - T0) % MIN_MS || m >= NMIN) {
		s->outside++;
		return -1;
	}
	return (int)m;
}

static int add_blob(void *ctx, int64_t start, int64_t end, uint32_t target, const uint8_t *blob, size_t len)
{
	int m = minute_of(ctx, start);

	(void)end, (void)target, (void)blob, (void)len;
	if (m >= 0)
		((struct seen *)ctx)->straight[m]++;
	return 0;
}

static int add_window(void *ctx, int64_t start, int64_t end)
{
	int m = minute_of(ctx, start);

	(void)end;
	if (m >= 0)
		((struct seen *)ctx)->rows[m]++;
	return 0;
}

/* A block: the minutes its blobs started at. */
struct test_block {
	struct wf_block head;
	int64_t starts[8];
	size_t n;
};

struct test_builder {
	struct test_block *b;
	bool refuse; /* build_end says the block cannot be kept */
	int built;
};

static void destroy(struct wf_block *b)
{
	free(b);
}

static void build_begin(void *builder, int64_t start_ms)
{
	struct test_builder *tb = builder;

	tb->b = calloc(1, sizeof(*tb->b));
	assert_non_null(tb->b);
	tb->b->head.start_ms = start_ms;
}

static int build_blob(void *builder, int64_t start, int64_t end, uint32_t target, const uint8_t *blob, size_t len)
{
	struct test_builder *tb = builder;

	(void)end, (void)target, (void)blob, (void)len;
	assert_true(start >= tb->b->head.start_ms && start < tb->b->head.start_ms + BLOCK);
	assert_true(tb->b->n < 8);
	tb->b->starts[tb->b->n++] = start;
	return 0;
}

static struct wf_block *build_end(void *builder, uint64_t fp)
{
	struct test_builder *tb = builder;
	struct test_block *b = tb->b;

	tb->b = NULL;
	if (tb->refuse) {
		free(b);
		return NULL;
	}
	tb->built++;
	b->head.refs = 1;
	b->head.fingerprint = fp;
	b->head.bytes = sizeof(*b);
	return &b->head;
}

static void add_block(const struct wf_block *head, void *ctx)
{
	const struct test_block *b = (const struct test_block *)head;

	for (size_t i = 0; i < b->n; i++) {
		int m = minute_of(ctx, b->starts[i]);

		if (m >= 0)
			((struct seen *)ctx)->blocked[m]++;
	}
}

static const struct wf_block_kind with_rows = {
	.block_ms = BLOCK,
	.read_blobs = store_read_totals,
	.add_blob = add_blob,
	.add_window = add_window,
	.build_begin = build_begin,
	.build_blob = build_blob,
	.build_end = build_end,
	.add_block = add_block,
};

static const struct wf_block_kind without_rows = {
	.block_ms = BLOCK,
	.read_blobs = store_read_totals,
	.add_blob = add_blob,
	.add_window = NULL,
	.build_begin = build_begin,
	.build_blob = build_blob,
	.build_end = build_end,
	.add_block = add_block,
};

struct fx {
	char dir[64], path[128];
	struct wf_catalog *cat;
	struct wf_store *s;
	int64_t rolled; /* the store's roll-up progress */
};

/* 45 minutes of windows of one target with one thread, each written when
 * it ends, so that the store rolls them up as the daemon's does. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct wf_store_opts opts;
	struct wf_target tg = { .pid = 100, .start_time = 777, .alive = true, .first_seen_ms = T0, .last_seen_ms = T0 };
	struct wf_store_status st;
	uint32_t target, thread;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/wf-test-block-range-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/b.db", f->dir);
	opts = (struct wf_store_opts){ .path = f->path, .retention_ms = 24 * 3600000LL,
				       .fine_retention_ms = 3 * 3600000LL };
	f->cat = catalog_new();
	assert_non_null(f->cat);
	strcpy(tg.comm, "envoy");
	target = catalog_target_put(f->cat, &tg);
	thread = catalog_name_id(f->cat, "envoy");
	assert_true(target && thread);
	f->s = store_open(&opts, f->cat, T0);
	assert_non_null(f->s);
	for (int64_t k = 0; k < NMIN * MIN_MS / W; k++) {
		struct wf_buf tb = { 0 }, eb = { 0 };
		struct wf_wtarget wt;
		struct wf_store_target t;
		struct wf_store_window w;

		wtarget_init(&wt, target);
		assert_int_equal(wtarget_add_thread(&wt, &(struct wf_wthread){ .name = thread, .role = WF_ROLE_MAIN,
									       .oncpu_us = 100 + (uint64_t)k,
									       .switches = 3 }),
				 0);
		wtarget_normalize(&wt);
		assert_int_equal(wtarget_encode_totals(&wt, &tb), 0);
		assert_int_equal(wtarget_encode_edges(&wt, &eb), 0);
		t = (struct wf_store_target){ target, tb.data, tb.len, eb.data, eb.len, NULL, 0 };
		w = (struct wf_store_window){ T0 + k * W, T0 + (k + 1) * W, &t, 1 };
		assert_int_equal(store_write_window(f->s, &w, w.end_ms), 0);
		wtarget_free(&wt);
		wf_buf_free(&tb);
		wf_buf_free(&eb);
	}
	store_status(f->s, &st);
	f->rolled = st.rolled_until_ms;
	/* The last minute is the one the store has not rolled up yet. */
	assert_int_equal(f->rolled, M(NMIN - 1));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	catalog_free(f->cat);
	rm_tree(f->dir);
	free(f);
	return 0;
}

/*
 * Reads [from, to) through c and checks each minute against want, one
 * character a minute from T0 (spaces between groups ignored): '.' not in
 * the answer, 's' straight from the store, 'b' through a block. Every
 * minute in the answer also came as one window row (kinds with rows) or
 * none. Returns the blocks built.
 */
static int read_expect(struct fx *f, struct wf_block_cache *c, const struct wf_block_kind *k, bool refuse,
		       int64_t from, int64_t to, int64_t rolled, const char *want)
{
	struct wf_store_reader *r = store_reader_open(f->s);
	struct test_builder tb = { .refuse = refuse };
	struct seen s = { 0 };
	char got[NMIN + 1];
	int m = 0;

	assert_non_null(r);
	assert_int_equal(block_range_read(c, k, &tb, r, from, to, rolled, &s), 0);
	store_reader_close(r);
	assert_null(tb.b); /* every block begun was ended */
	assert_int_equal(s.outside, 0);
	for (int i = 0; i < NMIN; i++) {
		assert_true(s.straight[i] + s.blocked[i] <= 1);
		got[i] = s.straight[i] ? 's' : s.blocked[i] ? 'b' : '.';
		assert_int_equal(s.rows[i], k->add_window && got[i] != '.' ? 1 : 0);
	}
	got[NMIN] = '\0';
	for (const char *w = want; *w; w++) {
		if (*w == ' ')
			continue;
		assert_true(m < NMIN);
		if (*w != got[m])
			fail_msg("[%lld, %lld) rolled %lld: minute %d is '%c', not '%c'\n got  %s\n want %s",
				 (long long)(from - T0), (long long)(to - T0), (long long)(rolled - T0), m, got[m], *w,
				 got, want);
		m++;
	}
	assert_int_equal(m, NMIN);
	return tb.built;
}

static struct wf_block_cache *cache(int64_t span_ms)
{
	struct wf_block_cache *c = block_cache_new(1 << 20, span_ms, destroy);

	assert_non_null(c);
	return c;
}

static struct wf_block_cache_stats stats(struct wf_block_cache *c)
{
	struct wf_block_cache_stats st;

	block_cache_stats(c, &st);
	return st;
}

/* Aligned ends: whole blocks only; read again, all from memory. */
static void test_aligned(void **state)
{
	struct fx *f = *state;
	struct wf_block_cache *c = cache(3600000);
	const char *want = "..... bbbbb bbbbb bbbbb bbbbb bbbbb bbbbb ..... .....";

	assert_int_equal(read_expect(f, c, &with_rows, false, M(5), M(35), f->rolled, want), 6);
	assert_int_equal(stats(c).blocks, 6);
	assert_int_equal(read_expect(f, c, &with_rows, false, M(5), M(35), f->rolled, want), 0);
	assert_int_equal(stats(c).hits, 6);
	assert_int_equal(stats(c).misses, 6);
	block_cache_free(c);
}

/* Ends off the boundaries: a head and a tail straight from the store; a
 * range end inside a minute takes the minutes that start before it. */
static void test_head_and_tail(void **state)
{
	struct fx *f = *state;
	struct wf_block_cache *c = cache(3600000);

	/* From 7:20: minute 7 starts before it, so the head is minutes 8 and 9;
	 * to 31:40: minute 31 starts before it, the tail is 30 and 31. */
	assert_int_equal(read_expect(f, c, &with_rows, false, M(7) + 20000, M(31) + 40000, f->rolled,
				     "..... ...ss bbbbb bbbbb bbbbb bbbbb ss... ..... ....."),
			 4);
	/* One minute off either boundary. */
	read_expect(f, c, &with_rows, false, M(4), M(16), f->rolled,
		    "....s bbbbb bbbbb s.... ..... ..... ..... ..... .....");
	read_expect(f, c, &with_rows, false, M(6), M(14), f->rolled,
		    "..... .ssss ssss. ..... ..... ..... ..... ..... .....");
	/* The edges answer's kind: no rows, the same minutes. */
	read_expect(f, c, &without_rows, false, M(7) + 20000, M(31) + 40000, f->rolled,
		    "..... ...ss bbbbb bbbbb bbbbb bbbbb ss... ..... .....");
	assert_int_equal(stats(c).blocks, 5); /* [5, 30) */
	block_cache_free(c);
}

/* No whole block in the range: everything straight, nothing kept. */
static void test_no_whole_block(void **state)
{
	struct fx *f = *state;
	struct wf_block_cache *c = cache(3600000);

	read_expect(f, c, &with_rows, false, M(11), M(14), f->rolled,
		    "..... ..... .sss. ..... ..... ..... ..... ..... .....");
	read_expect(f, c, &with_rows, false, M(8), M(12), f->rolled,
		    "..... ...ss ss... ..... ..... ..... ..... ..... .....");
	read_expect(f, c, &with_rows, false, M(10), M(10), f->rolled,
		    "..... ..... ..... ..... ..... ..... ..... ..... .....");
	assert_int_equal(stats(c).blocks, 0);
	assert_int_equal(stats(c).misses, 0);
	block_cache_free(c);
}

/* The roll-up's progress: no block from the one it falls in on is kept,
 * whatever the range asks (its minutes are still being rolled up). */
static void test_clamped_to_rolled(void **state)
{
	struct fx *f = *state;
	struct wf_block_cache *c = cache(3600000);

	/* The store's own: minute 44 is not rolled up, so the block [40, 45) is
	 * read straight, and its rows and blobs are only minutes 40 to 43. */
	read_expect(f, c, &with_rows, false, M(30), M(45), f->rolled,
		    "..... ..... ..... ..... ..... ..... bbbbb bbbbb ssss.");
	/* A progress of 22:00 or 24:59: blocks up to 20:00, the rest straight. */
	read_expect(f, c, &with_rows, false, M(0), M(30), M(22),
		    "bbbbb bbbbb bbbbb bbbbb sssss sssss ..... ..... .....");
	read_expect(f, c, &with_rows, false, M(0), M(30), M(25) - 1,
		    "bbbbb bbbbb bbbbb bbbbb sssss sssss ..... ..... .....");
	/* Exactly at a boundary: the block before it is whole. */
	read_expect(f, c, &with_rows, false, M(0), M(30), M(25),
		    "bbbbb bbbbb bbbbb bbbbb bbbbb sssss ..... ..... .....");
	/* Before the range's first whole block: nothing kept at all. */
	read_expect(f, c, &with_rows, false, M(10), M(30), M(14),
		    "..... ..... sssss sssss sssss sssss ..... ..... .....");
	block_cache_free(c);
}

/* The span: only blocks starting within it before the progress are kept;
 * the older ones are read straight, every read. */
static void test_too_old(void **state)
{
	struct fx *f = *state;
	struct wf_block_cache *c = cache(10 * MIN_MS);

	for (int round = 0; round < 2; round++)
		read_expect(f, c, &with_rows, false, M(0), M(40), M(40),
			    "sssss sssss sssss sssss sssss sssss bbbbb bbbbb .....");
	assert_int_equal(stats(c).blocks, 2);
	assert_int_equal(stats(c).hits, 2);
	/* All of the range's blocks too old: straight, as without blocks. */
	read_expect(f, c, &without_rows, false, M(0), M(20), M(40),
		    "sssss sssss sssss sssss ..... ..... ..... ..... .....");
	block_cache_free(c);
}

/* A block that cannot be kept (the kind's builder says so) and a cache
 * that keeps nothing: every minute still in the answer once, straight. */
static void test_not_kept(void **state)
{
	struct fx *f = *state;
	struct wf_block_cache *c = cache(3600000), *none = block_cache_new(0, 3600000, destroy);
	const char *all_straight = "..... ..sss sssss sssss ss... ..... ..... ..... .....";

	assert_non_null(none);
	assert_int_equal(read_expect(f, c, &with_rows, true, M(7), M(22), f->rolled, all_straight), 0);
	assert_int_equal(stats(c).blocks, 0);
	assert_int_equal(stats(c).misses, 2);
	assert_int_equal(read_expect(f, none, &with_rows, false, M(7), M(22), f->rolled, all_straight), 0);
	assert_int_equal(stats(none).misses, 0);
	block_cache_free(c);
	block_cache_free(none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_aligned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_and_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_whole_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clamped_to_rolled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_kept, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
