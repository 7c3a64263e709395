/* SPDX-License-Identifier: Apache-2.0 */
/*
 * String interning: frame names, comms and facts repeat millions of times;
 * each distinct string is stored once and compared by pointer afterwards.
 * Interned strings live until intern_reset() (normally: process exit).
 * Not thread-safe; the agent touches it from its main loop only.
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

#endif
