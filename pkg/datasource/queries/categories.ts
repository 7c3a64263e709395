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
import { groupLabels, groupName, seriesFrame, sortFrames, sumSeries } from './series';

const UNITS: Record<CategoriesQueryModel['metric'], string> = {
  offcpu: 'suffix: s/s',
  wakeups: 'suffix: /s',
  runq: 'suffix: s/s',
};

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
    ok.map((r) => ({ node: r.agent.name, series: r.value.series })),
    groupLabels(m.groupBy)
  );
  const frames = sortFrames(
    [...summed.entries()].map(([key, s]) => {
      const config: FieldConfig = { unit: UNITS[m.metric], displayNameFromDS: groupName(m.groupBy, s.labels) };
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
