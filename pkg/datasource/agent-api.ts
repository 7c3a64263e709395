// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's answers (docs/api.md) as the backend uses them. An answer is
 * first checked for the shape of a wakeflow agent's (else "not a wakeflow
 * agent"), then every value is read defensively: a field of the wrong type
 * becomes its empty value rather than an exception in a frame builder.
 */
import { Agent } from './discovery';
import { ClientOptions, Params, agentGet } from './agent-client';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const strList = (v: unknown): string[] =>
  Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : String(x))) : [];
function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string' || typeof x === 'number') {
        out[k] = String(x);
      }
    }
  }
  return out;
}

/* --- /api/v1/status ---------------------------------------------------- */

export interface AgentStatus {
  version: string;
  kernel: string;
  targets: number;
  lost: number;
  storeState: string;
}

const isStatus = (b: unknown): b is Json => isObj(b) && typeof b.version === 'string' && 'targets' in b;

export async function getStatus(agent: Agent, opts: ClientOptions): Promise<AgentStatus> {
  const b = await agentGet(agent, '/api/v1/status', [], opts, isStatus);
  const lost = isObj(b.lost) ? Object.values(b.lost).reduce<number>((s, v) => s + num(v), 0) : 0;
  return {
    version: str(b.version),
    kernel: str(b.kernel),
    targets: num(b.targets),
    lost,
    storeState: isObj(b.store) ? str(b.store.state) : '',
  };
}

/* --- /api/v1/targets --------------------------------------------------- */

export interface AgentTarget {
  pid: number;
  comm: string;
  exe: string;
  labels: Record<string, string>;
  alive: boolean;
  firstSeenMs: number;
  lastSeenMs: number;
}

const isTargets = (b: unknown): b is Json => isObj(b) && Array.isArray(b.targets);

export async function getTargets(agent: Agent, opts: ClientOptions): Promise<AgentTarget[]> {
  const b = await agentGet(agent, '/api/v1/targets', [], opts, isTargets);
  return (b.targets as unknown[]).filter(isObj).map((t) => ({
    pid: num(t.pid),
    comm: str(t.comm),
    exe: str(t.exe),
    labels: labelsOf(t.labels),
    alive: t.alive === true,
    firstSeenMs: num(t.first_seen_ms),
    lastSeenMs: num(t.last_seen_ms),
  }));
}

/* --- /api/v1/series ---------------------------------------------------- */

export interface AgentSeries {
  labels: Record<string, string>;
  /** [epoch ms, value], ascending. */
  points: Array<[number, number]>;
}

export interface SeriesAnswer {
  stepMs: number;
  series: AgentSeries[];
  truncated: boolean;
  warning: string;
}

const isSeries = (b: unknown): b is Json => isObj(b) && Array.isArray(b.series);

export async function getSeries(agent: Agent, params: Params, opts: ClientOptions): Promise<SeriesAnswer> {
  const b = await agentGet(agent, '/api/v1/series', params, opts, isSeries);
  const series: AgentSeries[] = [];
  for (const s of b.series as unknown[]) {
    if (!isObj(s) || !Array.isArray(s.points)) {
      continue;
    }
    const points: Array<[number, number]> = [];
    for (const p of s.points) {
      if (
        Array.isArray(p) &&
        typeof p[0] === 'number' &&
        Number.isFinite(p[0]) &&
        typeof p[1] === 'number' &&
        Number.isFinite(p[1])
      ) {
        points.push([p[0], p[1]]);
      }
    }
    // The agent sends points in order; sort only an answer that is not.
    if (points.some((pt, i) => i > 0 && pt[0] < points[i - 1][0])) {
      points.sort((x, y) => x[0] - y[0]);
    }
    series.push({ labels: labelsOf(s.labels), points });
  }
  return { stepMs: num(b.step_ms), series, truncated: b.truncated === true, warning: str(b.warning) };
}

/* --- /api/v1/edges ----------------------------------------------------- */

