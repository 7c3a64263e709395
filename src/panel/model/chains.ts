// SPDX-License-Identifier: Apache-2.0
/*
 * The `chains` table frame (src/shared/frames.ts CHAIN_FIELDS) read into one
 * object per waker → target edge. Missing optional fields read as empty, so
 * an older or newer backend still draws; missing essential ones make the
 * frame "not ours" with a sentence naming them.
 */
import type { DataFrame, Field, QueryResultMetaNotice } from '@grafana/data';

import { CHAIN_FIELDS, CHAIN_FRAMES } from '../../shared/frames';
import { parseExplanation, type Explanation } from './explanation';

export interface ChainRow {
  /** Position in the frame: the stable key of the row within one data update. */
  index: number;
  id: string;
  node: string;
  wakerComm: string;
  wakerPid: number | null;
  wakerTid: number | null;
  wakerContext: string;
  targetProc: string;
  targetComm: string;
  targetPid: number | null;
  targetTid: number | null;
  targetRole: string;
  kind: string;
  category: string;
  activity: string;
  count: number;
  /** Seconds. */
  offcpu: number;
  offcpuMax: number;
  runq: number;
  preemptor: string;
  /** Innermost frame first, as the agent returns them. */
  wakerStack: string[];
  wakerKernelFrames: number;
  targetStack: string[];
  targetKernelFrames: number;
  stacksSampled: boolean;
  /** Parsed on first use (the details of a selected chain), not for every row of a 2,000-row frame. */
  readonly explanation: Explanation;
  facts: string[];
  namespace: string;
  workload: string;
  pod: string;
  labels: Record<string, string>;
}

export interface ChainsData {
  rows: ChainRow[];
  /** Agent failures and other notices of every frame of the response (a partial answer). */
  notices: QueryResultMetaNotice[];
}

const ESSENTIAL = [CHAIN_FIELDS.wakerComm, CHAIN_FIELDS.targetComm, CHAIN_FIELDS.category, CHAIN_FIELDS.offcpu];

export class NotChainsError extends Error {}

/** Whether a frame is the chains table (by name, or by its fields when a transformation renamed it). */
export function isChainsFrame(frame: DataFrame): boolean {
  return frame.name === CHAIN_FRAMES.table || ESSENTIAL.every((name) => frame.fields.some((f) => f.name === name));
}

function fieldReader(frame: DataFrame) {
  const byName = new Map<string, Field>(frame.fields.map((f) => [f.name, f]));
  const values = (name: string): ArrayLike<unknown> | undefined =>
    byName.get(name)?.values as ArrayLike<unknown> | undefined;
  return {
    has: (name: string) => byName.has(name),
    str: (name: string) => {
      const v = values(name);
      return (i: number) => (v && v[i] !== null && v[i] !== undefined ? String(v[i]) : '');
    },
    num: (name: string) => {
      const v = values(name);
      return (i: number) => {
        const x = v ? Number(v[i]) : NaN;
        return Number.isFinite(x) ? x : 0;
      };
    },
    optNum: (name: string) => {
      const v = values(name);
      return (i: number) => {
        const raw = v?.[i];
        const x = raw === null || raw === undefined || raw === '' ? NaN : Number(raw);
        return Number.isFinite(x) ? x : null;
      };
    },
    bool: (name: string) => {
      const v = values(name);
      return (i: number) => v?.[i] === true || v?.[i] === 'true';
    },
  };
}

const lines = (text: string): string[] => (text === '' ? [] : text.split('\n'));

function parseLabels(text: string): Record<string, string> {
  if (text === '') {
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
    }
  } catch {
    // A label string the panel cannot read is shown as nothing rather than breaking the panel.
  }
  return {};
}

/** Gives a row an `explanation` that parses its JSON when first read, then keeps the result. */
function withLazyExplanation(row: Omit<ChainRow, 'explanation'>, text: string): ChainRow {
  let parsed: Explanation | undefined;
  Object.defineProperty(row, 'explanation', {
    enumerable: true,
    get: () => (parsed ??= parseExplanation(text, row.wakerStack.length, row.targetStack.length)),
  });
  return row as ChainRow;
}

