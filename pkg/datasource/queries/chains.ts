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
import { Utf8Builder, Utf8Column } from '../../protocol/columns';
import { Field, Frame, field } from '../../protocol/frame';
import { EdgeBatch } from '../agent-edges';
import { DecodedQuery } from '../query';
import { QueryAnswer, QueryEnv } from './context';
import { EdgeRow, topEdges } from './edges';

const secondsConfig = { unit: 's' };

type NumberColumn = keyof EdgeBatch['num'];

/** A number member of every row (NaN where null), divided by `unit` (1e6: microseconds to seconds). */
function numbers(rows: readonly EdgeRow[], f: NumberColumn, unit = 1): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    out[k] = rows[k].batch.num[f][rows[k].row] / unit;
  }
  return out;
}

const texts = Utf8Column.from;

/** The small strings of the rows that made the cut, decoded once for the table and the Node Graph. */
export interface RowTexts {
  id: string[];
  wakerComm: string[];
  wakerProc: string[];
  wakerContext: string[];
  targetComm: string[];
  targetProc: string[];
  targetRole: string[];
  category: string[];
  activity: string[];
}

export function rowTexts(rows: readonly EdgeRow[]): RowTexts {
  const col = (f: Parameters<EdgeBatch['string']>[0]) => rows.map((r) => r.batch.string(f, r.row));
  return {
    id: rows.map((r) => `${r.node}/${r.batch.num.id[r.row]}`),
    wakerComm: col('wakerComm'),
    wakerProc: col('wakerProc'),
    wakerContext: col('wakerContext'),
    targetComm: col('targetComm'),
    targetProc: col('targetProc'),
    targetRole: col('targetRole'),
    category: col('category'),
    activity: col('activity'),
  };
}

/** Both stacks as newline-joined frames, copied from the agents' bytes. */
function stackColumn(rows: readonly EdgeRow[], side: 'waker' | 'target'): Utf8Column {
  const b = new Utf8Builder(rows.length, rows.length * 1024);
  for (const r of rows) {
    r.batch.appendStack(b, side, r.row);
    b.endValue();
  }
  return b.finish();
}

