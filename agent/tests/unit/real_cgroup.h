/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Real cgroups for the unit tests that need them (test_discovery.c,
 * test_tracker_cgroups.c): created on whichever hierarchy holds the cpu controller
 * here (v1 cpu, or v2 with cpu enabled at the root), with real processes
 * moved into them. Run as root.
 */
#ifndef WAKEFLOW_TEST_REAL_CGROUP_H
#define WAKEFLOW_TEST_REAL_CGROUP_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "discovery.h"

/* A real cgroup with a tight CPU limit, on whichever hierarchy holds the
 * cpu controller here (v1 cpu, or v2 with cpu enabled at the root). */
struct limited_cgroup {
	char dir[PATH_MAX];  /* absolute directory */
	char path[PATH_MAX]; /* as /proc/PID/cgroup shows it */
};

static inline void write_knob(const char *dir, const char *knob, const char *val)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", dir, knob);
	int fd = open(p, O_WRONLY);
	if (fd < 0)
		fail_msg("cannot open %s: %s", p, strerror(errno));
	if (write(fd, val, strlen(val)) < 0)
		fail_msg("cannot write '%s' to %s: %s", val, p, strerror(errno));
	close(fd);
}

static inline void make_limited_cgroup(const struct wf_cgroup_fs *fs, const char *name, struct limited_cgroup *out)
{
	const char *base = fs->cpu_dir[0] ? fs->cpu_dir : fs->unified_dir;

	assert_true(base[0]);
	snprintf(out->path, sizeof(out->path), "/%s", name);
	snprintf(out->dir, sizeof(out->dir), "%s/%s", base, name);
	if (mkdir(out->dir, 0755) && errno != EEXIST)
		fail_msg("cannot create cgroup %s (run the unit tests as root): %s", out->dir, strerror(errno));
	if (fs->cpu_dir[0]) {
		write_knob(out->dir, "cpu.cfs_period_us", "10000");
		write_knob(out->dir, "cpu.cfs_quota_us", "1000");
	} else {
		write_knob(fs->unified_dir, "cgroup.subtree_control", "+cpu");
		write_knob(out->dir, "cpu.max", "1000 10000");
	}
}

static inline void move_to(const struct limited_cgroup *cg, pid_t pid)
{
	char s[32];

	snprintf(s, sizeof(s), "%d", pid);
	write_knob(cg->dir, "cgroup.procs", s);
}

/* A child that burns CPU for ms milliseconds once released via the pipe. */
static inline pid_t spinner(int *release_fd, int ms)
{
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;
		struct timespec a, b;

		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(1);
		clock_gettime(CLOCK_MONOTONIC, &a);
		do {
			clock_gettime(CLOCK_MONOTONIC, &b);
		} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
		pause();
		_exit(0);
	}
	close(fds[0]);
	*release_fd = fds[1];
	return pid;
}

/* A cgroup with no limit at path (relative to the cpu hierarchy's root,
 * parents created as needed), e.g. "/wf-x/kubepods/burstable/pod<uid>/<id>". */
static inline void make_cgroup(const struct wf_cgroup_fs *fs, const char *path, struct limited_cgroup *out)
{
	const char *base = fs->cpu_dir[0] ? fs->cpu_dir : fs->unified_dir;
	char tmp[PATH_MAX];

	assert_true(base[0]);
	snprintf(out->path, sizeof(out->path), "%s", path);
	if ((size_t)snprintf(out->dir, sizeof(out->dir), "%s%s", base, path) >= sizeof(out->dir))
		fail_msg("cgroup path too long: %s%s", base, path);
	snprintf(tmp, sizeof(tmp), "%s", out->dir);
	for (char *p = tmp + strlen(base) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	if (mkdir(out->dir, 0755) && errno != EEXIST)
		fail_msg("cannot create cgroup %s (run the unit tests as root): %s", out->dir, strerror(errno));
}

#endif
