// SPDX-License-Identifier: Apache-2.0
/*
 * ELF objects for the symbolizer (symbolize_int.h): one symbol table per
 * file however many mappings and processes show it, found by build-id or by
 * the opened file's identity, kept while referenced and a little after;
 * separate debug files for stripped objects; and the vDSO.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbolize_int.h"

/* ---- ELF object cache ---------------------------------------------------- */

void elf_cache_release(struct wf_symbolizer *s, struct elf_obj *o)
{
	if (!o || o == &s->vdso || --o->refs)
		return;
	o->idle = true;
	o->idle_since = s->tick;
	s->nidle++;
	/* Free the longest-idle objects beyond the reuse allowance. */
	while (s->nidle > MAX_UNREFERENCED_OBJS) {
		struct elf_obj **pp, **oldest = NULL;

		for (pp = &s->objs; *pp; pp = &(*pp)->next)
			if ((*pp)->idle && (!oldest || (*pp)->idle_since < (*oldest)->idle_since))
				oldest = pp;
		if (!oldest)
			break;
		struct elf_obj *victim = *oldest;

		*oldest = victim->next;
		elf_syms_free(victim->es);
		free(victim);
		s->nobjs--;
		s->nidle--;
	}
}

void elf_cache_acquire(struct wf_symbolizer *s, struct elf_obj *o)
{
	if (o == &s->vdso)
		return;
	if (o->refs++ == 0 && o->idle) {
		o->idle = false;
		s->nidle--;
	}
}

static bool same_identity(const struct elf_obj *o, const struct elf_syms *es, const struct stat *st)
{
	/* A stripped and a full copy of one build differ in what they can name. */
	if (es->has_symtab != o->es->has_symtab)
		return false;
	if (es->build_id_len || o->es->build_id_len)
		return es->build_id_len == o->es->build_id_len &&
		       memcmp(es->build_id, o->es->build_id, es->build_id_len) == 0;
	return o->dev == st->st_dev && o->ino == st->st_ino && o->size == st->st_size &&
	       o->mtime.tv_sec == st->st_mtim.tv_sec && o->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Opens path as es's debug file: true if it exists and is the right one
 * (by build-id, or for a debuglink by its CRC; elf_syms refuses others). */
static bool try_debug_file(struct elf_syms *es, const char *path, bool by_link)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return false;
	rc = by_link ? elf_syms_add_debuglink_fd(es, fd) : elf_syms_add_debug_fd(es, fd);
	close(fd);
	return rc == 0;
}

/* By GNU build-id: the --symbols directories (both layouts), then the
 * process's own /usr/lib/debug (its image may ship them), then the host's. */
