// SPDX-License-Identifier: Apache-2.0
/*
 * `categories`: where Envoy's time goes, over time. One agent series call
 * each (`/api/v1/series?metric=&by=`), summed over agents by labels, one
 * timeseries-multi frame per group.
 */
import { CategoriesQueryModel, FILTERS_OF } from '../../../src/shared/query';
import { categoryColor } from '../../../src/shared/taxonomy';
import { FieldConfig } from '../../protocol/frame';
import { getSeries } from '../agent-api';
import { DecodedQuery } from '../query';
import { QueryAnswer, QueryEnv, askAll, filterParams, queryString, rangeParams, stepMs } from './context';
import { Labels, pickLabels, seriesFrame, sortFrames, sumSeries } from './series';

/** Labels each grouping's series carry (the agent's, docs/api.md). */
export const GROUP_LABELS: Record<CategoriesQueryModel['groupBy'], readonly string[]> = {
  category: ['category'],
  activity: ['activity'],
  role: ['role'],
  pod: ['namespace', 'workload', 'pod'],
  workload: ['namespace', 'workload'],
};

const UNITS: Record<CategoriesQueryModel['metric'], string> = {
  offcpu: 'suffix: s/s',
  wakeups: 'suffix: /s',
  runq: 'suffix: s/s',
};

function displayName(groupBy: CategoriesQueryModel['groupBy'], l: Labels): string {
  switch (groupBy) {
    case 'pod':
      return `${l.namespace}/${l.pod}`;
    case 'workload':
      return `${l.namespace}/${l.workload}`;
    default:
      return l[groupBy] ?? '';
  }
}

export async function categoriesQuery(q: DecodedQuery, m: CategoriesQueryModel, env: QueryEnv): Promise<QueryAnswer> {
  const params = [
    ...rangeParams(q),
    ['step', String(stepMs(q))] as [string, string],
    ['metric', m.metric] as [string, string],
    ['by', m.groupBy] as [string, string],
    ...filterParams(m, FILTERS_OF.categories),
  ];
  const { ok, notices, failed } = await askAll(env, (a) => getSeries(a, params, env.client));
  const summed = sumSeries(
    ok.map((r) => r.value.series),
    pickLabels(GROUP_LABELS[m.groupBy])
  );
  const frames = sortFrames(
    [...summed.entries()].map(([key, s]) => {
      const config: FieldConfig = { unit: UNITS[m.metric], displayNameFromDS: displayName(m.groupBy, s.labels) };
      if (m.groupBy === 'category') {
        config.color = { mode: 'fixed', fixedColor: categoryColor(s.labels.category ?? '') };
      }
      return { key, frame: seriesFrame(m.metric, m.metric, s.labels, s, config) };
    })
  );
  for (const r of ok) {
    if (r.value.truncated) {
      notices.push({
        severity: 'warning',
        text: `agent ${r.agent.name} returned only its first 500 series: add filters`,
      });
    }
    if (r.value.warning) {
      notices.push({ severity: 'warning', text: `agent ${r.agent.name}: ${r.value.warning}` });
    }
  }
  if (frames.length > 0) {
    frames[0].meta = { ...frames[0].meta, executedQueryString: queryString('GET /api/v1/series', params) };
  }
  return { frames, notices, failedAgents: failed };
}
