// SPDX-License-Identifier: Apache-2.0
/*
 * Symbolizer tests against real processes and the real kernel: the C++
 * programs in tests/symbolize (built by agent/Makefile next to this binary,
 * in tests/symbolize/) print the addresses of their functions; we name them
 * and compare with the demangled names the source defines. Nothing here is
 * mocked: kallsyms, /proc/PID/maps, map_files and the ELF files are real.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "edge.h"
#include "intern.h"
#include "proc_maps.h"
#include "kallsyms.h"
#include "symbolize.h"

#include "../symbolize/wfsym.h"

static char inputs[PATH_MAX]; /* directory of the test programs */

/* ---- helpers --------------------------------------------------------------- */

static void find_inputs(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	assert_true((size_t)snprintf(inputs, sizeof(inputs), "%s/symbolize", exe) < sizeof(inputs));
}

static void input_path(char *out, size_t len, const char *name)
{
	assert_true((size_t)snprintf(out, len, "%s/%s", inputs, name) < len);
}

struct fn {
	char label[32];
	uint64_t addr;
};

struct child {
	pid_t pid;
	int to_child; /* closing it makes the program exit */
	FILE *from_child;
	struct fn fns[16];
	int nfns;
	uint64_t bias;
};

static void copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* Read the address table a test program prints, up to its "ready". */
static void read_table(struct child *c)
{
	char line[256];

	c->nfns = 0;
	c->bias = 0;
	while (fgets(line, sizeof(line), c->from_child)) {
		char label[32];
		unsigned long long addr;

		if (strncmp(line, "ready", 5) == 0)
			break;
		assert_int_equal(sscanf(line, "%31s %llx", label, &addr), 2);
		if (strcmp(label, "bias") == 0) {
			c->bias = addr;
			continue;
		}
		assert_true(c->nfns < 16);
		snprintf(c->fns[c->nfns].label, sizeof(c->fns[0].label), "%s", label);
		c->fns[c->nfns++].addr = addr;
	}
	assert_true(c->nfns >= 7); /* the program printed its table: it is running */
}

/* Start a test program (optionally chrooted, optionally with an argument). */
static void spawn_arg(struct child *c, const char *path, const char *chroot_dir, const char *arg)
{
	int in[2], out[2];

	memset(c, 0, sizeof(*c));
	/* Close-on-exec: a second child must not hold the first one's stdin open. */
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (chroot_dir && (chroot(chroot_dir) || chdir("/")))
			_exit(126);
		execl(path, path, arg, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->to_child = in[1];
	c->from_child = fdopen(out[0], "r");
	assert_non_null(c->from_child);
	read_table(c);
}

static void spawn(struct child *c, const char *path, const char *chroot_dir)
{
	spawn_arg(c, path, chroot_dir, NULL);
}

static void finish(struct child *c)
{
	int status;

	close(c->to_child);
	fclose(c->from_child);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static uint64_t addr_of(const struct child *c, const char *label)
{
	for (int i = 0; i < c->nfns; i++)
		if (strcmp(c->fns[i].label, label) == 0)
			return c->fns[i].addr;
	fail_msg("program did not print %s", label);
	return 0;
}

/* Names the test program's source defines, demangled. */
static const struct {
	const char *label, *name;
	bool in_exe;
} expected[] = {
	{"exe_template", "int wfapp::spin<int>(int)", true},
	{"exe_member", "wfapp::Dispatcher::onEvent(int)", true},
	{"exe_static", "(anonymous namespace)::local_helper(int)", true},
	{"exe_sized", "wfsym_sized", true},
	{"lib_template", "long wf::demo::twice<long>(long)", false},
	{"lib_member", "wf::demo::Widget::poke(int)", false},
	{"lib_c", "wfsym_lib_plain", false},
};

static void assert_sym(struct wf_symbolizer *s, pid_t pid, uint64_t addr, const char *want)
{
	const char *got = sym_user(s, pid, addr);

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("pid %d addr %#" PRIx64 ": got '%s', want '%s'", pid, addr, got, want);
	/* Interned: the same pointer as every other copy of the string. */
	assert_ptr_equal(got, intern(want));
}

/*
 * Check every function of a running (or exited, but seen) test program.
 * stripped_module: the executable was stripped, so its functions must come
 * back as "module+0x<ELF address>", never as some other symbol's name.
 */
static void check_names(struct wf_symbolizer *s, const struct child *c, const char *stripped_module)
{
	char want[256];

	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		uint64_t a = addr_of(c, expected[i].label);

		for (uint64_t delta = 0; delta <= 1; delta++) { /* entry, and a return address inside */
			if (expected[i].in_exe && stripped_module)
				snprintf(want, sizeof(want), "%s+0x%" PRIx64, stripped_module,
					 a + delta - c->bias);
			else
				snprintf(want, sizeof(want), "%s", expected[i].name);
			if (strcmp(expected[i].label, "exe_sized") == 0 && delta)
				continue; /* one byte long: only its entry is inside */
			assert_sym(s, c->pid, a + delta, want);
		}
	}
}

/* wfsym_sized is one byte followed by padding: the padding is past its size. */
static void check_past_size(struct wf_symbolizer *s, const struct child *c, const char *module)
{
	char want[128];
	uint64_t a = addr_of(c, "exe_sized") + 8;

	snprintf(want, sizeof(want), "%s+0x%" PRIx64, module, a - c->bias);
	assert_sym(s, c->pid, a, want);
}

/* A test's scratch directory and bind mount, undone by teardown even if it fails. */
static char scratch_dir[64], scratch_mount[PATH_MAX];

static void make_tmpdir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/wf-symtest-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(scratch_dir, sizeof(scratch_dir), "%s", dir);
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static int cleanup_scratch(void **state)
{
	(void)state;
	if (scratch_mount[0])
		umount(scratch_mount);
	if (scratch_dir[0]) {
		char cmd[256];

		/* A server a test started (test_debuginfod), even if it failed midway. */
		snprintf(cmd, sizeof(cmd), "[ ! -f '%s/server.pid' ] || kill $(cat '%s/server.pid') 2>/dev/null; true",
			 scratch_dir, scratch_dir);
		assert_int_equal(system(cmd), 0);
		rm_rf(scratch_dir);
	}
	scratch_mount[0] = scratch_dir[0] = '\0';
	return 0;
}

/* ---- /proc/PID/maps parsing ------------------------------------------------ */

static void test_maps_parse_lines(void **state)
{
	char ok1[] = "7f12a0000000-7f12a0021000 r-xp 00002000 fd:01 1234567    /usr/lib/x86_64-linux-gnu/libc.so.6\n";
	char ok2[] = "7ffd1000-7ffd2000 rw-p 00000000 00:00 0                          [stack]";
	char ok3[] = "55d0c0000000-55d0c0001000 r-xp 00001000 08:11 42 /tmp/with space/bin (deleted)";
	char ok4[] = "7f0000000000-7f0000001000 rwxp 00000000 00:00 0";
	char *bad[] = {
		"", "garbage", "7f00-7e00 r-xp 00000000 00:00 0 /x", /* end before start */
		"7f00-7f10 r-x 00000000 00:00 0 /x",		     /* short perms */
		"7f00-7f10 r-xp zz 00:00 0 /x", "7f00-7f10 r-xp 0 0000 0 /x", /* bad dev */
		"7f00-7f10 r-xp 0 00:00 x /x", "-7f10 r-xp 0 00:00 0",
	};
	struct proc_map m;

	(void)state;
	assert_int_equal(proc_map_parse_line(ok1, &m), 0);
	assert_int_equal(m.start, 0x7f12a0000000ull);
	assert_int_equal(m.end, 0x7f12a0021000ull);
	assert_int_equal(m.pgoff, 0x2000);
	assert_int_equal(m.dev_major, 0xfd);
	assert_int_equal(m.dev_minor, 1);
	assert_int_equal(m.inode, 1234567);
	assert_true(m.exec);
	assert_false(m.deleted);
	assert_string_equal(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");

	assert_int_equal(proc_map_parse_line(ok2, &m), 0);
	assert_false(m.exec);
	assert_string_equal(m.path, "[stack]");

	assert_int_equal(proc_map_parse_line(ok3, &m), 0);
	assert_true(m.deleted);
	assert_string_equal(m.path, "/tmp/with space/bin");

	assert_int_equal(proc_map_parse_line(ok4, &m), 0);
	assert_string_equal(m.path, "");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[128];

		snprintf(buf, sizeof(buf), "%s", bad[i]);
		if (proc_map_parse_line(buf, &m) == 0)
			fail_msg("accepted malformed line '%s'", bad[i]);
	}
}

static void test_maps_parse_file(void **state)
{
	char text[] = "1000-2000 r-xp 00000000 00:00 0 /a\n"
		      "not a maps line\n"
		      "3000-4000 r--p 00001000 00:00 7 /b\n"
		      "truncated 3000-\n";
	struct proc_map *maps;
	size_t bad;
	long n;

	(void)state;
	n = proc_maps_parse(text, &maps, &bad);
	assert_int_equal(n, 2);
	assert_int_equal(bad, 2);
	assert_string_equal(maps[0].path, "/a");
	assert_string_equal(maps[1].path, "/b");
	assert_int_equal(maps[1].inode, 7);
	free(maps);
}

/* ---- kernel ------------------------------------------------------------------- */

/* Look a symbol up in /proc/kallsyms ourselves (independently of kallsyms.c). */
static uint64_t kallsyms_addr(const char *want, char *module, size_t modlen)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512];
	uint64_t found = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char type, name[256], mod[128] = "";

		if (sscanf(line, "%llx %c %255s %127s", &a, &type, name, mod) < 3)
			continue;
		if (want ? strcmp(name, want) == 0 : (mod[0] == '[' && (type == 't' || type == 'T'))) {
			found = a;
			if (module)
				snprintf(module, modlen, "%s", mod);
			break;
		}
	}
	fclose(f);
	return found;
}

