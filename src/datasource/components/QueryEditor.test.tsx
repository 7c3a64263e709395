// SPDX-License-Identifier: Apache-2.0
import React, { useState } from 'react';
import { CoreApp } from '@grafana/data';
import { setBackendSrv, setTemplateSrv, type BackendSrv } from '@grafana/runtime';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { of } from 'rxjs';

import { TEST_IDS } from '../../common/testIds';
import { DataSource } from '../datasource';
import { DashboardVariables, fieldLabels, instanceSettings, labelsWithoutInfoIcon } from '../testing';
import type { StoredQuery, WakeflowQuery } from '../types';
import { QueryEditor } from './QueryEditor';
import { QueryHelp } from './QueryHelp';

/** The backend's values resources, as the real one answers them (src/shared/resources.ts). */
function resources(values: Record<string, string[]>) {
  const asked: Array<{ url: string; params?: Record<string, unknown> }> = [];
  setBackendSrv({
    fetch: (o: { url: string; params?: Record<string, unknown> }) => {
      asked.push(o);
      const path = o.url.split('/resources/')[1];
      return of({ data: { values: values[path] ?? [], warnings: [] } });
    },
  } as unknown as BackendSrv);
  return asked;
}

/** Renders the editor the way Grafana does: each change comes back as the new query. */
function renderEditor(initial: StoredQuery, app?: CoreApp) {
  const onChange = jest.fn<void, [WakeflowQuery]>();
  const onRunQuery = jest.fn<void, []>();
  const datasource = new DataSource(instanceSettings);
  function Harness() {
    const [query, setQuery] = useState(initial as WakeflowQuery);
    return (
      <QueryEditor
        datasource={datasource}
        query={query}
        app={app}
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
const radio = (group: string, name: string) => within(radioGroup(group)).getByRole('radio', { name });

/** onRunQuery must follow the onChange it runs, or Grafana runs the old query. */
function expectRunAfterChange(onChange: jest.Mock, onRunQuery: jest.Mock) {
  expect(onRunQuery).toHaveBeenCalledTimes(onChange.mock.calls.length);
  expect(Math.max(...onRunQuery.mock.invocationCallOrder)).toBeGreaterThan(
    Math.max(...onChange.mock.invocationCallOrder)
  );
}

describe('QueryEditor', () => {
  beforeEach(() => {
    setTemplateSrv(
      new DashboardVariables({ namespace: 'bookinfo', workload: 'productpage-v1', pod: 'productpage-v1-a' })
    );
    resources({});
  });

  it('edits a fresh query as a categories query with the defaults', () => {
    // Grafana hands a new query over as little more than its refId.
    renderEditor({ refId: 'A' });
    expect(radio('Query type', 'Categories')).toBeChecked();
    expect(radio('Metric', 'Off-CPU time')).toBeChecked();
    expect(radio('Group by', 'Category')).toBeChecked();
  });

  it('offers one editor per query type, each with its own options', async () => {
    const { user } = renderEditor({ refId: 'A' });
    await user.click(radio('Query type', 'Preemption'));
    expect(radio('Ratio', 'Time')).toBeChecked();
    expect(screen.getByRole('switch', { name: /throttling/i })).not.toBeChecked();
    await user.click(radio('Query type', 'Chains'));
    expect(screen.getByRole('spinbutton', { name: 'Limit' })).toHaveValue(50);
    expect(screen.getByRole('spinbutton', { name: 'Depth' })).toHaveValue(1);
    await user.click(radio('Query type', 'Flame graph'));
    expect(radio('Width', 'Off-CPU time')).toBeChecked();
    await user.click(radio('Query type', 'Targets'));
    expect(screen.queryByRole('radiogroup', { name: 'Width' })).not.toBeInTheDocument();
    expect(screen.getByRole('combobox', { name: 'Namespace' })).toBeInTheDocument();
    expect(screen.queryByRole('combobox', { name: 'Category' })).not.toBeInTheDocument();
  });

  it('gives every field of every query type its info icon and tooltip', async () => {
    const { user } = renderEditor({ refId: 'A' });
    const root = screen.getByTestId(TEST_IDS.queryEditor.root);
    for (const type of ['Categories', 'Preemption', 'Chains', 'Flame graph', 'Targets']) {
      await user.click(radio('Query type', type));
      expect(fieldLabels(root).length).toBeGreaterThan(1);
      expect({ type, without: labelsWithoutInfoIcon(root) }).toEqual({ type, without: [] });
    }
  });

  it('bounds the chain depth to 1..4: 5 is not committed (the field goes back to 1), 3 is', async () => {
    const { user, onChange } = renderEditor({ refId: 'A', queryType: 'chains', sort: 'offcpu', limit: 50, depth: 1 });
    const depth = screen.getByRole('spinbutton', { name: 'Depth' });
    await user.clear(depth);
    await user.type(depth, '5{Enter}');
    expect(onChange).not.toHaveBeenCalledWith(expect.objectContaining({ depth: 5 }));
    await user.tab();
    expect(depth).toHaveValue(1);
    await user.clear(depth);
    await user.type(depth, '3{Enter}');
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'chains', sort: 'offcpu', limit: 50, depth: 3 });
  });

  it('changes options of a categories query, running each change', async () => {
    const { user, onChange, onRunQuery } = renderEditor({
      refId: 'A',
      queryType: 'categories',
      metric: 'offcpu',
      groupBy: 'category',
    });
    await user.click(radio('Metric', 'Run-queue delay'));
    await user.click(radio('Group by', 'Workload'));
    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'A',
      queryType: 'categories',
      metric: 'runq',
      groupBy: 'workload',
    });
    expectRunAfterChange(onChange, onRunQuery);
  });

  it('switches type keeping the filters the new type takes and dropping the old options', async () => {
    const { user, onChange } = renderEditor({
      refId: 'B',
      queryType: 'chains',
      sort: 'count',
      limit: 5,
      depth: 1,
      namespace: ['istio-system'],
      category: ['net.tcp'],
    });
    await user.click(radio('Query type', 'Preemption'));
    // Preemption cannot be split by category: that filter goes, the namespace stays.
    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'B',
      queryType: 'preemption',
      groupBy: 'pod',
      ratio: 'time',
      throttled: false,
      namespace: ['istio-system'],
    });
  });

  it('turns on throttling beside the preemption ratio', async () => {
    const { user, onChange } = renderEditor({ refId: 'A', queryType: 'preemption' });
    await user.click(screen.getByRole('switch', { name: /throttling/i }));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ queryType: 'preemption', throttled: true }));
  });

  it('commits a limit on blur, and refuses one outside 1 to 1000', async () => {
    const { user, onChange } = renderEditor({ refId: 'A', queryType: 'chains' });
    const limit = screen.getByRole('spinbutton', { name: 'Limit' });
    await user.clear(limit);
    await user.type(limit, '200');
    await user.tab();
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ limit: 200 }));
    await user.clear(limit);
    await user.type(limit, '5000');
    await user.tab();
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(limit).toHaveValue(200);
  });

  it('takes several values per filter, typed or picked from what the agents saw', async () => {
    const asked = resources({ namespaces: ['bookinfo', 'istio-system'], pods: ['productpage-v1-a', 'reviews-v2-b'] });
    const { user, onChange } = renderEditor({ refId: 'A', queryType: 'chains', namespace: ['bookinfo'] });
    const pod = screen.getByRole('combobox', { name: 'Pod' });
    await user.click(pod);
    await user.click(await screen.findByText('reviews-v2-b'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ pod: ['reviews-v2-b'] }));
    // Suggestions for pods are narrowed by the namespace above.
    expect(asked.find((a) => a.url.endsWith('/pods'))?.params).toMatchObject({ namespace: ['bookinfo'] });
    await user.type(pod, 'custom-pod{Enter}');
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ pod: ['reviews-v2-b', 'custom-pod'] }));
  });

  it('offers the dashboard variables in every filter', async () => {
    const { user, onChange } = renderEditor({ refId: 'A', queryType: 'categories' });
    await user.click(screen.getByRole('combobox', { name: 'Workload' }));
    await user.click(await screen.findByText('$workload'));
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ workload: ['$workload'] }));
  });

  it('removes a filter from the saved query when its last value is removed', async () => {
    const { user, onChange } = renderEditor({ refId: 'A', queryType: 'categories', role: ['worker'] });
    await user.click(screen.getByRole('button', { name: /remove/i }));
    expect(onChange.mock.lastCall?.[0]).not.toHaveProperty('role');
  });

  it('says in the alert editor that only time series queries can alert', async () => {
    const { user } = renderEditor({ refId: 'A', queryType: 'preemption' }, CoreApp.UnifiedAlerting);
    expect(screen.queryByTestId(TEST_IDS.queryEditor.alertingNote)).not.toBeInTheDocument();
    await user.click(radio('Query type', 'Chains'));
    expect(screen.getByTestId(TEST_IDS.queryEditor.alertingNote)).toHaveTextContent('use Preemption');
  });

  it('works in Explore as in a panel: a stored partial query is shown complete, and each change runs', async () => {
    const { user, onChange, onRunQuery } = renderEditor(
      { refId: 'A', queryType: 'chains', limit: 5000 } as StoredQuery,
      CoreApp.Explore
    );
    // The limit the saved model cannot hold is shown as the default the query will carry, not as 5000.
    expect(screen.getByRole('spinbutton', { name: 'Limit' })).toHaveValue(50);
    expect(screen.queryByTestId(TEST_IDS.queryEditor.alertingNote)).not.toBeInTheDocument();
    await user.click(radio('Sort by', 'Wakeups'));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'chains', sort: 'count', limit: 50, depth: 1 });
    expectRunAfterChange(onChange, onRunQuery);
  });

  it('gives Explore its cheat sheet: an example becomes the row’s complete query, keeping its refId', async () => {
    const onClickExample = jest.fn();
    render(
      <QueryHelp
        datasource={new DataSource(instanceSettings)}
        query={{ refId: 'B' } as WakeflowQuery}
        onClickExample={onClickExample}
      />
    );
    const user = userEvent.setup();
    const example = screen.getByTestId(TEST_IDS.cheatSheet.example('preempted-pods'));
    expect(within(example).getByRole('heading')).toHaveTextContent(/preempt/i);
    await user.click(within(example).getByRole('button', { name: 'Use this query' }));
    expect(onClickExample).toHaveBeenCalledWith({
      refId: 'B',
      queryType: 'preemption',
      groupBy: 'pod',
      ratio: 'time',
      throttled: true,
      namespace: ['$namespace'],
    });
  });

  it('applies an example from the cheat sheet', async () => {
    const { user, onChange, onRunQuery } = renderEditor({ refId: 'C' });
    await user.click(screen.getByRole('button', { name: 'Examples' }));
    const example = screen.getByTestId(TEST_IDS.cheatSheet.example('preempted-pods'));
    await user.click(within(example).getByRole('button', { name: 'Use this query' }));
    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'C',
      queryType: 'preemption',
      groupBy: 'pod',
      ratio: 'time',
      throttled: true,
      namespace: ['$namespace'],
    });
    expectRunAfterChange(onChange, onRunQuery);
    expect(screen.queryByTestId(TEST_IDS.queryEditor.examples)).not.toBeInTheDocument();
  });
});
