// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import type { GrafanaTheme2 } from '@grafana/data';
import { ClipboardButton, IconButton, Stack, useStyles2, useTheme2 } from '@grafana/ui';
import { css, cx } from '@emotion/css';

import { categoryCssColor, categoryName } from '../../common/categories';
import { formatCount, formatSeconds } from '../../common/format';
import { TEST_IDS } from '../../common/testIds';
import { linkRow, type ChainRow } from '../model/chains';
import { chainText } from '../../shared/frames';
import { describeDecision } from '../model/explanation';
import { nodeName, type GraphLink, type GraphNode } from '../model/graph';
import { chainFoldedLines, chainStacksText, decisionNote, frameAt, offwaketimeLines } from '../model/stacks';

function Stat({ label, children }: { label: string; children: React.ReactNode }) {
  const styles = useStyles2(getStyles);
  return (
    <div className={styles.stat}>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** The two stacks as offwaketime prints them, deciding frames marked like the hand-annotated captures. */
function StackText({ row }: { row: ChainRow }) {
  const styles = useStyles2(getStyles);
  return (
    // Focusable: a long stack scrolls sideways, and keyboard users must reach it (axe scrollable-region-focusable).
    <pre
      className={styles.stacks}
      data-testid={TEST_IDS.panel.stacks}
      role="region"
      aria-label="Waker stack, then target stack"
      tabIndex={0}
    >
      {offwaketimeLines(row).map((line, i) =>
        line.decided ? (
          <mark key={i} className={styles.decided}>
            {line.text} <span className={styles.note}>{decisionNote(row, line.decided)}</span>
            {'\n'}
          </mark>
        ) : (
          <span key={i} className={cx(line.kind !== 'frame' && styles.structure)}>
            {line.text}
            {'\n'}
          </span>
        )
      )}
    </pre>
  );
}

/** Who a hop is, for a heading: thread, tid, and its process where it is not the thread's own name. */
function hopLabel(row: ChainRow, i: number): string {
  const h = row.hops[i];
  const tid = h.tid !== null ? ` ${h.tid}` : '';
  return `${h.comm || '[unknown]'}${tid}${h.proc && h.proc !== h.comm ? ` (${h.proc})` : ''}`;
}

/**
 * A chain of several hops: the path, then each link's stacks from the first
 * cause to the target, or a sentence where the agent did not sample them.
 */
function ChainLine({ row }: { row: ChainRow }) {
  const styles = useStyles2(getStyles);
  return (
    <p className={styles.category}>
      <strong>Chain</strong>{' '}
      <code>
        {chainText(
          row.hops.map((h) => h.comm || '[unknown]'),
          row.links.map((l) => l.category)
        )}
      </code>
      {row.endedBy && row.endedBy !== 'none' && <span className={styles.muted}> · ended by {row.endedBy}</span>}
    </p>
  );
}

function HopsView({ row }: { row: ChainRow }) {
  const styles = useStyles2(getStyles);
  const theme = useTheme2();
  return (
    <div data-testid={TEST_IDS.panel.hops}>
      {row.links.map((link, i) => {
        const hopRow = linkRow(row, i);
        return (
          <section
            key={i}
            className={styles.hop}
            aria-label={`Hop ${i + 1}: ${hopLabel(row, i)} woke ${hopLabel(row, i + 1)}`}
          >
            <h4 className={styles.hopTitle}>
              <span
                className={styles.swatch}
                style={{ background: categoryCssColor(theme, link.category) }}
                aria-hidden="true"
              />
              Hop {i + 1}: {hopLabel(row, i)} woke {hopLabel(row, i + 1)} · {categoryName(link.category)}{' '}
              <code>{link.category}</code>
              {link.activity && (
                <>
                  {' · '}
                  <code>{link.activity}</code>
                </>
              )}
            </h4>
            {hopRow.wakerStack.length + hopRow.targetStack.length > 0 ? (
              <StackText row={hopRow} />
            ) : (
              <p className={styles.muted}>No stacks sampled for this hop.</p>
            )}
          </section>
        );
      })}
    </div>
  );
}

function ChainView({ row }: { row: ChainRow }) {
  const styles = useStyles2(getStyles);
  const theme = useTheme2();
  const reasons = row.explanation.decisions.map((d) =>
    describeDecision(d, d.output === 'category' ? row.category : row.activity, (ref) => frameAt(row, ref))
  );
  const labels = Object.entries(row.labels);
  // A chain of several hops: the path and each hop's stacks; the numbers are the target's intervals with it.
  const multiHop = row.hops.length > 2;
  return (
    <>
      {multiHop ? (
        <ChainLine row={row} />
      ) : (
        <>
          <p className={styles.category}>
            <span
              className={styles.swatch}
              style={{ background: categoryCssColor(theme, row.category) }}
              aria-hidden="true"
            />
            <strong>{categoryName(row.category)}</strong> <code>{row.category}</code>
            {row.activity && (
              <>
                {' · '}activity <code>{row.activity}</code>
              </>
            )}
          </p>
          {reasons.length > 0 ? (
            <ul className={styles.reasons} aria-label="Why">
              {reasons.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          ) : (
            <p className={styles.muted}>The backend sent no explanation for this chain.</p>
          )}
        </>
      )}
      <div className={styles.columns}>
        <div className={styles.facts}>
          <dl className={styles.stats}>
            <Stat label="Wakeups">{formatCount(row.count)}</Stat>
            <Stat label="Off CPU">{formatSeconds(row.offcpu)}</Stat>
            {!multiHop && <Stat label="Longest">{formatSeconds(row.offcpuMax)}</Stat>}
            <Stat label="Mean">{row.count > 0 ? formatSeconds(row.offcpu / row.count) : '–'}</Stat>
            <Stat label="Run-queue delay">{formatSeconds(row.runq)}</Stat>
            {row.preemptor && <Stat label="Preemptor">{row.preemptor}</Stat>}
            <Stat label="Waker">
              {row.wakerComm || '–'}
              {row.wakerTid !== null ? ` (tid ${row.wakerTid})` : ''} · {row.wakerContext || 'unknown context'}
            </Stat>
            <Stat label="Target">
              {row.targetComm} (tid {row.targetTid ?? '?'}) · {row.targetProc} · {row.targetRole || 'no role'}
            </Stat>
            <Stat label="Node">{row.node || '–'}</Stat>
            {labels.length > 0 && (
              <Stat label="Labels">
                {labels.map(([k, v]) => (
                  <code key={k} className={styles.label}>
                    {k}={v}
                  </code>
                ))}
              </Stat>
            )}
            {row.facts.length > 0 && <Stat label="Facts">{row.facts.join(', ')}</Stat>}
          </dl>
          {row.wakerStack.length + row.targetStack.length === 0 && (
            <p className={styles.muted}>
              No stacks for this chain: the agent samples stacks (an edge&apos;s first interval, then at most once a
              second); its category comes from the cheap facts above.
            </p>
          )}
          <Stack direction="row" gap={1}>
            <ClipboardButton size="sm" variant="secondary" icon="copy" getText={() => chainStacksText(row)}>
              Copy stacks
            </ClipboardButton>
            <ClipboardButton size="sm" variant="secondary" icon="copy" getText={() => chainFoldedLines(row)}>
              Copy folded
            </ClipboardButton>
          </Stack>
        </div>
        {row.hops.length <= 2 && <StackText row={row} />}
      </div>
      {row.hops.length > 2 && <HopsView row={row} />}
    </>
  );
}

interface Props {
  link?: GraphLink;
  node?: GraphNode;
  source?: GraphNode;
  target?: GraphNode;
  onClose: () => void;
}

/** What is selected: a chain with its stacks, an "other" link, or a node's totals. */
export function ChainDetails({ link, node, source, target, onClose }: Props) {
  const styles = useStyles2(getStyles);
  const title = link
    ? `${source ? nodeName(source) : '?'} → ${target ? nodeName(target) : '?'}`
    : node
      ? nodeName(node)
      : '';
  return (
    <section className={styles.details} aria-label={`Selected: ${title}`} data-testid={TEST_IDS.panel.details}>
      <header className={styles.header}>
        <h3 className={styles.title}>{title}</h3>
        <IconButton name="times" tooltip="Clear the selection (Escape)" onClick={onClose} />
      </header>
      {link && !link.other && link.rows.length === 1 && <ChainView row={link.rows[0]} />}
      {link?.other && (
        <p>
          {link.rows.length} smaller chains of {categoryName(link.category)} folded together:{' '}
          {formatSeconds(link.offcpu)} off CPU, {formatCount(link.count)} wakeups. Raise &quot;Links shown&quot; in the
          panel options to draw them one by one.
        </p>
      )}
      {node && (
        <p>
          {node.subtitle}: {formatSeconds(node.offcpu)} off CPU, {formatCount(node.count)} wakeups. Select one of its
          links to read the stacks.
        </p>
      )}
    </section>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  details: css({
    padding: theme.spacing(1),
    borderTop: `1px solid ${theme.colors.border.weak}`,
    overflow: 'auto',
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  header: css({ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }),
  title: css({ fontSize: theme.typography.h5.fontSize, margin: 0 }),
  category: css({ margin: theme.spacing(0.5, 0) }),
  swatch: css({ display: 'inline-block', width: 10, height: 10, borderRadius: 2, marginRight: theme.spacing(0.5) }),
  reasons: css({ margin: theme.spacing(0, 0, 1), paddingLeft: theme.spacing(2) }),
  muted: css({ color: theme.colors.text.secondary }),
  // Facts beside the stacks when there is room, above them when not.
  columns: css({ display: 'flex', flexWrap: 'wrap', gap: theme.spacing(2), alignItems: 'flex-start' }),
  facts: css({ flex: '1 1 280px', minWidth: 0 }),
  stats: css({
    display: 'grid',
    gridTemplateColumns: 'repeat(auto-fill, minmax(130px, 1fr))',
    gap: theme.spacing(0.5, 2),
    margin: theme.spacing(0, 0, 1),
  }),
  stat: css({
    dt: { color: theme.colors.text.secondary },
    dd: { margin: 0, wordBreak: 'break-word' },
  }),
  label: css({ marginRight: theme.spacing(0.5) }),
  hop: css({ marginTop: theme.spacing(1) }),
  hopTitle: css({ fontSize: theme.typography.bodySmall.fontSize, margin: theme.spacing(0, 0, 0.5) }),
  stacks: css({
    flex: '2 1 420px',
    minWidth: 0,
    margin: 0,
    padding: theme.spacing(1),
    fontSize: theme.typography.bodySmall.fontSize,
    lineHeight: 1.4,
    whiteSpace: 'pre',
    overflowX: 'auto',
  }),
  structure: css({ color: theme.colors.text.secondary }),
  decided: css({
    display: 'inline-block',
    minWidth: '100%',
    background: theme.colors.warning.transparent,
    color: theme.colors.text.primary,
    fontWeight: theme.typography.fontWeightBold,
  }),
  note: css({ color: theme.colors.warning.text, fontWeight: theme.typography.fontWeightRegular }),
});