static int kallsyms_count_at(uint64_t addr)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strtoull(line, NULL, 16) == addr)
			n++;
	fclose(f);
	return n;
}

static void test_kernel_known_functions(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	const char *names[] = {"schedule", "do_syscall_64", "finish_task_switch"};
	struct sym_stats st;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t a = kallsyms_addr(names[i], NULL, 0);

		if (!a) {
			/* finish_task_switch is often a .isra clone: not fatal for that one */
			if (i < 2)
				fail_msg("%s not in /proc/kallsyms (are we root?)", names[i]);
			continue;
		}
		assert_ptr_equal(sym_kernel(s, a), intern(names[i]));
		assert_ptr_equal(sym_kernel(s, a + 1), intern(names[i]));
	}
	sym_get_stats(s, &st);
	assert_int_equal(st.kernel_misses, 0);
	assert_true(st.kernel_lookups >= 4);
	symbolizer_free(s);
}

/* ksyms_lookup_names: core symbols by exact name, section markers
 * included; unknown names give 0, module symbols never match. */
static void test_kernel_lookup_names(void **state)
{
	char module[128] = "", mod_name[256] = "no-module-here", line[512];
	uint64_t mod_addr = kallsyms_addr(NULL, module, sizeof(module)), addrs[4];
	const char *names[4] = { "_stext", "do_syscall_64", "no_such_symbol_wakeflow", mod_name };
	int found = 0;

	(void)state;
	if (mod_addr) {
		/* The name of that module symbol, without its "[module]". */
		FILE *f = fopen("/proc/kallsyms", "r");
		unsigned long long a;
		char type;

		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%llx %c %255s", &a, &type, mod_name) == 3 && a == mod_addr)
				break;
		fclose(f);
	}
	for (int i = 0; i < 4; i++)
		addrs[i] = 1;
	found = ksyms_lookup_names("/proc/kallsyms", names, addrs, 4);
	assert_int_equal(addrs[0], kallsyms_addr("_stext", NULL, 0));
	assert_int_equal(addrs[1], kallsyms_addr("do_syscall_64", NULL, 0));
	assert_true(addrs[0] && addrs[1]);
	assert_int_equal(addrs[2], 0);
	if (mod_addr)
		assert_int_not_equal(addrs[3], mod_addr);
	assert_int_equal(found, 2 + (addrs[3] != 0));
	assert_int_equal(ksyms_lookup_names("/nonexistent/kallsyms", names, addrs, 4), -1);
	assert_int_equal(addrs[0], 0);
}

struct ksym_line {
	uint64_t addr;
	char *want; /* "name" or "name [module]" */
	bool text;
};

static int cmp_ksym_line(const void *a, const void *b)
{
	const struct ksym_line *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * Every kernel text symbol alone at its address names itself, or (linker
 * markers like _etext, which all begin with '_') falls back to
 * "[kernel]+0x..": never another function's name.
 */
static void test_kernel_every_symbol(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	FILE *f = fopen("/proc/kallsyms", "r");
	struct ksym_line *all = NULL;
	size_t n = 0, cap = 0, checked = 0, named = 0;
	char line[512];

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a;
		char type, name[256], mod[128] = "", want[400];
		int k = sscanf(line, "%llx %c %255s %127s", &a, &type, name, mod);

		if (k < 3)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			all = realloc(all, cap * sizeof(*all));
			assert_non_null(all);
		}
		snprintf(want, sizeof(want), k == 4 ? "%s %s" : "%s", name, mod);
		all[n].addr = a;
		all[n].want = strdup(want);
		all[n].text = strchr("tTwW", type) != NULL;
		n++;
	}
	fclose(f);
	qsort(all, n, sizeof(*all), cmp_ksym_line);
	for (size_t i = 0; i < n; i++) {
		const char *got;

		if (!all[i].text || (i > 0 && all[i - 1].addr == all[i].addr) ||
		    (i + 1 < n && all[i + 1].addr == all[i].addr))
			continue;
		checked++;
		got = sym_kernel(s, all[i].addr);
		if (strcmp(got, all[i].want) == 0)
			named++;
		else if (all[i].want[0] != '_' || strncmp(got, "[kernel]+0x", 11) != 0)
			fail_msg("%#" PRIx64 ": got '%s', want '%s'", all[i].addr, got, all[i].want);
	}
	print_message("kallsyms: %zu unique text symbols, %zu named, %zu markers as [kernel]+0x\n",
		      checked, named, checked - named);
	assert_true(checked > 1000);
	assert_true(named * 100 > checked * 99);
	for (size_t i = 0; i < n; i++)
		free(all[i].want);
	free(all);
	symbolizer_free(s);
}

static void test_kernel_fallbacks(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	uint64_t text = kallsyms_addr("_text", NULL, 0), etext = kallsyms_addr("_etext", NULL, 0);
	char want[512], mod[128];
	uint64_t ma;

	(void)state;
	assert_string_equal(sym_kernel(s, 0), "[unknown]");
	assert_string_equal(sym_kernel(s, 0x7f0012345678ull), "[unknown]"); /* a user address */
	/* Past the end of kernel text no function may be blamed. */
	assert_true(text && etext > text);
	if (kallsyms_count_at(etext) == 1) {
		snprintf(want, sizeof(want), "[kernel]+0x%" PRIx64, etext + 16 - text);
		assert_string_equal(sym_kernel(s, etext + 16), want);
	}
	/* Module symbols carry their module's name. This kernel has them only
	 * while a BPF program is loaded ([bpf]; test_module_symbols checks the
	 * same on a table of our own), and another process's program may be
	 * unloaded between our read and the symbolizer's: a name that is gone
	 * from kallsyms by then is not checked. */
	ma = kallsyms_addr(NULL, mod, sizeof(mod));
	if (ma && kallsyms_count_at(ma) == 1) {
		FILE *f = fopen("/proc/kallsyms", "r");
		char line[512], name[256] = "";
		const char *got;

		while (fgets(line, sizeof(line), f))
			if (strtoull(line, NULL, 16) == ma)
				sscanf(line, "%*s %*s %255s", name);
		fclose(f);
		snprintf(want, sizeof(want), "%s %s", name, mod);
		got = sym_kernel(s, ma);
		if (strcmp(got, want) && kallsyms_count_at(ma) == 1)
			assert_string_equal(got, want);
	}
	symbolizer_free(s);
}

/* Module symbols named with their module, on a kallsyms and modules table
 * of our own (the machine's kernel has no loadable modules). */
