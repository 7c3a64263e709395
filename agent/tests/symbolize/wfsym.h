/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Symbolizer test input: functions with known names in a shared library,
 * so tests can check real addresses against expected demangled names.
 */
#ifndef WFSYM_H
#define WFSYM_H

struct wfsym_fn {
	const char *label; /* what the test calls it */
	void *addr;	   /* the function's address in the running process */
};

/*
 * The library's functions, addresses taken inside the library so that they
 * are the real ones even when a non-PIE executable would otherwise see a
 * PLT stub. Returns the number of entries written to out.
 */
#ifdef __cplusplus
extern "C"
#endif
int wfsym_lib_table(struct wfsym_fn *out, int max);

#endif
