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
 * back to its size cap, oldest files first. A failed fetch (a server down,
 * a file not indexed yet) is tried again with a doubling backoff, a few
 * times (DIF_MAX_ATTEMPTS).
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
#include <time.h>
#include <unistd.h>

#include "logging.h"
#include "symbolize_int.h"

/* Build-ids waiting for the thread, and every one asked for (each is fetched once). */
#define DIF_MAX_QUEUE 256
#define DIF_MAX_ASKED 4096
#define DIF_DEFAULT_CAP_MB 2048
/* A failed fetch is tried again after DIF_RETRY_S (WAKEFLOW_DEBUGINFOD_RETRY_S),
 * then after twice as long each time, DIF_MAX_ATTEMPTS times in all: a
 * server that was down, or had not indexed the file yet, is asked again
 * over about 8 minutes, then the build is given up on until a restart. */
#define DIF_RETRY_S 30.0
#define DIF_MAX_ATTEMPTS 5

struct dif_id {
	uint8_t id[ELF_SYMS_BUILD_ID_MAX];
	size_t len;
	bool fetched;	   /* asked list: its last fetch brought the file */
	unsigned attempts; /* fetches tried so far */
	uint64_t due_ns;   /* CLOCK_MONOTONIC: not before this (a retry's backoff) */
};

struct sym_debuginfod {
	/* libdebuginfod, through dlopen */
	void *lib;
	debuginfod_client *(*begin)(void);
	int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int, char **);
	void (*end)(debuginfod_client *);

	char cache[PATH_MAX];
	uint64_t cap_bytes;
	uint64_t retry_ns; /* the first retry's backoff */

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

/* A build-id in hex, as the cache names its entries. */
static void id_hex(const uint8_t *id, size_t len, char hex[2 * ELF_SYMS_BUILD_ID_MAX + 1])
{
	hex[0] = '\0';
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
}

/* ---- the cache's size cap ------------------------------------------------- */

struct cache_entry {
	char name[NAME_MAX + 1];
	struct timespec mtime; /* the entry's directory: when its file was written */
	uint64_t bytes;
};

/* Oldest first, to the nanosecond: two fetches often fall in one second. */
static int by_age(const void *a, const void *b)
{
	const struct cache_entry *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : x->mtime.tv_nsec > y->mtime.tv_nsec;
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

/* Keeps the cache under its cap, dropping the entries fetched longest ago
 * but never keep (the one just fetched: hex, or NULL); returns the bytes
 * it then holds. A symbol table already loaded keeps its file mapped, so a
 * dropped file stays readable until it is freed. */
static uint64_t cache_trim(struct sym_debuginfod *f, const char *keep)
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
		e[n].mtime = st.st_mtim;
		e[n].bytes = dir_bytes(path);
		total += e[n].bytes;
		n++;
	}
	closedir(d);
	qsort(e, n, sizeof(*e), by_age);
	for (size_t i = 0; i < n && total > f->cap_bytes; i++) {
		if (keep && !strcmp(e[i].name, keep))
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->cache, e[i].name);
		remove_entry(path);
		total -= e[i].bytes;
		f->stats.evicted++;
	}
	free(e);
	return total;
}

/* ---- the fetching thread -------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The first queued build-id that is due (index), or -1 with *wait_ns the
 * time until the earliest one is. Lock held. */
static ssize_t next_due(const struct sym_debuginfod *f, uint64_t now, uint64_t *wait_ns)
{
	*wait_ns = UINT64_MAX;
	for (size_t i = 0; i < f->nqueue; i++) {
		if (f->queue[i].due_ns <= now)
			return (ssize_t)i;
		if (f->queue[i].due_ns - now < *wait_ns)
			*wait_ns = f->queue[i].due_ns - now;
	}
	return -1;
}

/* Sleeps on the condition for at most ns (UINT64_MAX: until woken). Lock held. */
static void wait_for(struct sym_debuginfod *f, uint64_t ns)
{
	struct timespec ts;
	uint64_t at;

	if (ns == UINT64_MAX) {
		pthread_cond_wait(&f->wake, &f->lock);
		return;
	}
	at = mono_ns() + ns;
	ts.tv_sec = (time_t)(at / 1000000000ull);
	ts.tv_nsec = (long)(at % 1000000000ull);
	pthread_cond_timedwait(&f->wake, &f->lock, &ts);
}

/*
 * libdebuginfod remembers a "not found" as an empty CACHE/<build-id>/debuginfo
 * and answers from it, without asking the servers, for cache_miss_s (600 s):
 * a retry removes it, so that it reaches the servers.
 */
static void forget_miss(const struct sym_debuginfod *f, const struct dif_id *d)
{
	char hex[2 * ELF_SYMS_BUILD_ID_MAX + 1], path[PATH_MAX + 2 * ELF_SYMS_BUILD_ID_MAX + 16];
	struct stat st;

	id_hex(d->id, d->len, hex);
	snprintf(path, sizeof(path), "%s/%s/debuginfo", f->cache, hex);
	if (!lstat(path, &st) && S_ISREG(st.st_mode) && st.st_size == 0)
		unlink(path);
}

/* A failed fetch: queued again after its backoff, unless it had all its attempts. Lock held. */
static void retry_later(struct sym_debuginfod *f, struct dif_id d)
{
	if (d.attempts >= DIF_MAX_ATTEMPTS || f->nqueue >= DIF_MAX_QUEUE) {
		f->stats.gave_up++;
		return;
	}
	d.due_ns = mono_ns() + (f->retry_ns << (d.attempts - 1));
	f->queue[f->nqueue++] = d;
}

