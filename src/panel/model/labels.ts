// SPDX-License-Identifier: Apache-2.0
/*
 * Where each node's label goes, and what it says. Every node of a column is
 * named: a label sits beside its node, centred on it where there is room,
 * and where the nodes are thinner than a line of text (the light links at
 * the bottom of a column) the labels are pushed apart along the column until
 * none overlaps another, a leader joining each moved label to its node. A
 * label is never wider than the gap to the next column, so labels of two
 * columns never meet either. Only a column with more nodes than lines of
 * text fit in its height leaves its lightest nodes unnamed (their tooltip,
 * accessible name and, once selected, a label of their own name them).
 */
import {
  LABEL_CHAR_WIDTH,
  LABEL_FONT,
  LABEL_GAP,
  NODE_WIDTH,
  SCROLLBAR_ROOM,
  type Layout,
  type NodeBox,
} from './layout';

/** One line of a label (1.25 em of the label font), what the vertical placement reserves per line. */
export const LABEL_LINE = Math.round(LABEL_FONT * 1.25);
/** The subtitle's font is a pixel smaller than the title's. */
const SUBTITLE_CHAR_WIDTH = (LABEL_FONT - 1) * 0.6;
/** A node at least this tall has room in its own height for the title and the subtitle under it. */
const TWO_LINES_HEIGHT = 2 * LABEL_LINE;
/** A label whose middle is further than this from its node's middle gets a leader to it. */
const LEADER_FROM = 2;

export interface LabelBox {
  nodeId: string;
  /** Where the text is anchored: the end of a left label, the start of a right one. */
  x: number;
  anchor: 'start' | 'end';
  /** The box the text takes (x from left to right, y from top), in the layout's coordinates. */
  left: number;
  top: number;
  width: number;
  height: number;
  /** The middle of the title's line. */
  titleY: number;
  title: string;
  /** What tells a repeated title apart, with its parentheses (` (tid 4242)`), or ''. */
  qualifier: string;
  /** The subtitle's second line, or '' when the label is one line. */
  subtitle: string;
  /** From the node's edge to the label, when the label had to move away from its node. */
  leader?: { x0: number; y0: number; x1: number; y1: number };
}

/** The text, or its start and an ellipsis when it is wider than `px`; the whole text stays in the tooltip and aria-label. */
export function elide(text: string, px: number, charWidth = LABEL_CHAR_WIDTH): string {
  const fits = Math.max(3, Math.floor(px / charWidth));
  return text.length <= fits ? text : `${text.slice(0, fits - 1)}…`;
}

/**
 * The width a label of this column may take: left of the first column its label room; right of the last its
 * label room less the scrollbar's; right of a column between, also no more than the gap to the next column's
 * nodes, so it ends before them.
 */
function labelSpace(column: number, layout: Layout, columnX: readonly number[]): number {
  if (column === 0) {
    return layout.labelRoom.left - LABEL_GAP - 4;
  }
  const room = layout.labelRoom.right - LABEL_GAP - 4 - SCROLLBAR_ROOM;
  const next = columnX[column + 1];
  return next === undefined ? room : Math.min(room, next - columnX[column] - NODE_WIDTH - 2 * LABEL_GAP);
}

const r1 = (v: number) => Math.round(v * 10) / 10;

/**
 * A node's label text in `space` px: the title, and after a title that repeats in its column what tells it
 * apart (` (cart-7f9c-abcde)`, ` (tid 4242)`): the first qualifier that fits beside the whole title, else the
 * shortest, which is never elided (the title gives way to it down to a few characters, else it is left out).
 */
function labelText(box: NodeBox, space: number): { title: string; qualifier: string; width: number } {
  const { title, qualifiers } = box.node;
  const fits = (q: string) => (title.length + q.length + 3) * LABEL_CHAR_WIDTH <= space;
  const chosen = qualifiers.find(fits) ?? [...qualifiers].sort((a, b) => a.length - b.length)[0];
  const qualifier = chosen ? ` (${chosen})` : '';
  const room = space - qualifier.length * LABEL_CHAR_WIDTH;
  if (qualifier && room >= 4 * LABEL_CHAR_WIDTH) {
    const shown = elide(title, room);
    return { title: shown, qualifier, width: (shown.length + qualifier.length) * LABEL_CHAR_WIDTH };
  }
  const shown = elide(title, space);
  return { title: shown, qualifier: '', width: shown.length * LABEL_CHAR_WIDTH };
}

interface Pending {
  box: NodeBox;
  lines: 1 | 2;
  top: number;
}

/**
 * Places the labels of one column's nodes (top to bottom) in [0, height], moved as little as they can be
 * (least squares): each starts centred on its node; labels that would overlap are joined into a run of
 * labels one under the other, the run centred where its labels want to be on average and kept inside the
 * column, and runs that then meet are joined again. Too many nodes for their lines: first every label one
 * line, then the lightest nodes unnamed.
 */
