// SPDX-License-Identifier: Apache-2.0
/*
 * `chains`: the top chains as a table frame (every field of CHAIN_FIELDS,
 * one row per chain), then the Node Graph pair: `nodes` (one per thread or
 * interrupt context, with an `arc__<category>` ring on woken threads) and
 * `edges` (one per wakeup, coloured by category).
 *
 * Depth 1 is one waker -> target edge per row, from /api/v1/edges, as
 * before chains existed. Deeper, the rows are /api/v1/chains' chains: the
 * same columns from each chain's last link, then its hops and earlier links
 * (CHAIN_HOP_FIELDS, CHAIN_LINK_FIELDS); the Node Graph joins every link of
 * every chain. Both kinds of row go through one table and one graph builder.
 */
import {
  CHAIN_FIELDS as C,
  CHAIN_FRAMES,
  CHAIN_HOP_FIELDS as H,
  CHAIN_LINK_FIELDS as L,
  CHAIN_PATH_FIELDS as P,
  NODE_GRAPH as G,
  chainText,
} from '../../../src/shared/frames';
import { ChainsQueryModel } from '../../../src/shared/query';
import { CATEGORIES, categoryColor } from '../../../src/shared/taxonomy';
import { Utf8Builder, Utf8Column } from '../../protocol/columns';
import { Field, Frame, field } from '../../protocol/frame';
import { AgentChain, ChainHop, ChainLink } from '../agent-chains';
import { EdgeBatch } from '../agent-edges';
import { DecodedQuery } from '../query';
import { QueryAnswer, QueryEnv } from './context';
import { ChainRef, topChains } from './chain-rows';
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

/**
 * The columns every chains table has, whatever its rows came from (an edge,
 * or a chain's last link). Numbers are NaN where null; durations in seconds.
 */
interface TableColumns {
  id: string[];
  node: string[];
  wakerComm: string[];
  wakerPid: Float64Array;
  wakerTid: Float64Array;
  wakerContext: string[];
  targetProc: string[];
  targetComm: string[];
  targetPid: Float64Array;
  targetTid: Float64Array;
  targetRole: string[];
  kind: string[];
  category: string[];
  activity: string[];
  count: Float64Array;
  offcpu: Float64Array;
  offcpuMax: Float64Array;
  runq: Float64Array;
  preemptor: string[];
  wakerStack: Utf8Column;
  wakerKernelFrames: Float64Array;
  targetStack: Utf8Column;
  targetKernelFrames: Float64Array;
  sampled: Uint8Array;
  explanation: string[];
  facts: string[];
  labels: Array<Record<string, string>>;
  firstSeenMs: Float64Array;
  lastSeenMs: Float64Array;
}

/** CHAIN_FIELDS in their order. */
function tableFields(c: TableColumns): Field[] {
  const { labels } = c;
  return [
    field.string(C.id, texts(c.id, 24)),
    field.string(C.node, texts(c.node, 24)),
    field.string(C.wakerComm, texts(c.wakerComm)),
    field.int64(C.wakerPid, c.wakerPid, { nullable: true }),
    field.int64(C.wakerTid, c.wakerTid, { nullable: true }),
    field.string(C.wakerContext, texts(c.wakerContext)),
    field.string(C.targetProc, texts(c.targetProc)),
    field.string(C.targetComm, texts(c.targetComm)),
    field.int64(C.targetPid, c.targetPid, { nullable: true }),
    field.int64(C.targetTid, c.targetTid, { nullable: true }),
    field.string(C.targetRole, texts(c.targetRole)),
    field.string(C.kind, texts(c.kind)),
    field.string(C.category, texts(c.category), { config: { custom: { colors: 'taxonomy' } } }),
    field.string(C.activity, texts(c.activity)),
    field.int64(C.count, c.count),
    field.float64(C.offcpu, c.offcpu, { config: secondsConfig }),
    field.float64(C.offcpuMax, c.offcpuMax, { nullable: true, config: secondsConfig }),
    field.float64(C.runq, c.runq, { config: secondsConfig }),
    field.string(C.preemptor, texts(c.preemptor)),
    field.string(C.wakerStack, c.wakerStack),
    field.int64(C.wakerStackKernelFrames, c.wakerKernelFrames, { nullable: true }),
    field.string(C.targetStack, c.targetStack),
    field.int64(C.targetStackKernelFrames, c.targetKernelFrames, { nullable: true }),
    field.bool(C.stacksSampled, c.sampled),
    field.string(C.explanation, texts(c.explanation, 256)),
    field.string(C.facts, texts(c.facts)),
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
    field.timeMs(C.firstSeen, c.firstSeenMs),
    field.timeMs(C.lastSeen, c.lastSeenMs),
  ];
}

