// SPDX-License-Identifier: Apache-2.0
import { FILTERS_OF, QUERY_DEFAULTS, QUERY_TYPES } from '../shared/query';
import { QUERY_EXAMPLES } from './examples';
import { filterValues, normalizeQuery, switchQueryType, withFilter } from './query';
import type { StoredQuery } from './types';

describe('normalizeQuery', () => {
  it.each(QUERY_TYPES)('completes a bare %s query with the shared defaults', (queryType) => {
    expect(normalizeQuery({ refId: 'A', queryType })).toEqual({ refId: 'A', queryType, ...QUERY_DEFAULTS[queryType] });
  });

  it('replaces options of the wrong type or out of range by their defaults', () => {
    const q = normalizeQuery({
      refId: 'A',
      queryType: 'chains',
      sort: 'bogus',
      limit: 5000,
      depth: 0.5,
    } as StoredQuery);
    expect(q).toEqual({ refId: 'A', queryType: 'chains', ...QUERY_DEFAULTS.chains });
  });

  it('reads an unknown query type as categories', () => {
    expect(normalizeQuery({ refId: 'A', queryType: 'histogram' }).queryType).toBe('categories');
  });

  it('keeps only the filters a type takes, as lists of trimmed values', () => {
    const q = normalizeQuery({
      refId: 'A',
      queryType: 'preemption',
      pod: [' a ', '', 'b'],
      category: ['net'],
      activity: 'x',
    } as StoredQuery);
    expect(q).toEqual({ refId: 'A', queryType: 'preemption', ...QUERY_DEFAULTS.preemption, pod: ['a', 'b'] });
  });

  it('reads the first frontend’s series and edges queries', () => {
    expect(
      normalizeQuery({ refId: 'A', queryType: 'series', metric: 'preempt_count_ratio', by: 'pod' } as StoredQuery)
    ).toMatchObject({
      queryType: 'preemption',
      ratio: 'count',
    });
    expect(
      normalizeQuery({ refId: 'A', queryType: 'series', metric: 'runq', by: 'role' } as StoredQuery)
    ).toMatchObject({
      queryType: 'categories',
      metric: 'runq',
      groupBy: 'role',
    });
    expect(normalizeQuery({ refId: 'A', queryType: 'edges', limit: 20, sort: 'count' } as StoredQuery)).toMatchObject({
      queryType: 'chains',
      limit: 20,
      sort: 'count',
    });
  });

  it('keeps Grafana’s own fields', () => {
    const datasource = { type: 'wakeflow-offwake-datasource', uid: 'x' };
    expect(normalizeQuery({ refId: 'B', hide: true, datasource, queryType: 'targets' })).toEqual({
      refId: 'B',
      hide: true,
      datasource,
      queryType: 'targets',
    });
  });
});

describe('switching and filters', () => {
  it('switches type with the new type’s defaults', () => {
    const chains = normalizeQuery({ refId: 'A', queryType: 'chains', limit: 7, workload: ['w'] } as StoredQuery);
    expect(switchQueryType(chains, 'flamegraph')).toEqual({
      refId: 'A',
      queryType: 'flamegraph',
      ...QUERY_DEFAULTS.flamegraph,
      workload: ['w'],
    });
  });

  it('sets and removes a filter', () => {
    const q = normalizeQuery({ refId: 'A', queryType: 'targets' });
    expect(withFilter(q, 'pod', ['p'])).toEqual({ ...q, pod: ['p'] });
    expect(withFilter({ ...q, pod: ['p'] }, 'pod', [])).toEqual(q);
  });

  it('reads a filter given as one string, a list, or garbage', () => {
    expect(filterValues('a')).toEqual(['a']);
    expect(filterValues(['a', 3, null, ' b '])).toEqual(['a', 'b']);
    expect(filterValues({ a: 1 })).toEqual([]);
  });
});

describe('cheat sheet', () => {
  it.each(QUERY_EXAMPLES.map((e) => [e.id, e] as const))('%s is a query the model keeps as written', (_, example) => {
    const q = normalizeQuery({ refId: 'A', ...example.query } as StoredQuery);
    expect(q).toMatchObject(example.query);
    for (const key of Object.keys(example.query)) {
      if (!['queryType', ...Object.keys(QUERY_DEFAULTS[q.queryType])].includes(key)) {
        expect(FILTERS_OF[q.queryType]).toContain(key);
      }
    }
  });
});
