// SPDX-License-Identifier: Apache-2.0
/*
 * Classification (classify.h): rules parsed once (rules_parse.c), then
 * evaluated here per edge. The file format and the meaning of every category
 * are in docs/classification.md; agent/rules/default.rules is the default
 * rule set, compiled in (rules_embed.S).
 *
 * Evaluation order is fixed: the target's role first (it depends on thread
 * names only), then the category, then the activity, so activity rules may
 * test the category ("UDP from coredns") and both may test the role. In each
 * pass the first rule that sets that output and matches wins.
 */
#include "classify.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <string.h>

#include "intern.h"
#include "rules_int.h"

/* ---- patterns ---------------------------------------------------------- */

static bool alt_match(const struct alt *a, const char *s)
{
	switch (a->kind) {
	case ALT_EXACT:
		return strcmp(a->text, s) == 0;
	case ALT_PREFIX:
		return strncmp(a->text, s, a->len) == 0;
	case ALT_SUFFIX: {
		size_t n = strlen(s);

		return n >= a->len && memcmp(s + n - a->len, a->inner, a->len) == 0;
	}
	case ALT_CONTAINS:
		return strstr(s, a->inner) != NULL;
	default:
		return fnmatch(a->text, s, 0) == 0;
	}
}

static bool pattern_match(const struct pattern *p, const char *s)
{
	for (int i = 0; i < p->nalts; i++) {
		if (alt_match(&p->alts[i], s))
			return true;
	}
	return false;
}

/*
 * Compilers clone kernel functions under suffixed names that differ between
 * builds of the same kernel (udp_send_skb.isra.0, do_softirq.part.0,
 * ep_scan_ready_list.constprop.0). A frame also matches by its name without
 * such a suffix, so a rule written as "tcp_fin" holds on every build.
 */
static size_t clone_suffix_at(const char *frame)
{
	static const char *const suffixes[] = { ".isra.", ".constprop.", ".part.", ".cold", ".llvm.", ".lto_priv." };
	const char *dot = strchr(frame, '.');

	while (dot) {
		for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			if (!strncmp(dot, suffixes[i], strlen(suffixes[i])))
				return (size_t)(dot - frame);
		}
		dot = strchr(dot + 1, '.');
	}
	return 0;
}

static bool frame_match(const struct pattern *p, const char *frame)
{
	char base[256];
	size_t n;

	if (pattern_match(p, frame))
		return true;
	n = clone_suffix_at(frame);
	if (!n || n >= sizeof(base))
		return false;
	memcpy(base, frame, n);
	base[n] = '\0';
	return pattern_match(p, base);
}

static bool stack_match(const struct pattern *p, const struct wf_stack *s)
{
	for (int i = 0; i < s->nframes; i++) {
		if (s->frames[i] && frame_match(p, s->frames[i]))
			return true;
	}
	return false;
}

/* ---- evaluation -------------------------------------------------------- */

static bool test_holds(const struct test *t, const struct wf_edge *e)
{
	bool m;

	switch (t->subj) {
	case SUBJ_WAKER_FRAME:
		m = stack_match(&t->pat, &e->waker_stack);
		break;
	case SUBJ_TARGET_FRAME:
		m = stack_match(&t->pat, &e->target_stack);
		break;
	case SUBJ_WAKER_COMM:
		m = pattern_match(&t->pat, e->waker.comm);
		break;
	case SUBJ_TARGET_COMM:
		m = pattern_match(&t->pat, e->target.comm);
		break;
	case SUBJ_WAKER_PROC:
		m = pattern_match(&t->pat, e->waker.proc_comm);
		break;
	case SUBJ_TARGET_PROC:
		m = pattern_match(&t->pat, e->target.proc_comm);
		break;
	case SUBJ_CONTEXT:
		m = pattern_match(&t->pat, wf_context_name(e->context));
		break;
	case SUBJ_CATEGORY: {
		const struct wf_taxon *c = wf_category(e->category);

		m = pattern_match(&t->pat, c ? c->id : "other");
		break;
	}
	case SUBJ_ROLE:
		m = pattern_match(&t->pat, wf_role_id(e->role));
		break;
	default: {
		/* An absent fact matches no pattern: "waker.fd!=tcp" holds
		 * when the capture did not record a file kind at all. */
		const char *v = edge_fact(e, t->fact_key);

		/* irq.timer holds a kernel symbol: match it like a frame. */
		if (v && !strcmp(t->fact_key, "irq.timer"))
			m = frame_match(&t->pat, v);
		else
			m = v && pattern_match(&t->pat, v);
		break;
	}
	}
	return m != t->negate;
}

