// SPDX-License-Identifier: Apache-2.0
import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/*
 * Data source settings. The backend (a later issue) reaches the wakeflow
 * agents with these; the browser never talks to an agent itself.
 */

/** How the backend finds agents: one fixed URL, or every address behind a headless Service. */
export type AgentDiscovery = 'url' | 'dns';

export interface WakeflowOptions extends DataSourceJsonData {
  discovery?: AgentDiscovery;
  /** Base URL of one agent, e.g. `http://127.0.0.1:PORT`; used when discovery is `url`. */
  agentUrl?: string;
  /** DNS name of the agents' headless Service; each A/AAAA record is one agent. Used when discovery is `dns`. */
  dnsName?: string;
  /** Port every discovered agent listens on; used when discovery is `dns`. */
  agentPort?: number;
  /** Per-request timeout towards one agent, in seconds. */
  timeoutSeconds?: number;
}

/** Sent to the backend only: Grafana stores these encrypted and never returns them to the browser. */
export interface WakeflowSecureOptions {
  /** Bearer token the agents require (their `--token-file`). */
  agentToken?: string;
}

export const DEFAULT_DISCOVERY: AgentDiscovery = 'url';
export const DEFAULT_TIMEOUT_SECONDS = 10;

/*
 * Query model. The two query types map onto the agent's
 * `GET /api/v1/series` and `GET /api/v1/edges`; names and values are the
 * agent API's own so the backend can pass them through unchanged.
 */

export const METRICS = ['offcpu', 'wakeups', 'runq', 'preempt_ratio', 'throttled'] as const;
export type Metric = (typeof METRICS)[number];

export const GROUP_BYS = ['category', 'activity', 'target', 'role', 'pod'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

export const EDGE_SORTS = ['offcpu', 'count', 'runq'] as const;
export type EdgeSort = (typeof EDGE_SORTS)[number];

/** Filters both query types accept; empty or missing means "no filter". Template variables are allowed. */
export interface QueryFilters {
  namespace?: string;
  workload?: string;
  pod?: string;
  /** A category or a category prefix, e.g. `net.tcp` or `preempt`. */
  category?: string;
  activity?: string;
  role?: string;
}

export const FILTER_KEYS = ['namespace', 'workload', 'pod', 'category', 'activity', 'role'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

/** A time series per group: one metric over the dashboard's range. */
export interface SeriesQuery extends DataQuery, QueryFilters {
  queryType: 'series';
  metric: Metric;
  by: GroupBy;
}

/** The top waker→target edges over the dashboard's range. */
export interface EdgesQuery extends DataQuery, QueryFilters {
  queryType: 'edges';
  limit: number;
  sort: EdgeSort;
}

export type WakeflowQuery = SeriesQuery | EdgesQuery;
export type QueryType = WakeflowQuery['queryType'];

export const DEFAULT_METRIC: Metric = 'offcpu';
export const DEFAULT_GROUP_BY: GroupBy = 'category';
export const DEFAULT_EDGE_SORT: EdgeSort = 'offcpu';
export const DEFAULT_EDGE_LIMIT = 20;

export const DEFAULT_QUERY: Partial<WakeflowQuery> = {
  queryType: 'series',
  metric: DEFAULT_METRIC,
  by: DEFAULT_GROUP_BY,
};
