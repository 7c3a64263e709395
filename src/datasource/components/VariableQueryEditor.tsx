// SPDX-License-Identifier: Apache-2.0
import React from 'react';
import type { QueryEditorProps } from '@grafana/data';
import { InlineField, Select, Stack } from '@grafana/ui';

import { TEST_IDS } from '../../common/testIds';
import { FILTER_KEYS, type FilterKey } from '../../shared/query';
import type { DataSource } from '../datasource';
import { normalizeVariableQuery, VARIABLE_RESOURCES } from '../variables';
import { withFilter } from '../query';
import type { VariableQuery, WakeflowOptions, WakeflowQuery } from '../types';
import { FiltersEditor } from './FiltersEditor';
import { LABEL_WIDTH } from './types';

type Props = QueryEditorProps<DataSource, WakeflowQuery, WakeflowOptions, VariableQuery>;

const RESOURCE_LABELS: Record<VariableQuery['resource'], string> = {
  namespaces: 'Namespaces',
  workloads: 'Workloads',
  pods: 'Pods',
  threads: 'Threads',
  categories: 'Categories',
  activities: 'Activities',
  roles: 'Roles',
};
/** Which filter a resource's own values would be, so a variable is narrowed only by the ones above it. */
const FILTER_OF_RESOURCE: Record<VariableQuery['resource'], FilterKey> = {
  namespaces: 'namespace',
  workloads: 'workload',
  pods: 'pod',
  roles: 'role',
  threads: 'thread',
  categories: 'category',
  activities: 'activity',
};

/** A template variable: the values of one resource, narrowed by the variables above it (`$namespace`). */
export function VariableQueryEditor({ query, onChange, datasource, range }: Props) {
  const current = normalizeVariableQuery(query);
  const own = FILTER_KEYS.indexOf(FILTER_OF_RESOURCE[current.resource]);
  const keys = FILTER_KEYS.slice(0, own);
  const resourceOptions = VARIABLE_RESOURCES.map((value) => ({ value, label: RESOURCE_LABELS[value] }));

  return (
    <div data-testid={TEST_IDS.variableEditor.root}>
      <Stack direction="column" gap={1}>
        <InlineField
          label="Values of"
          labelWidth={LABEL_WIDTH}
          tooltip="What the variable lists, as the agents saw it in the dashboard's time range; the filters below narrow it by the variables above it"
          htmlFor="wakeflow-variable-resource"
        >
          {/* Combobox, which @grafana/ui now prefers, exists only from Grafana 11.3: we support 11.0. */}
          {/* eslint-disable-next-line @typescript-eslint/no-deprecated */}
          <Select
            inputId="wakeflow-variable-resource"
            aria-label="Values of"
            width={24}
            options={resourceOptions}
            value={current.resource}
            onChange={(selected) => {
              const resource = selected.value ?? 'namespaces';
              // Filters at or below the new resource's level would narrow it by itself: drop them.
              const limit = FILTER_KEYS.indexOf(FILTER_OF_RESOURCE[resource]);
              const next: VariableQuery = { refId: current.refId, resource };
              for (const key of FILTER_KEYS.slice(0, limit)) {
                if (current[key]) {
                  next[key] = current[key];
                }
              }
              onChange(next);
            }}
          />
        </InlineField>
        {keys.length > 0 && (
          <FiltersEditor
            datasource={datasource}
            keys={keys}
            filters={current}
            range={range}
            onChange={(key, values) => onChange(withFilter(current, key, values))}
          />
        )}
      </Stack>
    </div>
  );
}
