// SPDX-License-Identifier: Apache-2.0
/*
 * Where the graph's nodes and links go in a box of width × height: columns
 * evenly spaced, each node as tall as its weight on one scale shared by all
 * columns (so a link is as thick at both ends and thicknesses compare), nodes
 * heaviest first, and links stacked within each node in the order of the
 * node at their other end, which keeps crossings few without a solver.
 */
import type { Graph, GraphLink, GraphNode } from './graph';

export const NODE_WIDTH = 10;
/** The labels' font size, and the width of one of its characters as the layout estimates it (DejaVu/Inter ≈ 0.6 em). */
export const LABEL_FONT = 12;
export const LABEL_CHAR_WIDTH = LABEL_FONT * 0.6;
/** Between a node and its label. */
export const LABEL_GAP = 6;
/** Kept free right of the right-hand labels: the diagram's scrollbar sits there while the details are open. */
export const SCROLLBAR_ROOM = 12;

export interface NodeBox {
  node: GraphNode;
  x: number;
  y: number;
  height: number;
}

export interface LinkPath {
  link: GraphLink;
  /** SVG path data of the link's centre line; it is drawn as a stroke `width` wide. */
  d: string;
  width: number;
  /** Where a tooltip or focus ring points at. */
  midX: number;
  midY: number;
}

export interface Layout {
  nodes: NodeBox[];
  links: LinkPath[];
  byNode: Map<string, NodeBox>;
  /** Room for the labels left of the first column, and right of the others (the last column's is the panel's edge). */
  labelRoom: { left: number; right: number };
}

/**
 * How wide the labels of a side need to be for its longest title or subtitle to show whole, within
 * [60 px, 30 % of the width]: a panel wide enough shows every thread name uncut (a thread name has at most
 * 15 characters, the kernel's TASK_COMM_LEN), a narrow one elides (the tooltip and accessible name keep the
 * whole name).
 */
function labelRoomFor(nodes: readonly GraphNode[], width: number, reserve: number): number {
  const longest = nodes.reduce(
    (m, n) =>
      Math.max(m, n.title.length + (n.qualifiers.length > 0 ? n.qualifiers[0].length + 3 : 0), n.subtitle.length),
    0
  );
  const need = Math.ceil(longest * LABEL_CHAR_WIDTH) + LABEL_GAP + 4 + reserve;
  return Math.max(60, Math.min(need, Math.floor(width * 0.3)));
}

export function layoutGraph(graph: Graph, width: number, height: number): Layout {
  const columns: GraphNode[][] = Array.from({ length: graph.columns }, () => []);
  for (const node of graph.nodes) {
    columns[node.column].push(node);
  }
  const labelRoom = {
    left: labelRoomFor(columns[0] ?? [], width, 0),
    right: labelRoomFor(columns[columns.length - 1] ?? [], width, SCROLLBAR_ROOM),
  };
  for (const column of columns) {
    // Heaviest first; the folded "other" node always last.
    column.sort((a, b) => Number(a.other) - Number(b.other) || b.value - a.value || a.title.localeCompare(b.title));
  }

  const gapOf = (n: number) => (n <= 1 ? 0 : Math.min(8, (height * 0.25) / (n - 1)));
  // A node is at least `minHeight` tall so it stays visible and clickable; with more nodes than pixels, less.
  const minHeight = Math.min(
    1,
    ...columns.map((c) => (c.length > 0 ? (height - gapOf(c.length) * (c.length - 1)) / c.length : 1))
  );
  let scale = Infinity;
  for (const column of columns) {
    const room = height - gapOf(column.length) * (column.length - 1);
    const total = column.reduce((s, n) => s + n.value, 0);
    if (total <= 0) {
      continue;
    }
    // The scale at which this column's heights, raised to the minimum, fill its room: nodes below the
    // minimum take their fixed share first, the others share the rest (a few rounds settle it).
    let k = room / total;
    for (let round = 0; round < 4; round++) {
      const small = column.filter((n) => n.value * k < minHeight);
      const rest = total - small.reduce((s, n) => s + n.value, 0);
      if (rest <= 0) {
        break;
      }
      k = Math.max(0, room - small.length * minHeight) / rest;
    }
    scale = Math.min(scale, k);
  }
  if (!Number.isFinite(scale)) {
    scale = 0;
  }

  const innerLeft = labelRoom.left;
  const innerRight = Math.max(innerLeft + NODE_WIDTH, width - labelRoom.right - NODE_WIDTH);
  const xOf = (c: number) =>
    graph.columns <= 1 ? innerLeft : innerLeft + ((innerRight - innerLeft) * c) / (graph.columns - 1);

  const boxes: NodeBox[] = [];
  const byNode = new Map<string, NodeBox>();
  columns.forEach((column, c) => {
    const gap = gapOf(column.length);
    const heights = column.map((n) => Math.max(minHeight, n.value * scale));
    const used = heights.reduce((s, h) => s + h, 0) + gap * (column.length - 1);
    let y = Math.max(0, (height - used) / 2);
    column.forEach((node, i) => {
      const box = { node, x: xOf(c), y, height: heights[i] };
      boxes.push(box);
      byNode.set(node.id, box);
      y += heights[i] + gap;
    });
  });

  // Stack each node's links in the order of the other end's position.
  const outgoing = new Map<string, GraphLink[]>();
  const incoming = new Map<string, GraphLink[]>();
  for (const link of graph.links) {
    (outgoing.get(link.source) ?? outgoing.set(link.source, []).get(link.source)!).push(link);
    (incoming.get(link.target) ?? incoming.set(link.target, []).get(link.target)!).push(link);
  }
  const centreOf = (id: string) => {
    const b = byNode.get(id)!;
    return b.y + b.height / 2;
  };
  const sourceY = new Map<GraphLink, number>();
  const targetY = new Map<GraphLink, number>();
  const widthOf = (l: GraphLink) => Math.max(minHeight, l.value * scale);
  const stack = (lists: Map<string, GraphLink[]>, otherEnd: (l: GraphLink) => string, into: Map<GraphLink, number>) => {
    for (const [id, list] of lists) {
      list.sort((a, b) => centreOf(otherEnd(a)) - centreOf(otherEnd(b)));
      const box = byNode.get(id)!;
      const total = list.reduce((s, l) => s + widthOf(l), 0);
      // Links wider than their node (the 1px minimum) are centred on it rather than spilling below.
      let y = box.y + Math.min(0, (box.height - total) / 2);
      for (const link of list) {
        const w = widthOf(link);
        into.set(link, y + w / 2);
        y += w;
      }
    }
  };
  stack(outgoing, (l) => l.target, sourceY);
  stack(incoming, (l) => l.source, targetY);

  const links: LinkPath[] = graph.links.map((link) => {
    const x0 = byNode.get(link.source)!.x + NODE_WIDTH;
    const x1 = byNode.get(link.target)!.x;
    const y0 = sourceY.get(link)!;
    const y1 = targetY.get(link)!;
    const xm = (x0 + x1) / 2;
    const r = (v: number) => Math.round(v * 10) / 10;
    return {
      link,
      d: `M${r(x0)},${r(y0)}C${r(xm)},${r(y0)} ${r(xm)},${r(y1)} ${r(x1)},${r(y1)}`,
      width: widthOf(link),
      midX: xm,
      midY: (y0 + y1) / 2,
    };
  });

  return { nodes: boxes, links, byNode, labelRoom };
}
