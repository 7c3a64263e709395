// SPDX-License-Identifier: Apache-2.0
import React, { useMemo, useState } from 'react';
import { LoadingState, type GrafanaTheme2, type PanelProps } from '@grafana/data';
import { Icon, useStyles2 } from '@grafana/ui';
import { css } from '@emotion/css';

import { TEST_IDS } from '../../common/testIds';
import { computeBreakdown } from '../model/breakdown';
import { NotChainsError, readChains, type ChainsData } from '../model/chains';
import { buildGraph, filterRows } from '../model/graph';
import { normalizeOptions, type ChainsPanelOptions } from '../options';
import { Breakdown, type ChainFilter } from './Breakdown';
import { ChainDetails } from './ChainDetails';
import { ChainDiagram, type Selection } from './ChainDiagram';

type Props = PanelProps<ChainsPanelOptions>;

/** Below this width the breakdown goes under the chains instead of beside them. */
const SIDE_BY_SIDE_MIN_WIDTH = 560;
const NOTICES_HEIGHT = 32;
const NOTICES_GAP = 4;

function readOrError(series: Props['data']['series']): { chains?: ChainsData; problem?: string } {
  try {
    return { chains: readChains(series) };
  } catch (err) {
    if (err instanceof NotChainsError) {
      return { problem: err.message };
    }
    throw err;
  }
}

/**
 * The wake-chains panel: who woke Envoy's threads, how much off-CPU time
 * each waker → target chain holds, the category breakdown beside it, and the
 * stacks of a selected chain. Empty, partial (agents that did not answer) and
 * error states are said in words.
 */
