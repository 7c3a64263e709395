// SPDX-License-Identifier: Apache-2.0
/*
 * The query model: what a panel, Explore or an alert rule saves and what the
 * backend receives as `DataQuery.json`. A discriminated union on `queryType`
 * (one editor per type in the frontend, one handler per type in the backend).
 *
 * Every option has a default, so `{"queryType": "chains"}` alone is a whole
 * query: the alert-rule editor and hand-written API calls send little. The
 * backend completes and validates a query on arrival (`pkg/datasource/`);
 * anything it cannot read is a 400 for that refId naming the field.
 *
 * Filters hold lists: a multi-value dashboard variable arrives as several
 * values (the frontend replaces `$namespace` before sending). The backend
 * also accepts a single string for a filter, for hand-written JSON.
 */

export const QUERY_TYPES = ['categories', 'preemption', 'chains', 'flamegraph', 'targets'] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

/** Filters, AND-ed across keys and OR-ed within one key's values; an empty or missing list is no filter. */
export const FILTER_KEYS = ['namespace', 'workload', 'pod', 'role', 'thread', 'category', 'activity'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string[]>>;

/** Which filters each query type takes (the agent cannot split a preemption ratio by wake category, say). */
export const FILTERS_OF: Record<QueryType, readonly FilterKey[]> = {
  categories: FILTER_KEYS,
  preemption: ['namespace', 'workload', 'pod', 'role', 'thread'],
  chains: FILTER_KEYS,
  flamegraph: FILTER_KEYS,
  targets: ['namespace', 'workload', 'pod'],
};

/** Bounds every filter obeys (the agent's own: docs/api.md). */
export const FILTER_LIMITS = { maxValues: 16, maxValueLength: 255 } as const;

/* --- categories: where the time goes, over time ------------------------- */

/** `offcpu`: seconds off CPU per second; `wakeups`: intervals ended per second; `runq`: seconds waiting for a CPU per second. */
export const CATEGORY_METRICS = ['offcpu', 'wakeups', 'runq'] as const;
export type CategoryMetric = (typeof CATEGORY_METRICS)[number];

export const CATEGORY_GROUP_BYS = ['category', 'activity', 'role', 'pod', 'workload'] as const;
export type CategoryGroupBy = (typeof CATEGORY_GROUP_BYS)[number];

export interface CategoriesQueryModel extends Filters {
  queryType: 'categories';
  metric: CategoryMetric;
  groupBy: CategoryGroupBy;
}

/* --- preemption: the alertable ratio ------------------------------------ */

export const PREEMPTION_GROUP_BYS = ['pod', 'workload'] as const;
export type PreemptionGroupBy = (typeof PREEMPTION_GROUP_BYS)[number];

/** `time`: preempted ÷ (on CPU + preempted); `count`: involuntary switches ÷ all switches (docs/metrics.md). */
export const PREEMPTION_RATIOS = ['time', 'count'] as const;
export type PreemptionRatio = (typeof PREEMPTION_RATIOS)[number];

export interface PreemptionQueryModel extends Filters {
  queryType: 'preemption';
  groupBy: PreemptionGroupBy;
  ratio: PreemptionRatio;
  /** Also return the cgroup's CPU throttling (seconds per second) per group, beside the ratio. */
  throttled: boolean;
}

/* --- chains: who woke whom ---------------------------------------------- */

export const CHAIN_SORTS = ['offcpu', 'count', 'runq'] as const;
export type ChainSort = (typeof CHAIN_SORTS)[number];

export interface ChainsQueryModel extends Filters {
  queryType: 'chains';
  sort: ChainSort;
  /** Top N edges over all agents, by `sort`. */
  limit: number;
  /**
   * Wakeups (links) per chain: 1 is a single waker → target edge (/api/v1/edges, every agent); 2 to 4 are
   * multi-hop chains (/api/v1/chains; an agent without it is a per-agent notice). Missing: 1, so saved
   * queries keep their answer.
   */
  depth: number;
}

/* --- flamegraph: off-wake flame graph ------------------------------------ */

export const FLAMEGRAPH_VALUES = ['offcpu', 'count'] as const;
export type FlamegraphValue = (typeof FLAMEGRAPH_VALUES)[number];

export interface FlamegraphQueryModel extends Filters {
  queryType: 'flamegraph';
  /** What a frame's width is: off-CPU time (seconds) or the number of intervals. */
  value: FlamegraphValue;
  /** Edges taken from each agent, heaviest first. */
  limit: number;
}

/* --- targets: what is traced where --------------------------------------- */

export interface TargetsQueryModel extends Filters {
  queryType: 'targets';
}

export type WakeflowQueryModel =
  CategoriesQueryModel | PreemptionQueryModel | ChainsQueryModel | FlamegraphQueryModel | TargetsQueryModel;

export const QUERY_LIMITS = {
  chains: { minLimit: 1, maxLimit: 1000, minDepth: 1, maxDepth: 4 },
  flamegraph: { minLimit: 1, maxLimit: 1000 },
} as const;

/** What a missing option means. `queryType` itself defaults to `categories`. */
export const DEFAULT_QUERY_TYPE: QueryType = 'categories';
export const QUERY_DEFAULTS = {
  categories: { metric: 'offcpu', groupBy: 'category' },
  preemption: { groupBy: 'pod', ratio: 'time', throttled: false },
  chains: { sort: 'offcpu', limit: 50, depth: 1 },
  flamegraph: { value: 'offcpu', limit: 1000 },
  targets: {},
} as const satisfies { [T in QueryType]: Omit<Extract<WakeflowQueryModel, { queryType: T }>, 'queryType' | FilterKey> };
