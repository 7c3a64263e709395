// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for the offwaketime parser (offwaketime.c): both forms, the
 * annotation it must tolerate, every malformed-input error with its line
 * number, every truncation of a sample, and the kept fuzz corpus (which
 * replays what the fuzzer found without needing libFuzzer).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "edge.h"
#include "offwaketime.h"
#include "report.h"

static int parse(const char *text, struct wf_edge_list *out, char *err)
{
	return owt_parse(text, strlen(text), "cap.txt", out, err, 256);
}

static const char annotated[] =
	"## Unix Domain Socket\n"
	"\n"
	"### `pilot-agent` 通过 `UNIX Domain Socket` 读取 `Envoy` 的 `XDS` 数据\n"
	"\n"
	"```log\n"
	"    waker:           pilot-agent 4136\n"
	"    b'[unknown]'\n"
	"    b'entry_SYSCALL_64_after_hwframe'\n"
	"    b'unix_write_space' <<<<<<<<<< pilot-agent read wakes the writer\n"
	"    b'autoremove_wake_function'\n"
	"    --               --\n"
	"    b'finish_task_switch'\n"
	"    b'ep_poll' \n"
	"    b'epoll_wait'\n"
	"    target:          envoy 4182\n"
	"        84\n"
	"```\n"
	"\n"
	"```bash\n"
	"docker run -it --rm --init  --privileged --name bpftrace -h bpftrace \\\n"
	"    --pid host \\\n"
	"    --net host \\\n"
	"python3 ./offwaketime -p $PID\n"
	"```\n";

static void test_default_form_with_annotations(void **state)
{
	struct wf_edge_list l = { 0 };
	char err[256];
	const struct wf_edge *e;

	(void)state;
	assert_int_equal(parse(annotated, &l, err), 1);
	e = &l.items[0];
	assert_string_equal(e->waker.comm, "pilot-agent");
	assert_int_equal(e->waker.tid, 4136);
	assert_int_equal(e->waker.pid, -1); /* offwaketime prints thread ids only */
	assert_string_equal(e->target.comm, "envoy");
	assert_int_equal(e->target.tid, 4182);
	assert_false(e->offcpu_unknown);
	assert_int_equal(e->offcpu_ns, 84000);
	assert_false(e->count_known);
	assert_false(e->runq_known);
	assert_true(e->stacks_sampled);
	assert_int_equal(e->context, WF_CTX_UNKNOWN); /* classify_edge reads it from the stack */
	/* Waker printed outermost first: stored innermost first. */
	assert_int_equal(e->waker_stack.nframes, 4);
	assert_string_equal(e->waker_stack.frames[0], "autoremove_wake_function");
	assert_string_equal(e->waker_stack.frames[1], "unix_write_space");
	assert_string_equal(e->waker_stack.frames[3], "[unknown]");
	assert_int_equal(e->waker_stack.nkernel, -1);
	assert_int_equal(e->target_stack.nframes, 3);
	assert_string_equal(e->target_stack.frames[0], "finish_task_switch");
	assert_string_equal(e->target_stack.frames[1], "ep_poll");
	edge_list_free(&l);
}

static void test_preemption_and_missing_value(void **state)
{
	/* As in the first block of capture 000: no value line before the fence. */
	static const char text[] = "```log\n"
				   "    waker:            0\n"
				   "    --               --\n"
				   "    b'finish_task_switch'\n"
				   "    b'schedule'\n"
				   "    b'exit_to_usermode_loop'\n"
				   "    target:          wrk:worker_1 4450\n"
				   "```\n"
				   "### voluntary\n"
				   "waker:            0\n"
				   "--               --\n"
				   "finish_task_switch\n"
				   "_cond_resched\n"
				   "target:          wrk:worker_1 4450\n"
				   "    199\n";
	struct wf_edge_list l = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(parse(text, &l, err), 2);
	assert_true(l.items[0].offcpu_unknown);
	assert_int_equal(l.items[0].context, WF_CTX_NONE);
	assert_int_equal(l.items[0].kind, WF_SWITCH_PREEMPTED);
	assert_string_equal(l.items[0].waker.comm, "");
	assert_int_equal(l.items[0].waker.tid, -1);
	assert_int_equal(l.items[0].waker_stack.nframes, 0);
	assert_int_equal(l.items[0].target_stack.nframes, 3);
	/* Plain (unquoted) frames, unindented lines. */
	assert_false(l.items[1].offcpu_unknown);
	assert_int_equal(l.items[1].offcpu_ns, 199000);
	assert_string_equal(l.items[1].target_stack.frames[1], "_cond_resched");
	edge_list_free(&l);
}

