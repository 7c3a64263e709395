// SPDX-License-Identifier: Apache-2.0
import { CoreApp, getDefaultTimeRange } from '@grafana/data';
import { setBackendSrv, setTemplateSrv, type BackendSrv } from '@grafana/runtime';
import { of, throwError } from 'rxjs';

import { DataSource } from './datasource';
import { DashboardVariables, instanceSettings } from './testing';
import type { StoredQuery, WakeflowQuery } from './types';

/** Grafana's HTTP service reduced to the call the data source makes for resources and health: fetch. */
function backend(answer: (url: string) => unknown, fail?: { status: number; data: unknown }) {
  const calls: Array<{ url: string; params?: unknown }> = [];
  const srv = {
    fetch: (options: { url: string; params?: unknown }) => {
      calls.push({ url: options.url, params: options.params });
      return fail ? throwError(() => fail) : of({ data: answer(options.url) });
    },
  };
  setBackendSrv(srv as unknown as BackendSrv);
  return calls;
}

describe('DataSource', () => {
  beforeEach(() => {
    setTemplateSrv(
      new DashboardVariables({
        namespace: 'bookinfo',
        workload: 'productpage-v1',
        pod: ['productpage-v1-a', 'productpage-v1-b'],
        allPods: '$__all',
      })
    );
  });

  it('offers a complete categories query for a new query', () => {
    expect(new DataSource(instanceSettings).getDefaultQuery(CoreApp.PanelEditor)).toEqual({
      queryType: 'categories',
      metric: 'offcpu',
      groupBy: 'category',
    });
  });

  it('replaces dashboard variables in every filter; a multi-value variable gives every value', () => {
    const query: WakeflowQuery = {
      refId: 'A',
      queryType: 'chains',
      sort: 'count',
      limit: 10,
      depth: 1,
      namespace: ['$namespace'],
      workload: ['${workload}'],
      pod: ['$pod', 'productpage-v1-a'],
      category: ['net.tcp'],
    };
    expect(new DataSource(instanceSettings).applyTemplateVariables(query, {})).toEqual({
      ...query,
      namespace: ['bookinfo'],
      workload: ['productpage-v1'],
      pod: ['productpage-v1-a', 'productpage-v1-b'],
    });
  });

  it('takes the panel’s scoped variables first (repeated panels)', () => {
    const query = { refId: 'A', queryType: 'preemption', pod: ['$pod'] } as StoredQuery;
    const scoped = { pod: { text: 'productpage-v1-c', value: 'productpage-v1-c' } };
    expect(new DataSource(instanceSettings).applyTemplateVariables(query as WakeflowQuery, scoped).pod).toEqual([
      'productpage-v1-c',
    ]);
  });

  it('sends no filter for a variable set to All', () => {
    const query = { refId: 'A', queryType: 'categories', pod: ['$allPods'], namespace: ['$namespace'] } as StoredQuery;
    const sent = new DataSource(instanceSettings).applyTemplateVariables(query as WakeflowQuery, {});
    expect(sent.pod).toBeUndefined();
    expect(sent.namespace).toEqual(['bookinfo']);
  });

  it('sends no filter for a variable the dashboard does not define (a panel copied into another dashboard)', () => {
    const query = {
      refId: 'A',
      queryType: 'chains',
      pod: ['$pod'],
      workload: ['$workload'],
      thread: ['$thread'],
    } as StoredQuery;
    const sent = new DataSource(instanceSettings).applyTemplateVariables(query as WakeflowQuery, {});
    expect(sent.thread).toBeUndefined();
    expect(sent.workload).toEqual(['productpage-v1']);
  });

  it('completes a stored query with missing options and reads the first frontend’s single-value filters', () => {
    const stored = { refId: 'A', queryType: 'edges', limit: 20, namespace: '$namespace' } as StoredQuery;
    expect(new DataSource(instanceSettings).applyTemplateVariables(stored as WakeflowQuery, {})).toEqual({
      refId: 'A',
      queryType: 'chains',
      sort: 'offcpu',
      limit: 20,
      depth: 1,
      namespace: ['bookinfo'],
    });
  });

  it('does not send hidden queries', () => {
    const ds = new DataSource(instanceSettings);
    expect(ds.filterQuery({ refId: 'A', queryType: 'targets', hide: true })).toBe(false);
    expect(ds.filterQuery({ refId: 'A', queryType: 'targets' })).toBe(true);
  });

  it('asks a values resource with the filters above it, variables replaced, and the time range', async () => {
    const calls = backend(() => ({ values: ['productpage-v1-a'], warnings: ['10.0.0.9:9781: timeout'] }));
    const range = getDefaultTimeRange();
    const answer = await new DataSource(instanceSettings).fetchValues('pods', { namespace: ['$namespace'] }, range);
    expect(answer).toEqual({ values: ['productpage-v1-a'], warnings: ['10.0.0.9:9781: timeout'] });
    expect(calls[0].url).toBe('/api/datasources/uid/wakeflow-test/resources/pods');
    expect(calls[0].params).toEqual({ namespace: ['bookinfo'], from: range.from.valueOf(), to: range.to.valueOf() });
  });

  it('shows the health sentence and every agent’s answer on Save & test', async () => {
    backend(() => ({
      status: 'OK',
      message: '2 of 2 agents answered (pods traced: 7, events lost: 0)',
      details: {
        agents: [
          { agent: 'http://10.0.0.7:9781', ok: true, pods: 4 },
          { agent: 'http://10.0.0.8:9781', ok: true, pods: 3 },
        ],
      },
    }));
    await expect(new DataSource(instanceSettings).testDatasource()).resolves.toEqual({
      status: 'success',
      message: '2 of 2 agents answered (pods traced: 7, events lost: 0)',
      details: {
        message: 'Every agent answered: http://10.0.0.7:9781, http://10.0.0.8:9781.',
        verboseMessage: 'http://10.0.0.7:9781: ok (pods 4)\nhttp://10.0.0.8:9781: ok (pods 3)',
      },
    });
  });

  it('fails Save & test naming the agents that did not answer', async () => {
    backend(() => undefined, {
      status: 400,
      data: {
        status: 'ERROR',
        message: '1 of 2 agents answered: http://10.0.0.8:9781: 401 wrong token',
        details: {
          agents: [
            { agent: 'http://10.0.0.7:9781', ok: true },
            { agent: 'http://10.0.0.8:9781', ok: false, error: '401 wrong token' },
          ],
        },
      },
    });
    const failure = new DataSource(instanceSettings).testDatasource();
    await expect(failure).rejects.toMatchObject({
      status: 'error',
      message: '1 of 2 agents answered: http://10.0.0.8:9781: 401 wrong token',
      error: {
        details: {
          message: expect.stringContaining('Not answering: http://10.0.0.8:9781.'),
          verboseMessage: 'http://10.0.0.7:9781: ok\nhttp://10.0.0.8:9781: failed: 401 wrong token',
        },
      },
    });
  });
});