export function chainsTable(rows: EdgeRow[], matched: number, t: RowTexts = rowTexts(rows)): Frame {
  const n = rows.length;
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
  const fields = tableFields({
    id: t.id,
    node: rows.map((r) => r.node),
    wakerComm: t.wakerComm,
    wakerPid: numbers(rows, 'wakerPid'),
    wakerTid: numbers(rows, 'wakerTid'),
    wakerContext: t.wakerContext,
    targetProc: t.targetProc,
    targetComm: t.targetComm,
    targetPid: numbers(rows, 'targetPid'),
    targetTid: numbers(rows, 'targetTid'),
    targetRole: t.targetRole,
    kind,
    category: t.category,
    activity: t.activity,
    count: numbers(rows, 'count'),
    offcpu: numbers(rows, 'offcpuUs', 1e6),
    offcpuMax: numbers(rows, 'offcpuMaxUs', 1e6),
    runq: numbers(rows, 'runqUs', 1e6),
    preemptor,
    wakerStack: stackColumn(rows, 'waker'),
    wakerKernelFrames: numbers(rows, 'wakerKernelFrames'),
    targetStack: stackColumn(rows, 'target'),
    targetKernelFrames: numbers(rows, 'targetKernelFrames'),
    sampled,
    explanation,
    facts,
    labels: rows.map((r) => r.batch.labels(r.row)),
    firstSeenMs: numbers(rows, 'firstSeenMs'),
    lastSeenMs: numbers(rows, 'lastSeenMs'),
  });
  return { name: CHAIN_FRAMES.table, meta: { preferredVisualisationType: 'table', custom: { matched } }, fields };
}

/* --- chains of several hops ---------------------------------------------- */

const chainId = (r: ChainRef) => `${r.node}/chain/${r.chain.id}`;
const lastLink = (c: AgentChain) => c.links[c.links.length - 1];
/** Hop k counted back from the target (1: the target's waker), or undefined past the chain's first cause. */
const hopBack = (c: AgentChain, k: number): ChainHop | undefined => c.hops[c.hops.length - 1 - k];
/** Link k counted back (1: the target's own wakeup): the wakeup of hop k-1 by hop k. */
const linkBack = (c: AgentChain, k: number): ChainLink | undefined => c.links[c.links.length - k];
const joined = (values: Array<string[] | undefined>) =>
  Utf8Column.from(
    values.map((v) => (v ? v.join('\n') : '')),
    512
  );

/** `context none` is a preemption (the agent's edges say `kind: preempted` there); a chain has no other kind. */
const kindOf = (link: ChainLink) => (link.context === 'none' ? 'preempted' : 'blocked');