static bool debug_by_build_id(const struct wf_symbolizer *s, struct elf_syms *es, const char *root)
{
	/* Sized so no path is ever truncated (proc_root and dirs < PATH_MAX). */
	char hex[2 * ELF_SYMS_BUILD_ID_MAX + 1], path[PATH_MAX + 256];
	/* gdb's and debuginfod's server layout, plain files, a debuginfod client cache. */
	static const char *const layouts[] = { "%s/.build-id/%.2s/%s.debug", "%s/%.2s%s.debug", "%s/%.2s%s",
					       "%s/%.2s%s/debuginfo" };

	if (es->build_id_len < 2)
		return false;
	for (size_t i = 0; i < es->build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", es->build_id[i]);
	for (size_t d = 0; d < s->ndirs; d++) {
		for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
			snprintf(path, sizeof(path), layouts[l], s->dirs[d], hex, hex + 2);
			if (try_debug_file(es, path, false))
				return true;
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		snprintf(path, sizeof(path), "%s/usr/lib/debug/.build-id/%.2s/%s.debug", pass ? "" : root, hex,
			 hex + 2);
		if (try_debug_file(es, path, false))
			return true;
	}
	return false;
}

/*
 * By .gnu_debuglink, where gdb looks for it, with DIR the directory of the
 * binary's path in the process: DIR/LINK and DIR/.debug/LINK in the
 * process's root; SYMDIR/DIR/LINK and SYMDIR/LINK for each --symbols
 * directory; /usr/lib/debug/DIR/LINK in the process's root, then the host's.
 * Each candidate must have the CRC the link records.
 */
static bool debug_by_link(const struct wf_symbolizer *s, struct elf_syms *es, const char *root,
			  const char *bin_path)
{
	char dir[PATH_MAX], path[3 * PATH_MAX];
	const char *slash = strrchr(bin_path, '/');
	size_t dlen = slash ? (size_t)(slash - bin_path) : 0;

	if (!es->debuglink[0] || bin_path[0] != '/' || dlen >= sizeof(dir))
		return false;
	memcpy(dir, bin_path, dlen);
	dir[dlen] = '\0'; /* "" for a binary in / */
	snprintf(path, sizeof(path), "%s%s/%s", root, dir, es->debuglink);
	if (try_debug_file(es, path, true))
		return true;
	snprintf(path, sizeof(path), "%s%s/.debug/%s", root, dir, es->debuglink);
	if (try_debug_file(es, path, true))
		return true;
	for (size_t d = 0; d < s->ndirs; d++) {
		snprintf(path, sizeof(path), "%s%s/%s", s->dirs[d], dir, es->debuglink);
		if (try_debug_file(es, path, true))
			return true;
		snprintf(path, sizeof(path), "%s/%s", s->dirs[d], es->debuglink);
		if (try_debug_file(es, path, true))
			return true;
	}
	for (int pass = 0; pass < 2; pass++) {
		snprintf(path, sizeof(path), "%s/usr/lib/debug%s/%s", pass ? "" : root, dir, es->debuglink);
		if (try_debug_file(es, path, true))
			return true;
	}
	return false;
}

bool elf_cache_find_debug(const struct wf_symbolizer *s, struct elf_syms *es, const char *root,
			  const char *bin_path)
{
	return debug_by_build_id(s, es, root) || debug_by_link(s, es, root, bin_path);
}

/*
 * A stripped object may have its symbols in a separate debug file: found
 * by build-id first (the stronger identity), then by .gnu_debuglink. Without
 * one, elf_syms_load falls back to the object's MiniDebugInfo, if any.
 */
static void add_debug_file(struct wf_symbolizer *s, struct elf_syms *es, const char *root, const char *bin_path)
{
	if (es->has_symtab)
		return;
	if (elf_cache_find_debug(s, es, root, bin_path))
		s->stats.debug_files++;
	else if (!es->debugdata_size)
		debuginfod_request(s, es->build_id, es->build_id_len); /* off unless DEBUGINFOD_URLS */
}

/* Looks the object up by identity, else indexes it (see symbolize_int.h). */
struct elf_obj *elf_cache_get(struct wf_symbolizer *s, int fd, int32_t pid, const struct proc_map *m,
			      const char *module_name)
{
	char root[PATH_MAX + 32];
	struct elf_syms *es;
	struct elf_obj *o;
	struct stat st;

	if (fstat(fd, &st))
		return NULL;
	es = elf_syms_open_fd(fd);
	if (!es)
		return NULL;
	for (o = s->objs; o; o = o->next) {
		if (same_identity(o, es, &st)) {
			elf_syms_free(es); /* already indexed: the headers were all we needed */
			elf_cache_acquire(s, o);
			return o;
		}
	}
	snprintf(root, sizeof(root), "%s/%d/root", s->proc_root, pid);
	add_debug_file(s, es, root, m->path);
	o = calloc(1, sizeof(*o));
	if (!o || elf_syms_load(es)) {
		free(o);
		elf_syms_free(es);
		return NULL;
	}
	late_names_note(s, fd, es, module_name, root, m->path);
	if (es->mini_image && !es->mini_failed)
		s->stats.minidebuginfo++;
	else if (es->mini_failed)
		s->stats.errors++; /* a corrupt .gnu_debugdata: its frames stay module+offset */
	o->es = es;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	o->size = st.st_size;
	o->mtime = st.st_mtim;
	o->map_major = m->dev_major;
	o->map_minor = m->dev_minor;
	o->map_ino = m->inode;
	o->refs = 1;
	o->next = s->objs;
	s->objs = o;
	s->nobjs++;
	return o;
}

/*
 * Runs in the main loop, which alone uses s->objs: o->es changes in place
 * (no other thread holds it, and each mapping of o and the stack being
 * symbolized keep pointing at the same object, now named). The registry
 * it asks is read under its own lock, shared with HTTP threads.
 */
bool elf_cache_name_late(struct wf_symbolizer *s, struct elf_obj *o, const char *module)
{
	uint64_t now = now_ns();

	if (now - o->late_tried_ns < LATE_RETRY_NS)
		return false;
	o->late_tried_ns = now;
	if (!late_names_attach(s, module, o->es))
		return false;
	if (elf_syms_reload(o->es)) {
		s->stats.errors++; /* out of memory: still unnamed, tried again later */
		return false;
	}
	s->stats.debug_files++;
	return true;
}

/*
 * Open the file behind a mapping. Through /proc/PID/root so a container's
 * binaries resolve; the inode must match what the process mapped (a binary
 * replaced since, e.g. by an upgrade, must not lend its symbols). When the
 * path is gone or replaced, /proc/PID/map_files holds the mapped file itself.
 */
int mapping_open(const struct wf_symbolizer *s, int32_t pid, const struct proc_map *m)
{
	char path[2 * PATH_MAX];
	struct stat st;
	int fd;

	if (!m->deleted) {
		snprintf(path, sizeof(path), "%s/%d/root%s", s->proc_root, pid, m->path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (!fstat(fd, &st) && st.st_ino == m->inode)
				return fd;
			close(fd);
		}
	}
	snprintf(path, sizeof(path), "%s/%d/map_files/%llx-%llx", s->proc_root, pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* ---- vDSO ---------------------------------------------------------------- */

/*
 * The vDSO has no file; every 64-bit process maps the same kernel-provided
 * image, so our own copy names everyone's [vdso] frames.
 */
void elf_cache_load_vdso(struct wf_symbolizer *s)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Phdr *ph;
	uint64_t size;
	long page = sysconf(_SC_PAGESIZE);

	s->vdso_tried = true;
	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return;
	/* The image's extent: section headers are last, segments before. */
	size = eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize;
	ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_offset + ph[i].p_filesz > size)
			size = ph[i].p_offset + ph[i].p_filesz;
	s->vdso.es = elf_syms_from_memory(eh, size);
	if (!s->vdso.es || elf_syms_load(s->vdso.es)) {
		elf_syms_free(s->vdso.es);
		s->vdso.es = NULL;
		s->stats.errors++;
		return;
	}
	s->vdso_len = (size + (uint64_t)page - 1) / (uint64_t)page * (uint64_t)page;
}
