// SPDX-License-Identifier: Apache-2.0
/*
 * wakeflow-agent serve: the node-local daemon. Every window it drains the
 * capture, classifies, attaches target labels, writes the store, keeps the
 * window in memory and updates the metrics; HTTP threads answer meanwhile.
 * Lifecycle, one function each: parse_serve_flags (form, serve_flags.c) -> serve_check
 * (meaning: listen address, token, targets, rules; nothing created yet) ->
 * serve_setup (catalog, tracker, store and ring, capture, HTTP) ->
 * serve_loop (a window every --window seconds; on SIGTERM the window in
 * progress) -> serve_cleanup. --bench-fill leaves after the flags for
 * benchfill.c and none of the daemon runs.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "benchfill.h"
#include "capture.h"
#include "catalog.h"
#include "classify.h"
#include "clock.h"
#include "chains.h"
#include "collect.h"
#include "commands.h"
#include "history.h"
#include "http_api.h"
#include "intern.h"
#include "logging.h"
#include "metrics.h"
#include "store.h"
#include "serve_flags.h"
#include "symbolize.h"
#include "targets.h"
#include "tracker.h"

#define TOKEN_MAX 4096
/* More than capture attaches (about 30 with the irq-state programs). */
#define STATUS_MAX_PROGRAMS 64


static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

struct serve {
	int64_t window_ms;
	int64_t retention_ms;
	/* Memory never holds more than the retention: the ring's span (and
	 * full edge records) is WF_RING_SPAN_MS or the retention if shorter,
	 * pruned every WF_CATALOG_PRUNE_INTERVAL_MS or half the span. */
	int64_t ring_span_ms, prune_every_ms;
	struct wf_capture *cap;
	struct wf_rules *rules;
	struct wf_catalog *cat;
	struct wf_store *store;
	struct wf_history *hist;
	struct wf_metrics *metrics;
	struct wf_tracker *tracker;
	struct wf_http *http;
	char listen[128];
	char *token; /* --token-file's contents, NULL without one */

	pthread_mutex_t stats_lock; /* stats and programs are read by HTTP threads */
	struct capture_stats stats, prev_stats;
	/* What the main loop holds in memory, copied each window under
	 * stats_lock (the intern table is main-loop only), for /api/v1/status. */
	size_t intern_strings, intern_bytes;
	char programs[STATUS_MAX_PROGRAMS][64];
	size_t nprograms;

	int32_t gone[256]; /* pids that exited this window */
	size_t ngone;
	struct wf_collected *col; /* the window being assembled */
	int64_t now_ms;
	int64_t last_prune_ms;
	/* When capture_open returned: its last step attached the scheduler
	 * programs, so the totals the first drain reads were counted from
	 * (about) then. The first window starts here, not when the loop
	 * starts, so its length covers what it holds. */
	int64_t counting_since_ms;
};

/* ---- the token file ---- */

/*
 * The token file must be a regular file nobody else can read: a token
 * every local user can read protects nothing. Kubernetes secret volumes
 * are mode 0644 unless the volume sets defaultMode (docs/api.md).
 */
