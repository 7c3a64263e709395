// SPDX-License-Identifier: Apache-2.0
/*
 * The symbolizer: caches and naming policy on top of the plumbing in
 * kallsyms.c (kernel table), elf_syms.c (ELF tables) and proc_maps.c
 * (/proc parsing). See symbolize.h for the contract, docs/agent.md
 * ("Symbolization") for the output formats.
 *
 * Two caches:
 *  - process snapshots (pid -> its mappings at the time it was seen), kept
 *    after the process exits until sym_process_gone(), so stacks recorded
 *    before an exit or exec still resolve;
 *  - ELF objects, shared by every mapping of the same file: keyed by
 *    build-id (one table for the same binary in many containers), else by
 *    the opened file's (device, inode, size, mtime). An object is
 *    referenced by the snapshots that map it; unreferenced ones are kept
 *    for a while (short-lived processes map the same libc again) and then
 *    freed, so memory follows the live snapshots (elf_cache.c).
 */
#include "symbolize.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "intern.h"
#include "kallsyms.h"
#include "symbolize_int.h"

/* libstdc++'s demangler (the agent links -lstdc++); declared here for C. */
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

/* ---- small helpers ------------------------------------------------------ */

static const char *internf(const char *fmt, const char *module, uint64_t off)
{
	char buf[PATH_MAX + 32];

	snprintf(buf, sizeof(buf), fmt, module, (unsigned long long)off);
	return intern(buf);
}

/* Demangled (C++, Rust legacy) or as-is; always interned. */
static const char *display_name(const char *raw)
{
	const char *out;
	char *dem;
	int status = -1;

	if (raw[0] != '_' || raw[1] != 'Z')
		return intern(raw);
	dem = __cxa_demangle(raw, NULL, NULL, &status);
	out = intern(status == 0 && dem ? dem : raw);
	free(dem);
	return out;
}

/* ---- kernel ------------------------------------------------------------- */

static void kernel_load(struct wf_symbolizer *s)
{
	char path[PATH_MAX + 16], mods[PATH_MAX + 16];
	struct ksyms *ks;

	s->ks_read_ns = now_ns();
	snprintf(path, sizeof(path), "%s/kallsyms", s->proc_root);
	snprintf(mods, sizeof(mods), "%s/modules", s->proc_root);
	ks = ksyms_load(path, mods);
	if (!ks) {
		s->stats.errors++;
		return; /* keep the previous table, if any */
	}
	if (ks->restricted)
		s->stats.errors++; /* every address hidden: not root, or kptr_restrict */
	ksyms_free(s->ks);
	s->ks = ks;
}

const char *sym_kernel(struct wf_symbolizer *s, uint64_t addr)
{
	struct sym_entry *e = NULL;
	const struct ksym_module *mod;

	s->stats.kernel_lookups++;
	/* Kernel addresses have the top bit set; 0 and user addresses are garbage here. */
	if (!(addr >> 63)) {
		s->stats.kernel_misses++;
		return UNKNOWN;
	}
	if (!s->ks_read_ns)
		kernel_load(s);
	if (s->ks)
		e = ksyms_find(s->ks, addr);
	if (!e && now_ns() - s->ks_read_ns > KALLSYMS_RELOAD_NS) {
		/* A module or BPF program may have appeared since the last read. */
		kernel_load(s);
		if (s->ks)
			e = ksyms_find(s->ks, addr);
	}
	if (e) {
		if (!e->shown)
			e->shown = intern(e->name);
		return e->shown;
	}
	s->stats.kernel_misses++;
	if (!s->ks)
		return internf("%s+0x%llx", "[kernel]", addr);
	mod = ksyms_module_at(s->ks, addr);
	if (mod) {
		char name[96];

		snprintf(name, sizeof(name), "[%s]", mod->name);
		return internf("%s+0x%llx", name, addr - mod->start);
	}
	/* Without a known base (kallsyms hidden) the absolute address is all we have. */
	if (!s->ks->text_base || addr >= s->ks->text_base)
		return internf("%s+0x%llx", "[kernel]", addr - s->ks->text_base);
	return UNKNOWN;
}

