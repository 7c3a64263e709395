/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/chains' aggregation: the chain blobs (window.h) of a range, each
 * chain cut to the query's depth (its last `depth` links; a cut chain ends
 * by "depth"), summed per distinct chain, filtered on its target (labels
 * through the target match; thread, role, category and activity of the last
 * link through the catalog) and the top `limit` by the sort key.
 * Where the blobs come from is history.c's business, as for edges.
 */
#ifndef WAKEFLOW_CHAINS_ACC_H
#define WAKEFLOW_CHAINS_ACC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "catalog.h"
#include "query.h"
#include "series.h"
#include "window.h"

/* Distinct chains one answer sums at most (about 80 bytes each): beyond
 * it new chains are not counted and the answer says it is truncated. */
#define WF_CHAINS_MAX_DISTINCT (1u << 18)

struct wf_chain_row {
	uint64_t id; /* stable over answers: a 53-bit hash of the (cut) chain, safe as a JSON number */
	uint32_t target_id;
	struct wf_wchain chain; /* links and ended_by after the cut; the sums over the range */
	int64_t first_ms, last_ms;
};

struct wf_chains_acc;

struct wf_chains_acc *chains_acc_new(const struct wf_query *q, struct wf_catalog *cat);
void chains_acc_free(struct wf_chains_acc *a);
/* Forget everything added (a source failed half-way; another answers). */
void chains_acc_reset(struct wf_chains_acc *a);
/* One window's chains blob of one target. 0, or -1 if the blob is corrupt
 * or on ENOMEM. */
int chains_acc_add(struct wf_chains_acc *a, int64_t start_ms, int64_t end_ms, uint32_t target_id,
		   const uint8_t *blob, size_t len);
/* Filters, sorts (descending, ties by id) and keeps q->limit rows: their
 * number, or -1 on ENOMEM. */
ssize_t chains_acc_finish(struct wf_chains_acc *a);
const struct wf_chain_row *chains_acc_row(struct wf_chains_acc *a, size_t i);
/* Chains that passed the filters, before the limit. */
size_t chains_acc_matched(struct wf_chains_acc *a);
/* More distinct chains than WF_CHAINS_MAX_DISTINCT were seen. */
bool chains_acc_overflowed(struct wf_chains_acc *a);
const struct wf_target_match *chains_acc_targets(struct wf_chains_acc *a);

/* Cuts c to its last depth links (ended_by becomes "depth" when cut). */
void chain_cut(struct wf_wchain *c, int depth);
/* The chain's stable id (links, length, ended_by), below 2^53. */
uint64_t chain_id(const struct wf_wchain *c);

#endif
