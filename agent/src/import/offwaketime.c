// SPDX-License-Identifier: Apache-2.0
/*
 * BCC offwaketime parser (offwaketime.h). A line-driven state machine over
 * the default form, with folded lines recognised between blocks. Anything
 * that is clearly part of a block but out of place (a frame with no waker
 * line before it, a block with no "--", a non-numeric value) is an error
 * naming the line; text that cannot belong to a block is annotation.
 */
#include "offwaketime.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "intern.h"

/* Frames in printed order while a block is read. */
struct frames {
	const char **v;
	int n, cap;
	int delim; /* frames before a "-" kernel/user delimiter, -1 if none */
};

enum state { OUTSIDE, IN_WAKER, IN_TARGET, AFTER_TARGET };

struct owt {
	const char *name;
	int line;
	char *err;
	size_t errlen;
	struct wf_edge_list *out;
	int nblocks;

	enum state state;
	int block_line; /* where the current block's waker line was */
	struct wf_edge e;
	struct frames waker, target;
};

__attribute__((format(printf, 2, 3))) static int fail(struct owt *p, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s", p->name, p->line, msg);
	return -1;
}

static int push(struct owt *p, struct frames *f, const char *s, size_t len)
{
	const char *frame = intern_n(s, len);

	if (!frame)
		return fail(p, "out of memory");
	if (f->n == f->cap) {
		int cap = f->cap ? f->cap * 2 : 64;
		const char **v = realloc(f->v, cap * sizeof(*v));

		if (!v)
			return fail(p, "out of memory");
		f->v = v;
		f->cap = cap;
	}
	f->v[f->n++] = frame;
	return 0;
}

static void frames_reset(struct frames *f)
{
	f->n = 0;
	f->delim = -1;
}

/*
 * Moves printed frames into an edge stack, innermost first. Waker frames are
 * printed outermost first (user, "-", kernel), so they are reversed; target
 * frames already are innermost first (kernel, "-", user). Either way the
 * kernel part ends up first, as in live stacks.
 */
static int to_stack(struct owt *p, const struct frames *f, bool reverse, struct wf_stack *st)
{
	memset(st, 0, sizeof(*st));
	st->nkernel = -1;
	if (!f->n)
		return 0;
	st->frames = malloc(f->n * sizeof(*st->frames));
	if (!st->frames)
		return fail(p, "out of memory");
	for (int i = 0; i < f->n; i++)
		st->frames[i] = f->v[reverse ? f->n - 1 - i : i];
	st->nframes = f->n;
	if (f->delim >= 0)
		st->nkernel = reverse ? f->n - f->delim : f->delim;
	return 0;
}

static int finish_block(struct owt *p, bool reverse_waker, bool reverse_target)
{
	struct wf_edge *e = &p->e;

	if (to_stack(p, &p->waker, reverse_waker, &e->waker_stack))
		return -1;
	if (to_stack(p, &p->target, reverse_target, &e->target_stack)) {
		free(e->waker_stack.frames);
		return -1;
	}
	if (edge_list_push(p->out, e)) {
		free(e->waker_stack.frames);
		free(e->target_stack.frames);
		return fail(p, "out of memory");
	}
	p->nblocks++;
	p->state = OUTSIDE;
	return 0;
}

/* ---- line helpers ------------------------------------------------------ */

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
	}
	return true;
}

/* "--" or "--   --" (offwaketime prints "%-16s %s" % ("--", "--")). */
static bool is_separator(const char *t)
{
	if (!starts(t, "--"))
		return false;
	t = skip_ws(t + 2);
	if (starts(t, "--"))
		t = skip_ws(t + 2);
	return *t == '\0';
}

static bool is_fence(const char *t)
{
	return starts(t, "```") || starts(t, "~~~");
}

static bool is_marker_frame(const char *t)
{
	return starts(t, "[unknown]") || starts(t, "[Missed ");
}

static bool is_quoted_frame(const char *t)
{
	return (t[0] == 'b' && (t[1] == '\'' || t[1] == '"'));
}

/* A folded (-f) line: TARGET;...;--;...;WAKER VALUE */
static bool is_folded(const char *t)
{
	return strstr(t, ";--;") != NULL;
}

