// SPDX-License-Identifier: Apache-2.0
/* Set-up of the BPF ORC stack walker; see unwinder.h. */
#include "unwinder.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kallsyms.h"
#include "wakeflow.skel.h"

enum {
	SYM_STEXT,
	SYM_ETEXT,
	SYM_ORC_IP,
	SYM_ORC_IP_END,
	SYM_ORC,
	SYM_SCHED_START,
	SYM_SCHED_END,
	SYM_LOCK_START,
	SYM_LOCK_END,
	SYM_RETURN_TO_HANDLER,
	SYM_RETHOOK_TRAMPOLINE,
	SYM_RET_FROM_FORK,
	SYM_RET_FROM_FORK_OLD,
	SYM__COUNT,
};

static const char *const sym_names[SYM__COUNT] = {
	[SYM_STEXT] = "_stext",
	[SYM_ETEXT] = "_etext",
	[SYM_ORC_IP] = "__start_orc_unwind_ip",
	[SYM_ORC_IP_END] = "__stop_orc_unwind_ip",
	[SYM_ORC] = "__start_orc_unwind",
	[SYM_SCHED_START] = "__sched_text_start",
	[SYM_SCHED_END] = "__sched_text_end",
	[SYM_LOCK_START] = "__lock_text_start",
	[SYM_LOCK_END] = "__lock_text_end",
	[SYM_RETURN_TO_HANDLER] = "return_to_handler",
	[SYM_RETHOOK_TRAMPOLINE] = "arch_rethook_trampoline",
	[SYM_RET_FROM_FORK] = "ret_from_fork_asm",
	/* Where there is no ret_from_fork_asm, the assembly entry itself; where
	 * there is ("x86: Rewrite ret_from_fork() in C"), a C function of that
	 * name, never a saved return address. */
	[SYM_RET_FROM_FORK_OLD] = "ret_from_fork",
};

/*
 * The layout of struct orc_entry in this kernel, from its BTF: a 3-bit
 * "type" and "signal" (6.4+), or a 2-bit "type" and "end" (before); -1 for
 * anything else, which the walker does not know how to read.
 */
int unwinder_orc_format(const struct btf *btf)
{
	const struct btf_member *m;
	const struct btf_type *t;
	int type_bits = 0, id;
	bool end = false, signal = false;

	if (!btf)
		return -1;
	id = btf__find_by_name_kind(btf, "orc_entry", BTF_KIND_STRUCT);
	t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	if (!t || t->size != ORC_RAW_ENTRY_SIZE)
		return -1;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);

		if (!strcmp(name, "type"))
			type_bits = (int)btf_member_bitfield_size(t, i);
		else if (!strcmp(name, "end"))
			end = true;
		else if (!strcmp(name, "signal"))
			signal = true;
	}
	if (type_bits == 3 && signal && !end)
		return ORC_FORMAT_SIGNAL;
	if (type_bits == 2 && end && !signal)
		return ORC_FORMAT_END_BIT;
	return -1;
}

bool unwinder_prepare(struct wakeflow_bpf *skel, int orc_format, const char *kallsyms_path,
		      struct unwinder_plan *plan, char *why, size_t whylen)
{
	struct orc_layout *l = &plan->table;
	uint64_t syms[SYM__COUNT];