static void test_module_symbols(void **state)
{
	char dir[] = "/tmp/wf-test-ksyms-XXXXXX", path[64];
	struct wf_symbolizer *s;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/kallsyms", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("ffffffff81000000 T _text\n"
	      "ffffffff81000100 T wf_core_func\n"
	      "ffffffff82000000 T _etext\n"
	      "ffffffffc0001000 t wf_mod_func\t[wf_mod]\n"
	      "ffffffffc0001100 t wf_mod_other\t[wf_mod]\n",
	      f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/modules", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("wf_mod 16384 0 - Live 0xffffffffc0001000\n", f);
	fclose(f);
	assert_non_null(s = symbolizer_new_root(dir));
	assert_string_equal(sym_kernel(s, 0xffffffff81000110ull), "wf_core_func");
	assert_string_equal(sym_kernel(s, 0xffffffffc0001010ull), "wf_mod_func [wf_mod]");
	assert_string_equal(sym_kernel(s, 0xffffffffc0001100ull), "wf_mod_other [wf_mod]");
	symbolizer_free(s);
	snprintf(path, sizeof(path), "%s/kallsyms", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/modules", dir);
	unlink(path);
	rmdir(dir);
}

/* ---- user space: our own process --------------------------------------------- */

static __attribute__((noinline)) int wf_test_marker(int x)
{
	asm volatile("" : "+r"(x));
	return x + 1;
}

static void test_user_in_process(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	char lib[PATH_MAX];
	struct wfsym_fn fns[8];
	int (*table)(struct wfsym_fn *, int);
	void *h;
	int n;

	(void)state;
	input_path(lib, sizeof(lib), "libwfsym.so");
	h = dlopen(lib, RTLD_NOW);
	assert_non_null(h);
	*(void **)&table = dlsym(h, "wfsym_lib_table");
	assert_non_null(table);
	n = table(fns, 8);
	assert_int_equal(n, 3);
	/* Never seen: loaded lazily on the first lookup. */
	assert_sym(s, getpid(), (uint64_t)fns[0].addr + 1, "long wf::demo::twice<long>(long)");
	assert_sym(s, getpid(), (uint64_t)fns[1].addr + 1, "wf::demo::Widget::poke(int)");
	assert_sym(s, getpid(), (uint64_t)fns[2].addr, "wfsym_lib_plain");
	/* This test binary itself (PIE, local symbol) and libc. */
	assert_sym(s, getpid(), (uint64_t)&wf_test_marker + 1, "wf_test_marker");
	assert_sym(s, getpid(), (uint64_t)&getpid, "getpid");
	/* glibc aliases: the public name wins over __write, __pthread_cond_wait... */
	assert_sym(s, getpid(), (uint64_t)&write + 1, "write");
	assert_sym(s, getpid(), (uint64_t)&pthread_cond_wait + 1, "pthread_cond_wait");
	assert_sym(s, getpid(), (uint64_t)&epoll_wait + 1, "epoll_wait");
	dlclose(h);
	symbolizer_free(s);
}

static void test_user_special_mappings(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *anon = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int local = 0;
	char want[64];
	const char *got;
	void *vdso, *fn, *later;

	(void)state;
	assert_true(anon != MAP_FAILED);
	assert_int_equal(sym_process_seen(s, getpid()), 0);
	snprintf(want, sizeof(want), "[anon]+0x%x", 0x10);
	assert_sym(s, getpid(), (uint64_t)anon + 0x10, want);

	/* Mapped after the snapshot: found once a miss may re-read (1 s apart). */
	later = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(later != MAP_FAILED);
	assert_string_equal(sym_user(s, getpid(), (uint64_t)later + 0x20), "[unknown]");
	usleep(1100 * 1000);
	snprintf(want, sizeof(want), "[anon]+0x%x", 0x20);
	assert_sym(s, getpid(), (uint64_t)later + 0x20, want);
	munmap(later, page);
	got = sym_user(s, getpid(), (uint64_t)&local);
	assert_true(strncmp(got, "[stack]+0x", 10) == 0);

	/* The vDSO: named from the kernel's image (clock_gettime or its __vdso_ alias). */
	vdso = dlopen("linux-vdso.so.1", RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(vdso);
	fn = dlsym(vdso, "__vdso_clock_gettime");
	assert_non_null(fn);
	got = sym_user(s, getpid(), (uint64_t)fn + 1);
	if (strcmp(got, "clock_gettime") != 0 && strcmp(got, "__vdso_clock_gettime") != 0)
		fail_msg("vdso frame named '%s'", got);
	munmap(anon, page);
	symbolizer_free(s);
}

static void test_garbage_input(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	struct sym_stats st;

	(void)state;
	assert_string_equal(sym_user(s, -5, 0x401000), "[unknown]");
	assert_string_equal(sym_user(s, 0, 0x401000), "[unknown]");
	/* A pid that does not exist (beyond pid_max). */
	assert_string_equal(sym_user(s, 0x7ffffff0, 0x401000), "[unknown]");
	assert_int_equal(sym_process_seen(s, 0x7ffffff0), -1);
	assert_int_equal(sym_process_seen(s, -1), -1);
	/* Address 0 and an address no mapping covers. */
	assert_string_equal(sym_user(s, getpid(), 0), "[unknown]");
	assert_string_equal(sym_user(s, getpid(), 0x10), "[unknown]");
	assert_string_equal(sym_user(s, getpid(), UINT64_MAX), "[unknown]");
	sym_process_gone(s, 12345678); /* unknown pid: no-op */
	sym_get_stats(s, &st);
	assert_true(st.errors >= 1);
	assert_true(st.user_misses >= 6);
	symbolizer_free(s);
}

/* A chain link's record can carry a frame count without its frames (its
 * stacks were not sampled): naming it late must leave it alone. serve
 * crashed on the first /api/v1/chains answer of a filled store. */
static void test_late_names_stack_without_frames(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	struct wf_arena arena;
	struct wf_edge e;

	(void)state;
	memset(&e, 0, sizeof(e));
	arena_init(&arena);
	e.waker_stack.nframes = 5;
	e.waker_stack.nkernel = 2;
	e.target_stack.nframes = 3;
	assert_int_equal(sym_name_edge_late(s, &e, &arena), 0);
	assert_null(e.waker_stack.frames);
	arena_free(&arena);
	symbolizer_free(s);
}

/* ---- user space: spawned programs ---------------------------------------------- */

static void test_pie_seen_exit_gone(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	struct child c;
	char path[PATH_MAX];
	struct sym_stats st;

	(void)state;
	input_path(path, sizeof(path), "wfsym-pie");
	spawn(&c, path, NULL);
	assert_true(c.bias != 0); /* really position-independent */
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	check_names(s, &c, NULL);
	check_past_size(s, &c, "wfsym-pie");

	/* The process exits: names recorded before still resolve. */
	finish(&c);
	assert_int_equal(kill(c.pid, 0), -1);
	check_names(s, &c, NULL);
	sym_get_stats(s, &st);
	assert_int_equal(st.processes, 1);
	assert_true(st.elf_files >= 3); /* exe, libwfsym, libc at least */

	/* Dropped: the pid is gone, nothing left to name it by. */
	sym_process_gone(s, c.pid);
	assert_string_equal(sym_user(s, c.pid, addr_of(&c, "exe_template")), "[unknown]");
	symbolizer_free(s);
}

static void test_non_pie(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	struct child c;
	char path[PATH_MAX];

	(void)state;
	input_path(path, sizeof(path), "wfsym-nopie");
	spawn(&c, path, NULL);
	assert_int_equal(c.bias, 0);
	/* Never seen: the first lookup loads it. */
	check_names(s, &c, NULL);
	check_past_size(s, &c, "wfsym-nopie");
	finish(&c);
	symbolizer_free(s);
}

static void test_stripped(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	struct child c;
	char path[PATH_MAX];

	(void)state;
	input_path(path, sizeof(path), "wfsym-stripped");
	spawn(&c, path, NULL);
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	check_names(s, &c, "wfsym-stripped");
	finish(&c);
	symbolizer_free(s);
}

/* Run a copy of the PIE build from a scratch directory (with its library). */
static void spawn_copy(struct child *c, char *dir, size_t dirlen, char *bin, size_t binlen)
{
	char from[PATH_MAX], to[PATH_MAX + 32];

	make_tmpdir(dir, dirlen);
	input_path(from, sizeof(from), "libwfsym.so");
	snprintf(to, sizeof(to), "%s/libwfsym.so", dir);
	copy_file(from, to);
	input_path(from, sizeof(from), "wfsym-pie");
	snprintf(bin, binlen, "%s/wfsym-copy", dir);
	copy_file(from, bin);
	spawn(c, bin, NULL);
}

static void test_deleted_binary(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	char dir[64], bin[PATH_MAX];
	struct child c;

	(void)state;
	spawn_copy(&c, dir, sizeof(dir), bin, sizeof(bin));
	assert_int_equal(unlink(bin), 0); /* maps now says "(deleted)" */
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	check_names(s, &c, NULL);
	check_past_size(s, &c, "wfsym-copy");
	finish(&c);
	symbolizer_free(s);
}

static void test_replaced_binary(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	char dir[64], bin[PATH_MAX], from[PATH_MAX], tmp[PATH_MAX + 8];
	struct child c;

	(void)state;
	spawn_copy(&c, dir, sizeof(dir), bin, sizeof(bin));
	/* An upgrade renames a new (here: stripped) build over the running one. */
	input_path(from, sizeof(from), "wfsym-stripped");
	snprintf(tmp, sizeof(tmp), "%s.new", bin);
	copy_file(from, tmp);
	assert_int_equal(rename(tmp, bin), 0);
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	/* Named from what the process really mapped, not from the new file. */
	check_names(s, &c, NULL);
	finish(&c);
	symbolizer_free(s);
}

/*
 * The path now shows another file although the mapped one was never
 * deleted (a bind mount over it): only the inode tells, and the mapped file
 * must still be read through map_files.
 */
static void test_overmounted_binary(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	char dir[64], bin[PATH_MAX], other[PATH_MAX + 16], from[PATH_MAX];
	struct child c;

	(void)state;
	spawn_copy(&c, dir, sizeof(dir), bin, sizeof(bin));
	input_path(from, sizeof(from), "wfsym-stripped");
	snprintf(other, sizeof(other), "%s/other", dir);
	copy_file(from, other);
	if (mount(other, bin, NULL, MS_BIND, NULL)) {
		finish(&c);
		symbolizer_free(s);
		skip(); /* no mount privilege in this environment */
	}
	snprintf(scratch_mount, sizeof(scratch_mount), "%s", bin);
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	check_names(s, &c, NULL);
	finish(&c);
	symbolizer_free(s);
}

static void test_chroot_container(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	char dir[64], bindir[128], bin[160], from[PATH_MAX];
	struct child c;

	(void)state;
	/* A "container": the binary exists only inside its root, at /bin/wfsym. */
	make_tmpdir(dir, sizeof(dir));
	snprintf(bindir, sizeof(bindir), "%s/bin", dir);
	assert_int_equal(mkdir(bindir, 0755), 0);
	snprintf(bin, sizeof(bin), "%s/wfsym", bindir);
	input_path(from, sizeof(from), "wfsym-static");
	copy_file(from, bin);
	spawn(&c, "/bin/wfsym", dir);
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	check_names(s, &c, NULL);
	check_past_size(s, &c, "wfsym");
	finish(&c);
	symbolizer_free(s);
}

/* A process that execs: names recorded before the exec survive the re-read. */
static void test_exec(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	char pie[PATH_MAX], nopie[PATH_MAX];
	struct child before, after;

	(void)state;
	input_path(pie, sizeof(pie), "wfsym-pie");
	input_path(nopie, sizeof(nopie), "wfsym-nopie");
	spawn_arg(&before, pie, NULL, nopie);
	assert_int_equal(sym_process_seen(s, before.pid), 0);
	check_names(s, &before, NULL);

	assert_int_equal(write(before.to_child, "exec\n", 5), 5);
	after = before;
	read_table(&after); /* the new image prints its own table */
	assert_int_equal(after.bias, 0);
	assert_int_equal(sym_process_seen(s, after.pid), 0);
	check_names(s, &after, NULL);
	check_past_size(s, &after, "wfsym-nopie");
	check_names(s, &before, NULL);
	finish(&after);
	symbolizer_free(s);
}

/* The build-id of an ELF file, as readelf prints it (an independent reader). */
static void build_id_of(const char *path, char *hex, size_t len)
{
	char cmd[PATH_MAX + 32], line[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "readelf -n '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	hex[0] = '\0';
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, " Build ID: %127s", hex) == 1)
			break;
	pclose(p);
	assert_true(strlen(hex) > 2 && strlen(hex) < len);
}

/*
 * A stripped binary in a container whose image ships its debug file under
 * /usr/lib/debug/.build-id: named from the debug file, found through the
 * process's root. Without the debug file: module+offset.
 */
static void test_debug_file_in_container(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	char dir[64], path[PATH_MAX], from[PATH_MAX], hex[128];
	struct child c;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/bin", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/bin/wfsym", dir);
	input_path(from, sizeof(from), "wfsym-static-stripped");
	copy_file(from, path);

	spawn(&c, "/bin/wfsym", dir);
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		char want[128];
		uint64_t a = addr_of(&c, expected[i].label);

		/* static: the "library" functions are in the stripped executable too */
		snprintf(want, sizeof(want), "wfsym+0x%" PRIx64, a - c.bias);
		assert_sym(s, c.pid, a, want);
	}
	symbolizer_free(s);

	input_path(from, sizeof(from), "wfsym-static.debug");
	build_id_of(from, hex, sizeof(hex));
	snprintf(path, sizeof(path), "mkdir -p '%s/usr/lib/debug/.build-id/%.2s'", dir, hex);
	assert_int_equal(system(path), 0);
	snprintf(path, sizeof(path), "%s/usr/lib/debug/.build-id/%.2s/%s.debug", dir, hex, hex + 2);
	copy_file(from, path);
	s = symbolizer_new();
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	check_names(s, &c, NULL);
	finish(&c);
	symbolizer_free(s);
}

