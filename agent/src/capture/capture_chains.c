// SPDX-License-Identifier: Apache-2.0
/*
 * Wake chains, user side (docs/chains.md; kernel side chains.bpf.h): the
 * chain scope the kernel follows causes through (targets' pods and
 * --chain-comm processes, as a pid bitmap kept in step by rescans of
 * procfs), and the drain of the kernel chain map into chain.h's chains,
 * each link built by capture_build_edge like any edge. See capture_int.h.
 */
#include "capture_int.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain_scope.h"
#include "wakeflow.skel.h"

_Static_assert(WF_CHAIN_LINKS == WF_CHAIN_MAX_LINKS, "chain links: wakeflow.h and chain.h differ");
_Static_assert(WF_CEND_NONE == WF_CHAIN_END_NONE && WF_CEND_INTERRUPT == WF_CHAIN_END_INTERRUPT &&
		       WF_CEND_DEPTH == WF_CHAIN_END_DEPTH && WF_CEND_UNTRACKED == WF_CHAIN_END_UNTRACKED,
	       "chain ends: wakeflow.h and chain.h differ");

#define DEFAULT_MAX_CHAINS 4096
/* The chain scope is rebuilt from procfs this often (and when targets change). */
#define SCOPE_RESCAN_MS 2000.0

/* ---- flags ------------------------------------------------------------ */

