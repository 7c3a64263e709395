// SPDX-License-Identifier: Apache-2.0
/*
 * `targets`: every process the agents trace (or traced in the range), with
 * its labels and the agent that traces it; one table frame.
 */
import { TARGET_FIELDS as T } from '../../../src/shared/frames';
import { Filters, TargetsQueryModel } from '../../../src/shared/query';
import { Frame, field } from '../../protocol/frame';
import { AgentTarget, getTargets } from '../agent-api';
import { DecodedQuery } from '../query';
import { QueryAnswer, QueryEnv, askAll } from './context';

export interface NodeTarget {
  node: string;
  target: AgentTarget;
}

/** A target matches when each given label filter lists its label value. */
export function targetMatches(
  t: AgentTarget,
  filters: Filters,
  keys: ReadonlyArray<'namespace' | 'workload' | 'pod'>
): boolean {
  return keys.every((k) => !filters[k]?.length || filters[k]!.includes(t.labels[k] ?? ''));
}

/** Seen during the range: first seen before its end and last seen after its start. */
export function seenIn(t: AgentTarget, fromMs: number, toMs: number): boolean {
  return (t.firstSeenMs === 0 || t.firstSeenMs <= toMs) && (t.alive || t.lastSeenMs === 0 || t.lastSeenMs >= fromMs);
}

export async function listTargets(env: QueryEnv, filters: Filters, fromMs: number, toMs: number) {
  const { ok, notices, failed } = await askAll(env, (a) => getTargets(a, env.client));
  const rows: NodeTarget[] = [];
  for (const r of ok) {
    for (const t of r.value) {
      if (targetMatches(t, filters, ['namespace', 'workload', 'pod']) && seenIn(t, fromMs, toMs)) {
        rows.push({ node: r.agent.name, target: t });
      }
    }
  }
  rows.sort(
    (a, b) =>
      Number(b.target.alive) - Number(a.target.alive) || a.node.localeCompare(b.node) || a.target.pid - b.target.pid
  );
  return { rows, notices, failed };
}

export function targetsFrame(rows: NodeTarget[]): Frame {
  const col = <V>(f: (t: AgentTarget) => V) => rows.map((r) => f(r.target));
  return {
    name: T.frame,
    meta: { preferredVisualisationType: 'table' },
    fields: [
      field.string(
        T.node,
        rows.map((r) => r.node)
      ),
      field.int64(
        T.pid,
        col((t) => t.pid)
      ),
      field.string(
        T.comm,
        col((t) => t.comm)
      ),
      field.string(
        T.exe,
        col((t) => t.exe)
      ),
      field.string(
        T.namespace,
        col((t) => t.labels.namespace ?? '')
      ),
      field.string(
        T.workload,
        col((t) => t.labels.workload ?? '')
      ),
      field.string(
        T.pod,
        col((t) => t.labels.pod ?? '')
      ),
      field.string(
        T.container,
        col((t) => t.labels.container ?? '')
      ),
      field.bool(
        T.alive,
        col((t) => t.alive)
      ),
      field.timeMs(
        T.firstSeen,
        col((t) => t.firstSeenMs)
      ),
      field.timeMs(
        T.lastSeen,
        col((t) => t.lastSeenMs)
      ),
    ],
  };
}

export async function targetsQuery(q: DecodedQuery, m: TargetsQueryModel, env: QueryEnv): Promise<QueryAnswer> {
  const { rows, notices, failed } = await listTargets(env, m, q.fromMs, q.toMs);
  return { frames: [targetsFrame(rows)], notices, failedAgents: failed };
}