/* Every function of the static test program as module+offset: unnamed. */
static void check_unnamed(struct wf_symbolizer *s, const struct child *c, const char *module)
{
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		char want[128];
		uint64_t a = addr_of(c, expected[i].label);

		snprintf(want, sizeof(want), "%s+0x%" PRIx64, module, a - c->bias);
		assert_sym(s, c->pid, a, want);
	}
}

/* dir/rel, with its directories, holding a copy of the file from. */
static void place_file(const char *dir, const char *rel, const char *from)
{
	char path[2 * PATH_MAX], cmd[2 * PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	copy_file(from, path);
}

/*
 * --symbols DIR: a stripped C++ program (the static build, split with
 * objcopy --only-keep-debug and stripped) named from its separate symbol
 * file, found by build-id in each layout: DIR/.build-id/NN/REST.debug,
 * DIR/<build-id>.debug and DIR/<build-id>; directories tried in order.
 * The debug file of another build (-O2) under this build's id names
 * nothing: every frame stays module+offset.
 */
static void test_symbols_dir(void **state)
{
	char dir[64], from[PATH_MAX], other[PATH_MAX], hex[128], rel[256], sub[PATH_MAX];
	const char *const layouts[] = { "%s/.build-id/%.2s/%s.debug", "%s/%.2s%s.debug", "%s/%.2s%s" };
	struct wf_symbolizer *s;
	struct child c;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	input_path(from, sizeof(from), "wfsym-static.debug");
	input_path(other, sizeof(other), "wfsym-static-other.debug");
	build_id_of(from, hex, sizeof(hex));
	{
		char hex_other[128];

		build_id_of(other, hex_other, sizeof(hex_other));
		assert_string_not_equal(hex, hex_other);
	}
	input_path(sub, sizeof(sub), "wfsym-static-stripped");
	spawn(&c, sub, NULL);

	for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
		char layout_dir[PATH_MAX];

		snprintf(layout_dir, sizeof(layout_dir), "%s/layout%zu", dir, l);
		snprintf(rel, sizeof(rel), layouts[l], "", hex, hex + 2);
		place_file(layout_dir, rel + 1, from);
		s = symbolizer_new();
		/* An empty directory first: the next one is still looked in. */
		assert_int_equal(symbolizer_add_dir(s, dir), 0);
		assert_int_equal(symbolizer_add_dir(s, layout_dir), 0);
		assert_int_equal(sym_process_seen(s, c.pid), 0);
		check_names(s, &c, NULL);
		symbolizer_free(s);
	}

	/* Another build's symbols under this build's id, in every layout. */
	snprintf(sub, sizeof(sub), "%s/wrong", dir);
	for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
		snprintf(rel, sizeof(rel), layouts[l], "", hex, hex + 2);
		place_file(sub, rel + 1, other);
	}
	s = symbolizer_new();
	assert_int_equal(symbolizer_add_dir(s, sub), 0);
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	check_unnamed(s, &c, "wfsym-static-stripped");
	symbolizer_free(s);

	/* Without the directory, nothing names it either. */
	s = symbolizer_new();
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	check_unnamed(s, &c, "wfsym-static-stripped");
	symbolizer_free(s);
	finish(&c);
}

/* dir/rel's full path. */
static void path_in(char *out, size_t len, const char *dir, const char *rel)
{
	assert_true((size_t)snprintf(out, len, "%s/%s", dir, rel) < len);
}

/* A symbolizer (with --symbols symdir, if given) that has seen c. */
static struct wf_symbolizer *fresh_symbolizer(const struct child *c, const char *symdir)
{
	struct wf_symbolizer *s = symbolizer_new();

	assert_non_null(s);
	if (symdir)
		assert_int_equal(symbolizer_add_dir(s, symdir), 0);
	assert_int_equal(sym_process_seen(s, c->pid), 0);
	return s;
}

/*
 * .gnu_debuglink: the static test program built without a build-id, split
 * with objcopy --only-keep-debug, stripped and linked with
 * --add-gnu-debuglink (agent/Makefile: wfsym-dl), named from its debug
 * file wherever gdb looks: beside the binary, in its .debug/, under a
 * --symbols DIR by the binary's directory, and (ours) in DIR itself. A file
 * under the link's name whose CRC32 differs names nothing: the right debug
 * file with one byte appended (otherwise it would name every frame), and
 * another build's (-O2). With a build-id too (wfsym-static-dl), the link
 * finds wfsym-static.debug, which no build-id layout holds.
 */
