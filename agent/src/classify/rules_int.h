/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parsed form of a rules file, shared by the parser (rules_parse.c) and
 * the evaluator (classify.c) and by nothing else: the public face is
 * classify.h. One shape for both halves is what lets the parser check, at
 * load time, everything the evaluator relies on.
 */
#ifndef WAKEFLOW_RULES_INT_H
#define WAKEFLOW_RULES_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "classify.h"

/* ---- patterns ---------------------------------------------------------- */

/* Globs of the common shapes are matched without fnmatch: frame names are
 * long C++ signatures and every edge tests dozens of patterns on each. */
enum alt_kind { ALT_EXACT, ALT_PREFIX, ALT_SUFFIX, ALT_CONTAINS, ALT_GLOB };

struct alt {
	enum alt_kind kind;
	size_t len;  /* ALT_PREFIX/SUFFIX/CONTAINS: length of the literal part */
	char *text;  /* the pattern as written */
	char *inner; /* ALT_SUFFIX/CONTAINS: the literal part, NUL-terminated */
};

/* "a|b*|c?d": alternatives, each exact, a prefix or a glob (fnmatch). */
struct pattern {
	struct alt *alts;
	int nalts;
};

/* ---- rules ------------------------------------------------------------- */

enum subject {
	SUBJ_WAKER_FRAME,
	SUBJ_TARGET_FRAME,
	SUBJ_WAKER_COMM,
	SUBJ_TARGET_COMM,
	SUBJ_WAKER_PROC,
	SUBJ_TARGET_PROC,
	SUBJ_CONTEXT,
	SUBJ_CATEGORY,
	SUBJ_ROLE,
	SUBJ_FACT,
};

struct test {
	enum subject subj;
	bool negate;
	char *fact_key;
	struct pattern pat;
};

/* All tests of one `when` line must hold. */
struct clause {
	struct test *tests;
	int ntests;
	char *text; /* the tests as written, for explanations */
};

struct rule {
	char *name;
	int line;
	int category;	/* -1: this rule does not set the category */
	int role;	/* -1: not set */
	bool sets_activity;
	char *activity; /* NULL with sets_activity: "activity none" */
	struct clause *clauses; /* any one must hold */
	int nclauses;
};

enum ctx_list { CTX_HARDIRQ, CTX_SOFTIRQ, CTX_SOFTIRQ_IN_TASK, CTX_SOFTIRQ_IN_IRQ, CTX__COUNT };

struct wf_rules {
	struct rule *rules;
	int nrules;
	struct pattern ctx[CTX__COUNT]; /* context-frames lists, appended per line */
	struct pattern idle;		/* idle-comm: wakers that only ever wake from interrupts */
	char *origin;
};

#endif
