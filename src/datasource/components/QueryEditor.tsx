// SPDX-License-Identifier: Apache-2.0
import React, { useState, type ComponentType } from 'react';
import { CoreApp, type QueryEditorProps } from '@grafana/data';
import { Alert, Button, InlineField, RadioButtonGroup, Stack } from '@grafana/ui';

import { TEST_IDS } from '../../common/testIds';
import { FILTERS_OF, type QueryType } from '../../shared/query';
import type { DataSource } from '../datasource';
import { ALERTABLE_QUERY_TYPES, normalizeQuery, switchQueryType, withFilter } from '../query';
import type { QueryOf, StoredQuery, WakeflowOptions, WakeflowQuery } from '../types';
import { CheatSheet } from './CheatSheet';
import { FiltersEditor } from './FiltersEditor';
import { LABEL_WIDTH, type TypeEditorProps } from './types';
import { CategoriesEditor } from './types/CategoriesEditor';
import { ChainsEditor } from './types/ChainsEditor';
import { FlamegraphEditor } from './types/FlamegraphEditor';
import { PreemptionEditor } from './types/PreemptionEditor';

type Props = QueryEditorProps<DataSource, WakeflowQuery, WakeflowOptions>;

export const QUERY_TYPE_LABELS: Record<QueryType, { label: string; description: string }> = {
  categories: {
    label: 'Categories',
    description: 'Off-CPU time, wakeups or run-queue delay over time, per category or group',
  },
  preemption: { label: 'Preemption', description: 'Preemption ratio per pod or workload over time; alertable' },
  chains: { label: 'Chains', description: 'The heaviest waker → target edges with both stacks' },
  flamegraph: { label: 'Flame graph', description: 'Off-wake flame graph: target stack, --, waker stack' },
  targets: { label: 'Targets', description: 'The traced processes, their labels and nodes' },
};
const QUERY_TYPE_OPTIONS = (Object.keys(QUERY_TYPE_LABELS) as QueryType[]).map((value) => ({
  value,
  ...QUERY_TYPE_LABELS[value],
}));

/** One editor per query type; `targets` has only filters. */
const TYPE_EDITORS: { [T in QueryType]?: ComponentType<TypeEditorProps<T>> } = {
  categories: CategoriesEditor,
  preemption: PreemptionEditor,
  chains: ChainsEditor,
  flamegraph: FlamegraphEditor,
};

function TypeEditor({ query, onChange }: { query: WakeflowQuery; onChange: (q: WakeflowQuery) => void }) {
  const Editor = TYPE_EDITORS[query.queryType] as ComponentType<TypeEditorProps<QueryType>> | undefined;
  return Editor ? <Editor query={query as QueryOf<QueryType>} onChange={onChange} /> : null;
}

const ALERTING_APPS: readonly string[] = [CoreApp.UnifiedAlerting, CoreApp.CloudAlerting];

export function QueryEditor({ query, onChange, onRunQuery, datasource, app, range }: Props) {
  // Saved dashboards and the alert editor may hand over incomplete queries: edit the completed form.
  const current = normalizeQuery(query as StoredQuery);
  const [showExamples, setShowExamples] = useState(false);

  const commit = (next: WakeflowQuery) => {
    onChange(next);
    onRunQuery();
  };

  const alerting = app !== undefined && ALERTING_APPS.includes(app);
  return (
    <div data-testid={TEST_IDS.queryEditor.root}>
      <Stack direction="column" gap={1}>
        <Stack direction="row" gap={1} alignItems="flex-start" justifyContent="space-between">
          <InlineField
            label="Query type"
            labelWidth={LABEL_WIDTH}
            tooltip="What to ask the agents; each type has its own options below and its own frames (see Examples)"
            data-testid={TEST_IDS.queryEditor.queryType}
          >
            <RadioButtonGroup<QueryType>
              aria-label="Query type"
              options={QUERY_TYPE_OPTIONS}
              value={current.queryType}
              onChange={(queryType) => commit(switchQueryType(current, queryType))}
            />
          </InlineField>
          <Button
            variant="secondary"
            fill="text"
            size="sm"
            icon="question-circle"
            aria-expanded={showExamples}
            onClick={() => setShowExamples(!showExamples)}
          >
            Examples
          </Button>
        </Stack>
        {alerting && !ALERTABLE_QUERY_TYPES.includes(current.queryType) && (
          <Alert severity="info" title="Not a time series" data-testid={TEST_IDS.queryEditor.alertingNote}>
            Alert rules reduce and threshold time series: use Preemption (the preemption ratio) or Categories here.
          </Alert>
        )}
        <TypeEditor query={current} onChange={commit} />
        <FiltersEditor
          datasource={datasource}
          keys={FILTERS_OF[current.queryType]}
          filters={current}
          range={range}
          onChange={(key, values) => commit(withFilter(current, key, values))}
        />
        {showExamples && (
          <div data-testid={TEST_IDS.queryEditor.examples}>
            <CheatSheet
              onUse={(example) => {
                commit(normalizeQuery({ ...example.query, refId: current.refId, datasource: current.datasource }));
                setShowExamples(false);
              }}
            />
          </div>
        )}
      </Stack>
    </div>
  );
}
