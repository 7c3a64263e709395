/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel symbol table from /proc/kallsyms (function symbols; no sizes).
 *
 * Each symbol reaches up to the next one; section markers (_etext,
 * __start_*, __*_text_end, ...) and data symbols end the function before
 * them without naming anything, so an address past the kernel's text is not
 * blamed on its last function. Module symbols are named "func [module]";
 * the last symbol of a module stops at the module's end (/proc/modules).
 */
#ifndef WAKEFLOW_KALLSYMS_H
#define WAKEFLOW_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

#include "sym_index.h"

struct ksym_module {
	char *name;
	uint64_t start, end; /* end exclusive; 0,0 if /proc/modules did not say */
};

struct ksyms {
	struct sym_index ix;
	char *names; /* all symbol names, NUL-separated; ix entries point here */
	struct ksym_module *mods;
	size_t nmods;
	uint64_t text_base; /* _text, for "[kernel]+0x..." offsets; 0 if unknown */
	int restricted;	    /* every address read as 0 (kptr_restrict, not root) */
};

/*
 * Load from a kallsyms-format file and an optional /proc/modules-format
 * file (NULL or unreadable: module ends are guessed). NULL on failure with
 * errno set.
 */
struct ksyms *ksyms_load(const char *kallsyms_path, const char *modules_path);
void ksyms_free(struct ksyms *ks);

/* The symbol containing addr, or NULL. */
struct sym_entry *ksyms_find(const struct ksyms *ks, uint64_t addr);
/*
 * For an address no symbol covers: the module holding it, or NULL. Only
 * modules listed in /proc/modules have known bounds.
 */
const struct ksym_module *ksyms_module_at(const struct ksyms *ks, uint64_t addr);

/*
 * Addresses of the core kernel symbols named (first occurrence; module
 * symbols never match), 0 for each one not found or hidden. Returns how
 * many were found, or -1 if the file cannot be read.
 */
int ksyms_lookup_names(const char *kallsyms_path, const char *const *names, uint64_t *addrs, size_t n);

#endif
