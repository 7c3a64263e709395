/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plumbing for the symbolizer: reading /proc text files whole, and parsing
 * /proc/PID/maps. No symbol logic here.
 */
#ifndef WAKEFLOW_PROC_MAPS_H
#define WAKEFLOW_PROC_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Read a whole file (procfs files report size 0, so read until EOF), NUL
 * terminated. At most max_bytes are accepted (-EFBIG beyond). Returns the
 * malloc'd buffer, or NULL with errno set.
 */
char *proc_read_file(const char *path, size_t max_bytes, size_t *len);

struct proc_map {
	uint64_t start, end; /* [start, end) */
	uint64_t pgoff;	     /* file offset of start */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	bool exec;	/* 'x' permission: where code (and return addresses) live */
	bool deleted;	/* path had the " (deleted)" suffix (now stripped) */
	const char *path; /* "" for anonymous; "[vdso]", "[stack]", ... pseudo paths */
};

/*
 * Parse one maps line ("start-end perms offset major:minor inode [path]").
 * path points into line, which is modified (NUL-terminated). Returns 0, or
 * -1 if the line is malformed.
 */
int proc_map_parse_line(char *line, struct proc_map *out);

/*
 * Parse the whole text of a maps file. *maps points into text (which is
 * modified and must outlive the array). Malformed lines are skipped and
 * counted in *bad. Returns the number of entries (array malloc'd, sorted by
 * start as the kernel lists them) or -1 with errno set.
 */
long proc_maps_parse(char *text, struct proc_map **maps, size_t *bad);

#endif
