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
import { LABEL_FONT, NODE_WIDTH, type Layout } from '../model/layout';
import { LABEL_LINE, type LabelBox } from '../model/labels';

export { LABEL_FONT };

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeXml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

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

/** A label's text (title, qualifier, subtitle) and its leader, as SVG; the label's place is model/labels.ts's. */
export function labelMarkup(label: LabelBox, attributes: string): string {
  const { x, titleY, anchor, title, qualifier, subtitle, leader } = label;
  const sub = subtitle ? `<tspan x="${x}" dy="${LABEL_LINE}" class="wf-subtitle">${escapeXml(subtitle)}</tspan>` : '';
  const line = leader
    ? `<path d="M${leader.x0},${leader.y0}L${leader.x1},${leader.y1}" class="wf-leader" aria-hidden="true"></path>`
    : '';
  return (
    `${line}<text x="${x}" y="${titleY}" dy="0.35em" text-anchor="${anchor}" aria-hidden="true"${attributes}>` +
    `${escapeXml(title)}${qualifier ? `<tspan class="wf-qualifier">${escapeXml(qualifier)}</tspan>` : ''}${sub}</text>`
  );
}

/**
 * Each node's rect (the focusable control, named by its whole accessible label) and its label. The label is
 * for the eye (aria-hidden) but answers the pointer as its node does (`data-label-of`): hovering it shows the
 * tooltip with the whole name, which matters when the label is elided, and a click selects the node.
 */
export function nodesMarkup(
  layout: Layout,
  labels: ReadonlyMap<string, LabelBox>,
  labelOf: (id: string) => string
): string {
  const parts: string[] = [];
  for (const box of layout.nodes) {
    const { node } = box;
    const id = escapeXml(node.id);
    const label = labels.get(node.id);
    const text = label ? labelMarkup(label, ` class="wf-label" data-label-of="${id}"`) : '';
    parts.push(
      `<g class="wf-node${node.other ? ' wf-other' : ''}"><rect x="${r1(box.x)}" y="${r1(box.y)}" width="${NODE_WIDTH}" height="${r1(box.height)}" rx="2"` +
        ` tabindex="0" role="button" aria-pressed="false" data-node="${id}" data-testid="${escapeXml(TEST_IDS.panel.node(node.id))}"` +
        ` aria-label="${escapeXml(labelOf(node.id))}"></rect>${text}</g>`
    );
  }
  return parts.join('');
}