export function readChainsFrame(frame: DataFrame): ChainRow[] {
  const r = fieldReader(frame);
  const missing = ESSENTIAL.filter((name) => !r.has(name));
  if (missing.length > 0) {
    throw new NotChainsError(
      `The frame "${frame.name ?? ''}" is not a wakeflow chains table: it has no ${missing.join(', ')} field. Use the Chains query of the Wakeflow data source.`
    );
  }
  const F = CHAIN_FIELDS;
  const get = {
    id: r.str(F.id),
    node: r.str(F.node),
    wakerComm: r.str(F.wakerComm),
    wakerPid: r.optNum(F.wakerPid),
    wakerTid: r.optNum(F.wakerTid),
    wakerContext: r.str(F.wakerContext),
    targetProc: r.str(F.targetProc),
    targetComm: r.str(F.targetComm),
    targetPid: r.optNum(F.targetPid),
    targetTid: r.optNum(F.targetTid),
    targetRole: r.str(F.targetRole),
    kind: r.str(F.kind),
    category: r.str(F.category),
    activity: r.str(F.activity),
    count: r.num(F.count),
    offcpu: r.num(F.offcpu),
    offcpuMax: r.num(F.offcpuMax),
    runq: r.num(F.runq),
    preemptor: r.str(F.preemptor),
    wakerStack: r.str(F.wakerStack),
    wakerKernelFrames: r.num(F.wakerStackKernelFrames),
    targetStack: r.str(F.targetStack),
    targetKernelFrames: r.num(F.targetStackKernelFrames),
    stacksSampled: r.bool(F.stacksSampled),
    explanation: r.str(F.explanation),
    facts: r.str(F.facts),
    namespace: r.str(F.namespace),
    workload: r.str(F.workload),
    pod: r.str(F.pod),
    labels: r.str(F.labels),
  };
  const rows: ChainRow[] = [];
  for (let i = 0; i < frame.length; i++) {
    const wakerStack = lines(get.wakerStack(i));
    const targetStack = lines(get.targetStack(i));
    const row: Omit<ChainRow, 'explanation'> = {
      index: i,
      id: get.id(i) || `row-${i}`,
      node: get.node(i),
      wakerComm: get.wakerComm(i),
      wakerPid: get.wakerPid(i),
      wakerTid: get.wakerTid(i),
      wakerContext: get.wakerContext(i),
      targetProc: get.targetProc(i),
      targetComm: get.targetComm(i),
      targetPid: get.targetPid(i),
      targetTid: get.targetTid(i),
      targetRole: get.targetRole(i),
      kind: get.kind(i),
      category: get.category(i) || 'other',
      activity: get.activity(i),
      count: get.count(i),
      offcpu: get.offcpu(i),
      offcpuMax: get.offcpuMax(i),
      runq: get.runq(i),
      preemptor: get.preemptor(i),
      wakerStack,
      wakerKernelFrames: get.wakerKernelFrames(i),
      targetStack,
      targetKernelFrames: get.targetKernelFrames(i),
      stacksSampled: get.stacksSampled(i),
      facts: lines(get.facts(i)),
      namespace: get.namespace(i),
      workload: get.workload(i),
      pod: get.pod(i),
      labels: parseLabels(get.labels(i)),
    };
    rows.push(withLazyExplanation(row, get.explanation(i)));
  }
  return rows;
}

/** The chains of a panel's data: every chains frame (one per chains query), and every notice of the response. */
export function readChains(series: DataFrame[]): ChainsData {
  const notices: QueryResultMetaNotice[] = [];
  for (const frame of series) {
    for (const notice of frame.meta?.notices ?? []) {
      if (!notices.some((n) => n.text === notice.text)) {
        notices.push(notice);
      }
    }
  }
  const tables = series.filter(isChainsFrame);
  if (tables.length === 0) {
    const first = series.find((f) => f.fields.length > 0);
    if (first) {
      readChainsFrame(first); // throws NotChainsError naming what is missing
    }
    return { rows: [], notices };
  }
  const rows = tables.flatMap(readChainsFrame);
  rows.forEach((row, i) => (row.index = i));
  return { rows, notices };
}
