// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import { Stack } from '@grafana/ui';

import { QUERY_LIMITS, type ChainSort } from '../../../shared/query';
import { ChoiceField, NumberField } from '../fields';
import type { TypeEditorProps } from '../types';

export const SORT_LABELS: Record<ChainSort, string> = {
  offcpu: 'Off-CPU time',
  count: 'Wakeups',
  runq: 'Run-queue delay',
};

/** Who woke whom: the heaviest waker → target edges over all agents, with both stacks. */
export function ChainsEditor({ query, onChange }: TypeEditorProps<'chains'>) {
  const limits = QUERY_LIMITS.chains;
  return (
    <Stack direction="column" gap={0}>
      <ChoiceField
        label="Sort by"
        tooltip="What makes an edge heavy when the limit keeps the heaviest: its off-CPU time, its wakeups or its run-queue delay"
        choices={SORT_LABELS}
        value={query.sort}
        onChange={(sort) => onChange({ ...query, sort })}
      />
      <Stack direction="row" gap={0} wrap="wrap">
        <NumberField
          label="Limit"
          tooltip="How many edges, the heaviest first, over every agent"
          min={limits.minLimit}
          max={limits.maxLimit}
          value={query.limit}
          onChange={(limit) => onChange({ ...query, limit })}
        />
        <NumberField
          label="Depth"
          tooltip="Wakeups per chain: 1 is one waker → target edge (every agent answers it); 2 to 4 follow who woke the waker (agents with /api/v1/chains)"
          min={limits.minDepth}
          max={limits.maxDepth}
          value={query.depth}
          onChange={(depth) => onChange({ ...query, depth })}
        />
      </Stack>
    </Stack>
  );
}
