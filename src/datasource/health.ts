// SPDX-License-Identifier: Apache-2.0
/*
 * What Save & test shows. The backend's CheckHealth answers one sentence
 * ("3 of 3 agents answered (pods traced: 7, events lost: 0)") and a JSON
 * object with the result of every agent. Grafana shows the sentence as the
 * alert's title, `details.message` under it and `details.verboseMessage` in
 * a disclosure (Grafana's DataSourceTestingStatus), so the per-agent results
 * become those two.
 */

export type HealthDetailsText = Record<string, unknown> & {
  message?: string;
  verboseMessage?: string;
};

interface AgentResult {
  agent: string;
  ok: boolean;
  text: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** One agent's entry, whatever names the backend gives its fields. */
function agentResult(entry: unknown, fallbackName: string): AgentResult | undefined {
  if (!entry || typeof entry !== 'object') {
    return undefined;
  }
  const e = entry as Record<string, unknown>;
  const agent = str(e.agent) ?? str(e.url) ?? str(e.node) ?? str(e.address) ?? fallbackName;
  const status = str(e.status)?.toLowerCase();
  const ok = e.ok === true || status === 'ok' || status === 'answered';
  const facts: string[] = [];
  for (const [key, value] of Object.entries(e)) {
    if (['agent', 'url', 'node', 'address', 'ok', 'status', 'message', 'error'].includes(key)) {
      continue;
    }
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
      facts.push(`${key} ${String(value)}`);
    }
  }
  const said = str(e.message) ?? str(e.error);
  const text = [ok ? 'ok' : 'failed', said, facts.length > 0 ? `(${facts.join(', ')})` : undefined]
    .filter(Boolean)
    .join(': ')
    .replace(/: \(/, ' (');
  return { agent, ok, text };
}

/** The agents of the details object: a list under `agents`, or an object keyed by agent. */
function agentResults(details: Record<string, unknown>): AgentResult[] {
  const agents = details.agents;
  if (Array.isArray(agents)) {
    return agents.map((a, i) => agentResult(a, `agent ${i + 1}`)).filter((a): a is AgentResult => a !== undefined);
  }
  if (agents && typeof agents === 'object') {
    return Object.entries(agents)
      .map(([name, a]) => agentResult(a, name))
      .filter((a): a is AgentResult => a !== undefined);
  }
  return [];
}

export function describeHealthDetails(details: unknown): HealthDetailsText {
  if (!details || typeof details !== 'object' || Array.isArray(details)) {
    return {};
  }
  const results = agentResults(details as Record<string, unknown>);
  if (results.length === 0) {
    const keys = Object.keys(details);
    return keys.length > 0 ? { verboseMessage: JSON.stringify(details, null, 2) } : {};
  }
  const failed = results.filter((r) => !r.ok);
  const message =
    failed.length === 0
      ? `Every agent answered: ${results.map((r) => r.agent).join(', ')}.`
      : `Not answering: ${failed.map((r) => r.agent).join(', ')}. Check the agent's address, that it runs, and the token.`;
  return { message, verboseMessage: results.map((r) => `${r.agent}: ${r.text}`).join('\n') };
}
