// SPDX-License-Identifier: Apache-2.0
/*
 * The top edges over all agents. Each agent returns its own top N by the
 * sort key; the global top N is a subset of their union (an edge lives on
 * one agent only), so merging and cutting at N is exact. Edges stay in their
 * agents' columns (EdgeBatch); a row names its batch and index.
 */
import { ChainSort, FILTERS_OF, Filters } from '../../../src/shared/query';
import { EdgeBatch } from '../agent-edges';
import { getEdges } from '../agent-api';
import { Params } from '../agent-client';
import { DecodedQuery } from '../query';
import { QueryEnv, askAll, filterParams, queryString, rangeParams } from './context';
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

/**
 * Every agent's top `limit` edges by `sort`, largest first (ties by node and
 * id, so the order is stable); `cut` keeps the first `limit` of the merge
 * (the chains table), without it every agent's edges stay (the flame graph).
 */
export async function topEdges(
  q: DecodedQuery,
  filters: Filters,
  sort: ChainSort,
  limit: number,
  env: QueryEnv,
  cut = true
): Promise<TopEdges> {
  const params: Params = [
    ...rangeParams(q),
    ['limit', String(limit)],
    ['sort', sort],
    ...filterParams(filters, FILTERS_OF.chains),
  ];
  const { ok, notices, failed } = await askAll(env, (a) => getEdges(a, params, env.client, limit));
  const all: EdgeRow[] = [];
  let matched = 0;
  for (const r of ok) {
    matched += r.value.matched;
    const batch = r.value.edges;
    for (let i = 0; i < batch.length; i++) {
      all.push({ node: r.agent.name, batch, row: i });
    }
    if (r.value.warning) {
      notices.push({ severity: 'warning', text: `agent ${r.agent.name}: ${r.value.warning}` });
    }
  }
  const col = SORT_COLUMN[sort];
  all.sort(
    (a, b) =>
      b.batch.num[col][b.row] - a.batch.num[col][a.row] ||
      (a.node < b.node ? -1 : a.node > b.node ? 1 : 0) ||
      a.batch.num.id[a.row] - b.batch.num.id[b.row]
  );
  return {
    edges: cut ? all.slice(0, limit) : all,
    matched,
    notices,
    failed,
    executed: queryString('GET /api/v1/edges', params),
  };
}
