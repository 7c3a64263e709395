// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import { InlineField, RadioButtonGroup, Stack } from '@grafana/ui';

import { TEST_IDS } from '../constants';
import { parsePositiveInt } from '../parse';
import { EDGE_SORTS, EdgeSort, EdgesQuery } from '../types';
import { CommitInput } from './CommitInput';
import { LABEL_WIDTH, ModeEditorProps } from './types';

const SORT_LABELS: Record<EdgeSort, string> = {
  offcpu: 'Off-CPU time',
  count: 'Wakeups',
  runq: 'Run-queue delay',
};
const SORT_OPTIONS = EDGE_SORTS.map((value) => ({ value, label: SORT_LABELS[value] }));

const isLimit = (text: string) => parsePositiveInt(text) !== undefined;

export function EdgesQueryEditor({ query, onChange, onRunQuery }: ModeEditorProps<EdgesQuery>) {
  const update = (patch: Partial<EdgesQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };

  return (
    <Stack direction="column" gap={0}>
      <InlineField label="Sort by" labelWidth={LABEL_WIDTH} data-testid={TEST_IDS.queryEditor.sort}>
        <RadioButtonGroup
          aria-label="Sort by"
          options={SORT_OPTIONS}
          value={query.sort}
          onChange={(sort) => update({ sort })}
        />
      </InlineField>
      <InlineField label="Limit" labelWidth={LABEL_WIDTH} tooltip="How many edges, the heaviest first">
        <CommitInput
          id="wakeflow-query-limit"
          data-testid={TEST_IDS.queryEditor.limit}
          type="number"
          min={1}
          width={10}
          value={String(query.limit)}
          isValid={isLimit}
          onCommit={(text) => update({ limit: Number(text) })}
        />
      </InlineField>
    </Stack>
  );
}
