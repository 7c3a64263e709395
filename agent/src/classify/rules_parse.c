// SPDX-License-Identifier: Apache-2.0
/*
 * The rules language's parser (classify.h: rules_load_*): reads a rules file
 * line by line into the structures of rules_int.h, refusing at load time
 * anything that could only fail silently later (an unknown fact key, a
 * category or role that does not exist, an activity rule evaluated before the
 * output it tests). The language is documented in docs/classification.md.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

static void pattern_free(struct pattern *p)
{
	for (int i = 0; i < p->nalts; i++) {
		free(p->alts[i].text);
		free(p->alts[i].inner);
	}
	free(p->alts);
	memset(p, 0, sizeof(*p));
}

static const struct {
	const char *name;
	enum subject subj;
} subjects[] = {
	{ "waker.frame", SUBJ_WAKER_FRAME }, { "target.frame", SUBJ_TARGET_FRAME },
	{ "waker.comm", SUBJ_WAKER_COMM },   { "target.comm", SUBJ_TARGET_COMM },
	{ "waker.proc", SUBJ_WAKER_PROC },   { "target.proc", SUBJ_TARGET_PROC },
	{ "context", SUBJ_CONTEXT },	     { "category", SUBJ_CATEGORY },
	{ "role", SUBJ_ROLE },
};

/* The agreed fact vocabulary (docs/classification.md); a test on any other
 * key is a typo that would silently never match, so loading refuses it. */
static const char *const fact_keys[] = {
	"target.state", "target.preempt", "target.resched", "target.syscall", "waker.syscall",
	"waker.fd",	"irq",		  "irq.softirq",    "irq.timer",
};

static const char *const ctx_list_names[CTX__COUNT] = {
	[CTX_HARDIRQ] = "hardirq",
	[CTX_SOFTIRQ] = "softirq",
	[CTX_SOFTIRQ_IN_TASK] = "softirq-in-task",
	[CTX_SOFTIRQ_IN_IRQ] = "softirq-in-irq",
};

static void rule_free(struct rule *r)
{
	for (int c = 0; c < r->nclauses; c++) {
		for (int t = 0; t < r->clauses[c].ntests; t++) {
			free(r->clauses[c].tests[t].fact_key);
			pattern_free(&r->clauses[c].tests[t].pat);
		}
		free(r->clauses[c].tests);
		free(r->clauses[c].text);
	}
	free(r->clauses);
	free(r->name);
	free(r->activity);
}

void rules_free(struct wf_rules *rules)
{
	if (!rules)
		return;
	for (int i = 0; i < rules->nrules; i++)
		rule_free(&rules->rules[i]);
	free(rules->rules);
	for (int i = 0; i < CTX__COUNT; i++)
		pattern_free(&rules->ctx[i]);
	pattern_free(&rules->idle);
	free(rules->origin);
	free(rules);
}

size_t rules_count(const struct wf_rules *rules)
{
	return rules ? (size_t)rules->nrules : 0;
}

const char *rules_origin(const struct wf_rules *rules)
{
	return rules ? rules->origin : NULL;
}

/* ---- parsing ----------------------------------------------------------- */

struct parser {
	const char *origin;
	int line;
	char *err;
	size_t errlen;
	bool failed;
	struct wf_rules *rules;
	struct rule *cur; /* rule being filled, NULL outside a rule */
};

__attribute__((format(printf, 2, 3))) static int fail(struct parser *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (p->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->line > 0)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->origin, p->line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->origin, msg);
	p->failed = true;
	return -1;
}

static int oom(struct parser *p)
{
	return fail(p, "out of memory");
}

#define MAX_TOKENS 64

/*
 * Splits a line into whitespace-separated tokens in place. A '#' at the
 * start of a token begins a comment; inside a token it is literal, because
 * C++ frame names contain it ("{lambda(void*)#1}"). Double quotes group a
 * token with spaces ("virtual thunk to *"); a quoted '#' is literal too.
 */
static int tokenize(struct parser *p, char *line, char **tok, int max)
{
	int n = 0;
	char *s = line;

	for (;;) {
		char *out;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			return n;
		if (n == max)
			return fail(p, "too many words on one line (at most %d)", max);
		tok[n++] = out = s;
		/* A token ends at unquoted whitespace; quotes may start anywhere
		 * in it (target.frame="virtual thunk to *") and are removed. */
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '"') {
				s++;
				while (*s && *s != '"')
					*out++ = *s++;
				if (*s != '"')
					return fail(p, "unterminated quote");
				s++;
				continue;
			}
			*out++ = *s++;
		}
		if (*s)
			s++;
		*out = '\0';
	}
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