/* ---- process snapshots ---------------------------------------------------- */

static const char *module_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return intern(slash ? slash + 1 : path);
}

static void snap_clear(struct wf_symbolizer *s, struct proc_snap *p)
{
	for (size_t i = 0; i < p->n; i++)
		elf_cache_release(s, p->maps[i].obj);
	free(p->maps);
	p->maps = NULL;
	p->n = 0;
}

static int cmp_smap(const void *a, const void *b)
{
	const struct smap *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Attach an ELF object to an executable file mapping. */
static void resolve_mapping(struct wf_symbolizer *s, int32_t pid, const struct proc_map *m,
			    struct smap *out)
{
	int fd;

	/* Seen before (this process's other mappings, forks, other processes). */
	for (struct elf_obj *o = s->objs; o && m->inode; o = o->next) {
		if (o->map_ino == m->inode && o->map_major == m->dev_major &&
		    o->map_minor == m->dev_minor) {
			out->obj = o;
			elf_cache_acquire(s, o);
			return;
		}
	}
	fd = mapping_open(s, pid, m);
	if (fd < 0) {
		s->stats.errors++;
		return;
	}
	out->obj = elf_cache_get(s, fd, pid, m, out->module);
	close(fd);
	if (!out->obj && errno != ENOEXEC)
		s->stats.errors++; /* not an ELF file is normal (e.g. a mapped font); the rest is not */
}

/* Read /proc/PID/maps into a fresh mapping array. -1 + errno on failure. */
static int snap_read(struct wf_symbolizer *s, int32_t pid, struct smap **out, size_t *nout)
{
	char path[PATH_MAX + 32];
	struct proc_map *raw = NULL;
	struct smap *maps = NULL;
	size_t bad;
	long n;
	char *text;

	snprintf(path, sizeof(path), "%s/%d/maps", s->proc_root, pid);
	text = proc_read_file(path, MAPS_MAX_BYTES, NULL);
	if (!text)
		return -1;
	n = proc_maps_parse(text, &raw, &bad);
	if (n <= 0) {
		/* An empty maps file is a zombie or kernel thread: nothing to name. */
		free(text);
		if (n < 0)
			return -1;
		errno = ESRCH;
		return -1;
	}
	maps = calloc((size_t)n, sizeof(*maps));
	if (!maps) {
		free(raw);
		free(text);
		errno = ENOMEM;
		return -1;
	}
	for (long i = 0; i < n; i++) {
		const struct proc_map *m = &raw[i];
		struct smap *o = &maps[i];

		o->start = m->start;
		o->end = m->end;
		o->pgoff = m->pgoff;
		if (m->path[0] == '\0') {
			o->kind = MAP_ANON;
			o->module = intern("[anon]");
		} else if (strcmp(m->path, "[vdso]") == 0) {
			o->kind = MAP_VDSO;
			o->module = intern(m->path);
			if (s->vdso.es && m->end - m->start == s->vdso_len)
				o->obj = &s->vdso;
		} else if (m->path[0] != '/') {
			o->kind = MAP_PSEUDO;
			o->module = intern(m->path);
		} else {
			o->kind = MAP_FILE;
			o->module = module_of(m->path);
			/* Return addresses live in executable mappings only. */
			if (m->exec)
				resolve_mapping(s, pid, m, o);
		}
	}
	if (bad)
		s->stats.errors++;
	free(raw);
	free(text);
	qsort(maps, (size_t)n, sizeof(*maps), cmp_smap);
	*out = maps;
	*nout = (size_t)n;
	return 0;
}

/* Whether [start, end) overlaps a mapping of a sorted array. */
static bool range_taken(const struct smap *maps, size_t n, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = n;

	/* the first mapping starting at or after end; the one before may overlap */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (maps[mid].start < end)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && maps[lo - 1].end > start;
}

/*
 * Carry named mappings of the previous read that the new one no longer
 * has and that nothing replaced: stacks recorded before an exec, dlclose or
 * munmap still name their frames (the drain may see them after the change).
 * Bounded so a churning process cannot grow its snapshot without limit.
 */
static void carry_old_mappings(struct wf_symbolizer *s, struct proc_snap *p, struct smap **maps,
			       size_t *n)
{
	size_t keep = 0, total;
	struct smap *merged;

	for (size_t i = 0; i < p->n; i++)
		if (p->maps[i].obj && !range_taken(*maps, *n, p->maps[i].start, p->maps[i].end))
			keep++;
	if (!keep || *n + keep > MAX_MAPS_PER_PROC)
		return;
	merged = realloc(*maps, (*n + keep) * sizeof(*merged));
	if (!merged)
		return;
	total = *n;
	for (size_t i = 0; i < p->n; i++) {
		struct smap *old = &p->maps[i];

		if (old->obj && !range_taken(merged, *n, old->start, old->end)) {
			merged[total++] = *old;
			elf_cache_acquire(s, old->obj); /* snap_clear releases the old copy */
		}
	}
	qsort(merged, total, sizeof(*merged), cmp_smap);
	*maps = merged;
	*n = total;
}

/*
 * (Re)read a process's maps into its snapshot. On failure an existing
 * snapshot is kept: the process may have exited, and what it mapped is
 * exactly what its recorded stacks need.
 */
static int snap_refresh(struct wf_symbolizer *s, struct proc_snap *p)
{
	struct smap *maps;
	size_t n;

	p->read_ns = now_ns();
	if (!s->vdso_tried)
		elf_cache_load_vdso(s);
	if (snap_read(s, p->pid, &maps, &n)) {
		int err = errno;

		if (!p->n)
			p->failed = true;
		s->stats.errors++;
		errno = err;
		return -1;
	}
	carry_old_mappings(s, p, &maps, &n);
	/* The new mappings took their references before the old ones drop. */
	snap_clear(s, p);
	p->maps = maps;
	p->n = n;
	p->failed = false;
	return 0;
}

static size_t bucket_of(const struct wf_symbolizer *s, int32_t pid)
{
	return ((uint32_t)pid * 2654435761u) & (s->nbuckets - 1);
}

static struct proc_snap *snap_find(const struct wf_symbolizer *s, int32_t pid)
{
	struct proc_snap *p;

	if (s->last && s->last->pid == pid)
		return s->last;
	for (p = s->buckets[bucket_of(s, pid)]; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static void snap_unlink(struct wf_symbolizer *s, struct proc_snap *victim)
{
	for (struct proc_snap **pp = &s->buckets[bucket_of(s, victim->pid)]; *pp; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			break;
		}
	}
	if (s->last == victim)
		s->last = NULL;
	snap_clear(s, victim);
	free(victim);
	s->nprocs--;
}

static void snap_evict_lru(struct wf_symbolizer *s)
{
	struct proc_snap *oldest = NULL;

	for (size_t b = 0; b < s->nbuckets; b++)
		for (struct proc_snap *p = s->buckets[b]; p; p = p->next)
			if (!oldest || p->used < oldest->used)
				oldest = p;
	if (oldest)
		snap_unlink(s, oldest);
}

static int grow_buckets(struct wf_symbolizer *s)
{
	size_t n = s->nbuckets * 2;
	struct proc_snap **fresh = calloc(n, sizeof(*fresh));
	size_t old_n = s->nbuckets;
	struct proc_snap **old = s->buckets;

	if (!fresh)
		return -1;
	s->buckets = fresh;
	s->nbuckets = n;
	for (size_t b = 0; b < old_n; b++) {
		for (struct proc_snap *p = old[b], *next; p; p = next) {
			size_t nb = bucket_of(s, p->pid);

			next = p->next;
			p->next = fresh[nb];
			fresh[nb] = p;
		}
	}
	free(old);
	return 0;
}

/* The snapshot of pid, created (and read) if new. NULL on allocation failure. */
static struct proc_snap *snap_get(struct wf_symbolizer *s, int32_t pid, bool *created)
{
	struct proc_snap *p = snap_find(s, pid);

	*created = false;
	if (p)
		return p;
	if (s->nprocs >= MAX_PROCS)
		snap_evict_lru(s);
	if (s->nprocs >= s->nbuckets && grow_buckets(s))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->next = s->buckets[bucket_of(s, pid)];
	s->buckets[bucket_of(s, pid)] = p;
	s->nprocs++;
	*created = true;
	snap_refresh(s, p);
	return p;
}

int sym_process_seen(struct wf_symbolizer *s, int32_t pid)
{
	bool created;
	struct proc_snap *p;

	if (pid <= 0) {
		errno = EINVAL;
		return -1;
	}
	p = snap_get(s, pid, &created);
	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	p->used = ++s->tick;
	if (created)
		return p->failed ? -1 : 0;
	return snap_refresh(s, p);
}

void sym_process_gone(struct wf_symbolizer *s, int32_t pid)
{
	struct proc_snap *p = snap_find(s, pid);

	if (p)
		snap_unlink(s, p);
}

static const struct smap *map_find(const struct proc_snap *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < p->maps[lo - 1].end)
		return &p->maps[lo - 1];
	return NULL;
}

/* The stack being symbolized shows a frame of m's stripped build unnamed. */
static void note_stack_build(struct wf_symbolizer *s, const struct smap *m)
{
	for (size_t i = 0; i < s->nstack_builds; i++)
		if (s->stack_builds[i].es == m->obj->es && s->stack_builds[i].module == m->module)
			return;
	if (s->nstack_builds < SYM_MAX_STACK_BUILDS)
		s->stack_builds[s->nstack_builds++] = (struct stack_build){ .module = m->module, .es = m->obj->es };
}

/* Name an address inside one mapping. Never NULL (bar out of memory). */
static const char *name_in_map(struct wf_symbolizer *s, const struct smap *m, uint64_t addr)
{
	uint64_t off = addr - m->start + m->pgoff, vaddr;
	struct sym_entry *e;

	if (m->kind != MAP_FILE) {
		off = addr - m->start;
		if (m->kind == MAP_VDSO && m->obj && elf_syms_file_to_vaddr(m->obj->es, off, &vaddr) &&
		    (e = elf_syms_find(m->obj->es, vaddr))) {
			if (!e->shown)
				e->shown = display_name(e->name);
			return e->shown;
		}
		s->stats.user_misses++;
		return internf("%s+0x%llx", m->module, off);
	}
	if (m->obj && elf_syms_file_to_vaddr(m->obj->es, off, &vaddr)) {
		e = elf_syms_find(m->obj->es, vaddr);
		/* Loaded unnamed: its symbol file may have appeared since. */
		if (!e && late_wanted(m->obj->es) && elf_cache_name_late(s, m->obj, m->module))
			e = elf_syms_find(m->obj->es, vaddr);
		if (e) {
			if (!e->shown)
				e->shown = display_name(e->name);
			return e->shown;
		}
		off = vaddr; /* stripped or between symbols: the address nm/addr2line use */
		if (late_wanted(m->obj->es))
			note_stack_build(s, m);
	}
	s->stats.user_misses++;
	return internf("%s+0x%llx", m->module, off);
}

void sym_stack_begin(struct wf_symbolizer *s)
{
	s->nstack_builds = 0;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *sym_stack_builds(struct wf_symbolizer *s)
{
	char lines[SYM_MAX_STACK_BUILDS][2 * ELF_SYMS_BUILD_ID_MAX + NAME_MAX + 2];
	const char *sorted[SYM_MAX_STACK_BUILDS];
	char text[sizeof(lines)];
	size_t n = 0, used = 0;

	for (size_t i = 0; i < s->nstack_builds; i++) {
		const struct stack_build *b = &s->stack_builds[i];
		size_t len = 0;

		/* A newline would end the line early (frames replace theirs when stored). */
		if (strchr(b->module, '\n') || strlen(b->module) > NAME_MAX)
			continue;
		for (size_t k = 0; k < b->es->build_id_len; k++)
			len += (size_t)snprintf(lines[n] + len, sizeof(lines[n]) - len, "%02x", b->es->build_id[k]);
		snprintf(lines[n] + len, sizeof(lines[n]) - len, ":%s", b->module);
		sorted[n] = lines[n];
		n++;
	}
	s->nstack_builds = 0;
	if (!n)
		return NULL;
	qsort(sorted, n, sizeof(sorted[0]), by_text);
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s", i ? "\n" : "", sorted[i]);
	return intern(text);
}

const char *sym_user(struct wf_symbolizer *s, int32_t pid, uint64_t addr)
{
	struct proc_snap *p;
	const struct smap *m;
	bool created;

	s->stats.user_lookups++;
	if (pid <= 0 || !addr) {
		s->stats.user_misses++;
		return UNKNOWN;
	}
	p = snap_get(s, pid, &created);
	if (!p) {
		s->stats.user_misses++;
		return UNKNOWN;
	}
	s->last = p;
	p->used = ++s->tick;
	m = map_find(p, addr);
	/*
	 * Not mapped at the last read: the process may have mapped it since
	 * (dlopen, JIT), or it was unreadable; re-read, but not on every miss.
	 */
	if (!m && !created && now_ns() - p->read_ns > MAPS_REFRESH_NS) {
		snap_refresh(s, p);
		m = map_find(p, addr);
	}
	if (!m) {
		s->stats.user_misses++;
		return UNKNOWN;
	}
	return name_in_map(s, m, addr);
}

/* ---- lifecycle ------------------------------------------------------------ */

struct wf_symbolizer *symbolizer_new_root(const char *proc_root)
{
	struct wf_symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (strlen(proc_root) >= sizeof(s->proc_root)) {
		free(s);
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(s->proc_root, proc_root);
	late_names_init(&s->late);
	s->nbuckets = 64;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		return NULL;
	}
	return s;
}

struct wf_symbolizer *symbolizer_new(void)
{
	return symbolizer_new_root("/proc");
}

int symbolizer_add_dir(struct wf_symbolizer *s, const char *dir)
{
	if (s->ndirs >= SYM_MAX_DIRS) {
		errno = E2BIG;
		return -1;
	}
	if (strlen(dir) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	s->dirs[s->ndirs] = strdup(dir);
	if (!s->dirs[s->ndirs])
		return -1;
	s->ndirs++;
	return 0;
}

void symbolizer_free(struct wf_symbolizer *s)
{
	if (!s)
		return;
	debuginfod_stop(s);
	for (size_t b = 0; b < s->nbuckets; b++) {
		for (struct proc_snap *p = s->buckets[b], *next; p; p = next) {
			next = p->next;
			snap_clear(s, p);
			free(p);
		}
	}
	free(s->buckets);
	for (struct elf_obj *o = s->objs, *next; o; o = next) {
		next = o->next;
		elf_syms_free(o->es);
		free(o);
	}
	elf_syms_free(s->vdso.es);
	late_names_free(&s->late);
	ksyms_free(s->ks);
	for (size_t i = 0; i < s->ndirs; i++)
		free(s->dirs[i]);
	free(s);
}

static void mark_index(const struct sym_index *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		intern_mark(ix->e[i].shown);
}

void sym_mark_interned(const struct wf_symbolizer *s)
{
	if (s->ks)
		mark_index(&s->ks->ix);
	if (s->vdso.es)
		mark_index(&s->vdso.es->ix);
	for (const struct elf_obj *o = s->objs; o; o = o->next)
		if (o->es)
			mark_index(&o->es->ix);
	for (size_t b = 0; b < s->nbuckets; b++)
		for (const struct proc_snap *p = s->buckets[b]; p; p = p->next)
			for (size_t i = 0; i < p->n; i++)
				intern_mark(p->maps[i].module);
}

void sym_get_stats(struct wf_symbolizer *s, struct sym_stats *out)
{
	*out = s->stats;
	out->processes = s->nprocs;
	out->elf_files = s->nobjs;
	pthread_mutex_lock(&s->late.lock);
	out->late_files = s->late.files_found;
	out->late_named = s->late.named;
	pthread_mutex_unlock(&s->late.lock);
}