/** The chains table of a depth > 1 query: CHAIN_FIELDS from each chain's last link, then its hops and earlier links. */
export function chainPathsTable(rows: ChainRef[], matched: number, depth: number): Frame {
  const n = rows.length;
  const chains = rows.map((r) => r.chain);
  const num = (f: (c: AgentChain) => number) => Float64Array.from(chains, f);
  const str = (f: (c: AgentChain) => string) => chains.map(f);
  const empty = new Array<string>(n).fill('');
  const fields = tableFields({
    id: rows.map(chainId),
    node: rows.map((r) => r.node),
    wakerComm: str((c) => hopBack(c, 1)!.comm),
    wakerPid: num((c) => hopBack(c, 1)!.pid),
    wakerTid: num((c) => hopBack(c, 1)!.tid),
    wakerContext: str((c) => lastLink(c).context),
    targetProc: str((c) => hopBack(c, 0)!.proc),
    targetComm: str((c) => hopBack(c, 0)!.comm),
    targetPid: num((c) => hopBack(c, 0)!.pid),
    targetTid: num((c) => hopBack(c, 0)!.tid),
    // The agent's chains carry no thread role (empty here), unless their labels come to name one.
    targetRole: str((c) => c.labels.role ?? ''),
    kind: str((c) => kindOf(lastLink(c))),
    category: str((c) => lastLink(c).category),
    activity: str((c) => lastLink(c).activity),
    count: num((c) => c.count),
    offcpu: num((c) => c.offcpuUs / 1e6),
    offcpuMax: new Float64Array(n).fill(NaN),
    runq: num((c) => c.runqUs / 1e6),
    preemptor: empty,
    wakerStack: joined(chains.map((c) => lastLink(c).wakerStack)),
    wakerKernelFrames: num((c) => lastLink(c).wakerKernelFrames),
    targetStack: joined(chains.map((c) => lastLink(c).targetStack)),
    targetKernelFrames: num((c) => lastLink(c).targetKernelFrames),
    sampled: Uint8Array.from(chains, (c) => (lastLink(c).stacksSampled ? 1 : 0)),
    explanation: empty,
    facts: empty,
    labels: chains.map((c) => c.labels),
    firstSeenMs: num((c) => c.firstSeenMs),
    lastSeenMs: num((c) => c.lastSeenMs),
  });
  fields.push(
    field.int64(
      P.hops,
      num((c) => c.hops.length)
    ),
    field.string(
      P.chain,
      texts(
        str((c) =>
          chainText(
            c.hops.map(hopName),
            c.links.map((l) => l.category)
          )
        ),
        64
      )
    ),
    field.string(P.endedBy, texts(str((c) => c.endedBy)))
  );
  for (let k = 1; k <= depth; k++) {
    const hop = (c: AgentChain) => hopBack(c, k);
    fields.push(
      field.string(H.comm(k), texts(str((c) => hop(c)?.comm ?? ''))),
      field.string(H.proc(k), texts(str((c) => hop(c)?.proc ?? ''))),
      field.int64(
        H.pid(k),
        num((c) => hop(c)?.pid ?? NaN),
        { nullable: true }
      ),
      field.int64(
        H.tid(k),
        num((c) => hop(c)?.tid ?? NaN),
        { nullable: true }
      ),
      // Hop k's context is that of the link in which it woke hop k-1.
      field.string(H.context(k), texts(str((c) => (hop(c) ? linkBack(c, k)!.context : ''))))
    );
  }
  for (let k = 2; k <= depth; k++) {
    const link = (c: AgentChain) => linkBack(c, k);
    fields.push(
      field.string(L.category(k), texts(str((c) => link(c)?.category ?? ''))),
      field.string(L.activity(k), texts(str((c) => link(c)?.activity ?? ''))),
      field.bool(
        L.stacksSampled(k),
        Uint8Array.from(chains, (c) => (link(c)?.stacksSampled ? 1 : 0))
      ),
      field.string(L.wakerStack(k), joined(chains.map((c) => link(c)?.wakerStack))),
      field.int64(
        L.wakerStackKernelFrames(k),
        num((c) => link(c)?.wakerKernelFrames ?? NaN),
        { nullable: true }
      ),
      field.string(L.targetStack(k), joined(chains.map((c) => link(c)?.targetStack))),
      field.int64(
        L.targetStackKernelFrames(k),
        num((c) => link(c)?.targetKernelFrames ?? NaN),
        { nullable: true }
      )
    );
  }
  return {
    name: CHAIN_FRAMES.table,
    meta: { preferredVisualisationType: 'table', custom: { matched, depth } },
    fields,
  };
}

/** A hop as the `chain` column writes it: its thread name, or the interrupt's. */
const hopName = (h: ChainHop) => h.comm || '[unknown]';

/* --- the Node Graph pair -------------------------------------------------- */

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

/** What a node is made of, the first time it is met. */
type GraphEnd = Omit<GraphNode, 'offcpu' | 'count' | 'byCategory'>;

