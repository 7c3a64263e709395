// SPDX-License-Identifier: Apache-2.0
/*
 * Asks every agent at once, at most `limit` at a time, and keeps each one's
 * outcome: a failed agent becomes a warning notice on the answer, and only
 * when every agent failed does the query fail.
 */
import { Notice } from '../protocol/frame';
import { AgentError } from './agent-client';
import { Agent } from './discovery';
import { BackendMetrics } from './metrics';

export type AgentResult<T> =
  { agent: Agent; ok: true; value: T; ms: number } | { agent: Agent; ok: false; error: AgentError; ms: number };

export async function fanOut<T>(
  agents: Agent[],
  limit: number,
  ask: (agent: Agent) => Promise<T>,
  metrics?: BackendMetrics
): Promise<Array<AgentResult<T>>> {
  const results = new Array<AgentResult<T>>(agents.length);
  let next = 0;
  const worker = async () => {
    while (next < agents.length) {
      const i = next++;
      const agent = agents[i];
      const t0 = performance.now();
      try {
        const value = await ask(agent);
        results[i] = { agent, ok: true, value, ms: performance.now() - t0 };
      } catch (e) {
        const error =
          e instanceof AgentError
            ? e
            : new AgentError(
                agent.name,
                'failed',
                `agent ${agent.name}: ${e instanceof Error ? e.message : String(e)}`
              );
        results[i] = { agent, ok: false, error, ms: performance.now() - t0 };
      }
      const r = results[i];
      metrics?.agentRequests.inc({ agent: agent.name, outcome: r.ok ? 'ok' : r.error.kind });
      metrics?.agentDuration.observe({ agent: agent.name }, r.ms / 1000);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, agents.length)) }, worker));
  return results;
}

/** One warning per agent that did not answer, in agent order. */
export function failureNotices(results: Array<AgentResult<unknown>>): Notice[] {
  return results
    .filter((r) => !r.ok)
    .map((r) => ({ severity: 'warning' as const, text: (r as { error: AgentError }).error.message }));
}

export function succeeded<T>(results: Array<AgentResult<T>>): Array<{ agent: Agent; value: T }> {
  return results
    .filter((r): r is Extract<AgentResult<T>, { ok: true }> => r.ok)
    .map((r) => ({ agent: r.agent, value: r.value }));
}

/** The error of a query every agent failed: the agents' sentences joined. */
export function allFailedMessage(results: Array<AgentResult<unknown>>): string {
  const errors = results.filter((r) => !r.ok).map((r) => (r as { error: AgentError }).error.message);
  const head = results.length === 1 ? 'The agent did not answer' : `None of the ${results.length} agents answered`;
  const shown = errors.slice(0, 5).join('; ');
  return `${head}: ${shown}${errors.length > 5 ? `; and ${errors.length - 5} more` : ''}.`;
}
