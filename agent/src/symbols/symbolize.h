/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Symbolization of raw addresses: kernel frames from /proc/kallsyms, user
 * frames from the ELF .symtab/.dynsym of each mapping, read through
 * /proc/PID/root so containerized binaries resolve; C++ names demangled.
 * ELF symbol tables are cached by build-id, else by (device, inode).
 * Every returned name is interned (intern.h). An address that cannot be
 * named comes back as "module+0xoffset" (or "[unknown]" with no mapping),
 * never dropped. Output formats and caching rules: docs/agent.md
 * ("Symbolization"). Not thread-safe (nor is intern.h): use it from the
 * agent's main loop.
 */
#ifndef WAKEFLOW_SYMBOLIZE_H
#define WAKEFLOW_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wf_symbolizer;

struct sym_stats {
	uint64_t kernel_lookups, kernel_misses;
	uint64_t user_lookups, user_misses; /* misses: shown as module+0xoff or [unknown] */
	uint64_t processes, elf_files;	    /* currently cached */
	uint64_t errors;		    /* unreadable maps/ELF files, corrupt MiniDebugInfo */
	uint64_t debug_files;		    /* separate debug files attached (build-id or debuglink) */
	uint64_t minidebuginfo;		    /* objects named from their .gnu_debugdata */
	uint64_t late_files;		    /* symbol files found after their binary was loaded */
	uint64_t late_named;		    /* frames named at read time (sym_name_late) */
};

/* Reads /proc. NULL on allocation failure. */
struct wf_symbolizer *symbolizer_new(void);
/*
 * Same, reading the host's procfs mounted elsewhere (a DaemonSet's
 * "/host/proc"); kallsyms, PID/maps, PID/root and PID/map_files come from
 * there.
 */
struct wf_symbolizer *symbolizer_new_root(const char *proc_root);
void symbolizer_free(struct wf_symbolizer *s);

/*
 * --symbols DIR: also look for a stripped object's separate symbol file in
 * dir, by the object's GNU build-id, in the layout gdb and debuginfod use
 * (DIR/.build-id/NN/REST.debug) and as a plain file named by the build-id
 * (DIR/NNREST.debug, DIR/NNREST); failing that, by its .gnu_debuglink name
 * under the binary's directory (DIR/usr/bin/LINK for /usr/bin/envoy) and
 * as DIR/LINK. Directories given are tried in order, before /usr/lib/debug
 * of the process and of the host (the debuglink also beside the binary and
 * in its .debug/). A file whose own build-id differs, or whose CRC32 is
 * not the one the debuglink records, is never used (a wrong name is worse
 * than none). Without a debug file, a MiniDebugInfo section
 * (.gnu_debugdata) inside the object names its functions.
 * Call before the first lookup. 0, or -1 with errno (ENOMEM, E2BIG past
 * SYM_MAX_DIRS, ENAMETOOLONG).
 */
#define SYM_MAX_DIRS 8
int symbolizer_add_dir(struct wf_symbolizer *s, const char *dir);

/*
 * Name of a kernel address: "func", "func [module]" for module symbols;
 * outside every symbol "[module]+0xOFF" (offset from the module base) or
 * "[kernel]+0xOFF" (offset from _text); "[unknown]" for 0 or a user-half
 * address. Never NULL unless interning runs out of memory.
 */
const char *sym_kernel(struct wf_symbolizer *s, uint64_t addr);
/*
 * Name of a user address in process pid (a tgid): the demangled function
 * name; unnamed (stripped, outside any symbol's size): "module+0xOFF" with
 * module the mapping's basename and OFF the ELF virtual address (what nm and
 * addr2line use) or, if the ELF was unreadable, the file offset;
 * "[anon]+0xOFF", "[stack]+0xOFF", "[vdso]+0xOFF"... (offset into the
 * mapping) for non-file mappings; "[unknown]" when no mapping covers addr.
 * A build loaded unnamed is named from its symbol file once one is found
 * later (a --symbols DIR, debuginfod; checked at most once a second).
 */
const char *sym_user(struct wf_symbolizer *s, int32_t pid, uint64_t addr);

/*
 * Process lifecycle. Call sym_process_seen when a pid is first traced (it
 * snapshots /proc/PID/maps and loads the ELF tables of its executable
 * mappings, so later lookups work even after the process has exited), and
 * again after it execs: a re-read keeps the named mappings of the previous
 * one that nothing replaced, so stacks recorded before the exec (or a
 * dlclose) still resolve. A lookup that falls outside every mapping of a
 * live process re-reads its maps too, at most once a second (dlopen, JIT).
 * Call sym_process_gone after its last stacks were symbolized on exit: it
 * drops the snapshot (a later lookup of the pid reads it afresh).
 * Returns 0, or -1 with errno set if /proc/PID/maps could not be read (an
 * earlier snapshot of the pid, if any, is kept).
 */
int sym_process_seen(struct wf_symbolizer *s, int32_t pid);
void sym_process_gone(struct wf_symbolizer *s, int32_t pid);

