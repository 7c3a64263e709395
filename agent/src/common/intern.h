/* SPDX-License-Identifier: Apache-2.0 */
/*
 * String interning: frame names, comms and facts repeat millions of times;
 * each distinct string is stored once and compared by pointer afterwards.
 * Not thread-safe; the agent interns from its main loop only.
 *
 * A long-running daemon bounds the table by sweeping it (serve, at each
 * catalog prune): intern_sweep_begin(), then every module that keeps
 * interned strings from one window to the next marks each of them with
 * intern_mark() (the catalog's edge records, the symbolizer's name caches,
 * edges drained but not yet collected), then intern_sweep_end() evicts
 * every string nobody marked: frames of edges that only the store still
 * refers to (it keeps its own copies). An evicted string is freed at the
 * next sweep, not at once, so that an HTTP thread still writing an answer
 * from a copy it took under the catalog's lock reads valid memory. A string
 * interned again after its eviction gets a new copy. Otherwise strings
 * live until intern_reset() (normally: process exit).
 */
#ifndef WAKEFLOW_INTERN_H
#define WAKEFLOW_INTERN_H

#include <stddef.h>

/* Returns the canonical copy of s, or NULL on allocation failure. */
const char *intern(const char *s);
/* Same for the first len bytes of s (need not be NUL-terminated). */
const char *intern_n(const char *s, size_t len);
/* Number of distinct strings and bytes held (for the agent's own metrics). */
size_t intern_count(void);
size_t intern_bytes(void);
void intern_reset(void);

/* Sweep: begin, mark what is held (s: a pointer intern returned, or
 * anything else, which is ignored; NULL too), end. Returns the number of
 * strings evicted. */
void intern_sweep_begin(void);
void intern_mark(const char *s);
size_t intern_sweep_end(void);

#endif
