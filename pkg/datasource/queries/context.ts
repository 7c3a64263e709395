// SPDX-License-Identifier: Apache-2.0
/*
 * What every query handler gets: the agents to ask and how, and the helpers
 * that turn a decoded query into agent parameters and agent outcomes into an
 * answer (frames plus per-agent notices, or one error when all failed).
 */
import { FilterKey, Filters } from '../../../src/shared/query';
import { Logger } from '../../protocol/logger';
import { Frame, Notice } from '../../protocol/frame';
import { ClientOptions, Params } from '../agent-client';
import { Agent } from '../discovery';
import { AgentResult, allFailedMessage, failureNotices, fanOut, succeeded } from '../fanout';
import { BackendMetrics } from '../metrics';
import { DecodedQuery } from '../query';

export interface QueryEnv {
  agents: Agent[];
  client: ClientOptions;
  maxConcurrency: number;
  metrics: BackendMetrics;
  log: Logger;
}

export interface QueryAnswer {
  frames: Frame[];
  /** Agents that failed plus anything the handler wants the user to know. */
  notices: Notice[];
  /** How many agents failed (for the outcome metric). */
  failedAgents: number;
}

/** Every agent failed: the query fails with this sentence (a 502, "downstream"). */
export class AgentsFailedError extends Error {}

export function rangeParams(q: DecodedQuery): Params {
  return [
    ['from', String(Math.floor(q.fromMs))],
    ['to', String(Math.ceil(q.toMs))],
  ];
}

/** The series step: Grafana's interval, widened so no more than maxDataPoints points come back. */
export function stepMs(q: DecodedQuery): number {
  return Math.max(q.intervalMs, Math.ceil((q.toMs - q.fromMs) / q.maxDataPoints), 1000);
}

/** The agent takes the same filter names, each value repeated. */
export function filterParams(filters: Filters, keys: readonly FilterKey[]): Params {
  const out: Params = [];
  for (const k of keys) {
    for (const v of filters[k] ?? []) {
      out.push([k, v]);
    }
  }
  return out;
}

/** Fans out, then either throws (all failed) or gives the successes and a notice per failure. */
export async function askAll<T>(
  env: QueryEnv,
  ask: (agent: Agent) => Promise<T>
): Promise<{
  ok: Array<{ agent: Agent; value: T }>;
  notices: Notice[];
  failed: number;
  results: Array<AgentResult<T>>;
}> {
  const results = await fanOut(env.agents, env.maxConcurrency, ask, env.metrics);
  const ok = succeeded(results);
  if (ok.length === 0) {
    throw new AgentsFailedError(allFailedMessage(results));
  }
  const notices = failureNotices(results);
  for (const r of results) {
    if (!r.ok) {
      env.log.warn('agent did not answer', { agent: r.agent.name, kind: r.error.kind, error: r.error.message });
    }
  }
  return { ok, notices, failed: results.length - ok.length, results };
}

export function queryString(path: string, params: Params): string {
  return `${path}?${params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
}