function placeColumn(boxes: readonly NodeBox[], height: number): Pending[] {
  let items: Pending[] = boxes.map((box) => ({
    box,
    lines: box.height >= TWO_LINES_HEIGHT && box.node.subtitle ? 2 : 1,
    top: 0,
  }));
  const total = () => items.reduce((s, i) => s + i.lines * LABEL_LINE, 0);
  if (total() > height) {
    items.forEach((i) => (i.lines = 1));
  }
  const fit = Math.floor(height / LABEL_LINE);
  if (items.length > fit) {
    const kept = new Set(
      [...items]
        .sort((a, b) => b.box.node.value - a.box.node.value)
        .slice(0, fit)
        .map((i) => i.box)
    );
    items = items.filter((i) => kept.has(i.box));
  }
  interface Run {
    items: Pending[];
    /** The sum over its labels of where each wants the run's top to be, for their mean. */
    wanted: number;
    height: number;
    top: number;
  }
  const runs: Run[] = [];
  const settle = (run: Run) => {
    run.top = Math.max(0, Math.min(height - run.height, run.wanted / run.items.length));
  };
  for (const item of items) {
    const h = item.lines * LABEL_LINE;
    const run: Run = { items: [item], wanted: item.box.y + item.box.height / 2 - h / 2, height: h, top: 0 };
    settle(run);
    runs.push(run);
    for (let last = runs.length - 1; last > 0 && runs[last - 1].top + runs[last - 1].height > runs[last].top; last--) {
      const [above, below] = runs.splice(last - 1, 2);
      // Each label of the run below wants the joined run's top to be its own wish less what is above it in it.
      const joined: Run = {
        items: [...above.items, ...below.items],
        wanted: above.wanted + below.wanted - below.items.length * above.height,
        height: above.height + below.height,
        top: 0,
      };
      settle(joined);
      runs.push(joined);
    }
  }
  for (const run of runs) {
    let top = run.top;
    for (const item of run.items) {
      item.top = top;
      top += item.lines * LABEL_LINE;
    }
  }
  return items;
}

/** Every node's label that fits (see the top of this file), by node id. */
export function placeLabels(layout: Layout, height: number): Map<string, LabelBox> {
  const columns = new Map<number, NodeBox[]>();
  for (const box of layout.nodes) {
    (columns.get(box.node.column) ?? columns.set(box.node.column, []).get(box.node.column)!).push(box);
  }
  const columnX = columnXs(layout);
  const placed = new Map<string, LabelBox>();
  for (const [c, boxes] of columns) {
    const space = labelSpace(c, layout, columnX);
    const ordered = [...boxes].sort((a, b) => a.y - b.y);
    for (const { box, lines, top } of placeColumn(ordered, height)) {
      placed.set(box.node.id, labelBox(box, c === 0, space, lines, top));
    }
  }
  return placed;
}

/**
 * A label for a node the column had no line for, on its node's middle, for when it is selected: drawn over
 * the others while the selection lasts.
 */
export function selectedLabel(box: NodeBox, layout: Layout): LabelBox {
  const { column } = box.node;
  const space = labelSpace(column, layout, columnXs(layout));
  return labelBox(box, column === 0, space, 1, box.y + box.height / 2 - LABEL_LINE / 2);
}

/** Each column's x, by column number. */
function columnXs(layout: Layout): number[] {
  const xs: number[] = [];
  for (const box of layout.nodes) {
    xs[box.node.column] = box.x;
  }
  return xs;
}

function labelBox(box: NodeBox, left: boolean, space: number, lines: 1 | 2, top: number): LabelBox {
  const text = labelText(box, space);
  const subtitle = lines === 2 ? elide(box.node.subtitle, space, SUBTITLE_CHAR_WIDTH) : '';
  const width = Math.max(text.width, subtitle.length * SUBTITLE_CHAR_WIDTH);
  const x = left ? box.x - LABEL_GAP : box.x + NODE_WIDTH + LABEL_GAP;
  const titleY = top + LABEL_LINE / 2;
  const middle = box.y + box.height / 2;
  const moved = Math.abs(top + (lines * LABEL_LINE) / 2 - middle) > Math.max(LEADER_FROM, box.height / 2);
  return {
    nodeId: box.node.id,
    x: r1(x),
    anchor: left ? 'end' : 'start',
    left: left ? x - width : x,
    top,
    width,
    height: lines * LABEL_LINE,
    titleY: r1(titleY),
    title: text.title,
    qualifier: text.qualifier,
    subtitle,
    leader: moved
      ? { x0: r1(left ? box.x : box.x + NODE_WIDTH), y0: r1(middle), x1: r1(left ? x + 2 : x - 2), y1: r1(titleY) }
      : undefined,
  };
}