static void test_debuglink(void **state)
{
	char dir[64], bin[PATH_MAX], from[PATH_MAX], other[PATH_MAX], place[PATH_MAX], symdir[PATH_MAX];
	char rel[2 * PATH_MAX];
	struct wf_symbolizer *s;
	struct child c;
	struct sym_stats st;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	path_in(symdir, sizeof(symdir), dir, "syms");
	assert_int_equal(mkdir(symdir, 0755), 0);
	input_path(from, sizeof(from), "wfsym-dl");
	place_file(dir, "bin/wfsym-dl", from);
	path_in(bin, sizeof(bin), dir, "bin/wfsym-dl");
	spawn(&c, bin, NULL);

	/* No debug file anywhere: unnamed. */
	s = fresh_symbolizer(&c, symdir);
	check_unnamed(s, &c, "wfsym-dl");
	symbolizer_free(s);

	input_path(from, sizeof(from), "wfsym-dl.debug");
	{
		const char *const beside[] = { "bin/wfsym-dl.debug", "bin/.debug/wfsym-dl.debug" };

		for (size_t i = 0; i < 2; i++) {
			place_file(dir, beside[i], from);
			s = fresh_symbolizer(&c, NULL);
			check_names(s, &c, NULL);
			check_past_size(s, &c, "wfsym-dl");
			sym_get_stats(s, &st);
			assert_int_equal(st.debug_files, 1);
			symbolizer_free(s);
			path_in(place, sizeof(place), dir, beside[i]);
			assert_int_equal(unlink(place), 0);
		}
	}
	/* --symbols DIR: by the binary's directory (as gdb's debug-file-directory), and plainly. */
	snprintf(rel, sizeof(rel), "%s/bin/wfsym-dl.debug", dir + 1); /* dir without its leading '/' */
	for (int plain = 0; plain < 2; plain++) {
		place_file(symdir, plain ? "wfsym-dl.debug" : rel, from);
		s = fresh_symbolizer(&c, symdir);
		check_names(s, &c, NULL);
		symbolizer_free(s);
		path_in(place, sizeof(place), symdir, plain ? "wfsym-dl.debug" : rel);
		assert_int_equal(unlink(place), 0);
	}

	/* Wrong CRC beside the binary, the other build in .debug/ and in DIR. */
	place_file(dir, "bin/wfsym-dl.debug", from);
	path_in(place, sizeof(place), dir, "bin/wfsym-dl.debug");
	{
		int fd = open(place, O_WRONLY | O_APPEND);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "", 1), 1);
		close(fd);
	}
	input_path(other, sizeof(other), "wfsym-static-other.debug");
	place_file(dir, "bin/.debug/wfsym-dl.debug", other);
	place_file(symdir, "wfsym-dl.debug", other);
	s = fresh_symbolizer(&c, symdir);
	check_unnamed(s, &c, "wfsym-dl");
	sym_get_stats(s, &st);
	assert_int_equal(st.debug_files, 0);
	symbolizer_free(s);
	finish(&c);

	/* With a build-id: the link finds the file no build-id layout holds. */
	input_path(from, sizeof(from), "wfsym-static-dl");
	place_file(dir, "bin/wfsym-static-dl", from);
	input_path(from, sizeof(from), "wfsym-static.debug");
	place_file(dir, "bin/.debug/wfsym-static.debug", from);
	path_in(bin, sizeof(bin), dir, "bin/wfsym-static-dl");
	spawn(&c, bin, NULL);
	s = fresh_symbolizer(&c, NULL);
	check_names(s, &c, NULL);
	symbolizer_free(s);
	finish(&c);
}

/* The MiniDebugInfo maker (tests/symbolize/minidebuginfo.sh) on in, to out. */
static void make_minidebuginfo(const char *in, const char *out, const char *data)
{
	char script[PATH_MAX], cmd[4 * PATH_MAX];

	input_path(script, sizeof(script), "minidebuginfo.sh");
	snprintf(cmd, sizeof(cmd), "bash '%s' '%s' '%s' %s%s%s", script, in, out, data ? "'" : "",
		 data ? data : "", data ? "'" : "");
	assert_int_equal(system(cmd), 0);
}

/*
 * MiniDebugInfo: the static test program stripped, with the function
 * symbols .dynsym lacks xz-compressed into .gnu_debugdata, as Fedora's
 * find-debuginfo makes it (tests/symbolize/minidebuginfo.sh). Its global
 * and local functions are named; template instances are weak symbols,
 * which that tooling leaves out: they stay module+offset, never a
 * neighbour's name. A .gnu_debugdata that is a truncated xz stream, or xz
 * of something not ELF, names nothing and counts an error.
 */
static void test_minidebuginfo(void **state)
{
	char dir[64], bin[PATH_MAX], from[PATH_MAX], data[PATH_MAX], cmd[4 * PATH_MAX];
	struct wf_symbolizer *s;
	struct child c;
	struct sym_stats st;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	input_path(from, sizeof(from), "wfsym-static");
	path_in(bin, sizeof(bin), dir, "wfsym-mini");
	make_minidebuginfo(from, bin, NULL);
	spawn(&c, bin, NULL);
	s = fresh_symbolizer(&c, NULL);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		char want[256];
		uint64_t a = addr_of(&c, expected[i].label);

		if (strstr(expected[i].name, "<"))
			snprintf(want, sizeof(want), "wfsym-mini+0x%" PRIx64, a - c.bias);
		else
			snprintf(want, sizeof(want), "%s", expected[i].name);
		assert_sym(s, c.pid, a, want);
	}
	check_past_size(s, &c, "wfsym-mini");
	sym_get_stats(s, &st);
	assert_int_equal(st.minidebuginfo, 1);
	assert_int_equal(st.errors, 0);
	symbolizer_free(s);
	finish(&c);

	for (int bad = 0; bad < 2; bad++) {
		path_in(data, sizeof(data), dir, "bad.xz");
		snprintf(cmd, sizeof(cmd),
			 bad ? "echo 'not an ELF file' | xz > '%s'" : "xz -c '%s' | head -c 2000 > '%s'",
			 bad ? data : from, data);
		assert_int_equal(system(cmd), 0);
		path_in(bin, sizeof(bin), dir, bad ? "wfsym-notelf" : "wfsym-truncated");
		make_minidebuginfo(from, bin, data);
		spawn(&c, bin, NULL);
		s = fresh_symbolizer(&c, NULL);
		check_unnamed(s, &c, bad ? "wfsym-notelf" : "wfsym-truncated");
		sym_get_stats(s, &st);
		assert_int_equal(st.minidebuginfo, 0);
		assert_int_equal(st.errors, 1);
		symbolizer_free(s);
		finish(&c);
	}
}

/* sym_name_late's answer for a frame text, or NULL. */
static const char *late(struct wf_symbolizer *s, const char *frame)
{
	static char out[512];

	return sym_name_late(s, frame, out, sizeof(out)) ? out : NULL;
}

/*
 * Names at read time: a stripped build (the static program, copied as
 * wfsym-late) is loaded while no symbol file exists, so its frames are
 * module+offset; another build's (-O2) symbols under its build-id name
 * nothing; its own symbol file copied into the --symbols DIR afterwards
 * names the texts recorded before, as sym_name_late and as
 * sym_name_edge_late on an edge (kernel frames left alone). A second
 * build loaded under the same basename makes every text of that name
 * ambiguous: nothing is named.
 */
static void test_late_names(void **state)
{
	char dir[64], bin[PATH_MAX], from[PATH_MAX], symdir[PATH_MAX], hex[128], rel[256], frame[128];
	char texts[8][128];
	const char *frames[10];
	struct wf_symbolizer *s;
	struct child c, other;
	struct sym_stats st;
	struct wf_edge e;
	struct wf_arena arena;
	size_t n = sizeof(expected) / sizeof(expected[0]);

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	path_in(symdir, sizeof(symdir), dir, "syms");
	assert_int_equal(mkdir(symdir, 0755), 0);
	input_path(from, sizeof(from), "wfsym-static-stripped");
	place_file(dir, "a/wfsym-late", from);
	path_in(bin, sizeof(bin), dir, "a/wfsym-late");
	spawn(&c, bin, NULL);
	s = fresh_symbolizer(&c, symdir);
	check_unnamed(s, &c, "wfsym-late");
	snprintf(frame, sizeof(frame), "wfsym-late+0x%" PRIx64, addr_of(&c, "exe_member") - c.bias);
	assert_null(late(s, frame));

	input_path(from, sizeof(from), "wfsym-static.debug");
	build_id_of(from, hex, sizeof(hex));
	snprintf(rel, sizeof(rel), ".build-id/%.2s/%s.debug", hex, hex + 2);
	input_path(from, sizeof(from), "wfsym-static-other.debug");
	place_file(symdir, rel, from);
	sleep(1); /* past the retry interval */
	usleep(100 * 1000);
	/* Another build's file names nothing at capture (the cache's object
	 * is not reopened with it) nor, a retry interval later, at read time. */
	check_unnamed(s, &c, "wfsym-late");
	sleep(1);
	usleep(100 * 1000);
	assert_null(late(s, frame));

	input_path(from, sizeof(from), "wfsym-static.debug");
	place_file(symdir, rel, from);
	assert_null(late(s, frame)); /* searched under a second ago */
	sleep(1);
	usleep(100 * 1000);
	for (size_t i = 0; i < n; i++) {
		const char *got;

		snprintf(frame, sizeof(frame), "wfsym-late+0x%" PRIx64, addr_of(&c, expected[i].label) - c.bias);
		got = late(s, frame);
		assert_non_null(got);
		assert_string_equal(got, expected[i].name);
	}
	/* New lookups of the running process are named at capture too: the
	 * cache's unnamed object was indexed again with the file. */
	for (size_t i = 0; i < n; i++)
		assert_sym(s, c.pid, addr_of(&c, expected[i].label), expected[i].name);
	/* Texts that are not a known build's frames. */
	assert_null(late(s, "[anon]+0x10"));
	assert_null(late(s, "wfsym-other+0x401000"));
	assert_null(late(s, "wfsym-late+0x"));
	assert_null(late(s, "wfsym-late+0x1zz"));
	assert_null(late(s, "schedule"));

	/* An edge: two kernel frames, then the user frames recorded unnamed. */
	memset(&e, 0, sizeof(e));
	arena_init(&arena);
	frames[0] = "schedule";
	frames[1] = "wfsym-late+0x10"; /* a kernel-side text is never renamed */
	for (size_t i = 0; i < n; i++) {
		snprintf(texts[i], sizeof(texts[i]), "wfsym-late+0x%" PRIx64, addr_of(&c, expected[i].label) - c.bias);
		frames[2 + i] = texts[i];
	}
	e.target_stack.frames = frames;
	e.target_stack.nframes = (int)(2 + n);
	e.target_stack.nkernel = 2;
	assert_int_equal(sym_name_edge_late(s, &e, &arena), (int)n);
	assert_string_equal(frames[0], "schedule");
	assert_string_equal(frames[1], "wfsym-late+0x10");
	for (size_t i = 0; i < n; i++)
		assert_string_equal(frames[2 + i], expected[i].name);
	arena_free(&arena);
	sym_get_stats(s, &st);
	assert_int_equal(st.late_files, 1);
	assert_int_equal(st.late_named, 2 * n);
	assert_int_equal(st.debug_files, 1); /* the cache's object, reopened once */

	/* Another build (the PIE one) under the same basename: ambiguous. */
	input_path(from, sizeof(from), "libwfsym.so");
	place_file(dir, "b/libwfsym.so", from);
	input_path(from, sizeof(from), "wfsym-stripped");
	place_file(dir, "b/wfsym-late", from);
	path_in(bin, sizeof(bin), dir, "b/wfsym-late");
	spawn(&other, bin, NULL);
	assert_int_equal(sym_process_seen(s, other.pid), 0);
	assert_null(late(s, texts[0]));
	symbolizer_free(s);
	finish(&other);
	finish(&c);
}

