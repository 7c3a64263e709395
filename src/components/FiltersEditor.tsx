// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import { InlineField, Stack } from '@grafana/ui';

import { TEST_IDS } from '../constants';
import { FILTER_KEYS, FilterKey, WakeflowQuery } from '../types';
import { CommitInput } from './CommitInput';
import { LABEL_WIDTH, ModeEditorProps } from './types';

const FILTERS: Record<FilterKey, { label: string; placeholder: string }> = {
  namespace: { label: 'Namespace', placeholder: '$namespace' },
  workload: { label: 'Workload', placeholder: '$workload' },
  pod: { label: 'Pod', placeholder: 'any' },
  category: { label: 'Category', placeholder: 'any, or a prefix like net.tcp' },
  activity: { label: 'Activity', placeholder: 'any, e.g. envoy.stats_flush' },
  role: { label: 'Role', placeholder: 'any: worker, main, watchdog, access_log' },
};

/** Filters shared by both query types; an empty field removes the filter from the saved query. */
export function FiltersEditor<Q extends WakeflowQuery>({ query, onChange, onRunQuery }: ModeEditorProps<Q>) {
  const setFilter = (key: FilterKey, text: string) => {
    const next = { ...query };
    const value = text.trim();
    if (value === '') {
      delete next[key];
    } else {
      next[key] = value;
    }
    onChange(next);
    onRunQuery();
  };

  return (
    <Stack direction="row" gap={0} wrap="wrap">
      {FILTER_KEYS.map((key) => (
        <InlineField key={key} label={FILTERS[key].label} labelWidth={LABEL_WIDTH}>
          <CommitInput
            id={`wakeflow-query-filter-${key}`}
            data-testid={TEST_IDS.queryEditor.filter(key)}
            width={28}
            placeholder={FILTERS[key].placeholder}
            value={query[key] ?? ''}
            onCommit={(text) => setFilter(key, text)}
          />
        </InlineField>
      ))}
    </Stack>
  );
}
