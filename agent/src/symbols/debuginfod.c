// SPDX-License-Identifier: Apache-2.0
/*
 * Symbol files from debuginfod servers (DEBUGINFOD_URLS), off unless that
 * variable is set. libdebuginfod is loaded with dlopen, so the agent runs
 * (without this) where it is not installed. Fetches run in one background
 * thread: a lookup only queues a build-id and never waits, so neither
 * capture nor an HTTP answer blocks on the network. libdebuginfod stores
 * each file in its client cache as CACHE/<build-id>/debuginfo, a layout
 * the build-id lookup reads (elf_cache.c), with the cache directory last
 * among the --symbols directories; frames recorded before the file arrived
 * are named at read time (late_names.c). After each fetch the cache is cut
 * back to its size cap, oldest files first.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logging.h"
#include "symbolize_int.h"

/* Build-ids waiting for the thread, and every one asked for (each is fetched once). */
#define DIF_MAX_QUEUE 256
#define DIF_MAX_ASKED 4096
#define DIF_DEFAULT_CAP_MB 2048

struct dif_id {
	uint8_t id[ELF_SYMS_BUILD_ID_MAX];
	size_t len;
};

struct sym_debuginfod {
	/* libdebuginfod, through dlopen */
	void *lib;
	debuginfod_client *(*begin)(void);
	int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
	void (*end)(debuginfod_client *);

	char cache[PATH_MAX];
	uint64_t cap_bytes;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop, busy; /* busy: a fetch in flight */
	struct dif_id queue[DIF_MAX_QUEUE];
	size_t nqueue;
	struct dif_id *asked;
	size_t nasked;
	struct sym_debuginfod_stats stats;
};

static bool same_id(const struct dif_id *a, const uint8_t *id, size_t len)
{
	return a->len == len && memcmp(a->id, id, len) == 0;
}

/* ---- the cache's size cap ------------------------------------------------- */

struct cache_entry {
	char name[NAME_MAX + 1];
	time_t mtime;
	uint64_t bytes;
};

static int by_age(const void *a, const void *b)
{
	const struct cache_entry *x = a, *y = b;

	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Bytes of the files directly in dir (a cache entry holds one or two). */
static uint64_t dir_bytes(const char *dir)
{
	char path[3 * PATH_MAX];
	uint64_t sum = 0;
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!lstat(path, &st) && S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return sum;
}

static void remove_entry(const char *dir)
{
	char path[3 * PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Keeps the cache under its cap, dropping the entries fetched longest ago;
 * returns the bytes it then holds. A symbol table already loaded keeps its
 * file mapped, so a dropped file stays readable until it is freed. */
static uint64_t cache_trim(struct sym_debuginfod *f)
{
	struct cache_entry *e = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	char path[2 * PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(f->cache);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		/* Entries are named by the build-id, in hex. */
		if (strspn(de->d_name, "0123456789abcdef") != strlen(de->d_name) || strlen(de->d_name) < 4)
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->cache, de->d_name);
		if (lstat(path, &st) || !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			struct cache_entry *grown = realloc(e, (cap = cap ? 2 * cap : 64) * sizeof(*e));

			if (!grown)
				break;
			e = grown;
		}
		snprintf(e[n].name, sizeof(e[n].name), "%s", de->d_name);
		e[n].mtime = st.st_mtime;
		e[n].bytes = dir_bytes(path);
		total += e[n].bytes;
		n++;
	}
	closedir(d);
	qsort(e, n, sizeof(*e), by_age);
	for (size_t i = 0; i < n && total > f->cap_bytes; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->cache, e[i].name);
		remove_entry(path);
		total -= e[i].bytes;
		f->stats.evicted++;
	}
	free(e);
	return total;
}

/* ---- the fetching thread -------------------------------------------------- */

static void *fetch_loop(void *arg)
{
	struct sym_debuginfod *f = arg;
	debuginfod_client *client = f->begin();

	pthread_mutex_lock(&f->lock);
	f->stats.cache_bytes = cache_trim(f);
	for (;;) {
		struct dif_id next;
		char *path = NULL;
		int fd;

		while (!f->stop && !f->nqueue)
			pthread_cond_wait(&f->wake, &f->lock);
		if (f->stop)
			break;
		next = f->queue[0];
		memmove(f->queue, f->queue + 1, --f->nqueue * sizeof(f->queue[0]));
		f->busy = true;
		pthread_mutex_unlock(&f->lock);

		/* The network wait, with no lock held. */
		fd = client ? f->find_debuginfo(client, next.id, (int)next.len, &path) : -ENOSYS;
		if (fd >= 0)
			close(fd);
		free(path);

		pthread_mutex_lock(&f->lock);
		f->busy = false;
		if (fd >= 0) {
			f->stats.fetched++;
		} else {
			f->stats.failed++;
			f->stats.last_error = -fd;
		}
		f->stats.cache_bytes = cache_trim(f);
	}
	pthread_mutex_unlock(&f->lock);
	if (client)
		f->end(client);
	return NULL;
}

/* ---- public face ------------------------------------------------------------ */

static void debuginfod_free(struct sym_debuginfod *f)
{
	if (f->lib)
		dlclose(f->lib);
	free(f->asked);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->wake);
	free(f);
}

