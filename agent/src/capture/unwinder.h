/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sets up the BPF ORC stack walker (orc_unwind.bpf.h) of the capture's BPF
 * object: finds the kernel's unwind table, sizes the maps before load,
 * reads and reindexes the table after load (orc.c), fills the maps and
 * turns the walker on. Where any step is not possible the kernel's own
 * walker is used, with the same result, only slower.
 */
#ifndef WAKEFLOW_UNWINDER_H
#define WAKEFLOW_UNWINDER_H

#include <stdbool.h>
#include <stddef.h>

#include "orc.h"

struct btf;
struct wakeflow_bpf;

/* What unwinder_prepare found in kallsyms, for unwinder_start. */
struct unwinder_plan {
	struct orc_layout table;
	struct wf_unwind_cfg cfg; /* all but the text range and ready */
};

/* Before load: sizes the table maps. false (maps left minimal) with why
 * filled in when this kernel's table cannot be used (orc_format: what
 * unwinder_orc_format says of the kernel's BTF). */
bool unwinder_prepare(struct wakeflow_bpf *skel, int orc_format, const char *kallsyms_path,
		      struct unwinder_plan *plan, char *why, size_t whylen);

/* enum orc_format of this kernel's struct orc_entry (its BTF), or -1. */
int unwinder_orc_format(const struct btf *btf);

/* After load, before attach: loads the table and turns the walker on.
 * false with why filled in if it stays off. */
bool unwinder_start(struct wakeflow_bpf *skel, const struct unwinder_plan *plan, char *why, size_t whylen);

#endif
