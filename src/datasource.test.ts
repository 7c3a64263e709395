// SPDX-License-Identifier: Apache-2.0
import { CoreApp, DataSourceInstanceSettings, ScopedVars } from '@grafana/data';
import { setTemplateSrv, TemplateSrv } from '@grafana/runtime';

import { DataSource } from './datasource';
import { DEFAULT_QUERY, WakeflowOptions, WakeflowQuery } from './types';

/**
 * Grafana's template service reduced to what applyTemplateVariables relies
 * on: `$name` is replaced from the panel's scoped variables first, then from
 * the dashboard's; unknown variables stay as written.
 */
class DashboardVariables implements TemplateSrv {
  constructor(private readonly values: Record<string, string>) {}

  replace(target?: string, scopedVars?: ScopedVars): string {
    return (target ?? '').replace(/\$(\w+)/g, (whole, name: string) => {
      const scoped = scopedVars?.[name]?.value;
      return typeof scoped === 'string' ? scoped : (this.values[name] ?? whole);
    });
  }

  getVariables(): ReturnType<TemplateSrv['getVariables']> {
    return [];
  }

  containsTemplate(target?: string): boolean {
    return /\$\w+/.test(target ?? '');
  }

  updateTimeRange(): void {}
}

const settings: DataSourceInstanceSettings<WakeflowOptions> = {
  uid: 'wakeflow-test',
  type: 'wakeflow-datasource',
  name: 'Wakeflow',
  access: 'proxy',
  jsonData: {},
  readOnly: false,
  meta: {} as DataSourceInstanceSettings['meta'],
};

describe('DataSource', () => {
  beforeEach(() => {
    setTemplateSrv(new DashboardVariables({ namespace: 'bookinfo', workload: 'productpage-v1' }));
  });

  it('offers the default query for new queries', () => {
    expect(new DataSource(settings).getDefaultQuery(CoreApp.PanelEditor)).toEqual(DEFAULT_QUERY);
  });

  it('resolves dashboard variables in every filter and leaves the rest of the query alone', () => {
    const query: WakeflowQuery = {
      refId: 'A',
      queryType: 'edges',
      limit: 10,
      sort: 'count',
      namespace: '$namespace',
      workload: '$workload',
      pod: '$pod',
      category: 'net.tcp',
    };
    const scopedVars: ScopedVars = { pod: { text: 'productpage-v1-abc', value: 'productpage-v1-abc' } };

    expect(new DataSource(settings).applyTemplateVariables(query, scopedVars)).toEqual({
      refId: 'A',
      queryType: 'edges',
      limit: 10,
      sort: 'count',
      namespace: 'bookinfo',
      workload: 'productpage-v1',
      pod: 'productpage-v1-abc',
      category: 'net.tcp',
    });
  });

  it('sends a stored query with missing fields complete', () => {
    const stored = { refId: 'A', namespace: '$namespace' } as WakeflowQuery;

    expect(new DataSource(settings).applyTemplateVariables(stored, {})).toEqual({
      refId: 'A',
      queryType: 'series',
      metric: 'offcpu',
      by: 'category',
      namespace: 'bookinfo',
    });
  });
});