int symbolizer_use_debuginfod(struct wf_symbolizer *s, const char *urls)
{
	struct sym_debuginfod *f;
	const char *cache = getenv(DEBUGINFOD_CACHE_PATH_ENV_VAR), *cap = getenv("WAKEFLOW_DEBUGINFOD_CACHE_MB");
	char *end;

	if (!urls || !*urls)
		return 0; /* off unless set */
	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->wake, NULL);
	f->cap_bytes = (uint64_t)DIF_DEFAULT_CAP_MB << 20;
	if (cap && *cap) {
		unsigned long long mb = strtoull(cap, &end, 10);

		if (*end || !mb) {
			wf_log(WF_LOG_WARN, "symbols: WAKEFLOW_DEBUGINFOD_CACHE_MB '%s' is not a positive number of MiB; using %d",
			       cap, DIF_DEFAULT_CAP_MB);
		} else {
			f->cap_bytes = (uint64_t)mb << 20;
		}
	}
	/* libdebuginfod reads the cache path from the environment; set it so we know where files land. */
	snprintf(f->cache, sizeof(f->cache), "%s", cache && *cache ? cache : "/var/cache/wakeflow/debuginfod");
	if (!cache || !*cache)
		setenv(DEBUGINFOD_CACHE_PATH_ENV_VAR, f->cache, 1);
	/* libdebuginfod reads the servers from the environment too. */
	setenv(DEBUGINFOD_URLS_ENV_VAR, urls, 1);
	f->lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
	if (f->lib) {
		f->begin = (debuginfod_client * (*)(void)) dlsym(f->lib, "debuginfod_begin");
		f->find_debuginfo = (int (*)(debuginfod_client *, const unsigned char *, int, char **))dlsym(
			f->lib, "debuginfod_find_debuginfo");
		f->end = (void (*)(debuginfod_client *))dlsym(f->lib, "debuginfod_end");
	}
	if (!f->lib || !f->begin || !f->find_debuginfo || !f->end) {
		wf_log(WF_LOG_WARN, "symbols: DEBUGINFOD_URLS is set but libdebuginfod.so.1 cannot be loaded (%s): "
				    "install Debian's libdebuginfod1; symbols come from --symbols only",
		       dlerror());
		debuginfod_free(f);
		s->stats.errors++;
		return 0;
	}
	{
		/* mkdir -p: libdebuginfod creates the entries, not the parents. */
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", f->cache);
		for (char *p = dir + 1; *p; p++) {
			if (*p == '/') {
				*p = '\0';
				mkdir(dir, 0700);
				*p = '/';
			}
		}
		mkdir(dir, 0700);
	}
	if (symbolizer_add_dir(s, f->cache)) {
		debuginfod_free(f);
		return -1;
	}
	f->stats.enabled = true;
	if (pthread_create(&f->thread, NULL, fetch_loop, f)) {
		debuginfod_free(f);
		return -1;
	}
	s->debuginfod = f;
	wf_log(WF_LOG_INFO, "symbols: fetching missing symbol files from DEBUGINFOD_URLS (%s) into %s (cap %llu MiB)",
	       urls, f->cache, (unsigned long long)(f->cap_bytes >> 20));
	return 0;
}

void debuginfod_request(struct wf_symbolizer *s, const uint8_t *id, size_t len)
{
	struct sym_debuginfod *f = s->debuginfod;

	if (!f || !len || len > ELF_SYMS_BUILD_ID_MAX)
		return;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nasked; i++)
		if (same_id(&f->asked[i], id, len))
			goto out; /* fetched once, or failed once: not again */
	if (f->nqueue >= DIF_MAX_QUEUE || f->nasked >= DIF_MAX_ASKED) {
		f->stats.dropped++;
		goto out;
	}
	if (f->nasked % 64 == 0) {
		struct dif_id *grown = realloc(f->asked, (f->nasked + 64) * sizeof(*grown));

		if (!grown) {
			f->stats.dropped++;
			goto out;
		}
		f->asked = grown;
	}
	memcpy(f->asked[f->nasked].id, id, len);
	f->asked[f->nasked++].len = len;
	memcpy(f->queue[f->nqueue].id, id, len);
	f->queue[f->nqueue++].len = len;
	f->stats.requested++;
	pthread_cond_signal(&f->wake);
out:
	pthread_mutex_unlock(&f->lock);
}

void sym_debuginfod_get_stats(struct wf_symbolizer *s, struct sym_debuginfod_stats *out)
{
	struct sym_debuginfod *f = s->debuginfod;

	memset(out, 0, sizeof(*out));
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	*out = f->stats;
	out->queued = f->nqueue;
	pthread_mutex_unlock(&f->lock);
}

void debuginfod_stop(struct wf_symbolizer *s)
{
	struct sym_debuginfod *f = s->debuginfod;

	if (!f)
		return;
	s->debuginfod = NULL;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_signal(&f->wake);
	if (f->busy) {
		/* A fetch in flight may wait up to DEBUGINFOD_TIMEOUT: do not hold
		 * up the agent's exit for it; the thread ends on its own and its
		 * state is left allocated. */
		pthread_mutex_unlock(&f->lock);
		pthread_detach(f->thread);
		return;
	}
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	debuginfod_free(f);
}