static int parse_pattern(struct parser *p, const char *text, struct pattern *pat)
{
	const char *s = text;

	if (!*text)
		return fail(p, "empty pattern");
	for (;;) {
		const char *bar = strchr(s, '|');
		size_t len = bar ? (size_t)(bar - s) : strlen(s);
		struct alt *alts, *a;

		if (!len)
			return fail(p, "empty alternative in pattern '%s'", text);
		alts = realloc(pat->alts, (pat->nalts + 1) * sizeof(*alts));
		if (!alts)
			return oom(p);
		pat->alts = alts;
		a = &pat->alts[pat->nalts];
		memset(a, 0, sizeof(*a));
		a->text = strndup(s, len);
		if (!a->text)
			return oom(p);
		pat->nalts++;
		a->len = len;
		if (!has_glob(a->text)) {
			a->kind = ALT_EXACT;
		} else if (a->text[len - 1] == '*' && strcspn(a->text, "*?[\\") == len - 1) {
			a->kind = ALT_PREFIX; /* "foo*" */
			a->len = len - 1;
		} else if (a->text[0] == '*' && len > 1 && !has_glob(a->text + 1)) {
			a->kind = ALT_SUFFIX; /* "*foo" */
		} else if (len > 2 && a->text[0] == '*' && a->text[len - 1] == '*' &&
			   strcspn(a->text + 1, "*?[\\") == len - 2) {
			a->kind = ALT_CONTAINS; /* "*foo*" */
		} else {
			a->kind = ALT_GLOB;
		}
		if (a->kind == ALT_SUFFIX || a->kind == ALT_CONTAINS) {
			a->len = a->kind == ALT_SUFFIX ? len - 1 : len - 2;
			a->inner = strndup(a->text + 1, a->len);
			if (!a->inner)
				return oom(p);
		}
		if (!bar)
			return 0;
		s = bar + 1;
	}
}

/* For tests on closed vocabularies, every literal alternative must exist. */
static int check_values(struct parser *p, const struct pattern *pat, const char *what, int (*lookup)(const char *))
{
	for (int i = 0; i < pat->nalts; i++) {
		if (pat->alts[i].kind == ALT_EXACT && lookup(pat->alts[i].text) < 0)
			return fail(p, "unknown %s '%s'", what, pat->alts[i].text);
	}
	return 0;
}

static int context_from_name(const char *s)
{
	static const char *const names[] = { "none", "task", "softirq", "hardirq", "unknown" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(names[i], s))
			return (int)i;
	}
	return -1;
}

/* Passes, in evaluation order; a rule may only test outputs of earlier ones. */
enum { STAGE_ROLE, STAGE_CATEGORY, STAGE_ACTIVITY, STAGE_NONE };

static int first_stage(const struct rule *r)
{
	if (r->role >= 0)
		return STAGE_ROLE;
	if (r->category >= 0)
		return STAGE_CATEGORY;
	if (r->sets_activity)
		return STAGE_ACTIVITY;
	return STAGE_NONE;
}

static int parse_test(struct parser *p, char *tok, struct test *t)
{
	char *eq = strchr(tok, '=');
	char *key = tok, *value;
	size_t i;

	memset(t, 0, sizeof(*t));
	if (!eq || eq == tok)
		return fail(p, "expected a test like 'waker.frame=NAME', got '%s'", tok);
	value = eq + 1;
	if (eq[-1] == '!') {
		t->negate = true;
		eq[-1] = '\0';
	}
	*eq = '\0';
	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		if (!strcmp(subjects[i].name, key)) {
			t->subj = subjects[i].subj;
			break;
		}
	}
	if (i == sizeof(subjects) / sizeof(subjects[0])) {
		for (i = 0; i < sizeof(fact_keys) / sizeof(fact_keys[0]); i++) {
			if (!strcmp(fact_keys[i], key))
				break;
		}
		if (i == sizeof(fact_keys) / sizeof(fact_keys[0]))
			return fail(p, "unknown test '%s' (not a frame, comm, proc, context, category, role or known fact)",
				    key);
		t->subj = SUBJ_FACT;
		t->fact_key = strdup(key);
		if (!t->fact_key)
			return oom(p);
	}
	if (parse_pattern(p, value, &t->pat))
		return -1;
	switch (t->subj) {
	case SUBJ_CONTEXT:
		return check_values(p, &t->pat, "context", context_from_name);
	case SUBJ_CATEGORY:
		return check_values(p, &t->pat, "category", wf_category_from_id);
	case SUBJ_ROLE:
		return check_values(p, &t->pat, "role", wf_role_from_id);
	default:
		return 0;
	}
}

/* The tests of a `when` line as written: after the keyword, up to the
 * comment (a '#' starting a word outside quotes, as tokenize reads it). */
