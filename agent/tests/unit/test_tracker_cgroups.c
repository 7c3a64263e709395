// SPDX-License-Identifier: Apache-2.0
/*
 * tracker on real processes in real cgroups of this machine
 * (real_cgroup.h; test_tracker.c has the fake /proc tree): a target that moves to another
 * container's cgroup gets that container's labels, and the window in which
 * a target appears counts its CPU throttling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "catalog.h"
#include "real_cgroup.h"
#include "tracker.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID_A "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"
#define UID_B "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"

struct window_seen {
	uint32_t target_id;
	int live;
	struct wf_throttle delta;
	int gone;
};

static void on_live(void *ctx, uint32_t target_id, const struct wf_throttle *d)
{
	struct window_seen *w = ctx;

	if (target_id != w->target_id)
		return;
	w->live++;
	w->delta = *d;
}

static void on_gone(void *ctx, uint32_t target_id, int32_t pid)
{
	struct window_seen *w = ctx;

	(void)pid;
	w->gone += target_id == w->target_id;
}

/* The test's child, killed by the teardown too when an assertion fails
 * (a spinner left paused would hold the test's output pipe open). */
static pid_t child;

static pid_t sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return child = pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	child = 0;
}

static int kill_child(void **state)
{
	(void)state;
	if (child > 0)
		reap(child);
	return 0;
}

static void rmdirs(const char *dir, const char *stop)
{
	char d[PATH_MAX];

	snprintf(d, sizeof(d), "%s", dir);
	for (int i = 0; i < 100 && rmdir(d) && errno == EBUSY; i++)
		usleep(10000);
	while (strlen(d) > strlen(stop)) {
		*strrchr(d, '/') = '\0';
		if (rmdir(d) && errno != ENOTEMPTY && errno != EBUSY)
			break;
	}
}

static struct wf_tracker *new_tracker(struct wf_catalog *cat)
{
	struct wf_tracker_opts o = { .proc_root = "/proc", .cgroup_root = "/sys/fs/cgroup" };
	char err[128];
	struct wf_tracker *t = tracker_new(&o, cat, err, sizeof(err));

	if (!t)
		fail_msg("tracker_new: %s", err);
	return t;
}

/* A runtime places a container's process after it started, or a process is
 * moved: the labels follow the cgroup, under the same target id. */
static void test_moved_target_relabelled(void **state)
{
	struct wf_cgroup_fs fs;
	struct limited_cgroup a, b;
	struct wf_catalog *cat = catalog_new();
	struct wf_target tg;
	struct window_seen w = { 0 };
	char top[64], path[PATH_MAX];

	(void)state;
	assert_non_null(cat);
	assert_int_equal(discovery_cgroup_fs_init(&fs, "/sys/fs/cgroup", "/proc", getpid()), 0);
	snprintf(top, sizeof(top), "/wakeflow-tracker-%d", getpid());
	/* The cgroupfs driver's layout: /kubepods/<qos>/pod<uid>/<container id> */
	snprintf(path, sizeof(path), "%s/kubepods/burstable/pod" UID_A "/" ID_A, top);
	make_cgroup(&fs, path, &a);
	snprintf(path, sizeof(path), "%s/kubepods/besteffort/pod" UID_B "/" ID_B, top);
	make_cgroup(&fs, path, &b);

	pid_t pid = sleeper();
	move_to(&a, pid);
	struct wf_tracker *t = new_tracker(cat);
	uint32_t id = tracker_resolve(t, pid, NULL, 1000);
	assert_true(id > 0);
	assert_int_equal(catalog_target_get(cat, id, &tg), 0);
	assert_string_equal(tg.labels.value[WF_LABEL_CONTAINER_ID], ID_A);
	assert_string_equal(tg.labels.value[WF_LABEL_POD_UID], UID_A);

	/* A window in which it stayed: nothing changes. */
	w.target_id = id;
	tracker_end_window(t, 2000, on_live, on_gone, &w);
	assert_int_equal(w.live, 1);
	assert_int_equal(catalog_target_get(cat, id, &tg), 0);
	assert_string_equal(tg.labels.value[WF_LABEL_CONTAINER_ID], ID_A);

	move_to(&b, pid);
	tracker_end_window(t, 3000, on_live, on_gone, &w);
	assert_int_equal(w.live, 2);
	assert_int_equal(w.gone, 0);
	assert_int_equal(catalog_target_get(cat, id, &tg), 0);
	assert_string_equal(tg.labels.value[WF_LABEL_CONTAINER_ID], ID_B);
	assert_string_equal(tg.labels.value[WF_LABEL_POD_UID], UID_B);
	assert_true(tg.alive);
	/* Still the same process, the same target. */
	assert_int_equal(tracker_resolve(t, pid, NULL, 3500), id);

	reap(pid);
	tracker_end_window(t, 4000, on_live, on_gone, &w);
	assert_int_equal(w.gone, 1);
	tracker_free(t);
	catalog_free(cat);
	rmdirs(a.dir, fs.cpu_dir[0] ? fs.cpu_dir : fs.unified_dir);
	rmdirs(b.dir, fs.cpu_dir[0] ? fs.cpu_dir : fs.unified_dir);
}