static void test_crlf_quotes_escapes_delimiter(void **state)
{
	static const char text[] = "Tracing blocked time (us) by user + kernel off-CPU and waker stack... Hit Ctrl-C to end.\r\n"
				   "\r\n"
				   "\twaker:           Web Content 77\r\n"
				   "\tb'user_outer'\r\n"
				   "\tb\"it's\"\r\n"
				   "\t-\r\n"
				   "\tb'k\\x41\\\\'   # kernel, escaped\r\n"
				   "\tb'wake_fn'\r\n"
				   "\t--\t--\r\n"
				   "\tb'finish_task_switch'\r\n"
				   "\t-\r\n"
				   "\tb'user_inner'\r\n"
				   "\ttarget:          wrk:worker_0 9\r\n"
				   "\t\t5\r\n";
	struct wf_edge_list l = { 0 };
	char err[256];
	const struct wf_edge *e;

	(void)state;
	assert_int_equal(parse(text, &l, err), 1);
	e = &l.items[0];
	assert_string_equal(e->waker.comm, "Web Content");
	assert_int_equal(e->waker_stack.nframes, 4);
	assert_string_equal(e->waker_stack.frames[0], "wake_fn");
	assert_string_equal(e->waker_stack.frames[1], "kA\\");
	assert_string_equal(e->waker_stack.frames[2], "it's");
	/* The -d delimiter tells where kernel frames end. */
	assert_int_equal(e->waker_stack.nkernel, 2);
	assert_int_equal(e->target_stack.nkernel, 1);
	assert_int_equal(e->offcpu_ns, 5000);
	edge_list_free(&l);
}

static void test_folded_form(void **state)
{
	static const char text[] =
		"wrk:worker_0;start_thread;epoll_wait;-;entry_SYSCALL_64;schedule;finish_task_switch;--;"
		"autoremove_wake_function;eventfd_write;-;event_active;Envoy::post();envoy 169609\n"
		"wrk:worker_1;start_thread;schedule;finish_task_switch;--; 199\n"
		"[ipc.futex];AccessLogFlush;futex_wait;--;futex_wake;envoy 12\n";
	struct wf_edge_list l = { 0 };
	char err[256];
	const struct wf_edge *e;

	(void)state;
	assert_int_equal(parse(text, &l, err), 3);
	e = &l.items[0];
	assert_string_equal(e->target.comm, "wrk:worker_0");
	assert_string_equal(e->waker.comm, "envoy");
	assert_int_equal(e->waker.tid, -1);
	assert_int_equal(e->offcpu_ns, 169609000ULL);
	assert_int_equal(e->target_stack.nframes, 5);
	assert_string_equal(e->target_stack.frames[0], "finish_task_switch");
	assert_string_equal(e->target_stack.frames[4], "start_thread");
	assert_int_equal(e->target_stack.nkernel, 3);
	assert_int_equal(e->waker_stack.nframes, 4);
	assert_string_equal(e->waker_stack.frames[0], "autoremove_wake_function");
	assert_string_equal(e->waker_stack.frames[3], "Envoy::post()");
	assert_int_equal(e->waker_stack.nkernel, 2);
	assert_int_equal(e->context, WF_CTX_UNKNOWN);
	/* Empty waker, no waker frames: a preemption. */
	assert_int_equal(l.items[1].context, WF_CTX_NONE);
	assert_int_equal(l.items[1].kind, WF_SWITCH_PREEMPTED);
	/* Our own folded output's "[category];" root is skipped. */
	assert_string_equal(l.items[2].target.comm, "AccessLogFlush");
	edge_list_free(&l);
}

