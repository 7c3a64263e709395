// SPDX-License-Identifier: Apache-2.0
import type { DataSourceJsonData } from '@grafana/data';
import type { DataQuery } from '@grafana/schema';

import type { ResourcePath } from '../shared/resources';
import type { FilterKey, Filters, QueryType, WakeflowQueryModel } from '../shared/query';
import type { WakeflowSecureSettings, WakeflowSettings } from '../shared/settings';

/*
 * The browser's view of the contract in src/shared/: the same query model
 * with Grafana's own query fields (refId, hide, datasource), and the settings
 * as Grafana's jsonData. Only `import type` from @grafana/schema: it is not
 * one of the packages Grafana shares with plugins at run time.
 */

export type WakeflowOptions = DataSourceJsonData & WakeflowSettings;
export type WakeflowSecureOptions = WakeflowSecureSettings;

/** A complete query of one type, as the editors hand it to Grafana and Grafana to the backend. */
export type WakeflowQuery = DataQuery & WakeflowQueryModel;
export type QueryOf<T extends QueryType> = DataQuery & Extract<WakeflowQueryModel, { queryType: T }>;

/**
 * A query as Grafana may hand it over: from an older dashboard, hand-written
 * JSON, the alert editor, or a fresh `{ refId }`. Every field may be missing
 * or of the wrong type; `normalizeQuery` makes a WakeflowQuery of it.
 */
export type StoredQuery = DataQuery & Record<string, unknown>;

/** A template variable's query (CustomVariableSupport): which resource, narrowed by the filters above it. */
export interface VariableQuery extends DataQuery, Filters {
  resource: Exclude<ResourcePath, 'targets'>;
}

export type { FilterKey, Filters, QueryType };
