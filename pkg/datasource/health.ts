// SPDX-License-Identifier: Apache-2.0
/*
 * CheckHealth ("Save & test"): every agent's /api/v1/status and
 * /api/v1/targets. OK only when every agent answered; otherwise ERROR naming
 * each agent that did not and why. `jsonDetails` holds the per-agent results.
 */
import { CheckHealthResponse } from '../protocol/messages';
import { AgentStatus, AgentTarget, getStatus, getTargets } from './agent-api';
import { fanOut } from './fanout';
import type { EnvResult } from './datasource';

interface AgentDetail {
  agent: string;
  url: string;
  ok: boolean;
  error?: string;
  kind?: string;
  version?: string;
  kernel?: string;
  targets?: number;
  pods?: number;
  eventsLost?: number;
  store?: string;
  ms: number;
}

/** A pod is its namespace/pod labels; a traced process outside Kubernetes counts as a pod of its own. */
function podKeys(node: string, targets: AgentTarget[]): string[] {
  return targets
    .filter((t) => t.alive)
    .map((t) => (t.labels.pod ? `${t.labels.namespace ?? ''}/${t.labels.pod}` : `${node}#${t.pid}`));
}

export async function checkHealth(envResult: EnvResult): Promise<CheckHealthResponse> {
  if (!envResult.ok) {
    return {
      status: 'ERROR',
      message: envResult.error,
      jsonDetails: Buffer.from(JSON.stringify({ error: envResult.error })),
    };
  }
  const { env } = envResult;
  const results = await fanOut(
    env.agents,
    env.maxConcurrency,
    async (a) => {
      const [status, targets] = await Promise.all([getStatus(a, env.client), getTargets(a, env.client)]);
      return { status, targets } as { status: AgentStatus; targets: AgentTarget[] };
    },
    env.metrics
  );
  const pods = new Set<string>();
  let lost = 0;
  const details: AgentDetail[] = results.map((r) => {
    const ms = Math.round(r.ms);
    if (!r.ok) {
      return { agent: r.agent.name, url: r.agent.url, ok: false, error: r.error.message, kind: r.error.kind, ms };
    }
    const keys = podKeys(r.agent.name, r.value.targets);
    keys.forEach((k) => pods.add(k));
    lost += r.value.status.lost;
    return {
      agent: r.agent.name,
      url: r.agent.url,
      ok: true,
      version: r.value.status.version,
      kernel: r.value.status.kernel,
      targets: r.value.status.targets,
      pods: new Set(keys).size,
      eventsLost: r.value.status.lost,
      store: r.value.status.storeState,
      ms,
    };
  });
  const answered = details.filter((d) => d.ok).length;
  const total = details.length;
  const summary = `${answered} of ${total} agent${total === 1 ? '' : 's'} answered (pods traced: ${pods.size}, events lost: ${lost})`;
  const failed = details.filter((d) => !d.ok);
  const jsonDetails = Buffer.from(JSON.stringify({ agents: details }));
  if (failed.length === 0) {
    return { status: 'OK', message: summary, jsonDetails };
  }
  const why = failed.map((d) => d.error).join('; ');
  return {
    status: 'ERROR',
    message: `${failed.length} of ${total} agent${total === 1 ? '' : 's'} did not answer: ${why}. ${summary}.`,
    jsonDetails,
  };
}
