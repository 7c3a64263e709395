// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import { Stack } from '@grafana/ui';

import type { CategoryGroupBy, CategoryMetric } from '../../../shared/query';
import { ChoiceField } from '../fields';
import type { TypeEditorProps } from '../types';

// Records keyed by the unions: a new metric or grouping in src/shared is a compile error here until it has a label.
export const METRIC_LABELS: Record<CategoryMetric, string> = {
  offcpu: 'Off-CPU time',
  wakeups: 'Wakeups',
  runq: 'Run-queue delay',
};
const GROUP_BY_LABELS: Record<CategoryGroupBy, string> = {
  category: 'Category',
  activity: 'Activity',
  role: 'Role',
  pod: 'Pod',
  workload: 'Workload',
};

/** Where the time goes: one series per group, in seconds per second (or wakeups per second). */
export function CategoriesEditor({ query, onChange }: TypeEditorProps<'categories'>) {
  return (
    <Stack direction="column" gap={0}>
      <ChoiceField
        label="Metric"
        tooltip="Off-CPU time and run-queue delay in seconds per second; wakeups per second"
        choices={METRIC_LABELS}
        value={query.metric}
        onChange={(metric) => onChange({ ...query, metric })}
      />
      <ChoiceField
        label="Group by"
        tooltip="One series per category, Envoy activity, thread role, pod or workload, summed over every agent"
        choices={GROUP_BY_LABELS}
        value={query.groupBy}
        onChange={(groupBy) => onChange({ ...query, groupBy })}
      />
    </Stack>
  );
}
