/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Symbolization of raw addresses: kernel frames from /proc/kallsyms, user
 * frames from the ELF .symtab/.dynsym of each mapping, read through
 * /proc/PID/root so containerized binaries resolve; C++ names demangled.
 * ELF symbol tables are cached by build-id, else by (device, inode).
 * Every returned name is interned (intern.h). An address that cannot be
 * named comes back as "module+0xoffset" (or "[unknown]" with no mapping),
 * never dropped.
 */
#ifndef WAKEFLOW_SYMBOLIZE_H
#define WAKEFLOW_SYMBOLIZE_H

#include <stdint.h>

struct symbolizer;

struct sym_stats {
	uint64_t kernel_lookups, kernel_misses;
	uint64_t user_lookups, user_misses; /* misses: shown as module+0xoff or [unknown] */
	uint64_t processes, elf_files;	    /* currently cached */
	uint64_t errors;		    /* unreadable maps/ELF files */
};

struct symbolizer *symbolizer_new(void);
void symbolizer_free(struct symbolizer *s);

const char *sym_kernel(struct symbolizer *s, uint64_t addr);
const char *sym_user(struct symbolizer *s, int32_t pid, uint64_t addr);

/*
 * Process lifecycle. Call sym_process_seen when a pid is first traced (it
 * snapshots /proc/PID/maps so later lookups work even after the process has
 * exited); call sym_process_gone after its last stacks were symbolized on
 * exit or before an exec replaces its mappings (the next lookup re-reads).
 */
int sym_process_seen(struct symbolizer *s, int32_t pid);
void sym_process_gone(struct symbolizer *s, int32_t pid);

void sym_get_stats(const struct symbolizer *s, struct sym_stats *out);

#endif
