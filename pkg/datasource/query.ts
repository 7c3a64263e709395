// SPDX-License-Identifier: Apache-2.0
/*
 * The query decoder: turns Grafana's DataQuery (the query model as JSON plus
 * range and resolution) into one fully defaulted, validated query of the
 * union in src/shared/query.ts, or one sentence naming the field that is
 * wrong. Keys it does not know (Grafana adds `datasource`, `hide`, `key`, ...)
 * are ignored; values it knows are checked strictly.
 */
import {
  CATEGORY_GROUP_BYS,
  CATEGORY_METRICS,
  CHAIN_SORTS,
  DEFAULT_QUERY_TYPE,
  FILTER_KEYS,
  FILTER_LIMITS,
  FILTERS_OF,
  FLAMEGRAPH_VALUES,
  FilterKey,
  Filters,
  PREEMPTION_GROUP_BYS,
  PREEMPTION_RATIOS,
  QUERY_DEFAULTS,
  QUERY_LIMITS,
  QUERY_TYPES,
  QueryType,
  WakeflowQueryModel,
} from '../../src/shared/query';
import { CATEGORY_IDS, ROLES } from '../../src/shared/taxonomy';
import { DataQuery } from '../protocol/messages';

export interface DecodedQuery {
  refId: string;
  fromMs: number;
  toMs: number;
  maxDataPoints: number;
  intervalMs: number;
  model: WakeflowQueryModel;
}

export class QueryError extends Error {}

/** What Grafana's alerting sends when a rule does not say (reference §5.2); also our ceiling. */
export const MAX_DATA_POINTS = 43_200;
const DEFAULT_MAX_DATA_POINTS = 1000;
const DEFAULT_INTERVAL_MS = 1000;
/** The JSON of one query is a few hundred bytes; more is not a query. */
export const MAX_QUERY_JSON_BYTES = 64 * 1024;

const CONTROL = /[\u0000-\u001f\u007f]/;

function show(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }

  s = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function oneOf<T extends string>(
  json: Record<string, unknown>,
  key: string,
  allowed: readonly T[],
  dflt: T,
  type: QueryType
): T {
  const v = json[key];
  if (v === undefined || v === null || v === '') {
    return dflt;
  }
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new QueryError(`${key} ${show(v)} is not one of ${allowed.join(', ')} (in a ${type} query).`);
  }
  return v as T;
}

function wholeNumber(
  json: Record<string, unknown>,
  key: string,
  dflt: number,
  min: number,
  max: number,
  type: QueryType
): number {
  let v = json[key];
  if (v === undefined || v === null || v === '') {
    return dflt;
  }
  if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) {
    v = Number(v);
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new QueryError(`${key} must be a whole number from ${min} to ${max} (in a ${type} query), not ${show(v)}.`);
  }
  return v;
}

function bool(json: Record<string, unknown>, key: string, dflt: boolean, type: QueryType): boolean {
  const v = json[key];
  if (v === undefined || v === null) {
    return dflt;
  }
  if (typeof v !== 'boolean') {
    throw new QueryError(`${key} must be true or false (in a ${type} query), not ${show(v)}.`);
  }
  return v;
}

function checkFilterValue(key: FilterKey, v: string): void {
  if (CONTROL.test(v)) {
    throw new QueryError(`Filter ${key} has a value with a control character: ${show(v)}.`);
  }
  if (Buffer.byteLength(v, 'utf8') > FILTER_LIMITS.maxValueLength) {
    throw new QueryError(`Filter ${key} has a value longer than ${FILTER_LIMITS.maxValueLength} bytes.`);
  }
  if (key === 'role' && !(ROLES as readonly string[]).includes(v)) {
    throw new QueryError(`Filter role ${show(v)} is not one of ${ROLES.join(', ')}.`);
  }
  if (key === 'category' && !CATEGORY_IDS.some((id) => id === v || id.startsWith(v + '.'))) {
    throw new QueryError(
      `Filter category ${show(v)} is neither a category nor a dotted prefix of one (such as net, net.tcp or ipc.eventfd).`
    );
  }
}

/** Filters as lists; a single string is one value; empty strings are dropped (an unset variable). */
export function decodeFilters(json: Record<string, unknown>, type: QueryType): Filters {
  const out: Filters = {};
  for (const key of FILTER_KEYS) {
    const raw = json[key];
    if (raw === undefined || raw === null) {
      continue;
    }
    let values: unknown[];
    if (typeof raw === 'string') {
      values = [raw];
    } else if (Array.isArray(raw)) {
      values = raw;
    } else {
      throw new QueryError(`Filter ${key} must be a string or a list of strings, not ${show(raw)}.`);
    }
    const list: string[] = [];
    for (const v of values) {
      if (typeof v !== 'string') {
        throw new QueryError(`Filter ${key} must hold strings only, not ${show(v)}.`);
      }
      if (v.trim() === '') {
        continue;
      }
      checkFilterValue(key, v);
      if (!list.includes(v)) {
        list.push(v);
      }
    }
    if (list.length > FILTER_LIMITS.maxValues) {
      throw new QueryError(`Filter ${key} has ${list.length} values, more than ${FILTER_LIMITS.maxValues}.`);
    }
    if (list.length === 0) {
      continue;
    }
    if (!FILTERS_OF[type].includes(key)) {
      throw new QueryError(
        `Filter ${key} does not apply to ${type} queries (they take ${FILTERS_OF[type].join(', ')}): remove it.`
      );
    }
    out[key] = list;
  }
  return out;
}

