// SPDX-License-Identifier: Apache-2.0
/*
 * `flamegraph`: an off-wake flame graph (Brendan Gregg's, offwaketime's
 * folded output) in Grafana's nested-set shape: rows depth first with
 * `level`, `value` (the node and everything above it), `self` and `label`.
 * Each edge is one path: the target thread's name, its stack from the root
 * down to where it blocked, a `--` frame, then the waker's stack from where
 * it woke the target back towards its root, then the waker's name.
 */
import { FLAMEGRAPH as F } from '../../../src/shared/frames';
import { FlamegraphQueryModel } from '../../../src/shared/query';
import { Frame, field } from '../../protocol/frame';
import { AgentEdge } from '../agent-api';
import { DecodedQuery } from '../query';
import { QueryAnswer, QueryEnv } from './context';
import { topEdges } from './edges';

interface TrieNode {
  label: string;
  total: number;
  self: number;
  children: Map<string, TrieNode>;
}

const NOT_SAMPLED = '[stack not sampled]';

/** The frames of one edge's path, root first (docs/backend.md). */
export function offWakePath(e: AgentEdge): string[] {
  const target = e.targetStack.length ? [...e.targetStack].reverse() : [NOT_SAMPLED];
  const waker = e.wakerStack.length ? e.wakerStack : [NOT_SAMPLED];
  const wakerName = e.waker.context === 'task' ? e.waker.comm || 'unknown' : `[${e.waker.context}]`;
  return [e.target.comm || 'unknown', ...target, F.separator, ...waker, wakerName];
}

export function buildFlamegraph(paths: Array<{ path: string[]; value: number }>, unit: 's' | 'short'): Frame {
  const root: TrieNode = { label: 'total', total: 0, self: 0, children: new Map() };
  for (const { path, value } of paths) {
    if (!(value > 0)) {
      continue;
    }
    root.total += value;
    let node = root;
    for (const label of path) {
      let child = node.children.get(label);
      if (!child) {
        child = { label, total: 0, self: 0, children: new Map() };
        node.children.set(label, child);
      }
      child.total += value;
      node = child;
    }
    node.self += value;
  }
  const level: number[] = [];
  const value: number[] = [];
  const self: number[] = [];
  const label: string[] = [];
  // Iterative depth-first walk, heaviest child first (a deep stack must not blow the JS stack).
  const stack: Array<[TrieNode, number]> = [[root, 0]];
  while (stack.length) {
    const [n, depth] = stack.pop()!;
    level.push(depth);
    value.push(n.total);
    self.push(n.self);
    label.push(n.label);
    const kids = [...n.children.values()].sort((a, b) => a.total - b.total || (a.label < b.label ? 1 : -1));
    for (const k of kids) {
      stack.push([k, depth + 1]);
    }
  }
  return {
    name: F.frame,
    meta: { preferredVisualisationType: 'flamegraph' },
    fields: [
      field.int64(F.level, level),
      field.float64(F.value, value, { config: { unit } }),
      field.float64(F.self, self, { config: { unit } }),
      field.string(F.label, label),
    ],
  };
}

export async function flamegraphQuery(q: DecodedQuery, m: FlamegraphQueryModel, env: QueryEnv): Promise<QueryAnswer> {
  const top = await topEdges(q, m, m.value === 'count' ? 'count' : 'offcpu', m.limit, env);
  const paths = top.edges.map(({ edge }) => ({
    path: offWakePath(edge),
    value: m.value === 'count' ? edge.count : edge.offcpuUs / 1e6,
  }));
  const frame = buildFlamegraph(paths, m.value === 'count' ? 'short' : 's');
  frame.meta = { ...frame.meta, executedQueryString: top.executed };
  return { frames: [frame], notices: top.notices, failedAgents: top.failed };
}
