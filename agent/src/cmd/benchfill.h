/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store benchmark's writer (`serve --bench-fill HOURS`, used by
 * agent/bench/bench-store): HOURS of synthetic windows ending now, 4 targets
 * with 2,000 distinct edges each per window, pushed through the daemon's own
 * path (collect -> encode -> store, rollups and retention on a simulated
 * clock). Prints one JSON object with the write figures. Not a test.
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

/* Returns the exit status (0 ok, 1 failure). */
int benchfill_run(const struct wf_store_opts *opts, int64_t window_ms, double hours, FILE *out);

#endif
