// SPDX-License-Identifier: Apache-2.0
/*
 * CallResource paths (`GET /api/datasources/uid/<uid>/resources/<path>`):
 * values for template variables and the editors' suggestions, merged over
 * every agent. Each takes the filters above it in the Istio dashboards'
 * order as query parameters (`pods?namespace=x&workload=y`, repeated for
 * several values) and `from`/`to` in epoch milliseconds (default: the last
 * hour). Unknown paths answer 404 with `{"error": "..."}`; bad parameters 400.
 */

export const RESOURCE_PATHS = [
  'namespaces',
  'workloads',
  'pods',
  'threads',
  'categories',
  'activities',
  'roles',
  'targets',
] as const;
export type ResourcePath = (typeof RESOURCE_PATHS)[number];

/** Every path but `targets`: the distinct values, sorted; `warnings` names agents that did not answer. */
export interface ValuesResource {
  values: string[];
  warnings: string[];
}

export interface TargetResourceRow {
  node: string;
  pid: number;
  comm: string;
  exe: string;
  labels: Record<string, string>;
  alive: boolean;
  firstSeenMs: number;
  lastSeenMs: number;
}

/** `targets`: every traced process with its labels and the agent that traces it. */
export interface TargetsResource {
  targets: TargetResourceRow[];
  warnings: string[];
}
