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
import { chainLinkIds, nodeName, type Graph, type GraphLink, type GraphNode, type Weight } from '../model/graph';
import { layoutGraph, type LinkPath } from '../model/layout';
import { placeLabels, selectedLabel } from '../model/labels';
import { detailsScrollTop, detailsViewHeight, selectionExtent } from '../model/selectionView';
import { LABEL_FONT, labelMarkup, linksMarkup, nodesMarkup } from './diagramMarkup';

export interface Selection {
  linkId?: string;
  nodeId?: string;
}

interface Props {
  graph: Graph;
  width: number;
  /** The height the diagram is laid out in. */
  height: number;
  /**
   * The selection's details are open below: the diagram then shows in a shorter view that scrolls, sized and
   * scrolled to show the selected chain whole (model/selectionView.ts), rather than being laid out again, so
   * opening the pane costs no new layout and the nodes keep their size and labels.
   */
  details?: boolean;
  weight: Weight;
  selection: Selection;
  onSelect: (selection: Selection) => void;
}

export function linkLabel(link: GraphLink, source: GraphNode, target: GraphNode): string {
  const what = link.activity ? `${categoryName(link.category)}, ${link.activity}` : categoryName(link.category);
  return `${nodeName(source)} woke ${nodeName(target)}: ${what}; ${formatSeconds(link.offcpu)} off CPU, ${formatCount(link.count)} wakeups`;
}

export function nodeLabel(node: GraphNode): string {
  // What tells it apart is often in the subtitle already (the pod); a thread id is not.
  const about = [node.subtitle, ...node.qualifiers.filter((q) => !node.subtitle.includes(q))];
  const described = about.filter(Boolean).join(' · ');
  return `${node.title} (${described}): ${formatSeconds(node.offcpu)} off CPU, ${formatCount(node.count)} wakeups`;
}

/** The layout's box starts this far below the top of the diagram (its svg layers are translated by it). */
const LAYOUT_TOP = 4;

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
 * shows its tooltip. Events are handled once, at the layers' container
 * (delegation), so thousands of links cost no thousands of handlers.
 */
