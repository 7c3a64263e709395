// SPDX-License-Identifier: Apache-2.0
import React, { useState } from 'react';
import type { SelectableValue, TimeRange } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { InlineField, MultiSelect, Stack } from '@grafana/ui';

import { TEST_IDS } from '../../common/testIds';
import { FILTER_KEYS, FILTER_LIMITS, type FilterKey, type Filters } from '../../shared/query';
import { RESOURCE_OF_FILTER, type DataSource } from '../datasource';
import { LABEL_WIDTH } from './types';

export const FILTER_LABELS: Record<FilterKey, { label: string; tooltip: string }> = {
  namespace: { label: 'Namespace', tooltip: "The target pod's namespace, e.g. $namespace" },
  workload: { label: 'Workload', tooltip: "The target pod's workload, e.g. $workload" },
  pod: { label: 'Pod', tooltip: 'The target pod, e.g. $pod' },
  role: { label: 'Role', tooltip: 'The target thread: worker, main, watchdog, access_log, other' },
  thread: { label: 'Thread', tooltip: "The target thread's name, e.g. wrk:worker_0" },
  category: {
    label: 'Category',
    tooltip: 'A category or a dotted prefix of one: net matches net.tcp.data and net.udp',
  },
  activity: { label: 'Activity', tooltip: 'An Envoy activity such as envoy.stats_flush, or none' },
};

interface Props {
  datasource: DataSource;
  /** The filter keys this query type takes, in the Istio dashboards' order. */
  keys: readonly FilterKey[];
  filters: Filters;
  onChange: (key: FilterKey, values: string[]) => void;
  range?: TimeRange;
}

/** The filters above a key: what its suggestions are narrowed by (`pods` of the chosen namespace). */
function filtersAbove(filters: Filters, key: FilterKey): Filters {
  const above: Filters = {};
  for (const k of FILTER_KEYS.slice(0, FILTER_KEYS.indexOf(key))) {
    if (filters[k]?.length) {
      above[k] = filters[k];
    }
  }
  return above;
}

const asOption = (value: string): SelectableValue<string> => ({ label: value, value });

/**
 * One filter: several values, each typed, picked from what the agents saw,
 * or a dashboard variable (`$pod`; a multi-value variable sends all its
 * values). Suggestions load when the menu opens, narrowed by the filters above.
 */
function FilterField({
  datasource,
  filterKey,
  filters,
  onChange,
  range,
}: Omit<Props, 'keys'> & { filterKey: FilterKey }) {
  const [suggestions, setSuggestions] = useState<string[]>([]);
  const [loading, setLoading] = useState(false);
  const [problem, setProblem] = useState<string>();
  const values = filters[filterKey] ?? [];
  const variables = getTemplateSrv()
    .getVariables()
    .map((v) => `$${v.name}`);
  const options = [...new Set([...values, ...variables, ...suggestions])].map(asOption);
  const { label, tooltip } = FILTER_LABELS[filterKey];
  const inputId = `wakeflow-query-filter-${filterKey}`;

  const loadSuggestions = async () => {
    setLoading(true);
    try {
      const answer = await datasource.fetchValues(
        RESOURCE_OF_FILTER[filterKey],
        filtersAbove(filters, filterKey),
        range
      );
      setSuggestions(answer.values);
      setProblem(answer.warnings.length > 0 ? `Some agents did not answer: ${answer.warnings.join('; ')}` : undefined);
    } catch (err) {
      const text = (err as { data?: { error?: string; message?: string }; message?: string }) ?? {};
      setProblem(`Suggestions unavailable: ${text.data?.error ?? text.data?.message ?? text.message ?? 'no answer'}`);
    } finally {
      setLoading(false);
    }
  };

  return (
    <InlineField
      label={label}
      labelWidth={LABEL_WIDTH}
      tooltip={tooltip}
      htmlFor={inputId}
      data-testid={TEST_IDS.queryEditor.filter(filterKey)}
    >
      {/* Combobox, which @grafana/ui now prefers, exists only from Grafana 11.3 (MultiCombobox 12): we support 11.0. */}
      {/* eslint-disable-next-line @typescript-eslint/no-deprecated */}
      <MultiSelect<string>
        inputId={inputId}
        aria-label={label}
        width={36}
        options={options}
        value={values}
        placeholder="any"
        allowCustomValue
        isClearable
        isLoading={loading}
        noOptionsMessage={problem ?? 'Type a value or a $variable'}
        onOpenMenu={loadSuggestions}
        isOptionDisabled={() => values.length >= FILTER_LIMITS.maxValues}
        onChange={(selected: Array<SelectableValue<string>>) =>
          onChange(
            filterKey,
            selected.map((s) => s.value ?? '').filter((v) => v.trim() !== '')
          )
        }
      />
    </InlineField>
  );
}

/** The filters of one query type; a filter with no values is absent from the saved query. */
export function FiltersEditor({ keys, ...props }: Props) {
  return (
    <Stack direction="row" gap={0} wrap="wrap">
      {keys.map((key) => (
        <FilterField key={key} filterKey={key} {...props} />
      ))}
    </Stack>
  );
}
