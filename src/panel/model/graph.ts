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
import type { ChainHop, ChainRow } from './chains';

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
  /**
   * What tells this node apart from the others of its column with the same title (the kernel's 15-character
   * names repeat: every `wakeflow-workload` process's main thread reads "wakeflow-worklo"), each alone, the
   * most telling first: its pod, process or thread id. Empty when its title is unique there. The label
   * shows the first that fits after the title (its subtitle shows only on a tall node); tooltips and the
   * details name the node with the first.
   */
  qualifiers: string[];
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
  /** For a node standing for every thread of one name: this thread (`<agent>/<tid>`), to count them. */
  thread?: string;
  /** What may tell it apart from a node of the same title, most telling first (see GraphNode.qualifiers). */
  tellApart?: string[];
}

/** Who woke the target: a thread, an interrupt, or nobody (the scheduler preempted it). */
export function wakerNode(row: ChainRow, identity: WakerIdentity): PathNode {
  if (row.kind === 'preempted' || row.wakerContext === 'none') {
    const by = row.preemptor || 'the scheduler';
    return { id: `preempt:${by}`, title: `preempted by ${by}`, subtitle: 'took the CPU' };
  }
  const waker = row.hops[row.hops.length - 2];
  return hopNode(
    { comm: row.wakerComm, proc: waker?.proc ?? '', pid: row.wakerPid, tid: row.wakerTid, context: row.wakerContext },
    row.node,
    identity
  );
}

const ENVOY = 'envoy';

/**
 * A hop before the target, which woke the next one: a thread (one node per
 * name, or per thread), or an interrupt. A hop that is not Envoy's shows its
 * process, so an application container's thread reads as such.
 */
export function hopNode(hop: ChainHop, node: string, identity: WakerIdentity): PathNode {
  if (hop.context === 'softirq' || hop.context === 'hardirq') {
    // The agent names the interrupt itself ([timer], [net-rx], ...), never the task it landed on.
    const name = hop.comm || `[${hop.context}]`;
    return {
      id: `irq:${hop.context}:${name}`,
      title: name,
      subtitle: `${hop.context}, any CPU`,
      tellApart: [hop.context],
    };
  }
  const comm = hop.comm || '[unknown]';
  const proc = hop.proc && hop.proc !== ENVOY ? hop.proc : '';
  if (identity === 'thread' && hop.tid !== null) {
    return {
      id: `task:${node}:${hop.tid}:${comm}`,
      title: comm,
      subtitle: [proc, `tid ${hop.tid}`, node].filter(Boolean).join(' · '),
      tellApart: [hop.proc, node, `tid ${hop.tid}`],
    };
  }
  // One node for every thread of that name (and process); its subtitle says how many (set once the graph is built).
  return {
    id: proc ? `comm:${comm}@${proc}` : `comm:${comm}`,
    title: comm,
    subtitle: proc,
    thread: `${node}/${hop.tid ?? '?'}`,
    tellApart: [hop.proc],
  };
}

export function targetNode(row: ChainRow): PathNode {
  // The pod first: Envoy's threads have the same names in every pod, and a long subtitle is cut at its end.
  // Outside Kubernetes there is no pod: the agent's node (host:port) tells two machines' Envoys apart.
  return {
    id: `target:${row.node}:${row.targetPid ?? ''}:${row.targetTid ?? ''}:${row.targetComm}`,
    title: row.targetComm || '[unknown]',
    subtitle: [row.pod || row.node, row.targetProc, row.targetRole].filter(Boolean).join(' · '),
    tellApart: [row.pod || row.node, row.targetProc, row.targetTid === null ? '' : `tid ${row.targetTid}`],
  };
}

