// SPDX-License-Identifier: Apache-2.0
import {
  CoreApp,
  type DataSourceInstanceSettings,
  type ScopedVars,
  type TestDataSourceResponse,
  type TimeRange,
} from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv, HealthCheckError, HealthStatus } from '@grafana/runtime';

import { FILTER_KEYS, type FilterKey, type Filters } from '../shared/query';
import type { ResourcePath, ValuesResource } from '../shared/resources';
import { describeHealthDetails } from './health';
import { normalizeQuery } from './query';
import { expandFilterValues } from './templateVariables';
import type { StoredQuery, WakeflowOptions, WakeflowQuery } from './types';
import { WakeflowVariableSupport } from './variables';

/** What a values resource answers: the values, and the agents that did not answer. */
export interface Values {
  values: string[];
  warnings: string[];
}

/**
 * Queries, resources and the health check go to the plugin backend (`pkg/`),
 * which asks the agents; the browser prepares queries (defaults, dashboard
 * variables) and never talks to an agent.
 */
export class DataSource extends DataSourceWithBackend<WakeflowQuery, WakeflowOptions> {
  constructor(instanceSettings: DataSourceInstanceSettings<WakeflowOptions>) {
    super(instanceSettings);
    this.variables = new WakeflowVariableSupport(this);
  }

  getDefaultQuery(_: CoreApp): Partial<WakeflowQuery> {
    const { refId, ...defaults } = normalizeQuery({ refId: 'A' });
    return defaults;
  }

  /** Hidden queries are not sent (Grafana's convention for a query toggled off). */
  filterQuery(query: WakeflowQuery): boolean {
    return query.hide !== true;
  }

  /** The completed query with every dashboard variable in its filters replaced. */
  applyTemplateVariables(query: WakeflowQuery, scopedVars: ScopedVars): WakeflowQuery {
    const resolved = normalizeQuery(query as StoredQuery);
    const options: Record<string, unknown> = { ...resolved };
    for (const key of FILTER_KEYS) {
      delete options[key];
    }
    return { ...options, ...this.interpolateFilters(resolved, scopedVars) } as WakeflowQuery;
  }

  /** Explore's "open in another data source" and query inspectors show the interpolated queries too. */
  interpolateVariablesInQueries(queries: WakeflowQuery[], scopedVars: ScopedVars): WakeflowQuery[] {
    return queries.map((q) => this.applyTemplateVariables(q, scopedVars));
  }

  /** Filters with variables replaced: keys whose values all vanish (a variable set to All) are dropped. */
  interpolateFilters(filters: Filters, scopedVars: ScopedVars = {}): Filters {
    const templateSrv = getTemplateSrv();
    const out: Filters = {};
    for (const key of FILTER_KEYS) {
      const values = filters[key];
      if (values && values.length > 0) {
        const expanded = expandFilterValues(values, templateSrv, scopedVars);
        if (expanded.length > 0) {
          out[key] = expanded;
        }
      }
    }
    return out;
  }

  /**
   * The distinct values of one resource (namespaces, pods, ...) narrowed by
   * filters, for template variables and the editors' suggestions.
   */
  async fetchValues(
    path: Exclude<ResourcePath, 'targets'>,
    filters: Filters,
    range?: TimeRange,
    scopedVars?: ScopedVars
  ): Promise<Values> {
    const params: Record<string, string | string[] | number> = { ...this.interpolateFilters(filters, scopedVars) };
    if (range) {
      params.from = range.from.valueOf();
      params.to = range.to.valueOf();
    }
    const answer = (await this.getResource(path, params)) as Partial<ValuesResource>;
    return {
      values: Array.isArray(answer?.values) ? answer.values.filter((v) => typeof v === 'string') : [],
      warnings: Array.isArray(answer?.warnings) ? answer.warnings.map(String) : [],
    };
  }

  /** Save & test: the backend's sentence, and what every agent answered. */
  async testDatasource(): Promise<TestDataSourceResponse> {
    const health = await this.callHealthCheck();
    const details = describeHealthDetails(health?.details);
    if (health?.status === HealthStatus.OK) {
      return { status: 'success', message: health.message, details };
    }
    const message =
      health?.message || 'The wakeflow backend did not answer the health check; see the Grafana server log.';
    return Promise.reject({ status: 'error', message, error: new HealthCheckError(message, details) });
  }
}

/** Resource path of the values a filter takes. */
export const RESOURCE_OF_FILTER: Record<FilterKey, Exclude<ResourcePath, 'targets'>> = {
  namespace: 'namespaces',
  workload: 'workloads',
  pod: 'pods',
  role: 'roles',
  thread: 'threads',
  category: 'categories',
  activity: 'activities',
};
