// SPDX-License-Identifier: Apache-2.0
/*
 * Time series from several agents, summed: agents' windows are aligned to
 * the wall clock and the step is the same for all, so points of equal labels
 * meet on equal timestamps. Only rates and seconds-per-second are summed
 * here; ratios are computed afterwards from summed parts (never averaged).
 */
import { TIMESERIES } from '../../../src/shared/frames';
import { Field, FieldConfig, Frame, field } from '../../protocol/frame';
import { AgentSeries } from '../agent-api';

export type Labels = Record<string, string>;

/** Labels each grouping's series carry (the agent's, docs/api.md). */
export const GROUP_LABELS = {
  category: ['category'],
  activity: ['activity'],
  role: ['role'],
  pod: ['namespace', 'workload', 'pod'],
  workload: ['namespace', 'workload'],
} as const satisfies Record<string, readonly string[]>;
export type Grouping = keyof typeof GROUP_LABELS;

/** The label naming the agent a pod or workload series came from when it is outside Kubernetes. */
export const NODE_LABEL = 'node';

/** One agent's series, with the agent's name (host:port, as frames and notices name it). */
export interface AgentSeriesList {
  node: string;
  series: AgentSeries[];
}

/** Sorted label set as a map key. */
export function labelKey(labels: Labels): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]])
  );
}

export interface SummedSeries {
  labels: Labels;
  /** Point i is [t[i] (ms), v[i]], ascending in t, one point per t. */
  t: Float64Array;
  v: Float64Array;
}

/** Sorted series summed point by point: a merge, since every part is in ascending order. */
export function sumSorted(parts: ReadonlyArray<{ t: Float64Array; v: Float64Array }>): {
  t: Float64Array;
  v: Float64Array;
} {
  if (parts.length === 1 && strictlyAscending(parts[0].t)) {
    // Its columns only: the part is an agent's series, whose labels are not the group's.
    return { t: parts[0].t, v: parts[0].v };
  }
  const total = parts.reduce((n, p) => n + p.t.length, 0);
  const t = new Float64Array(total);
  const v = new Float64Array(total);
  const at = new Array<number>(parts.length).fill(0);
  let n = 0;
  for (;;) {
    let next = Infinity;
    for (let k = 0; k < parts.length; k++) {
      if (at[k] < parts[k].t.length && parts[k].t[at[k]] < next) {
        next = parts[k].t[at[k]];
      }
    }
    if (next === Infinity) {
      break;
    }
    let sum = 0;
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k];
      while (at[k] < p.t.length && p.t[at[k]] === next) {
        sum += p.v[at[k]++];
      }
    }
    t[n] = next;
    v[n++] = sum;
  }
  return { t: t.subarray(0, n), v: v.subarray(0, n) };
}

function strictlyAscending(t: Float64Array): boolean {
  for (let i = 1; i < t.length; i++) {
    if (!(t[i] > t[i - 1])) {
      return false;
    }
  }
  return true;
}

/**
 * Sums series by their labels after `relabel` (which can drop labels to roll
 * pods up into workloads, say, and is told which agent a series came from);
 * a series relabelled to null is dropped.
 */
export function sumSeries(
  lists: readonly AgentSeriesList[],
  relabel: (l: Labels, node: string) => Labels | null = (l) => l
): Map<string, SummedSeries> {
  const groups = new Map<string, { labels: Labels; parts: AgentSeries[] }>();
  for (const { node, series } of lists) {
    for (const s of series) {
      const labels = relabel(s.labels, node);
      if (!labels) {
        continue;
      }
      const key = labelKey(labels);
      const g = groups.get(key);
      if (g) {
        g.parts.push(s);
      } else {
        groups.set(key, { labels, parts: [s] });
      }
    }
  }
  const out = new Map<string, SummedSeries>();
  for (const [key, g] of groups) {
    out.set(key, { labels: g.labels, ...sumSorted(g.parts) });
  }
  return out;
}

/** The value of `s` at each of the times `at` (0 where it has none); both ascending. */
export function valuesAt(s: { t: Float64Array; v: Float64Array } | undefined, at: Float64Array): Float64Array {
  const out = new Float64Array(at.length);
  if (!s) {
    return out;
  }
  let j = 0;
  for (let i = 0; i < at.length; i++) {
    while (j < s.t.length && s.t[j] < at[i]) {
      j++;
    }
    if (j < s.t.length && s.t[j] === at[i]) {
      out[i] = s.v[j];
    }
  }
  return out;
}

/** Keeps only these labels; one the agent left out (a pod's unknown workload) stays out. */
export function pickLabels(keys: readonly string[]): (l: Labels) => Labels {
  return (l) => Object.fromEntries(keys.filter((k) => Object.hasOwn(l, k)).map((k) => [k, l[k]]));
}

const isPodLike = (g: Grouping): g is 'pod' | 'workload' => g === 'pod' || g === 'workload';

/**
 * The labels a series keeps under a grouping. Outside Kubernetes the agent
 * reports every traced process under empty namespace and pod (or workload)
 * labels: they are that host's processes, so such a series stays its
 * agent's own (label `node`, the agent's host:port) instead of being summed
 * with other machines' into one nameless group.
 */
export function groupLabels(groupBy: Grouping): (l: Labels, node: string) => Labels {
  const keys = GROUP_LABELS[groupBy];
  const pick = pickLabels(keys);
  if (!isPodLike(groupBy)) {
    return (l) => pick(l);
  }
  return (l, node) => {
    const kept = pick(l);
    return keys.every((k) => !kept[k]) ? { ...kept, [NODE_LABEL]: node } : kept;
  };
}

/**
 * A group's display name (the legend's): `namespace/pod` or
 * `namespace/workload`, the node outside Kubernetes, the label otherwise.
 */
export function groupName(groupBy: Grouping, l: Labels): string {
  if (!isPodLike(groupBy)) {
    return l[groupBy] ?? '';
  }
  const named = [l.namespace, groupBy === 'pod' ? l.pod : l.workload].filter((x) => !!x);
  return named.length > 0 ? named.join('/') : (l[NODE_LABEL] ?? 'outside Kubernetes');
}

/** One timeseries-multi frame: a time field and one value field with the series' labels; t ascending. */
export function seriesFrame(
  name: string,
  valueName: string,
  labels: Labels,
  points: { t: Float64Array; v: Float64Array },
  config: FieldConfig
): Frame {
  const fields: Field[] = [
    field.timeMs(TIMESERIES.time, points.t),
    field.float64(valueName, points.v, { labels, config }),
  ];
  return { name, meta: { type: TIMESERIES.type, typeVersion: TIMESERIES.typeVersion }, fields };
}

/** Frames sorted by their labels so answers are stable from one refresh to the next. */
export function sortFrames(frames: Array<{ key: string; frame: Frame }>): Frame[] {
  return frames.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((f) => f.frame);
}
