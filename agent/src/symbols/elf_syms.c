// SPDX-License-Identifier: Apache-2.0
/* ELF function-symbol tables through libelf; see elf_syms.h. */
#include "elf_syms.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

static bool libelf_ready(void)
{
	static int state; /* 0 untried, 1 ok, -1 failed */

	if (!state)
		state = elf_version(EV_CURRENT) == EV_NONE ? -1 : 1;
	return state > 0;
}

/*
 * Open a libelf handle on an image we own. elf_memory() may convert data
 * in place for a foreign byte order, which is why images are mapped
 * writable-private (or copied), never shared.
 */
static Elf *elf_on(void *image, size_t size)
{
	Elf *elf;

	if (!libelf_ready()) {
		errno = ENOSYS;
		return NULL;
	}
	elf = elf_memory(image, size);
	if (!elf) {
		errno = ENOEXEC;
		return NULL;
	}
	if (elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) == ELFCLASSNONE) {
		elf_end(elf);
		errno = ENOEXEC;
		return NULL;
	}
	return elf;
}

/* The GNU build-id note, looked up through the program headers so that
 * objects whose section headers were stripped still have one. */
static void read_build_id(Elf *elf, uint8_t *out, size_t *len)
{
	size_t nph;

	*len = 0;
	if (elf_getphdrnum(elf, &nph))
		return;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		Elf_Data *data;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		data = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp((char *)data->d_buf + name_off, "GNU", 4) == 0 &&
			    nh.n_descsz > 0 && nh.n_descsz <= ELF_SYMS_BUILD_ID_MAX) {
				memcpy(out, (char *)data->d_buf + desc_off, nh.n_descsz);
				*len = nh.n_descsz;
				return;
			}
		}
	}
}

static int read_segments(struct elf_syms *es, Elf *elf)
{
	size_t nph;

	if (elf_getphdrnum(elf, &nph))
		return 0; /* no program headers: no file-offset translation */
	es->segs = calloc(nph ? nph : 1, sizeof(*es->segs));
	if (!es->segs)
		return -1;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		es->segs[es->nsegs].offset = ph.p_offset;
		es->segs[es->nsegs].filesz = ph.p_filesz;
		es->segs[es->nsegs].vaddr = ph.p_vaddr;
		es->segs[es->nsegs].exec = ph.p_flags & PF_X;
		es->nsegs++;
	}
	return 0;
}

/* Read the headers of an image es now owns. */
static int read_headers(struct elf_syms *es)
{
	GElf_Ehdr eh;
	Elf *elf = elf_on(es->image, es->image_size);
	int ret = -1;

	if (!elf)
		return -1;
	if (!gelf_getehdr(elf, &eh)) {
		errno = ENOEXEC;
		goto out;
	}
	es->e_type = eh.e_type;
	read_build_id(elf, es->build_id, &es->build_id_len);
	/* Whether a full symbol table exists decides the debug-file lookup. */
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			es->has_symtab = true;
	}
	ret = read_segments(es, elf);
out:
	elf_end(elf);
	return ret;
}

static void *map_fd(int fd, size_t *size)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st))
		return NULL;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf32_Ehdr)) {
		errno = ENOEXEC; /* devices, memfd stubs, truncated files */
		return NULL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	*size = (size_t)st.st_size;
	return p;
}

/* Frees a half-built table on a failure path, keeping the errno that says why. */
static struct elf_syms *free_keep_errno(struct elf_syms *es)
{
	int err = errno;

	elf_syms_free(es);
	errno = err;
	return NULL;
}

struct elf_syms *elf_syms_open_fd(int fd)
{
	struct elf_syms *es = calloc(1, sizeof(*es));

	if (!es)
		return NULL;
	es->image = map_fd(fd, &es->image_size);
	if (!es->image)
		goto fail;
	es->image_mapped = true;
	if (read_headers(es))
		goto fail;
	return es;
fail:
	return free_keep_errno(es);
}

struct elf_syms *elf_syms_from_memory(const void *image, size_t size)
{
	struct elf_syms *es = calloc(1, sizeof(*es));

	if (!es)
		return NULL;
	es->image = malloc(size);
	if (!es->image)
		goto fail;
	memcpy(es->image, image, size);
	es->image_size = size;
	if (read_headers(es))
		goto fail;
	return es;
fail:
	return free_keep_errno(es);
}

