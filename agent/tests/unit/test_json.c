// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the JSON writer (json.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_utf8_kept_and_invalid_replaced),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_key_escaped_and_growth),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
