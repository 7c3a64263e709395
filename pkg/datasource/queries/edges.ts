// SPDX-License-Identifier: Apache-2.0
/*
 * The top edges over all agents. Each agent returns its own top N by the
 * sort key; the global top N is a subset of their union (an edge lives on
 * one agent only), so merging and cutting at N is exact. Edges stay in their
 * agents' columns (EdgeBatch); a row names its batch and index.
 *
 * The merged top N (the chains table) is asked in two phases when there are
 * several agents: first every agent's top N as numbers only
 * (`fields=numbers`: no record read, no stack written, sent or parsed),
 * merged; since the merge takes a prefix of each agent's list, each agent is
 * then asked the whole edges of its share (`limit` = how many of its edges
 * made the cut), so of three agents' 3 N stacks only N are ever formatted.
 * The flame graph needs every agent's N edges, but of each only what its
 * path is made of (`fields=paths`: no explanation, facts or labels): one phase.
 */
import { ChainSort, FILTERS_OF, Filters } from '../../../src/shared/query';
import { EdgeBatch } from '../agent-edges';
import { EdgesAnswer, getEdges } from '../agent-api';
import { AgentError, Params } from '../agent-client';
import { Agent } from '../discovery';
import { AgentResult, allFailedMessage, failureNotices, fanOut } from '../fanout';
import { DecodedQuery } from '../query';
import { AgentsFailedError, QueryEnv, askAll, filterParams, queryString, rangeParams } from './context';
import { Notice } from '../../protocol/frame';

/** One edge of one agent: row `row` of `batch`, from the agent named `node`. */
export interface EdgeRow {
  node: string;
  batch: EdgeBatch;
  row: number;
}

const SORT_COLUMN = { offcpu: 'offcpuUs', count: 'count', runq: 'runqUs' } as const;

export interface TopEdges {
  edges: EdgeRow[];
  matched: number;
  notices: Notice[];
  failed: number;
  executed: string;
}

const EDGES = 'GET /api/v1/edges';

function edgeParams(q: DecodedQuery, filters: Filters, sort: ChainSort, limit: number): Params {
  return [...rangeParams(q), ['limit', String(limit)], ['sort', sort], ...filterParams(filters, FILTERS_OF.chains)];
}

/** With `limit` replaced (a phase-2 request keeps every other parameter in place). */
const withLimit = (params: Params, limit: number): Params =>
  params.map(([k, v]) => (k === 'limit' ? [k, String(limit)] : [k, v]));

/** An agent's rows, in its answer's order. */
function rowsOf(node: string, batch: EdgeBatch): EdgeRow[] {
  const rows = new Array<EdgeRow>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    rows[i] = { node, batch, row: i };
  }
  return rows;
}

/** Largest first by the sort key, ties by node then id: the agents' own order, extended over nodes. */
function sortMerged(rows: EdgeRow[], sort: ChainSort): EdgeRow[] {
  const col = SORT_COLUMN[sort];
  return rows.sort(
    (a, b) =>
      b.batch.num[col][b.row] - a.batch.num[col][a.row] ||
      (a.node < b.node ? -1 : a.node > b.node ? 1 : 0) ||
      a.batch.num.id[a.row] - b.batch.num.id[b.row]
  );
}

/** The store warning of an agent's answer, as a notice naming it. */
function warningNotice(agent: Agent, answer: EdgesAnswer): Notice[] {
  return answer.warning ? [{ severity: 'warning', text: `agent ${agent.name}: ${answer.warning}` }] : [];
}

/**
 * An agent from before `fields` (it refuses the parameter it does not know,
 * as every agent refuses unknown parameters) is asked the whole edges
 * instead: a whole edge holds every part that `fields` selects.
 */
const predatesFields = (e: unknown) =>
  e instanceof AgentError && e.status === 400 && e.message.includes("unknown parameter 'fields'");

interface PartAnswer {
  answer: EdgesAnswer;
  /** The answer holds whole edges (an agent from before `fields`). */
  whole: boolean;
}

/** `params` with `fields`, or the whole edges from an agent from before `fields`. */
async function getEdgeParts(
  a: Agent,
  params: Params,
  fields: string,
  env: QueryEnv,
  limit: number
): Promise<PartAnswer> {
  try {
    return { answer: await getEdges(a, [...params, ['fields', fields]], env.client, limit), whole: false };
  } catch (e) {
    if (predatesFields(e)) {
      return { answer: await getEdges(a, params, env.client, limit), whole: true };
    }
    throw e;
  }
}

