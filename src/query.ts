// SPDX-License-Identifier: Apache-2.0
import { DataQuery } from '@grafana/schema';

import {
  DEFAULT_EDGE_LIMIT,
  DEFAULT_EDGE_SORT,
  DEFAULT_GROUP_BY,
  DEFAULT_METRIC,
  EdgeSort,
  GroupBy,
  Metric,
  QueryFilters,
  QueryType,
  WakeflowQuery,
} from './types';

/** A query as Grafana may hand it over: from an older dashboard, hand-written JSON, or a fresh `{ refId }`. */
export type StoredQuery = DataQuery &
  QueryFilters & {
    metric?: Metric;
    by?: GroupBy;
    limit?: number;
    sort?: EdgeSort;
  };

/**
 * Completes a stored query so editors and the backend always see every field
 * of its type. Fields of the other query type are dropped, so switching
 * types never leaves stale settings behind in the saved dashboard.
 */
export function withDefaults(query: StoredQuery): WakeflowQuery {
  const { queryType, metric, by, limit, sort, ...common } = query;
  if (queryType === 'edges') {
    return { ...common, queryType: 'edges', limit: limit ?? DEFAULT_EDGE_LIMIT, sort: sort ?? DEFAULT_EDGE_SORT };
  }
  return { ...common, queryType: 'series', metric: metric ?? DEFAULT_METRIC, by: by ?? DEFAULT_GROUP_BY };
}

/** The query as the other type, keeping its filters and Grafana's own fields (refId, hide, datasource). */
export function switchQueryType(query: StoredQuery, queryType: QueryType): WakeflowQuery {
  return withDefaults({ ...query, queryType });
}
