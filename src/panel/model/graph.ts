// SPDX-License-Identifier: Apache-2.0
/*
 * Chains as a graph of columns: wakers on the left, target threads on the
 * right, and (multi-hop chains, issue 12) one column per hop between them.
 * Each chain is a path through the columns; a link joins two neighbouring
 * columns and carries the chain's weight (off-CPU seconds or wakeups) and
 * category. Beyond `maxLinks` chains the long tail is folded into one
 * "other" node per column, one link per category, so 2,000 edges stay
 * readable and fast.
 */
import type { ChainRow } from './chains';

export type Weight = 'offcpu' | 'count';
export type WakerIdentity = 'name' | 'thread';

export interface GraphOptions {
  weight: Weight;
  maxLinks: number;
  wakerIdentity: WakerIdentity;
}

export interface GraphNode {
  id: string;
  column: number;
  title: string;
  subtitle: string;
  /** Sum of the weights through this node. */
  value: number;
  offcpu: number;
  count: number;
  /** The folded tail of its column. */
  other: boolean;
}

export interface GraphLink {
  id: string;
  source: string;
  target: string;
  /** Column of the source node; the target is in the next one. */
  column: number;
  category: string;
  activity: string;
  value: number;
  offcpu: number;
  count: number;
  /** The chains drawn by this link: one for a real edge, several for an "other" link. */
  rows: ChainRow[];
  other: boolean;
}

export interface Graph {
  columns: number;
  nodes: GraphNode[];
  links: GraphLink[];
  /** Chains folded into the "other" nodes. */
  folded: number;
  total: number;
}

export const OTHER = 'other';

interface PathNode {
  id: string;
  title: string;
  subtitle: string;
}

/** Who woke the target: a thread, an interrupt, or nobody (the scheduler preempted it). */
export function wakerNode(row: ChainRow, identity: WakerIdentity): PathNode {
  if (row.kind === 'preempted' || row.wakerContext === 'none') {
    const by = row.preemptor || 'the scheduler';
    return { id: `preempt:${by}`, title: `preempted by ${by}`, subtitle: 'took the CPU' };
  }
  if (row.wakerContext === 'softirq' || row.wakerContext === 'hardirq') {
    // The agent names the interrupt itself ([timer], [net-rx], ...), never the task it landed on.
    const name = row.wakerComm || `[${row.wakerContext}]`;
    return { id: `irq:${row.wakerContext}:${name}`, title: name, subtitle: `${row.wakerContext}, any CPU` };
  }
  const comm = row.wakerComm || '[unknown]';
  if (identity === 'thread' && row.wakerTid !== null) {
    return {
      id: `task:${row.node}:${row.wakerTid}:${comm}`,
      title: comm,
      subtitle: `tid ${row.wakerTid} · ${row.node}`,
    };
  }
  // One node for every thread of that name; its subtitle says how many (set once the graph is built).
  return { id: `comm:${comm}`, title: comm, subtitle: '' };
}

export function targetNode(row: ChainRow): PathNode {
  // The pod first: Envoy's threads have the same names in every pod, and a long subtitle is cut at its end.
  return {
    id: `target:${row.node}:${row.targetPid ?? ''}:${row.targetTid ?? ''}:${row.targetComm}`,
    title: row.targetComm || '[unknown]',
    subtitle: [row.pod, row.targetProc, row.targetRole].filter(Boolean).join(' · '),
  };
}

/** A chain's nodes from the first waker to the target. One hop today; issue 12 adds the wakers' wakers. */
export function chainPath(row: ChainRow, options: GraphOptions): PathNode[] {
  return [wakerNode(row, options.wakerIdentity), targetNode(row)];
}

export function weightOf(row: ChainRow, weight: Weight): number {
  return weight === 'count' ? row.count : row.offcpu;
}

export function buildGraph(rows: readonly ChainRow[], options: GraphOptions): Graph {
  const sorted = [...rows].sort(
    (a, b) => weightOf(b, options.weight) - weightOf(a, options.weight) || a.index - b.index
  );
  const cap = Math.max(1, Math.floor(options.maxLinks));
  const shown = sorted.slice(0, cap);
  const tail = sorted.slice(cap);

  const nodes = new Map<string, GraphNode>();
  const links = new Map<string, GraphLink>();
  let columns = 0;

  const addNode = (p: PathNode, column: number, row: ChainRow, other: boolean): GraphNode => {
    const key = `${column}|${p.id}`;
    let node = nodes.get(key);
    if (!node) {
      node = { id: key, column, title: p.title, subtitle: p.subtitle, value: 0, offcpu: 0, count: 0, other };
      nodes.set(key, node);
    }
    node.value += weightOf(row, options.weight);
    node.offcpu += row.offcpu;
    node.count += row.count;
    return node;
  };

  const addChain = (row: ChainRow, other: boolean) => {
    const path = other
      ? chainPath(row, options).map((_, i, all) => ({
          id: OTHER,
          title: i === all.length - 1 ? 'other targets' : 'other wakers',
          subtitle: 'folded: raise "Links shown" to draw them',
        }))
      : chainPath(row, options);
    columns = Math.max(columns, path.length);
    const pathNodes = path.map((p, column) => addNode(p, column, row, other));
    for (let c = 0; c + 1 < pathNodes.length; c++) {
      const key = other ? `${OTHER}|${c}|${row.category}` : `${row.id}|${c}`;
      let link = links.get(key);
      if (!link) {
        link = {
          id: key,
          source: pathNodes[c].id,
          target: pathNodes[c + 1].id,
          column: c,
          category: row.category,
          activity: other ? '' : row.activity,
          value: 0,
          offcpu: 0,
          count: 0,
          rows: [],
          other,
        };
        links.set(key, link);
      }
      link.value += weightOf(row, options.weight);
      link.offcpu += row.offcpu;
      link.count += row.count;
      link.rows.push(row);
    }
  };

  shown.forEach((row) => addChain(row, false));
  tail.forEach((row) => addChain(row, true));
  nameThreadNodes(nodes, links);
  return { columns, nodes: [...nodes.values()], links: [...links.values()], folded: tail.length, total: rows.length };
}

/** Waker nodes that stand for every thread of one name: "3 threads" (or "thread 4242" for one). */
function nameThreadNodes(nodes: Map<string, GraphNode>, links: Map<string, GraphLink>) {
  const threads = new Map<string, Set<string>>();
  for (const link of links.values()) {
    if (link.column === 0 && !link.other && link.source.startsWith('0|comm:')) {
      const set = threads.get(link.source) ?? new Set<string>();
      link.rows.forEach((r) => set.add(`${r.node}/${r.wakerTid ?? '?'}`));
      threads.set(link.source, set);
    }
  }
  for (const [id, set] of threads) {
    const node = nodes.get(id)!;
    node.subtitle = set.size === 1 ? `thread ${[...set][0].split('/')[1]}` : `${set.size} threads`;
  }
}

/** The chains a panel-level filter (breakdown clicks) leaves. */
export function filterRows(
  rows: readonly ChainRow[],
  filter: { categories: readonly string[]; activities: readonly string[] }
): ChainRow[] {
  return rows.filter(
    (r) =>
      (filter.categories.length === 0 || filter.categories.includes(r.category)) &&
      (filter.activities.length === 0 || filter.activities.includes(r.activity || NO_ACTIVITY_KEY))
  );
}

/** How the breakdown and the filter name the rows with no activity. */
export const NO_ACTIVITY_KEY = 'none';
