// SPDX-License-Identifier: Apache-2.0
#include "tracker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logging.h"

struct tracked {
	int32_t pid;
	uint64_t start_time;
	uint32_t target_id; /* 0: excluded by --cgroup */
	bool alive;
	uint64_t gone_gen;    /* window generation in which it exited */
	uint64_t checked_gen; /* window generation in which /proc was last read */
	struct wf_cgroup cgroup;
	bool have_throttle;
	struct wf_throttle prev;
};

struct wf_tracker {
	struct wf_catalog *cat;
	char proc_root[256];
	struct wf_cgroup_fs fs;
	bool have_fs;
	struct wf_cgroup_filter filter;
	bool have_filter;
	struct tracked *t;
	size_t n, cap;
	uint64_t gen;
};

struct wf_tracker *tracker_new(const struct wf_tracker_opts *o, struct wf_catalog *cat, char *err, size_t errlen)
{
	struct wf_tracker *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->cat = cat;
	t->gen = 1;
	snprintf(t->proc_root, sizeof(t->proc_root), "%s", o->proc_root);
	if (o->cgroup_regex) {
		if (discovery_cgroup_filter_init(&t->filter, o->cgroup_regex, err, errlen)) {
			free(t);
			return NULL;
		}
		t->have_filter = true;
	}
	t->have_fs = discovery_cgroup_fs_init(&t->fs, o->cgroup_root, o->proc_root, (int32_t)getpid()) == 0;
	if (!t->have_fs)
		wf_log(WF_LOG_WARN, "targets: no cgroup hierarchy under %s: CPU throttling is not reported",
		       o->cgroup_root);
	return t;
}

void tracker_free(struct wf_tracker *t)
{
	if (!t)
		return;
	if (t->have_filter)
		discovery_cgroup_filter_free(&t->filter);
	free(t->t);
	free(t);
}

/* Field 22 of /proc/PID/stat (after the parenthesized comm, which may hold
 * spaces and parentheses itself); 0 if the process is gone. */
static uint64_t start_time(const char *proc_root, int32_t pid)
{
	char path[300], buf[1024];
	unsigned long long v = 0;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* After ") " come fields 3..: state is 3, starttime is 22. */
	p++;
	for (int field = 3; field <= 22 && p; field++) {
		while (*p == ' ')
			p++;
		if (field == 22) {
			v = strtoull(p, NULL, 10);
			break;
		}
		p = strchr(p, ' ');
	}
	return v;
}

