// SPDX-License-Identifier: Apache-2.0
import React, { memo, useCallback, useMemo, useState, type KeyboardEvent, type PointerEvent } from 'react';
import type { GrafanaTheme2 } from '@grafana/data';
import { useStyles2, useTheme2 } from '@grafana/ui';
import { css, cx } from '@emotion/css';

import { categoryCssColor, categoryName } from '../../common/categories';
import { formatCount, formatSeconds } from '../../common/format';
import { TEST_IDS } from '../../common/testIds';
import type { Graph, GraphLink, GraphNode, Weight } from '../model/graph';
import { layoutGraph, NODE_WIDTH, type LinkPath, type NodeBox } from '../model/layout';

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

const LABEL_FONT = 12;
/** A label needs this much height to be drawn; smaller nodes keep their name in the tooltip and aria-label. */
const MIN_LABEL_HEIGHT = 12;

export function linkLabel(link: GraphLink, source: GraphNode, target: GraphNode): string {
  const what = link.activity ? `${categoryName(link.category)}, ${link.activity}` : categoryName(link.category);
  return `${source.title} woke ${target.title}: ${what}; ${formatSeconds(link.offcpu)} off CPU, ${formatCount(link.count)} wakeups`;
}

export function nodeLabel(node: GraphNode): string {
  return `${node.title} (${node.subtitle}): ${formatSeconds(node.offcpu)} off CPU, ${formatCount(node.count)} wakeups`;
}

function truncate(text: string, px: number): string {
  const fits = Math.max(3, Math.floor(px / (LABEL_FONT * 0.6)));
  return text.length <= fits ? text : `${text.slice(0, fits - 1)}…`;
}

interface LinkProps {
  path: LinkPath;
  color: string;
  label: string;
  selected: boolean;
  related: boolean;
}

/** Memoised: a new selection re-renders the links it changes, not all 2,000. */
const Link = memo(function Link({ path, color, label, selected, related }: LinkProps) {
  return (
    <path
      d={path.d}
      stroke={color}
      strokeWidth={path.width}
      fill="none"
      tabIndex={0}
      role="button"
      aria-label={label}
      aria-pressed={selected}
      data-link={path.link.id}
      data-testid={TEST_IDS.panel.link(path.link.id)}
      className={cx('wf-link', selected && 'wf-selected', related && 'wf-related')}
    />
  );
});

interface NodeProps {
  box: NodeBox;
  label: string;
  selected: boolean;
  labelSide: 'left' | 'right';
  labelRoom: number;
}

const Node = memo(function Node({ box, label, selected, labelSide, labelRoom }: NodeProps) {
  const { node } = box;
  const showLabel = box.height >= MIN_LABEL_HEIGHT;
  const x = labelSide === 'left' ? box.x - 6 : box.x + NODE_WIDTH + 6;
  const cy = box.y + box.height / 2;
  return (
    <g className={cx('wf-node', selected && 'wf-selected', node.other && 'wf-other')}>
      <rect
        x={box.x}
        y={box.y}
        width={NODE_WIDTH}
        height={box.height}
        rx={2}
        tabIndex={0}
        role="button"
        aria-label={label}
        aria-pressed={selected}
        data-node={node.id}
        data-testid={TEST_IDS.panel.node(node.id)}
      />
      {showLabel && (
        <text x={x} y={cy} dy="0.35em" textAnchor={labelSide === 'left' ? 'end' : 'start'} aria-hidden="true">
          {truncate(node.title, labelRoom)}
          {box.height >= MIN_LABEL_HEIGHT * 2.4 && (
            <tspan x={x} dy="1.25em" className="wf-subtitle">
              {truncate(node.subtitle, labelRoom)}
            </tspan>
          )}
        </text>
      )}
    </g>
  );
});

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
  const layout = useMemo(() => layoutGraph(graph, width, Math.max(1, height - 8)), [graph, width, height]);
  const nodeById = useMemo(() => new Map(graph.nodes.map((n) => [n.id, n])), [graph]);
  const linkById = useMemo(() => new Map(layout.links.map((l) => [l.link.id, l])), [layout]);
  const labels = useMemo(
    () =>
      new Map<string, string>([
        ...layout.links.map(
          (l) => [l.link.id, linkLabel(l.link, nodeById.get(l.link.source)!, nodeById.get(l.link.target)!)] as const
        ),
        ...layout.nodes.map((b) => [b.node.id, nodeLabel(b.node)] as const),
      ]),
    [layout, nodeById]
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

  const selectedNode = selection.nodeId;
  const related = useMemo(() => {
    const set = new Set<string>();
    if (selectedNode) {
      for (const l of graph.links) {
        if (l.source === selectedNode || l.target === selectedNode) {
          set.add(l.id);
        }
      }
    }
    return set;
  }, [graph, selectedNode]);

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
  };

  const onPointerMove = (event: PointerEvent<SVGSVGElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    showTooltip(event.target, event.clientX - box.left, event.clientY - box.top);
  };

  const onFocus = (event: React.FocusEvent<SVGSVGElement>) => {
    const t = targetOf(event.target);
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
        onPointerLeave={() => setHover(undefined)}
        onFocus={onFocus}
        onBlur={() => setHover(undefined)}
      >
        <g transform="translate(0,4)">
          <g className="wf-links">
            {layout.links.map((path) => (
              <Link
                key={path.link.id}
                path={path}
                color={colors.get(path.link.category)!}
                label={labels.get(path.link.id)!}
                selected={selection.linkId === path.link.id}
                related={related.has(path.link.id)}
              />
            ))}
          </g>
          <g className="wf-nodes">
            {layout.nodes.map((box) => (
              <Node
                key={box.node.id}
                box={box}
                label={labels.get(box.node.id)!}
                selected={selectedNode === box.node.id}
                labelSide={box.node.column === 0 ? 'left' : 'right'}
                labelRoom={layout.labelWidth - 10}
              />
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
    '.wf-link:hover, .wf-link:focus-visible': { strokeOpacity: 0.85 },
    '.wf-link:focus-visible': { stroke: theme.colors.primary.main },
    '&.wf-has-selection .wf-link': { strokeOpacity: 0.15 },
    '&.wf-has-selection .wf-link.wf-selected, &.wf-has-selection .wf-link.wf-related': { strokeOpacity: 0.9 },
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
