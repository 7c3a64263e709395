// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel's per-thread state, user side: the thread_slots array read
 * mmapped and the threads hash beside it (wakeflow.bpf.c), and the drain of
 * the threads' memos of their last edge (edge_memo.bpf.h) into the edges
 * map before the edges are taken.
 */
#include "capture_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wakeflow.h"
#include "wakeflow.skel.h"

void capture_threads_init(struct wf_capture *c)
{
	c->slots = NULL;
	c->sync_outer = c->sync_inner = -1;
}

int capture_threads_open(struct wf_capture *c, char *err, size_t errlen)
{
	struct bpf_map *m = c->skel->maps.thread_slots;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	LIBBPF_OPTS(bpf_map_create_opts, outer_opts);
	void *p;

	c->slots_len = ((size_t)bpf_map__value_size(m) * c->nslots + page - 1) / page * page;
	p = mmap(NULL, c->slots_len, PROT_READ, MAP_SHARED, bpf_map__fd(m), 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "failed to map the thread state: %s", strerror(errno));
		return -1;
	}
	c->slots = p;
	/* An array of maps whose update waits for the programs running
	 * (capture_wait_for_programs): its one element and that element. */
	c->sync_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wf_sync_inner", 4, 4, 1, NULL);
	if (c->sync_inner >= 0) {
		outer_opts.inner_map_fd = c->sync_inner;
		c->sync_outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "wf_sync", 4, 4, 1, &outer_opts);
	}
	if (c->sync_inner < 0 || c->sync_outer < 0) {
		snprintf(err, errlen, "failed to create the drain's map: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void capture_threads_close(struct wf_capture *c)
{
	if (c->slots)
		munmap((void *)c->slots, c->slots_len);
	if (c->sync_outer >= 0)
		close(c->sync_outer);
	if (c->sync_inner >= 0)
		close(c->sync_inner);
	capture_threads_init(c);
}

/*
 * Returns once every BPF program that was running has finished: the kernel
 * waits for an RCU grace period after updating an array of maps from user
 * space, so that user space knows no program still sees the old element
 * (maybe_wait_bpf_programs in kernel/bpf/syscall.c, since 4.14), and our
 * tracing programs run inside RCU read-side sections.
 */
static int capture_wait_for_programs(struct wf_capture *c)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(c->sync_outer, &zero, &c->sync_inner, BPF_ANY) ? -errno : 0;
}

/*
 * The threads' memos of the ending epoch into the edges map: a new epoch,
 * so that programs from now on write the other memo; the wait, so that none
 * still writes the old one; then the kernel moves them (util_drain_memos).
 * Whatever a failure leaves behind is moved by the next drain or by its
 * thread (edge_memo.bpf.h): it is late, not lost.
 */
int capture_drain_memos(struct wf_capture *c)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	uint32_t e = c->skel->data->drain_epoch + 1;
	int rc;

	if (!e)
		e = 2; /* never 0 (an empty memo's), and the other parity */
	__atomic_store_n(&c->skel->data->drain_epoch, e, __ATOMIC_RELEASE);
	rc = capture_wait_for_programs(c);
	if (rc)
		return rc;
	if (bpf_prog_test_run_opts(bpf_program__fd(c->skel->progs.util_drain_memos), &opts))
		return -errno;
	return 0;
}

/* Every thread state in use, slots first: fn(ctx, tid, state) until it
 * returns non-zero, which is returned. */
int capture_each_thread(struct wf_capture *c, int (*fn)(void *ctx, uint32_t tid, const struct wf_thread *th),
			void *ctx)
{
	int fd = bpf_map__fd(c->skel->maps.threads), rc;
	uint32_t tid, next, *prev = NULL;
	struct wf_thread th;

	for (uint32_t i = 0; i < c->nslots; i++) {
		const struct wf_thread *s = &c->slots[i];
		uint32_t owner = __atomic_load_n(&s->slot_tid, __ATOMIC_ACQUIRE);

		if (!owner || !s->pstart)
			continue;
		th = *s; /* a copy: its thread may exit meanwhile */
		if (th.slot_tid != owner || !th.pstart)
			continue;
		if ((rc = fn(ctx, owner, &th)))
			return rc;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		tid = next;
		prev = &tid;
		if (bpf_map_lookup_elem(fd, &tid, &th) || !th.pstart)
			continue;
		if ((rc = fn(ctx, tid, &th)))
			return rc;
	}
	return 0;
}
