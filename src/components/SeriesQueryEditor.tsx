// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import { InlineField, RadioButtonGroup, Stack } from '@grafana/ui';

import { TEST_IDS } from '../constants';
import { GROUP_BYS, GroupBy, METRICS, Metric, SeriesQuery } from '../types';
import { LABEL_WIDTH, ModeEditorProps } from './types';

// Records keyed by the unions make a new metric or grouping a compile error here until it has a label.
const METRIC_LABELS: Record<Metric, string> = {
  offcpu: 'Off-CPU time',
  wakeups: 'Wakeups',
  runq: 'Run-queue delay',
  preempt_ratio: 'Preemption ratio',
  throttled: 'CPU throttling',
};
const GROUP_BY_LABELS: Record<GroupBy, string> = {
  category: 'Category',
  activity: 'Activity',
  target: 'Target thread',
  role: 'Role',
  pod: 'Pod',
};
const METRIC_OPTIONS = METRICS.map((value) => ({ value, label: METRIC_LABELS[value] }));
const GROUP_BY_OPTIONS = GROUP_BYS.map((value) => ({ value, label: GROUP_BY_LABELS[value] }));

export function SeriesQueryEditor({ query, onChange, onRunQuery }: ModeEditorProps<SeriesQuery>) {
  const update = (patch: Partial<SeriesQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };

  return (
    <Stack direction="column" gap={0}>
      <InlineField
        label="Metric"
        labelWidth={LABEL_WIDTH}
        tooltip="Preemption ratio: time preempted ÷ (time on CPU + time preempted)"
        data-testid={TEST_IDS.queryEditor.metric}
      >
        <RadioButtonGroup
          aria-label="Metric"
          options={METRIC_OPTIONS}
          value={query.metric}
          onChange={(metric) => update({ metric })}
        />
      </InlineField>
      <InlineField label="Group by" labelWidth={LABEL_WIDTH} data-testid={TEST_IDS.queryEditor.by}>
        <RadioButtonGroup
          aria-label="Group by"
          options={GROUP_BY_OPTIONS}
          value={query.by}
          onChange={(by) => update({ by })}
        />
      </InlineField>
    </Stack>
  );
}
