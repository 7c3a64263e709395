// SPDX-License-Identifier: Apache-2.0
/*
 * With a selection's details open below it, the diagram keeps its layout (no
 * new layout, no new markup: performance.md#panel) and shows in a view that
 * scrolls. This module says how tall that view is and where it is scrolled,
 * so that what is selected shows whole: for a link its whole chain (every
 * link lit with it, their nodes and the nodes' labels), for a node the node
 * and its label. The view is as tall as the selection needs, between 45 %
 * of the diagram's height and what leaves the details a third of it; a
 * selection taller than that keeps the selected link (or node) in the middle.
 */
import type { Layout } from './layout';
import type { LabelBox } from './labels';

/** The view's share of the diagram's height at least (and 100 px): the details' room in a small selection. */
const VIEW_MIN_SHARE = 0.45;
const VIEW_MIN = 100;
/** What the details keep at least, of the diagram's height and in pixels. */
const DETAILS_MIN_SHARE = 0.35;
const DETAILS_MIN = 200;
/** Kept free above and below the selection in the view. */
export const VIEW_PAD = 8;

export interface Extent {
  top: number;
  bottom: number;
}

/** From the top of the highest to the bottom of the lowest of these nodes and their labels, in layout coordinates. */
export function selectionExtent(
  layout: Layout,
  labelOf: (nodeId: string) => LabelBox | undefined,
  nodeIds: Iterable<string>
): Extent | undefined {
  let extent: Extent | undefined;
  const add = (top: number, bottom: number) => {
    extent = extent ? { top: Math.min(extent.top, top), bottom: Math.max(extent.bottom, bottom) } : { top, bottom };
  };
  for (const id of nodeIds) {
    const box = layout.byNode.get(id);
    if (box) {
      add(box.y, box.y + box.height);
      const label = labelOf(id);
      if (label) {
        add(label.top, label.top + label.height);
      }
    }
  }
  return extent;
}

/** How tall the view above the details is, for a diagram `height` tall and a selection of this extent. */
export function detailsViewHeight(height: number, extent: Extent | undefined): number {
  const least = Math.min(height, Math.max(VIEW_MIN, Math.floor(height * VIEW_MIN_SHARE)));
  const most = Math.max(least, height - Math.max(DETAILS_MIN, Math.ceil(height * DETAILS_MIN_SHARE)));
  const needs = extent ? Math.ceil(extent.bottom - extent.top) + 2 * VIEW_PAD : 0;
  return Math.min(most, Math.max(least, needs));
}

/**
 * Where the view (`viewHeight` of a diagram `height` tall) is scrolled to: where it is (`current`) while the
 * selection shows whole there, else with the selection in its middle; a selection taller than the view gets
 * `focus` (the selected link's or node's middle) there instead. Coordinates are the view's: `offset` is where
 * the layout starts in it.
 */
export function detailsScrollTop(
  height: number,
  viewHeight: number,
  extent: Extent | undefined,
  focus: number | undefined,
  current: number,
  offset: number
): number {
  const clamp = (y: number) => Math.max(0, Math.min(height - viewHeight, Math.round(y)));
  if (!extent) {
    return clamp(current);
  }
  const top = extent.top + offset - VIEW_PAD;
  const bottom = extent.bottom + offset + VIEW_PAD;
  if (bottom - top <= viewHeight) {
    return top >= current && bottom <= current + viewHeight ? clamp(current) : clamp((top + bottom - viewHeight) / 2);
  }
  const y = (focus ?? (extent.top + extent.bottom) / 2) + offset;
  return y >= current + 16 && y <= current + viewHeight - 16 ? clamp(current) : clamp(y - viewHeight / 2);
}
