// SPDX-License-Identifier: Apache-2.0
/* ELF function-symbol tables through libelf; see elf_syms.h. */
#include "elf_syms.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <zlib.h>

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

/*
 * .gnu_debuglink: a file name, NUL, padding to 4 bytes, then the CRC32 of
 * the debug file (in the object's byte order: ours, as only native objects
 * are traced). A name with a '/' or none at all is ignored: the link names
 * a file beside the binary, never a path elsewhere.
 */
static void read_debuglink(struct elf_syms *es, const char *data, size_t size)
{
	size_t len = strnlen(data, size), crc_off = (len + 4) & ~(size_t)3;

	if (!len || len >= sizeof(es->debuglink) || crc_off + 4 > size || memchr(data, '/', len) ||
	    !strcmp(data, ".") || !strcmp(data, ".."))
		return;
	memcpy(es->debuglink, data, len);
	es->debuglink[len] = '\0';
	memcpy(&es->debuglink_crc, data + crc_off, 4);
}

/* Read the headers of an image es now owns. */
static int read_headers(struct elf_syms *es)
{
	size_t shstrndx;
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
	/* Whether a full symbol table exists decides the debug-file lookup;
	 * the link and MiniDebugInfo sections say where else to look. */
	if (elf_getshdrstrndx(elf, &shstrndx))
		shstrndx = SHN_UNDEF;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			es->has_symtab = true;
		name = shstrndx != SHN_UNDEF ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (!name || sh.sh_type != SHT_PROGBITS || sh.sh_offset > es->image_size ||
		    sh.sh_size > es->image_size - sh.sh_offset)
			continue;
		if (strcmp(name, ".gnu_debuglink") == 0)
			read_debuglink(es, (const char *)es->image + sh.sh_offset, sh.sh_size);
		else if (strcmp(name, ".gnu_debugdata") == 0) {
			es->debugdata_offset = sh.sh_offset;
			es->debugdata_size = sh.sh_size;
		}
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

static bool same_build_id(const struct elf_syms *a, const struct elf_syms *b)
{
	return a->build_id_len == b->build_id_len && memcmp(a->build_id, b->build_id, a->build_id_len) == 0;
}

/* The CRC32 binutils writes into .gnu_debuglink (zlib's, over the whole file). */
static uint32_t file_crc32(const void *image, size_t size)
{
	const unsigned char *p = image;
	uLong crc = crc32(0L, Z_NULL, 0);

	while (size) {
		uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;

		crc = crc32(crc, p, chunk);
		p += chunk;
		size -= chunk;
	}
	return (uint32_t)crc;
}

/*
 * Attach dbg's image as es's debug file if it is the right one: by
 * build-id, or, for a debuglink, by the link's CRC and (where both have
 * one) the build-id. A debug file for another build would name every
 * frame wrongly.
 */
static int attach_debug(struct elf_syms *es, int fd, bool by_link)
{
	struct elf_syms *dbg = elf_syms_open_fd(fd);
	bool ok;

	if (!dbg)
		return -1;
	if (by_link)
		ok = es->debuglink[0] && (!es->build_id_len || !dbg->build_id_len || same_build_id(es, dbg)) &&
		     file_crc32(dbg->image, dbg->image_size) == es->debuglink_crc;
	else
		ok = es->build_id_len && same_build_id(es, dbg);
	if (ok && !dbg->has_symtab)
		ok = false; /* another stripped copy: nothing to add */
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

int elf_syms_add_debug_fd(struct elf_syms *es, int fd)
{
	return attach_debug(es, fd, false);
}

int elf_syms_add_debuglink_fd(struct elf_syms *es, int fd)
{
	return attach_debug(es, fd, true);
}

bool elf_syms_has_debug(const struct elf_syms *es)
{
	return es->debug_image != NULL;
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

/*
 * Decompress .gnu_debugdata (an .xz stream) into es->mini_image. The output
 * size is not recorded anywhere cheap, so the buffer grows, up to
 * ELF_SYMS_MINIDEBUG_MAX. 0 or -1 + errno (EINVAL: not a valid xz stream).
 */
static int inflate_debugdata(struct elf_syms *es)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	size_t cap = 1u << 20;
	uint8_t *out = NULL;
	lzma_ret rc;

	if (lzma_stream_decoder(&strm, ELF_SYMS_MINIDEBUG_MAX, 0) != LZMA_OK) {
		errno = ENOMEM;
		return -1;
	}
	strm.next_in = (const uint8_t *)es->image + es->debugdata_offset;
	strm.avail_in = es->debugdata_size;
	for (;;) {
		if (!out || strm.avail_out == 0) {
			uint8_t *grown;
			size_t used = out ? cap : 0;

			if (out)
				cap *= 2;
			if (cap > ELF_SYMS_MINIDEBUG_MAX || !(grown = realloc(out, cap))) {
				rc = LZMA_MEMLIMIT_ERROR;
				break;
			}
			out = grown;
			strm.next_out = out + used;
			strm.avail_out = cap - used;
		}
		rc = lzma_code(&strm, LZMA_FINISH);
		if (rc != LZMA_OK)
			break;
	}
	if (rc == LZMA_STREAM_END) {
		uint8_t *fit;

		es->mini_size = cap - strm.avail_out;
		fit = realloc(out, es->mini_size ? es->mini_size : 1);
		es->mini_image = fit ? fit : out;
	} else {
		free(out);
	}
	lzma_end(&strm);
	if (rc != LZMA_STREAM_END) {
		errno = rc == LZMA_MEM_ERROR ? ENOMEM : EINVAL;
		return -1;
	}
	return 0;
}

/* The symbols of the object's MiniDebugInfo: best effort, a bad one is flagged. */
static void index_minidebuginfo(struct elf_syms *es)
{
	if (inflate_debugdata(es)) {
		es->mini_failed = true;
		return;
	}
	/* The inner image's names stay valid as long as mini_image lives. */
	if (index_image(es, es->mini_image, es->mini_size))
		es->mini_failed = true;
}

struct elf_syms *elf_syms_shell(const uint8_t *build_id, size_t len)
{
	struct elf_syms *es;

	if (!len || len > ELF_SYMS_BUILD_ID_MAX) {
		errno = EINVAL;
		return NULL;
	}
	es = calloc(1, sizeof(*es));
	if (!es)
		return NULL;
	memcpy(es->build_id, build_id, len);
	es->build_id_len = len;
	return es;
}

int elf_syms_load(struct elf_syms *es)
{
	if (es->loaded)
		return 0;
	/* A shell (elf_syms_shell) has no image of its own, only a debug file. */
	if (es->image && index_image(es, es->image, es->image_size))
		return -1;
	if (es->debug_image && index_image(es, es->debug_image, es->debug_size))
		return -1;
	/* MiniDebugInfo only when nothing better was found: a full debug file
	 * names everything it does. */
	if (!es->has_symtab && !es->debug_image && es->debugdata_size)
		index_minidebuginfo(es);
	sym_index_finish(&es->ix);
	es->loaded = true;
	return 0;
}

int elf_syms_reload(struct elf_syms *es)
{
	struct sym_index old = es->ix;

	/* Built beside the old index and swapped in only when complete, so an
	 * allocation failure leaves the object as it was (unnamed, not half-named). */
	memset(&es->ix, 0, sizeof(es->ix));
	es->loaded = false;
	if (!elf_syms_load(es)) {
		sym_index_free(&old);
		return 0;
	}
	sym_index_free(&es->ix);
	es->ix = old;
	es->loaded = true;
	if (es->debug_image)
		munmap(es->debug_image, es->debug_size);
	es->debug_image = NULL;
	es->debug_size = 0;
	return -1;
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
	       (es->image_mapped ? 0 : es->image_size) + es->mini_size;
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
	free(es->mini_image);
	free(es);
}
