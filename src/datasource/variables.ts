// SPDX-License-Identifier: Apache-2.0
/*
 * Template variables from the backend's resources: namespaces, workloads,
 * pods, threads, categories, activities (and roles), each narrowed by the
 * variables above it (`pods` of `$namespace` and `$workload`), as the Istio
 * dashboards chain theirs.
 */
import {
  CustomVariableSupport,
  FieldType,
  type DataFrame,
  type DataQueryRequest,
  type DataQueryResponse,
} from '@grafana/data';
import { from, map, type Observable } from 'rxjs';

import { FILTER_KEYS } from '../shared/query';
import type { DataSource } from './datasource';
import { filterValues } from './query';
import { VariableQueryEditor } from './components/VariableQueryEditor';
import type { VariableQuery } from './types';

export const VARIABLE_RESOURCES = [
  'namespaces',
  'workloads',
  'pods',
  'threads',
  'categories',
  'activities',
  'roles',
] as const satisfies ReadonlyArray<VariableQuery['resource']>;

/** A stored variable query completed: an unknown resource reads as `namespaces`, filters as lists. */
export function normalizeVariableQuery(stored: Partial<VariableQuery> | string | undefined): VariableQuery {
  // Variables created by hand in the dashboard JSON may hold just the resource name.
  const raw: Record<string, unknown> = typeof stored === 'string' ? { resource: stored } : { ...(stored ?? {}) };
  const resource = (VARIABLE_RESOURCES as readonly string[]).includes(String(raw.resource))
    ? (raw.resource as VariableQuery['resource'])
    : 'namespaces';
  const query: VariableQuery = { refId: typeof raw.refId === 'string' ? raw.refId : 'variable', resource };
  for (const key of FILTER_KEYS) {
    const values = filterValues(raw[key]);
    if (values.length > 0) {
      query[key] = values;
    }
  }
  return query;
}

function valuesFrame(values: string[], warnings: string[]): DataFrame {
  return {
    name: 'values',
    length: values.length,
    fields: [{ name: 'text', type: FieldType.string, values, config: {} }],
    meta:
      warnings.length > 0 ? { notices: warnings.map((text) => ({ severity: 'warning' as const, text })) } : undefined,
  };
}

export class WakeflowVariableSupport extends CustomVariableSupport<DataSource, VariableQuery> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  query(request: DataQueryRequest<VariableQuery>): Observable<DataQueryResponse> {
    const { resource, refId, ...filters } = normalizeVariableQuery(request.targets[0]);
    return from(this.datasource.fetchValues(resource, filters, request.range, request.scopedVars)).pipe(
      map(({ values, warnings }) => ({ data: [valuesFrame(values, warnings)] }))
    );
  }
}
