/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store benchmark's writer (`serve --bench-fill HOURS`, used by
 * agent/bench/bench-store): HOURS of synthetic windows ending now, 4 targets
 * with 2,000 distinct edges each per window, pushed through the daemon's own
 * path (collect -> encode -> store, rollups and retention on a simulated
 * clock). Prints one JSON object with the write figures. Not a test.
 *
 * Chains on (the daemon's default, depth 3): per target and window also
 * BENCH_CHAINS_PER_WINDOW distinct three-link chains, a window sliding by
 * BENCH_CHAIN_SLIDE over a pool of BENCH_CHAIN_POOL (chains are told apart
 * by their hops, not their stacks, so a target's set changes slowly), each
 * ending in one of the target's edges and led to it by one of
 * BENCH_CHAIN_PREFIXES two-link causes. WAKEFLOW_BENCH_CHAINS=N
 * in the environment asks for N a window instead (0: chains off).
 */
#ifndef WAKEFLOW_BENCHFILL_H
#define WAKEFLOW_BENCHFILL_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

#define BENCH_TARGETS 4
#define BENCH_EDGES_PER_WINDOW 2000
#define BENCH_EDGE_POOL 2500 /* each window draws 2,000 of these per target */
#define BENCH_THREADS 8
#define BENCH_CHAINS_PER_WINDOW 300
#define BENCH_CHAIN_POOL 400
#define BENCH_CHAIN_SLIDE 20
#define BENCH_CHAIN_PREFIXES 32

/* Returns the exit status (0 ok, 1 failure). */
int benchfill_run(const struct wf_store_opts *opts, int64_t window_ms, double hours, FILE *out);

#endif
