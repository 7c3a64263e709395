// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the JSON writer (json.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"

static void test_nesting_and_commas(void **state)
{
	struct json j;

	(void)state;
	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "a");
	json_u64(&j, 1);
	json_key(&j, "b");
	json_arr_begin(&j);
	json_str(&j, "x");
	json_obj_begin(&j);
	json_obj_end(&j);
	json_arr_begin(&j);
	json_arr_end(&j);
	json_null(&j);
	json_arr_end(&j);
	json_key(&j, "c");
	json_obj_begin(&j);
	json_key(&j, "d");
	json_bool(&j, true);
	json_key(&j, "e");
	json_bool(&j, false);
	json_obj_end(&j);
	json_obj_end(&j);
	assert_false(j.failed);
	assert_string_equal(j.buf, "{\"a\":1,\"b\":[\"x\",{},[],null],\"c\":{\"d\":true,\"e\":false}}");
	assert_int_equal(j.len, strlen(j.buf));
	json_free(&j);
}

static void test_string_escapes(void **state)
{
	struct json j;

	(void)state;
	json_init(&j);
	json_arr_begin(&j);
	json_str(&j, "q\"b\\s/");
	json_str(&j, "\n\r\t\x01\x1f");
	json_str(&j, NULL);
	json_str(&j, "");
	json_arr_end(&j);
	assert_string_equal(j.buf, "[\"q\\\"b\\\\s/\",\"\\n\\r\\t\\u0001\\u001f\",null,\"\"]");
	json_free(&j);
}

static void test_utf8_kept_and_invalid_replaced(void **state)
{
	struct json j;

	(void)state;
	json_init(&j);
	json_arr_begin(&j);
	json_str(&j, "\xe9\x80\x9a\xe8\xbf\x87"); /* 通过: valid, kept as is */
	json_str(&j, "a\xff" "b");		  /* stray byte */
	json_str(&j, "\xc0\xaf");		  /* overlong '/' */
	json_str(&j, "\xed\xa0\x80");		  /* UTF-16 surrogate */
	json_str(&j, "\xe9\x80");		  /* truncated sequence */
	json_str(&j, "\xf0\x9f\x98\x80");	  /* 4-byte, valid */
	json_arr_end(&j);
	assert_string_equal(j.buf, "[\"\xe9\x80\x9a\xe8\xbf\x87\","
				   "\"a\xef\xbf\xbd" "b\","
				   "\"\xef\xbf\xbd\xef\xbf\xbd\","
				   "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\","
				   "\"\xef\xbf\xbd\xef\xbf\xbd\","
				   "\"\xf0\x9f\x98\x80\"]");
	json_free(&j);
}

static void test_numbers(void **state)
{
	struct json j;

	(void)state;
	json_init(&j);
	json_arr_begin(&j);
	json_u64(&j, UINT64_MAX);
	json_i64(&j, INT64_MIN);
	json_i64(&j, -1);
	json_f64(&j, 169609.0);
	json_f64(&j, 12.345);
	json_f64(&j, 0.1);
	json_f64(&j, 2984.0 / 1e6); /* a rate: 0.0029839999999999997 in binary */
	json_f64(&j, 0.1 + 0.2);
	json_f64(&j, NAN);
	json_f64(&j, INFINITY);
	json_f64(&j, -INFINITY);
	json_arr_end(&j);
	assert_string_equal(j.buf, "[18446744073709551615,-9223372036854775808,-1,169609,12.345,0.1,0.002984,0.3,null,null,null]");
	json_free(&j);
}

static void test_key_escaped_and_growth(void **state)
{
	struct json j;
	char expect[32];

	(void)state;
	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "we\"ird");
	json_arr_begin(&j);
	for (int i = 0; i < 100000; i++)
		json_u64(&j, 7);
	json_arr_end(&j);
	json_obj_end(&j);
	assert_false(j.failed);
	assert_true(j.cap > j.len);
	assert_int_equal(j.buf[j.len], '\0');
	assert_memory_equal(j.buf, "{\"we\\\"ird\":[7,7,", 16);
	snprintf(expect, sizeof(expect), ",7,7]}");
	assert_string_equal(j.buf + j.len - strlen(expect), expect);
	/* 100000 digits and 99999 commas between them, plus the frame. */
	assert_int_equal(j.len, strlen("{\"we\\\"ird\":[]}") + 100000 + 99999);
	json_free(&j);
	assert_null(j.buf);
}

/* ---- json_format_g15 against printf: the same text, not close text ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: a fixed seed, so a failure names a value that repeats. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static double bits_double(uint64_t b)
{
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

/* Fails naming the first value whose text differs from printf's. */
static void expect_as_printf(double v)
{
	char want[64], got[64];
	size_t n;

	snprintf(want, sizeof(want), "%.15g", v);
	memset(got, 'x', sizeof(got));
	n = json_format_g15(v, got);
	if (n != strlen(want) || strcmp(got, want)) {
		print_error("json_format_g15(%a): \"%s\", printf \"%s\"\n", v, got, want);
		fail();
	}
}