int elf_syms_add_debug_fd(struct elf_syms *es, int fd)
{
	struct elf_syms *dbg = elf_syms_open_fd(fd);
	int ok;

	if (!dbg)
		return -1;
	/* A debug file for another build would name every frame wrongly. */
	ok = es->build_id_len && dbg->build_id_len == es->build_id_len &&
	     memcmp(dbg->build_id, es->build_id, es->build_id_len) == 0;
	if (ok) {
		es->debug_image = dbg->image;
		es->debug_size = dbg->image_size;
		dbg->image = NULL;
	}
	elf_syms_free(dbg);
	if (!ok) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Bounds of section idx, to close zero-sized symbols inside it. */
static uint64_t section_end(Elf *elf, size_t shndx, uint64_t addr)
{
	Elf_Scn *scn = elf_getscn(elf, shndx);
	GElf_Shdr sh;

	if (!scn || !gelf_getshdr(scn, &sh) || addr < sh.sh_addr || addr >= sh.sh_addr + sh.sh_size)
		return addr; /* unknown: the symbol then covers nothing */
	return sh.sh_addr + sh.sh_size;
}

/* Index the function symbols of one symbol-table section. */
static int index_symtab(struct elf_syms *es, Elf *elf, char *image, size_t image_size,
			Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Scn *str_scn = elf_getscn(elf, sh->sh_link);
	GElf_Shdr str;
	Elf_Data *data;
	size_t count;

	if (!str_scn || !gelf_getshdr(str_scn, &str) || str.sh_type != SHT_STRTAB ||
	    str.sh_offset > image_size || str.sh_size > image_size - str.sh_offset ||
	    str.sh_size == 0 || image[str.sh_offset + str.sh_size - 1] != '\0')
		return 0; /* names unusable: skip this table, not the object */
	data = elf_getdata(scn, NULL);
	if (!data || !sh->sh_entsize)
		return 0;
	count = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < count; i++) {
		GElf_Sym sym;
		int type, bind, binding;
		const char *name;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		bind = GELF_ST_BIND(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    sym.st_shndx >= SHN_LORESERVE || sym.st_value == 0 || sym.st_name == 0 ||
		    sym.st_name >= str.sh_size)
			continue;
		name = image + str.sh_offset + sym.st_name;
		binding = bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0;
		/* Sized symbols end exactly; zero-sized ones (hand-written asm)
		 * reach the next symbol but never past their section. */
		if (sym_index_add(&es->ix, sym.st_value,
				  sym.st_size ? sym.st_value + sym.st_size
					      : section_end(elf, sym.st_shndx, sym.st_value),
				  sym.st_size == 0, name, sym_rank(name, binding)))
			return -1;
	}
	return 0;
}

static int index_image(struct elf_syms *es, void *image, size_t size)
{
	Elf *elf = elf_on(image, size);
	Elf_Scn *scn = NULL;
	int ret = 0;

	if (!elf)
		return -1;
	while (!ret && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		ret = index_symtab(es, elf, image, size, scn, &sh);
	}
	elf_end(elf);
	return ret;
}

int elf_syms_load(struct elf_syms *es)
{
	if (es->loaded)
		return 0;
	if (index_image(es, es->image, es->image_size))
		return -1;
	if (es->debug_image && index_image(es, es->debug_image, es->debug_size))
		return -1;
	sym_index_finish(&es->ix);
	es->loaded = true;
	return 0;
}

bool elf_syms_file_to_vaddr(const struct elf_syms *es, uint64_t offset, uint64_t *vaddr)
{
	const struct elf_seg *hit = NULL;

	for (size_t i = 0; i < es->nsegs; i++) {
		const struct elf_seg *s = &es->segs[i];

		if (offset < s->offset || offset - s->offset >= s->filesz)
			continue;
		if (!hit || (s->exec && !hit->exec))
			hit = s;
	}
	if (!hit)
		return false;
	*vaddr = offset - hit->offset + hit->vaddr;
	return true;
}

struct sym_entry *elf_syms_find(const struct elf_syms *es, uint64_t vaddr)
{
	return sym_index_find(&es->ix, vaddr);
}

size_t elf_syms_heap_bytes(const struct elf_syms *es)
{
	return sizeof(*es) + es->ix.cap * sizeof(*es->ix.e) + es->nsegs * sizeof(*es->segs) +
	       (es->image_mapped ? 0 : es->image_size);
}

void elf_syms_free(struct elf_syms *es)
{
	if (!es)
		return;
	sym_index_free(&es->ix);
	free(es->segs);
	if (es->image) {
		if (es->image_mapped)
			munmap(es->image, es->image_size);
		else
			free(es->image);
	}
	/* A debug image always comes from elf_syms_open_fd(): mapped. */
	if (es->debug_image)
		munmap(es->debug_image, es->debug_size);
	free(es);
}
