// SPDX-License-Identifier: Apache-2.0
import React, { useState } from 'react';
import { getDefaultTimeRange, type DataQueryRequest } from '@grafana/data';
import { setBackendSrv, setTemplateSrv, type BackendSrv } from '@grafana/runtime';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { lastValueFrom, of } from 'rxjs';

import { VariableQueryEditor } from './components/VariableQueryEditor';
import { DataSource } from './datasource';
import { DashboardVariables, fieldLabels, instanceSettings, labelsWithoutInfoIcon } from './testing';
import { TEST_IDS } from '../common/testIds';
import type { VariableQuery } from './types';
import { normalizeVariableQuery, WakeflowVariableSupport } from './variables';

function resources(values: string[]) {
  const asked: Array<{ url: string; params?: Record<string, unknown> }> = [];
  setBackendSrv({
    fetch: (o: { url: string; params?: Record<string, unknown> }) => {
      asked.push(o);
      return of({ data: { values, warnings: [] } });
    },
  } as unknown as BackendSrv);
  return asked;
}

describe('template variables', () => {
  beforeEach(() => setTemplateSrv(new DashboardVariables({ namespace: ['bookinfo', 'reviews'] })));

  it('answers the values of a resource narrowed by the variables above it', async () => {
    const asked = resources(['productpage-v1', 'reviews-v2']);
    const ds = new DataSource(instanceSettings);
    const request = {
      targets: [{ refId: 'variable', resource: 'workloads', namespace: ['$namespace'] }],
      range: getDefaultTimeRange(),
      scopedVars: {},
    } as unknown as DataQueryRequest<VariableQuery>;
    const variables = ds.variables as WakeflowVariableSupport;
    const response = await lastValueFrom(variables.query(request));
    expect(response.data[0].fields[0].values).toEqual(['productpage-v1', 'reviews-v2']);
    expect(asked[0].url).toMatch(/resources\/workloads$/);
    expect(asked[0].params).toMatchObject({ namespace: ['bookinfo', 'reviews'] });
  });

  it('reads a stored variable query of any shape', () => {
    expect(normalizeVariableQuery('pods')).toEqual({ refId: 'variable', resource: 'pods' });
    expect(normalizeVariableQuery({ resource: 'bogus' as never, namespace: 'x' as never })).toEqual({
      refId: 'variable',
      resource: 'namespaces',
      namespace: ['x'],
    });
  });

  it('edits the resource and offers only the filters above it', async () => {
    resources([]);
    const onChange = jest.fn();
    function Harness() {
      const [query, setQuery] = useState<VariableQuery>({ refId: 'variable', resource: 'namespaces' });
      return (
        <VariableQueryEditor
          datasource={new DataSource(instanceSettings)}
          query={query}
          onChange={(q) => {
            onChange(q);
            setQuery(q);
          }}
          onRunQuery={() => {}}
        />
      );
    }
    render(<Harness />);
    const user = userEvent.setup();
    expect(screen.queryByRole('combobox', { name: 'Namespace' })).not.toBeInTheDocument();
    await user.click(screen.getByRole('combobox', { name: 'Values of' }));
    await user.click(await screen.findByText('Pods'));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'variable', resource: 'pods' });
    expect(screen.getByRole('combobox', { name: 'Namespace' })).toBeInTheDocument();
    expect(screen.getByRole('combobox', { name: 'Workload' })).toBeInTheDocument();
    expect(screen.queryByRole('combobox', { name: 'Pod' })).not.toBeInTheDocument();
    // Every field, "Values of" and each filter (Workload too), has its info icon and tooltip.
    const root = screen.getByTestId(TEST_IDS.variableEditor.root);
    expect(fieldLabels(root).map((l) => l.textContent)).toEqual(['Values of', 'Namespace', 'Workload']);
    expect(labelsWithoutInfoIcon(root)).toEqual([]);
  });
});
