// SPDX-License-Identifier: Apache-2.0
/*
 * Names at read time (symbolize.h, sym_name_late): a frame recorded as
 * "envoy+0x2f1c40" because no symbol file existed when it was captured is
 * named when an answer is written, once the file has appeared.
 *
 * The frame text carries the module's basename and ELF address, not its
 * build; the stack beside it carries the build-ids of its unnamed modules
 * (edge.h, wf_stack.builds; kept in the store), so a frame is named from
 * the symbol file of exactly its build, even one that no process seen
 * since this start had (then looked for by build-id alone: a shell holding
 * the build-id, searched like any stripped build, and asked for from
 * debuginfod). A stack without builds (stored by an earlier version) is
 * named by the text alone: only when exactly one build loaded since the
 * start had that basename (two Envoy versions on one node leave both
 * unnamed: a wrong name is worse than none).
 *
 * For a stripped build a process was seen with, the image stays mapped (as
 * it is anyway while a process uses it) so that a symbol file found later
 * is checked against it exactly as at load time (elf_syms: build-id, or the
 * debuglink's CRC) and its symbols indexed beside it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "edge.h"
#include "symbolize_int.h"

/* libstdc++'s demangler (thread-safe); declared here for C. */
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);

void late_names_init(struct late_names *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
}

void late_names_free(struct late_names *l)
{
	for (size_t i = 0; i < l->n; i++) {
		elf_syms_free(l->objs[i].es);
		free(l->objs[i].root);
		free(l->objs[i].bin_path);
	}
	free(l->objs);
	pthread_mutex_destroy(&l->lock);
	memset(l, 0, sizeof(*l));
}

static bool same_build(const struct late_obj *o, const char *module, const struct elf_syms *es)
{
	return strcmp(o->module, module) == 0 && o->build_id_len == es->build_id_len &&
	       memcmp(o->build_id, es->build_id, es->build_id_len) == 0;
}

/* Without a build-id, the basename is all that would tie a frame to a file. */
bool late_wanted(const struct elf_syms *es)
{
	return !es->has_symtab && !elf_syms_has_debug(es) && !(es->mini_image && !es->mini_failed) &&
	       es->build_id_len > 0;
}

/* A new, zeroed entry at the end (counted), or NULL: full, or out of memory. Lock held. */
static struct late_obj *late_append(struct late_names *l)
{
	if (l->n >= LATE_MAX_OBJS)
		return NULL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct late_obj *grown = realloc(l->objs, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		l->objs = grown;
		l->cap = cap;
	}
	memset(&l->objs[l->n], 0, sizeof(l->objs[0]));
	return &l->objs[l->n++];
}

/* o's own mapping of the image (the cache's may be freed first) and where
 * its process saw it, for the search; an earlier shell is dropped. */
static void adopt_image(struct late_obj *o, int fd, const char *root, const char *bin_path)
{
	elf_syms_free(o->es);
	free(o->root);
	free(o->bin_path);
	o->es = elf_syms_open_fd(fd);
	o->root = strdup(root);
	o->bin_path = strdup(bin_path);
	if (!o->es || !o->root || !o->bin_path) {
		elf_syms_free(o->es);
		free(o->root);
		free(o->bin_path);
		o->es = NULL;
		o->root = o->bin_path = NULL;
	}
	o->tried_ns = now_ns(); /* just searched, at load */
}

void late_names_note(struct wf_symbolizer *s, int fd, const struct elf_syms *es, const char *module,
		     const char *root, const char *bin_path)
{
	struct late_names *l = &s->late;
	struct late_obj *o;

	if (!module || strlen(module) >= sizeof(o->module))
		return;
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n; i++) {
		if (!same_build(&l->objs[i], module, es))
			continue;
		o = &l->objs[i];
		/* Known from the store only: now with its image, so the search
		 * also follows its .gnu_debuglink. */
		if (o->from_store && !o->found && late_wanted(es))
			adopt_image(o, fd, root, bin_path);
		o->from_store = false;
		goto out; /* known build */
	}
	o = late_append(l);
	if (!o) {
		l->overflow = true; /* a build we cannot record could be misnamed */
		goto out;
	}
	snprintf(o->module, sizeof(o->module), "%s", module);
	memcpy(o->build_id, es->build_id, es->build_id_len);
	o->build_id_len = es->build_id_len;
	if (late_wanted(es))
		adopt_image(o, fd, root, bin_path);
