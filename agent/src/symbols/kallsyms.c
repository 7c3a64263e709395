// SPDX-License-Identifier: Apache-2.0
/* /proc/kallsyms loading and lookup; see kallsyms.h. */
#include "kallsyms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_maps.h"

/* Kallsyms is ~5 MiB on a distribution kernel; refuse absurd inputs. */
#define KALLSYMS_MAX_BYTES (256u << 20)
/* Bound for the last symbol of a module whose size is unknown ([bpf] etc.). */
#define KSYM_UNKNOWN_MODULE_SPAN (64u << 10)

/*
 * Linker section markers share an address with a real function or mark the
 * end of a region; as names they mislead (BCC prints
 * "__softirqentry_text_start" for __do_softirq). They become boundaries.
 */
static int is_marker(const char *name)
{
	static const char *const exact[] = {
		"_text", "_stext", "_etext", "_sinittext", "_einittext", "_end",
		"_sdata", "_edata", "__init_begin", "__init_end",
	};
	size_t len;

	/* x86 startup code aliases everything with __pi_ (e.g. __pi__text). */
	if (strncmp(name, "__pi_", 5) == 0)
		name += 5;
	len = strlen(name);
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(name, exact[i]) == 0)
			return 1;
	if (strncmp(name, "__start_", 8) == 0 || strncmp(name, "__stop_", 7) == 0)
		return 1;
	if (strncmp(name, "__", 2) == 0 &&
	    ((len > 11 && strcmp(name + len - 11, "_text_start") == 0) ||
	     (len > 9 && strcmp(name + len - 9, "_text_end") == 0)))
		return 1;
	return 0;
}

static int load_modules(struct ksyms *ks, const char *path)
{
	char *text, *line, *next;
	size_t cap = 0;

	if (!path)
		return 0;
	text = proc_read_file(path, 16u << 20, NULL);
	if (!text)
		return 0; /* no module support, or not readable: ends are guessed */
	for (line = text; line && *line; line = next) {
		char name[64];
		unsigned long long size, base;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* "name size refcount deps state 0xaddr [taints]" */
		if (sscanf(line, "%63s %llu %*s %*s %*s %llx", name, &size, &base) != 3 || !base)
			continue;
		if (ks->nmods == cap) {
			size_t c = cap ? cap * 2 : 64;
			struct ksym_module *fresh = realloc(ks->mods, c * sizeof(*fresh));

			if (!fresh)
				goto oom;
			ks->mods = fresh;
			cap = c;
		}
		ks->mods[ks->nmods].name = strdup(name);
		if (!ks->mods[ks->nmods].name)
			goto oom;
		ks->mods[ks->nmods].start = base;
		ks->mods[ks->nmods].end = base + size;
		ks->nmods++;
	}
	free(text);
	return 0;
oom:
	free(text);
	errno = ENOMEM;
	return -1;
}

static const struct ksym_module *module_named(const struct ksyms *ks, const char *name, size_t len)
{
	for (size_t i = 0; i < ks->nmods; i++)
		if (strlen(ks->mods[i].name) == len && memcmp(ks->mods[i].name, name, len) == 0)
			return &ks->mods[i];
	return NULL;
}

/*
 * Parse kallsyms in place and compact the names to the front of the buffer:
 * "addr t name\t[mod]\n" becomes "name [mod]\0". Entry names hold offsets
 * into the buffer until it is shrunk, then are turned into pointers; the
 * offsets are stored plus one, since NULL marks a boundary.
 */