/* One stack of c's functions as a live capture symbolizes it: its frame
 * texts (copied into texts) and the builds text of its unnamed frames. */
static const char *stack_of(struct wf_symbolizer *s, const struct child *c, char texts[][128], const char **frames)
{
	size_t n = sizeof(expected) / sizeof(expected[0]);

	sym_stack_begin(s);
	for (size_t i = 0; i < n; i++) {
		snprintf(texts[i], 128, "%s", sym_user(s, c->pid, addr_of(c, expected[i].label)));
		frames[i] = texts[i];
	}
	return sym_stack_builds(s);
}

/* An edge whose target stack is frames (user frames only) with builds. */
static void edge_with(struct wf_edge *e, const char **frames, const char *builds)
{
	memset(e, 0, sizeof(*e));
	e->target_stack.frames = frames;
	e->target_stack.nframes = (int)(sizeof(expected) / sizeof(expected[0]));
	e->target_stack.nkernel = 0;
	e->target_stack.builds = builds;
}

static void assert_named(const char **frames)
{
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		if (strcmp(frames[i], expected[i].name))
			fail_msg("frame %zu (%s): got '%s', want '%s'", i, expected[i].label, frames[i], expected[i].name);
}

/*
 * Names at read time by build-id: two builds of one program (-O1 and -O2:
 * other build-ids, other addresses) run under one basename, both stripped;
 * each stack's builds text names its build, so once both symbol files
 * are in the --symbols DIR each stack is named from its own file (the
 * text-only rule, which cannot tell them apart, names neither). After a
 * restart (a new symbolizer that never saw either process) the same
 * stacks, as the store keeps them (texts and builds copied), are named
 * again, found by build-id alone. A build-id with no file, or a module the
 * builds text leaves out, names nothing.
 */
static void test_late_names_by_build(void **state)
{
	char dir[64], bin[PATH_MAX], from[PATH_MAX], symdir[PATH_MAX], hex[128], rel[256];
	char texts1[8][128], texts2[8][128], builds1[512], builds2[512], fake[512];
	const char *frames1[8], *frames2[8];
	size_t n = sizeof(expected) / sizeof(expected[0]);
	struct wf_symbolizer *s;
	struct child c1, c2;
	struct sym_stats st;
	struct wf_edge e;
	struct wf_arena arena;
	const char *b;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	path_in(symdir, sizeof(symdir), dir, "syms");
	assert_int_equal(mkdir(symdir, 0755), 0);
	input_path(from, sizeof(from), "wfsym-static-stripped");
	place_file(dir, "a/wfsym-two", from);
	input_path(from, sizeof(from), "wfsym-static-other-stripped");
	place_file(dir, "b/wfsym-two", from);
	path_in(bin, sizeof(bin), dir, "a/wfsym-two");
	spawn(&c1, bin, NULL);
	path_in(bin, sizeof(bin), dir, "b/wfsym-two");
	spawn(&c2, bin, NULL);
	s = fresh_symbolizer(&c1, symdir);
	assert_int_equal(sym_process_seen(s, c2.pid), 0);

	b = stack_of(s, &c1, texts1, frames1);
	assert_non_null(b);
	input_path(from, sizeof(from), "wfsym-static.debug");
	build_id_of(from, hex, sizeof(hex));
	snprintf(builds1, sizeof(builds1), "%s:wfsym-two", hex);
	assert_string_equal(b, builds1);
	assert_ptr_equal(b, intern(builds1)); /* interned, as frames are */
	b = stack_of(s, &c2, texts2, frames2);
	assert_non_null(b);
	input_path(from, sizeof(from), "wfsym-static-other.debug");
	build_id_of(from, hex, sizeof(hex));
	snprintf(builds2, sizeof(builds2), "%s:wfsym-two", hex);
	assert_string_equal(b, builds2);
	for (size_t i = 0; i < n; i++) {
		assert_true(strncmp(texts1[i], "wfsym-two+0x", 12) == 0);
		assert_true(strncmp(texts2[i], "wfsym-two+0x", 12) == 0);
	}
	/* A stack with no unnamed frame has no builds. */
	sym_stack_begin(s);
	assert_string_equal(sym_user(s, c1.pid, 1), "[unknown]");
	assert_null(sym_stack_builds(s));

	/* No symbol file yet: nothing. */
	arena_init(&arena);
	edge_with(&e, frames1, builds1);
	assert_int_equal(sym_name_edge_late(s, &e, &arena), 0);

	input_path(from, sizeof(from), "wfsym-static.debug");
	build_id_of(from, hex, sizeof(hex));
	snprintf(rel, sizeof(rel), ".build-id/%.2s/%s.debug", hex, hex + 2);
	place_file(symdir, rel, from);
	input_path(from, sizeof(from), "wfsym-static-other.debug");
	build_id_of(from, hex, sizeof(hex));
	snprintf(rel, sizeof(rel), ".build-id/%.2s/%s.debug", hex, hex + 2);
	place_file(symdir, rel, from);
	sleep(1); /* past the retry interval */
	usleep(100 * 1000);
	/* The text alone is ambiguous: two builds were loaded under the name. */
	{
		char out[256];

		assert_false(sym_name_late(s, texts1[0], out, sizeof(out)));
	}
	edge_with(&e, frames1, builds1);
	assert_int_equal(sym_name_edge_late(s, &e, &arena), (int)n);
	assert_named(frames1);
	edge_with(&e, frames2, builds2);
	assert_int_equal(sym_name_edge_late(s, &e, &arena), (int)n);
	assert_named(frames2);
	symbolizer_free(s);
	finish(&c1);
	finish(&c2);

	/* A restart: neither process is seen again; the stored texts and builds name them. */
	for (size_t i = 0; i < n; i++) {
		frames1[i] = texts1[i];
		frames2[i] = texts2[i];
	}
	s = symbolizer_new();
	assert_int_equal(symbolizer_add_dir(s, symdir), 0);
	edge_with(&e, frames2, builds2);
	assert_int_equal(sym_name_edge_late(s, &e, &arena), (int)n);
	assert_named(frames2);
	edge_with(&e, frames1, builds1);
	assert_int_equal(sym_name_edge_late(s, &e, &arena), (int)n);
	assert_named(frames1);
	sym_get_stats(s, &st);
	assert_int_equal(st.late_files, 2);
	assert_int_equal(st.late_named, 2 * n);

	/* Another build-id (no file has it), and a module the builds leave out. */
	for (size_t i = 0; i < n; i++)
		frames1[i] = texts1[i];
	snprintf(fake, sizeof(fake), "00112233445566778899aabbccddeeff00112233:wfsym-two");
	edge_with(&e, frames1, fake);
	assert_int_equal(sym_name_edge_late(s, &e, &arena), 0);
	snprintf(fake, sizeof(fake), "%s:wfsym-other", hex);
	edge_with(&e, frames1, fake);
	assert_int_equal(sym_name_edge_late(s, &e, &arena), 0);
	/* Without builds (a stack stored before they were kept), a build known
	 * only from the store does not lend its names to the bare text. */
	edge_with(&e, frames1, NULL);
	assert_int_equal(sym_name_edge_late(s, &e, &arena), 0);
	arena_free(&arena);
	symbolizer_free(s);
}

/* A free TCP port on loopback (bound and released). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* debuginfod stats once field (a counter) reaches want, polled for up to 30 s. */
static struct sym_debuginfod_stats wait_counter(struct wf_symbolizer *s, size_t field, uint64_t want,
						const char *what)
{
	struct sym_debuginfod_stats st;

	for (int i = 0; i < 300; i++) {
		sym_debuginfod_get_stats(s, &st);
		if (*(const uint64_t *)((const char *)&st + field) >= want)
			return st;
		usleep(100 * 1000);
	}
	fail_msg("debuginfod: %s not %" PRIu64 " after 30 s (requested %" PRIu64 ", fetched %" PRIu64
		 ", failed %" PRIu64 ", retried %" PRIu64 ", gave up %" PRIu64 ", last error %d)",
		 what, want, st.requested, st.fetched, st.failed, st.retried, st.gave_up, st.last_error);
	return st;
}