static char *read_token(const char *path, char *err, size_t errlen)
{
	char *buf;
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "cannot read token file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "token file %s is not a regular file", path);
		close(fd);
		return NULL;
	}
	if (sb.st_mode & S_IROTH) {
		snprintf(err, errlen,
			 "token file %s is readable by every user (mode %04o): chmod 600 it (Kubernetes: defaultMode 0400)",
			 path, (unsigned)(sb.st_mode & 07777));
		close(fd);
		return NULL;
	}
	buf = calloc(1, TOKEN_MAX + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = read(fd, buf, TOKEN_MAX + 1);
	close(fd);
	if (n > TOKEN_MAX) {
		snprintf(err, errlen, "token file %s is longer than %d bytes", path, TOKEN_MAX);
		free(buf);
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	if (n <= 0 || strlen(buf) != (size_t)n) {
		snprintf(err, errlen, "token file %s is empty or holds a NUL byte", path);
		free(buf);
		return NULL;
	}
	/* A Bearer token is visible ASCII (RFC 6750 token68): anything else
	 * could never be sent in a header, or would be cut where it is. */
	for (ssize_t i = 0; i < n; i++) {
		if ((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f) {
			snprintf(err, errlen, "token file %s holds a space or control character at byte %zd: a token is visible ASCII",
				 path, i);
			free(buf);
			return NULL;
		}
	}
	return buf;
}

/* ---- the window ---- */

/*
 * What memory holds is bounded by what may still be asked for: edges and
 * gone targets past the retention are forgotten, full edge records the
 * ring no longer covers are left to the store, and then every interned
 * string that no record in memory, no symbolizer cache and no pending edge
 * holds is evicted (intern.h). Runs between windows, when the window's own
 * edges are freed.
 */
static void prune_memory(struct serve *s, int64_t now_ms)
{
	size_t evicted;

	catalog_prune(s->cat, now_ms - s->retention_ms, now_ms - s->ring_span_ms);
	intern_sweep_begin();
	catalog_mark_interned(s->cat);
	capture_mark_interned(s->cap);
	evicted = intern_sweep_end();
	wf_log(WF_LOG_DEBUG, "serve: pruned memory: %zu interned strings evicted, %zu kept (%zu bytes)", evicted,
	       intern_count(), intern_bytes());
}

static uint32_t resolve_target(void *ctx, int32_t pid, const char *comm)
{
	struct serve *s = ctx;

	return tracker_resolve(s->tracker, pid, comm, s->now_ms);
}

/* A process is traced from now: who it is is read while it runs, and its
 * throttling is counted from now on (tracker.h). */
static void target_appeared(void *ctx, int32_t pid)
{
	struct serve *s = ctx;

	tracker_appeared(s->tracker, pid, wall_ms());
}

static void target_live(void *ctx, uint32_t target_id, const struct wf_throttle *d)
{
	struct serve *s = ctx;
	struct wf_wtarget *t = collected_target(s->col, target_id);

	/* Every running target gets a record, active or not, so its
	 * throttling is seen even in a window without wakeups. */
	if (!t)
		return;
	t->nr_periods += d->nr_periods;
	t->nr_throttled += d->nr_throttled;
	t->throttled_us += d->throttled_usec;
}

static void target_gone(void *ctx, uint32_t target_id, int32_t pid)
{
	struct serve *s = ctx;

	(void)target_id;
	if (s->ngone < sizeof(s->gone) / sizeof(s->gone[0]))
		s->gone[s->ngone++] = pid;
}

static void lost_metric(struct serve *s, const char *reason, uint64_t now, uint64_t before)
{
	if (now > before)
		metrics_add(s->metrics, WF_M_LOST, (const char *[]){ "reason", reason, NULL }, (double)(now - before));
}

static void update_health(struct serve *s, double drain_ms, double write_ms)
{
	struct capture_stats st, prev;

	capture_get_stats(s->cap, &st);
	pthread_mutex_lock(&s->stats_lock);
	prev = s->prev_stats;
	s->stats = st;
	s->prev_stats = st;
	s->intern_strings = intern_count();
	s->intern_bytes = intern_bytes();
	pthread_mutex_unlock(&s->stats_lock);

	{
		struct wf_counter now_lost[CAPTURE_LOST_COUNTERS], prev_lost[CAPTURE_LOST_COUNTERS];

		capture_lost_counters(&st, now_lost);
		capture_lost_counters(&prev, prev_lost);
		for (int i = 0; i < CAPTURE_LOST_COUNTERS; i++)
			lost_metric(s, now_lost[i].name, now_lost[i].value, prev_lost[i].value);
	}
	if (st.edges_dropped + st.state_dropped + st.ringbuf_dropped + st.totals_dropped >
	    prev.edges_dropped + prev.state_dropped + prev.ringbuf_dropped + prev.totals_dropped)
		wf_log(WF_LOG_WARN, "capture: kernel maps full this window (edges %llu, threads %llu, totals %llu, "
				    "ring buffer %llu dropped so far)",
		       (unsigned long long)st.edges_dropped, (unsigned long long)st.state_dropped,
		       (unsigned long long)st.totals_dropped, (unsigned long long)st.ringbuf_dropped);
	if (st.symbolize_failures > prev.symbolize_failures)
		metrics_add(s->metrics, WF_M_SYMBOLIZE_FAILURES, NULL,
			    (double)(st.symbolize_failures - prev.symbolize_failures));
	if (st.events > prev.events)
		metrics_add(s->metrics, WF_M_EVENTS, NULL, (double)(st.events - prev.events));
	metrics_set(s->metrics, WF_M_DRAIN_SECONDS, NULL, drain_ms / 1000.0);
	metrics_set(s->metrics, WF_M_STORE_WRITE_SECONDS, NULL, write_ms / 1000.0);
	metrics_set(s->metrics, WF_M_TARGETS, NULL, (double)tracker_live_count(s->tracker));
	metrics_add(s->metrics, WF_M_WINDOWS, NULL, 1);
}

/* Drains, classifies and records the window [start, end). */
static void finish_window(struct serve *s, int64_t start, int64_t end)
{
	struct wf_edge_list edges = { 0 };
	struct wf_chain_list chains = { 0 };
	struct capture_totals totals = { 0 };
	struct wf_collected col = { 0 };
	struct wf_encoded enc;
	struct wf_store_status before, after;
	struct wf_collect_ctx cc = {
		.cat = s->cat, .rules = s->rules, .target_of = resolve_target, .ctx = s, .now_ms = end
	};
	double t0 = mono_ms(), drain_ms, write_ms = 0;
	bool persisted;

	s->now_ms = end;
	s->col = &col;
	s->ngone = 0;
	if (capture_drain(s->cap, &edges, &totals))
		wf_log(WF_LOG_ERROR, "capture: draining the window failed; its events are lost");
	if (collect_window(&cc, &edges, &totals, &col))
		wf_log(WF_LOG_ERROR, "serve: out of memory assembling the window; part of it is lost");
	/* Chains (nothing with --chains 1): each link classified and
	 * catalogued as an edge of the chain's target, beside the edges. */
	if (capture_drain_chains(s->cap, &chains))
		wf_log(WF_LOG_ERROR, "capture: draining the window's chains failed; they are lost");
	if (collect_chains(&cc, &chains, &col, NULL))
		wf_log(WF_LOG_ERROR, "serve: out of memory assembling the window's chains; part of them is lost");
	tracker_end_window(s->tracker, end, target_live, target_gone, s);
	drain_ms = mono_ms() - t0;

	for (size_t i = 0; i < col.n; i++) {
		struct wf_target t;

		wtarget_normalize(&col.t[i]);
		if (catalog_target_get(s->cat, col.t[i].target_id, &t) == 0)
			metrics_add_window(s->metrics, &col.t[i], &t, s->cat);
	}
	for (size_t i = 0; i < s->ngone; i++)
		metrics_forget_pid(s->metrics, s->gone[i]);

	if (collected_encode(&col, start, end, &enc) == 0) {
		store_status(s->store, &before);
		t0 = mono_ms();
		/* Windows the store did not take come first: a minute is rolled
		 * up from all of its windows. */
		persisted = history_write_pending(s->hist, end) == 0 && store_write_window(s->store, &enc.window, end) == 0;
		write_ms = mono_ms() - t0;
		store_status(s->store, &after);
		if (after.errors > before.errors)
			metrics_add(s->metrics, WF_M_STORE_ERRORS, NULL, (double)(after.errors - before.errors));
		if (history_add(s->hist, &enc.window, persisted))
			wf_log(WF_LOG_ERROR, "serve: out of memory keeping the window in memory");
		encoded_free(&enc);
	} else {
		wf_log(WF_LOG_ERROR, "serve: out of memory encoding the window; it is lost");
	}
	update_health(s, drain_ms, write_ms);
	wf_log(WF_LOG_DEBUG, "serve: window %lld+%lldms: %zu edges, %zu threads, %zu targets, drain %.1fms, write %.1fms",
	       (long long)start, (long long)(end - start), edges.len, totals.len, col.n, drain_ms, write_ms);

	s->col = NULL;
	collected_free(&col);
	edge_list_free(&edges);
	chain_list_free(&chains);
	capture_totals_free(&totals);
	if (end - s->last_prune_ms >= s->prune_every_ms) {
		prune_memory(s, end);
		s->last_prune_ms = end;
	}
}

/* ---- /api/v1/status: the capture's part ---- */

/* Symbol files found late and fetched from debuginfod (docs/api.md). */
static void symbols_status_json(struct serve *s, struct json *j)
{
	struct wf_symbolizer *sym = capture_symbolizer(s->cap);
	struct sym_debuginfod_stats d;
	uint64_t files, named;

	sym_late_get_stats(sym, &files, &named);
	sym_debuginfod_get_stats(sym, &d);
	json_key(j, "symbols");
	json_obj_begin(j);
	json_key(j, "late_files");
	json_u64(j, files);
	json_key(j, "late_frames_named");
	json_u64(j, named);
	json_key(j, "debuginfod");
	json_obj_begin(j);
	json_key(j, "enabled");
	json_bool(j, d.enabled);
	json_counters(j,
		      (const struct wf_counter[]){ { "requested", d.requested },
						   { "fetched", d.fetched },
						   { "failed", d.failed },
						   { "retried", d.retried },
						   { "gave_up", d.gave_up },
						   { "refetched", d.refetched } },
		      6);
	json_key(j, "last_error");
	json_str(j, d.failed ? strerrordesc_np(d.last_error) : NULL);
	json_counters(j,
		      (const struct wf_counter[]){ { "queued", d.queued },
						   { "dropped", d.dropped },
						   { "evicted", d.evicted },
						   { "cache_bytes", d.cache_bytes } },
		      4);
	json_obj_end(j);
	json_obj_end(j);
}

static void status_json(void *ctx, struct json *j)
{
	struct serve *s = ctx;
	struct capture_stats st;

	pthread_mutex_lock(&s->stats_lock);
	st = s->stats;
	json_key(j, "listen");
	json_str(j, s->listen);
	json_key(j, "window_s");
	json_i64(j, s->window_ms / 1000);
	json_key(j, "retention_s");
	json_i64(j, s->retention_ms / 1000);
	json_key(j, "intern");
	json_obj_begin(j);
	json_key(j, "strings");
	json_i64(j, (int64_t)s->intern_strings);
	json_key(j, "bytes");
	json_i64(j, (int64_t)s->intern_bytes);
	json_obj_end(j);
	json_key(j, "names");
	json_i64(j, (int64_t)catalog_name_count(s->cat));
	json_key(j, "rules");
	json_str(j, s->rules ? rules_origin(s->rules) : NULL);
	json_key(j, "programs");
	json_arr_begin(j);
	for (size_t i = 0; i < s->nprograms; i++)
		json_str(j, s->programs[i]);
	json_arr_end(j);
	pthread_mutex_unlock(&s->stats_lock);
	json_key(j, "attach_mode");
	json_str(j, st.attach_mode);
	json_key(j, "capture");
	json_obj_begin(j);
	json_key(j, "events");
	json_u64(j, st.events);
	json_key(j, "processes");
	json_u64(j, st.targets);
	json_key(j, "sched_attached");
	json_bool(j, st.sched_attached);
	json_key(j, "kernel_stack_walker");
	json_str(j, st.unwinder);
	{
		struct wf_counter counts[CAPTURE_COUNTERS];

		capture_counters(&st, counts);
		json_counters(j, counts, CAPTURE_COUNTERS);
	}
	json_key(j, "wakeups_unseen");
	json_u64(j, st.wakeups_unseen);
	json_key(j, "symbolize_failures");
	json_u64(j, st.symbolize_failures);
	json_key(j, "last_drain_ms");
	json_f64(j, st.last_drain_ms);
	json_key(j, "chains_in_map");
	json_u64(j, st.chains_in_map);
	json_obj_end(j);
	json_key(j, "lost");
	json_obj_begin(j);
	{
		struct wf_counter lost[CAPTURE_LOST_COUNTERS];

		capture_lost_counters(&st, lost);
		json_counters(j, lost, CAPTURE_LOST_COUNTERS);
	}
	/* Here rather than among the lost counters, which /metrics also
	 * exports: metrics gain nothing for chains (issue 12). */
	json_key(j, "chains_dropped");
	json_u64(j, st.chains_dropped);
	json_obj_end(j);
	symbols_status_json(s, j);
}

/* ---- set-up, loop, clean-up ---- */

static int print_error(int status, const char *err)
{
	fprintf(stderr, "wakeflow-agent: %s\n", err);
	return status;
}

/*
 * What the flags mean, checked before anything is opened or created: the
 * listen address and its token, the target selection, the rules. Returns
 * 0, or 2 (usage) with the error printed.
 */
static int serve_check(const struct serve_flags *f, struct serve *s, struct sockaddr_storage *addr,
		       socklen_t *addrlen)
{
	char err[512];
	struct wf_targets *t;

	if (http_parse_listen(f->listen, addr, addrlen, err, sizeof(err)))
		return print_error(2, err);
	snprintf(s->listen, sizeof(s->listen), "%s", f->listen);
	if (!http_is_loopback(addr) && !f->token_file && !f->insecure)
		return serve_usage_error("--listen %s is reachable from other hosts: give --token-file FILE (or "
				   "--insecure-no-token to serve the history to anyone who can connect)",
				   f->listen);
	if (f->token_file && !(s->token = read_token(f->token_file, err, sizeof(err))))
		return print_error(2, err);
	t = targets_new(f->proc_root, f->copts.pids, f->copts.npids, f->copts.comm_regex, f->copts.ncomm, err,
			sizeof(err));
	if (!t)
		return print_error(2, err);
	targets_free(t);
	s->rules = f->rules_file ? rules_load_file(f->rules_file, err, sizeof(err)) : rules_load_default(err, sizeof(err));
	if (!s->rules)
		return print_error(2, err);
	return 0;
}

/*
 * An answer's edge records get the names of frames recorded before their
 * symbol file appeared, and are classified again with them (HTTP threads:
 * symbolize.h, sym_name_late).
 */
static void name_late(struct wf_edge *e, struct wf_arena *arena, void *ctx)
{
	struct serve *s = ctx;

	if (sym_name_edge_late(capture_symbolizer(s->cap), e, arena) > 0)
		classify_edge_no_intern(s->rules, e);
}

/* Catalog, tracker, metrics, store, history, capture, then HTTP; 0 or the exit status. */
static int serve_setup(const struct serve_flags *f, struct serve *s, const struct sockaddr_storage *addr,
		       socklen_t addrlen)
{
	struct wf_tracker_opts topts = { .proc_root = f->proc_root, .cgroup_root = f->cgroup_root,
					 .cgroup_regex = f->cgroup };
	const char *names[STATUS_MAX_PROGRAMS];
	struct capture_opts copts;
	char err[512];

	s->window_ms = f->window_s * 1000;
	s->retention_ms = f->retention_ms;
	s->ring_span_ms = WF_RING_SPAN_MS < s->retention_ms ? WF_RING_SPAN_MS : s->retention_ms;
	s->prune_every_ms = WF_CATALOG_PRUNE_INTERVAL_MS < s->ring_span_ms / 2 ? WF_CATALOG_PRUNE_INTERVAL_MS
									       : s->ring_span_ms / 2;
	s->cat = catalog_new();
	s->tracker = s->cat ? tracker_new(&topts, s->cat, err, sizeof(err)) : NULL;
	if (!s->tracker)
		return print_error(2, s->cat ? err : "out of memory");
	s->metrics = metrics_new();
	s->store = store_open(&f->sopts, s->cat, wall_ms());
	s->hist = s->store ? history_new(s->store, s->cat, s->window_ms, f->sopts.fine_retention_ms,
					 (size_t)(s->ring_span_ms / s->window_ms))
			   : NULL;
	if (!s->metrics || !s->hist)
		return print_error(1, "out of memory");
	{
		/* Every loss reason is exported at 0 from the start, so that a
		 * healthy agent's rate() is 0 rather than no data (alerts and
		 * the dashboard's lost-events panel need a series). */
		struct capture_stats none = { 0 };
		struct wf_counter reasons[CAPTURE_LOST_COUNTERS];

		capture_lost_counters(&none, reasons);
		for (int i = 0; i < CAPTURE_LOST_COUNTERS; i++)
			metrics_add(s->metrics, WF_M_LOST, (const char *[]){ "reason", reasons[i].name, NULL }, 0);
	}

	/* Told when a process starts being traced (tracker_appeared). */
	copts = f->copts;
	copts.on_target = target_appeared;
	copts.on_target_ctx = s;
	s->cap = capture_open(&copts, err, sizeof(err));
	if (!s->cap)
		return print_error(1, err);
	s->counting_since_ms = wall_ms();
	history_set_detail_hook(s->hist, name_late, s);
	s->nprograms = capture_programs(s->cap, names, STATUS_MAX_PROGRAMS);
	for (size_t i = 0; i < s->nprograms; i++)
		snprintf(s->programs[i], sizeof(s->programs[i]), "%s", names[i]);
	capture_get_stats(s->cap, &s->stats);
	s->prev_stats = s->stats;

	{
		struct wf_http_ctx hctx = { .cat = s->cat, .history = s->hist, .store = s->store, .metrics = s->metrics,
					    .rules = s->rules, .token = s->token, .status = status_json, .status_ctx = s };

		s->http = http_start(addr, addrlen, &hctx, err, sizeof(err));
		if (!s->http)
			return print_error(1, err);
	}
	if (!http_is_loopback(addr) && !s->token)
		wf_log(WF_LOG_WARN, "http: listening on %s without a token (--insecure-no-token): anyone who can reach it can read the data",
		       f->listen);
	return 0;
}

/* Windows until SIGINT/SIGTERM, then the window in progress; returns 0. */
static int serve_loop(struct serve *s)
{
	struct sigaction sa = { .sa_handler = on_signal };
	/* Windows are aligned to the wall clock so every agent's windows line
	 * up; the first begins when counting began: what was counted during
	 * the set-up after capture_open (the HTTP server) is in it, so its
	 * length must be too, or its rates are too high. */
	int64_t start = s->counting_since_ms, end;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!stopping) {
		int64_t now;

		end = (start / s->window_ms + 1) * s->window_ms;
		while (!stopping && (now = wall_ms()) < end) {
			int64_t wait = end - now;

			if (capture_poll(s->cap, (int)(wait < 250 ? wait : 250)) < 0 && !stopping) {
				wf_log(WF_LOG_ERROR, "capture: polling failed: %s", strerror(errno));
				/* Keep windows going: a failed poll only delays exec/exit handling. */
				usleep(100 * 1000);
			}
		}
		if (stopping)
			break;
		finish_window(s, start, end);
		/* After a clock jump backwards, start over from now. */
		start = wall_ms() < end ? wall_ms() : end;
	}
	/* SIGTERM: the window in progress is written before exit. */
	end = wall_ms();
	if (end > start)
		finish_window(s, start, end);
	wf_log(WF_LOG_INFO, "serve: stopping after writing the window in progress");
	return 0;
}

/* Takes down whatever serve_check and serve_setup built, in reverse. */
static void serve_cleanup(struct serve *s)
{
	http_stop(s->http);
	capture_close(s->cap);
	history_free(s->hist);
	store_close(s->store);
	tracker_free(s->tracker);
	metrics_free(s->metrics);
	catalog_free(s->cat);
	rules_free(s->rules);
	free(s->token);
	pthread_mutex_destroy(&s->stats_lock);
}

int cmd_serve(int argc, char **argv)
{
	struct serve_flags f;
	struct serve s = { .stats_lock = PTHREAD_MUTEX_INITIALIZER };
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int status;

	/* Everything the daemon creates (the store, its directory) is private. */
	umask(077);
	/* A thread per HTTP connection would otherwise get a malloc arena each
	 * (up to 8 per core), every one keeping what its queries freed: 50
	 * clients took RSS from 24 to 154 MiB for good. Queries run 4 at a time,
	 * so a few arenas do. */
	mallopt(M_ARENA_MAX, 2);
	if ((status = parse_serve_flags(argc, argv, &f)) >= 0)
		return status;
	/* The store benchmark's writer, not the daemon: nothing below runs. */
	if (f.bench_hours > 0)
		return benchfill_run(&f.sopts, f.window_s * 1000, f.bench_hours, stdout);

	status = serve_check(&f, &s, &addr, &addrlen);
	if (!status)
		status = serve_setup(&f, &s, &addr, addrlen);
	if (!status) {
		wf_log(WF_LOG_INFO, "serve: listening on %s, window %lds, retention %llds, store %s%s", f.listen,
		       f.window_s, (long long)(s.retention_ms / 1000), f.db, s.token ? ", token required" : "");
		status = serve_loop(&s);
	}
	serve_cleanup(&s);
	return status;
}
