// SPDX-License-Identifier: Apache-2.0
/*
 * Streaming JSON writer (json.h). The buffer is always NUL-terminated so
 * callers can hand j->buf to anything that wants a C string. Once an
 * allocation fails, every later call is a no-op and j->failed stays set:
 * callers check one flag at the end instead of every call.
 */
#include "json.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge.h"

void json_init(struct json *j)
{
	memset(j, 0, sizeof(*j));
}

void json_free(struct json *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

static bool reserve(struct json *j, size_t more)
{
	size_t need, cap;
	char *buf;

	if (j->failed)
		return false;
	if (more > SIZE_MAX - j->len - 1)
		goto fail;
	need = j->len + more + 1; /* + NUL */
	if (need <= j->cap)
		return true;
	cap = j->cap ? j->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	buf = realloc(j->buf, cap);
	if (!buf)
		goto fail;
	j->buf = buf;
	j->cap = cap;
	return true;
fail:
	j->failed = true;
	return false;
}

/* The common case (room left) stays inline: an edges answer of 1,000 edges
 * is ~2 MB written in ~200,000 pieces. */
static inline void put(struct json *j, const char *s, size_t n)
{
	if (j->len + n >= j->cap && !reserve(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static inline void putc1(struct json *j, char c)
{
	if (j->len + 1 >= j->cap && !reserve(j, 1))
		return;
	j->buf[j->len++] = c;
	j->buf[j->len] = '\0';
}

/* Called before every key and every value that is not preceded by a key. */
static void sep(struct json *j)
{
	if (j->need_comma)
		putc1(j, ',');
	j->need_comma = false;
}

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one.
 * Rejects overlong forms, surrogates and code points above U+10FFFF, as
 * RFC 3629 requires; frame names and comms come from untrusted input.
 */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Bytes 0x80 and up set each byte's top bit, bytes below 0x20 too (after
 * the subtraction), '"' and '\\' make a zero byte of the XOR: a word of 8
 * bytes that copies as it is gives 0. */
static inline uint64_t word_needs_escape(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return ((w - ones * 0x20) | w | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
}

/* The end of the run from s[i] that needs no escaping, 8 bytes at a time
 * (the ~2 MB of an edges answer are mostly frame names with nothing to
 * escape), then byte by byte. */
static inline size_t plain_run(const unsigned char *s, size_t i, size_t len)
{
	uint64_t w;

	while (i + 8 <= len) {
		memcpy(&w, s + i, 8);
		if (word_needs_escape(w))
			break;
		i += 8;
	}
	/* The last 1-7 bytes (the loop ran out) as the word ending at len. */
	if (i < len && i + 8 > len && len >= 8) {
		memcpy(&w, s + len - 8, 8);
		if (!word_needs_escape(w))
			return len;
	}
	while (i < len && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
		i++;
	return i;
}

static void put_string(struct json *j, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str), i = 0;

	putc1(j, '"');
	while (i < len && !j->failed) {
		unsigned char c = s[i];
		size_t run = plain_run(s, i, len), n;

		/* Copy the longest run that needs no escaping in one go. */
		if (run > i) {
			put(j, str + i, run - i);
			i = run;
			continue;
		}
		switch (c) {
		case '"':
			put(j, "\\\"", 2);
			i++;
			continue;
		case '\\':
			put(j, "\\\\", 2);
			i++;
			continue;
		case '\n':
			put(j, "\\n", 2);
			i++;
			continue;
		case '\r':
			put(j, "\\r", 2);
			i++;
			continue;
		case '\t':
			put(j, "\\t", 2);
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20) {
			char esc[8];

			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(j, esc, 6);
			i++;
			continue;
		}
		n = utf8_seq(s + i, len - i);
		if (n) {
			put(j, str + i, n);
			i += n;
		} else {
			put(j, "\xef\xbf\xbd", 3); /* U+FFFD for each bad byte */
			i++;
		}
	}
	putc1(j, '"');
}

void json_obj_begin(struct json *j)
{
	sep(j);
	putc1(j, '{');
}

void json_obj_end(struct json *j)
{
	putc1(j, '}');
	j->need_comma = true;
}

void json_arr_begin(struct json *j)
{
	sep(j);
	putc1(j, '[');
}

void json_arr_end(struct json *j)
{
	putc1(j, ']');
	j->need_comma = true;
}

void json_key(struct json *j, const char *key)
{
	sep(j);
	put_string(j, key ? key : "");
	putc1(j, ':');
	j->need_comma = false;
}

void json_str(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	sep(j);
	put_string(j, s);
	j->need_comma = true;
}

static void put_number(struct json *j, const char *num)
{
	sep(j);
	put(j, num, strlen(num));
	j->need_comma = true;
}

/* "00".."99": two digits per division. */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
				     "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
				     "8081828384858687888990919293949596979899";

/* Decimal digits of v written backwards from end; returns the first. */
static char *u64_digits(uint64_t v, char *end)
{
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);

		v /= 100;
		end -= 2;
		memcpy(end, digit_pairs + 2 * r, 2);
	}
	if (v >= 10) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * v, 2);
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

static void put_integer(struct json *j, uint64_t magnitude, bool negative)
{
	char num[24], *end = num + sizeof(num), *p = u64_digits(magnitude, end);

	if (negative)
		*--p = '-';
	sep(j);
	put(j, p, (size_t)(end - p));
	j->need_comma = true;
}

void json_u64(struct json *j, uint64_t v)
{
	put_integer(j, v, false);
}

void json_i64(struct json *j, int64_t v)
{
	put_integer(j, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
}

void json_f64(struct json *j, double v)
{
	char num[32];

	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	/* Whole numbers below 1e15 (microsecond sums, counts) print as %.15g
	 * prints them, all digits and no point, without printf's cost. */
	if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v && (v != 0 || !signbit(v))) {
		json_i64(j, (int64_t)v);
		return;
	}
	/* 15 significant digits, more than any measured quantity here has:
	 * rates and sums print as "0.002984", not as the binary fraction's
	 * "0.0029839999999999997"; %g never prints anything JSON rejects for
	 * finite values ("1e+20" is valid JSON). */
	json_format_g15(v, num);
	put_number(j, num);
}

/* The error bound below needs 64 bits of mantissa or more: x86's 80-bit
 * long double has 64, aarch64's 128-bit one 113. */
_Static_assert(LDBL_MANT_DIG >= 64, "json_format_g15 needs a long double of at least 64 bits of mantissa");

/* 10^k, k = 0..24, each exact in a long double (5^24 < 2^64). */
static const long double pow10_ld[25] = {
	1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L,
	1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L, 1e23L, 1e24L,
};

/*
 * The 15 significant digits of |v| (1e-10 <= |v| < 1e15) as an integer in
 * [10^14, 10^15) and the decimal exponent X of the first, rounded as
 * printf rounds the exact binary value; false when that rounding cannot be
 * told apart from here (the caller asks printf). |v| * 10^(14-e) is one
 * long double product of exact factors, off by at most 2^-14 of a unit in
 * the last digit: only a product within 2^-10 of a half (or of 10^14, the
 * exponent's edge) is left undecided, about one value in a thousand.
 */
static bool g15_digits(double a, uint64_t *digits, int *exp10)
{
	uint64_t bits;
	int e;

	/* a = f * 2^b with f in [1, 2): log10(a) lies in [b log10(2), (b + 1) log10(2)),
	 * so e starts at floor(log10(a)) or one below it and the loop moves it up;
	 * (b * 78913) >> 18 is floor(b log10(2)) for |b| < 1650 (78913 / 2^18 =
	 * 0.3010292...), an arithmetic shift flooring the negative ones. */
	memcpy(&bits, &a, sizeof(bits));
	e = ((int)((bits >> 52) & 0x7ff) - 1023) * 78913 >> 18;

	for (int tries = 0; tries < 3; tries++) {
		int k = 14 - e;
		long double p, f;
		uint64_t m;

		if (k < 0 || k > 24)
			return false;
		p = (long double)a * pow10_ld[k];
		if (p < 1e14L) {
			if (p > 1e14L - 0x1p-10L)
				return false;
			e--;
			continue;
		}
		if (p >= 1e15L) {
			e++;
			continue;
		}
		if (p < 1e14L + 0x1p-10L)
			return false;
		m = (uint64_t)p;
		f = p - (long double)m;
		if (f > 0.5L - 0x1p-10L && f < 0.5L + 0x1p-10L)
			return false;
		if (f > 0.5L)
			m++;
		if (m == 1000000000000000ULL) { /* rounded up to the next power */
			m = 100000000000000ULL;
			e++;
		}
		*digits = m;
		*exp10 = e;
		return true;
	}
	return false;
}

/*
 * snprintf(out, 32, "%.15g", v) without printf (~10 times cheaper): the
 * same text for every finite v, proven against printf in test_json.c.
 * Values it cannot settle cheaply (below 1e-10, 1e15 and above, a product
 * too near a rounding half) go to snprintf itself.
 */
size_t json_format_g15(double v, char *out)
{
	double a = fabs(v);
	char digits[16], *o = out;
	uint64_t m;
	int x, nd;

	if (!(a >= 1e-10 && a < 1e15) || !g15_digits(a, &m, &x))
		return (size_t)snprintf(out, 32, "%.15g", v);
	u64_digits(m, digits + 15); /* m has 15 digits */
	nd = 15;
	while (nd > 1 && digits[nd - 1] == '0') /* %g drops trailing zeros */
		nd--;
	if (signbit(v))
		*o++ = '-';
	if (x < -4 || x >= 15) {
		/* %e style: d[.ddd]e-XX (x >= 15 cannot happen below 1e15). */
		*o++ = digits[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		*o++ = 'e';
		*o++ = x < 0 ? '-' : '+';
		x = x < 0 ? -x : x;
		if (x >= 100)
			*o++ = (char)('0' + x / 100);
		*o++ = (char)('0' + x / 10 % 10);
		*o++ = (char)('0' + x % 10);
	} else if (x >= 0) {
		/* x + 1 digits before the point, the rest after it. */
		int before = x + 1;

		memcpy(o, digits, (size_t)before);
		o += before;
		if (nd > before) {
			*o++ = '.';
			memcpy(o, digits + before, (size_t)(nd - before));
			o += nd - before;
		}
	} else {
		/* 0.000ddd: -x - 1 zeros after the point. */
		*o++ = '0';
		*o++ = '.';
		for (int i = 0; i < -x - 1; i++)
			*o++ = '0';
		memcpy(o, digits, (size_t)nd);
		o += nd;
	}
	*o = '\0';
	return (size_t)(o - out);
}

void json_bool(struct json *j, bool v)
{
	put_number(j, v ? "true" : "false");
}

void json_null(struct json *j)
{
	put_number(j, "null");
}

void json_counters(struct json *j, const struct wf_counter *c, int n)
{
	for (int i = 0; i < n; i++) {
		json_key(j, c[i].name);
		json_u64(j, c[i].value);
	}
}

/* Two digits of v (0..99) at o. */
static inline char *two_digits(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
	return o + 2;
}

/*
 * The civil date of a count of days since 1970-01-01 (proleptic Gregorian),
 * by whole 400-year eras as in Howard Hinnant's days_from_civil inverse:
 * what gmtime_r computes, without its call and the printf after it.
 */
size_t json_format_rfc3339_ms(uint64_t ns, char *out)
{
	uint64_t sec = ns / 1000000000ULL, days = sec / 86400, z = days + 719468;
	unsigned sod = (unsigned)(sec % 86400), ms = (unsigned)(ns / 1000000ULL % 1000);
	uint64_t era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	unsigned day = (unsigned)(doy - (153 * mp + 2) / 5 + 1), month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	unsigned year = (unsigned)(yoe + era * 400 + (month <= 2)); /* 1970..2554 for a u64 of ns */
	char *o = out;

	o = two_digits(o, year / 100);
	o = two_digits(o, year % 100);
	*o++ = '-';
	o = two_digits(o, month);
	*o++ = '-';
	o = two_digits(o, day);
	*o++ = 'T';
	o = two_digits(o, sod / 3600);
	*o++ = ':';
	o = two_digits(o, sod / 60 % 60);
	*o++ = ':';
	o = two_digits(o, sod % 60);
	*o++ = '.';
	*o++ = (char)('0' + ms / 100);
	o = two_digits(o, ms % 100);
	*o++ = 'Z';
	*o = '\0';
	return (size_t)(o - out);
}