/* The asked list's entry for d: its file came. Lock held. */
static void mark_fetched(struct sym_debuginfod *f, const struct dif_id *d)
{
	for (size_t i = 0; i < f->nasked; i++)
		if (same_id(&f->asked[i], d->id, d->len))
			f->asked[i].fetched = true;
}

/* Whether a build-id's file is in the cache now (not evicted since its fetch). */
static bool in_cache(const struct sym_debuginfod *f, const uint8_t *id, size_t len)
{
	char hex[2 * ELF_SYMS_BUILD_ID_MAX + 1], path[PATH_MAX + 2 * ELF_SYMS_BUILD_ID_MAX + 16];
	struct stat st;

	id_hex(id, len, hex);
	snprintf(path, sizeof(path), "%s/%s/debuginfo", f->cache, hex);
	return !stat(path, &st) && st.st_size > 0;
}

static void *fetch_loop(void *arg)
{
	struct sym_debuginfod *f = arg;
	debuginfod_client *client = f->begin();

	pthread_mutex_lock(&f->lock);
	f->stats.cache_bytes = cache_trim(f, NULL);
	for (;;) {
		struct dif_id next;
		char *path = NULL;
		uint64_t wait_ns;
		ssize_t i;
		int fd;

		while (!f->stop && (i = next_due(f, mono_ns(), &wait_ns)) < 0)
			wait_for(f, wait_ns);
		if (f->stop)
			break;
		next = f->queue[i];
		memmove(f->queue + i, f->queue + i + 1, (--f->nqueue - (size_t)i) * sizeof(f->queue[0]));
		f->busy = true;
		if (next.attempts++)
			f->stats.retried++;
		pthread_mutex_unlock(&f->lock);

		/* The network wait, with no lock held. */
		if (next.attempts > 1)
			forget_miss(f, &next);
		fd = client ? f->find_debuginfo(client, next.id, (int)next.len, &path) : -ENOSYS;
		if (fd >= 0)
			close(fd);
		free(path);

		pthread_mutex_lock(&f->lock);
		f->busy = false;
		if (fd >= 0) {
			f->stats.fetched++;
			mark_fetched(f, &next);
		} else {
			f->stats.failed++;
			f->stats.last_error = -fd;
			retry_later(f, next);
		}
		{
			char hex[2 * ELF_SYMS_BUILD_ID_MAX + 1];

			id_hex(next.id, next.len, hex);
			f->stats.cache_bytes = cache_trim(f, fd >= 0 ? hex : NULL);
		}
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
	const char *retry = getenv("WAKEFLOW_DEBUGINFOD_RETRY_S");
	char *end;

	if (!urls || !*urls)
		return 0; /* off unless set */
	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	pthread_mutex_init(&f->lock, NULL);
	{
		/* Retries wait on the monotonic clock (wait_for): a clock step neither hurries nor stalls them. */
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&f->wake, &attr);
		pthread_condattr_destroy(&attr);
	}
	f->cap_bytes = (uint64_t)DIF_DEFAULT_CAP_MB << 20;
	if (cap && *cap) {
		/* A fraction is fine ("0.5"): the cap is counted in bytes. */
		double mb = strtod(cap, &end);

		if (*end || !(mb > 0 && mb < 1e9)) {
			wf_log(WF_LOG_WARN, "symbols: WAKEFLOW_DEBUGINFOD_CACHE_MB '%s' is not a positive number of MiB; using %d",
			       cap, DIF_DEFAULT_CAP_MB);
		} else {
			f->cap_bytes = (uint64_t)(mb * (1 << 20));
		}
	}
	f->retry_ns = (uint64_t)(DIF_RETRY_S * 1e9);
	if (retry && *retry) {
		double sec = strtod(retry, &end);

		/* At least 10 ms, at most a day: the backoff doubles from it. */
		if (*end || !(sec >= 0.01 && sec <= 86400))
			wf_log(WF_LOG_WARN, "symbols: WAKEFLOW_DEBUGINFOD_RETRY_S '%s' is not a number of seconds "
					    "from 0.01 to 86400; using %g",
			       retry, DIF_RETRY_S);
		else
			f->retry_ns = (uint64_t)(sec * 1e9);
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
	wf_log(WF_LOG_INFO, "symbols: fetching missing symbol files from DEBUGINFOD_URLS (%s) into %s (cap %.6g MiB)",
	       urls, f->cache, (double)f->cap_bytes / (1 << 20));
	return 0;
}

void debuginfod_request(struct wf_symbolizer *s, const uint8_t *id, size_t len)
{
	struct sym_debuginfod *f = s->debuginfod;

	if (!f || !len || len > ELF_SYMS_BUILD_ID_MAX)
		return;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nasked; i++) {
		struct dif_id *a = &f->asked[i];

		if (!same_id(a, id, len))
			continue;
		/* Fetched, then evicted for the size cap, and needed again (its
		 * symbols were not loaded before it went): fetched again. Else it
		 * is being fetched or retried, or was given up on. */
		if (a->fetched && !in_cache(f, id, len) && f->nqueue < DIF_MAX_QUEUE) {
			a->fetched = false;
			memset(&f->queue[f->nqueue], 0, sizeof(f->queue[0]));
			memcpy(f->queue[f->nqueue].id, id, len);
			f->queue[f->nqueue++].len = len;
			f->stats.refetched++;
			pthread_cond_signal(&f->wake);
		}
		goto out;
	}
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
	memset(&f->asked[f->nasked], 0, sizeof(f->asked[0]));
	memcpy(f->asked[f->nasked].id, id, len);
	f->asked[f->nasked++].len = len;
	memset(&f->queue[f->nqueue], 0, sizeof(f->queue[0]));
	memcpy(f->queue[f->nqueue].id, id, len);
	f->queue[f->nqueue++].len = len; /* due at once */
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