/* The first `when` line of r that holds for e, or -1. */
static int matching_clause(const struct rule *r, const struct wf_edge *e)
{
	for (int c = 0; c < r->nclauses; c++) {
		const struct clause *cl = &r->clauses[c];
		int t = 0;

		while (t < cl->ntests && test_holds(&cl->tests[t], e))
			t++;
		if (t == cl->ntests)
			return c;
	}
	return -1;
}

static bool rule_matches(const struct rule *r, const struct wf_edge *e)
{
	return matching_clause(r, e) >= 0;
}

static bool is_informative(const char *frame)
{
	/* "[unknown]", "[Missed User Stack] -17": placeholders, not frames. */
	return frame && frame[0] && frame[0] != '[';
}

enum wf_context classify_stack_context(const struct wf_rules *rules, const struct wf_edge *e)
{
	const struct wf_stack *s = &e->waker_stack;
	bool informative = false;

	/* Innermost first: the interrupt closest to the wakeup is where it ran
	 * (a timer interrupt that fired during softirq processing is hardirq). */
	for (int i = 0; i < s->nframes; i++) {
		const char *f = s->frames[i];

		if (!is_informative(f))
			continue;
		informative = true;
		if (frame_match(&rules->ctx[CTX_HARDIRQ], f))
			return WF_CTX_HARDIRQ;
		if (!frame_match(&rules->ctx[CTX_SOFTIRQ], f))
			continue;
		/* Softirq work: inside the waker's own syscall when it ran at
		 * local_bh_enable (task), else on the way out of an interrupt
		 * or in ksoftirqd. */
		for (int k = i + 1; k < s->nframes; k++) {
			const char *o = s->frames[k];

			if (!is_informative(o))
				continue;
			if (frame_match(&rules->ctx[CTX_SOFTIRQ_IN_TASK], o))
				return WF_CTX_TASK;
			if (frame_match(&rules->ctx[CTX_SOFTIRQ_IN_IRQ], o) || frame_match(&rules->ctx[CTX_HARDIRQ], o))
				return WF_CTX_SOFTIRQ;
		}
		return WF_CTX_SOFTIRQ;
	}
	if (!informative)
		return WF_CTX_UNKNOWN;
	/* The idle task and ksoftirqd never wake anyone from a syscall. */
	if (pattern_match(&rules->idle, e->waker.comm))
		return WF_CTX_SOFTIRQ;
	return WF_CTX_TASK;
}

static void classify(const struct wf_rules *rules, struct wf_edge *e, bool interned)
{
	int i;

	if (e->context == WF_CTX_UNKNOWN && e->waker_stack.nframes > 0)
		e->context = classify_stack_context(rules, e);

	e->role = WF_ROLE_OTHER;
	for (i = 0; i < rules->nrules; i++) {
		if (rules->rules[i].role >= 0 && rule_matches(&rules->rules[i], e)) {
			e->role = rules->rules[i].role;
			break;
		}
	}
	e->category = WF_CAT_OTHER;
	for (i = 0; i < rules->nrules; i++) {
		if (rules->rules[i].category >= 0 && rule_matches(&rules->rules[i], e)) {
			e->category = rules->rules[i].category;
			break;
		}
	}
	e->activity = NULL;
	for (i = 0; i < rules->nrules; i++) {
		const struct rule *r = &rules->rules[i];

		if (r->sets_activity && rule_matches(r, e)) {
			/* Interned, so the edge outlives a rules reload. */
			e->activity = r->activity && interned ? intern(r->activity) : r->activity;
			break;
		}
	}
}