out:
	pthread_mutex_unlock(&l->lock);
}

/* "module+0xHEX" -> module length and the address; false for other texts. */
static bool parse_frame(const char *frame, size_t *module_len, uint64_t *addr)
{
	const char *plus = strrchr(frame, '+');
	char *end;

	if (!plus || plus == frame || plus[1] != '0' || plus[2] != 'x' || !plus[3] || frame[0] == '[')
		return false;
	errno = 0;
	*addr = strtoull(plus + 3, &end, 16);
	if (*end || errno)
		return false;
	*module_len = (size_t)(plus - frame);
	return true;
}

/* The one build ever loaded under this basename, or NULL. Lock held. */
static struct late_obj *only_build(struct late_names *l, const char *frame, size_t module_len)
{
	struct late_obj *hit = NULL;

	if (l->overflow)
		return NULL;
	for (size_t i = 0; i < l->n; i++) {
		struct late_obj *o = &l->objs[i];

		if (strncmp(o->module, frame, module_len) || o->module[module_len])
			continue;
		if (hit)
			return NULL; /* two builds share the name: the text cannot tell them apart */
		hit = o;
	}
	/* Known from the store only: a stack without builds may be of another build. */
	return hit && !hit->from_store ? hit : NULL;
}

/* Looks for o's symbol file again (rate-limited); true once attached. Lock held. */
static bool late_search(struct wf_symbolizer *s, struct late_obj *o)
{
	uint64_t now;

	if (o->found)
		return true;
	now = now_ns();
	if (now - o->tried_ns < LATE_RETRY_NS)
		return false;
	o->tried_ns = now;
	if (!elf_cache_find_debug(s, o->es, o->root, o->bin_path)) {
		/* Asked for once (debuginfod.c); again only if its file was
		 * fetched and then evicted for the cache's cap. */
		debuginfod_request(s, o->build_id, o->build_id_len);
		return false;
	}
	if (elf_syms_load(o->es)) {
		/* Out of memory indexing: give this build up rather than retry on a half-built table. */
		elf_syms_free(o->es);
		o->es = NULL;
		return false;
	}
	o->found = true;
	s->late.files_found++;
	return true;
}

bool late_names_attach(struct wf_symbolizer *s, const char *module, struct elf_syms *target)
{
	struct late_names *l = &s->late;
	bool attached = false;

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n; i++) {
		struct late_obj *o = &l->objs[i];

		if (!same_build(o, module, target))
			continue;
		/* The entry's search (shared with read time, so one per build a
		 * second) found the file; target is searched for in the same
		 * places, and elf_syms checks it against target's own build. */
		if (o->es && o->root && late_search(s, o))
			attached = elf_cache_find_debug(s, target, o->root, o->bin_path);
		break;
	}
	pthread_mutex_unlock(&l->lock);
	return attached;
}

/* The function at addr in o's symbols (its file searched for first, if
 * not found yet), demangled into out. Lock held. */
static bool name_from(struct wf_symbolizer *s, struct late_obj *o, uint64_t addr, char *out, size_t len)
{
	struct sym_entry *e;
	int status = -1;
	char *dem;

	if (!o || !o->es || !late_search(s, o))
		return false;
	e = elf_syms_find(o->es, addr);
	if (!e || !e->name)
		return false;
	dem = e->name[0] == '_' && e->name[1] == 'Z' ? __cxa_demangle(e->name, NULL, NULL, &status) : NULL;
	snprintf(out, len, "%s", status == 0 && dem ? dem : e->name);
	free(dem);
	s->late.named++;
	return true;
}

bool sym_name_late(struct wf_symbolizer *s, const char *frame, char *out, size_t len)
{
	struct late_names *l = &s->late;
	size_t module_len;
	uint64_t addr;
	bool named;

	if (!frame || !len || !parse_frame(frame, &module_len, &addr))
		return false;
	pthread_mutex_lock(&l->lock);
	named = name_from(s, only_build(l, frame, module_len), addr, out, len);
	pthread_mutex_unlock(&l->lock);
	return named;
}

/* The build-id a stack's builds text (edge.h) gives the module named by
 * the first mlen bytes of module, into id: its length, 0 if none. */
