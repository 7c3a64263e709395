// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's answers (docs/api.md) as the backend uses them. An answer is
 * first checked for the shape of a wakeflow agent's (else "not a wakeflow
 * agent"), then every value is read defensively: a field of the wrong type
 * becomes its empty value rather than an exception in a frame builder.
 * Small answers (status, targets) go through JSON.parse; the big ones
 * (series, edges) are read from their bytes with the JSON cursor into typed
 * arrays (agent-edges.ts says why).
 */
import { Agent } from './discovery';
import { AgentError, ClientOptions, Params, agentGet, jsonReader } from './agent-client';
import { ChainsAnswer, readChainsAnswer } from './agent-chains';
import { EdgesAnswer, finiteOr, isObj, labelsOf, readEdgesAnswer, readLabels } from './agent-edges';
import { JsonCursor, readAnswer } from './json-cursor';

type Json = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

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
  const b = await agentGet(agent, '/api/v1/status', [], opts, jsonReader(isStatus));
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
  const b = await agentGet(agent, '/api/v1/targets', [], opts, jsonReader(isTargets));
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
  /** Point i is [t[i] (epoch ms), v[i]], ascending in t. */
  t: Float64Array;
  v: Float64Array;
}

export interface SeriesAnswer {
  stepMs: number;
  series: AgentSeries[];
  truncated: boolean;
  warning: string;
}

/** Growing scratch columns for one series' points, copied out at their size. */
class Points {
  t = new Float64Array(1024);
  v = new Float64Array(1024);
  n = 0;
  push(t: number, v: number): void {
    if (this.n === this.t.length) {
      const t2 = new Float64Array(this.n * 2);
      t2.set(this.t);
      const v2 = new Float64Array(this.n * 2);
      v2.set(this.v);
      this.t = t2;
      this.v = v2;
    }
    this.t[this.n] = t;
    this.v[this.n++] = v;
  }
}

/** points: [t, v] pairs of finite numbers (anything else is dropped); false when the value is not an array. */
function readPoints(c: JsonCursor, into: Points): boolean {
  into.n = 0;
  if (c.kind() !== 'array') {
    c.skip();
    return false;
  }
  c.openArray();
  while (c.nextItem()) {
    if (c.kind() !== 'array') {
      c.skip();
      continue;
    }
    c.openArray();
    let t = NaN;
    let v = NaN;
    let n = 0;
    while (c.nextItem()) {
      if (n < 2 && c.kind() === 'number') {
        if (n === 0) {
          t = c.number();
        } else {
          v = c.number();
        }
      } else {
        if (n === 0) {
          t = NaN;
        } else if (n === 1) {
          v = NaN;
        }
        c.skip();
      }
      n++;
    }
    if (Number.isFinite(t) && Number.isFinite(v)) {
      into.push(t, v);
    }
  }
  return true;
}

function readSeries(c: JsonCursor, scratch: Points): AgentSeries | undefined {
  let labels: Record<string, string> = {};
  let points: { t: Float64Array; v: Float64Array } | undefined;
  c.openObject();
  while (c.nextKey()) {
    if (c.key === 'labels') {
      labels = readLabels(c);
    } else if (c.key === 'points') {
      points = readPoints(c, scratch)
        ? { t: scratch.t.slice(0, scratch.n), v: scratch.v.slice(0, scratch.n) }
        : undefined;
    } else {
      c.skip();
    }
  }
  if (!points) {
    return undefined;
  }
  const { t, v } = points;
  // The agent sends points in order; sort only an answer that is not.
  for (let i = 1; i < t.length; i++) {
    if (t[i] < t[i - 1]) {
      const order = Array.from(t.keys()).sort((a, b) => t[a] - t[b]);
      return { labels, t: Float64Array.from(order, (k) => t[k]), v: Float64Array.from(order, (k) => v[k]) };
    }
  }
  return { labels, t, v };
}

/** A series answer's bytes, or undefined when they are not one (not JSON, or no `series` array). */
export function readSeriesAnswer(body: Buffer): SeriesAnswer | undefined {
  const scratch = new Points();
  let series: AgentSeries[] | undefined;
  let stepMs = 0;
  let truncated = false;
  let warning = '';
  const json = readAnswer(body, (c) => {
    switch (c.key) {
      case 'series':
        // A repeated member counts once, the last one (as in JSON.parse).
        series = undefined;
        if (c.kind() !== 'array') {
          c.skip();
          break;
        }
        series = [];
        c.openArray();
        while (c.nextItem()) {
          const s = c.kind() === 'object' ? readSeries(c, scratch) : (c.skip(), undefined);
          if (s) {
            series.push(s);
          }
        }
        break;
      case 'step_ms':
        stepMs = finiteOr(c, 0);
        break;
      case 'truncated':
        truncated = c.isTrue();
        break;
      case 'warning':
        warning = c.stringOr('');
        break;
      default:
        c.skip();
    }
  });
  return json && series ? { stepMs, series, truncated, warning } : undefined;
}

export function getSeries(agent: Agent, params: Params, opts: ClientOptions): Promise<SeriesAnswer> {
  return agentGet(agent, '/api/v1/series', params, opts, readSeriesAnswer);
}

/* --- /api/v1/edges ----------------------------------------------------- */

export type { EdgesAnswer };

/** `limit` edges at most are expected (the columns are sized for them). */
export function getEdges(agent: Agent, params: Params, opts: ClientOptions, limit: number): Promise<EdgesAnswer> {
  return agentGet(agent, '/api/v1/edges', params, opts, (body) => readEdgesAnswer(body, limit));
}

/* --- /api/v1/chains ---------------------------------------------------- */

export type { ChainsAnswer };

/**
 * Multi-hop chains. An agent from before chains (issue 12) answers this path
 * 404 ("no such endpoint"): that is said as what to do, upgrade the agent,
 * rather than as a failed request.
 */
export async function getChains(agent: Agent, params: Params, opts: ClientOptions): Promise<ChainsAnswer> {
  try {
    return await agentGet(agent, '/api/v1/chains', params, opts, readChainsAnswer);
  } catch (e) {
    if (e instanceof AgentError && e.status === 404) {
      throw new AgentError(
        agent.name,
        'rejected',
        `agent ${agent.name} has no /api/v1/chains (HTTP 404): it predates multi-hop chains; upgrade the agent, or use depth 1`,
        404
      );
    }
    throw e;
  }
}