void classify_edge(const struct wf_rules *rules, struct wf_edge *e)
{
	classify(rules, e, true);
}

void classify_edge_no_intern(const struct wf_rules *rules, struct wf_edge *e)
{
	classify(rules, e, false);
}

/* ---- explanation ------------------------------------------------------- */

static void reason_add_frame(struct wf_reason *out, bool target, int index)
{
	for (int i = 0; i < out->nframes; i++)
		if (out->frames[i].target == target && out->frames[i].index == index)
			return; /* two tests of one line matched the same frame */
	if (out->nframes < WF_REASON_MAX_FRAMES)
		out->frames[out->nframes++] = (struct wf_reason_frame){ target, index };
}

/* What made clause cl hold for e: the frames its frame tests matched and
 * the facts its fact tests matched ("!=" tests match nothing to point at). */
static void explain_clause(const struct rule *r, const struct clause *cl, const struct wf_edge *e,
			   struct wf_reason *out)
{
	memset(out, 0, sizeof(*out));
	out->rule = r->name;
	out->when = cl->ntests ? cl->text : "always";
	for (int t = 0; t < cl->ntests; t++) {
		const struct test *te = &cl->tests[t];
		bool target = te->subj == SUBJ_TARGET_FRAME;
		const struct wf_stack *s = target ? &e->target_stack : &e->waker_stack;
		size_t klen;

		if (te->negate)
			continue;
		if (te->subj == SUBJ_WAKER_FRAME || te->subj == SUBJ_TARGET_FRAME) {
			for (int i = 0; i < s->nframes; i++)
				if (s->frames[i] && frame_match(&te->pat, s->frames[i]))
					reason_add_frame(out, target, i);
			continue;
		}
		if (te->subj != SUBJ_FACT)
			continue;
		klen = strlen(te->fact_key);
		for (int i = 0; i < e->nfacts && out->nfacts < WF_MAX_FACTS; i++)
			if (!strncmp(e->facts[i], te->fact_key, klen) && e->facts[i][klen] == '=') {
				out->facts[out->nfacts++] = e->facts[i];
				break;
			}
	}
}

enum output { OUT_CATEGORY, OUT_ACTIVITY };

/* Whether rule r sets the edge's output to the value e already has. */
static bool rule_gives(const struct rule *r, enum output o, const struct wf_edge *e)
{
	if (o == OUT_CATEGORY)
		return r->category >= 0 && r->category == e->category;
	return r->sets_activity && r->activity && e->activity && !strcmp(r->activity, e->activity);
}

/* The first rule giving the edge's value that matches: the deciding one
 * when e was classified with these rules (the first match of a pass wins),
 * and the best account there is for an edge classified under others. */
static bool explain_output(const struct wf_rules *rules, enum output o, const struct wf_edge *e,
			   struct wf_reason *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < rules->nrules; i++) {
		const struct rule *r = &rules->rules[i];
		int c;

		if (!rule_gives(r, o, e) || (c = matching_clause(r, e)) < 0)
			continue;
		explain_clause(r, &r->clauses[c], e, out);
		return true;
	}
	return false;
}

void classify_explain(const struct wf_rules *rules, const struct wf_edge *e, struct wf_explanation *out)
{
	explain_output(rules, OUT_CATEGORY, e, &out->category);
	out->has_activity = e->activity != NULL;
	if (out->has_activity)
		explain_output(rules, OUT_ACTIVITY, e, &out->activity);
	else
		memset(&out->activity, 0, sizeof(out->activity));
}
