// SPDX-License-Identifier: Apache-2.0
/*
 * The top multi-hop chains over all agents (/api/v1/chains), merged like the
 * edges (edges.ts): each agent answers its own top N by the sort key, a
 * chain lives on one agent only (its target's), so the merge cut at N is
 * exact.
 */
import { ChainSort, FILTERS_OF, Filters } from '../../../src/shared/query';
import { AgentChain } from '../agent-chains';
import { getChains } from '../agent-api';
import { Params } from '../agent-client';
import { DecodedQuery } from '../query';
import { QueryEnv, askAll, filterParams, queryString, rangeParams } from './context';
import { Notice } from '../../protocol/frame';

/** One chain and the agent (node) that recorded it. */
export interface ChainRef {
  node: string;
  chain: AgentChain;
}

const SORT_KEY = {
  offcpu: (c: AgentChain) => c.offcpuUs,
  count: (c: AgentChain) => c.count,
  runq: (c: AgentChain) => c.runqUs,
} as const;

export interface TopChains {
  chains: ChainRef[];
  matched: number;
  notices: Notice[];
  failed: number;
  executed: string;
}

/** Every agent's top `limit` chains of up to `depth` links by `sort`, merged, largest first (ties by node and id). */
export async function topChains(
  q: DecodedQuery,
  filters: Filters,
  sort: ChainSort,
  limit: number,
  depth: number,
  env: QueryEnv
): Promise<TopChains> {
  const params: Params = [
    ...rangeParams(q),
    ['limit', String(limit)],
    ['sort', sort],
    ['depth', String(depth)],
    ...filterParams(filters, FILTERS_OF.chains),
  ];
  const { ok, notices, failed } = await askAll(env, (a) => getChains(a, params, env.client));
  const all: ChainRef[] = [];
  let matched = 0;
  for (const r of ok) {
    matched += r.value.matched;
    for (const chain of r.value.chains) {
      all.push({ node: r.agent.name, chain });
    }
    if (r.value.warning) {
      notices.push({ severity: 'warning', text: `agent ${r.agent.name}: ${r.value.warning}` });
    }
    if (r.value.malformed > 0) {
      notices.push({
        severity: 'warning',
        text: `agent ${r.agent.name}: ${r.value.malformed} chains left out (their links were not one fewer than their hops)`,
      });
    }
  }
  const key = SORT_KEY[sort];
  all.sort(
    (a, b) => key(b.chain) - key(a.chain) || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0) || a.chain.id - b.chain.id
  );
  return {
    chains: all.slice(0, limit),
    matched,
    notices,
    failed,
    executed: queryString('GET /api/v1/chains', params),
  };
}
