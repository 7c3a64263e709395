// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import type { GrafanaTheme2 } from '@grafana/data';
import { Button, useStyles2 } from '@grafana/ui';
import { css } from '@emotion/css';

import { TEST_IDS } from '../../common/testIds';
import { QUERY_EXAMPLES, type QueryExample } from '../examples';

interface Props {
  /** Offered as a "Use" button on each example; without it the sheet is read-only (the app's help page). */
  onUse?: (example: QueryExample) => void;
}

/** The question an SRE asks → the query that answers it. */
export function CheatSheet({ onUse }: Props) {
  const styles = useStyles2(getStyles);
  return (
    <section aria-label="Query examples" data-testid={TEST_IDS.cheatSheet.root}>
      <ul className={styles.list}>
        {QUERY_EXAMPLES.map((example) => (
          <li key={example.id} className={styles.item} data-testid={TEST_IDS.cheatSheet.example(example.id)}>
            <h4 className={styles.question}>{example.question}</h4>
            <pre className={styles.query}>{JSON.stringify(example.query)}</pre>
            <p className={styles.answer}>
              {example.answer} <em>Shown as: {example.visualization}.</em>
            </p>
            {onUse && (
              <Button size="sm" variant="secondary" icon="play" onClick={() => onUse(example)}>
                Use this query
              </Button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  list: css({ listStyle: 'none', margin: 0, padding: 0 }),
  item: css({
    padding: theme.spacing(1, 0),
    borderBottom: `1px solid ${theme.colors.border.weak}`,
  }),
  question: css({ fontSize: theme.typography.h5.fontSize, margin: theme.spacing(0, 0, 0.5) }),
  query: css({ margin: theme.spacing(0, 0, 0.5), whiteSpace: 'pre-wrap', wordBreak: 'break-all' }),
  answer: css({ color: theme.colors.text.secondary, margin: theme.spacing(0, 0, 0.5) }),
});