export function chainsTable(rows: EdgeRow[], matched: number, t: RowTexts = rowTexts(rows)): Frame {
  const n = rows.length;
  const labels = rows.map((r) => r.batch.labels(r.row));
  const sampled = new Uint8Array(n);
  const preemptor = new Array<string>(n);
  const explanation = new Array<string>(n);
  const facts = new Array<string>(n);
  const kind = new Array<string>(n);
  rows.forEach((r, k) => {
    const b = r.batch;
    sampled[k] = b.stacksSampled[r.row];
    preemptor[k] = b.hasPreemptor(r.row) ? b.string('preemptorComm', r.row) : '';
    explanation[k] = b.explanationJson(r.row);
    facts[k] = b.facts(r.row).join('\n');
    kind[k] = b.string('kind', r.row);
  });
  const fields: Field[] = [
    field.string(C.id, texts(t.id, 24)),
    field.string(
      C.node,
      texts(
        rows.map((r) => r.node),
        24
      )
    ),
    field.string(C.wakerComm, texts(t.wakerComm)),
    field.int64(C.wakerPid, numbers(rows, 'wakerPid'), { nullable: true }),
    field.int64(C.wakerTid, numbers(rows, 'wakerTid'), { nullable: true }),
    field.string(C.wakerContext, texts(t.wakerContext)),
    field.string(C.targetProc, texts(t.targetProc)),
    field.string(C.targetComm, texts(t.targetComm)),
    field.int64(C.targetPid, numbers(rows, 'targetPid'), { nullable: true }),
    field.int64(C.targetTid, numbers(rows, 'targetTid'), { nullable: true }),
    field.string(C.targetRole, texts(t.targetRole)),
    field.string(C.kind, texts(kind)),
    field.string(C.category, texts(t.category), { config: { custom: { colors: 'taxonomy' } } }),
    field.string(C.activity, texts(t.activity)),
    field.int64(C.count, numbers(rows, 'count')),
    field.float64(C.offcpu, numbers(rows, 'offcpuUs', 1e6), { config: secondsConfig }),
    field.float64(C.offcpuMax, numbers(rows, 'offcpuMaxUs', 1e6), { nullable: true, config: secondsConfig }),
    field.float64(C.runq, numbers(rows, 'runqUs', 1e6), { config: secondsConfig }),
    field.string(C.preemptor, texts(preemptor)),
    field.string(C.wakerStack, stackColumn(rows, 'waker')),
    field.int64(C.wakerStackKernelFrames, numbers(rows, 'wakerKernelFrames'), { nullable: true }),
    field.string(C.targetStack, stackColumn(rows, 'target')),
    field.int64(C.targetStackKernelFrames, numbers(rows, 'targetKernelFrames'), { nullable: true }),
    field.bool(C.stacksSampled, sampled),
    field.string(C.explanation, texts(explanation, 256)),
    field.string(C.facts, texts(facts)),
    field.string(C.namespace, texts(labels.map((l) => l.namespace ?? ''))),
    field.string(C.workload, texts(labels.map((l) => l.workload ?? ''))),
    field.string(C.pod, texts(labels.map((l) => l.pod ?? ''))),
    field.string(
      C.labels,
      texts(
        labels.map((l) => JSON.stringify(l)),
        96
      )
    ),
    field.timeMs(C.firstSeen, numbers(rows, 'firstSeenMs')),
    field.timeMs(C.lastSeen, numbers(rows, 'lastSeenMs')),
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

/** How a pid or tid reads in a node id (null ones as the agent's JSON would print them). */
const idPart = (v: number) => (Number.isNaN(v) ? 'null' : String(v));
const pidText = (v: number) => (Number.isNaN(v) ? '' : String(v));

export function nodeGraphFrames(rows: EdgeRow[], t: RowTexts = rowTexts(rows)): [Frame, Frame] {
  const nodes = new Map<string, GraphNode>();
  const n = rows.length;
  const sources = new Array<string>(n);
  const targets = new Array<string>(n);
  const offcpu = numbers(rows, 'offcpuUs', 1e6);
  const count = numbers(rows, 'count');
  rows.forEach((r, k) => {
    const num = r.batch.num;
    // A task is one node per thread; an interrupt or preemption waker is one node per context and agent.
    const context = t.wakerContext[k];
    const wTid = num.wakerTid[r.row];
    const wPid = num.wakerPid[r.row];
    const wakerId =
      context === 'task' && !Number.isNaN(wTid) ? `${r.node}/${idPart(wPid)}/${wTid}` : `${r.node}/${context}`;
    if (!nodes.has(wakerId)) {
      const task = context === 'task';
      nodes.set(wakerId, {
        id: wakerId,
        title: task ? t.wakerComm[k] : context,
        subtitle: task ? t.wakerProc[k] || r.node : r.node,
        node: r.node,
        role: '',
        pid: task ? pidText(wPid) : '',
        offcpu: 0,
        count: 0,
        byCategory: new Map(),
      });
    }
    const tPid = num.targetPid[r.row];
    const targetId = `${r.node}/${idPart(tPid)}/${idPart(num.targetTid[r.row])}`;
    let tn = nodes.get(targetId);
    if (!tn) {
      tn = {
        id: targetId,
        title: t.targetComm[k],
        subtitle: t.targetProc[k] || r.node,
        node: r.node,
        role: t.targetRole[k],
        pid: pidText(tPid),
        offcpu: 0,
        count: 0,
        byCategory: new Map(),
      };
      nodes.set(targetId, tn);
    }
    // A thread first seen as a waker gets its role once it is seen as a target.
    tn.role = t.targetRole[k];
    tn.offcpu += offcpu[k];
    tn.count += count[k];
    const cat = t.category[k];
    tn.byCategory.set(cat, (tn.byCategory.get(cat) ?? 0) + offcpu[k]);
    sources[k] = wakerId;
    targets[k] = targetId;
  });

  const list = [...nodes.values()];
  // Categories present, in the taxonomy's order (unknown ones last): one arc field each.
  const present = new Set(t.category);
  const order = [
    ...CATEGORIES.map((c) => c.id).filter((id) => present.has(id)),
    ...[...present].filter((id) => !CATEGORIES.some((c) => c.id === id)).sort(),
  ];
  const arcs: Field[] = order.map((cat) =>
    field.float64(
      `${G.arcPrefix}${cat}`,
      Float64Array.from(list, (x) => (x.offcpu > 0 ? (x.byCategory.get(cat) ?? 0) / x.offcpu : 0)),
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
      field.string(G.id, texts(list.map((x) => x.id))),
      field.string(G.title, texts(list.map((x) => x.title))),
      field.string(G.subtitle, texts(list.map((x) => x.subtitle))),
      field.float64(
        G.mainstat,
        Float64Array.from(list, (x) => x.offcpu),
        { config: { unit: 's', displayName: 'off-CPU' } }
      ),
      field.float64(
        G.secondarystat,
        Float64Array.from(list, (x) => x.count),
        { config: { displayName: 'wakeups', unit: 'short' } }
      ),
      ...arcs,
      field.string(`${G.detailPrefix}role`, texts(list.map((x) => x.role)), { config: { displayName: 'role' } }),
      field.string(`${G.detailPrefix}pid`, texts(list.map((x) => x.pid)), { config: { displayName: 'pid' } }),
      field.string(`${G.detailPrefix}node`, texts(list.map((x) => x.node)), { config: { displayName: 'agent' } }),
    ],
  };
  const edgesFrame: Frame = {
    name: CHAIN_FRAMES.edges,
    meta: { preferredVisualisationType: 'nodeGraph' },
    fields: [
      field.string(G.id, texts(t.id, 24)),
      field.string(G.source, texts(sources, 32)),
      field.string(G.target, texts(targets, 32)),
      field.float64(G.mainstat, offcpu, { config: { unit: 's', displayName: 'off-CPU' } }),
      field.float64(G.secondarystat, count, { config: { displayName: 'wakeups', unit: 'short' } }),
      field.string(`${G.detailPrefix}category`, texts(t.category), { config: { displayName: 'category' } }),
      field.string(`${G.detailPrefix}activity`, texts(t.activity), { config: { displayName: 'activity' } }),
      field.string(G.color, texts(t.category.map(categoryColor))),
    ],
  };
  return [nodesFrame, edgesFrame];
}

export async function chainsQuery(q: DecodedQuery, m: ChainsQueryModel, env: QueryEnv): Promise<QueryAnswer> {
  const top = await topEdges(q, m, m.sort, m.limit, env);
  const texts = rowTexts(top.edges);
  const table = chainsTable(top.edges, top.matched, texts);
  table.meta = { ...table.meta, executedQueryString: top.executed };
  const notices = [...top.notices];
  if (m.depth > 1) {
    notices.push({
      severity: 'info',
      text: `depth ${m.depth}: multi-hop chains are not recorded yet, so each row is one waker -> target hop`,
    });
  }
  return { frames: [table, ...nodeGraphFrames(top.edges, texts)], notices, failedAgents: top.failed };
}
