/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The symbolizer's state, shared by its two halves and nothing else:
 * symbolize.c (naming policy, process snapshots, lifecycle) and elf_cache.c
 * (ELF objects shared by every mapping of one file, the vDSO). The public
 * face is symbolize.h.
 */
#ifndef WAKEFLOW_SYMBOLIZE_INT_H
#define WAKEFLOW_SYMBOLIZE_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "elf_syms.h"
#include "proc_maps.h"
#include "symbolize.h"

#define UNKNOWN "[unknown]"
/* Unreferenced ELF tables kept for reuse before the oldest is freed. */
#define MAX_UNREFERENCED_OBJS 32
/* Process snapshots kept at most (callers should call sym_process_gone). */
#define MAX_PROCS 16384
/* A miss re-reads a live process's maps (dlopen, JIT) at most this often. */
#define MAPS_REFRESH_NS (1000ull * 1000 * 1000)
/* A kernel miss re-reads kallsyms (module or BPF program loaded) at most this often. */
#define KALLSYMS_RELOAD_NS (60ull * 1000 * 1000 * 1000)
/* Mappings kept per process, current plus carried over from earlier reads. */
#define MAX_MAPS_PER_PROC 65536
/* /proc/PID/maps of a huge process (JVM, many threads) stays far below this. */
#define MAPS_MAX_BYTES (64u << 20)

/* CLOCK_MONOTONIC in ns: the rate limits below. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

enum map_kind {
	MAP_FILE,   /* backed by a file: named through its ELF symbols */
	MAP_ANON,   /* anonymous memory (JIT code, or a bogus frame) */
	MAP_PSEUDO, /* [stack], [heap], [vsyscall], anon_inode:..., ... */
	MAP_VDSO,
};

struct elf_obj {
	struct elf_syms *es;
	/* identity when the object has no build-id */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	/*
	 * The (device, inode) /proc/PID/maps showed for the file the image was
	 * read from. The image stays mapped, which pins that inode, so a later
	 * mapping showing the same pair is this very file: no need to open it.
	 */
	uint32_t map_major, map_minor;
	uint64_t map_ino; /* 0: none (vDSO) */
	unsigned refs;	     /* snapshot mappings using this object */
	bool idle;	     /* refs dropped to 0: a candidate for freeing */
	uint64_t idle_since; /* tick at which it became idle */
	uint64_t late_tried_ns; /* stripped and unnamed: last check for a late symbol file */
	struct elf_obj *next;
};

struct smap {
	uint64_t start, end, pgoff;
	const char *module; /* interned basename, or "[anon]", "[stack]", ... */
	struct elf_obj *obj; /* NULL: no symbols (not ELF, unreadable, not exec) */
	enum map_kind kind;
};

struct proc_snap {
	int32_t pid;
	bool failed;	  /* maps unreadable (gone, never existed, no permission) */
	struct smap *maps; /* sorted by start */
	size_t n;
	uint64_t read_ns; /* last (attempted) read of maps */
	uint64_t used;	  /* tick of last lookup, for eviction */
	struct proc_snap *next;
};

/*
 * Names at read time (late_names.c): every file object the symbolizer
 * loaded, by mapping basename and build-id, so that a "module+0xOFF" frame
 * text can be traced back to exactly one build; for the stripped ones, the
 * image (kept mapped) to which a symbol file found later is attached.
 * Guarded by its own lock: HTTP threads read it while the main loop adds.
 */
#define LATE_MAX_OBJS 1024
/* A stripped build's symbol file is looked for again at most this often. */
#define LATE_RETRY_NS (1000ull * 1000 * 1000)

struct late_obj {
	char module[NAME_MAX + 1];
	bool from_store;	/* known only from a stored stack's builds: es is a shell
				 * (the build-id, no image) until a process of it is seen */
	uint8_t build_id[ELF_SYMS_BUILD_ID_MAX];
	size_t build_id_len;	/* 0: none (such a build is never named late) */
	struct elf_syms *es;	/* stripped and unnamed: its image, else NULL */
	char *root, *bin_path;	/* where its process saw it (for the search) */
	bool found;		/* a symbol file was attached and indexed */
	uint64_t tried_ns;	/* last search */
};

struct late_names {
	pthread_mutex_t lock;
	struct late_obj *objs;
	size_t n, cap;
	bool overflow; /* more builds than LATE_MAX_OBJS: name nothing late */
	uint64_t named, files_found;
};