void sym_get_stats(struct wf_symbolizer *s, struct sym_stats *out);

/*
 * Names at read time, for frames recorded before a symbol file appeared.
 * frame is a frame text as sym_user gave it. If it is "module+0xOFF" of a
 * stripped build with a build-id that is the only build the symbolizer
 * ever loaded under that basename (else the text cannot tell which build
 * it was, and nothing is named), the build's symbol file is looked for
 * again (the --symbols directories and the rest of the lookup order; at
 * most once a second while none is found) and, once found, the function
 * at OFF is written, demangled, into out (true). Thread-safe (its own
 * lock; not the rest of the symbolizer's): HTTP answers call it while the
 * main loop captures. This text-only rule serves stacks recorded without
 * their builds; sym_name_edge_late names a stack with builds by them.
 */
bool sym_name_late(struct wf_symbolizer *s, const char *frame, char *out, size_t len);

/*
 * DEBUGINFOD_URLS (urls; NULL or "": off): a stripped build whose symbol
 * file no lookup finds is asked for, once, from those debuginfod servers
 * through libdebuginfod (dlopen'ed: without it, a warning and nothing
 * else) in a background thread; the file lands in DEBUGINFOD_CACHE_PATH
 * (default /var/cache/wakeflow/debuginfod), searched after the --symbols
 * directories, and its frames are named at read time (sym_name_late) and,
 * from then on, at capture (sym_user).
 * The cache is cut back to WAKEFLOW_DEBUGINFOD_CACHE_MB (2048) after each
 * fetch, oldest first (a fraction of a MiB is fine); an evicted file whose
 * symbols were not loaded yet is fetched again when a lookup needs it. A failed fetch is tried again after
 * WAKEFLOW_DEBUGINFOD_RETRY_S (30) seconds, then after twice as long each
 * time, five attempts in all. Call after symbolizer_add_dir, before the first
 * lookup. 0, or -1 on ENOMEM or too many directories.
 */
int symbolizer_use_debuginfod(struct wf_symbolizer *s, const char *urls);

struct sym_debuginfod_stats {
	bool enabled;		  /* fetching (DEBUGINFOD_URLS set and libdebuginfod loaded) */
	uint64_t requested;	  /* build-ids asked for */
	uint64_t fetched, failed; /* answers: a file, or none (not found, unreachable, timeout) */
	uint64_t retried;	  /* fetches that were a failed one's retry */
	uint64_t gave_up;	  /* build-ids not asked for again (attempts used up) */
	uint64_t refetched;	  /* build-ids asked for again: needed after their file was evicted */
	int last_error;		  /* errno of the last failure (ENOENT: no server has it) */
	uint64_t queued, dropped; /* waiting now; not asked (queue full) */
	uint64_t evicted;	  /* cache entries dropped for the size cap */
	uint64_t cache_bytes;	  /* the cache's size after the last fetch */
};
/* Thread-safe. All zero when off. */
void sym_debuginfod_get_stats(struct wf_symbolizer *s, struct sym_debuginfod_stats *out);

/* Thread-safe: symbol files found after their build was loaded, frames named at read time. */
void sym_late_get_stats(struct wf_symbolizer *s, uint64_t *files_found, uint64_t *frames_named);

/*
 * The builds behind a stack's unnamed frames (edge.h, wf_stack.builds):
 * call sym_stack_begin, then sym_user for the stack's user frames, then
 * sym_stack_builds, which returns the GNU build-ids of the stripped modules
 * (ones a symbol file found later could name) whose frames came out as
 * "module+0xOFF", as "HEX:module" lines joined by '\n', sorted, interned;
 * NULL when there is none. Main loop, like sym_user.
 */
void sym_stack_begin(struct wf_symbolizer *s);
const char *sym_stack_builds(struct wf_symbolizer *s);

struct wf_edge;
struct wf_arena;
/*
 * Names at read time for e's two stacks, the new names copied into arena;
 * returns how many frames were renamed. A stack with builds (wf_stack.
 * builds: every stack a live capture recorded since the store kept them)
 * names each "module+0xOFF" user frame from the symbol file of exactly
 * the build its line gives, whether or not a process of that build was
 * seen since this start (a build known only from the store is looked up
 * by build-id in the --symbols directories, /usr/lib/debug and the
 * debuginfod cache, and asked for from DEBUGINFOD_URLS); a module its
 * lines leave out is never named. A stack without builds (recorded before
 * the store kept them, or imported) falls back to sym_name_late's rule.
 * Thread-safe, as sym_name_late.
 */
int sym_name_edge_late(struct wf_symbolizer *s, struct wf_edge *e, struct wf_arena *arena);

/* Marks the interned names the symbolizer caches (symbol display names,
 * mapping modules), for intern_sweep (intern.h). Names it formats on each
 * lookup ("module+0xOFF") are not cached and not marked. */
void sym_mark_interned(const struct wf_symbolizer *s);

#endif