/** A chain's nodes from the first cause to the target: two for an edge, one per hop for a multi-hop chain. */
export function chainPath(row: ChainRow, options: GraphOptions): PathNode[] {
  if (row.hops.length <= 2) {
    return [wakerNode(row, options.wakerIdentity), targetNode(row)];
  }
  const last = row.hops.length - 1;
  return row.hops.map((hop, i) =>
    i === last
      ? targetNode(row)
      : i === last - 1
        ? wakerNode(row, options.wakerIdentity)
        : hopNode(hop, row.node, options.wakerIdentity)
  );
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
  /** The threads behind each node that stands for a thread name. */
  const threads = new Map<string, Set<string>>();
  const tellApart = new Map<string, string[]>();
  // Columns are aligned at the target (the last): a shorter chain starts further right, so each column
  // left of the targets is one hop further back (their wakers, the wakers' wakers, ...).
  const columns = rows.reduce((m, r) => Math.max(m, Math.max(2, r.hops.length)), 0);

  const addNode = (p: PathNode, column: number, row: ChainRow, other: boolean): GraphNode => {
    const key = `${column}|${p.id}`;
    let node = nodes.get(key);
    if (!node) {
      node = {
        id: key,
        column,
        title: p.title,
        subtitle: p.subtitle,
        qualifiers: [],
        value: 0,
        offcpu: 0,
        count: 0,
        other,
      };
      nodes.set(key, node);
      tellApart.set(key, p.tellApart ?? []);
    }
    if (p.thread && !other) {
      (threads.get(key) ?? threads.set(key, new Set()).get(key)!).add(p.thread);
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
    const offset = columns - path.length;
    const pathNodes = path.map((p, i) => addNode(p, offset + i, row, other));
    for (let i = 0; i + 1 < pathNodes.length; i++) {
      const c = offset + i;
      // Link i is how hop i woke hop i + 1; an edge (two hops) has one, its own.
      const hop = row.links[i] ?? row;
      const key = other ? `${OTHER}|${c}|${hop.category}` : `${row.id}|${c}`;
      let link = links.get(key);
      if (!link) {
        link = {
          id: key,
          source: pathNodes[i].id,
          target: pathNodes[i + 1].id,
          column: c,
          category: hop.category,
          activity: other ? '' : hop.activity,
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
  for (const [id, set] of threads) {
    const node = nodes.get(id)!;
    const many = set.size === 1 ? `thread ${[...set][0].split('/')[1]}` : `${set.size} threads`;
    node.subtitle = [node.subtitle, many].filter(Boolean).join(' · ');
  }
  qualifyRepeatedTitles([...nodes.values()], tellApart);
  return { columns, nodes: [...nodes.values()], links: [...links.values()], folded: tail.length, total: rows.length };
}

/**
 * Sets `qualifiers` on the nodes whose title repeats in their column: each of their `tellApart` values that
 * differs for every one of them (the pod, the process, the thread id), or, when none does alone, every value
 * that is not the same for all of them, joined.
 */
function qualifyRepeatedTitles(nodes: readonly GraphNode[], tellApart: ReadonlyMap<string, string[]>): void {
  const groups = new Map<string, GraphNode[]>();
  for (const n of nodes) {
    const key = `${n.column}|${n.title}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(n);
  }
  for (const group of groups.values()) {
    if (group.length < 2) {
      continue;
    }
    const values = group.map((n) => tellApart.get(n.id) ?? []);
    const width = Math.max(...values.map((v) => v.length));
    const column = (i: number) => values.map((v) => v[i] ?? '');
    const indices = Array.from({ length: width }, (_, i) => i);
    const alone = indices.filter((i) => {
      const c = column(i);
      return c.every(Boolean) && new Set(c).size === group.length;
    });
    const varying = indices.filter((i) => new Set(column(i)).size > 1);
    group.forEach((n, k) => {
      const joined = varying
        .map((i) => values[k][i] ?? '')
        .filter(Boolean)
        .join(' · ');
      n.qualifiers = alone.length > 0 ? alone.map((i) => values[k][i]) : joined ? [joined] : [];
    });
  }
}

/** A node's name where it stands alone (a link's tooltip, the details' title): its title and what tells it apart. */
export function nodeName(node: GraphNode): string {
  return node.qualifiers.length > 0 ? `${node.title} (${node.qualifiers[0]})` : node.title;
}

/** Every link drawn for the chains a link belongs to: a multi-hop chain is highlighted as a whole. */
export function chainLinkIds(graph: Graph, linkId: string): string[] {
  const link = graph.links.find((l) => l.id === linkId);
  if (!link || link.other) {
    return link ? [link.id] : [];
  }
  const rows = new Set(link.rows);
  return graph.links.filter((l) => !l.other && l.rows.some((r) => rows.has(r))).map((l) => l.id);
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
