/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parser for BCC offwaketime output, so recorded captures become the same
 * wake edges the live agent produces (and go through the same rules).
 *
 * Both forms are read, also mixed in one file:
 *   default   "waker: COMM PID", waker frames (outermost first), "--",
 *             target frames (innermost first), "target: COMM PID", value (us)
 *   folded    (-f) "TARGET;frames outermost first;--;waker frames innermost
 *             first;WAKER VALUE"
 * Frames may be plain or Python-bytes quoted (b'...'). Text around blocks
 * (markdown, fences, prose, shell) is ignored; what is tolerated and what is
 * an error is listed in docs/agent.md ("## import").
 *
 * Edges come out unclassified: context is WF_CTX_NONE for preemptions
 * ("waker: 0"), else WF_CTX_UNKNOWN for classify_edge to read from the waker
 * stack; count is unknown (the input has none), stacks have nkernel -1 unless
 * a "-" delimiter (offwaketime -d) marks the kernel/user boundary.
 */
#ifndef WAKEFLOW_OFFWAKETIME_H
#define WAKEFLOW_OFFWAKETIME_H

#include <stddef.h>

#include "edge.h"

/*
 * Parses len bytes of buf (need not be NUL-terminated); name is used in
 * error messages. Appends one edge per block to out and returns how many,
 * or -1 with one line "NAME:LINE: problem" in err. On error, edges of
 * earlier blocks stay in out (the caller frees the list either way).
 */
int owt_parse(const char *buf, size_t len, const char *name, struct wf_edge_list *out, char *err, size_t errlen);

/* Reads and parses a file ("-" is standard input); same contract. */
int owt_parse_file(const char *path, struct wf_edge_list *out, char *err, size_t errlen);

#endif
