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
  /** t (ms) -> value */
  points: Map<number, number>;
}

/**
 * Sums series by their labels after `relabel` (which can drop labels to roll
 * pods up into workloads, say); a series relabelled to null is dropped.
 */
export function sumSeries(
  lists: AgentSeries[][],
  relabel: (l: Labels) => Labels | null = (l) => l
): Map<string, SummedSeries> {
  const out = new Map<string, SummedSeries>();
  for (const list of lists) {
    for (const s of list) {
      const labels = relabel(s.labels);
      if (!labels) {
        continue;
      }
      const key = labelKey(labels);
      let acc = out.get(key);
      if (!acc) {
        acc = { labels, points: new Map() };
        out.set(key, acc);
      }
      for (const [t, v] of s.points) {
        acc.points.set(t, (acc.points.get(t) ?? 0) + v);
      }
    }
  }
  return out;
}

/** Keeps only these labels; one the agent left out (a pod's unknown workload) stays out. */
export function pickLabels(keys: readonly string[]): (l: Labels) => Labels {
  return (l) => Object.fromEntries(keys.filter((k) => k in l).map((k) => [k, l[k]]));
}

/** One timeseries-multi frame: a time field and one value field with the series' labels. */
export function seriesFrame(
  name: string,
  valueName: string,
  labels: Labels,
  points: Array<[number, number]>,
  config: FieldConfig
): Frame {
  const sorted = points.some((p, i) => i > 0 && p[0] < points[i - 1][0])
    ? [...points].sort((a, b) => a[0] - b[0])
    : points;
  const fields: Field[] = [
    field.timeMs(
      TIMESERIES.time,
      sorted.map((p) => p[0])
    ),
    field.float64(
      valueName,
      sorted.map((p) => p[1]),
      { labels, config }
    ),
  ];
  return { name, meta: { type: TIMESERIES.type, typeVersion: TIMESERIES.typeVersion }, fields };
}

/** Frames sorted by their labels so answers are stable from one refresh to the next. */
export function sortFrames(frames: Array<{ key: string; frame: Frame }>): Frame[] {
  return frames.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((f) => f.frame);
}
