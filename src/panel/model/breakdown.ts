// SPDX-License-Identifier: Apache-2.0
/*
 * Shares of off-CPU time and of wakeups per category and per activity over
 * the panel's chains. The preempted share (both preempt.* categories) is
 * computed apart, because it is the one an SRE looks for first.
 */
import { isPreemptCategory } from '../../common/categories';
import type { ChainRow } from './chains';
import { NO_ACTIVITY_KEY } from './graph';

export interface Share {
  key: string;
  offcpu: number;
  count: number;
  offcpuShare: number;
  countShare: number;
}

export interface Breakdown {
  categories: Share[];
  activities: Share[];
  preempted: { offcpuShare: number; countShare: number; offcpu: number; count: number };
  totalOffcpu: number;
  totalCount: number;
}

function shares(
  rows: readonly ChainRow[],
  keyOf: (r: ChainRow) => string,
  totalOffcpu: number,
  totalCount: number
): Share[] {
  const acc = new Map<string, { offcpu: number; count: number }>();
  for (const row of rows) {
    const key = keyOf(row);
    const a = acc.get(key) ?? { offcpu: 0, count: 0 };
    a.offcpu += row.offcpu;
    a.count += row.count;
    acc.set(key, a);
  }
  return [...acc.entries()]
    .map(([key, a]) => ({
      key,
      ...a,
      offcpuShare: totalOffcpu > 0 ? a.offcpu / totalOffcpu : 0,
      countShare: totalCount > 0 ? a.count / totalCount : 0,
    }))
    .sort((a, b) => b.offcpu - a.offcpu || b.count - a.count || a.key.localeCompare(b.key));
}

export function computeBreakdown(rows: readonly ChainRow[]): Breakdown {
  let totalOffcpu = 0;
  let totalCount = 0;
  let preOff = 0;
  let preCount = 0;
  for (const row of rows) {
    totalOffcpu += row.offcpu;
    totalCount += row.count;
    if (isPreemptCategory(row.category)) {
      preOff += row.offcpu;
      preCount += row.count;
    }
  }
  return {
    categories: shares(rows, (r) => r.category, totalOffcpu, totalCount),
    activities: shares(rows, (r) => r.activity || NO_ACTIVITY_KEY, totalOffcpu, totalCount),
    preempted: {
      offcpu: preOff,
      count: preCount,
      offcpuShare: totalOffcpu > 0 ? preOff / totalOffcpu : 0,
      countShare: totalCount > 0 ? preCount / totalCount : 0,
    },
    totalOffcpu,
    totalCount,
  };
}