/* The window in which a target appears counts the throttling from when it
 * appeared (it took only a baseline before). */
static void test_first_window_counts_throttling(void **state)
{
	struct wf_cgroup_fs fs;
	struct limited_cgroup lc;
	struct wf_catalog *cat = catalog_new();
	struct window_seen w = { 0 };
	char name[64];
	int release;

	(void)state;
	assert_non_null(cat);
	assert_int_equal(discovery_cgroup_fs_init(&fs, "/sys/fs/cgroup", "/proc", getpid()), 0);
	snprintf(name, sizeof(name), "wakeflow-tracker-limited-%d", getpid());
	make_limited_cgroup(&fs, name, &lc);
	pid_t pid = child = spinner(&release, 400);
	move_to(&lc, pid);

	struct wf_tracker *t = new_tracker(cat);
	w.target_id = tracker_resolve(t, pid, NULL, 1000);
	assert_true(w.target_id > 0);
	assert_int_equal(write(release, "x", 1), 1);
	usleep(600000);
	tracker_end_window(t, 2000, on_live, on_gone, &w);
	assert_int_equal(w.live, 1);
	print_message("first window: %lu periods, %lu throttled, %lu us\n", (unsigned long)w.delta.nr_periods,
		      (unsigned long)w.delta.nr_throttled, (unsigned long)w.delta.throttled_usec);
	/* 10% of a CPU for a spinner wanting all of it over ~40 periods (fewer
	 * on a loaded machine, where it gets less than its quota); before the
	 * baseline was taken at appearance this window read all zeros. */
	assert_true(w.delta.nr_periods >= 10);
	assert_true(w.delta.nr_throttled >= 3);
	assert_true(w.delta.throttled_usec >= 10000);

	/* The next window, spinning over, counts only what came after. */
	tracker_end_window(t, 3000, on_live, on_gone, &w);
	assert_int_equal(w.live, 2);
	assert_true(w.delta.nr_throttled <= 1);

	reap(pid);
	close(release);
	tracker_free(t);
	catalog_free(cat);
	for (int i = 0; i < 100 && rmdir(lc.dir); i++)
		usleep(10000);
}

/* A traced process that execs is read again when the capture says so: its
 * name and executable are the new image's, under the same target. */
static void test_exec_reread(void **state)
{
	struct wf_catalog *cat = catalog_new();
	struct wf_target tg;
	int fds[2];
	char c = 'x';

	(void)state;
	assert_non_null(cat);
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(1);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(2);
	}
	child = pid;
	close(fds[0]);
	struct wf_tracker *t = new_tracker(cat);
	uint32_t id = tracker_appeared(t, pid, 1000);
	assert_true(id > 0);
	assert_int_equal(catalog_target_get(cat, id, &tg), 0);
	/* Before the exec: the test's own name (fork keeps it). */
	{
		char self[32] = "";
		FILE *f = fopen("/proc/self/comm", "r");

		assert_non_null(f);
		assert_non_null(fgets(self, sizeof(self), f));
		fclose(f);
		self[strcspn(self, "\n")] = '\0';
		assert_string_equal(tg.comm, self);
	}
	assert_int_equal(write(fds[1], &c, 1), 1);
	close(fds[1]);
	for (int i = 0; i < 200; i++) {
		char path[64], comm[32] = "";
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		FILE *f = fopen(path, "r");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
		}
		if (!strcmp(comm, "sleep\n"))
			break;
		usleep(10000);
	}
	assert_int_equal(tracker_appeared(t, pid, 1500), id);
	assert_int_equal(catalog_target_get(cat, id, &tg), 0);
	assert_string_equal(tg.comm, "sleep");
	assert_string_equal(tg.exe, "/usr/bin/sleep");
	reap(pid);
	tracker_free(t);
	catalog_free(cat);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_moved_target_relabelled, kill_child),
		cmocka_unit_test_teardown(test_first_window_counts_throttling, kill_child),
		cmocka_unit_test_teardown(test_exec_reread, kill_child),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