function decodeModel(json: Record<string, unknown>, type: QueryType): WakeflowQueryModel {
  const filters = decodeFilters(json, type);
  switch (type) {
    case 'categories': {
      const d = QUERY_DEFAULTS.categories;
      return {
        queryType: type,
        ...filters,
        metric: oneOf(json, 'metric', CATEGORY_METRICS, d.metric, type),
        groupBy: oneOf(json, 'groupBy', CATEGORY_GROUP_BYS, d.groupBy, type),
      };
    }
    case 'preemption': {
      const d = QUERY_DEFAULTS.preemption;
      return {
        queryType: type,
        ...filters,
        groupBy: oneOf(json, 'groupBy', PREEMPTION_GROUP_BYS, d.groupBy, type),
        ratio: oneOf(json, 'ratio', PREEMPTION_RATIOS, d.ratio, type),
        throttled: bool(json, 'throttled', d.throttled, type),
      };
    }
    case 'chains': {
      const d = QUERY_DEFAULTS.chains;
      const l = QUERY_LIMITS.chains;
      return {
        queryType: type,
        ...filters,
        sort: oneOf(json, 'sort', CHAIN_SORTS, d.sort, type),
        limit: wholeNumber(json, 'limit', d.limit, l.minLimit, l.maxLimit, type),
        depth: wholeNumber(json, 'depth', d.depth, l.minDepth, l.maxDepth, type),
      };
    }
    case 'flamegraph': {
      const d = QUERY_DEFAULTS.flamegraph;
      const l = QUERY_LIMITS.flamegraph;
      return {
        queryType: type,
        ...filters,
        value: oneOf(json, 'value', FLAMEGRAPH_VALUES, d.value, type),
        limit: wholeNumber(json, 'limit', d.limit, l.minLimit, l.maxLimit, type),
      };
    }
    case 'targets':
      return { queryType: type, ...filters };
  }
}

/** Decodes one DataQuery; throws QueryError with the sentence for the refId's 400. */
export function decodeQuery(q: DataQuery): DecodedQuery {
  const raw = q.json ? Buffer.from(q.json) : Buffer.alloc(0);
  if (raw.length > MAX_QUERY_JSON_BYTES) {
    throw new QueryError(
      `The query JSON is ${raw.length} bytes, more than ${MAX_QUERY_JSON_BYTES}: it is not a wakeflow query.`
    );
  }
  let json: Record<string, unknown> = {};
  const text = raw.toString('utf8').trim();
  if (text !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      // JSON.parse quotes the input in its message: control characters out, so the error stays one line.
      const why = (e as Error).message.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 80);
      throw new QueryError(`The query is not valid JSON (${why}).`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new QueryError(`The query must be a JSON object, not ${show(parsed)}.`);
    }
    json = parsed as Record<string, unknown>;
  }

  const typeRaw = json.queryType ?? (q.queryType || undefined) ?? DEFAULT_QUERY_TYPE;
  if (typeof typeRaw !== 'string' || !(QUERY_TYPES as readonly string[]).includes(typeRaw)) {
    throw new QueryError(`queryType ${show(typeRaw)} is not one of ${QUERY_TYPES.join(', ')}.`);
  }
  const type = typeRaw as QueryType;

  const fromMs = Number(q.timeRange?.fromEpochMS ?? NaN);
  const toMs = Number(q.timeRange?.toEpochMS ?? NaN);
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs <= 0 || toMs <= 0) {
    throw new QueryError('The time range is missing: send timeRange with fromEpochMS and toEpochMS.');
  }
  if (fromMs >= toMs) {
    throw new QueryError(`The time range is empty or inverted (from ${fromMs} is not before to ${toMs}).`);
  }

  const maxDataPoints =
    Number(q.maxDataPoints) > 0 ? Math.min(Number(q.maxDataPoints), MAX_DATA_POINTS) : DEFAULT_MAX_DATA_POINTS;
  const intervalMs = Number(q.intervalMS) > 0 ? Number(q.intervalMS) : DEFAULT_INTERVAL_MS;

  return { refId: q.refId, fromMs, toMs, maxDataPoints, intervalMs, model: decodeModel(json, type) };
}
