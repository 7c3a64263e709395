// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import { InlineField, InlineSwitch, Stack } from '@grafana/ui';

import type { PreemptionGroupBy, PreemptionRatio } from '../../../shared/query';
import { ChoiceField } from '../fields';
import { LABEL_WIDTH, type TypeEditorProps } from '../types';

const GROUP_BY_LABELS: Record<PreemptionGroupBy, string> = { pod: 'Pod', workload: 'Workload' };
const RATIO_LABELS: Record<PreemptionRatio, string> = { time: 'Time', count: 'Switches' };

/** The alertable ratio: how much of the time Envoy wanted to run it was kept off its CPU. */
export function PreemptionEditor({ query, onChange }: TypeEditorProps<'preemption'>) {
  return (
    <Stack direction="column" gap={0}>
      <ChoiceField
        label="Ratio"
        tooltip="Time: preempted ÷ (on CPU + preempted). Switches: involuntary switches ÷ all switches"
        choices={RATIO_LABELS}
        value={query.ratio}
        onChange={(ratio) => onChange({ ...query, ratio })}
      />
      <ChoiceField
        label="Per"
        tooltip="One ratio per pod or per workload, each from its summed parts (never an average of ratios)"
        choices={GROUP_BY_LABELS}
        value={query.groupBy}
        onChange={(groupBy) => onChange({ ...query, groupBy })}
      />
      <InlineField
        label="Throttling"
        labelWidth={LABEL_WIDTH}
        tooltip="Also the seconds per second the pod's cgroup was throttled by its CPU limit: a high ratio with throttling is the pod's own limit"
        htmlFor="wakeflow-query-throttled"
      >
        <InlineSwitch
          // No `label`: InlineSwitch would put it as aria-label on a <label> (axe aria-prohibited-attr); the field's label names it.
          id="wakeflow-query-throttled"
          value={query.throttled}
          onChange={(event) => onChange({ ...query, throttled: event.currentTarget.checked })}
        />
      </InlineField>
    </Stack>
  );
}