export function ChainDiagram({ graph, width, height, details = false, weight, selection, onSelect }: Props) {
  const theme = useTheme2();
  const styles = useStyles2(getStyles);
  const [hover, setHover] = useState<Hover>();
  const [hoverLink, setHoverLink] = useState<string>();
  const layoutHeight = Math.max(1, height - 2 * LAYOUT_TOP);
  const layout = useMemo(() => layoutGraph(graph, width, layoutHeight), [graph, width, layoutHeight]);
  const labelBoxes = useMemo(() => placeLabels(layout, layoutHeight), [layout, layoutHeight]);
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
  const nodes = useMemo(
    () => nodesMarkup(layout, labelBoxes, (id) => labels.get(id) ?? ''),
    [layout, labelBoxes, labels]
  );

  const { linkId, nodeId } = selection;
  const chain = useMemo(() => (linkId ? chainLinkIds(graph, linkId) : []), [graph, linkId]);
  const linkMarks = useMemo(() => {
    const m = new Map<string, string>();
    if (linkId) {
      for (const id of chain) {
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
  }, [graph, chain, linkId, nodeId]);
  const hoverMarks = useMemo(
    () => new Map(hoverLink ? chainLinkIds(graph, hoverLink).map((id) => [id, HOVER_MARK] as const) : []),
    [graph, hoverLink]
  );
  const nodeMarks = useMemo(() => new Map(nodeId ? [[nodeId, 'wf-selected']] : []), [nodeId]);
  // The ends of the selection are named even where their column had no line for their labels (more nodes
  // than lines of text fit in its height).
  const selectedEnds = useMemo(() => {
    const link = linkId ? linkById.get(linkId)?.link : undefined;
    const ids = link ? [link.source, link.target] : nodeId ? [nodeId] : [];
    return ids
      .filter((id) => !labelBoxes.has(id))
      .map((id) => layout.byNode.get(id))
      .filter((box) => box !== undefined)
      .map((box) => selectedLabel(box, layout));
  }, [layout, labelBoxes, linkById, linkId, nodeId]);
  // What the view above the details must show: the chain's nodes with their labels, or the selected node.
  const extent = useMemo(() => {
    const ids = new Set<string>(nodeId ? [nodeId] : []);
    for (const id of chain) {
      const l = linkById.get(id)?.link;
      if (l) {
        ids.add(l.source).add(l.target);
      }
    }
    const labelOf = (id: string) => labelBoxes.get(id) ?? selectedEnds.find((e) => e.nodeId === id);
    return selectionExtent(layout, labelOf, ids);
  }, [chain, nodeId, linkById, labelBoxes, selectedEnds, layout]);
  const viewHeight = details ? detailsViewHeight(height, extent) : height;
  const linksLayer = useRef<SVGGElement>(null);
  const nodesLayer = useRef<SVGGElement>(null);
  const view = useRef<HTMLDivElement>(null);
  const group = useRef<HTMLDivElement>(null);
  // Kept from scroll events: reading scrollTop right after the details pane mounts would force a layout.
  const scrolled = useRef(0);
  useMarks(linksLayer, 'data-link', links, linkMarks);
  useMarks(linksLayer, 'data-link', links, hoverMarks);
  useMarks(nodesLayer, 'data-node', nodes, nodeMarks);

  // A new layout (the panel resized, the breakdown's filter) replaces the elements: keep keyboard focus on
  // the link or node that had it, so Enter then Tab goes on from there.
  const focused = useRef<{ link?: string; node?: string }>({});
  useLayoutEffect(() => {
    const { link, node } = focused.current;
    const root = group.current;
    if (!root || (!link && !node) || root.contains(document.activeElement)) {
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

  // In a view shorter than the diagram, bring the whole selection into it when it is not (selectionView.ts).
  useLayoutEffect(() => {
    const box = view.current;
    if (!box || viewHeight >= height) {
      scrolled.current = 0; // the whole diagram shows: nothing to scroll
      return;
    }
    const link = linkId ? linkById.get(linkId) : undefined;
    const node = nodeId ? layout.byNode.get(nodeId) : undefined;
    const focus = link ? link.midY : node ? node.y + node.height / 2 : undefined;
    const top = detailsScrollTop(height, viewHeight, extent, focus, scrolled.current, LAYOUT_TOP);
    if (top !== scrolled.current) {
      box.scrollTop = scrolled.current = top;
    }
  }, [linkId, nodeId, linkById, layout, extent, height, viewHeight]);

  // A link, a node's rect, or a node's label (its text or a line of it: the label stands for its node).
  const targetOf = (el: EventTarget): { link?: string; node?: string } => {
    const d = (el as SVGElement).dataset ?? {};
    const label = d.link || d.node ? undefined : (el as Element).closest?.('[data-label-of]');
    return { link: d.link, node: d.node ?? label?.getAttribute('data-label-of') ?? undefined };
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

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
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

  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    showTooltip(event.target, event.clientX - box.left, event.clientY - box.top);
  };

  const onFocus = (event: React.FocusEvent<HTMLDivElement>) => {
    const t = targetOf(event.target);
    focused.current = t;
    const box = t.link ? linkById.get(t.link) : undefined;
    const node = t.node ? layout.byNode.get(t.node) : undefined;
    showTooltip(event.target, box?.midX ?? node?.x ?? 0, box?.midY ?? node?.y ?? 0);
  };

  const weightName = weight === 'count' ? 'wakeups' : 'off-CPU time';
  const hasSelection = Boolean(linkId || nodeId);
  // The links lit by the selection or the hover, drawn again on the highlight layer.
  const lit = useMemo(() => {
    const ids = new Set([...linkMarks.keys(), ...hoverMarks.keys()]);
    return [...ids].map((id) => linkById.get(id)).filter((l): l is LinkPath => l !== undefined);
  }, [linkMarks, hoverMarks, linkById]);
  return (
    <div
      ref={view}
      className={styles.wrap}
      style={{ width, height: Math.min(height, viewHeight), overflowY: viewHeight < height ? 'auto' : 'hidden' }}
      onScroll={(event) => {
        scrolled.current = event.currentTarget.scrollTop;
      }}
    >
      {/*
        Three stacked layers, so that a selection or a hover repaints only a few paths: the links (its own
        compositing layer: dimming it for a selection is an opacity change the compositor applies, no repaint of
        thousands of strokes), the highlight layer with copies of the lit links, then the nodes and labels.
      */}
      <div
        ref={group}
        role="group"
        aria-label={`Wake chains: ${graph.links.length} links weighted by ${weightName}; Tab to a link or node, Enter to select`}
        data-testid={TEST_IDS.panel.diagram}
        className={cx(styles.layers, hasSelection && 'wf-has-selection')}
        style={{ width, height }}
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
        <svg width={width} height={height} className={cx(styles.layer, styles.links)}>
          <g transform={`translate(0,${LAYOUT_TOP})`}>
            <MarkupLayer ref={linksLayer} className="wf-links" markup={links} />
          </g>
        </svg>
        <svg width={width} height={height} className={cx(styles.layer, styles.passive)} aria-hidden="true">
          <g transform={`translate(0,${LAYOUT_TOP})`} className="wf-lit" data-testid={TEST_IDS.panel.litLinks}>
            {lit.map((l) => (
              <path
                key={l.link.id}
                d={l.d}
                stroke={colors.get(l.link.category) ?? categoryCssColor(theme, l.link.category)}
                strokeWidth={Math.round(l.width * 10) / 10}
                fill="none"
                data-lit={l.link.id}
              />
            ))}
          </g>
        </svg>
        <svg width={width} height={height} className={cx(styles.layer, styles.passive, styles.nodes)}>
          <g transform={`translate(0,${LAYOUT_TOP})`}>
            <MarkupLayer ref={nodesLayer} className="wf-nodes" markup={nodes} />
            <g
              className="wf-selected-labels"
              aria-hidden="true"
              dangerouslySetInnerHTML={{ __html: selectedEnds.map((end) => labelMarkup(end, '')).join('') }}
            />
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
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  // A thin scrollbar when the view is shorter than the diagram; the right labels leave room for it.
  wrap: css({ position: 'relative', flexShrink: 0, overflowX: 'hidden', scrollbarWidth: 'thin' }),
  layers: css({ position: 'relative' }),
  layer: css({ position: 'absolute', left: 0, top: 0, display: 'block' }),
  // Only the rects, labels and links inside answer the pointer; the layers' empty parts let it through.
  passive: css({ pointerEvents: 'none', '.wf-lit path': { strokeOpacity: 0.9 } }),
  links: css({
    // Its own compositing layer: a selection dims it with an opacity change, without repainting it.
    willChange: 'opacity',
    transition: 'opacity 0s',
    '.wf-link': { strokeOpacity: 0.55, cursor: 'pointer', outline: 'none' },
    '.wf-link:focus-visible': { stroke: theme.colors.primary.main, strokeOpacity: 0.85 },
    '.wf-has-selection &': { opacity: 0.27 },
  }),
  nodes: css({
    '.wf-node rect': {
      fill: theme.colors.text.secondary,
      cursor: 'pointer',
      outline: 'none',
      pointerEvents: 'auto',
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
    '.wf-label': { pointerEvents: 'auto', cursor: 'pointer' },
    '.wf-subtitle, .wf-qualifier': { fill: theme.colors.text.secondary, fontSize: LABEL_FONT - 1 },
    // Joins a label moved along its column (thin nodes side by side) to its node.
    '.wf-leader': { stroke: theme.colors.text.secondary, strokeWidth: 1, fill: 'none' },
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
