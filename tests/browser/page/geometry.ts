// SPDX-License-Identifier: Apache-2.0
/*
 * Where the panel's diagram drew things, as the browser laid them out
 * (getBoundingClientRect, hit testing): for the tests' assertions that every
 * node is named and a selected chain shows whole. On the page side, because
 * functions handed to page.evaluate from tsx lose their inner helpers' names
 * (esbuild's __name is not defined in the page). Selectors come from the
 * tests (TEST_IDS), so this file imports nothing of src/.
 */
import type { ChainBoxes, DiagramSelectors, Edges, LabelEnd } from '../harness/driver';

const edges = (r: DOMRect): Edges => ({ top: r.top, bottom: r.bottom, left: r.left, right: r.right });

function overlap(a: Edges, b: Edges): boolean {
  return (
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
    Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5
  );
}

function labelOf(diagram: Element, nodeId: string): SVGTextElement | undefined {
  return Array.from(diagram.querySelectorAll<SVGTextElement>('text[data-label-of]')).find(
    (t) => t.getAttribute('data-label-of') === nodeId
  );
}

/**
 * Every node drawn thinner than `maxHeight` px (the ends of the lightest links: preemptions at the bottom
 * of the columns), each with its label's box and whether it shows.
 */
export function thinNodes(maxHeight: number, selectors: DiagramSelectors): LabelEnd[] {
  const diagram = document.querySelector(selectors.diagram)!;
  const view = edges(diagram.parentElement!.getBoundingClientRect());
  const labels = Array.from(diagram.querySelectorAll<SVGTextElement>('text[data-label-of]'));
  return Array.from(diagram.querySelectorAll<SVGRectElement>('rect[data-node]'))
    .filter((r) => Number(r.getAttribute('height')) < maxHeight)
    .map((rect): LabelEnd => {
      const label = labelOf(diagram, rect.getAttribute('data-node')!);
      const box = edges(label?.getBoundingClientRect() ?? new DOMRect());
      const hit = label && document.elementFromPoint((box.left + box.right) / 2, (box.top + box.bottom) / 2);
      return {
        node: rect.getAttribute('aria-label')!.split(':')[0],
        height: Number(rect.getAttribute('height')),
        text: label?.textContent ?? '',
        box,
        inView: box.top >= view.top && box.bottom <= view.bottom && box.left >= view.left && box.right <= view.right,
        onTop: Boolean(hit && label!.contains(hit)),
        overlapping: labels
          .filter((t) => t !== label && overlap(edges(t.getBoundingClientRect()), box))
          .map((t) => t.textContent ?? ''),
      };
    });
}

/** The boxes of these nodes (column, title) and their labels, the diagram's view, the details' pane and the panel. */
export function chainBoxes(nodes: Array<[number, string]>, selectors: DiagramSelectors): ChainBoxes {
  const diagram = document.querySelector(selectors.diagram)!;
  return {
    view: edges(diagram.parentElement!.getBoundingClientRect()),
    // The pane the details scroll in (their own content may be taller).
    details: edges(document.querySelector(selectors.details)!.parentElement!.getBoundingClientRect()),
    panel: edges(document.querySelector(selectors.panel)!.getBoundingClientRect()),
    nodes: nodes.map(([column, name]) => {
      const found = Array.from(diagram.querySelectorAll(`rect[data-node^="${column}|"]`)).filter((r) =>
        r.getAttribute('aria-label')!.startsWith(`${name} (`)
      );
      if (found.length !== 1) {
        throw new Error(`${found.length} nodes ${name} in column ${column}`);
      }
      const label = labelOf(diagram, found[0].getAttribute('data-node')!);
      if (!label) {
        throw new Error(`no label for ${name} in column ${column}`);
      }
      return { name, node: edges(found[0].getBoundingClientRect()), label: edges(label.getBoundingClientRect()) };
    }),
  };
}