static int parse_kallsyms(struct ksyms *ks, char *text)
{
	char *r = text, *w = text;
	int any_nonzero = 0;

	while (*r) {
		char *line = r, *nl = strchr(r, '\n'), *name, *end, *tab;
		unsigned long long addr;
		char type;
		uint64_t limit = UINT64_MAX;
		int binding, ok;

		r = nl ? nl + 1 : r + strlen(r);
		if (nl)
			*nl = '\0';
		errno = 0;
		addr = strtoull(line, &end, 16);
		if (errno || end == line || end[0] != ' ' || !end[1] || end[2] != ' ' || !end[3])
			continue; /* malformed line: ignore it, keep the rest */
		type = end[1];
		name = end + 3;
		if (addr)
			any_nonzero = 1;
		tab = strchr(name, '\t');
		if (tab) {
			/* Module symbol: bound it by the module when known. */
			char *mod = tab + 1;
			size_t mlen = strlen(mod);

			if (mlen > 2 && mod[0] == '[' && mod[mlen - 1] == ']') {
				const struct ksym_module *m = module_named(ks, mod + 1, mlen - 2);

				limit = m && addr >= m->start && addr < m->end ? m->end
									: addr + KSYM_UNKNOWN_MODULE_SPAN;
			}
			*tab = ' ';
		}
		switch (type) {
		case 'T': binding = 2; break;
		case 'W': case 'w': binding = 1; break;
		case 't': binding = 0; break;
		default: binding = -1; break; /* data, rodata, bss, absolute */
		}
		if (!ks->text_base && strcmp(name, "_text") == 0)
			ks->text_base = addr;
		if (binding < 0 || is_marker(name)) {
			ok = sym_index_add(&ks->ix, addr, addr, 0, NULL, INT32_MIN);
		} else {
			size_t len = strlen(name);
			int32_t rank = sym_rank(name, binding); /* before the move clobbers name */

			memmove(w, name, len + 1);
			ok = sym_index_add(&ks->ix, addr, limit, 1, (const char *)(uintptr_t)(w - text + 1),
					   rank);
			w += len + 1;
		}
		if (ok)
			return -1;
	}
	ks->restricted = !any_nonzero;
	return (int)(w - text);
}

struct ksyms *ksyms_load(const char *kallsyms_path, const char *modules_path)
{
	struct ksyms *ks = calloc(1, sizeof(*ks));
	char *text, *shrunk;
	int used;

	if (!ks)
		return NULL;
	if (load_modules(ks, modules_path))
		goto fail;
	text = proc_read_file(kallsyms_path, KALLSYMS_MAX_BYTES, NULL);
	if (!text)
		goto fail;
	used = parse_kallsyms(ks, text);
	if (used < 0) {
		free(text);
		errno = ENOMEM;
		goto fail;
	}
	shrunk = realloc(text, used ? (size_t)used : 1);
	ks->names = shrunk ? shrunk : text;
	for (size_t i = 0; i < ks->ix.n; i++)
		if (ks->ix.e[i].name)
			ks->ix.e[i].name = ks->names + (uintptr_t)ks->ix.e[i].name - 1;
	sym_index_finish(&ks->ix);
	return ks;
fail:
	{
		int err = errno;

		ksyms_free(ks);
		errno = err;
	}
	return NULL;
}

void ksyms_free(struct ksyms *ks)
{
	if (!ks)
		return;
	sym_index_free(&ks->ix);
	free(ks->names);
	for (size_t i = 0; i < ks->nmods; i++)
		free(ks->mods[i].name);
	free(ks->mods);
	free(ks);
}

struct sym_entry *ksyms_find(const struct ksyms *ks, uint64_t addr)
{
	if (ks->restricted)
		return NULL; /* every symbol at 0: any answer would be wrong */
	return sym_index_find(&ks->ix, addr);
}

const struct ksym_module *ksyms_module_at(const struct ksyms *ks, uint64_t addr)
{
	for (size_t i = 0; i < ks->nmods; i++)
		if (addr >= ks->mods[i].start && addr < ks->mods[i].end)
			return &ks->mods[i];
	return NULL;
}

int ksyms_lookup_names(const char *kallsyms_path, const char *const *names, uint64_t *addrs, size_t n)
{
	char line[512], name[256], type;
	unsigned long long addr;
	size_t found = 0;
	FILE *f;

	for (size_t i = 0; i < n; i++)
		addrs[i] = 0;
	f = fopen(kallsyms_path, "r");
	if (!f)
		return -1;
	while (found < n && fgets(line, sizeof(line), f)) {
		/* Module symbols carry "[module]" after the name: never exact. */
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr || strchr(line, '['))
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!addrs[i] && !strcmp(name, names[i])) {
				addrs[i] = addr;
				found++;
			}
		}
	}
	fclose(f);
	return (int)found;
}