static void test_g15_edge_values(void **state)
{
	static const double fixed[] = {
		0.0,	-0.0,	  1.0,	    -1.0,     0.1,	0.5,	  1.5,	      2.5,	   0.125, 1e-10, 1e-5,
		1e-4,	1e-3,	  0.00999999999999995, 0.0001, 0.00009999999999999995, 123456789012345.0,
		999999999999999.0,	999999999999999.4, 999999999999999.5, 999999999999999.6, 1e15, 1e15 + 1,
		99999999999999.95,	9.999999999999995, 9.9999999999999995, 0.3, 1.0 / 3, 2.0 / 3, 1e14, 1e14 + 0.5,
		5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e300, 1e-300, 123.456, 0.000123456,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		expect_as_printf(fixed[i]);
		expect_as_printf(-fixed[i]);
		expect_as_printf(nextafter(fixed[i], INFINITY));
		expect_as_printf(nextafter(fixed[i], -INFINITY));
	}
	/* Every power of ten in range and its neighbours, and the halves
	 * between 15-digit neighbours at every exponent (the rounding edge). */
	for (int e = -12; e <= 16; e++) {
		double p = pow(10, e);

		for (int k = -3; k <= 3; k++) {
			double v = p;

			for (int s = 0; s < (k < 0 ? -k : k); s++)
				v = nextafter(v, k < 0 ? 0 : INFINITY);
			expect_as_printf(v);
		}
		for (int i = 0; i < 2000; i++) {
			uint64_t m = 100000000000000ULL + rnd() % 900000000000000ULL;
			double half = ((double)m + 0.5) * pow(10, e - 14);

			expect_as_printf(half);
			expect_as_printf(nextafter(half, 0));
			expect_as_printf(nextafter(half, INFINITY));
		}
	}
}

static void test_g15_random_values(void **state)
{
	(void)state;
	for (int i = 0; i < 300000; i++) {
		uint64_t b = rnd();
		double v;

		expect_as_printf(bits_double(b)); /* any bit pattern, NaN and infinities too */
		/* Rates and sums as the API computes them: integers of
		 * microseconds over a step, in every decade of interest. */
		v = (double)(rnd() % 100000000000ULL) / (double)(1 + rnd() % 86400000ULL);
		expect_as_printf(v);
		expect_as_printf(v / 1e6);
		/* Uniform over the exponents the fast path covers and beyond. */
		v = ldexp((double)(rnd() >> 11) / 9007199254740992.0 + 0.5, (int)(rnd() % 120) - 70);
		expect_as_printf((b & 1) ? -v : v);
		/* Short decimals (few digits, many trailing zeros). */
		v = (double)(rnd() % 100000) * pow(10, (int)(rnd() % 24) - 14);
		expect_as_printf(v);
	}
}

/* json_format_rfc3339_ms against gmtime_r and printf, over the whole range
 * of a u64 of nanoseconds (1970..2554) and around every leap day. */
static void expect_as_gmtime(uint64_t ns)
{
	char want[96], got[64];
	time_t sec = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	assert_non_null(gmtime_r(&sec, &tm));
	snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ns / 1000000ULL % 1000));
	if (json_format_rfc3339_ms(ns, got) != strlen(want) || strcmp(got, want)) {
		print_error("json_format_rfc3339_ms(%llu): \"%s\", gmtime \"%s\"\n", (unsigned long long)ns, got, want);
		fail();
	}
}

static void test_rfc3339_as_gmtime(void **state)
{
	(void)state;
	expect_as_gmtime(1);
	expect_as_gmtime(UINT64_MAX);
	for (uint64_t day = 0; day < 213503; day += 1) /* every day to 2554, at a few times of day */
		for (uint64_t t = 0; t < 86400000000000ULL; t += 86399999999999ULL / 3)
			expect_as_gmtime(day * 86400000000000ULL + t);
	for (int i = 0; i < 200000; i++)
		expect_as_gmtime(rnd());
}

/* A character that needs escaping at every place in strings of every
 * length to 40, amid text that does not (the 8-byte scan's edges). */
static void test_escape_at_every_offset(void **state)
{
	static const char *const special[] = { "\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9", "\xff" };
	static const char *const escaped[] = { "\\\"", "\\\\", "\\n", "\\u0001", "\x7f", "\xc3\xa9", "\xef\xbf\xbd" };

	(void)state;
	for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); k++)
		for (size_t len = 0; len <= 40; len++)
			for (size_t at = 0; at <= len; at++) {
				char in[64], want[96];
				struct json j;

				for (size_t i = 0; i < len; i++)
					in[i] = (char)('a' + i % 26);
				in[len] = '\0';
				/* the expected text, with the special's escape in place */
				snprintf(want, sizeof(want), "\"%.*s%s%s\"", (int)at, in, escaped[k], in + at);
				memmove(in + at + strlen(special[k]), in + at, len - at + 1);
				memcpy(in + at, special[k], strlen(special[k]));
				json_init(&j);
				json_str(&j, in);
				assert_string_equal(j.buf, want);
				json_free(&j);
			}
}

/* Integers against printf: every width, both signs, the powers of ten and
 * their neighbours (the two-digit writer's edges). */
static void test_integers_as_printf(void **state)
{
	(void)state;
	for (int i = 0; i < 200000; i++) {
		uint64_t v = rnd() >> (rnd() % 64);
		char want[64];
		struct json j;

		if (i < 60) {
			uint64_t p = 1;

			for (int k = 0; k < i / 3; k++)
				p *= 10;
			v = p + (uint64_t)(i % 3) - 1;
		}
		json_init(&j);
		json_u64(&j, v);
		snprintf(want, sizeof(want), "%" PRIu64, v);
		assert_string_equal(j.buf, want);
		json_free(&j);
		json_init(&j);
		json_i64(&j, -(int64_t)(v >> 1));
		snprintf(want, sizeof(want), "%" PRId64, -(int64_t)(v >> 1));
		assert_string_equal(j.buf, want);
		json_free(&j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_utf8_kept_and_invalid_replaced),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_key_escaped_and_growth),
		cmocka_unit_test(test_g15_edge_values),
		cmocka_unit_test(test_g15_random_values),
		cmocka_unit_test(test_rfc3339_as_gmtime),
		cmocka_unit_test(test_escape_at_every_offset),
		cmocka_unit_test(test_integers_as_printf),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
