// SPDX-License-Identifier: Apache-2.0
/*
 * `chains`: the top waker -> target edges as a table frame (every field of
 * CHAIN_FIELDS, one row per edge), then the Node Graph pair: `nodes` (one per
 * thread or interrupt context, with an `arc__<category>` ring on targets) and
 * `edges` (one per waker -> target edge, coloured by category).
 */
import { CHAIN_FIELDS as C, CHAIN_FRAMES, NODE_GRAPH as G } from '../../../src/shared/frames';
import { ChainsQueryModel } from '../../../src/shared/query';
import { CATEGORIES, categoryColor } from '../../../src/shared/taxonomy';
import { Field, Frame, field } from '../../protocol/frame';
import { AgentEdge } from '../agent-api';
import { DecodedQuery } from '../query';
import { QueryAnswer, QueryEnv } from './context';
import { NodeEdge, topEdges } from './edges';

const us = (v: number) => v / 1e6;
const secondsConfig = { unit: 's' };

export function chainsTable(rows: NodeEdge[], matched: number): Frame {
  const col = <T>(f: (r: NodeEdge) => T) => rows.map(f);
  const e = (f: (e: AgentEdge) => string) => col((r) => f(r.edge));
  const fields: Field[] = [
    field.string(
      C.id,
      col((r) => `${r.node}/${r.edge.id}`)
    ),
    field.string(
      C.node,
      col((r) => r.node)
    ),
    field.string(
      C.wakerComm,
      e((x) => x.waker.comm)
    ),
    field.int64(
      C.wakerPid,
      col((r) => r.edge.waker.pid),
      { nullable: true }
    ),
    field.int64(
      C.wakerTid,
      col((r) => r.edge.waker.tid),
      { nullable: true }
    ),
    field.string(
      C.wakerContext,
      e((x) => x.waker.context)
    ),
    field.string(
      C.targetProc,
      e((x) => x.target.proc)
    ),
    field.string(
      C.targetComm,
      e((x) => x.target.comm)
    ),
    field.int64(
      C.targetPid,
      col((r) => r.edge.target.pid),
      { nullable: true }
    ),
    field.int64(
      C.targetTid,
      col((r) => r.edge.target.tid),
      { nullable: true }
    ),
    field.string(
      C.targetRole,
      e((x) => x.target.role)
    ),
    field.string(
      C.kind,
      e((x) => x.kind)
    ),
    field.string(
      C.category,
      e((x) => x.category),
      { config: { custom: { colors: 'taxonomy' } } }
    ),
    field.string(
      C.activity,
      e((x) => x.activity)
    ),
    field.int64(
      C.count,
      col((r) => r.edge.count)
    ),
    field.float64(
      C.offcpu,
      col((r) => us(r.edge.offcpuUs)),
      { config: secondsConfig }
    ),
    field.float64(
      C.offcpuMax,
      col((r) => (r.edge.offcpuMaxUs === null ? null : us(r.edge.offcpuMaxUs))),
      {
        nullable: true,
        config: secondsConfig,
      }
    ),
    field.float64(
      C.runq,
      col((r) => us(r.edge.runqUs)),
      { config: secondsConfig }
    ),
    field.string(
      C.preemptor,
      e((x) => (x.preemptor ? x.preemptor.comm : ''))
    ),
    field.string(
      C.wakerStack,
      e((x) => x.wakerStack.join('\n'))
    ),
    field.int64(
      C.wakerStackKernelFrames,
      col((r) => r.edge.wakerStackKernelFrames),
      { nullable: true }
    ),
    field.string(
      C.targetStack,
      e((x) => x.targetStack.join('\n'))
    ),
    field.int64(
      C.targetStackKernelFrames,
      col((r) => r.edge.targetStackKernelFrames),
      { nullable: true }
    ),
    field.bool(
      C.stacksSampled,
      col((r) => r.edge.stacksSampled)
    ),
    field.string(
      C.explanation,
      e((x) => (x.explanation ? JSON.stringify(x.explanation) : ''))
    ),
    field.string(
      C.facts,
      e((x) => x.facts.join('\n'))
    ),
    field.string(
      C.namespace,
      e((x) => x.labels.namespace ?? '')
    ),
    field.string(
      C.workload,
      e((x) => x.labels.workload ?? '')
    ),
    field.string(
      C.pod,
      e((x) => x.labels.pod ?? '')
    ),
    field.string(
      C.labels,
      e((x) => JSON.stringify(x.labels))
    ),
    field.timeMs(
      C.firstSeen,
      col((r) => r.edge.firstSeenMs)
    ),
    field.timeMs(
      C.lastSeen,
      col((r) => r.edge.lastSeenMs)
    ),
  ];
  return { name: CHAIN_FRAMES.table, meta: { preferredVisualisationType: 'table', custom: { matched } }, fields };
}

interface GraphNode {
  id: string;
  title: string;
  subtitle: string;
  node: string;
  role: string;
  pid: string;
  /** Off-CPU seconds and count of the edges that end here. */
  offcpu: number;
  count: number;
  byCategory: Map<string, number>;
}

/** A task is one node per thread; an interrupt or preemption waker is one node per context and agent. */
function wakerId(r: NodeEdge): string {
  const w = r.edge.waker;
  return w.context === 'task' && w.tid !== null ? `${r.node}/${w.pid}/${w.tid}` : `${r.node}/${w.context}`;
}

