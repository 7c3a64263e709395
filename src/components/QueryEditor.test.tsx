// SPDX-License-Identifier: Apache-2.0
import React, { useState } from 'react';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { QueryEditor } from './QueryEditor';
import { DataSource } from '../datasource';
import { WakeflowQuery } from '../types';

/** Renders the editor the way Grafana does: each change comes back as the new query. */
function renderEditor(initial: WakeflowQuery) {
  const onChange = jest.fn<void, [WakeflowQuery]>();
  const onRunQuery = jest.fn<void, []>();
  function Harness() {
    const [query, setQuery] = useState(initial);
    return (
      <QueryEditor
        // The editor never calls the data source; the prop is required by Grafana's type only.
        datasource={{} as DataSource}
        query={query}
        onChange={(next) => {
          onChange(next);
          setQuery(next);
        }}
        onRunQuery={onRunQuery}
      />
    );
  }
  render(<Harness />);
  return { user: userEvent.setup(), onChange, onRunQuery };
}

const radioGroup = (name: string) => screen.getByRole('radiogroup', { name });

/** onRunQuery must come after the onChange it runs, or Grafana runs the old query. */
function expectRunAfterChange(onChange: jest.Mock, onRunQuery: jest.Mock) {
  expect(onRunQuery).toHaveBeenCalledTimes(onChange.mock.calls.length);
  const lastChange = Math.max(...onChange.mock.invocationCallOrder);
  const lastRun = Math.max(...onRunQuery.mock.invocationCallOrder);
  expect(lastRun).toBeGreaterThan(lastChange);
}

describe('QueryEditor', () => {
  it('edits a fresh query as a series query with the defaults', () => {
    // Grafana hands a new query over as little more than its refId.
    renderEditor({ refId: 'A' } as WakeflowQuery);

    expect(within(radioGroup('Query type')).getByRole('radio', { name: 'Series' })).toBeChecked();
    expect(within(radioGroup('Metric')).getByRole('radio', { name: 'Off-CPU time' })).toBeChecked();
    expect(within(radioGroup('Group by')).getByRole('radio', { name: 'Category' })).toBeChecked();
  });

  it('changes the metric and the grouping of a series query, running each', async () => {
    const { user, onChange, onRunQuery } = renderEditor({
      refId: 'A',
      queryType: 'series',
      metric: 'offcpu',
      by: 'category',
    });

    await user.click(within(radioGroup('Metric')).getByRole('radio', { name: 'Preemption ratio' }));
    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'A',
      queryType: 'series',
      metric: 'preempt_ratio',
      by: 'category',
    });
    expectRunAfterChange(onChange, onRunQuery);

    await user.click(within(radioGroup('Group by')).getByRole('radio', { name: 'Pod' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'series', metric: 'preempt_ratio', by: 'pod' });
    expectRunAfterChange(onChange, onRunQuery);
  });

  it('switches to edges keeping the filters and dropping the series fields', async () => {
    const { user, onChange, onRunQuery } = renderEditor({
      refId: 'B',
      queryType: 'series',
      metric: 'runq',
      by: 'role',
      namespace: 'istio-system',
    });

    await user.click(within(radioGroup('Query type')).getByRole('radio', { name: 'Wake edges' }));

    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'B',
      queryType: 'edges',
      limit: 20,
      sort: 'offcpu',
      namespace: 'istio-system',
    });
    expectRunAfterChange(onChange, onRunQuery);
    expect(screen.queryByRole('radiogroup', { name: 'Metric' })).not.toBeInTheDocument();
    expect(within(radioGroup('Sort by')).getByRole('radio', { name: 'Off-CPU time' })).toBeChecked();
  });

  it('changes the sort and the limit of an edges query', async () => {
    const { user, onChange, onRunQuery } = renderEditor({ refId: 'A', queryType: 'edges', limit: 20, sort: 'offcpu' });

    await user.click(within(radioGroup('Sort by')).getByRole('radio', { name: 'Run-queue delay' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'edges', limit: 20, sort: 'runq' });

    const limit = screen.getByRole('spinbutton', { name: 'Limit' });
    await user.clear(limit);
    await user.type(limit, '50');
    await user.tab();
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'edges', limit: 50, sort: 'runq' });
    expect(onChange).toHaveBeenCalledTimes(2);
    expectRunAfterChange(onChange, onRunQuery);
  });

  it('rejects a limit that is not a positive whole number and shows the saved one again', async () => {
    const { user, onChange, onRunQuery } = renderEditor({ refId: 'A', queryType: 'edges', limit: 20, sort: 'offcpu' });
    const limit = screen.getByRole('spinbutton', { name: 'Limit' });

    await user.clear(limit);
    await user.type(limit, '0');
    await user.tab();

    expect(onChange).not.toHaveBeenCalled();
    expect(onRunQuery).not.toHaveBeenCalled();
    expect(limit).toHaveValue(20);
  });

  it('commits a filter once when the field loses focus, not per keystroke', async () => {
    const { user, onChange, onRunQuery } = renderEditor({
      refId: 'A',
      queryType: 'series',
      metric: 'wakeups',
      by: 'activity',
    });
    const workload = screen.getByRole('textbox', { name: 'Workload' });

    await user.type(workload, 'productpage-v1');
    expect(onChange).not.toHaveBeenCalled();

    await user.tab();
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'A',
      queryType: 'series',
      metric: 'wakeups',
      by: 'activity',
      workload: 'productpage-v1',
    });
    expectRunAfterChange(onChange, onRunQuery);

    // Leaving the field again without editing runs nothing.
    await user.click(workload);
    await user.tab();
    expect(onChange).toHaveBeenCalledTimes(1);
  });

  it('commits a filter on Enter and removes it from the query when emptied', async () => {
    const { user, onChange } = renderEditor({
      refId: 'A',
      queryType: 'edges',
      limit: 5,
      sort: 'count',
      category: 'net.tcp',
    });
    const category = screen.getByRole('textbox', { name: 'Category' });
    expect(category).toHaveValue('net.tcp');

    await user.clear(category);
    await user.type(category, '{Enter}');

    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'edges', limit: 5, sort: 'count' });
  });
});
