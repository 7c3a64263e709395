// SPDX-License-Identifier: Apache-2.0
/*
 * From whatever Grafana hands over to a complete query of one type. The
 * editors edit the completed form only, so they never show a value the saved
 * model lacks (the alert editor and Explore keep no state of their own), and
 * the backend always receives every option of the type it is asked.
 */
import {
  CATEGORY_GROUP_BYS,
  CATEGORY_METRICS,
  CHAIN_SORTS,
  DEFAULT_QUERY_TYPE,
  FILTER_KEYS,
  FILTERS_OF,
  FLAMEGRAPH_VALUES,
  PREEMPTION_GROUP_BYS,
  PREEMPTION_RATIOS,
  QUERY_DEFAULTS,
  QUERY_LIMITS,
  QUERY_TYPES,
  type FilterKey,
  type Filters,
  type QueryType,
} from '../shared/query';
import type { StoredQuery, WakeflowQuery } from './types';

/** Grafana's own query fields, kept through every change of type. */
const GRAFANA_FIELDS = ['refId', 'hide', 'key', 'datasource', 'intervalMs', 'maxDataPoints'] as const;

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

function intWithin(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max ? value : fallback;
}

/**
 * A filter as a list of non-empty strings. A single string (hand-written JSON,
 * dashboards of the first frontend, which stored one value) becomes a list of
 * one; anything else is no filter.
 */
export function filterValues(value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  return list
    .filter((v): v is string => typeof v === 'string')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The filters a query type takes, each present only when it has values. */
function filtersFor(queryType: QueryType, stored: Record<string, unknown>): Filters {
  const filters: Filters = {};
  for (const key of FILTERS_OF[queryType]) {
    const values = filterValues(stored[key]);
    if (values.length > 0) {
      filters[key] = values;
    }
  }
  return filters;
}

/** Earlier dashboards saved `series`/`edges` queries (the first frontend): read them as their successors. */
function legacyType(stored: Record<string, unknown>): QueryType | undefined {
  if (stored.queryType === 'edges') {
    return 'chains';
  }
  if (stored.queryType === 'series') {
    return stored.metric === 'preempt_ratio' || stored.metric === 'preempt_count_ratio' ? 'preemption' : 'categories';
  }
  return undefined;
}

export function normalizeQuery(stored: StoredQuery): WakeflowQuery {
  const raw = stored as unknown as Record<string, unknown>;
  const queryType = legacyType(raw) ?? oneOf(raw.queryType, QUERY_TYPES, DEFAULT_QUERY_TYPE);
  const grafana: Record<string, unknown> = {};
  for (const field of GRAFANA_FIELDS) {
    if (raw[field] !== undefined) {
      grafana[field] = raw[field];
    }
  }
  const common = { ...grafana, refId: typeof raw.refId === 'string' ? raw.refId : 'A', ...filtersFor(queryType, raw) };

  switch (queryType) {
    case 'categories': {
      const d = QUERY_DEFAULTS.categories;
      const legacyBy = raw.by === 'target' ? undefined : raw.by;
      return {
        ...common,
        queryType,
        metric: oneOf(raw.metric, CATEGORY_METRICS, d.metric),
        groupBy: oneOf(raw.groupBy ?? legacyBy, CATEGORY_GROUP_BYS, d.groupBy),
      };
    }
    case 'preemption': {
      const d = QUERY_DEFAULTS.preemption;
      return {
        ...common,
        queryType,
        groupBy: oneOf(raw.groupBy, PREEMPTION_GROUP_BYS, d.groupBy),
        ratio: raw.metric === 'preempt_count_ratio' ? 'count' : oneOf(raw.ratio, PREEMPTION_RATIOS, d.ratio),
        throttled: typeof raw.throttled === 'boolean' ? raw.throttled : d.throttled,
      };
    }
    case 'chains': {
      const d = QUERY_DEFAULTS.chains;
      const l = QUERY_LIMITS.chains;
      return {
        ...common,
        queryType,
        sort: oneOf(raw.sort, CHAIN_SORTS, d.sort),
        limit: intWithin(raw.limit, l.minLimit, l.maxLimit, d.limit),
        depth: intWithin(raw.depth, l.minDepth, l.maxDepth, d.depth),
      };
    }
    case 'flamegraph': {
      const d = QUERY_DEFAULTS.flamegraph;
      const l = QUERY_LIMITS.flamegraph;
      return {
        ...common,
        queryType,
        value: oneOf(raw.value, FLAMEGRAPH_VALUES, d.value),
        limit: intWithin(raw.limit, l.minLimit, l.maxLimit, d.limit),
      };
    }
    case 'targets':
      return { ...common, queryType };
  }
}

/**
 * The query as another type: Grafana's fields and the filters the new type
 * takes are kept, the old type's options are dropped (they would be stale
 * settings in the saved dashboard), the new type's take their defaults.
 */
export function switchQueryType(query: WakeflowQuery, queryType: QueryType): WakeflowQuery {
  const kept: Record<string, unknown> = { queryType };
  const from = query as unknown as Record<string, unknown>;
  for (const field of GRAFANA_FIELDS) {
    if (from[field] !== undefined) {
      kept[field] = from[field];
    }
  }
  for (const key of FILTER_KEYS) {
    kept[key] = query[key];
  }
  return normalizeQuery(kept as StoredQuery);
}

/** Filters of a query with one key set (an empty list removes the key). */
export function withFilter<Q extends Filters>(query: Q, key: FilterKey, values: string[]): Q {
  const next = { ...query };
  if (values.length === 0) {
    delete next[key];
  } else {
    next[key] = values;
  }
  return next;
}

/** Queries whose frames are time series Grafana Alerting can reduce and threshold. */
export const ALERTABLE_QUERY_TYPES: readonly QueryType[] = ['categories', 'preemption'];