static void test_errors_name_the_line(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
		{ "# notes\n    b'tcp_v4_rcv'\n", "cap.txt:2: stack frame outside a block" },
		{ "    [unknown]\n", "cap.txt:1: stack frame outside a block" },
		{ "text\n\n    target:    envoy 1\n", "cap.txt:3: target line outside a block" },
		{ "    --               --\n", "cap.txt:1: '--' separator outside a block" },
		{ "    99\n", "cap.txt:1: value line outside a block" },
		{ "waker: a 1\nb'x'\ntarget: b 2\n", "cap.txt:3: target line before the '--' separator of the block starting at line 1" },
		{ "waker: a 1\nb'x'\n```\n", "cap.txt:3: block starting at line 1 ends here without its '--' separator" },
		{ "waker: a 1\n--\nb'x'\n## next\n", "cap.txt:4: block starting at line 1 ends here without its target line" },
		{ "waker: a 1\n--\nb'x'\nwaker: c 3\n", "cap.txt:4: block starting at line 1 ends here without its target line" },
		{ "waker: a 1\n--\n--\n", "cap.txt:3: second '--' separator" },
		{ "waker: a 1\n--\ntarget: b 2\n    12x\n", "cap.txt:4: expected the off-CPU time (us) after the target line, got '12x'" },
		{ "waker: a 1\n--\ntarget: b 2\n    b'frame'\n", "cap.txt:4: expected the off-CPU time (us)" },
		{ "waker: a 1\n--\ntarget: b 2\n    99999999999999999999999\n", "cap.txt:4: value out of range" },
		{ "waker: a 1\n--\ntarget: b 2\n    18446744073709552\n", "cap.txt:4: value out of range" },
		{ "waker: a 1\nb'x'\n", "cap.txt:2: file ends inside the block starting at line 1 (no '--' separator)" },
		{ "waker: a 1\n--\nb'x'", "cap.txt:3: file ends inside the block starting at line 1 (no target line)" },
		{ "waker: kubelet\n", "cap.txt:1: waker line ends in 'kubelet', not a pid" },
		{ "    waker:\n", "cap.txt:1: waker line without a pid" },
		{ "waker: a 99999999999\n", "cap.txt:1: waker pid out of range" },
		{ "waker: a 1\n--\ntarget: b -4\n", "cap.txt:3: target line ends in '-4', not a pid" },
		{ "waker: a 1\n    b'tcp_v4_rcv\n", "cap.txt:2: frame without its closing quote" },
		{ "waker: a 1\n    b'tcp_v4_rcv' trailing junk\n", "cap.txt:2: unexpected text after frame" },
		{ "waker: a 1\n    12\n", "cap.txt:2: value line inside the block starting at line 1" },
		{ "ok\nwaker: a\0 1\n", "cap.txt:2: not a text file (NUL byte)" },
		{ "a;b;--;c;w 12x\n", "cap.txt:1: non-numeric value '12x'" },
		{ "a;b;--;c;w\n", "cap.txt:1: folded line without a value at the end" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *text = cases[i].text;
		/* The NUL case needs its real length. */
		size_t len = strlen(text) + (strstr(cases[i].error, "NUL") ? strlen(text + strlen(text) + 1) + 1 : 0);
		struct wf_edge_list l = { 0 };
		char err[256];
		int rc = owt_parse(text, len, "cap.txt", &l, err, sizeof(err));

		edge_list_free(&l);
		if (rc != -1)
			fail_msg("case %zu parsed (%d blocks), expected '%s'", i, rc, cases[i].error);
		if (strncmp(err, cases[i].error, strlen(cases[i].error)))
			fail_msg("case %zu: got '%s', want '%s...'", i, err, cases[i].error);
		assert_null(strchr(err, '\n'));
	}
}

static void test_tolerated_noise(void **state)
{
	/* Prose, headings, fences, shell, CJK, stray "<<<" comment lines
	 * inside a block, blank lines inside a block: no error, no block. */
	static const char text[] = "# 标题\n"
				   "Some prose: waker and target are explained below.\n"
				   "```\n"
				   "$ sudo offwaketime -p 1 -- --pid\n"
				   "```\n"
				   "    waker:           a 1\n"
				   "    <<<<<< why this block matters\n"
				   "\n"
				   "    b'x'\n"
				   "    --               --\n"
				   "    target:          b 2\n"
				   "        7\n"
				   "WARNING: 3 stack traces lost and could not be displayed.\n";
	struct wf_edge_list l = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(parse(text, &l, err), 1);
	assert_int_equal(l.items[0].waker_stack.nframes, 1);
	edge_list_free(&l);
	assert_int_equal(parse("just prose\n\n", &l, err), 0);
	assert_int_equal(parse("", &l, err), 0);
	edge_list_free(&l);
}

