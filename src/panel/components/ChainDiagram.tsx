// SPDX-License-Identifier: Apache-2.0
import React, {
  forwardRef,
  memo,
  useCallback,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type KeyboardEvent,
  type PointerEvent,
} from 'react';
import type { GrafanaTheme2 } from '@grafana/data';
import { useStyles2, useTheme2 } from '@grafana/ui';
import { css, cx } from '@emotion/css';

import { categoryCssColor, categoryName } from '../../common/categories';
import { formatCount, formatSeconds } from '../../common/format';
import { TEST_IDS } from '../../common/testIds';
import { chainLinkIds, type Graph, type GraphLink, type GraphNode, type Weight } from '../model/graph';
import { layoutGraph, type NodeBox } from '../model/layout';
import { LABEL_FONT, labelPlace, linksMarkup, MIN_LABEL_HEIGHT, nodesMarkup } from './diagramMarkup';

export interface Selection {
  linkId?: string;
  nodeId?: string;
}

interface Props {
  graph: Graph;
  width: number;
  height: number;
  weight: Weight;
  selection: Selection;
  onSelect: (selection: Selection) => void;
}

export function linkLabel(link: GraphLink, source: GraphNode, target: GraphNode): string {
  const what = link.activity ? `${categoryName(link.category)}, ${link.activity}` : categoryName(link.category);
  return `${source.title} woke ${target.title}: ${what}; ${formatSeconds(link.offcpu)} off CPU, ${formatCount(link.count)} wakeups`;
}

export function nodeLabel(node: GraphNode): string {
  return `${node.title} (${node.subtitle}): ${formatSeconds(node.offcpu)} off CPU, ${formatCount(node.count)} wakeups`;
}

/** The links of the chain under the pointer or keyboard focus. */
const HOVER_MARK = 'wf-chain';

/** One layer of markup (diagramMarkup.ts): React sets it when the markup changes, never on a selection or a hover. */
const MarkupLayer = memo(
  forwardRef<SVGGElement, { className: string; markup: string }>(function MarkupLayer({ className, markup }, ref) {
    return <g ref={ref} className={className} dangerouslySetInnerHTML={{ __html: markup }} />;
  })
);

/** Marks the selected and related elements of a layer: a few class and aria-pressed changes, before paint. */
function useMarks(
  layer: React.RefObject<SVGGElement | null>,
  attribute: 'data-link' | 'data-node',
  markup: string,
  marks: Map<string, string>
) {
  const index = useMemo(() => ({ markup, byId: new Map<string, Element>() }), [markup]);
  useLayoutEffect(() => {
    const g = layer.current;
    if (!g) {
      return;
    }
    if (index.byId.size === 0) {
      g.querySelectorAll(`[${attribute}]`).forEach((el) => index.byId.set(el.getAttribute(attribute)!, el));
    }
    const marked: Array<[Element, string]> = [];
    for (const [id, mark] of marks) {
      const el = index.byId.get(id);
      if (el) {
        // A node's class sits on its <g>, with its label; a link's on the path itself.
        const target = attribute === 'data-node' ? el.parentElement! : el;
        target.classList.add(mark);
        if (mark !== HOVER_MARK) {
          el.setAttribute('aria-pressed', String(mark === 'wf-selected'));
        }
        marked.push([el, mark]);
      }
    }
    return () => {
      for (const [el, mark] of marked) {
        const target = attribute === 'data-node' ? el.parentElement! : el;
        target.classList.remove(mark);
        if (mark !== HOVER_MARK) {
          el.setAttribute('aria-pressed', 'false');
        }
      }
    };
  }, [layer, attribute, index, marks]);
}

interface Hover {
  text: string;
  x: number;
  y: number;
}

/**
 * Waker → target chains as columns of nodes joined by links as thick as
 * their weight and coloured by category. Every link and node is focusable
 * (Tab), Enter or Space selects it, Escape clears; hovering or focusing one
 * shows its tooltip. Events are handled once at the SVG (delegation), so
 * thousands of links cost no thousands of handlers.
 */