/* Distinct stripped builds one stack's builds text lists at most (a stack
 * showing more leaves the rest out: their frames are not named late). */
#define SYM_MAX_STACK_BUILDS 16

struct stack_build {
	const char *module;	    /* the mapping's interned basename */
	const struct elf_syms *es;  /* its build (build_id) */
};

struct wf_symbolizer {
	char proc_root[PATH_MAX];
	char *dirs[SYM_MAX_DIRS]; /* --symbols, in order */
	size_t ndirs;

	struct ksyms *ks;
	uint64_t ks_read_ns; /* last load attempt; 0 never */

	struct proc_snap **buckets;
	size_t nbuckets, nprocs;
	struct proc_snap *last; /* stacks arrive per process: skip the hash */

	struct elf_obj *objs;
	size_t nobjs, nidle;

	struct elf_obj vdso; /* our own vDSO: the same image in every 64-bit process */
	uint64_t vdso_len;   /* its mapping length, to recognise a compatible [vdso] */
	bool vdso_tried;

	uint64_t tick;
	struct sym_stats stats;
	struct late_names late;
	struct sym_debuginfod *debuginfod; /* NULL: off (debuginfod.c) */

	/* sym_stack_begin .. sym_stack_builds: the stripped builds whose
	 * frames the stack being symbolized showed unnamed. */
	struct stack_build stack_builds[SYM_MAX_STACK_BUILDS];
	size_t nstack_builds;
};

/* ---- ELF object cache (elf_cache.c) --------------------------------------- */

/* Drops a snapshot mapping's reference; idle objects beyond the allowance are freed. */
void elf_cache_release(struct wf_symbolizer *s, struct elf_obj *o);
void elf_cache_acquire(struct wf_symbolizer *s, struct elf_obj *o);
/* The cached object for the open file behind mapping m (shown as
 * module_name), loading its symbols on a miss. */
struct elf_obj *elf_cache_get(struct wf_symbolizer *s, int fd, int32_t pid, const struct proc_map *m,
			      const char *module_name);
/* Attaches a separate debug file to the stripped es, searching the places
 * the lookup order names (root: the process's /proc/PID/root; bin_path:
 * the binary's path in it). Reads only what never changes after set-up, so
 * any thread may call it on an es it owns. */
bool elf_cache_find_debug(const struct wf_symbolizer *s, struct elf_syms *es, const char *root,
			  const char *bin_path);
/*
 * A miss in o, loaded stripped and unnamed: if a symbol file for its build
 * has appeared since (a --symbols DIR, a debuginfod fetch), attach it and
 * index o again, so this and later lookups of every mapping of o name
 * their frames (true). Checked at most once per LATE_RETRY_NS per object.
 */
bool elf_cache_name_late(struct wf_symbolizer *s, struct elf_obj *o, const char *module);
/* Opens the file behind a mapping (fd, or -1). */
int mapping_open(const struct wf_symbolizer *s, int32_t pid, const struct proc_map *m);
/* Loads our own vDSO's symbols into s->vdso (once). */
void elf_cache_load_vdso(struct wf_symbolizer *s);

/* ---- debuginfod (debuginfod.c) --------------------------------------------- */

struct sym_debuginfod;
/* Queues a build-id for the fetching thread (each once); never blocks. */
void debuginfod_request(struct wf_symbolizer *s, const uint8_t *id, size_t len);
void debuginfod_stop(struct wf_symbolizer *s);

/* ---- names at read time (late_names.c) ------------------------------------ */

void late_names_init(struct late_names *l);
void late_names_free(struct late_names *l);
/* Whether es's frames come out as module+offset and a symbol file found
 * later could name them: stripped, no debug file, no working MiniDebugInfo,
 * a build-id to find the file by. */
bool late_wanted(const struct elf_syms *es);
/*
 * For the capture thread's object target of a late-wanted build (module):
 * if that build's symbol file has been found (the registry's search run if
 * due, which also asks debuginfod), attach it to target too, for
 * elf_syms_reload. target is the caller's own (the cache's, main loop
 * only); the registry is read under its lock. True once attached.
 */
bool late_names_attach(struct wf_symbolizer *s, const char *module, struct elf_syms *target);
/* Records the object just loaded from fd (es) under its module basename. */
void late_names_note(struct wf_symbolizer *s, int fd, const struct elf_syms *es, const char *module,
		     const char *root, const char *bin_path);

#endif
