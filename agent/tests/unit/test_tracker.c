// SPDX-License-Identifier: Apache-2.0
/*
 * tracker: target processes on a fake /proc and cgroup v2 tree in a
 * temporary directory, where a test decides when a process starts, exits,
 * has its pid reused or moves cgroup. A target is its pid and start time;
 * its labels come from its environment; an exit is told once; --cgroup
 * leaves processes out until they move into a matching cgroup; throttling
 * is reported as the change since the last window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "fake_fs.h"
#include "tracker.h"

#define NOW 1700000000000LL

static const char envoy_env[] = "POD_NAME=reviews-v2-5b667bcbf8-x7k2p\0POD_NAMESPACE=bookinfo\0";

struct fx {
	char dir[64], proc[96], cgroup[96];
	struct wf_catalog *cat;
	/* what the callbacks of one tracker_end_window saw */
	uint32_t live_ids[8], gone_ids[8];
	int32_t gone_pids[8];
	struct wf_throttle live_delta[8];
	int nlive, ngone;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char rel[64];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/wf-test-tracker-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->proc, sizeof(f->proc), "%s/proc", f->dir);
	snprintf(f->cgroup, sizeof(f->cgroup), "%s/cgroup", f->dir);
	/* The agent itself sits at the root of the hierarchy. */
	write_str(f->cgroup, "cgroup.controllers", "cpu memory pids\n");
	snprintf(rel, sizeof(rel), "1\n%d\n", (int)getpid());
	write_str(f->cgroup, "cgroup.procs", rel);
	snprintf(rel, sizeof(rel), "%d/cgroup", (int)getpid());
	write_str(f->proc, rel, "0::/\n");
	f->cat = catalog_new();
	assert_non_null(f->cat);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	catalog_free(f->cat);
	rm_tree(f->dir);
	free(f);
	return 0;
}

/* Process pid named envoy, started at start_time (field 22 of stat), in cgroup cg. */
static void start_process(struct fx *f, int pid, unsigned long long start_time, const char *cg)
{
	char rel[64], stat[256], line[160];

	snprintf(rel, sizeof(rel), "%d/stat", pid);
	/* A comm with a space and a parenthesis, as stat allows. */
	snprintf(stat, sizeof(stat), "%d (env oy)) S 1 %d %d 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 %llu 100 10", pid,
		 pid, pid, start_time);
	write_str(f->proc, rel, stat);
	snprintf(rel, sizeof(rel), "%d/comm", pid);
	write_str(f->proc, rel, "envoy\n");
	snprintf(rel, sizeof(rel), "%d/environ", pid);
	write_file(f->proc, rel, envoy_env, sizeof(envoy_env) - 1);
	snprintf(rel, sizeof(rel), "%d/cgroup", pid);
	snprintf(line, sizeof(line), "0::%s\n", cg);
	write_str(f->proc, rel, line);
}

static void exit_process(struct fx *f, int pid)
{
	char dir[160];

	snprintf(dir, sizeof(dir), "%s/%d", f->proc, pid);
	rm_tree(dir);
}

static void set_throttling(struct fx *f, const char *cg, int periods, int throttled, int usec)
{
	char rel[160], stat[160];

	snprintf(rel, sizeof(rel), "%s/cpu.stat", cg + 1);
	snprintf(stat, sizeof(stat), "usage_usec 10\nnr_periods %d\nnr_throttled %d\nthrottled_usec %d\n", periods,
		 throttled, usec);
	write_str(f->cgroup, rel, stat);
}

static void on_live(void *ctx, uint32_t target_id, const struct wf_throttle *delta)
{
	struct fx *f = ctx;

	assert_true(f->nlive < 8);
	f->live_delta[f->nlive] = *delta;
	f->live_ids[f->nlive++] = target_id;
}

static void on_gone(void *ctx, uint32_t target_id, int32_t pid)
{
	struct fx *f = ctx;

	assert_true(f->ngone < 8);
	f->gone_pids[f->ngone] = pid;
	f->gone_ids[f->ngone++] = target_id;
}

static void end_window(struct fx *f, struct wf_tracker *t, int64_t now)
{
	f->nlive = f->ngone = 0;
	tracker_end_window(t, now, on_live, on_gone, f);
}

static struct wf_tracker *new_tracker(struct fx *f, const char *cgroup_regex)
{
	struct wf_tracker_opts o = { .proc_root = f->proc, .cgroup_root = f->cgroup, .cgroup_regex = cgroup_regex };
	char err[256];
	struct wf_tracker *t = tracker_new(&o, f->cat, err, sizeof(err));

	assert_non_null(t);
	return t;
}

/* A new process becomes a target with its labels; the same process keeps
 * its id; a reused pid (another start time) is a new target. */
static void test_resolve_and_reuse(void **state)
{
	struct fx *f = *state;
	struct wf_tracker *t = new_tracker(f, NULL);
	struct wf_target tg;
	uint32_t id, id2;

	start_process(f, 4242, 5000, "/pod-a.scope");
	id = tracker_resolve(t, 4242, "envoy", NOW);
	assert_int_not_equal(id, 0);
	assert_int_equal(tracker_resolve(t, 4242, "envoy", NOW), id);
	assert_int_equal(catalog_target_get(f->cat, id, &tg), 0);
	assert_int_equal(tg.pid, 4242);
	assert_int_equal(tg.start_time, 5000);
	assert_string_equal(tg.comm, "envoy");
	assert_string_equal(tg.labels.value[WF_LABEL_POD], "reviews-v2-5b667bcbf8-x7k2p");
	assert_string_equal(tg.labels.value[WF_LABEL_NAMESPACE], "bookinfo");
	assert_true(tg.alive);
	assert_int_equal(tracker_live_count(t), 1);
	assert_int_equal(tracker_resolve(t, 0, "envoy", NOW), 0);

	end_window(f, t, NOW + 10000);
	assert_int_equal(f->nlive, 1);
	assert_int_equal(f->live_ids[0], id);
	assert_int_equal(f->ngone, 0);
	/* Same process in the next window: same target. */
	assert_int_equal(tracker_resolve(t, 4242, "envoy", NOW + 10000), id);

	/* The pid reused by a new process: the old one is gone, the new one a
	 * new target. */
	start_process(f, 4242, 9000, "/pod-a.scope");
	end_window(f, t, NOW + 20000);
	assert_int_equal(f->ngone, 1);
	assert_int_equal(f->gone_ids[0], id);
	id2 = tracker_resolve(t, 4242, "envoy", NOW + 20000);
	assert_int_not_equal(id2, 0);
	assert_int_not_equal(id2, id);
	assert_int_equal(catalog_target_get(f->cat, id2, &tg), 0);
	assert_int_equal(tg.start_time, 9000);
	tracker_free(t);
}

