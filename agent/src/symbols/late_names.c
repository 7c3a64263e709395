// SPDX-License-Identifier: Apache-2.0
/*
 * Names at read time (symbolize.h, sym_name_late): a frame recorded as
 * "envoy+0x2f1c40" because no symbol file existed when it was captured is
 * named when an answer is written, once the file has appeared.
 *
 * The frame text carries the module's basename and ELF address, not its
 * build: so the symbolizer remembers every build it loaded under each
 * basename, and names a frame only when exactly one build ever had that
 * basename (two Envoy versions on one node leave both unnamed: a wrong name
 * is worse than none). For a stripped build the image stays mapped (as it
 * is anyway while a process uses it) so that a symbol file found later is
 * checked against it exactly as at load time (elf_syms: build-id, or the
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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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

/* Whether es could be named later: stripped, unnamed, with a build-id
 * (without one, the basename is all that would tie a frame to a file). */
static bool wants_late_names(const struct elf_syms *es)
{
	return !es->has_symtab && !elf_syms_has_debug(es) && !(es->mini_image && !es->mini_failed) &&
	       es->build_id_len > 0;
}

void late_names_note(struct wf_symbolizer *s, int fd, const struct elf_syms *es, const char *module,
		     const char *root, const char *bin_path)
{
	struct late_names *l = &s->late;
	struct late_obj *o;

	if (!module || strlen(module) >= sizeof(o->module))
		return;
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n; i++)
		if (same_build(&l->objs[i], module, es))
			goto out; /* known build */
	if (l->n >= LATE_MAX_OBJS) {
		l->overflow = true;
		goto out;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct late_obj *grown = realloc(l->objs, cap * sizeof(*grown));

		if (!grown) {
			l->overflow = true; /* a build we cannot record could be misnamed */
			goto out;
		}
		l->objs = grown;
		l->cap = cap;
	}
	o = &l->objs[l->n];
	memset(o, 0, sizeof(*o));
	snprintf(o->module, sizeof(o->module), "%s", module);
	memcpy(o->build_id, es->build_id, es->build_id_len);
	o->build_id_len = es->build_id_len;
	if (wants_late_names(es)) {
		/* Its own mapping of the image: the cache's may be freed first. */
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
	l->n++;
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
	return hit;
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
	if (!elf_cache_find_debug(s, o->es, o->root, o->bin_path))
		return false;
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

bool sym_name_late(struct wf_symbolizer *s, const char *frame, char *out, size_t len)
{
	struct late_names *l = &s->late;
	struct sym_entry *e;
	struct late_obj *o;
	size_t module_len;
	uint64_t addr;
	bool named = false;

	if (!frame || !len || !parse_frame(frame, &module_len, &addr))
		return false;
	pthread_mutex_lock(&l->lock);
	o = only_build(l, frame, module_len);
	if (!o || !o->es || !late_search(s, o))
		goto out;
	e = elf_syms_find(o->es, addr);
	if (!e || !e->name)
		goto out;
	{
		int status = -1;
		char *dem = e->name[0] == '_' && e->name[1] == 'Z' ? __cxa_demangle(e->name, NULL, NULL, &status)
								     : NULL;

		snprintf(out, len, "%s", status == 0 && dem ? dem : e->name);
		free(dem);
	}
	l->named++;
	named = true;
out:
	pthread_mutex_unlock(&l->lock);
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

		if (!sym_name_late(s, st->frames[i], name, sizeof(name)))
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
