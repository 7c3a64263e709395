// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import { QueryEditorProps } from '@grafana/data';
import { InlineField, RadioButtonGroup, Stack } from '@grafana/ui';

import { TEST_IDS } from '../constants';
import { DataSource } from '../datasource';
import { switchQueryType, withDefaults } from '../query';
import { QueryType, WakeflowOptions, WakeflowQuery } from '../types';
import { EdgesQueryEditor } from './EdgesQueryEditor';
import { FiltersEditor } from './FiltersEditor';
import { SeriesQueryEditor } from './SeriesQueryEditor';
import { LABEL_WIDTH } from './types';

type Props = QueryEditorProps<DataSource, WakeflowQuery, WakeflowOptions>;

const QUERY_TYPE_OPTIONS: Array<{ label: string; value: QueryType; description: string }> = [
  { label: 'Series', value: 'series', description: 'One metric over time, per group' },
  { label: 'Wake edges', value: 'edges', description: 'The heaviest waker → target chains with their stacks' },
];

export function QueryEditor({ query, onChange, onRunQuery }: Props) {
  // Saved dashboards may hold incomplete queries; edit the completed form.
  const current = withDefaults(query);

  const onQueryTypeChange = (queryType: QueryType) => {
    onChange(switchQueryType(current, queryType));
    onRunQuery();
  };

  return (
    <Stack direction="column" gap={1}>
      <InlineField label="Query type" labelWidth={LABEL_WIDTH} data-testid={TEST_IDS.queryEditor.queryType}>
        <RadioButtonGroup
          aria-label="Query type"
          options={QUERY_TYPE_OPTIONS}
          value={current.queryType}
          onChange={onQueryTypeChange}
        />
      </InlineField>
      {current.queryType === 'series' ? (
        <SeriesQueryEditor query={current} onChange={onChange} onRunQuery={onRunQuery} />
      ) : (
        <EdgesQueryEditor query={current} onChange={onChange} onRunQuery={onRunQuery} />
      )}
      <FiltersEditor query={current} onChange={onChange} onRunQuery={onRunQuery} />
    </Stack>
  );
}
