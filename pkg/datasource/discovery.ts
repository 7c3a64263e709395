// SPDX-License-Identifier: Apache-2.0
/*
 * Which agents to ask: the configured URLs, or every A/AAAA record of the
 * agents' headless Service (one record per node). DNS answers are kept for
 * 30 s so a burst of queries resolves once, and a rescheduled agent shows up
 * within half a minute.
 */
import { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';

import { Settings } from './settings';

export interface Agent {
  /** How notices, frames and metrics name it: host:port. */
  name: string;
  /** Base URL without a trailing slash. */
  url: string;
}

export const DNS_TTL_MS = 30_000;

export type Resolver = (name: string) => Promise<LookupAddress[]>;
export const systemResolver: Resolver = (name) => lookup(name, { all: true, verbatim: true });

export type AgentsResult = { ok: true; agents: Agent[] } | { ok: false; error: string };

export function agentFromUrl(url: string): Agent {
  return { name: new URL(url).host, url };
}

function hostPort(address: string, family: number, port: number): string {
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

export class Discovery {
  private cached?: { at: number; result: AgentsResult };
  private inflight?: Promise<AgentsResult>;

  constructor(
    private settings: Settings,
    private resolver: Resolver = systemResolver,
    private now: () => number = Date.now
  ) {}

  async agents(): Promise<AgentsResult> {
    if (this.settings.discovery === 'url') {
      return { ok: true, agents: this.settings.agentUrls.map(agentFromUrl) };
    }
    if (this.cached && this.now() - this.cached.at < DNS_TTL_MS) {
      return this.cached.result;
    }
    this.inflight ??= this.resolve().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async resolve(): Promise<AgentsResult> {
    const { dnsName, agentPort } = this.settings;
    let result: AgentsResult;
    try {
      const addrs = await this.resolver(dnsName);
      const seen = new Set<string>();
      const agents: Agent[] = [];
      for (const a of addrs) {
        const hp = hostPort(a.address, a.family, agentPort);
        if (!seen.has(hp)) {
          seen.add(hp);
          agents.push({ name: hp, url: `http://${hp}` });
        }
      }
      agents.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      result =
        agents.length > 0
          ? { ok: true, agents }
          : { ok: false, error: `DNS name ${dnsName} has no A or AAAA records: is the agents' headless Service up?` };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      result =
        code === 'ENOTFOUND' || code === 'ENODATA'
          ? {
              ok: false,
              error: `DNS name ${dnsName} has no A or AAAA records (${code}): is the agents' headless Service up?`,
            }
          : { ok: false, error: `DNS name ${dnsName} could not be resolved (${code}).` };
    }
    this.cached = { at: this.now(), result };
    return result;
  }
}