/** One Node Graph edge: the wakeups with its id, their numbers summed. */
interface GraphEdge {
  id: string;
  source: string;
  target: string;
  offcpu: number;
  count: number;
  category: string;
  activity: string;
}

/** How a pid or tid reads in a node id (null ones as the agent's JSON would print them). */
const idPart = (v: number) => (Number.isNaN(v) ? 'null' : String(v));
const pidText = (v: number) => (Number.isNaN(v) ? '' : String(v));

/** A waking thread's node id, or for an interrupt or a preemption one node per context and agent. */
const wakerId = (node: string, context: string, pid: number, tid: number) =>
  context === 'task' && !Number.isNaN(tid) ? `${node}/${idPart(pid)}/${tid}` : `${node}/${context}`;
const threadId = (node: string, pid: number, tid: number) => `${node}/${idPart(pid)}/${idPart(tid)}`;

function wakerEnd(id: string, node: string, context: string, comm: string, proc: string, pid: number): GraphEnd {
  const task = context === 'task';
  return {
    id,
    title: task ? comm : context,
    subtitle: task ? proc || node : node,
    node,
    role: '',
    pid: task ? pidText(pid) : '',
  };
}

function threadEnd(id: string, node: string, comm: string, proc: string, pid: number, role: string): GraphEnd {
  return { id, title: comm, subtitle: proc || node, node, role, pid: pidText(pid) };
}

/**
 * Nodes and edges as wakeups are added. A node's parts are made only the
 * first time its id is met (a 1,000-edge answer has a few hundred nodes).
 */
class NodeGraph {
  readonly nodes = new Map<string, GraphNode>();
  readonly edges: GraphEdge[] = [];
  /** Edges by id, when wakeups can share one (chains); an edge answer's ids are unique already. */
  private readonly byId: Map<string, GraphEdge> | undefined;

  constructor(merge: boolean) {
    this.byId = merge ? new Map() : undefined;
  }

  has(id: string): boolean {
    return this.nodes.has(id);
  }

  addNode(end: GraphEnd): void {
    const { id, title, subtitle, node, role, pid } = end;
    this.nodes.set(id, { id, title, subtitle, node, role, pid, offcpu: 0, count: 0, byCategory: new Map() });
  }

  /** A wakeup of `target` by `source` (both added before); `role` is the target's, when known. */
  wakeup(
    id: string,
    source: string,
    target: string,
    offcpu: number,
    count: number,
    category: string,
    activity: string,
    role: string
  ): void {
    const tn = this.nodes.get(target)!;
    // A thread first seen as a waker gets its role once it is seen as a target.
    if (role) {
      tn.role = role;
    }
    tn.offcpu += offcpu;
    tn.count += count;
    tn.byCategory.set(category, (tn.byCategory.get(category) ?? 0) + offcpu);
    const e = this.byId?.get(id);
    if (e) {
      e.offcpu += offcpu;
      e.count += count;
    } else {
      const edge = { id, source, target, offcpu, count, category, activity };
      this.edges.push(edge);
      this.byId?.set(id, edge);
    }
  }
}

/** Depth 1: one Node Graph edge per waker -> target edge. */
function edgeGraph(rows: EdgeRow[], t: RowTexts): NodeGraph {
  const g = new NodeGraph(false);
  const offcpu = numbers(rows, 'offcpuUs', 1e6);
  const count = numbers(rows, 'count');
  rows.forEach((r, k) => {
    const num = r.batch.num;
    const wPid = num.wakerPid[r.row];
    const tPid = num.targetPid[r.row];
    const source = wakerId(r.node, t.wakerContext[k], wPid, num.wakerTid[r.row]);
    if (!g.has(source)) {
      g.addNode(wakerEnd(source, r.node, t.wakerContext[k], t.wakerComm[k], t.wakerProc[k], wPid));
    }
    const target = threadId(r.node, tPid, num.targetTid[r.row]);
    if (!g.has(target)) {
      g.addNode(threadEnd(target, r.node, t.targetComm[k], t.targetProc[k], tPid, t.targetRole[k]));
    }
    g.wakeup(t.id[k], source, target, offcpu[k], count[k], t.category[k], t.activity[k], t.targetRole[k]);
  });
  return g;
}