static int parse_u64(struct owt *p, const char *s, uint64_t *out, const char *what)
{
	uint64_t v = 0;

	if (!all_digits(s))
		return fail(p, "non-numeric %s '%.40s'", what, s);
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return fail(p, "%s out of range", what);
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int set_offcpu_us(struct owt *p, const char *s)
{
	uint64_t us;

	if (parse_u64(p, s, &us, "value"))
		return -1;
	if (us > UINT64_MAX / 1000)
		return fail(p, "value out of range");
	p->e.offcpu_ns = us * 1000;
	p->e.offcpu_unknown = false;
	return 0;
}

static void set_comm(char *dst, const char *s, size_t len)
{
	/* Longer than a kernel comm cannot come from BCC; keep what fits. */
	if (len > WF_COMM_LEN - 1)
		len = WF_COMM_LEN - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* "COMM PID" after "waker:" or "target:"; COMM may be empty or hold spaces. */
static int parse_task(struct owt *p, const char *rest, struct wf_task *task, const char *what)
{
	const char *end = rest + strlen(rest), *tok;
	uint64_t id;
	char num[24];

	rest = skip_ws(rest);
	while (end > rest && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	tok = end;
	while (tok > rest && tok[-1] != ' ' && tok[-1] != '\t')
		tok--;
	if (tok == end)
		return fail(p, "%s line without a pid", what);
	if ((size_t)(end - tok) >= sizeof(num))
		return fail(p, "%s pid out of range", what);
	memcpy(num, tok, end - tok);
	num[end - tok] = '\0';
	if (!all_digits(num))
		return fail(p, "%s line ends in '%s', not a pid", what, num);
	if (parse_u64(p, num, &id, "pid"))
		return -1;
	if (id > INT32_MAX)
		return fail(p, "%s pid out of range", what);
	while (tok > rest && (tok[-1] == ' ' || tok[-1] == '\t'))
		tok--;
	set_comm(task->comm, rest, tok - rest);
	/* offwaketime prints the kernel pid of the thread: our tid. The
	 * process id is not in the output. */
	task->tid = (int32_t)id;
	task->pid = -1;
	return 0;
}

/*
 * A frame as Python prints bytes: b'name' or b"name" with backslash escapes.
 * Text after the closing quote must be an annotation ("<<<<< why", "# note").
 */
static int push_quoted(struct owt *p, struct frames *f, const char *t)
{
	char quote = t[1];
	const char *s = t + 2;
	char *buf = malloc(strlen(s) + 1);
	size_t n = 0;
	int rc;

	if (!buf)
		return fail(p, "out of memory");
	for (;;) {
		if (!*s) {
			free(buf);
			return fail(p, "frame without its closing quote");
		}
		if (*s == quote)
			break;
		if (*s == '\\' && s[1]) {
			s++;
			switch (*s) {
			case 'n':
				buf[n++] = '\n';
				break;
			case 't':
				buf[n++] = '\t';
				break;
			case 'r':
				buf[n++] = '\r';
				break;
			case 'x':
				if (isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
					char hex[3] = { s[1], s[2], 0 };
					unsigned long v = strtoul(hex, NULL, 16);

					/* A NUL cannot live in a C string: keep the escape. */
					if (v) {
						buf[n++] = (char)v;
						s += 2;
						break;
					}
				}
				buf[n++] = '\\';
				buf[n++] = 'x';
				break;
			default: /* \\ \' \" and anything unknown: the character itself */
				buf[n++] = *s;
				break;
			}
			s++;
			continue;
		}
		buf[n++] = *s++;
	}
	s = skip_ws(s + 1);
	if (*s && *s != '<' && *s != '#' && !starts(s, "//")) {
		free(buf);
		return fail(p, "unexpected text after frame: '%.40s' (annotations start with '<', '#' or '//')", s);
	}
	rc = push(p, f, buf, n);
	free(buf);
	return rc;
}

/* Plain frame lines (newer BCC): the trimmed line minus a trailing
 * annotation, which starts at whitespace followed by "<<<", "#" or "//". */
static int push_plain(struct owt *p, struct frames *f, const char *t)
{
	size_t len = strlen(t);

	for (size_t i = 1; i < len; i++) {
		if ((t[i - 1] == ' ' || t[i - 1] == '\t') &&
		    (starts(t + i, "<<<") || t[i] == '#' || starts(t + i, "//"))) {
			len = i;
			break;
		}
	}
	while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
		len--;
	return push(p, f, t, len);
}

static int push_frame(struct owt *p, struct frames *f, const char *t)
{
	if (!strcmp(t, "-")) {
		f->delim = f->n;
		return 0;
	}
	if (is_quoted_frame(t))
		return push_quoted(p, f, t);
	return push_plain(p, f, t);
}

static void begin_block(struct owt *p)
{
	edge_init(&p->e);
	/* The input has no count, no run-queue delay, no timestamps. */
	p->e.count_known = false;
	p->e.runq_known = false;
	p->e.stacks_sampled = true;
	p->e.kind = WF_SWITCH_BLOCKED;
	p->e.context = WF_CTX_UNKNOWN;
	frames_reset(&p->waker);
	frames_reset(&p->target);
	p->block_line = p->line;
}

/* ---- folded form ------------------------------------------------------- */

static int folded_frame(struct owt *p, struct frames *f, const char *s, size_t len)
{
	char *tmp;
	int rc;

	if (!len)
		return 0; /* ";;": nothing to keep */
	if (len == 1 && *s == '-') {
		f->delim = f->n;
		return 0;
	}
	if (len >= 3 && s[0] == 'b' && (s[1] == '\'' || s[1] == '"') && s[len - 1] == s[1]) {
		tmp = strndup(s, len);
		if (!tmp)
			return fail(p, "out of memory");
		rc = push_quoted(p, f, tmp);
		free(tmp);
		return rc;
	}
	return push(p, f, s, len);
}

static int parse_folded(struct owt *p, const char *t)
{
	const char *end = t + strlen(t), *sp, *s, *field_end, *dash, *last;
	bool seen_target = false;

	while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (sp = end; sp > t && sp[-1] != ' '; sp--)
		;
	if (sp == t)
		return fail(p, "folded line without a value at the end");
	{
		char num[24];
		size_t n = end - sp;

		if (n >= sizeof(num))
			return fail(p, "folded line value out of range");
		memcpy(num, sp, n);
		num[n] = '\0';
		begin_block(p);
		if (set_offcpu_us(p, num))
			return -1;
	}
	end = sp - 1; /* the space before the value */

	/* Our own folded output puts "[category];" first: skip it. */
	if (t[0] == '[') {
		const char *close = memchr(t, ']', end - t);

		if (close && close + 1 < end && close[1] == ';') {
			char id[32];
			size_t n = close - t - 1;

			if (n < sizeof(id)) {
				memcpy(id, t + 1, n);
				id[n] = '\0';
				if (wf_category_from_id(id) >= 0)
					t = close + 2;
			}
		}
	}

	dash = strstr(t, ";--;");
	if (!dash || dash >= end)
		return fail(p, "folded line without ';--;' before its value");
	/* The waker's name is the last field. */
	for (last = end; last > dash + 3 && last[-1] != ';'; last--)
		;
	set_comm(p->e.waker.comm, last, end - last);

	for (s = t; s <= dash; s = field_end + 1) {
		field_end = memchr(s, ';', dash + 1 - s);
		if (!field_end)
			field_end = dash;
		if (!seen_target) {
			set_comm(p->e.target.comm, s, field_end - s);
			seen_target = true;
		} else if (folded_frame(p, &p->target, s, field_end - s)) {
			return -1;
		}
		if (field_end == dash)
			break;
	}
	for (s = dash + 4; s < last; s = field_end + 1) {
		field_end = memchr(s, ';', last - s);
		if (!field_end)
			field_end = last;
		if (folded_frame(p, &p->waker, s, field_end - s))
			return -1;
	}
	if (!p->e.waker.comm[0] && !p->waker.n) {
		p->e.context = WF_CTX_NONE;
		p->e.kind = WF_SWITCH_PREEMPTED;
	}
	/* Target printed outermost first (reverse); waker innermost first. */
	return finish_block(p, false, true);
}

/* ---- default form ------------------------------------------------------ */

static int start_waker(struct owt *p, const char *t)
{
	begin_block(p);
	if (parse_task(p, t + strlen("waker:"), &p->e.waker, "waker"))
		return -1;
	/* "waker: 0", no name: nobody woke the target, it was preempted. */
	if (!p->e.waker.comm[0] && p->e.waker.tid == 0) {
		p->e.waker.tid = -1;
		p->e.context = WF_CTX_NONE;
		p->e.kind = WF_SWITCH_PREEMPTED;
	}
	p->state = IN_WAKER;
	return 0;
}

static int line_outside(struct owt *p, const char *line, const char *t)
{
	if (starts(t, "waker:"))
		return start_waker(p, t);
	if (starts(t, "target:"))
		return fail(p, "target line outside a block (no waker line before it)");
	if (is_separator(t))
		return fail(p, "'--' separator outside a block (no waker line before it)");
	if (is_quoted_frame(t) || is_marker_frame(t))
		return fail(p, "stack frame outside a block (no waker line before it)");
	if (t != line && all_digits(t))
		return fail(p, "value line outside a block");
	if (t[0] != '#' && !is_fence(t) && is_folded(t))
		return parse_folded(p, t);
	return 0; /* annotation: prose, markdown, shell, header lines */
}

static int line_in_block(struct owt *p, const char *t)
{
	struct frames *f = p->state == IN_WAKER ? &p->waker : &p->target;
	const char *where = p->state == IN_WAKER ? "'--' separator" : "target line";

	if (starts(t, "<<<"))
		return 0; /* an annotation on a line of its own */
	if (is_separator(t)) {
		if (p->state == IN_TARGET)
			return fail(p, "second '--' separator in the block starting at line %d", p->block_line);
		p->state = IN_TARGET;
		return 0;
	}
	if (starts(t, "target:")) {
		if (p->state == IN_WAKER)
			return fail(p, "target line before the '--' separator of the block starting at line %d",
				    p->block_line);
		if (parse_task(p, t + strlen("target:"), &p->e.target, "target"))
			return -1;
		p->e.offcpu_unknown = true; /* until the value line says otherwise */
		p->state = AFTER_TARGET;
		return 0;
	}
	if (starts(t, "waker:") || is_fence(t) || t[0] == '#')
		return fail(p, "block starting at line %d ends here without its %s", p->block_line, where);
	if (all_digits(t))
		return fail(p, "value line inside the block starting at line %d (before its %s)", p->block_line,
			    where);
	return push_frame(p, f, t);
}

static int line_after_target(struct owt *p, const char *line, const char *t)
{
	/* The value line, indented under the target line. offwaketime always
	 * prints it; the first block of a hand-cut capture may have lost it,
	 * so a block can also end at the next block, fence, heading or prose. */
	if (all_digits(t)) {
		if (set_offcpu_us(p, t))
			return -1;
		return finish_block(p, true, false);
	}
	if (t != line && !starts(t, "waker:") && !is_fence(t) && t[0] != '#')
		return fail(p, "expected the off-CPU time (us) after the target line, got '%.40s'", t);
	if (finish_block(p, true, false))
		return -1;
	return line_outside(p, line, t);
}

static int parse_line(struct owt *p, char *line)
{
	size_t len = strlen(line);
	const char *t;

	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
		line[--len] = '\0';
	t = skip_ws(line);
	if (!*t)
		return 0; /* blank lines are allowed anywhere */
	switch (p->state) {
	case OUTSIDE:
		return line_outside(p, line, t);
	case IN_WAKER:
	case IN_TARGET:
		return line_in_block(p, t);
	default:
		return line_after_target(p, line, t);
	}
}

static int parse_end(struct owt *p)
{
	switch (p->state) {
	case IN_WAKER:
		return fail(p, "file ends inside the block starting at line %d (no '--' separator)", p->block_line);
	case IN_TARGET:
		return fail(p, "file ends inside the block starting at line %d (no target line)", p->block_line);
	case AFTER_TARGET:
		return finish_block(p, true, false);
	default:
		return 0;
	}
}

int owt_parse(const char *buf, size_t len, const char *name, struct wf_edge_list *out, char *err, size_t errlen)
{
	struct owt p = { .name = name ? name : "input", .err = err, .errlen = errlen, .out = out };
	char *line = NULL;
	size_t cap = 0, pos = 0;
	int rc = 0;

	if (errlen)
		err[0] = '\0';
	frames_reset(&p.waker);
	frames_reset(&p.target);
	while (pos < len && !rc) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		p.line++;
		if (memchr(buf + pos, '\0', n)) {
			rc = fail(&p, "not a text file (NUL byte)");
			break;
		}
		if (n + 1 > cap) {
			char *l = realloc(line, n + 1);

			if (!l) {
				rc = fail(&p, "out of memory");
				break;
			}
			line = l;
			cap = n + 1;
		}
		memcpy(line, buf + pos, n);
		line[n] = '\0';
		rc = parse_line(&p, line);
		pos += n + 1;
	}
	if (!rc)
		rc = parse_end(&p);
	free(line);
	free(p.waker.v);
	free(p.target.v);
	return rc ? -1 : p.nblocks;
}

int owt_parse_file(const char *path, struct wf_edge_list *out, char *err, size_t errlen)
{
	bool use_stdin = !strcmp(path, "-");
	FILE *f = use_stdin ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (cap - len < 65536) {
			size_t ncap = cap ? cap * 2 : 131072;
			char *b = realloc(buf, ncap);

			if (!b) {
				snprintf(err, errlen, "%s: out of memory reading the file", path);
				rc = -1;
				goto out;
			}
			buf = b;
			cap = ncap;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		/* e.g. EISDIR for a directory */
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno ? errno : EIO));
		rc = -1;
		goto out;
	}
	rc = owt_parse(buf, len, use_stdin ? "<stdin>" : path, out, err, errlen);
out:
	if (!use_stdin)
		fclose(f);
	free(buf);
	return rc;
}
