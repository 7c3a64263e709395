// SPDX-License-Identifier: Apache-2.0
/*
 * The top edges over all agents. Each agent returns its own top N by the
 * sort key; the global top N is a subset of their union (an edge lives on
 * one agent only), so merging and cutting at N is exact.
 */
import { ChainSort, FILTERS_OF, Filters } from '../../../src/shared/query';
import { AgentEdge, getEdges } from '../agent-api';
import { Params } from '../agent-client';
import { DecodedQuery } from '../query';
import { QueryEnv, askAll, filterParams, queryString, rangeParams } from './context';
import { Notice } from '../../protocol/frame';

export interface NodeEdge {
  node: string;
  edge: AgentEdge;
}

export const SORT_KEY: Record<ChainSort, (e: AgentEdge) => number> = {
  offcpu: (e) => e.offcpuUs,
  count: (e) => e.count,
  runq: (e) => e.runqUs,
};

export async function topEdges(
  q: DecodedQuery,
  filters: Filters,
  sort: ChainSort,
  limit: number,
  env: QueryEnv
): Promise<{ edges: NodeEdge[]; matched: number; notices: Notice[]; failed: number; executed: string }> {
  const params: Params = [
    ...rangeParams(q),
    ['limit', String(limit)],
    ['sort', sort],
    ...filterParams(filters, FILTERS_OF.chains),
  ];
  const { ok, notices, failed } = await askAll(env, (a) => getEdges(a, params, env.client));
  const key = SORT_KEY[sort];
  const all: NodeEdge[] = [];
  let matched = 0;
  for (const r of ok) {
    matched += r.value.matched;
    for (const e of r.value.edges) {
      all.push({ node: r.agent.name, edge: e });
    }
    if (r.value.warning) {
      notices.push({ severity: 'warning', text: `agent ${r.agent.name}: ${r.value.warning}` });
    }
  }
  // Largest first; ties broken by node and id so the order is stable.
  all.sort(
    (a, b) => key(b.edge) - key(a.edge) || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0) || a.edge.id - b.edge.id
  );
  return { edges: all.slice(0, limit), matched, notices, failed, executed: queryString('GET /api/v1/edges', params) };
}