/**
 * Deeper: every link of every chain. A link shared by several chains (X woke
 * W, which then woke T1 in one chain and T2 in another) is one edge carrying
 * the sum of those chains' numbers: the off-CPU time of the targets it led to.
 */
function chainGraph(rows: ChainRef[]): NodeGraph {
  const g = new NodeGraph(true);
  for (const { node, chain } of rows) {
    const role = chain.labels.role ?? '';
    const last = chain.hops.length - 1;
    const ids = chain.hops.map((h, i) => {
      const id = i < last ? wakerId(node, chain.links[i].context, h.pid, h.tid) : threadId(node, h.pid, h.tid);
      if (!g.has(id)) {
        g.addNode(
          i < last
            ? wakerEnd(id, node, chain.links[i].context, h.comm, h.proc, h.pid)
            : threadEnd(id, node, h.comm, h.proc, h.pid, role)
        );
      }
      return id;
    });
    chain.links.forEach((link, i) => {
      g.wakeup(
        `${ids[i]}>${ids[i + 1]}|${link.category}|${link.activity}`,
        ids[i],
        ids[i + 1],
        chain.offcpuUs / 1e6,
        chain.count,
        link.category,
        link.activity,
        i + 1 === last ? role : ''
      );
    });
  }
  return g;
}

function graphFrames({ nodes, edges }: NodeGraph): [Frame, Frame] {
  const list = [...nodes.values()];
  const edgeList = edges;
  // Categories present, in the taxonomy's order (unknown ones last): one arc field each.
  const present = new Set(edgeList.map((e) => e.category));
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
      field.string(
        G.id,
        texts(
          edgeList.map((e) => e.id),
          24
        )
      ),
      field.string(
        G.source,
        texts(
          edgeList.map((e) => e.source),
          32
        )
      ),
      field.string(
        G.target,
        texts(
          edgeList.map((e) => e.target),
          32
        )
      ),
      field.float64(
        G.mainstat,
        Float64Array.from(edgeList, (e) => e.offcpu),
        { config: { unit: 's', displayName: 'off-CPU' } }
      ),
      field.float64(
        G.secondarystat,
        Float64Array.from(edgeList, (e) => e.count),
        { config: { displayName: 'wakeups', unit: 'short' } }
      ),
      field.string(`${G.detailPrefix}category`, texts(edgeList.map((e) => e.category)), {
        config: { displayName: 'category' },
      }),
      field.string(`${G.detailPrefix}activity`, texts(edgeList.map((e) => e.activity)), {
        config: { displayName: 'activity' },
      }),
      field.string(G.color, texts(edgeList.map((e) => categoryColor(e.category)))),
    ],
  };
  return [nodesFrame, edgesFrame];
}

export function nodeGraphFrames(rows: EdgeRow[], t: RowTexts = rowTexts(rows)): [Frame, Frame] {
  return graphFrames(edgeGraph(rows, t));
}

export function chainNodeGraphFrames(rows: ChainRef[]): [Frame, Frame] {
  return graphFrames(chainGraph(rows));
}

export async function chainsQuery(q: DecodedQuery, m: ChainsQueryModel, env: QueryEnv): Promise<QueryAnswer> {
  if (m.depth > 1) {
    const top = await topChains(q, m, m.sort, m.limit, m.depth, env);
    const table = chainPathsTable(top.chains, top.matched, m.depth);
    table.meta = { ...table.meta, executedQueryString: top.executed };
    return { frames: [table, ...chainNodeGraphFrames(top.chains)], notices: top.notices, failedAgents: top.failed };
  }
  const top = await topEdges(q, m, m.sort, m.limit, env);
  const texts = rowTexts(top.edges);
  const table = chainsTable(top.edges, top.matched, texts);
  table.meta = { ...table.meta, executedQueryString: top.executed };
  return { frames: [table, ...nodeGraphFrames(top.edges, texts)], notices: top.notices, failedAgents: top.failed };
}