static void read_link(const char *proc_root, int32_t pid, char *out, size_t len)
{
	char path[300];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/exe", proc_root, pid);
	n = readlink(path, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
}

static void read_comm(const char *proc_root, int32_t pid, char *out, size_t len)
{
	char path[300];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	out[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0)
		return;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static struct tracked *find(struct wf_tracker *t, int32_t pid)
{
	/* Newest first: a reused pid's live entry is the latest one. */
	for (size_t i = t->n; i-- > 0;)
		if (t->t[i].pid == pid)
			return &t->t[i];
	return NULL;
}

static struct tracked *append(struct wf_tracker *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct tracked *p = realloc(t->t, cap * sizeof(*p));

		if (!p)
			return NULL;
		t->t = p;
		t->cap = cap;
	}
	memset(&t->t[t->n], 0, sizeof(t->t[0]));
	return &t->t[t->n++];
}

/* The process behind pid (new, or one --cgroup left out so far): read who
 * it is into e and register it. */
static struct tracked *discover(struct wf_tracker *t, struct tracked *e, int32_t pid, uint64_t st, const char *comm,
				int64_t now_ms)
{
	struct wf_target_info info;
	struct wf_target target;
	int rc;

	if (!e)
		return NULL;
	e->pid = pid;
	e->start_time = st;
	e->alive = st != 0;
	e->gone_gen = t->gen;
	e->checked_gen = t->gen;
	memset(&target, 0, sizeof(target));
	memset(&info, 0, sizeof(info));
	target.pid = pid;
	target.start_time = st;
	target.first_seen_ms = target.last_seen_ms = now_ms;
	target.alive = e->alive;
	read_comm(t->proc_root, pid, target.comm, sizeof(target.comm));
	if (!target.comm[0] || !e->alive)
		snprintf(target.comm, sizeof(target.comm), "%s", comm ? comm : "");
	read_link(t->proc_root, pid, target.exe, sizeof(target.exe));
	rc = e->alive ? discovery_target(pid, t->proc_root, &info) : -ESRCH;
	if (rc == 0) {
		target.labels = info.labels;
		e->cgroup = info.cgroup;
	}
	if (t->have_filter && (rc != 0 || !discovery_cgroup_filter_match(&t->filter, &e->cgroup))) {
		e->target_id = 0;
		return e;
	}
	e->target_id = catalog_target_put(t->cat, &target);
	/* The throttling baseline is taken when the target appears, so the
	 * window it appears in counts its throttling from then on. */
	e->have_throttle = e->alive && t->have_fs && discovery_cpu_throttling(&t->fs, &e->cgroup, &e->prev) == 0;
	if (e->alive)
		wf_log(WF_LOG_INFO, "targets: following pid %d (%s)%s%s%s%s", pid, target.comm,
		       target.labels.value[WF_LABEL_POD][0] ? " pod " : "", target.labels.value[WF_LABEL_NAMESPACE],
		       target.labels.value[WF_LABEL_POD][0] ? "/" : "", target.labels.value[WF_LABEL_POD]);
	return e;
}

uint32_t tracker_resolve(struct wf_tracker *t, int32_t pid, const char *comm, int64_t now_ms)
{
	struct tracked *e = find(t, pid);
	uint64_t st;

	if (pid <= 0)
		return 0;
	if (e && e->checked_gen == t->gen)
		return e->target_id;
	st = start_time(t->proc_root, pid);
	if (e && st != 0 && st == e->start_time && !e->target_id && t->have_filter) {
		/* Left out by --cgroup: the process may have been moved into a
		 * matching cgroup since (a runtime placing it after it started).
		 * Looked at again once per window in which it has events. */
		return discover(t, e, pid, st, comm, now_ms)->target_id;
	}
	if (e && (st == 0 || st == e->start_time)) {
		/* Same process, or it exited during the window: its events
		 * belong to what we knew. */
		e->checked_gen = t->gen;
		return e->target_id;
	}
	e = discover(t, append(t), pid, st, comm, now_ms);
	return e ? e->target_id : 0;
}

/*
 * A process can change cgroups while it runs: a runtime places a container's
 * first process into the container's cgroup after it started, or a
 * process is moved by hand or by systemd. Labels and throttling follow the
 * cgroup it is in now: the cgroup file is read again every window (one
 * small read per live target), and on a change the target is discovered
 * again, its catalog labels replaced and its throttling baseline reset
 * (counters of two cgroups cannot be subtracted).
 */
static void relabel_if_moved(struct wf_tracker *t, struct tracked *e)
{
	struct wf_cgroup now;
	struct wf_target_info info;
	struct wf_target tg;

	if (discovery_cgroup_of(e->pid, t->proc_root, &now) ||
	    (!strcmp(now.unified, e->cgroup.unified) && !strcmp(now.cpu, e->cgroup.cpu)))
		return;
	if (discovery_target(e->pid, t->proc_root, &info) || catalog_target_get(t->cat, e->target_id, &tg))
		return;
	e->cgroup = info.cgroup;
	tg.labels = info.labels;
	catalog_target_put(t->cat, &tg);
	e->have_throttle = t->have_fs && discovery_cpu_throttling(&t->fs, &e->cgroup, &e->prev) == 0;
	wf_log(WF_LOG_INFO, "targets: pid %d moved to cgroup %s%s%s", e->pid,
	       e->cgroup.cpu[0] && t->fs.cpu_dir[0] ? e->cgroup.cpu : e->cgroup.unified,
	       info.labels.value[WF_LABEL_CONTAINER_ID][0] ? ", container " : "",
	       info.labels.value[WF_LABEL_CONTAINER_ID]);
}

uint32_t tracker_appeared(struct wf_tracker *t, int32_t pid, int64_t now_ms)
{
	struct tracked *e = find(t, pid);
	uint64_t st = pid > 0 ? start_time(t->proc_root, pid) : 0;

	if (e && st && st == e->start_time && e->alive) {
		/* The same process exec'ed: its name, executable and environment
		 * are the new image's; its cgroup and throttling count go on. */
		struct wf_cgroup cg = e->cgroup;
		struct wf_throttle prev = e->prev;
		bool had = e->have_throttle;

		discover(t, e, pid, st, NULL, now_ms);
		if (had && !strcmp(cg.unified, e->cgroup.unified) && !strcmp(cg.cpu, e->cgroup.cpu)) {
			e->prev = prev;
			e->have_throttle = true;
		}
		return e->target_id;
	}
	return tracker_resolve(t, pid, NULL, now_ms);
}

void tracker_end_window(struct wf_tracker *t, int64_t now_ms,
			void (*live)(void *ctx, uint32_t target_id, const struct wf_throttle *delta),
			void (*gone)(void *ctx, uint32_t target_id, int32_t pid), void *ctx)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct tracked *e = &t->t[i];
		struct wf_throttle cur, delta;

		if (e->alive && start_time(t->proc_root, e->pid) != e->start_time) {
			e->alive = false;
			e->gone_gen = t->gen;
			if (e->target_id) {
				struct wf_target tg;

				if (catalog_target_get(t->cat, e->target_id, &tg) == 0) {
					tg.alive = false;
					tg.last_seen_ms = now_ms;
					catalog_target_put(t->cat, &tg);
				}
				wf_log(WF_LOG_INFO, "targets: pid %d exited", e->pid);
				gone(ctx, e->target_id, e->pid);
			}
		}
		if (!e->alive) {
			/* Kept one more window: the capture may still hand over its
			 * last events. Then dropped (the catalog keeps the target). */
			if (t->gen - e->gone_gen < 2)
				t->t[n++] = *e;
			continue;
		}
		t->t[n++] = *e;
		e = &t->t[n - 1];
		if (!e->target_id)
			continue;
		relabel_if_moved(t, e);
		memset(&delta, 0, sizeof(delta));
		if (t->have_fs && discovery_cpu_throttling(&t->fs, &e->cgroup, &cur) == 0) {
			if (e->have_throttle)
				discovery_throttle_delta(&e->prev, &cur, &delta);
			e->prev = cur;
			e->have_throttle = true;
		}
		{
			struct wf_target tg;

			/* last seen moves with every window the process runs */
			if (catalog_target_get(t->cat, e->target_id, &tg) == 0) {
				tg.last_seen_ms = now_ms;
				tg.alive = true;
				catalog_target_put(t->cat, &tg);
			}
		}
		live(ctx, e->target_id, &delta);
	}
	t->n = n;
	t->gen++;
}

size_t tracker_live_count(struct wf_tracker *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += t->t[i].alive && t->t[i].target_id;
	return n;
}