static char *when_text(const char *line)
{
	const char *s = line + strspn(line, " \t") + 4, *end;
	bool quoted = false;

	s += strspn(s, " \t");
	for (end = s; *end; end++) {
		if (*end == '"')
			quoted = !quoted;
		else if (!quoted && *end == '#' && (end == s || end[-1] == ' ' || end[-1] == '\t'))
			break;
	}
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return strndup(s, (size_t)(end - s));
}

static int parse_when(struct parser *p, const char *raw, char **tok, int ntok)
{
	struct rule *r = p->cur;
	struct clause *cl, *clauses;

	if (ntok < 2)
		return fail(p, "'when' needs at least one test (or 'always')");
	clauses = realloc(r->clauses, (r->nclauses + 1) * sizeof(*clauses));
	if (!clauses)
		return oom(p);
	r->clauses = clauses;
	cl = &r->clauses[r->nclauses++];
	memset(cl, 0, sizeof(*cl));
	cl->text = when_text(raw);
	if (!cl->text)
		return oom(p);
	if (ntok == 2 && !strcmp(tok[1], "always"))
		return 0; /* a clause without tests always holds */
	cl->tests = calloc(ntok - 1, sizeof(*cl->tests));
	if (!cl->tests)
		return oom(p);
	for (int i = 1; i < ntok; i++) {
		if (!strcmp(tok[i], "always"))
			return fail(p, "'always' must be alone on its 'when' line");
		/* Count the test before parsing so rule_free sees its allocations. */
		cl->ntests++;
		if (parse_test(p, tok[i], &cl->tests[i - 1]))
			return -1;
	}
	return 0;
}

static bool valid_activity_id(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++) {
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr("._-", *s))
			return false;
	}
	return true;
}

/* Checks that need the whole rule. */
static int check_rule(struct parser *p, const struct rule *r)
{
	int stage = first_stage(r);

	if (stage == STAGE_NONE)
		return fail(p, "rule '%s' sets nothing (needs category, activity or role)", r->name);
	if (!r->nclauses)
		return fail(p, "rule '%s' has no 'when' line (write 'when always' for a catch-all)", r->name);
	for (int c = 0; c < r->nclauses; c++) {
		for (int t = 0; t < r->clauses[c].ntests; t++) {
			enum subject s = r->clauses[c].tests[t].subj;

			if ((s == SUBJ_ROLE && stage <= STAGE_ROLE) || (s == SUBJ_CATEGORY && stage <= STAGE_CATEGORY))
				return fail(p,
					    "rule '%s' tests %s, which is decided after or together with what the rule sets (order: role, category, activity)",
					    r->name, s == SUBJ_ROLE ? "role" : "category");
		}
	}
	return 0;
}

/* Called at the next rule or directive and at end of file; problems with
 * the rule as a whole are reported at its 'rule' line. */
static int finish_rule(struct parser *p)
{
	struct rule *r = p->cur;
	int line = p->line, rc;

	if (!r)
		return 0;
	p->cur = NULL;
	p->line = r->line;
	rc = check_rule(p, r);
	p->line = line;
	return rc;
}

static int start_rule(struct parser *p, char **tok, int ntok)
{
	struct wf_rules *rs = p->rules;
	struct rule *rules, *r;

	if (ntok != 2)
		return fail(p, "expected 'rule NAME'");
	for (int i = 0; i < rs->nrules; i++) {
		if (!strcmp(rs->rules[i].name, tok[1]))
			return fail(p, "duplicate rule name '%s' (first on line %d)", tok[1], rs->rules[i].line);
	}
	rules = realloc(rs->rules, (rs->nrules + 1) * sizeof(*rules));
	if (!rules)
		return oom(p);
	rs->rules = rules;
	r = &rs->rules[rs->nrules++];
	memset(r, 0, sizeof(*r));
	r->category = r->role = -1;
	r->line = p->line;
	r->name = strdup(tok[1]);
	if (!r->name)
		return oom(p);
	p->cur = r;
	return 0;
}

static int parse_output(struct parser *p, char **tok, int ntok)
{
	struct rule *r = p->cur;
	const char *kw = tok[0];

	if (!r)
		return fail(p, "'%s' outside a rule (start one with 'rule NAME')", kw);
	if (ntok != 2)
		return fail(p, "expected '%s ID'", kw);
	if (!strcmp(kw, "category")) {
		if (r->category >= 0)
			return fail(p, "rule '%s' sets category twice", r->name);
		r->category = wf_category_from_id(tok[1]);
		if (r->category < 0)
			return fail(p, "unknown category '%s'", tok[1]);
	} else if (!strcmp(kw, "role")) {
		if (r->role >= 0)
			return fail(p, "rule '%s' sets role twice", r->name);
		r->role = wf_role_from_id(tok[1]);
		if (r->role < 0)
			return fail(p, "unknown role '%s' (worker, main, watchdog, access_log, other)", tok[1]);
	} else {
		if (r->sets_activity)
			return fail(p, "rule '%s' sets activity twice", r->name);
		r->sets_activity = true;
		if (strcmp(tok[1], "none")) {
			if (!valid_activity_id(tok[1]))
				return fail(p, "bad activity id '%s' (lower-case letters, digits, '.', '_', '-')",
					    tok[1]);
			r->activity = strdup(tok[1]);
			if (!r->activity)
				return oom(p);
		}
	}
	return 0;
}

