// SPDX-License-Identifier: Apache-2.0
/*
 * CallResource (src/shared/resources.ts): values for template variables and
 * the editors, merged over every agent. Each path takes the filters above it
 * in the Istio dashboards' order as query parameters, and from/to in epoch
 * milliseconds (default: the last hour). Unknown path 404, bad parameter
 * 400, every answer JSON; a failed agent is named in `warnings`.
 */
import { FILTER_LIMITS, FilterKey, Filters } from '../../src/shared/query';
import { RESOURCE_PATHS, ResourcePath, TargetsResource, ValuesResource } from '../../src/shared/resources';
import { Logger } from '../protocol/logger';
import { CallResourceRequest, CallResourceResponse, DataSourceInstanceSettings } from '../protocol/messages';
import { getSeries } from './agent-api';
import { Params } from './agent-client';
import type { EnvResult } from './datasource';
import { AgentsFailedError, askAll, filterParams } from './queries/context';
import { listTargets } from './queries/targets';
import { QueryError, decodeFilters } from './query';

/** The filters each path takes. */
const PARAMS_OF: Record<ResourcePath, readonly FilterKey[]> = {
  namespaces: [],
  workloads: ['namespace'],
  pods: ['namespace', 'workload'],
  threads: ['namespace', 'workload', 'pod', 'role'],
  roles: ['namespace', 'workload', 'pod'],
  categories: ['namespace', 'workload', 'pod', 'role', 'thread'],
  activities: ['namespace', 'workload', 'pod', 'role', 'thread', 'category'],
  targets: ['namespace', 'workload', 'pod'],
};

/** The values paths answered from the agents' series: the agent's `by` for each. */
const SERIES_BY: Partial<Record<ResourcePath, string>> = {
  threads: 'thread',
  roles: 'role',
  categories: 'category',
  activities: 'activity',
};

const LABEL_OF: Partial<Record<ResourcePath, 'namespace' | 'workload' | 'pod'>> = {
  namespaces: 'namespace',
  workloads: 'workload',
  pods: 'pod',
};

const HOUR_MS = 3_600_000;
const MAX_RANGE_MS = 31 * 24 * HOUR_MS;

function json(code: number, body: unknown): CallResourceResponse {
  return {
    code,
    headers: { 'Content-Type': { values: ['application/json'] } },
    body: Buffer.from(JSON.stringify(body)),
  };
}

export interface ResourceResult {
  response: CallResourceResponse;
  /** Bounded label for the metrics: a known path or `unknown`. */
  pathLabel: string;
}

interface ResourceQuery {
  path: ResourcePath;
  filters: Filters;
  fromMs: number;
  toMs: number;
}

function timeParam(p: URLSearchParams, key: string, dflt: number): number {
  const all = p.getAll(key);
  if (all.length === 0) {
    return dflt;
  }
  if (all.length > 1 || !/^\d{1,15}$/.test(all[0])) {
    throw new QueryError(`Parameter ${key} must be one time in epoch milliseconds.`);
  }
  return Number(all[0]);
}

/** Parses the path and parameters, or throws QueryError (400). */
export function parseResource(path: ResourcePath, search: URLSearchParams, now = Date.now()): ResourceQuery {
  const allowed = PARAMS_OF[path];
  const raw: Record<string, string[]> = {};
  for (const key of new Set(search.keys())) {
    if (key === 'from' || key === 'to') {
      continue;
    }
    if (!(allowed as readonly string[]).includes(key)) {
      const takes = [...allowed, 'from', 'to'].join(', ');
      throw new QueryError(`Parameter ${key.slice(0, 40)} is not taken by ${path} (it takes ${takes}).`);
    }
    raw[key] = search.getAll(key);
    if (raw[key].length > FILTER_LIMITS.maxValues) {
      throw new QueryError(`Parameter ${key} has more than ${FILTER_LIMITS.maxValues} values.`);
    }
  }
  // The same checks as a query's filters (control characters, length, roles, category prefixes); which keys a
  // path takes was checked above, so the checks run as for chains, the query type that takes every filter.
  const filters = decodeFilters(raw, 'chains');
  const toMs = timeParam(search, 'to', now);
  const fromMs = timeParam(search, 'from', toMs - HOUR_MS);
  if (fromMs >= toMs) {
    throw new QueryError(`The time range is empty or inverted (from ${fromMs} is not before to ${toMs}).`);
  }
  return { path, filters, fromMs: Math.max(fromMs, toMs - MAX_RANGE_MS), toMs };
}