function targetId(r: NodeEdge): string {
  return `${r.node}/${r.edge.target.pid}/${r.edge.target.tid}`;
}

export function nodeGraphFrames(rows: NodeEdge[]): [Frame, Frame] {
  const nodes = new Map<string, GraphNode>();
  const touch = (id: string, init: () => Omit<GraphNode, 'offcpu' | 'count' | 'byCategory'>) => {
    let n = nodes.get(id);
    if (!n) {
      n = { ...init(), offcpu: 0, count: 0, byCategory: new Map() };
      nodes.set(id, n);
    }
    return n;
  };
  for (const r of rows) {
    const w = r.edge.waker;
    touch(wakerId(r), () =>
      w.context === 'task'
        ? {
            id: wakerId(r),
            title: w.comm,
            subtitle: w.proc || r.node,
            node: r.node,
            role: '',
            pid: String(w.pid ?? ''),
          }
        : { id: wakerId(r), title: w.context, subtitle: r.node, node: r.node, role: '', pid: '' }
    );
    const t = r.edge.target;
    const tn = touch(targetId(r), () => ({
      id: targetId(r),
      title: t.comm,
      subtitle: t.proc || r.node,
      node: r.node,
      role: t.role,
      pid: String(t.pid ?? ''),
    }));
    // A thread first seen as a waker gets its role once it is seen as a target.
    tn.role = t.role;
    tn.offcpu += us(r.edge.offcpuUs);
    tn.count += r.edge.count;
    tn.byCategory.set(r.edge.category, (tn.byCategory.get(r.edge.category) ?? 0) + us(r.edge.offcpuUs));
  }
  const list = [...nodes.values()];
  // Categories present, in the taxonomy's order (unknown ones last): one arc field each.
  const present = new Set(rows.map((r) => r.edge.category));
  const order = [
    ...CATEGORIES.map((c) => c.id).filter((id) => present.has(id)),
    ...[...present].filter((id) => !CATEGORIES.some((c) => c.id === id)).sort(),
  ];
  const arcs: Field[] = order.map((cat) =>
    field.float64(
      `${G.arcPrefix}${cat}`,
      list.map((n) => (n.offcpu > 0 ? (n.byCategory.get(cat) ?? 0) / n.offcpu : 0)),
      {
        config: {
          displayName: CATEGORIES.find((c) => c.id === cat)?.name ?? cat,
          color: { mode: 'fixed', fixedColor: categoryColor(cat) },
        },
      }
    )
  );
  const nodesFrame: Frame = {
    name: CHAIN_FRAMES.nodes,
    meta: { preferredVisualisationType: 'nodeGraph' },
    fields: [
      field.string(
        G.id,
        list.map((n) => n.id)
      ),
      field.string(
        G.title,
        list.map((n) => n.title)
      ),
      field.string(
        G.subtitle,
        list.map((n) => n.subtitle)
      ),
      field.float64(
        G.mainstat,
        list.map((n) => n.offcpu),
        { config: { unit: 's', displayName: 'off-CPU' } }
      ),
      field.float64(
        G.secondarystat,
        list.map((n) => n.count),
        { config: { displayName: 'wakeups', unit: 'short' } }
      ),
      ...arcs,
      field.string(
        `${G.detailPrefix}role`,
        list.map((n) => n.role),
        { config: { displayName: 'role' } }
      ),
      field.string(
        `${G.detailPrefix}pid`,
        list.map((n) => n.pid),
        { config: { displayName: 'pid' } }
      ),
      field.string(
        `${G.detailPrefix}node`,
        list.map((n) => n.node),
        { config: { displayName: 'agent' } }
      ),
    ],
  };
  const edgesFrame: Frame = {
    name: CHAIN_FRAMES.edges,
    meta: { preferredVisualisationType: 'nodeGraph' },
    fields: [
      field.string(
        G.id,
        rows.map((r) => `${r.node}/${r.edge.id}`)
      ),
      field.string(G.source, rows.map(wakerId)),
      field.string(G.target, rows.map(targetId)),
      field.float64(
        G.mainstat,
        rows.map((r) => us(r.edge.offcpuUs)),
        { config: { unit: 's', displayName: 'off-CPU' } }
      ),
      field.float64(
        G.secondarystat,
        rows.map((r) => r.edge.count),
        { config: { displayName: 'wakeups', unit: 'short' } }
      ),
      field.string(
        `${G.detailPrefix}category`,
        rows.map((r) => r.edge.category),
        { config: { displayName: 'category' } }
      ),
      field.string(
        `${G.detailPrefix}activity`,
        rows.map((r) => r.edge.activity),
        { config: { displayName: 'activity' } }
      ),
      field.string(
        G.color,
        rows.map((r) => categoryColor(r.edge.category))
      ),
    ],
  };
  return [nodesFrame, edgesFrame];
}

export async function chainsQuery(q: DecodedQuery, m: ChainsQueryModel, env: QueryEnv): Promise<QueryAnswer> {
  const top = await topEdges(q, m, m.sort, m.limit, env);
  const table = chainsTable(top.edges, top.matched);
  table.meta = { ...table.meta, executedQueryString: top.executed };
  const notices = [...top.notices];
  if (m.depth > 1) {
    notices.push({
      severity: 'info',
      text: `depth ${m.depth}: multi-hop chains are not recorded yet, so each row is one waker -> target hop`,
    });
  }
  return { frames: [table, ...nodeGraphFrames(top.edges)], notices, failedAgents: top.failed };
}
