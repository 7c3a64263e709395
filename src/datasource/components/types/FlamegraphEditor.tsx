// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import { Stack } from '@grafana/ui';

import { QUERY_LIMITS, type FlamegraphValue } from '../../../shared/query';
import { ChoiceField, NumberField } from '../fields';
import type { TypeEditorProps } from '../types';

const VALUE_LABELS: Record<FlamegraphValue, string> = { offcpu: 'Off-CPU time', count: 'Wakeups' };

/** An off-wake flame graph: the target's stack, `--`, then the waker's, as in Brendan Gregg's. */
export function FlamegraphEditor({ query, onChange }: TypeEditorProps<'flamegraph'>) {
  const limits = QUERY_LIMITS.flamegraph;
  return (
    <Stack direction="column" gap={0}>
      <ChoiceField
        label="Width"
        tooltip="What a frame's width measures"
        choices={VALUE_LABELS}
        value={query.value}
        onChange={(value) => onChange({ ...query, value })}
      />
      <NumberField
        label="Edges"
        tooltip="Edges taken from each agent, the heaviest first"
        min={limits.minLimit}
        max={limits.maxLimit}
        value={query.limit}
        onChange={(limit) => onChange({ ...query, limit })}
      />
    </Stack>
  );
}