async function answer(
  q: ResourceQuery,
  envResult: EnvResult & { ok: true }
): Promise<ValuesResource | TargetsResource> {
  const { env } = envResult;
  const label = LABEL_OF[q.path];
  if (q.path === 'targets' || label) {
    const { rows, notices } = await listTargets(env, q.filters, q.fromMs, q.toMs);
    const warnings = notices.map((n) => n.text);
    if (q.path === 'targets') {
      return {
        targets: rows.map((r) => ({
          node: r.node,
          pid: r.target.pid,
          comm: r.target.comm,
          exe: r.target.exe,
          labels: r.target.labels,
          alive: r.target.alive,
          firstSeenMs: r.target.firstSeenMs,
          lastSeenMs: r.target.lastSeenMs,
        })),
        warnings,
      };
    }
    const values = new Set(rows.map((r) => r.target.labels[label!] ?? '').filter((v) => v !== ''));
    return { values: [...values].sort(), warnings };
  }
  const by = SERIES_BY[q.path]!;
  // One point covering the whole range: only which groups exist matters.
  const params: Params = [
    ['from', String(q.fromMs)],
    ['to', String(q.toMs)],
    ['step', String(q.toMs - q.fromMs)],
    ['metric', 'wakeups'],
    ['by', by],
    ...filterParams(q.filters, PARAMS_OF[q.path]),
  ];
  const { ok, notices } = await askAll(env, (a) => getSeries(a, params, env.client));
  const values = new Set<string>();
  for (const r of ok) {
    for (const s of r.value.series) {
      const v = s.labels[by];
      if (v && s.v.some((x) => x > 0)) {
        values.add(v);
      }
    }
  }
  return { values: [...values].sort(), warnings: notices.map((n) => n.text) };
}

export async function callResource(
  req: CallResourceRequest,
  environment: (ds: DataSourceInstanceSettings | null | undefined) => Promise<EnvResult>,
  log: Logger
): Promise<ResourceResult> {
  let url: URL;
  try {
    url = new URL(req.url || req.path || '', 'http://resource/');
  } catch {
    return { response: json(400, { error: 'The resource URL cannot be parsed.' }), pathLabel: 'unknown' };
  }
  const name = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, '')).slice(0, 100);
  if (!(RESOURCE_PATHS as readonly string[]).includes(name)) {
    const shown = name.replace(/[\u0000-\u001f\u007f]/g, '?');
    return {
      response: json(404, { error: `Unknown resource '${shown}': use one of ${RESOURCE_PATHS.join(', ')}.` }),
      pathLabel: 'unknown',
    };
  }
  const path = name as ResourcePath;
  const method = (req.method || 'GET').toUpperCase();
  if (method !== 'GET' && method !== 'HEAD') {
    const r = json(405, { error: `Resource ${path} answers GET only, not ${method.slice(0, 10)}.` });
    r.headers.Allow = { values: ['GET, HEAD'] };
    return { response: r, pathLabel: path };
  }
  try {
    const q = parseResource(path, url.searchParams);
    const envResult = await environment(req.pluginContext?.dataSourceInstanceSettings);
    if (!envResult.ok) {
      return { response: json(envResult.status, { error: envResult.error }), pathLabel: path };
    }
    return { response: json(200, await answer(q, envResult)), pathLabel: path };
  } catch (e) {
    if (e instanceof QueryError) {
      return { response: json(400, { error: e.message }), pathLabel: path };
    }
    if (e instanceof AgentsFailedError) {
      return { response: json(502, { error: e.message }), pathLabel: path };
    }
    log.error('resource call failed inside the backend', { path, error: e instanceof Error ? e.stack : String(e) });
    return { response: json(500, { error: `The wakeflow backend failed on ${path}: ${String(e)}.` }), pathLabel: path };
  }
}
