/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Function symbols of one ELF object (executable, shared library, vDSO).
 *
 * The file is mapped read-only-private and kept mapped while the table
 * lives: symbol names point straight into its string table, so a table of
 * a few hundred thousand symbols costs the index only, and the page cache
 * holds the names. An open mapping also pins the inode, so a deleted or
 * replaced binary stays readable.
 *
 * Opening only reads the headers (build-id, program headers); the symbols
 * are indexed by elf_syms_load(), so a cache hit on the build-id costs no
 * symbol parsing.
 */
#ifndef WAKEFLOW_ELF_SYMS_H
#define WAKEFLOW_ELF_SYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sym_index.h"

#define ELF_SYMS_BUILD_ID_MAX 64
/* Longest .gnu_debuglink file name kept (binutils writes a basename). */
#define ELF_SYMS_DEBUGLINK_MAX 256
/* MiniDebugInfo decompressed at most this large (Envoy's is a few MB). */
#define ELF_SYMS_MINIDEBUG_MAX (256u << 20)

struct elf_seg {
	uint64_t offset, filesz, vaddr;
	bool exec;
};

struct elf_syms {
	struct sym_index ix;
	bool loaded;	  /* elf_syms_load() ran */
	bool has_symtab;  /* the object has a full .symtab (not stripped) */
	uint16_t e_type;  /* ET_EXEC, ET_DYN, ... */
	uint8_t build_id[ELF_SYMS_BUILD_ID_MAX];
	size_t build_id_len; /* 0: none */
	struct elf_seg *segs; /* PT_LOAD segments */
	size_t nsegs;
	/* .gnu_debuglink: the separate debug file's name and the CRC32 of its
	 * whole contents; "" when the object has none. */
	char debuglink[ELF_SYMS_DEBUGLINK_MAX];
	uint32_t debuglink_crc;
	/* .gnu_debugdata (MiniDebugInfo): an xz-compressed ELF holding a
	 * .symtab, inside the object; size 0 when it has none. */
	uint64_t debugdata_offset, debugdata_size;
	/* Images the names point into: the object itself, a debug file
	 * (mapped) and the decompressed MiniDebugInfo (malloc'd). */
	void *image, *debug_image, *mini_image;
	size_t image_size, debug_size, mini_size;
	bool image_mapped; /* mmap'd (else malloc'd: an in-memory copy) */
	bool mini_failed;  /* .gnu_debugdata present but unreadable (corrupt xz, not ELF) */
};

/* Map an open ELF file (fd may be closed afterwards). NULL + errno on failure. */
struct elf_syms *elf_syms_open_fd(int fd);
/* Copy an ELF image from memory (the vDSO). NULL + errno on failure. */
struct elf_syms *elf_syms_from_memory(const void *image, size_t size);
/*
 * A build known by its build-id alone (no image: its binary is not at
 * hand), for elf_syms_add_debug_fd to attach the build's debug file to and
 * elf_syms_load to index. NULL + errno (EINVAL for a length of 0 or past
 * ELF_SYMS_BUILD_ID_MAX).
 */
struct elf_syms *elf_syms_shell(const uint8_t *build_id, size_t len);
/*
 * Index the .symtab and .dynsym function symbols, and those of the debug
 * file if one was attached; else, for a stripped object with MiniDebugInfo,
 * those of its decompressed .gnu_debugdata (a corrupt one is skipped and
 * flagged in mini_failed, the rest still indexed). 0 or -1 + errno.
 */
int elf_syms_load(struct elf_syms *es);
/*
 * Add the symbols of a separate debug file (/usr/lib/debug/.build-id/...)
 * for a stripped object. The debug file must carry the same build-id.
 * Call before elf_syms_load() (or elf_syms_reload()). 0 or -1 + errno.
 */
int elf_syms_add_debug_fd(struct elf_syms *es, int fd);
/*
 * Same for the file .gnu_debuglink names: it is used only if the CRC32 of
 * its whole contents is the one the link records, and, when both carry a
 * build-id, the build-ids agree. 0 or -1 + errno (EINVAL: another file).
 */
int elf_syms_add_debuglink_fd(struct elf_syms *es, int fd);
/*
 * Index again a loaded object a debug file was attached to since (a symbol
 * file that appeared after the object was loaded unnamed). The new index
 * replaces the old one only once complete; on failure (-1 + errno, out of
 * memory) the old index stays and the debug file is detached again.
 */
int elf_syms_reload(struct elf_syms *es);
/* Whether a separate debug file was attached. */
bool elf_syms_has_debug(const struct elf_syms *es);

/*
 * Translate a file offset (mapping start's pgoff + distance into the
 * mapping) to the ELF virtual address the symbols use, through the PT_LOAD
 * segment holding it; exec segments are preferred. false if none does.
 */
bool elf_syms_file_to_vaddr(const struct elf_syms *es, uint64_t offset, uint64_t *vaddr);
/* The function symbol containing vaddr, or NULL. */
struct sym_entry *elf_syms_find(const struct elf_syms *es, uint64_t vaddr);
/* Heap bytes held (index and segments; the mapped images are page cache). */
size_t elf_syms_heap_bytes(const struct elf_syms *es);
void elf_syms_free(struct elf_syms *es);

#endif
