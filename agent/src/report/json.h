/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small streaming JSON writer into a growable buffer, shared by the
 * reports and the HTTP API. It tracks commas itself; strings are escaped
 * per RFC 8259 (control characters as \u00XX, invalid UTF-8 replaced).
 */
#ifndef WAKEFLOW_JSON_H
#define WAKEFLOW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json {
	char *buf;
	size_t len, cap;
	bool need_comma;
	bool failed; /* allocation failed at some point; output is incomplete */
};

void json_init(struct json *j);
void json_free(struct json *j);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key); /* inside an object, before a value */
void json_str(struct json *j, const char *s);	/* NULL writes null */
void json_u64(struct json *j, uint64_t v);
struct wf_counter;
/* Each counter as a "name": value member of the object being written. */
void json_counters(struct json *j, const struct wf_counter *c, int n);
void json_i64(struct json *j, int64_t v);
void json_f64(struct json *j, double v); /* non-finite writes null */
/* Writes what snprintf(out, 32, "%.15g", v) writes, mostly without printf;
 * returns its length. */
size_t json_format_g15(double v, char *out);
/* ns since the epoch as RFC 3339 in UTC with milliseconds
 * ("2026-12-01T17:49:21.123Z", 24 bytes and a NUL), as gmtime_r and
 * "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ" write it; returns its length. */
size_t json_format_rfc3339_ms(uint64_t ns, char *out);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

#endif