static size_t build_of(const char *builds, const char *module, size_t mlen, uint8_t *id)
{
	for (const char *line = builds; line && *line;) {
		const char *nl = strchr(line, '\n'), *colon = strchr(line, ':');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (colon && colon < line + len && (size_t)(line + len - colon - 1) == mlen &&
		    !memcmp(colon + 1, module, mlen)) {
			size_t hexlen = (size_t)(colon - line);

			if (hexlen < 2 || hexlen % 2 || hexlen / 2 > ELF_SYMS_BUILD_ID_MAX)
				return 0;
			for (size_t i = 0; i < hexlen / 2; i++) {
				unsigned v;

				if (sscanf(line + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdef", line[2 * i]) ||
				    !strchr("0123456789abcdef", line[2 * i + 1]))
					return 0;
				id[i] = (uint8_t)v;
			}
			return hexlen / 2;
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/*
 * The entry of exactly this build under this basename; one known only
 * from the store (no process of it seen since the start) is added as a
 * shell searched for by build-id, and asked for from debuginfod when no
 * directory has it. NULL when the registry is full. Lock held.
 */
static struct late_obj *build_obj(struct wf_symbolizer *s, const char *module, size_t mlen, const uint8_t *id,
				  size_t idlen)
{
	struct late_names *l = &s->late;
	struct late_obj *o;

	for (size_t i = 0; i < l->n; i++) {
		o = &l->objs[i];
		if (!strncmp(o->module, module, mlen) && !o->module[mlen] && o->build_id_len == idlen &&
		    !memcmp(o->build_id, id, idlen))
			return o;
	}
	if (mlen >= sizeof(o->module) || !(o = late_append(l)))
		return NULL;
	memcpy(o->module, module, mlen);
	o->module[mlen] = '\0';
	memcpy(o->build_id, id, idlen);
	o->build_id_len = idlen;
	o->from_store = true;
	/* The host's view: no process root to look in (root "", no binary path). */
	o->es = elf_syms_shell(id, idlen);
	o->root = strdup("");
	o->bin_path = strdup("");
	if (!o->es || !o->root || !o->bin_path) {
		elf_syms_free(o->es);
		free(o->root);
		free(o->bin_path);
		o->es = NULL; /* kept, so that it is not retried on every frame */
		o->root = o->bin_path = NULL;
		return o;
	}
	late_search(s, o); /* asks debuginfod (if on) when no directory has it */
	return o;
}

/* A frame of a stack with builds: named from the build its line gives. */
static bool name_by_build(struct wf_symbolizer *s, const char *builds, const char *frame, char *out, size_t len)
{
	uint8_t id[ELF_SYMS_BUILD_ID_MAX];
	size_t module_len, idlen;
	uint64_t addr;
	bool named;

	if (!parse_frame(frame, &module_len, &addr) || !(idlen = build_of(builds, frame, module_len, id)))
		return false;
	pthread_mutex_lock(&s->late.lock);
	named = name_from(s, build_obj(s, frame, module_len, id, idlen), addr, out, len);
	pthread_mutex_unlock(&s->late.lock);
	return named;
}

static int name_stack(struct wf_symbolizer *s, struct wf_stack *st, struct wf_arena *arena)
{
	char name[1024];
	int renamed = 0;

	/* A chain link's record may carry a frame count without its frames
	 * (stacks not sampled for that link). */
	if (!st->frames)
		return 0;
	for (int i = st->nkernel; i < st->nframes; i++) {
		char *copy;

		if (!(st->builds ? name_by_build(s, st->builds, st->frames[i], name, sizeof(name))
				 : sym_name_late(s, st->frames[i], name, sizeof(name))))
			continue;
		copy = arena_strndup(arena, name, strlen(name));
		if (!copy)
			break;
		st->frames[i] = copy;
		renamed++;
	}
	return renamed;
}

int sym_name_edge_late(struct wf_symbolizer *s, struct wf_edge *e, struct wf_arena *arena)
{
	return name_stack(s, &e->waker_stack, arena) + name_stack(s, &e->target_stack, arena);
}

void sym_late_get_stats(struct wf_symbolizer *s, uint64_t *files_found, uint64_t *frames_named)
{
	pthread_mutex_lock(&s->late.lock);
	*files_found = s->late.files_found;
	*frames_named = s->late.named;
	pthread_mutex_unlock(&s->late.lock);
}
