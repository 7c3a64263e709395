// SPDX-License-Identifier: Apache-2.0
/*
 * The `chains` table frame (src/shared/frames.ts CHAIN_FIELDS) read into one
 * object per waker → target edge. Missing optional fields read as empty, so
 * an older or newer backend still draws; missing essential ones make the
 * frame "not ours" with a sentence naming them.
 */
import type { DataFrame, Field, QueryResultMetaNotice } from '@grafana/data';

import {
  CHAIN_FIELDS,
  CHAIN_FRAMES,
  CHAIN_HOP_FIELDS,
  CHAIN_LINK_FIELDS,
  CHAIN_PATH_FIELDS,
} from '../../shared/frames';
import { parseExplanation, type Explanation } from './explanation';

/** A thread (or an interrupt) on a chain. */
export interface ChainHop {
  comm: string;
  proc: string;
  pid: number | null;
  tid: number | null;
  /** The context in which it woke the next hop; `task` for the target. */
  context: string;
}

/** The wakeup of one hop by the one before it, with its stacks where the agent sampled them. */
export interface ChainLink {
  category: string;
  activity: string;
  stacksSampled: boolean;
  wakerStack: string[];
  wakerKernelFrames: number;
  targetStack: string[];
  targetKernelFrames: number;
}

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
  /**
   * From the first cause to the target: two hops for a waker → target edge
   * (depth 1), up to five for a multi-hop chain (the `hop<k>_*` columns).
   */
  hops: ChainHop[];
  /** One fewer than `hops`; the last is the row's own category, activity and stacks. */
  links: ChainLink[];
  /** Why the chain has no earlier hop (`interrupt`, `depth`, `untracked`, `none`); empty for an edge. */
  endedBy: string;
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
  const path = chainPathReader(r);
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
      hops: [],
      links: [],
      endedBy: '',
    };
    path(row, i);
    rows.push(withLazyExplanation(row, get.explanation(i)));
  }
  return rows;
}

type Reader = ReturnType<typeof fieldReader>;
type RowBase = Omit<ChainRow, 'explanation'>;

/**
 * Fills a row's hops and links: from the `hops`, `hop<k>_*` and `link<k>_*`
 * columns of a multi-hop table, or, for a table of edges, its waker and target.
 */
function chainPathReader(r: Reader): (row: RowBase, i: number) => void {
  const H = CHAIN_HOP_FIELDS;
  const L = CHAIN_LINK_FIELDS;
  const hopsOf = r.optNum(CHAIN_PATH_FIELDS.hops);
  const endedBy = r.str(CHAIN_PATH_FIELDS.endedBy);
  // Columns exist up to the query's depth: hop k for k = 1..D, link k for k = 2..D.
  let depth = 0;
  while (r.has(H.comm(depth + 1))) {
    depth++;
  }
  const hop = Array.from({ length: depth + 1 }, (_, k) => ({
    comm: r.str(H.comm(k)),
    proc: r.str(H.proc(k)),
    pid: r.optNum(H.pid(k)),
    tid: r.optNum(H.tid(k)),
    context: r.str(H.context(k)),
  }));
  const link = Array.from({ length: depth + 1 }, (_, k) => ({
    category: r.str(L.category(k)),
    activity: r.str(L.activity(k)),
    sampled: r.bool(L.stacksSampled(k)),
    wakerStack: r.str(L.wakerStack(k)),
    wakerKernelFrames: r.num(L.wakerStackKernelFrames(k)),
    targetStack: r.str(L.targetStack(k)),
    targetKernelFrames: r.num(L.targetStackKernelFrames(k)),
  }));
  return (row, i) => {
    const ownLink: ChainLink = {
      category: row.category,
      activity: row.activity,
      stacksSampled: row.stacksSampled,
      wakerStack: row.wakerStack,
      wakerKernelFrames: row.wakerKernelFrames,
      targetStack: row.targetStack,
      targetKernelFrames: row.targetKernelFrames,
    };
    const target: ChainHop = {
      comm: row.targetComm,
      proc: row.targetProc,
      pid: row.targetPid,
      tid: row.targetTid,
      context: 'task',
    };
    const waker: ChainHop = {
      comm: row.wakerComm,
      proc: depth >= 1 ? hop[1].proc(i) : '',
      pid: row.wakerPid,
      tid: row.wakerTid,
      context: row.wakerContext,
    };
    // Hops counted back from the target: 1 is the waker; more only where the table says the chain has them.
    const back = Math.min(depth, Math.max(1, (hopsOf(i) ?? 2) - 1));
    const earlier: ChainHop[] = [];
    const earlierLinks: ChainLink[] = [];
    for (let k = back; k >= 2; k--) {
      earlier.push({
        comm: hop[k].comm(i),
        proc: hop[k].proc(i),
        pid: hop[k].pid(i),
        tid: hop[k].tid(i),
        context: hop[k].context(i) || 'unknown',
      });
      earlierLinks.push({
        category: link[k].category(i) || 'other',
        activity: link[k].activity(i),
        stacksSampled: link[k].sampled(i),
        wakerStack: lines(link[k].wakerStack(i)),
        wakerKernelFrames: link[k].wakerKernelFrames(i),
        targetStack: lines(link[k].targetStack(i)),
        targetKernelFrames: link[k].targetKernelFrames(i),
      });
    }
    row.hops = [...earlier, waker, target];
    row.links = [...earlierLinks, ownLink];
    row.endedBy = endedBy(i);
  };
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

/**
 * Link `i` of a chain (0: the first cause's wakeup) as a row of its own, for
 * its stacks: waker and target are the hops it joins. The last link is the
 * row itself (its explanation included); the agent keeps no explanation for
 * the earlier ones.
 */
export function linkRow(row: ChainRow, i: number): ChainRow {
  if (i === row.links.length - 1) {
    return row;
  }
  const link = row.links[i];
  const waker = row.hops[i];
  const target = row.hops[i + 1];
  return {
    ...row,
    wakerComm: waker.comm,
    wakerPid: waker.pid,
    wakerTid: waker.tid,
    wakerContext: waker.context,
    targetComm: target.comm,
    targetProc: target.proc,
    targetPid: target.pid,
    targetTid: target.tid,
    kind: 'blocked',
    category: link.category,
    activity: link.activity,
    preemptor: '',
    wakerStack: link.wakerStack,
    wakerKernelFrames: link.wakerKernelFrames,
    targetStack: link.targetStack,
    targetKernelFrames: link.targetKernelFrames,
    stacksSampled: link.stacksSampled,
    explanation: { decisions: [] },
    facts: [],
  };
}
