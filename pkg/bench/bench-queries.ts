// SPDX-License-Identifier: Apache-2.0
/*
 * The three queries bench:backend times and rss-peak.ts replays, defined
 * once so that the peak rss-peak finds is the peak of the bench's own
 * queries (docs/performance.md, "Backend").
 */

const HOUR_MS = 3_600_000;

/** Chains top 1000 and the flame graph over the last hour, categories over 24 h at 1000 points; all ending at `now`. */
export function benchQueries(now: number) {
  return {
    chains: { refId: 'C', model: { queryType: 'chains', limit: 1000 }, fromMs: now - HOUR_MS, toMs: now },
    categories: {
      refId: 'S',
      model: { queryType: 'categories' },
      fromMs: now - 24 * HOUR_MS,
      toMs: now,
      maxDataPoints: 1000,
      intervalMs: 1000,
    },
    flamegraph: { refId: 'F', model: { queryType: 'flamegraph', limit: 1000 }, fromMs: now - HOUR_MS, toMs: now },
  } as const;
}