export interface Task {
  comm: string;
  proc: string;
  pid: number | null;
  tid: number | null;
}

export interface FrameRef {
  stack: 'waker' | 'target';
  index: number;
}

export interface Explanation {
  category: { rule: string; when: string; frames: FrameRef[]; facts: string[] } | null;
  activity: { rule: string; when: string; frames: FrameRef[]; facts: string[] } | null;
}

export interface AgentEdge {
  id: number;
  waker: Task & { context: string };
  target: Task & { role: string };
  kind: string;
  preemptor: Task | null;
  category: string;
  activity: string;
  count: number;
  offcpuUs: number;
  offcpuMaxUs: number | null;
  runqUs: number;
  stacksSampled: boolean;
  wakerStack: string[];
  wakerStackKernelFrames: number | null;
  targetStack: string[];
  targetStackKernelFrames: number | null;
  facts: string[];
  explanation: Explanation | null;
  labels: Record<string, string>;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface EdgesAnswer {
  matched: number;
  edges: AgentEdge[];
  warning: string;
}

function task(v: unknown): Task {
  const t = isObj(v) ? v : {};
  return { comm: str(t.comm), proc: str(t.proc), pid: numOrNull(t.pid), tid: numOrNull(t.tid) };
}

function frameRefs(v: unknown): FrameRef[] {
  if (!Array.isArray(v)) {
    return [];
  }
  const out: FrameRef[] = [];
  for (const f of v) {
    if (isObj(f) && (f.stack === 'waker' || f.stack === 'target') && Number.isInteger(f.index)) {
      out.push({ stack: f.stack, index: f.index as number });
    }
  }
  return out;
}

function rule(v: unknown): Explanation['category'] {
  if (!isObj(v)) {
    return null;
  }
  return { rule: str(v.rule), when: str(v.when), frames: frameRefs(v.frames), facts: strList(v.facts) };
}

function explanation(v: unknown): Explanation | null {
  return isObj(v) ? { category: rule(v.category), activity: rule(v.activity) } : null;
}

const NO_ACTIVITY_VALUES = new Set(['', 'none']);

export function normaliseEdge(e: Json): AgentEdge {
  const w = isObj(e.waker) ? e.waker : {};
  const t = isObj(e.target) ? e.target : {};
  const activity = str(e.activity);
  return {
    id: num(e.id),
    waker: { ...task(w), context: str(w.context) || 'unknown' },
    target: { ...task(t), role: str(t.role) || 'other' },
    kind: str(e.kind) || 'unknown',
    preemptor: isObj(e.preemptor) ? task(e.preemptor) : null,
    category: str(e.category) || 'other',
    activity: NO_ACTIVITY_VALUES.has(activity) ? '' : activity,
    count: num(e.count),
    offcpuUs: num(e.offcpu_us),
    offcpuMaxUs: numOrNull(e.offcpu_max_us),
    runqUs: num(e.runq_us),
    stacksSampled: e.stacks_sampled === true,
    wakerStack: strList(e.waker_stack),
    wakerStackKernelFrames: numOrNull(e.waker_stack_kernel_frames),
    targetStack: strList(e.target_stack),
    targetStackKernelFrames: numOrNull(e.target_stack_kernel_frames),
    facts: strList(e.facts),
    explanation: explanation(e.explanation),
    labels: labelsOf(e.labels),
    firstSeenMs: num(e.first_seen_ms),
    lastSeenMs: num(e.last_seen_ms),
  };
}

const isEdges = (b: unknown): b is Json => isObj(b) && Array.isArray(b.edges);

export async function getEdges(agent: Agent, params: Params, opts: ClientOptions): Promise<EdgesAnswer> {
  const b = await agentGet(agent, '/api/v1/edges', params, opts, isEdges);
  return {
    matched: num(b.matched),
    edges: (b.edges as unknown[]).filter(isObj).map(normaliseEdge),
    warning: str(b.warning),
  };
}
