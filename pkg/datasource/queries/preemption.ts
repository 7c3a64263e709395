// SPDX-License-Identifier: Apache-2.0
/*
 * `preemption`: the alertable ratio per pod or workload. A ratio over
 * several agents (or a workload's pods) is computed from summed parts:
 * time = preempted / (on CPU + preempted), count = involuntary / switches
 * (docs/metrics.md), never an average of ratios. With `throttled`, the
 * cgroups' CPU throttling (seconds per second) per group comes beside it.
 */
import { SERIES_VALUE_FIELDS } from '../../../src/shared/frames';
import { FILTERS_OF, PreemptionQueryModel } from '../../../src/shared/query';
import { Frame, Notice } from '../../protocol/frame';
import { SeriesAnswer, getSeries } from '../agent-api';
import { Params } from '../agent-client';
import { DecodedQuery } from '../query';
import { QueryAnswer, QueryEnv, askAll, filterParams, queryString, rangeParams, stepMs } from './context';
import { groupLabels, groupName, seriesFrame, sortFrames, sumSeries, valuesAt } from './series';

/** The two summed parts of each ratio: [numerator metric, the metric added to it for the denominator or the denominator]. */
const PARTS = {
  time: { num: 'preempted', den: 'oncpu', denIncludesNum: false, field: SERIES_VALUE_FIELDS.preemptionTime },
  count: { num: 'involuntary', den: 'switches', denIncludesNum: true, field: SERIES_VALUE_FIELDS.preemptionCount },
} as const;

/** The throttling series cannot be split by thread or role (a cgroup property). */
const THROTTLED_FILTERS = ['namespace', 'workload', 'pod'] as const;

export async function preemptionQuery(q: DecodedQuery, m: PreemptionQueryModel, env: QueryEnv): Promise<QueryAnswer> {
  const parts = PARTS[m.ratio];
  const common: Params = [
    ...rangeParams(q),
    ['step', String(stepMs(q))],
    ['by', m.groupBy],
    ...filterParams(m, FILTERS_OF.preemption),
  ];
  const numParams: Params = [...common, ['metric', parts.num]];
  const denParams: Params = [...common, ['metric', parts.den]];
  const thrParams: Params = [
    ...rangeParams(q),
    ['step', String(stepMs(q))],
    ['by', m.groupBy],
    ['metric', 'throttled'],
    ...filterParams(m, THROTTLED_FILTERS),
  ];

  const { ok, notices, failed } = await askAll(env, async (a) => {
    const [n, d, t] = await Promise.all([
      getSeries(a, numParams, env.client),
      getSeries(a, denParams, env.client),
      m.throttled ? getSeries(a, thrParams, env.client) : Promise.resolve<SeriesAnswer | null>(null),
    ]);
    return { n, d, t };
  });
  const relabel = groupLabels(m.groupBy);
  const nums = sumSeries(
    ok.map((r) => ({ node: r.agent.name, series: r.value.n.series })),
    relabel
  );
  const dens = sumSeries(
    ok.map((r) => ({ node: r.agent.name, series: r.value.d.series })),
    relabel
  );

  const out: Array<{ key: string; frame: Frame }> = [];
  for (const [key, den] of dens) {
    const nv = valuesAt(nums.get(key), den.t);
    const t = new Float64Array(den.t.length);
    const v = new Float64Array(den.t.length);
    let n = 0;
    for (let i = 0; i < den.t.length; i++) {
      const total = parts.denIncludesNum ? den.v[i] : den.v[i] + nv[i];
      // No point where the group neither ran nor was preempted (docs/api.md).
      if (total > 0) {
        t[n] = den.t[i];
        v[n++] = Math.min(1, Math.max(0, nv[i] / total));
      }
    }
    out.push({
      key: `0${key}`,
      frame: seriesFrame(
        parts.field,
        parts.field,
        den.labels,
        { t: t.subarray(0, n), v: v.subarray(0, n) },
        {
          unit: 'percentunit',
          min: 0,
          max: 1,
          displayNameFromDS: groupName(m.groupBy, den.labels),
        }
      ),
    });
  }
  if (m.throttled) {
    const thr = sumSeries(
      ok.map((r) => ({ node: r.agent.name, series: r.value.t?.series ?? [] })),
      relabel
    );
    for (const [key, s] of thr) {
      out.push({
        key: `1${key}`,
        frame: seriesFrame(SERIES_VALUE_FIELDS.throttled, SERIES_VALUE_FIELDS.throttled, s.labels, s, {
          unit: 'suffix: s/s',
          displayNameFromDS: `${groupName(m.groupBy, s.labels)} throttled`,
        }),
      });
    }
    if ((m.role?.length ?? 0) > 0 || (m.thread?.length ?? 0) > 0) {
      notices.push({
        severity: 'info',
        text: "throttled is a property of the pod's cgroup: the role and thread filters do not apply to it",
      });
    }
  }
  const frames = sortFrames(out);
  const extra: Notice[] = [];
  for (const r of ok) {
    for (const a of [r.value.n, r.value.d, r.value.t]) {
      if (a?.warning) {
        extra.push({ severity: 'warning', text: `agent ${r.agent.name}: ${a.warning}` });
      }
    }
  }
  if (frames.length > 0) {
    frames[0].meta = { ...frames[0].meta, executedQueryString: queryString('GET /api/v1/series', denParams) };
  }
  return { frames, notices: [...notices, ...dedupe(extra)], failedAgents: failed };
}

function dedupe(n: Notice[]): Notice[] {
  const seen = new Set<string>();
  return n.filter((x) => (seen.has(x.text) ? false : (seen.add(x.text), true)));
}