static int parse_context_frames(struct parser *p, char **tok, int ntok)
{
	if (ntok != 3)
		return fail(p, "expected 'context-frames KIND PATTERN'");
	for (int i = 0; i < CTX__COUNT; i++) {
		if (!strcmp(ctx_list_names[i], tok[1]))
			return parse_pattern(p, tok[2], &p->rules->ctx[i]);
	}
	return fail(p, "unknown context-frames kind '%s' (hardirq, softirq, softirq-in-task, softirq-in-irq)",
		    tok[1]);
}

static int parse_line(struct parser *p, char *line, const char *raw)
{
	char *tok[MAX_TOKENS];
	int ntok = tokenize(p, line, tok, MAX_TOKENS);

	if (ntok <= 0)
		return ntok;
	if (!strcmp(tok[0], "rule")) {
		if (finish_rule(p))
			return -1;
		return start_rule(p, tok, ntok);
	}
	if (!strcmp(tok[0], "category") || !strcmp(tok[0], "activity") || !strcmp(tok[0], "role"))
		return parse_output(p, tok, ntok);
	if (!strcmp(tok[0], "when")) {
		if (!p->cur)
			return fail(p, "'when' outside a rule (start one with 'rule NAME')");
		return parse_when(p, raw, tok, ntok);
	}
	/* Directives end the rule before them, so a rule's lines stay together. */
	if (!strcmp(tok[0], "context-frames")) {
		if (finish_rule(p))
			return -1;
		return parse_context_frames(p, tok, ntok);
	}
	if (!strcmp(tok[0], "idle-comm")) {
		if (finish_rule(p))
			return -1;
		if (ntok != 2)
			return fail(p, "expected 'idle-comm PATTERN'");
		return parse_pattern(p, tok[1], &p->rules->idle);
	}
	return fail(p, "unknown keyword '%s' (rule, category, activity, role, when, context-frames, idle-comm)",
		    tok[0]);
}

struct wf_rules *rules_load_string(const char *text, const char *origin, char *err, size_t errlen)
{
	struct parser p = { .origin = origin ? origin : "rules", .err = err, .errlen = errlen };
	const char *s = text;
	char *line = NULL, *raw = NULL;
	size_t linecap = 0;

	if (errlen)
		err[0] = '\0';
	p.rules = calloc(1, sizeof(*p.rules));
	if (!p.rules || !(p.rules->origin = strdup(p.origin))) {
		free(p.rules);
		snprintf(err, errlen, "%s: out of memory", p.origin);
		return NULL;
	}
	while (*s && !p.failed) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		p.line++;
		if (len + 1 > linecap) {
			char *l = realloc(line, len + 1), *r = l ? realloc(raw, len + 1) : NULL;

			line = l ? l : line;
			raw = r ? r : raw;
			if (!l || !r) {
				oom(&p);
				break;
			}
			linecap = len + 1;
		}
		memcpy(line, s, len);
		if (len && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		/* tokenize splits the line in place; explanations quote it whole. */
		memcpy(raw, line, len + 1);
		parse_line(&p, line, raw);
		s = nl ? nl + 1 : s + len;
		if (!nl)
			break;
	}
	free(line);
	free(raw);
	if (!p.failed) {
		finish_rule(&p);
		p.line = 0;
		if (!p.failed && !p.rules->nrules)
			fail(&p, "no rules");
	}
	if (p.failed) {
		rules_free(p.rules);
		return NULL;
	}
	return p.rules;
}

struct wf_rules *rules_load_default(char *err, size_t errlen)
{
	return rules_load_string(wf_default_rules, "built-in rules", err, errlen);
}

struct wf_rules *rules_load_file(const char *path, char *err, size_t errlen)
{
	struct wf_rules *rules;
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open rules file: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			char *b = cap > (1u << 26) ? NULL : realloc(buf, cap ? cap * 2 : 8192);

			if (!b) {
				snprintf(err, errlen, "%s: rules file too large or out of memory", path);
				goto fail;
			}
			buf = b;
			cap = cap ? cap * 2 : 8192;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read rules file: %s", path, strerror(errno));
		goto fail;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		snprintf(err, errlen, "%s: not a text file (contains NUL bytes)", path);
		goto fail;
	}
	fclose(f);
	rules = rules_load_string(buf, path, err, errlen);
	free(buf);
	return rules;
fail:
	fclose(f);
	free(buf);
	return NULL;
}