/* An exit is told once, the catalog keeps the target as not alive, and a
 * process already gone when first seen is a target under the name the
 * capture saw. */
static void test_exit(void **state)
{
	struct fx *f = *state;
	struct wf_tracker *t = new_tracker(f, NULL);
	struct wf_target tg;
	uint32_t a, b, gone;

	start_process(f, 100, 1, "/pod-a.scope");
	start_process(f, 200, 2, "/pod-b.scope");
	a = tracker_resolve(t, 100, "envoy", NOW);
	b = tracker_resolve(t, 200, "envoy", NOW);
	assert_int_equal(tracker_live_count(t), 2);
	exit_process(f, 100);
	end_window(f, t, NOW + 10000);
	assert_int_equal(f->ngone, 1);
	assert_int_equal(f->gone_ids[0], a);
	assert_int_equal(f->gone_pids[0], 100);
	assert_int_equal(f->nlive, 1);
	assert_int_equal(f->live_ids[0], b);
	assert_int_equal(tracker_live_count(t), 1);
	assert_int_equal(catalog_target_get(f->cat, a, &tg), 0);
	assert_false(tg.alive);
	assert_int_equal(tg.last_seen_ms, NOW + 10000);
	/* Its last events, drained after the exit, still belong to it. */
	assert_int_equal(tracker_resolve(t, 100, "envoy", NOW + 10000), a);
	end_window(f, t, NOW + 20000);
	assert_int_equal(f->ngone, 0);
	assert_int_equal(catalog_target_get(f->cat, b, &tg), 0);
	assert_int_equal(tg.last_seen_ms, NOW + 20000);

	gone = tracker_resolve(t, 300, "envoy-short", NOW + 20000);
	assert_int_not_equal(gone, 0);
	assert_int_equal(catalog_target_get(f->cat, gone, &tg), 0);
	assert_string_equal(tg.comm, "envoy-short");
	assert_false(tg.alive);
	assert_int_equal(tracker_live_count(t), 1);
	tracker_free(t);
}

/* --cgroup leaves other cgroups' processes out, until one moves into a
 * matching cgroup; a bad regex is one sentence. */
static void test_cgroup_filter(void **state)
{
	struct fx *f = *state;
	struct wf_tracker_opts o = { .proc_root = f->proc, .cgroup_root = f->cgroup, .cgroup_regex = "(" };
	struct wf_tracker *t;
	char err[256] = "";
	uint32_t id;

	assert_null(tracker_new(&o, f->cat, err, sizeof(err)));
	assert_non_null(strstr(err, "--cgroup"));

	t = new_tracker(f, "pod-a");
	start_process(f, 100, 1, "/pod-a.scope");
	start_process(f, 200, 2, "/pod-b.scope");
	assert_int_not_equal(tracker_resolve(t, 100, "envoy", NOW), 0);
	assert_int_equal(tracker_resolve(t, 200, "envoy", NOW), 0);
	assert_int_equal(tracker_live_count(t), 1);
	end_window(f, t, NOW + 10000);
	assert_int_equal(f->nlive, 1);
	/* Placed into the matching cgroup after it started. */
	start_process(f, 200, 2, "/pod-a-2.scope");
	id = tracker_resolve(t, 200, "envoy", NOW + 10000);
	assert_int_not_equal(id, 0);
	assert_int_equal(tracker_live_count(t), 2);
	tracker_free(t);
}

/* Throttling: the baseline is read when the target appears, so its first
 * window counts what came after (test_tracker_cgroups.c does it for real);
 * then the change of the cgroup's counters since the window before. */
static void test_throttling(void **state)
{
	struct fx *f = *state;
	struct wf_tracker *t = new_tracker(f, NULL);

	start_process(f, 100, 1, "/pod-a.scope");
	set_throttling(f, "/pod-a.scope", 50, 7, 3500);
	assert_int_not_equal(tracker_resolve(t, 100, "envoy", NOW), 0);
	set_throttling(f, "/pod-a.scope", 60, 8, 4000);
	end_window(f, t, NOW + 10000);
	assert_int_equal(f->nlive, 1);
	assert_int_equal(f->live_delta[0].nr_periods, 10);
	assert_int_equal(f->live_delta[0].nr_throttled, 1);
	assert_int_equal(f->live_delta[0].throttled_usec, 500);
	set_throttling(f, "/pod-a.scope", 80, 10, 5000);
	end_window(f, t, NOW + 20000);
	assert_int_equal(f->nlive, 1);
	assert_int_equal(f->live_delta[0].nr_periods, 20);
	assert_int_equal(f->live_delta[0].nr_throttled, 2);
	assert_int_equal(f->live_delta[0].throttled_usec, 1000);
	tracker_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resolve_and_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cgroup_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttling, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