/**
 * Every agent's top `limit` edges by `sort`, all of them, largest first
 * (ties by node and id, so the order is stable): whole (the merged top N
 * from a single agent), or with `fields` only their parts (the flame
 * graph's paths).
 */
export async function everyAgentsTopEdges(
  q: DecodedQuery,
  filters: Filters,
  sort: ChainSort,
  limit: number,
  env: QueryEnv,
  fields?: 'paths'
): Promise<TopEdges> {
  const params = edgeParams(q, filters, sort, limit);
  const { ok, notices, failed } = await askAll(env, async (a) =>
    fields ? (await getEdgeParts(a, params, fields, env, limit)).answer : getEdges(a, params, env.client, limit)
  );
  const all: EdgeRow[] = [];
  let matched = 0;
  for (const r of ok) {
    matched += r.value.matched;
    all.push(...rowsOf(r.agent.name, r.value.edges));
    notices.push(...warningNotice(r.agent, r.value));
  }
  const asked: Params = fields ? [...params, ['fields', fields]] : params;
  return { edges: sortMerged(all, sort), matched, notices, failed, executed: queryString(EDGES, asked) };
}

/**
 * The merged top `limit` edges by `sort` over every agent (the chains
 * table), exact, in two phases (see above). Each edge's numbers, record and
 * labels come from one answer, the second: the first only decides how many
 * of each agent's edges are asked. Were an agent's edges to change between
 * the two (a range that ends in the window being written), the result is
 * still each agent's top share at the second request.
 */
export async function topEdges(
  q: DecodedQuery,
  filters: Filters,
  sort: ChainSort,
  limit: number,
  env: QueryEnv
): Promise<TopEdges> {
  if (env.agents.length < 2) {
    // One agent's top N is its whole answer: a first phase would only add a request.
    const one = await everyAgentsTopEdges(q, filters, sort, limit, env);
    return { ...one, edges: one.edges.slice(0, limit) };
  }
  const params = edgeParams(q, filters, sort, limit);
  const numbers: Params = [...params, ['fields', 'numbers']];
  const first = await askAll(env, (a) => getEdgeParts(a, params, 'numbers', env, limit));
  const notices = first.notices;
  let matched = 0;
  const merged: EdgeRow[] = [];
  for (const r of first.ok) {
    matched += r.value.answer.matched;
    merged.push(...rowsOf(r.agent.name, r.value.answer.edges));
    notices.push(...warningNotice(r.agent, r.value.answer));
  }
  const cut = sortMerged(merged, sort).slice(0, limit);
  // Each agent's share of the cut: a prefix of its own list, so its top `share` edges.
  const share = new Map<string, number>();
  for (const r of cut) {
    share.set(r.node, (share.get(r.node) ?? 0) + 1);
  }
  const whole = new Set(first.ok.filter((r) => r.value.whole).map((r) => r.agent.name));
  const rows = cut.filter((r) => whole.has(r.node));
  const second = first.ok.filter((r) => !r.value.whole && share.has(r.agent.name)).map((r) => r.agent);
  const results = await fanOut(
    second,
    env.maxConcurrency,
    (a) => {
      const n = share.get(a.name)!;
      return getEdges(a, withLimit(params, n), env.client, n);
    },
    env.metrics
  );
  for (const r of results) {
    if (r.ok) {
      rows.push(...rowsOf(r.agent.name, r.value.edges));
      const said = new Set(notices.map((n) => n.text));
      notices.push(...warningNotice(r.agent, r.value).filter((n) => !said.has(n.text)));
    } else {
      env.log.warn('agent did not answer', { agent: r.agent.name, kind: r.error.kind, error: r.error.message });
    }
  }
  notices.push(...failureNotices(results));
  // Each agent's last outcome: its second request where it had one, else its first.
  const last = new Map<string, AgentResult<unknown>>(first.results.map((r) => [r.agent.name, r]));
  for (const r of results) {
    last.set(r.agent.name, r);
  }
  const failed = [...last.values()].filter((r) => !r.ok).length;
  if (failed === last.size) {
    throw new AgentsFailedError(allFailedMessage([...last.values()]));
  }
  return {
    edges: sortMerged(rows, sort).slice(0, limit),
    matched,
    notices,
    failed,
    executed: `${queryString(EDGES, numbers)}, then from each agent ${EDGES} with limit = its edges among the top ${limit}`,
  };
}
