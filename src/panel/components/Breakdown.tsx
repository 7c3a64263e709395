// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import type { GrafanaTheme2 } from '@grafana/data';
import { Button, useStyles2, useTheme2 } from '@grafana/ui';
import { css, cx } from '@emotion/css';

import { categoryCssColor, categoryName, isPreemptCategory } from '../../common/categories';
import { formatSeconds, formatShare } from '../../common/format';
import { TEST_IDS } from '../../common/testIds';
import type { Breakdown as BreakdownModel, Share } from '../model/breakdown';
import { NO_ACTIVITY_KEY } from '../model/graph';

export interface ChainFilter {
  categories: string[];
  activities: string[];
}

interface Props {
  breakdown: BreakdownModel;
  filter: ChainFilter;
  showActivities: boolean;
  onFilterChange: (filter: ChainFilter) => void;
  /** How many chains the shares are of, for the caption. */
  chains: number;
}

const toggle = (list: string[], key: string) => (list.includes(key) ? list.filter((k) => k !== key) : [...list, key]);

function ShareRow({
  share,
  label,
  color,
  pressed,
  emphasis,
  onClick,
}: {
  share: Share;
  label: string;
  color: string;
  pressed: boolean;
  emphasis: boolean;
  onClick: () => void;
}) {
  const styles = useStyles2(getStyles);
  return (
    <li>
      <button
        type="button"
        className={cx(styles.row, pressed && styles.pressed, emphasis && styles.emphasis)}
        aria-pressed={pressed}
        title={`${label} (${share.key}): ${formatSeconds(share.offcpu)} off CPU, ${Math.round(share.count)} wakeups. Click to show only these chains.`}
        data-testid={TEST_IDS.panel.breakdownRow(share.key)}
        onClick={onClick}
      >
        <span className={styles.swatch} style={{ background: color }} aria-hidden="true" />
        <span className={styles.name}>{label}</span>
        <span className={styles.figures}>
          {formatShare(share.offcpuShare)}
          <span className={styles.secondary}> · {formatShare(share.countShare)}</span>
        </span>
        <span className={styles.bar} aria-hidden="true">
          <span style={{ width: `${Math.max(0.5, share.offcpuShare * 100)}%`, background: color }} />
        </span>
      </button>
    </li>
  );
}

/**
 * Where the off-CPU time and the wakeups go, per category (the legend of the
 * chains: same colours) and per activity. A click filters the chains to
 * that category or activity; the preempted share heads the list.
 */
export function Breakdown({ breakdown, filter, showActivities, onFilterChange, chains }: Props) {
  const theme = useTheme2();
  const styles = useStyles2(getStyles);
  const { preempted } = breakdown;
  const filtered = filter.categories.length + filter.activities.length > 0;
  return (
    <section className={styles.section} aria-label="Category breakdown" data-testid={TEST_IDS.panel.breakdown}>
      <p
        className={cx(styles.preempted, preempted.offcpuShare > 0 && styles.preemptedHigh)}
        data-testid={TEST_IDS.panel.preemptedShare}
      >
        <strong>Preempted: {formatShare(preempted.offcpuShare)}</strong> of off-CPU time,{' '}
        {formatShare(preempted.countShare)} of wakeups
      </p>
      <h3 className={styles.heading}>
        By category <span className={styles.secondary}>off-CPU · wakeups</span>
      </h3>
      <ul className={styles.list}>
        {breakdown.categories.map((share) => (
          <ShareRow
            key={share.key}
            share={share}
            label={categoryName(share.key)}
            color={categoryCssColor(theme, share.key)}
            pressed={filter.categories.includes(share.key)}
            emphasis={isPreemptCategory(share.key)}
            onClick={() => onFilterChange({ ...filter, categories: toggle(filter.categories, share.key) })}
          />
        ))}
      </ul>
      {showActivities && (
        <>
          <h3 className={styles.heading}>By activity</h3>
          <ul className={styles.list}>
            {breakdown.activities.map((share) => (
              <ShareRow
                key={share.key}
                share={share}
                label={share.key === NO_ACTIVITY_KEY ? 'no activity' : share.key}
                color={theme.colors.text.secondary}
                pressed={filter.activities.includes(share.key)}
                emphasis={false}
                onClick={() => onFilterChange({ ...filter, activities: toggle(filter.activities, share.key) })}
              />
            ))}
          </ul>
        </>
      )}
      <p className={styles.caption}>Shares of the {chains} chains of this panel&apos;s query.</p>
      {filtered && (
        <Button
          size="sm"
          variant="secondary"
          icon="times"
          onClick={() => onFilterChange({ categories: [], activities: [] })}
        >
          Show all chains
        </Button>
      )}
    </section>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  section: css({ padding: theme.spacing(0, 1), overflowY: 'auto', height: '100%' }),
  preempted: css({ margin: theme.spacing(0, 0, 1), color: theme.colors.text.secondary }),
  preemptedHigh: css({
    color: theme.colors.error.text,
    borderLeft: `3px solid ${theme.colors.error.main}`,
    paddingLeft: theme.spacing(1),
  }),
  heading: css({
    fontSize: theme.typography.bodySmall.fontSize,
    fontWeight: theme.typography.fontWeightMedium,
    margin: theme.spacing(1, 0, 0.5),
  }),
  list: css({ listStyle: 'none', margin: 0, padding: 0 }),
  row: css({
    display: 'grid',
    gridTemplateColumns: '10px 1fr auto',
    gridTemplateRows: 'auto 4px',
    columnGap: theme.spacing(1),
    alignItems: 'center',
    width: '100%',
    padding: theme.spacing(0.25, 0.5),
    background: 'none',
    border: '1px solid transparent',
    borderRadius: theme.shape.radius.default,
    color: theme.colors.text.primary,
    fontSize: theme.typography.bodySmall.fontSize,
    textAlign: 'left',
    cursor: 'pointer',
    '&:hover': { background: theme.colors.action.hover },
    '&:focus-visible': { outline: `2px solid ${theme.colors.primary.main}` },
  }),
  pressed: css({ borderColor: theme.colors.primary.border, background: theme.colors.action.selected }),
  emphasis: css({ fontWeight: theme.typography.fontWeightBold }),
  swatch: css({ width: 10, height: 10, borderRadius: 2, gridRow: '1 / span 2' }),
  name: css({ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }),
  figures: css({ whiteSpace: 'nowrap' }),
  secondary: css({ color: theme.colors.text.secondary, fontWeight: theme.typography.fontWeightRegular }),
  bar: css({
    gridColumn: '2 / span 2',
    height: 4,
    background: theme.colors.background.secondary,
    borderRadius: 2,
    overflow: 'hidden',
    '& > span': { display: 'block', height: '100%' },
  }),
  caption: css({
    color: theme.colors.text.secondary,
    fontSize: theme.typography.bodySmall.fontSize,
    margin: theme.spacing(1, 0),
  }),
});