/* Every prefix of a valid capture parses or fails with a located error. */
static void test_every_truncation(void **state)
{
	size_t len = strlen(annotated);

	(void)state;
	for (size_t n = 0; n <= len; n++) {
		struct wf_edge_list l = { 0 };
		char err[256];
		int rc = owt_parse(annotated, n, "cap.txt", &l, err, sizeof(err));

		if (rc < 0) {
			assert_int_equal(strncmp(err, "cap.txt:", 8), 0);
		} else {
			assert_true(rc <= 1);
			assert_int_equal((size_t)rc, l.len);
		}
		edge_list_free(&l);
	}
}

static void test_parse_file_errors(void **state)
{
	struct wf_edge_list l = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(owt_parse_file("/nonexistent/cap.txt", &l, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/cap.txt: cannot open: No such file or directory");
	assert_int_equal(owt_parse_file("/", &l, err, sizeof(err)), -1);
	assert_string_equal(err, "/: cannot read: Is a directory");
	assert_int_equal(l.len, 0);
}

/*
 * The fuzz corpus replayed through parse + classify + every report format,
 * as fuzz_import.c does, so what the fuzzer once found stays fixed in the
 * normal suite. Run from agent/ (make unit does); WAKEFLOW_FUZZ_CORPUS
 * overrides the directory.
 */
static void test_fuzz_corpus_replay(void **state)
{
	const char *dir = getenv("WAKEFLOW_FUZZ_CORPUS");
	char err[256], path[4096];
	struct wf_rules *rules = rules_load_default(err, sizeof(err));
	FILE *sink = fopen("/dev/null", "w");
	struct dirent *d;
	size_t files = 0, blocks = 0, errors = 0;
	DIR *dp;

	(void)state;
	if (!dir)
		dir = "tests/fuzz/corpus-import";
	assert_non_null(rules);
	assert_non_null(sink);
	dp = opendir(dir);
	if (!dp)
		fail_msg("cannot open the fuzz corpus %s (run from agent/ or set WAKEFLOW_FUZZ_CORPUS)", dir);
	while ((d = readdir(dp))) {
		struct wf_edge_list l = { 0 };
		char *buf;
		long size;
		FILE *f;
		int rc;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		rewind(f);
		buf = malloc(size + 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, size, f), (size_t)size);
		fclose(f);
		rc = owt_parse(buf, size, d->d_name, &l, err, sizeof(err));
		if (rc < 0) {
			errors++;
			assert_non_null(strchr(err, ':'));
		} else {
			blocks += rc;
		}
		for (size_t i = 0; i < l.len; i++)
			classify_edge(rules, &l.items[i]);
		assert_int_equal(report_write(sink, WF_FORMAT_TEXT, &l, NULL), 0);
		assert_int_equal(report_write(sink, WF_FORMAT_FOLDED, &l, NULL), 0);
		assert_int_equal(report_write(sink, WF_FORMAT_JSON, &l, NULL), 0);
		edge_list_free(&l);
		free(buf);
		files++;
	}
	closedir(dp);
	fclose(sink);
	rules_free(rules);
	print_message("fuzz corpus: %zu files, %zu blocks, %zu rejected inputs\n", files, blocks, errors);
	/* A corpus that lost its seeds would make this test vacuous. */
	assert_true(files >= 20);
	assert_true(blocks >= 20);
	assert_true(errors >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_form_with_annotations),
		cmocka_unit_test(test_preemption_and_missing_value),
		cmocka_unit_test(test_crlf_quotes_escapes_delimiter),
		cmocka_unit_test(test_folded_form),
		cmocka_unit_test(test_errors_name_the_line),
		cmocka_unit_test(test_tolerated_noise),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_parse_file_errors),
		cmocka_unit_test(test_fuzz_corpus_replay),
	};

	return cmocka_run_group_tests_name("offwaketime", tests, NULL, NULL);
}
