// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import type { AppRootProps, GrafanaTheme2 } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';
import { css } from '@emotion/css';

import { CheatSheet } from '../datasource/components/CheatSheet';

/** The app's page: what wakeflow answers, and the query for each question. */
export function App(_: AppRootProps) {
  const styles = useStyles2(getStyles);
  return (
    <main className={styles.page}>
      <h1>Wakeflow: who wakes Envoy</h1>
      <p className={styles.lead}>
        Every time an Envoy thread leaves the CPU, the wakeflow agent on its node records what woke it again (a TCP
        segment, pilot-agent over a unix socket, a DNS answer, another Envoy thread, a timer) or that the scheduler took
        the CPU away. Add the <strong>Wakeflow</strong> data source, then use these queries in dashboards, Explore and
        alert rules; the <strong>Wake chains</strong> panel draws the <code>chains</code> query.
      </p>
      <h2>Query cheat sheet</h2>
      <CheatSheet />
    </main>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  page: css({ padding: theme.spacing(2), maxWidth: 960 }),
  lead: css({ color: theme.colors.text.secondary }),
});