	memset(plan, 0, sizeof(*plan));
	if (ksyms_lookup_names(kallsyms_path, sym_names, syms, SYM__COUNT) < 0) {
		snprintf(why, whylen, "cannot read %s", kallsyms_path);
		return false;
	}
	l->text_start = syms[SYM_STEXT];
	l->text_end = syms[SYM_ETEXT];
	l->ip_table = syms[SYM_ORC_IP];
	l->ip_table_end = syms[SYM_ORC_IP_END];
	l->entries = syms[SYM_ORC];
	if (!orc_layout_blocks(l) || !orc_layout_entries(l) || !l->entries) {
		snprintf(why, whylen, "the kernel's ORC unwind table is not listed in %s", kallsyms_path);
		return false;
	}
	if (orc_format < 0) {
		snprintf(why, whylen, "this kernel's ORC entry layout (struct orc_entry in its BTF) is not one the walker reads");
		return false;
	}
	l->format = (enum orc_format)orc_format;
	plan->cfg.sched_start = syms[SYM_SCHED_START];
	plan->cfg.sched_end = syms[SYM_SCHED_END];
	plan->cfg.lock_start = syms[SYM_LOCK_START];
	plan->cfg.lock_end = syms[SYM_LOCK_END];
	/* 0 never equals a return address: absent trampolines compare false. */
	plan->cfg.trampoline[0] = syms[SYM_RETURN_TO_HANDLER];
	plan->cfg.trampoline[1] = syms[SYM_RETHOOK_TRAMPOLINE];
	plan->cfg.fork_ret = syms[SYM_RET_FROM_FORK] ? syms[SYM_RET_FROM_FORK] : syms[SYM_RET_FROM_FORK_OLD];
	skel->rodata->orc_walker = true;
	bpf_map__set_max_entries(skel->maps.orc_blocks, orc_layout_blocks(l) + 1);
	bpf_map__set_max_entries(skel->maps.orc_entries, orc_layout_entries(l));
	return true;
}

/* orc_read_fn through the util_read_kernel program. */
static int read_kernel(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct wakeflow_bpf *skel = arg;
	__u64 args[2] = { addr, len };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	if (len > sizeof(skel->bss->kread_buf))
		return -1;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.util_read_kernel), &opts) || opts.retval)
		return -1;
	memcpy(buf, skel->bss->kread_buf, len);
	return 0;
}

/* Writes n values of size bytes each at keys 0..n-1 of an array map, in
 * batches (half a million entries one syscall each take about a second). */
static int fill_array(struct bpf_map *map, const void *values, size_t size, size_t n)
{
	enum { BATCH = 65536 };
	int fd = bpf_map__fd(map);
	__u32 *keys = malloc(BATCH * sizeof(*keys));

	if (!keys)
		return -1;
	for (size_t i = 0; i < n; i += BATCH) {
		__u32 count = (__u32)(n - i < BATCH ? n - i : BATCH);

		for (__u32 k = 0; k < count; k++)
			keys[k] = (__u32)(i + k);
		if (bpf_map_update_batch(fd, keys, (const char *)values + i * size, &count, NULL)) {
			/* Kernels without batch operations on arrays. */
			for (__u32 k = 0; k < count; k++) {
				if (bpf_map_update_elem(fd, &keys[k], (const char *)values + (i + k) * size, BPF_ANY)) {
					free(keys);
					return -1;
				}
			}
		}
	}
	free(keys);
	return 0;
}

bool unwinder_start(struct wakeflow_bpf *skel, const struct unwinder_plan *plan, char *why, size_t whylen)
{
	const struct orc_layout *l = &plan->table;
	struct wf_unwind_cfg *cfg = &skel->bss->unwind_cfg;
	struct orc_index *idx = calloc(1, sizeof(*idx));
	char err[160];
	bool ok = false;

	if (!idx) {
		snprintf(why, whylen, "out of memory");
		return false;
	}
	if (orc_index_read(idx, l, read_kernel, skel, err, sizeof(err))) {
		snprintf(why, whylen, "%s", err);
		goto out;
	}
	if (fill_array(skel->maps.orc_blocks, idx->blocks, sizeof(*idx->blocks), idx->nblocks + 1) ||
	    fill_array(skel->maps.orc_entries, idx->entries, sizeof(*idx->entries), idx->nentries) ||
	    fill_array(skel->maps.orc_kinds, idx->kinds, sizeof(*idx->kinds), idx->nkinds)) {
		snprintf(why, whylen, "could not fill the unwind table maps: %s", strerror(errno));
		goto out;
	}
	*cfg = plan->cfg;
	cfg->text_start = idx->text_start;
	cfg->text_end = idx->text_end;
	__atomic_store_n(&cfg->ready, 1, __ATOMIC_RELEASE);
	ok = true;
out:
	orc_index_free(idx);
	free(idx);
	return ok;
}