export function ChainsPanel({ data, options: stored, width, height }: Props) {
  const styles = useStyles2(getStyles);
  const options = normalizeOptions(stored);
  const [selection, setSelection] = useState<Selection>({});
  const [filter, setFilter] = useState<ChainFilter>({ categories: [], activities: [] });

  const { chains, problem } = useMemo(() => readOrError(data.series), [data.series]);
  const rows = chains?.rows;
  const breakdown = useMemo(() => (rows ? computeBreakdown(rows) : undefined), [rows]);
  const shownRows = useMemo(() => (rows ? filterRows(rows, filter) : []), [rows, filter]);
  const graph = useMemo(
    () =>
      buildGraph(shownRows, {
        weight: options.weight,
        maxLinks: options.maxLinks,
        wakerIdentity: options.wakerIdentity,
      }),
    [shownRows, options.weight, options.maxLinks, options.wakerIdentity]
  );

  const errorText = data.errors
    ?.map((e) => e.message)
    .filter(Boolean)
    .join('; ');
  if (problem || (data.state === LoadingState.Error && !rows?.length)) {
    return (
      <div className={styles.state} role="alert" data-testid={TEST_IDS.panel.error}>
        <Icon name="exclamation-triangle" size="xl" />
        <p>
          <strong>The chains could not be shown.</strong> {problem ?? errorText ?? 'The query failed.'}
        </p>
      </div>
    );
  }

  const notices = chains?.notices ?? [];
  const noticeText = `Partial answer: ${notices.map((n) => n.text).join('; ')}`;
  // One line of fixed height, so the diagram below can be given an exact size; a longer text is cut
  // visually only (the whole of it is in the DOM for screen readers, and in the tooltip).
  const noticesBox = notices.length > 0 && (
    <div className={styles.notices} role="status" title={noticeText} data-testid={TEST_IDS.panel.notices}>
      <Icon name="exclamation-triangle" className={styles.noticeIcon} />
      <span className={styles.noticeText}>{noticeText}</span>
    </div>
  );

  if (!rows || rows.length === 0) {
    return (
      <div className={styles.column} style={{ width, height }}>
        {noticesBox}
        <div className={styles.state} data-testid={TEST_IDS.panel.empty}>
          <Icon name="info-circle" size="xl" />
          <p>
            <strong>No wake chains in this time range.</strong> The agents recorded no off-CPU interval of a traced
            thread matching the query&apos;s filters. Widen the time range or the filters, check that the agents trace
            Envoy (the Targets query lists what they trace), or make sure this panel uses a Chains query of the Wakeflow
            data source.
          </p>
        </div>
      </div>
    );
  }

  const selectedLink = selection.linkId ? graph.links.find((l) => l.id === selection.linkId) : undefined;
  const selectedNode = selection.nodeId ? graph.nodes.find((n) => n.id === selection.nodeId) : undefined;
  const hasDetails = Boolean(selectedLink || selectedNode);

  const sideBySide = options.showBreakdown && width >= SIDE_BY_SIDE_MIN_WIDTH;
  const bodyHeight = height - (notices.length > 0 ? NOTICES_HEIGHT + NOTICES_GAP : 0);
  const breakdownWidth = sideBySide ? Math.min(options.breakdownWidth, Math.floor(width * 0.45)) : 0;
  const breakdownHeight = options.showBreakdown && !sideBySide ? Math.min(180, Math.floor(bodyHeight * 0.35)) : 0;
  const diagramWidth = width - breakdownWidth;
  const mainHeight = bodyHeight - breakdownHeight;
  const breakdownView = options.showBreakdown && breakdown && (
    <div style={sideBySide ? { width: breakdownWidth, height: bodyHeight } : { height: breakdownHeight }}>
      <Breakdown
        breakdown={breakdown}
        filter={filter}
        showActivities={options.showActivities}
        chains={rows.length}
        onFilterChange={(next) => {
          setFilter(next);
          setSelection({});
        }}
      />
    </div>
  );

  return (
    <div className={styles.column} style={{ width, height }} data-testid={TEST_IDS.panel.root}>
      {noticesBox}
      <div className={sideBySide ? styles.row : styles.column}>
        <div className={styles.column} style={{ width: diagramWidth, height: mainHeight }}>
          {graph.links.length > 0 ? (
            <ChainDiagram
              graph={graph}
              width={diagramWidth}
              height={mainHeight}
              details={hasDetails}
              weight={options.weight}
              selection={selection}
              onSelect={setSelection}
            />
          ) : (
            <div className={styles.state} style={{ height: mainHeight }}>
              <p>
                No chain of the selected categories or activities: click them again in the breakdown to clear the
                filter.
              </p>
            </div>
          )}
          {/*
            The details pane takes what the diagram's view above it leaves (the view is as tall as the selected
            chain needs, model/selectionView.ts); the diagram keeps the layout of the whole height and scrolls in
            its view, so opening the pane changes no geometry (no new layout, no new markup).
          */}
          {hasDetails && (
            <div className={styles.details}>
              <ChainDetails
                link={selectedLink}
                node={selectedNode}
                source={selectedLink && graph.nodes.find((n) => n.id === selectedLink.source)}
                target={selectedLink && graph.nodes.find((n) => n.id === selectedLink.target)}
                onClose={() => setSelection({})}
              />
            </div>
          )}
        </div>
        {breakdownView}
      </div>
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  column: css({ display: 'flex', flexDirection: 'column', overflow: 'hidden' }),
  row: css({ display: 'flex', flexDirection: 'row', overflow: 'hidden' }),
  // The height the diagram's view leaves, with its own scroll.
  details: css({ flex: '1 1 0', minHeight: 0, overflow: 'auto' }),
  notices: css({
    flex: `0 0 ${NOTICES_HEIGHT}px`,
    height: NOTICES_HEIGHT,
    boxSizing: 'border-box',
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(1),
    padding: theme.spacing(0, 1),
    marginBottom: NOTICES_GAP,
    background: theme.colors.warning.transparent,
    borderLeft: `3px solid ${theme.colors.warning.border}`,
    borderRadius: theme.shape.radius.default,
    color: theme.colors.text.primary,
  }),
  noticeIcon: css({ flexShrink: 0, color: theme.colors.warning.text }),
  noticeText: css({ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }),
  state: css({
    display: 'flex',
    flexDirection: 'column',
    alignItems: 'center',
    justifyContent: 'center',
    gap: theme.spacing(1),
    height: '100%',
    padding: theme.spacing(2),
    textAlign: 'center',
    color: theme.colors.text.secondary,
    p: { maxWidth: 520, margin: 0 },
  }),
});
