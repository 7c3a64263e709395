// SPDX-License-Identifier: Apache-2.0
/*
 * The diagram's links and nodes as SVG markup, built once per layout and
 * handed to the browser in one piece. Thousands of links as React elements
 * cost a reconciliation each on every render (about 500 ms for 2,000 links
 * here); as markup the browser parses them in a few milliseconds, and a
 * selection changes two class attributes instead of re-rendering the layer.
 * Each element keeps what a user needs: role, tabindex, aria-label,
 * aria-pressed, and the shared test id.
 */
import { TEST_IDS } from '../../common/testIds';
import {
  LABEL_CHAR_WIDTH,
  LABEL_FONT,
  LABEL_GAP,
  NODE_WIDTH,
  SCROLLBAR_ROOM,
  type Layout,
  type NodeBox,
} from '../model/layout';

export { LABEL_FONT };
/** A label needs this much height to be drawn; smaller nodes keep their name in the tooltip and aria-label. */
export const MIN_LABEL_HEIGHT = 12;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeXml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

/** The text, or its start and an ellipsis when it is wider than `px`; the whole text stays in the tooltip and aria-label. */
export function elide(text: string, px: number): string {
  const fits = Math.max(3, Math.floor(px / LABEL_CHAR_WIDTH));
  return text.length <= fits ? text : `${text.slice(0, fits - 1)}…`;
}

/** The width a label of this node may take: its side's room less the gap (and, on the right, the scrollbar's room). */
function labelSpace(box: NodeBox, layout: Layout): number {
  return box.node.column === 0
    ? layout.labelRoom.left - LABEL_GAP - 4
    : layout.labelRoom.right - LABEL_GAP - 4 - SCROLLBAR_ROOM;
}

const r1 = (v: number) => Math.round(v * 10) / 10;

export function linksMarkup(
  layout: Layout,
  colorOf: (category: string) => string,
  labelOf: (id: string) => string
): string {
  const parts: string[] = [];
  for (const path of layout.links) {
    const id = escapeXml(path.link.id);
    parts.push(
      `<path d="${path.d}" stroke="${escapeXml(colorOf(path.link.category))}" stroke-width="${r1(path.width)}" fill="none"` +
        ` tabindex="0" role="button" aria-pressed="false" class="wf-link" data-link="${id}"` +
        ` data-testid="${escapeXml(TEST_IDS.panel.link(path.link.id))}" aria-label="${escapeXml(labelOf(path.link.id))}"></path>`
    );
  }
  return parts.join('');
}

/**
 * Where a node's label goes: left of the first column's nodes, right of the others'. A title that repeats in
 * its column is followed by what tells it apart (` (cart-7f9c-abcde)`, ` (tid 4242)`): the first of its
 * qualifiers that fits beside the whole title, else the shortest, which is never elided (the title gives way).
 */
export function labelPlace(
  box: NodeBox,
  layout: Layout
): { x: number; y: number; anchor: 'start' | 'end'; title: string; qualifier: string } {
  const left = box.node.column === 0;
  const space = labelSpace(box, layout);
  const fits = (q: string) => (box.node.title.length + q.length + 3) * LABEL_CHAR_WIDTH <= space;
  const shortest = [...box.node.qualifiers].sort((a, b) => a.length - b.length)[0];
  const chosen = box.node.qualifiers.find(fits) ?? shortest;
  const qualifier = chosen ? ` (${chosen})` : '';
  const room = Math.max(4 * LABEL_CHAR_WIDTH, space - qualifier.length * LABEL_CHAR_WIDTH);
  return {
    x: r1(left ? box.x - LABEL_GAP : box.x + NODE_WIDTH + LABEL_GAP),
    y: r1(box.y + box.height / 2),
    anchor: left ? 'end' : 'start',
    title: elide(box.node.title, qualifier ? room : space),
    qualifier,
  };
}

/**
 * Each node's rect (the focusable control, named by its whole accessible label) and its label. The label is
 * for the eye (aria-hidden) but answers the pointer as its node does (`data-label-of`): hovering it shows the
 * tooltip with the whole name, which matters when the label is elided, and a click selects the node.
 */
export function nodesMarkup(layout: Layout, labelOf: (id: string) => string): string {
  const parts: string[] = [];
  for (const box of layout.nodes) {
    const { node } = box;
    const id = escapeXml(node.id);
    const { x, y, anchor, title, qualifier } = labelPlace(box, layout);
    let text = '';
    if (box.height >= MIN_LABEL_HEIGHT) {
      const sub =
        box.height >= MIN_LABEL_HEIGHT * 2.4 && node.subtitle
          ? `<tspan x="${x}" dy="1.25em" class="wf-subtitle">${escapeXml(elide(node.subtitle, labelSpace(box, layout)))}</tspan>`
          : '';
      text =
        `<text x="${x}" y="${y}" dy="0.35em" text-anchor="${anchor}" aria-hidden="true" class="wf-label"` +
        ` data-label-of="${id}">${escapeXml(title)}${qualifier ? `<tspan class="wf-qualifier">${escapeXml(qualifier)}</tspan>` : ''}${sub}</text>`;
    }
    parts.push(
      `<g class="wf-node${node.other ? ' wf-other' : ''}"><rect x="${r1(box.x)}" y="${r1(box.y)}" width="${NODE_WIDTH}" height="${r1(box.height)}" rx="2"` +
        ` tabindex="0" role="button" aria-pressed="false" data-node="${id}" data-testid="${escapeXml(TEST_IDS.panel.node(node.id))}"` +
        ` aria-label="${escapeXml(labelOf(node.id))}"></rect>${text}</g>`
    );
  }
  return parts.join('');
}