export function ChainDiagram({ graph, width, height, weight, selection, onSelect }: Props) {
  const theme = useTheme2();
  const styles = useStyles2(getStyles);
  const [hover, setHover] = useState<Hover>();
  const [hoverLink, setHoverLink] = useState<string>();
  const layout = useMemo(() => layoutGraph(graph, width, Math.max(1, height - 8)), [graph, width, height]);
  const nodeById = useMemo(() => new Map(graph.nodes.map((n) => [n.id, n])), [graph]);
  const linkById = useMemo(() => new Map(layout.links.map((l) => [l.link.id, l])), [layout]);
  const labels = useMemo(
    () =>
      new Map<string, string>([
        ...graph.links.map((l) => [l.id, linkLabel(l, nodeById.get(l.source)!, nodeById.get(l.target)!)] as const),
        ...graph.nodes.map((n) => [n.id, nodeLabel(n)] as const),
      ]),
    [graph, nodeById]
  );
  const colors = useMemo(() => {
    const m = new Map<string, string>();
    for (const l of graph.links) {
      if (!m.has(l.category)) {
        m.set(l.category, categoryCssColor(theme, l.category));
      }
    }
    return m;
  }, [graph, theme]);

  const links = useMemo(
    () =>
      linksMarkup(
        layout,
        (c) => colors.get(c) ?? categoryCssColor(theme, c),
        (id) => labels.get(id) ?? ''
      ),
    [layout, colors, labels, theme]
  );
  const nodes = useMemo(() => nodesMarkup(layout, (id) => labels.get(id) ?? ''), [layout, labels]);

  const { linkId, nodeId } = selection;
  const linkMarks = useMemo(() => {
    const m = new Map<string, string>();
    if (linkId) {
      for (const id of chainLinkIds(graph, linkId)) {
        m.set(id, 'wf-related');
      }
      m.set(linkId, 'wf-selected');
    }
    if (nodeId) {
      for (const l of graph.links) {
        if (l.source === nodeId || l.target === nodeId) {
          m.set(l.id, 'wf-related');
        }
      }
    }
    return m;
  }, [graph, linkId, nodeId]);
  const hoverMarks = useMemo(
    () => new Map(hoverLink ? chainLinkIds(graph, hoverLink).map((id) => [id, HOVER_MARK] as const) : []),
    [graph, hoverLink]
  );
  const nodeMarks = useMemo(() => new Map(nodeId ? [[nodeId, 'wf-selected']] : []), [nodeId]);
  // The ends of the selection are named even when too short for a label (the details pane shrinks the diagram).
  const selectedEnds = useMemo(() => {
    const link = linkId ? linkById.get(linkId)?.link : undefined;
    const ids = link ? [link.source, link.target] : nodeId ? [nodeId] : [];
    return ids
      .map((id) => layout.byNode.get(id))
      .filter((box): box is NodeBox => box !== undefined && box.height < MIN_LABEL_HEIGHT)
      .map((box) => ({ id: box.node.id, ...labelPlace(box, layout) }));
  }, [layout, linkById, linkId, nodeId]);
  const linksLayer = useRef<SVGGElement>(null);
  const nodesLayer = useRef<SVGGElement>(null);
  useMarks(linksLayer, 'data-link', links, linkMarks);
  useMarks(linksLayer, 'data-link', links, hoverMarks);
  useMarks(nodesLayer, 'data-node', nodes, nodeMarks);

  // A new layout (the details pane opening shrinks the diagram) replaces the elements: keep keyboard focus
  // on the link or node that had it, so Enter then Tab goes on from there.
  const focused = useRef<{ link?: string; node?: string }>({});
  useLayoutEffect(() => {
    const { link, node } = focused.current;
    const svg = linksLayer.current?.ownerSVGElement;
    if (!svg || (!link && !node) || svg.contains(document.activeElement)) {
      return;
    }
    const layer = link ? linksLayer.current : nodesLayer.current;
    const attribute = link ? 'data-link' : 'data-node';
    const id = link ?? node;
    const el = Array.from(layer?.querySelectorAll(`[${attribute}]`) ?? []).find(
      (e) => e.getAttribute(attribute) === id
    );
    (el as SVGElement | undefined)?.focus({ preventScroll: true });
  }, [links, nodes]);

  const targetOf = (el: EventTarget): { link?: string; node?: string } => {
    const d = (el as SVGElement).dataset ?? {};
    return { link: d.link, node: d.node };
  };

  const select = useCallback(
    (t: { link?: string; node?: string }) => {
      if (t.link) {
        onSelect(selection.linkId === t.link ? {} : { linkId: t.link });
      } else if (t.node) {
        onSelect(selection.nodeId === t.node ? {} : { nodeId: t.node });
      }
    },
    [onSelect, selection]
  );

  const onKeyDown = (event: KeyboardEvent<SVGSVGElement>) => {
    if (event.key === 'Enter' || event.key === ' ') {
      const t = targetOf(event.target);
      if (t.link || t.node) {
        event.preventDefault();
        select(t);
      }
    } else if (event.key === 'Escape') {
      onSelect({});
    }
  };

  const showTooltip = (el: EventTarget, x: number, y: number) => {
    const t = targetOf(el);
    const id = t.link ?? t.node;
    setHover(id ? { text: labels.get(id) ?? '', x, y } : undefined);
    setHoverLink(t.link);
  };

  const onPointerMove = (event: PointerEvent<SVGSVGElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    showTooltip(event.target, event.clientX - box.left, event.clientY - box.top);
  };

  const onFocus = (event: React.FocusEvent<SVGSVGElement>) => {
    const t = targetOf(event.target);
    focused.current = t;
    const box = t.link ? linkById.get(t.link) : undefined;
    const node = t.node ? layout.byNode.get(t.node) : undefined;
    showTooltip(event.target, box?.midX ?? node?.x ?? 0, box?.midY ?? node?.y ?? 0);
  };

  const weightName = weight === 'count' ? 'wakeups' : 'off-CPU time';
  return (
    <div className={styles.wrap} style={{ width, height }}>
      <svg
        width={width}
        height={height}
        role="group"
        aria-label={`Wake chains: ${graph.links.length} links weighted by ${weightName}; Tab to a link or node, Enter to select`}
        data-testid={TEST_IDS.panel.diagram}
        className={cx(styles.svg, (selection.linkId || selection.nodeId) && 'wf-has-selection')}
        onClick={(event) => select(targetOf(event.target))}
        onKeyDown={onKeyDown}
        onPointerMove={onPointerMove}
        onPointerLeave={() => {
          setHover(undefined);
          setHoverLink(undefined);
        }}
        onFocus={onFocus}
        onBlur={(event) => {
          setHover(undefined);
          setHoverLink(undefined);
          // Focus leaving the diagram for good (not an element replaced by a new layout, which blurs to nowhere).
          if (event.relatedTarget && !event.currentTarget.contains(event.relatedTarget as Node)) {
            focused.current = {};
          }
        }}
      >
        <g transform="translate(0,4)">
          <MarkupLayer ref={linksLayer} className="wf-links" markup={links} />
          <MarkupLayer ref={nodesLayer} className="wf-nodes" markup={nodes} />
          <g className="wf-selected-labels" aria-hidden="true">
            {selectedEnds.map((end) => (
              <text key={end.id} x={end.x} y={end.y} dy="0.35em" textAnchor={end.anchor}>
                {end.title}
              </text>
            ))}
          </g>
        </g>
      </svg>
      {hover && (
        <div
          role="tooltip"
          className={styles.tooltip}
          style={{ left: Math.min(hover.x + 12, Math.max(0, width - 280)), top: hover.y + 12 }}
          data-testid={TEST_IDS.panel.tooltip}
        >
          {hover.text}
        </div>
      )}
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrap: css({ position: 'relative', overflow: 'hidden' }),
  svg: css({
    display: 'block',
    '.wf-link': { strokeOpacity: 0.55, cursor: 'pointer', outline: 'none' },
    '.wf-link:hover, .wf-link:focus-visible, .wf-link.wf-chain': { strokeOpacity: 0.85 },
    '.wf-link:focus-visible': { stroke: theme.colors.primary.main },
    '&.wf-has-selection .wf-link': { strokeOpacity: 0.15 },
    '&.wf-has-selection .wf-link.wf-selected, &.wf-has-selection .wf-link.wf-related, &.wf-has-selection .wf-link.wf-chain':
      { strokeOpacity: 0.9 },
    '.wf-node rect': {
      fill: theme.colors.text.secondary,
      cursor: 'pointer',
      outline: 'none',
    },
    '.wf-node.wf-other rect': { fill: theme.colors.text.disabled },
    '.wf-node rect:focus-visible, .wf-node.wf-selected rect': {
      fill: theme.colors.primary.main,
      stroke: theme.colors.primary.border,
      strokeWidth: 2,
    },
    text: {
      fill: theme.colors.text.primary,
      fontSize: LABEL_FONT,
      pointerEvents: 'none',
      paintOrder: 'stroke',
      stroke: theme.colors.background.primary,
      strokeWidth: 3,
      strokeLinejoin: 'round',
    },
    '.wf-subtitle': { fill: theme.colors.text.secondary, fontSize: LABEL_FONT - 1 },
    '.wf-selected-labels text': { fontWeight: theme.typography.fontWeightMedium },
  }),
  tooltip: css({
    position: 'absolute',
    pointerEvents: 'none',
    maxWidth: 280,
    padding: theme.spacing(0.5, 1),
    background: theme.colors.background.secondary,
    border: `1px solid ${theme.colors.border.medium}`,
    borderRadius: theme.shape.radius.default,
    boxShadow: theme.shadows.z2,
    color: theme.colors.text.primary,
    fontSize: theme.typography.bodySmall.fontSize,
    zIndex: 1,
  }),
});