int capture_parse_chains(const char *arg, uint32_t *out, char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || !isdigit((unsigned char)arg[0]) || *end || v < 1 || v > WF_CHAIN_MAX_LINKS) {
		snprintf(err, errlen, "--chains needs a number of links from 1 (chains off) to %d, got '%s'",
			 WF_CHAIN_MAX_LINKS, arg);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

int capture_check_chain_comm(const char *regex, char *err, size_t errlen)
{
	regex_t re;
	int rc;

	if (!regex[0]) {
		snprintf(err, errlen, "--chain-comm needs a regex");
		return -1;
	}
	rc = regcomp(&re, regex, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char why[128];

		regerror(rc, &re, why, sizeof(why));
		snprintf(err, errlen, "--chain-comm '%s' is not a valid regex: %s", regex, why);
		return -1;
	}
	regfree(&re);
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- open / close ------------------------------------------------------ */

uint32_t capture_chain_links(const struct capture_opts *o)
{
	return o->chains ? o->chains : WF_CHAIN_DEFAULT_LINKS;
}

int capture_chains_open(struct wf_capture *c, const struct capture_opts *o, char *err, size_t errlen)
{
	struct chain_scope *s = &c->scope;

	c->chain_links = capture_chain_links(o);
	if (c->chain_links < 1 || c->chain_links > WF_CHAIN_MAX_LINKS) {
		snprintf(err, errlen, "chains: %u links asked for, at most %d", c->chain_links, WF_CHAIN_MAX_LINKS);
		return -1;
	}
	c->max_chains = o->max_chains ? o->max_chains : DEFAULT_MAX_CHAINS;
	s->proc_root = o->proc_root ? o->proc_root : "/proc";
	for (int i = 0; i < o->nchain_comm && i < CAPTURE_MAX_COMMS; i++) {
		if (capture_check_chain_comm(o->chain_comm[i], err, errlen))
			return -1;
		regcomp(&s->comm_re[s->ncomm], o->chain_comm[i], REG_EXTENDED | REG_NOSUB);
		s->ncomm++;
	}
	return 0;
}

/* After the load. Under the raw_tp fallback chains follow targets only
 * (task storage needs BTF task pointers; docs/chains.md): said once. */
void capture_chains_loaded(struct wf_capture *c)
{
	if (c->chain_links > 1 && c->raw_tp)
		fprintf(stderr, "wakeflow-agent: note: raw_tp tracepoints: wake chains follow the traced processes "
				"only (a hop through another process ends the chain as untracked)\n");
	if (c->chain_links <= 1)
		return;
	c->ckeys = calloc(c->max_chains, sizeof(*c->ckeys));
	c->cvals = calloc(c->max_chains, sizeof(*c->cvals));
	c->scope.bits = calloc(WF_TARGET_BITS_WORDS, sizeof(uint64_t));
	c->scope.want = calloc(WF_TARGET_BITS_WORDS, sizeof(uint64_t));
	if (!c->ckeys || !c->cvals || !c->scope.bits || !c->scope.want) {
		fprintf(stderr, "wakeflow-agent: warning: out of memory for wake chains; chains are off\n");
		c->chain_links = 1;
	}
}

void capture_chains_close(struct wf_capture *c)
{
	for (int i = 0; i < c->scope.ncomm; i++)
		regfree(&c->scope.comm_re[i]);
	free(c->scope.bits);
	free(c->scope.want);
	free(c->ckeys);
	free(c->cvals);
	chain_list_free(&c->pending_chains);
}

/* ---- the chain scope --------------------------------------------------- */

static bool comm_in_scope(const struct chain_scope *s, const char *comm)
{
	for (int i = 0; i < s->ncomm; i++)
		if (!regexec(&s->comm_re[i], comm, 0, NULL, 0))
			return true;
	return false;
}

static void read_comm(const char *proc_root, int32_t pid, char *comm, size_t len)
{
	char path[512];
	int fd;
	ssize_t n;

	comm[0] = '\0';
	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, len - 1);
	close(fd);
	if (n <= 0)
		return;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

static void want_bit(uint64_t *words, int32_t pid)
{
	words[((uint32_t)pid >> 6) & (WF_TARGET_BITS_WORDS - 1)] |= 1ULL << (pid & 63);
}

/* Sets the kernel's bit for pid now (an exec we just heard of). */
void capture_chain_scope_add(struct wf_capture *c, int32_t pid)
{
	uint32_t idx = ((uint32_t)pid >> 6) & (WF_TARGET_BITS_WORDS - 1);
	uint64_t bit = 1ULL << (pid & 63);

	if (c->chain_links <= 1 || (c->scope.bits[idx] & bit))
		return;
	c->scope.bits[idx] |= bit;
	bpf_map_update_elem(bpf_map__fd(c->skel->maps.chain_bits), &idx, &c->scope.bits[idx], BPF_ANY);
}

bool capture_chain_comm_matches(const struct wf_capture *c, const char *comm)
{
	return c->chain_links > 1 && comm_in_scope(&c->scope, comm);
}

#define MAX_PODS 64

/*
 * Rebuilds the scope from procfs: every process in a target's pod and every
 * process named by --chain-comm; writes the words of the kernel's bitmap
 * that changed. One pass over procfs (a process's cgroup and comm files).
 */
static void scope_rescan(struct wf_capture *c)
{
	struct chain_scope *s = &c->scope;
	char pods[MAX_PODS][WF_CGROUP_PATH];
	int npods = 0, fd = bpf_map__fd(c->skel->maps.chain_bits), tfd = bpf_map__fd(c->skel->maps.targets);
	uint32_t key, next, *prev = NULL;
	uint64_t count = 0;
	struct dirent *d;
	DIR *dir;

	/* The targets' pods. */
	while (bpf_map_get_next_key(tfd, prev, &next) == 0) {
		char cg[WF_CGROUP_PATH];

		key = next;
		prev = &key;
		chain_scope_cgroup(s->proc_root, (int32_t)key, cg, sizeof(cg));
		if (!cg[0] || npods == MAX_PODS)
			continue;
		chain_scope_pod(cg, pods[npods], sizeof(pods[npods]));
		for (int i = 0; i < npods; i++)
			if (!strcmp(pods[i], pods[npods])) {
				npods--;
				break;
			}
		npods++;
	}
	memset(s->want, 0, WF_TARGET_BITS_WORDS * sizeof(uint64_t));
	if ((npods || s->ncomm) && (dir = opendir(s->proc_root))) {
		while ((d = readdir(dir))) {
			char cg[WF_CGROUP_PATH], comm[32];
			int32_t pid;
			bool in = false;

			if (!isdigit((unsigned char)d->d_name[0]))
				continue;
			pid = (int32_t)strtol(d->d_name, NULL, 10);
			if (s->ncomm) {
				read_comm(s->proc_root, pid, comm, sizeof(comm));
				in = comm_in_scope(s, comm);
			}
			if (!in && npods) {
				chain_scope_cgroup(s->proc_root, pid, cg, sizeof(cg));
				for (int i = 0; i < npods && !in; i++)
					in = chain_scope_in_pod(cg, pods[i]);
			}
			if (in) {
				want_bit(s->want, pid);
				count++;
			}
		}
		closedir(dir);
	}
	for (uint32_t i = 0; i < WF_TARGET_BITS_WORDS; i++) {
		if (s->want[i] == s->bits[i])
			continue;
		s->bits[i] = s->want[i];
		bpf_map_update_elem(fd, &i, &s->bits[i], BPF_ANY);
	}
	s->count = count;
	s->npods = npods;
}

void capture_chain_scope_poll(struct wf_capture *c, bool now)
{
	double t = now_ms();

	if (c->chain_links <= 1 || (!now && t < c->scope.next_ms))
		return;
	c->scope.next_ms = t + SCOPE_RESCAN_MS;
	scope_rescan(c);
}

/* ---- drain ------------------------------------------------------------- */

/* Removes up to max_chains entries from the kernel chain map. */
static uint32_t take_chains(struct wf_capture *c)
{
	int fd = bpf_map__fd(c->skel->maps.chains);
	uint32_t total = 0, batch = 0;
	bool first = true;

	if (!c->batch_unsupported) {
		while (total < c->max_chains) {
			uint32_t count = c->max_chains - total;
			int err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &batch, &batch, c->ckeys + total,
								  c->cvals + total, &count, NULL);

			total += count;
			first = false;
			if (err)
				break; /* ENOENT: all taken */
		}
		return total;
	}
	while (total < c->max_chains && bpf_map_get_next_key(fd, NULL, &c->ckeys[total]) == 0) {
		bool found = bpf_map_lookup_elem(fd, &c->ckeys[total], &c->cvals[total]) == 0;

		if (bpf_map_delete_elem(fd, &c->ckeys[total]))
			break;
		if (found)
			total++;
	}
	return total;
}

/*
 * Link i of a kernel chain as an edge key: its waker part is the link, its
 * target the next hop (the next link's waker, or the chain's target for the
 * last link, with the target's own facts).
 */
static void link_key(const struct wf_chain_key *ck, const struct wf_chain_val *v, int i, struct wf_edge_key *k,
		     struct wf_edge_val *ev)
{
	const struct wf_chain_link *l = &v->links[i];

	memset(k, 0, sizeof(*k));
	memset(ev, 0, sizeof(*ev));
	memcpy((char *)k + offsetof(struct wf_edge_key, wpid), l, offsetof(struct wf_chain_link, hash));
	k->kind = WF_BPF_KIND_BLOCKED;
	if (i == v->n - 1) {
		k->tpid = ck->tpid;
		k->ttid = ck->ttid;
		k->tpstart = ck->tpstart;
		memcpy(k->tcomm, v->tcomm, sizeof(k->tcomm));
		memcpy(k->tpcomm, v->tpcomm, sizeof(k->tpcomm));
		k->tsyscall = v->tsyscall;
		k->tstate = v->tstate;
		ev->tkstack = v->tkstack;
		ev->tustack = v->tustack;
	} else {
		const struct wf_chain_link *n = &v->links[i + 1];

		k->tpid = n->wpid;
		k->ttid = n->wtid;
		k->tpstart = n->wpstart;
		memcpy(k->tcomm, n->wcomm, sizeof(k->tcomm));
		memcpy(k->tpcomm, n->wpcomm, sizeof(k->tpcomm));
		k->tsyscall = -1; /* not recorded for the middle hops */
		k->tstate = 0xff; /* unknown: no fact */
	}
	ev->wkstack = l->wkstack;
	ev->wustack = l->wustack;
	ev->count = v->count;
	ev->offcpu_ns = v->offcpu_ns;
	ev->runq_ns = v->runq_ns;
	ev->runq_count = v->runq_count;
	ev->first_ns = v->first_ns;
	ev->last_ns = v->last_ns;
}

static int drain_chains(struct wf_capture *c)
{
	int64_t off = capture_boot_to_real();
	uint32_t n;

	if (c->chain_links <= 1)
		return 0;
	n = take_chains(c);
	for (uint32_t i = 0; i < n; i++) {
		const struct wf_chain_val *v = &c->cvals[i];
		struct wf_chain ch = { 0 };
		bool stacks_full = c->stacks_full;

		if (!v->n || v->n > WF_CHAIN_LINKS)
			continue;
		ch.nlinks = v->n;
		ch.ended_by = (enum wf_chain_end)v->end;
		ch.count = v->count;
		ch.offcpu_ns = v->offcpu_ns;
		ch.runq_ns = v->runq_ns;
		/* The chain's stacks are in the value, never in the key. */
		c->stacks_full = false;
		for (int l = 0; l < v->n; l++) {
			struct wf_edge_key k;
			struct wf_edge_val ev;

			link_key(&c->ckeys[i], v, l, &k, &ev);
			capture_build_edge(c, &k, &ev, off, &ch.links[l]);
		}
		c->stacks_full = stacks_full;
		ch.first_seen_ns = ch.links[v->n - 1].first_seen_ns;
		ch.last_seen_ns = ch.links[v->n - 1].last_seen_ns;
		if (chain_list_push(&c->pending_chains, &ch)) {
			for (int l = 0; l < v->n; l++) {
				free(ch.links[l].waker_stack.frames);
				free(ch.links[l].target_stack.frames);
			}
			return -ENOMEM;
		}
	}
	return 0;
}

/* Before a process's mappings are forgotten (exit, exec): its chains now. */
void capture_chains_drain_pending(struct wf_capture *c)
{
	drain_chains(c);
}

int capture_drain_chains(struct wf_capture *c, struct wf_chain_list *chains)
{
	int rc = drain_chains(c);

	c->chains_in_map = c->pending_chains.len; /* this window's, early drains included */
	if (!chains) {
		chain_list_free(&c->pending_chains);
		return rc ? -1 : 0;
	}
	for (size_t i = 0; i < c->pending_chains.len; i++) {
		if (chain_list_push(chains, &c->pending_chains.items[i])) {
			rc = -ENOMEM;
			for (int l = 0; l < c->pending_chains.items[i].nlinks; l++) {
				free(c->pending_chains.items[i].links[l].waker_stack.frames);
				free(c->pending_chains.items[i].links[l].target_stack.frames);
			}
		}
	}
	free(c->pending_chains.items);
	memset(&c->pending_chains, 0, sizeof(c->pending_chains));
	return rc ? -1 : 0;
}
