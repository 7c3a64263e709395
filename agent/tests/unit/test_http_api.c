// SPDX-License-Identifier: Apache-2.0
/*
 * http_api: the pieces that need no server: --listen parsing, loopback
 * detection and the bearer-token comparison. The server itself is tested
 * live in agent/tests/serve.test.ts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "http_api.h"

static void test_listen(void **state)
{
	static const struct {
		const char *s;
		int ok, family, port, loopback;
	} cases[] = {
		{ "127.0.0.1:9781", 1, AF_INET, 9781, 1 },
		{ "127.1.2.3:1", 1, AF_INET, 1, 1 },
		{ "0.0.0.0:80", 1, AF_INET, 80, 0 },
		{ ":9781", 1, AF_INET, 9781, 0 },
		{ "10.0.0.5:65535", 1, AF_INET, 65535, 0 },
		{ "[::1]:9781", 1, AF_INET6, 9781, 1 },
		{ "[::]:9781", 1, AF_INET6, 9781, 0 },
		{ "127.0.0.1", 0, 0, 0, 0 },
		{ "127.0.0.1:", 0, 0, 0, 0 },
		{ "127.0.0.1:0", 0, 0, 0, 0 },
		{ "127.0.0.1:65536", 0, 0, 0, 0 },
		{ "127.0.0.1:80x", 0, 0, 0, 0 },
		{ "localhost:80", 0, 0, 0, 0 },
		{ "[::1:80", 0, 0, 0, 0 },
		{ "[nope]:80", 0, 0, 0, 0 },
		{ "", 0, 0, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		char err[256] = "";
		int rc = http_parse_listen(cases[i].s, &ss, &len, err, sizeof(err));

		if ((rc == 0) != cases[i].ok) {
			print_error("'%s': rc %d (%s)\n", cases[i].s, rc, err);
			fail();
		}
		if (!cases[i].ok) {
			assert_non_null(strstr(err, "--listen"));
			continue;
		}
		assert_int_equal(ss.ss_family, cases[i].family);
		assert_int_equal(ntohs(cases[i].family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
								     ((struct sockaddr_in6 *)&ss)->sin6_port),
				 cases[i].port);
		assert_int_equal(http_is_loopback(&ss), cases[i].loopback);
	}
}

/* A string literal with its exact length, NULs included. */
#define TOK(lit, token) http_token_ok(lit, sizeof(lit) - 1, token)

static void test_token(void **state)
{
	(void)state;
	assert_true(TOK("Bearer s3cret", "s3cret"));
	assert_false(http_token_ok(NULL, 0, "s3cret"));
	assert_false(TOK("", "s3cret"));
	assert_false(TOK("Bearer ", "s3cret"));
	assert_false(TOK("Bearer s3cre", "s3cret"));
	assert_false(TOK("Bearer s3crets", "s3cret"));
	assert_false(TOK("Bearer S3cret", "s3cret"));
	assert_false(TOK("Basic s3cret", "s3cret"));
	assert_false(TOK("s3cret", "s3cret"));
	assert_false(TOK("Bearers3cret", "s3cret"));
	/* RFC 9110: the scheme is case-insensitive; whitespace around is optional. */
	assert_true(TOK("bearer s3cret", "s3cret"));
	assert_true(TOK("BEARER s3cret", "s3cret"));
	assert_true(TOK("  Bearer \t s3cret \t ", "s3cret"));
	/* A NUL or another control byte is never cut off: the value is refused. */
	assert_false(TOK("Bearer s3cret\0garbage", "s3cret"));
	assert_false(TOK("Bearer s3cret\0", "s3cret"));
	assert_false(TOK("Bearer s3cret\r", "s3cret"));
	assert_false(TOK("Bearer s3\x01cret", "s3\x01cret"));
	assert_false(TOK("Bearer s3cret\x7f", "s3cret"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_token),
	};

	return cmocka_run_group_tests_name("http_api", tests, NULL, NULL);
}