#define WAIT_COUNTER(s, field, want) wait_counter((s), offsetof(struct sym_debuginfod_stats, field), (want), #field)

/*
 * Debian's debuginfod serving the files in served on port, its pid in
 * dir/server.pid for the teardown. Without our DEBUGINFOD_URLS or cache:
 * it would forward what it lacks to itself.
 */
static void start_debuginfod(const char *dir, const char *served, int port)
{
	char cmd[3 * PATH_MAX];

	if (system("command -v debuginfod >/dev/null"))
		fail_msg("debuginfod is not installed (scripts/setup installs it)");
	snprintf(cmd, sizeof(cmd),
		 "env -u DEBUGINFOD_URLS -u DEBUGINFOD_CACHE_PATH debuginfod -p %d -F '%s' -d '%s/db.sqlite' -t 3600"
		 " >/dev/null 2>&1 & echo $! > '%s/server.pid'",
		 port, served, dir, dir);
	assert_int_equal(system(cmd), 0);
}

/* Until the server on port answers for build-id hex (it scans its directory first), at most 30 s. */
static void wait_served(int port, const char *hex)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "for i in $(seq 300); do curl -sf -o /dev/null http://127.0.0.1:%d/buildid/%s/debuginfo && exit 0; "
		 "sleep 0.1; done; exit 1",
		 port, hex);
	assert_int_equal(system(cmd), 0);
}

/*
 * DEBUGINFOD_URLS: Debian's debuginfod server on a random port over a
 * directory holding the static program's debug file; the stripped program
 * loaded with no symbol file anywhere asks for it (in the background: the
 * lookup itself returns module+offset at once), the file lands in the
 * cache as <build-id>/debuginfo and the frames are named at read time. A
 * server that is down: one failure counted, nothing named. Off (no URLs):
 * nothing asked.
 */
static void test_debuginfod(void **state)
{
	char dir[64], from[PATH_MAX], served[PATH_MAX], cache[PATH_MAX], url[64], hex[128];
	char frame[128], path[2 * PATH_MAX];
	struct sym_debuginfod_stats st;
	struct wf_symbolizer *s;
	struct child c;
	int port;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	path_in(served, sizeof(served), dir, "served");
	input_path(from, sizeof(from), "wfsym-static.debug");
	place_file(served, "wfsym-static.debug", from);
	build_id_of(from, hex, sizeof(hex));
	port = free_port();
	start_debuginfod(dir, served, port);
	wait_served(port, hex);

	input_path(from, sizeof(from), "wfsym-static-stripped");
	spawn(&c, from, NULL);
	snprintf(frame, sizeof(frame), "wfsym-static-stripped+0x%" PRIx64, addr_of(&c, "exe_member") - c.bias);

	/* Off. */
	s = symbolizer_new();
	assert_int_equal(symbolizer_use_debuginfod(s, NULL), 0);
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	sym_debuginfod_get_stats(s, &st);
	assert_false(st.enabled);
	assert_int_equal(st.requested, 0);
	symbolizer_free(s);

	path_in(cache, sizeof(cache), dir, "cache");
	setenv("DEBUGINFOD_CACHE_PATH", cache, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	s = symbolizer_new();
	assert_int_equal(symbolizer_use_debuginfod(s, url), 0);
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	check_unnamed(s, &c, "wfsym-static-stripped"); /* answered at once, file or not */
	st = WAIT_COUNTER(s, fetched, 1);
	assert_true(st.enabled);
	assert_int_equal(st.requested, 1);
	assert_int_equal(st.failed, 0);
	assert_true(st.cache_bytes > 0);
	snprintf(path, sizeof(path), "%s/%s/debuginfo", cache, hex);
	assert_int_equal(access(path, R_OK), 0);
	sleep(1); /* the late search's retry interval since the load */
	assert_non_null(late(s, frame));
	assert_string_equal(late(s, frame), "wfapp::Dispatcher::onEvent(int)");
	symbolizer_free(s);

	/* Down: a port nothing listens on. */
	path_in(cache, sizeof(cache), dir, "cache-2");
	setenv("DEBUGINFOD_CACHE_PATH", cache, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port());
	s = symbolizer_new();
	assert_int_equal(symbolizer_use_debuginfod(s, url), 0);
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	st = WAIT_COUNTER(s, failed, 1);
	assert_int_equal(st.fetched, 0);
	sleep(1);
	assert_null(late(s, frame));
	symbolizer_free(s);
	unsetenv("DEBUGINFOD_CACHE_PATH");
	unsetenv("DEBUGINFOD_URLS"); /* symbolizer_use_debuginfod set it for libdebuginfod */

	finish(&c); /* the teardown stops the server */
}

static void test_build_id_cache(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	char dir[64], bin[PATH_MAX], path[PATH_MAX];
	struct child a, b;
	struct sym_stats st1, st2;

	(void)state;
	input_path(path, sizeof(path), "wfsym-pie");
	spawn(&a, path, NULL);
	spawn_copy(&b, dir, sizeof(dir), bin, sizeof(bin));
	assert_int_equal(sym_process_seen(s, a.pid), 0);
	sym_get_stats(s, &st1);
	/* Same binary and library under other paths/inodes: same build-ids. */
	assert_int_equal(sym_process_seen(s, b.pid), 0);
	sym_get_stats(s, &st2);
	assert_int_equal(st2.elf_files, st1.elf_files);
	assert_int_equal(st2.processes, 2);
	check_names(s, &b, NULL);
	finish(&a);
	finish(&b);
	sym_process_gone(s, a.pid);
	sym_process_gone(s, b.pid);
	sym_get_stats(s, &st2);
	assert_int_equal(st2.processes, 0);
	symbolizer_free(s);
}

/* ---- micro-benchmark --------------------------------------------------------------- */

static double elapsed_s(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void test_benchmark(void **state)
{
	struct wf_symbolizer *s = symbolizer_new();
	uint64_t kaddr = kallsyms_addr("schedule", NULL, 0);
	/* Named frames: this binary, libc; unnamed: the stack (module+offset path). */
	int local = 0;
	uint64_t named[4] = {(uint64_t)&wf_test_marker, (uint64_t)&getpid, (uint64_t)&malloc,
			     (uint64_t)&fopen};
	uint64_t unnamed = (uint64_t)&local;
	struct timespec t0, t1, t2, t3, t4;
	const int N = 2000000;
	const char *sink = NULL;
	struct sym_stats st;
	pid_t me = getpid(); /* a syscall: keep it out of the timed loops */

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sym_kernel(s, kaddr); /* cold: reads kallsyms */
	assert_int_equal(sym_process_seen(s, getpid()), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < N; i++)
		sink = sym_user(s, me, named[i & 3] + (uint64_t)(i & 1));
	clock_gettime(CLOCK_MONOTONIC, &t2);
	for (int i = 0; i < N; i++)
		sink = sym_user(s, me, unnamed + (uint64_t)(i & 7));
	clock_gettime(CLOCK_MONOTONIC, &t3);
	for (int i = 0; i < N; i++)
		sink = sym_kernel(s, kaddr + (uint64_t)(i & 7));
	clock_gettime(CLOCK_MONOTONIC, &t4);
	assert_ptr_equal(sink, intern("schedule"));
	sym_get_stats(s, &st);
	assert_int_equal(st.user_misses, (uint64_t)N); /* exactly the unnamed ones */
	print_message("symbolize bench: cold load (kallsyms + own maps/ELF) %.1f ms; warm lookups/s: "
		      "user named %.1f M, user module+offset %.1f M, kernel %.1f M\n",
		      elapsed_s(&t0, &t1) * 1e3, N / elapsed_s(&t1, &t2) / 1e6,
		      N / elapsed_s(&t2, &t3) / 1e6, N / elapsed_s(&t3, &t4) / 1e6);
	symbolizer_free(s);
}

/*
 * A failed fetch is retried with a doubling backoff: against a port where
 * nothing listens the attempts are used up (five failures, four retries,
 * the build given up on); then with a server that is down at first, Debian's
 * real debuginfod started on that port after the first failure, a retry
 * fetches the file and the frames are named at read time.
 */
static void test_debuginfod_retry(void **state)
{
	char dir[64], from[PATH_MAX], served[PATH_MAX], cache[PATH_MAX], cmd[4 * PATH_MAX], url[64], hex[128];
	char frame[128];
	struct sym_debuginfod_stats st;
	struct wf_symbolizer *s;
	struct child c;
	int port;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	input_path(from, sizeof(from), "wfsym-static-stripped");
	spawn(&c, from, NULL);
	snprintf(frame, sizeof(frame), "wfsym-static-stripped+0x%" PRIx64, addr_of(&c, "exe_member") - c.bias);

	/* Bounded: every attempt fails. */
	path_in(cache, sizeof(cache), dir, "cache-down");
	setenv("DEBUGINFOD_CACHE_PATH", cache, 1);
	setenv("WAKEFLOW_DEBUGINFOD_RETRY_S", "0.05", 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port());
	s = symbolizer_new();
	assert_int_equal(symbolizer_use_debuginfod(s, url), 0);
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	st = WAIT_COUNTER(s, gave_up, 1);
	assert_int_equal(st.requested, 1);
	assert_int_equal(st.failed, 5);
	assert_int_equal(st.retried, 4);
	assert_int_equal(st.fetched, 0);
	assert_int_equal(st.queued, 0);
	usleep(500 * 1000); /* and nothing after that */
	sym_debuginfod_get_stats(s, &st);
	assert_int_equal(st.failed, 5);
	symbolizer_free(s);

	/* Down at first, then up: a retry fetches the file. */
	path_in(served, sizeof(served), dir, "served");
	input_path(from, sizeof(from), "wfsym-static.debug");
	place_file(served, "wfsym-static.debug", from);
	build_id_of(from, hex, sizeof(hex));
	port = free_port();
	path_in(cache, sizeof(cache), dir, "cache");
	setenv("DEBUGINFOD_CACHE_PATH", cache, 1);
	setenv("WAKEFLOW_DEBUGINFOD_RETRY_S", "1", 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	s = symbolizer_new();
	assert_int_equal(symbolizer_use_debuginfod(s, url), 0);
	assert_int_equal(sym_process_seen(s, c.pid), 0);
	st = WAIT_COUNTER(s, failed, 1);
	assert_int_equal(st.fetched, 0);
	assert_null(late(s, frame));
	start_debuginfod(dir, served, port);
	st = WAIT_COUNTER(s, fetched, 1);
	assert_int_equal(st.requested, 1);
	assert_true(st.retried >= 1);
	assert_int_equal(st.failed, st.retried); /* every attempt but the last failed */
	assert_int_equal(st.gave_up, 0);
	snprintf(cmd, sizeof(cmd), "%s/%s/debuginfo", cache, hex);
	assert_int_equal(access(cmd, R_OK), 0);
	sleep(1); /* the late search's retry interval */
	usleep(100 * 1000);
	assert_non_null(late(s, frame));
	assert_string_equal(late(s, frame), "wfapp::Dispatcher::onEvent(int)");
	symbolizer_free(s);
	unsetenv("WAKEFLOW_DEBUGINFOD_RETRY_S");
	unsetenv("DEBUGINFOD_CACHE_PATH");
	unsetenv("DEBUGINFOD_URLS");
	finish(&c); /* the teardown stops the server */
}

/*
 * The debuginfod cache's size cap: room for one of the two builds' debug
 * files (92 KB each) and not both. The first build's file is fetched and,
 * before any answer loaded its symbols, evicted when the second's arrives;
 * an answer that needs the first build's names then fetches it again
 * (evicting the second) and is named from it; then the same for the
 * second. Debian's real debuginfod serves both files.
 */
static void test_debuginfod_cache_cap(void **state)
{
	char dir[64], from[PATH_MAX], served[PATH_MAX], cache[PATH_MAX], url[64];
	char hex1[128], hex2[128], frame1[128], frame2[128], path[2 * PATH_MAX];
	struct sym_debuginfod_stats st;
	struct wf_symbolizer *s;
	struct child c1, c2;
	int port;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	path_in(served, sizeof(served), dir, "served");
	input_path(from, sizeof(from), "wfsym-static.debug");
	place_file(served, "one.debug", from);
	build_id_of(from, hex1, sizeof(hex1));
	input_path(from, sizeof(from), "wfsym-static-other.debug");
	place_file(served, "two.debug", from);
	build_id_of(from, hex2, sizeof(hex2));
	port = free_port();
	start_debuginfod(dir, served, port);
	wait_served(port, hex1);
	wait_served(port, hex2);

	path_in(cache, sizeof(cache), dir, "cache");
	setenv("DEBUGINFOD_CACHE_PATH", cache, 1);
	setenv("WAKEFLOW_DEBUGINFOD_CACHE_MB", "0.15", 1); /* 157 KB */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	s = symbolizer_new();
	assert_int_equal(symbolizer_use_debuginfod(s, url), 0);

	input_path(from, sizeof(from), "wfsym-static-stripped");
	spawn(&c1, from, NULL);
	snprintf(frame1, sizeof(frame1), "wfsym-static-stripped+0x%" PRIx64, addr_of(&c1, "exe_member") - c1.bias);
	assert_int_equal(sym_process_seen(s, c1.pid), 0);
	st = WAIT_COUNTER(s, fetched, 1);
	assert_int_equal(st.evicted, 0);
	snprintf(path, sizeof(path), "%s/%s/debuginfo", cache, hex1);
	assert_int_equal(access(path, R_OK), 0);

	input_path(from, sizeof(from), "wfsym-static-other-stripped");
	spawn(&c2, from, NULL);
	snprintf(frame2, sizeof(frame2), "wfsym-static-other-stripped+0x%" PRIx64, addr_of(&c2, "exe_member") - c2.bias);
	assert_int_equal(sym_process_seen(s, c2.pid), 0);
	st = WAIT_COUNTER(s, fetched, 2);
	assert_int_equal(st.evicted, 1);
	assert_true(st.cache_bytes > 0 && st.cache_bytes <= (uint64_t)(0.15 * (1 << 20)));
	assert_int_equal(access(path, F_OK), -1); /* the first build's file went */
	snprintf(path, sizeof(path), "%s/%s/debuginfo", cache, hex2);
	assert_int_equal(access(path, R_OK), 0);

	/* An answer needs the first build's names: its file is fetched again. */
	sleep(1); /* the late search's retry interval */
	usleep(100 * 1000);
	assert_null(late(s, frame1));
	st = WAIT_COUNTER(s, fetched, 3);
	assert_int_equal(st.refetched, 1);
	assert_int_equal(st.requested, 2);
	assert_int_equal(st.evicted, 2);
	sleep(1);
	usleep(100 * 1000);
	assert_non_null(late(s, frame1));
	assert_string_equal(late(s, frame1), "wfapp::Dispatcher::onEvent(int)");
	/* The second build's went for it; needed, it comes back too, and the first stays named (loaded). */
	assert_null(late(s, frame2));
	st = WAIT_COUNTER(s, fetched, 4);
	assert_int_equal(st.refetched, 2);
	sleep(1);
	usleep(100 * 1000);
	assert_non_null(late(s, frame2));
	assert_string_equal(late(s, frame2), "wfapp::Dispatcher::onEvent(int)");
	assert_string_equal(late(s, frame1), "wfapp::Dispatcher::onEvent(int)");
	sym_debuginfod_get_stats(s, &st);
	assert_int_equal(st.fetched, 4);
	assert_int_equal(st.failed, 0);
	symbolizer_free(s);
	unsetenv("WAKEFLOW_DEBUGINFOD_CACHE_MB");
	unsetenv("DEBUGINFOD_CACHE_PATH");
	unsetenv("DEBUGINFOD_URLS");
	finish(&c1);
	finish(&c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_parse_lines),
		cmocka_unit_test(test_maps_parse_file),
		cmocka_unit_test(test_kernel_known_functions),
		cmocka_unit_test(test_kernel_lookup_names),
		cmocka_unit_test(test_kernel_every_symbol),
		cmocka_unit_test(test_kernel_fallbacks),
		cmocka_unit_test(test_module_symbols),
		cmocka_unit_test(test_user_in_process),
		cmocka_unit_test(test_user_special_mappings),
		cmocka_unit_test(test_garbage_input),
		cmocka_unit_test(test_late_names_stack_without_frames),
		cmocka_unit_test(test_pie_seen_exit_gone),
		cmocka_unit_test(test_non_pie),
		cmocka_unit_test(test_stripped),
		cmocka_unit_test_teardown(test_deleted_binary, cleanup_scratch),
		cmocka_unit_test_teardown(test_replaced_binary, cleanup_scratch),
		cmocka_unit_test_teardown(test_overmounted_binary, cleanup_scratch),
		cmocka_unit_test_teardown(test_chroot_container, cleanup_scratch),
		cmocka_unit_test_teardown(test_debug_file_in_container, cleanup_scratch),
		cmocka_unit_test_teardown(test_symbols_dir, cleanup_scratch),
		cmocka_unit_test_teardown(test_debuglink, cleanup_scratch),
		cmocka_unit_test_teardown(test_minidebuginfo, cleanup_scratch),
		cmocka_unit_test_teardown(test_late_names, cleanup_scratch),
		cmocka_unit_test_teardown(test_late_names_by_build, cleanup_scratch),
		cmocka_unit_test_teardown(test_debuginfod, cleanup_scratch),
		cmocka_unit_test_teardown(test_debuginfod_retry, cleanup_scratch),
		cmocka_unit_test_teardown(test_debuginfod_cache_cap, cleanup_scratch),
		cmocka_unit_test(test_exec),
		cmocka_unit_test_teardown(test_build_id_cache, cleanup_scratch),
		cmocka_unit_test(test_benchmark),
	};

	find_inputs();
	/* A child that never exits must fail the run, not hang it. */
	alarm(300);
	return cmocka_run_group_tests_name("symbolize", tests, NULL, NULL);
}
